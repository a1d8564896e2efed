/* plua-clock.c: the run's clock, real or virtual; see plua-clock.h.
 *
 * Virtual monotonic time = virt0 + (real − real0) × speed; a jump moves virt0,
 * a speed change rebases (real0, virt0) at the present so time never steps
 * back. Virtual wall time keeps the offset between the wall clock and the
 * monotonic clock measured when the clock was configured.
 */
#include "config.h"

#include <math.h>
#include <time.h>

#include <lauxlib.h>

#include "plua-clock.h"

gboolean plua_clock_virtual = FALSE;

static gboolean clock_instant;
static double   clock_speed = 1.0;
static gint64   real0, virt0, wall_offset;
static gint64   clock_limit;
static gboolean clock_stopped;

typedef struct
{
  guint            id;
  PluaClockChanged func;
  gpointer         user_data;
} Listener;

static GArray *listeners;
static guint   next_listener_id = 1;

static void
notify_changed (void)
{
  if (listeners == NULL)
    return;
  for (guint i = 0; i < listeners->len; i++)
    {
      Listener *l = &g_array_index (listeners, Listener, i);

      l->func (l->user_data);
    }
}

void
plua_clock_configure (double   speed,
                      gboolean instant)
{
  g_return_if_fail (speed > 0);

  real0 = g_get_monotonic_time ();
  virt0 = real0;
  wall_offset = g_get_real_time () - real0;
  clock_speed = speed;
  clock_instant = instant;
  clock_stopped = FALSE;
  plua_clock_virtual = speed != 1.0 || instant;
  notify_changed ();
}

gboolean
plua_clock_is_virtual (void)
{
  return plua_clock_virtual;
}

gboolean
plua_clock_is_instant (void)
{
  return clock_instant;
}

double
plua_clock_get_speed (void)
{
  return clock_speed;
}

gint64
plua_clock_monotonic_slow (void)
{
  gint64 real = g_get_monotonic_time ();

  if (clock_stopped)
    return virt0;
  if (clock_speed == 1.0)
    return virt0 + (real - real0);
  return virt0 + (gint64) ((double) (real - real0) * clock_speed);
}

void
plua_clock_set_speed (double speed)
{
  gint64 now;

  g_return_if_fail (speed > 0);

  if (!plua_clock_virtual)
    {
      plua_clock_configure (speed, FALSE);
      return;
    }
  now = plua_clock_monotonic ();
  real0 = g_get_monotonic_time ();
  virt0 = now;
  clock_speed = speed;
  plua_clock_virtual = speed != 1.0 || clock_instant || virt0 != real0;
  notify_changed ();
}

gint64
plua_clock_real_time (void)
{
  if (!plua_clock_virtual)
    return g_get_real_time ();
  return plua_clock_monotonic_slow () + wall_offset;
}

gint64
plua_clock_to_real (gint64 due)
{
  double real;

  if (!plua_clock_virtual)
    return due;
  if (clock_stopped)
    return G_MAXINT64 / 2;
  /* Already due (after a jump): ready now, not a rounding later. */
  if (due <= plua_clock_monotonic_slow ())
    return 0;
  real = (double) real0 + ceil ((double) (due - virt0) / clock_speed);
  /* a timer 30 years ahead at speed 0.001 must not overflow */
  return real >= (double) G_MAXINT64 / 2 ? G_MAXINT64 / 2 : (gint64) real;
}

void
plua_clock_stop (void)
{
  if (!plua_clock_virtual || clock_stopped)
    return;
  virt0 = plua_clock_monotonic_slow ();
  clock_stopped = TRUE;
  clock_instant = FALSE;
  notify_changed ();
}

void
plua_clock_advance_to (gint64 due)
{
  gint64 now = plua_clock_monotonic ();

  if (clock_stopped || due <= now)
    return;
  virt0 += due - now;
  notify_changed ();
}

gint64
plua_clock_get_limit (void)
{
  return clock_limit;
}

guint
plua_clock_add_changed (PluaClockChanged func,
                        gpointer         user_data)
{
  Listener l = { next_listener_id++, func, user_data };

  if (listeners == NULL)
    listeners = g_array_new (FALSE, FALSE, sizeof (Listener));
  g_array_append_val (listeners, l);
  return l.id;
}

void
plua_clock_remove_changed (guint id)
{
  for (guint i = 0; listeners != NULL && i < listeners->len; i++)
    if (g_array_index (listeners, Listener, i).id == id)
      {
        g_array_remove_index (listeners, i);
        return;
      }
}

/* os.time([t]): without an argument, the virtual now. */
static int
l_os_time (lua_State *L)
{
  if (lua_isnoneornil (L, 1))
    {
      lua_pushinteger (L, (lua_Integer) (plua_clock_real_time () / G_USEC_PER_SEC));
      return 1;
    }
  lua_pushvalue (L, lua_upvalueindex (1));
  lua_insert (L, 1);
  lua_call (L, lua_gettop (L) - 1, LUA_MULTRET);
  return lua_gettop (L);
}

/* os.date([fmt [, t]]): without a time, the virtual now. */
static int
l_os_date (lua_State *L)
{
  int n = lua_gettop (L);

  lua_pushvalue (L, lua_upvalueindex (1));
  if (n == 0)
    lua_pushliteral (L, "%c");
  else
    lua_pushvalue (L, 1);
  if (n >= 2 && !lua_isnil (L, 2))
    lua_pushvalue (L, 2);
  else
    lua_pushinteger (L, (lua_Integer) (plua_clock_real_time () / G_USEC_PER_SEC));
  lua_call (L, 2, 1);
  return 1;
}

/* _PY.millitime() → Unix time in seconds, with milliseconds as the fraction
 * (the original's name and unit), on the run's clock. */
static int
l_millitime (lua_State *L)
{
  lua_pushnumber (L, plua_clock_real_time () / 1e6);
  return 1;
}

static void
wrap_os (lua_State     *L,
         const char    *name,
         lua_CFunction  wrapper)
{
  lua_getfield (L, -1, name);
  lua_pushcclosure (L, wrapper, 1);
  lua_setfield (L, -2, name);
}

/* _PY.set_time_speed(n): the --%%speed:N directive. */
static int
l_set_time_speed (lua_State *L)
{
  double speed = luaL_checknumber (L, 1);

  luaL_argcheck (L, speed > 0 && speed <= 1e9, 1, "speed must be more than 0");
  plua_clock_set_speed (speed);
  return 0;
}

/* Opened with the other modules. The wrappers are there in every run (a
 * directive may make the clock virtual later); on the real clock they give
 * what Lua's own functions give. */
int
plua_clock_open (lua_State *L)
{
  lua_getglobal (L, "os");
  wrap_os (L, "time", l_os_time);
  wrap_os (L, "date", l_os_date);
  lua_pop (L, 1);
  lua_getglobal (L, "_PY");
  lua_pushcfunction (L, l_millitime);
  lua_setfield (L, -2, "millitime");
  lua_pushcfunction (L, l_set_time_speed);
  lua_setfield (L, -2, "set_time_speed");
  lua_pop (L, 1);
  return 0;
}

/* The --max-time source: ready when the virtual clock reaches the limit. */
typedef struct
{
  GSource source;
  guint   listener;
} LimitSource;

static void
limit_update (gpointer data)
{
  LimitSource *ls = data;

  if (clock_limit != 0)
    g_source_set_ready_time (&ls->source, plua_clock_to_real (clock_limit));
}

static gboolean
limit_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  /* Woken early by a rounding of the real↔virtual mapping: wait on. */
  if (plua_clock_monotonic () < clock_limit)
    {
      limit_update (source);
      return G_SOURCE_CONTINUE;
    }
  return callback (user_data);
}

static void
limit_finalize (GSource *source)
{
  plua_clock_remove_changed (((LimitSource *) source)->listener);
  clock_limit = 0;
}

static GSourceFuncs limit_funcs = {
  .dispatch = limit_dispatch,
  .finalize = limit_finalize,
};

guint
plua_clock_add_limit (double       seconds,
                      GSourceFunc  func,
                      gpointer     user_data)
{
  LimitSource *ls = (LimitSource *) g_source_new (&limit_funcs, sizeof (LimitSource));
  guint id;

  clock_limit = plua_clock_monotonic () + (gint64) (seconds * G_USEC_PER_SEC);
  ls->listener = plua_clock_add_changed (limit_update, ls);
  g_source_set_callback (&ls->source, func, user_data, NULL);
  g_source_set_static_name (&ls->source, "plua --max-time");
  limit_update (ls);
  id = g_source_attach (&ls->source, NULL);
  g_source_unref (&ls->source);
  notify_changed ();
  return id;
}
