/* plua-timers.c: setTimeout, setInterval, clearTimeout, clearInterval, sleep.
 *
 * All Lua timers live in one GSource holding a binary heap ordered by
 * (due time, creation sequence). One source per timer, as libdex does, reads
 * nicely but GLib's prepare() walks every source on every iteration, which at
 * 200,000 timers costs more than the timers themselves; the heap keeps each
 * operation O(log n) and makes equal due times fire in creation order.
 *
 * Rules kept here (README "Timers"):
 * - a callback never runs inside the call that created it; a timer created
 *   by a callback runs on a later loop iteration, even with a 0 delay;
 * - setInterval is fixed-rate: the next run is planned from the previous
 *   planned time, so the period does not drift; after a stall longer than a
 *   period, missed runs are skipped rather than bunched;
 * - an error in a callback is reported and an interval goes on;
 * - clearing a timer (from anywhere, also from its own callback) releases
 *   the function and arguments it held at once.
 */
#include "config.h"

#include <math.h>

#include <glib.h>
#include <lauxlib.h>

#include "plua-clock.h"
#include "plua-runtime.h"
#include "plua-timers.h"

typedef enum
{
  TIMER_TIMEOUT,
  TIMER_INTERVAL,
  TIMER_RESUME,    /* sleep(): resumes a coroutine */
} TimerKind;

typedef struct
{
  lua_Integer id;
  gint64      due;        /* monotonic µs on the run's clock (plua-clock.h) */
  guint64     seq;        /* creation order, breaks ties */
  gint64      period;     /* µs, intervals only */
  guint       heap_index;
  TimerKind   kind : 8;
  guint       firing : 1;
  guint       cancelled : 1;
  int         fn_ref;     /* function, or the thread for TIMER_RESUME */
  int         args_ref;   /* table of extra arguments, or LUA_NOREF */
  int         nargs;
} Timer;

typedef struct
{
  GSource      source;
  PluaRuntime *runtime;
  lua_State   *L;
  Timer      **heap;
  guint        len;
  guint        allocated;
  GHashTable  *by_id;     /* id → Timer*, for clearTimeout */
  lua_Integer  next_id;
  guint64      next_seq;
  gboolean     dispatching;
  guint        clock_listener;
} TimerQueue;

static const char queue_key = 'Q';

/* Timer ids are lua_Integers; on 64-bit systems they fit a pointer as is. */
#define ID_KEY(id) ((gpointer) (gsize) (id))

static inline gboolean
timer_before (const Timer *a,
              const Timer *b)
{
  return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static inline void
heap_set (TimerQueue *q,
          guint       i,
          Timer      *t)
{
  q->heap[i] = t;
  t->heap_index = i;
}

static void
heap_up (TimerQueue *q,
         guint       i)
{
  Timer *t = q->heap[i];

  while (i > 0)
    {
      guint parent = (i - 1) / 2;

      if (!timer_before (t, q->heap[parent]))
        break;
      heap_set (q, i, q->heap[parent]);
      i = parent;
    }
  heap_set (q, i, t);
}

static void
heap_down (TimerQueue *q,
           guint       i)
{
  Timer *t = q->heap[i];

  for (;;)
    {
      guint child = 2 * i + 1;

      if (child >= q->len)
        break;
      if (child + 1 < q->len && timer_before (q->heap[child + 1], q->heap[child]))
        child++;
      if (!timer_before (q->heap[child], t))
        break;
      heap_set (q, i, q->heap[child]);
      i = child;
    }
  heap_set (q, i, t);
}

static void queue_update_ready_time (TimerQueue *q);

static void
heap_push (TimerQueue *q,
           Timer      *t)
{
  if (q->len == q->allocated)
    {
      q->allocated = MAX (64, q->allocated * 2);
      q->heap = g_renew (Timer *, q->heap, q->allocated);
    }
  heap_set (q, q->len++, t);
  heap_up (q, q->len - 1);
  if (q->heap[0] == t)
    queue_update_ready_time (q);
  plua_runtime_hold (q->runtime, PLUA_PENDING_TIMER);
}

static void
heap_remove (TimerQueue *q,
             Timer      *t)
{
  guint i = t->heap_index;
  Timer *last = q->heap[--q->len];

  if (last != t)
    {
      heap_set (q, i, last);
      heap_up (q, i);
      heap_down (q, last->heap_index);
    }
  if (i == 0)
    queue_update_ready_time (q);
  plua_runtime_release (q->runtime, PLUA_PENDING_TIMER);
}

static void
timer_free (TimerQueue *q,
            Timer      *t)
{
  luaL_unref (q->L, LUA_REGISTRYINDEX, t->fn_ref);
  luaL_unref (q->L, LUA_REGISTRYINDEX, t->args_ref);
  g_free (t);
}

static Timer *
timer_new (TimerQueue *q,
           TimerKind   kind,
           double      ms)
{
  Timer *t = g_new0 (Timer, 1);
  gint64 delay = 0;

  /* NaN and negative delays mean "as soon as possible", like 0. */
  if (ms > 0)
    delay = ms >= 1e12 ? (gint64) 1e15 : (gint64) ceil (ms * 1000.0);

  t->id = ++q->next_id;
  t->kind = kind;
  t->seq = q->next_seq++;
  t->due = plua_clock_monotonic () + delay;
  t->period = kind == TIMER_INTERVAL ? MAX (delay, 1) : 0;
  t->fn_ref = LUA_NOREF;
  t->args_ref = LUA_NOREF;
  return t;
}

static void
timer_schedule (TimerQueue *q,
                Timer      *t)
{
  if (t->kind != TIMER_RESUME)
    g_hash_table_insert (q->by_id, ID_KEY (t->id), t);
  heap_push (q, t);
}

/* Pushes the function and its arguments; returns the number of arguments. */
static int
timer_push_call (TimerQueue *q,
                 Timer      *t)
{
  lua_State *L = q->L;

  lua_rawgeti (L, LUA_REGISTRYINDEX, t->fn_ref);
  if (t->args_ref == LUA_NOREF)
    return 0;
  lua_rawgeti (L, LUA_REGISTRYINDEX, t->args_ref);
  for (int i = 1; i <= t->nargs; i++)
    lua_rawgeti (L, -i, i);
  lua_remove (L, -t->nargs - 1);
  return t->nargs;
}

static void
timer_fire (TimerQueue *q,
            Timer      *t,
            gint64      now)
{
  lua_State *L = q->L;

  switch (t->kind)
    {
    case TIMER_RESUME:
      {
        lua_State *co;

        lua_rawgeti (L, LUA_REGISTRYINDEX, t->fn_ref);
        co = lua_tothread (L, -1);
        lua_pop (L, 1);
        plua_runtime_resume (q->runtime, co, 0);   /* the timer still holds co */
        timer_free (q, t);
      }
      break;

    case TIMER_TIMEOUT:
      {
        int nargs = timer_push_call (q, t);

        g_hash_table_remove (q->by_id, ID_KEY (t->id));
        timer_free (q, t);
        plua_runtime_spawn (q->runtime, L, nargs, PLUA_SPAWN_DEFAULT, NULL, NULL);
      }
      break;

    case TIMER_INTERVAL:
      {
        int nargs = timer_push_call (q, t);

        t->firing = TRUE;
        plua_runtime_spawn (q->runtime, L, nargs, PLUA_SPAWN_DEFAULT, NULL, NULL);
        t->firing = FALSE;
        if (t->cancelled)
          {
            timer_free (q, t);
            break;
          }
        t->due += t->period;
        if (t->due <= now)
          t->due = now + t->period;   /* stalled: skip missed runs */
        t->seq = q->next_seq++;
        heap_push (q, t);
      }
      break;
    }
}

/* --instant: the queue gets a prepare() (only then, a normal run has none).
 * When no socket or request is in flight, nothing but a timer can happen
 * next, so the clock jumps to the first due timer (or the --max-time limit)
 * and the batch is ready at once; GLib still polls every descriptor without
 * blocking first, so the REST server and the REPL are served as usual. */
static gboolean
queue_prepare_instant (GSource *source,
                       gint    *timeout)
{
  TimerQueue *q = (TimerQueue *) source;
  gint64 limit = plua_clock_get_limit ();
  gint64 target = limit;

  *timeout = -1;
  if (q->len > 0 && (target == 0 || q->heap[0]->due < target))
    target = q->heap[0]->due;
  if (target == 0)
    return FALSE;
  if (plua_runtime_get_pending (q->runtime, PLUA_PENDING_SOCKET) == 0 &&
      plua_runtime_get_pending (q->runtime, PLUA_PENDING_REQUEST) == 0)
    plua_clock_advance_to (target);
  else
    {
      /* Network I/O in flight happens in real time: wait for it or the timer. */
      gint64 wait = plua_clock_to_real (target) - g_get_monotonic_time ();

      *timeout = wait <= 0 ? 0 : (gint) MIN ((wait + 999) / 1000, G_MAXINT);
    }
  return q->len > 0 && q->heap[0]->due <= plua_clock_monotonic ();
}

/* GLib polls the ready time itself: no prepare()/check() of ours runs on
 * each loop iteration (GLib drops and retakes its lock around each one). */
static void
queue_update_ready_time (TimerQueue *q)
{
  if (q->dispatching)
    return;
  /* With --instant, prepare() decides (and no ready time means no wakeup
   * write per batch). */
  if (G_UNLIKELY (plua_clock_is_instant ()))
    return;
  g_source_set_ready_time (&q->source, q->len > 0 ? plua_clock_to_real (q->heap[0]->due) : -1);
}

static void
on_clock_changed (gpointer data)
{
  queue_update_ready_time (data);
}


static gboolean
queue_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  TimerQueue *q = (TimerQueue *) source;
  gint64 now = plua_clock_monotonic ();
  guint64 seq_limit = q->next_seq;

  q->dispatching = TRUE;

  /* Only timers that existed when this batch started: what the callbacks
   * create waits for the next iteration, so I/O gets its turn. */
  while (q->len > 0 && q->heap[0]->due <= now && q->heap[0]->seq < seq_limit)
    {
      Timer *t = q->heap[0];

      heap_remove (q, t);
      timer_fire (q, t, now);
    }
  q->dispatching = FALSE;
  queue_update_ready_time (q);
  plua_runtime_dispatched (q->runtime);

  return G_SOURCE_CONTINUE;
}

static void
queue_finalize (GSource *source)
{
  TimerQueue *q = (TimerQueue *) source;

  plua_clock_remove_changed (q->clock_listener);
  /* The Lua state is closing: its registry goes with it, just free memory. */
  for (guint i = 0; i < q->len; i++)
    g_free (q->heap[i]);
  g_free (q->heap);
  g_hash_table_unref (q->by_id);
}

static GSourceFuncs queue_funcs = {
  .dispatch = queue_dispatch,
  .finalize = queue_finalize,
};

static GSourceFuncs queue_instant_funcs = {
  .prepare = queue_prepare_instant,
  .dispatch = queue_dispatch,
  .finalize = queue_finalize,
};

/* The timer functions carry the queue as their upvalue. */
static inline TimerQueue *
queue_get (lua_State *L)
{
  return *(TimerQueue **) lua_touserdata (L, lua_upvalueindex (1));
}

static double
check_delay (lua_State *L,
             int        arg)
{
  if (lua_isnoneornil (L, arg))
    return 0;
  /* Numbers only: a string delay is a bug in the caller, say so at once. */
  if (lua_type (L, arg) != LUA_TNUMBER)
    return luaL_typeerror (L, arg, "number");
  return lua_tonumber (L, arg);
}

static int
add_timer (lua_State *L,
           TimerKind  kind)
{
  TimerQueue *q = queue_get (L);
  int nargs = lua_gettop (L) - 2;
  double ms;
  Timer *t;

  luaL_checktype (L, 1, LUA_TFUNCTION);
  ms = check_delay (L, 2);

  t = timer_new (q, kind, ms);
  if (nargs > 0)
    {
      lua_createtable (L, nargs, 0);
      for (int i = 1; i <= nargs; i++)
        {
          lua_pushvalue (L, 2 + i);
          lua_rawseti (L, -2, i);
        }
      t->args_ref = luaL_ref (L, LUA_REGISTRYINDEX);
      t->nargs = nargs;
    }
  lua_pushvalue (L, 1);
  t->fn_ref = luaL_ref (L, LUA_REGISTRYINDEX);
  timer_schedule (q, t);

  lua_pushinteger (L, t->id);
  return 1;
}

/* setTimeout(fn, ms, ...) → id */
static int
l_set_timeout (lua_State *L)
{
  return add_timer (L, TIMER_TIMEOUT);
}

/* setInterval(fn, ms, ...) → id */
static int
l_set_interval (lua_State *L)
{
  return add_timer (L, TIMER_INTERVAL);
}

/* clearTimeout(id) / clearInterval(id): either kind, unknown ids ignored. */
static int
l_clear (lua_State *L)
{
  TimerQueue *q = queue_get (L);
  lua_Integer id;
  Timer *t;

  if (!lua_isinteger (L, 1))
    return 0;
  id = lua_tointeger (L, 1);
  t = g_hash_table_lookup (q->by_id, ID_KEY (id));
  if (t == NULL)
    return 0;

  g_hash_table_remove (q->by_id, ID_KEY (id));
  if (t->firing)
    {
      t->cancelled = TRUE;   /* timer_fire frees it when the callback returns */
      return 0;
    }
  heap_remove (q, t);
  timer_free (q, t);
  return 0;
}

/* sleep(ms): suspends the calling coroutine and resumes it from a timer. */
static int
l_sleep (lua_State *L)
{
  TimerQueue *q = queue_get (L);
  double ms = check_delay (L, 1);
  Timer *t;

  if (!lua_isyieldable (L))
    return luaL_error (L, "sleep: cannot sleep outside a coroutine "
                          "(scripts, timers and REPL lines run in one; this code does not)");

  t = timer_new (q, TIMER_RESUME, ms);
  lua_pushthread (L);
  t->fn_ref = luaL_ref (L, LUA_REGISTRYINDEX);
  timer_schedule (q, t);
  return lua_yield (L, 0);
}

static int
queue_gc (lua_State *L)
{
  TimerQueue **qp = lua_touserdata (L, 1);

  if (*qp != NULL)
    {
      g_source_destroy (&(*qp)->source);
      g_source_unref (&(*qp)->source);
      *qp = NULL;
    }
  return 0;
}

static const luaL_Reg timer_functions[] = {
  { "setTimeout", l_set_timeout },
  { "setInterval", l_set_interval },
  { "clearTimeout", l_clear },
  { "clearInterval", l_clear },
  { "sleep", l_sleep },
  { NULL, NULL }
};

int
plua_timers_open (lua_State *L)
{
  TimerQueue *q;
  TimerQueue **qp;

  q = (TimerQueue *) g_source_new (plua_clock_is_instant () ? &queue_instant_funcs : &queue_funcs,
                                   sizeof (TimerQueue));
  q->runtime = plua_runtime_from_lua (L);
  q->L = L;
  q->by_id = g_hash_table_new (NULL, NULL);
  g_source_set_static_name (&q->source, "plua timers");
  g_source_attach (&q->source, NULL);
  q->clock_listener = plua_clock_add_changed (on_clock_changed, q);


  qp = lua_newuserdatauv (L, sizeof (TimerQueue *), 0);
  *qp = q;
  lua_newtable (L);
  lua_pushcfunction (L, queue_gc);
  lua_setfield (L, -2, "__gc");
  lua_setmetatable (L, -2);
  lua_pushvalue (L, -1);
  lua_rawsetp (L, LUA_REGISTRYINDEX, &queue_key);   /* lives as long as the state */

  lua_pushglobaltable (L);
  lua_insert (L, -2);
  luaL_setfuncs (L, timer_functions, 1);
  lua_pop (L, 1);
  return 0;
}
