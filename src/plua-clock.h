/* plua-clock.h: the run's clock, real or virtual (--speed, --instant, --max-time).
 *
 * One clock per process: timers, sleep, os.time, os.date, _PY.millitime and
 * the emulator's console and store all read it, so they agree. By default it
 * is the real clock (every call is g_get_monotonic_time/g_get_real_time);
 * virtual, it runs `speed` times as fast as real time and, with --instant,
 * jumps forward to the next due timer when nothing else is pending.
 * Network I/O is never virtual: it happens in real time.
 */
#pragma once

#include <glib.h>
#include <lua.h>

G_BEGIN_DECLS

/* Called when the mapping between virtual and real time changed (a jump or a
 * new speed): whoever waits for a virtual instant recomputes its real one. */
typedef void (*PluaClockChanged) (gpointer user_data);

void     plua_clock_configure    (double speed, gboolean instant);
gboolean plua_clock_is_virtual   (void);
gboolean plua_clock_is_instant   (void);
double   plua_clock_get_speed    (void);
void     plua_clock_set_speed    (double speed);

gint64   plua_clock_monotonic_slow (void);
extern gboolean plua_clock_virtual;

/* Virtual monotonic time in µs (the real one when the clock is not virtual). */
static inline gint64
plua_clock_monotonic (void)
{
  return G_LIKELY (!plua_clock_virtual) ? g_get_monotonic_time () : plua_clock_monotonic_slow ();
}

/* Virtual wall-clock time in µs since the epoch. */
gint64   plua_clock_real_time    (void);
/* The real monotonic time (µs) at which the virtual monotonic time `due` comes. */
gint64   plua_clock_to_real      (gint64 due);
/* The run ended: virtual time stands still, so no timer becomes due while
 * GLib drains what is left on the main context. */
void     plua_clock_stop         (void);
/* --instant: moves the virtual clock forward to `due` (never backwards). */
void     plua_clock_advance_to   (gint64 due);

/* --max-time: calls func once the virtual clock is `seconds` ahead of now;
 * --instant jumps no further than that instant (plua_clock_get_limit, 0 when
 * there is none). Returns the source id; removing it drops the limit. */
guint    plua_clock_add_limit    (double       seconds,
                                  GSourceFunc  func,
                                  gpointer     user_data);
gint64   plua_clock_get_limit    (void);

guint    plua_clock_add_changed    (PluaClockChanged func, gpointer user_data);
void     plua_clock_remove_changed (guint id);

/* os.time, os.date and _PY.millitime on the virtual clock (when it is one). */
int      plua_clock_open         (lua_State *L);

G_END_DECLS
