/* plua-hooks.c: the one Lua debug hook, shared (API in the header).
 *
 * The registrations are a short array (a handful: a time limit per running
 * request, the interrupt, the debugger). The hook installed on a thread is
 * always dispatch(); what it asks Lua for (mask, count) is the union of the
 * registrations that apply to that thread, recomputed when the thread is
 * entered and whenever dispatch() finds it called for nobody.
 *
 * A thread-bound registration also covers the coroutines created under it:
 * the replaced coroutine.create/wrap record child -> parent in a weak-keyed
 * registry table (only while thread-bound registrations exist, so plain
 * scripts pay nothing), and dispatch() walks that chain.
 */
#include "config.h"

#include <signal.h>

#include <lauxlib.h>

#include "plua-hooks.h"

struct _PluaHook
{
  lua_State   *co;        /* NULL: every thread */
  int          mask;
  int          count;
  gboolean     async;
  PluaHookFunc func;
  gpointer     user_data;
  guint64      serial;
};

/* Most dispatches see one or two registrations; copies of more go on the heap. */
#define SNAPSHOT_SIZE 16

typedef struct
{
  GPtrArray  *regs;          /* PluaHook* */
  guint       n_bound;       /* registrations with co != NULL */
  guint64     next_serial;
  lua_State  *main;
} Hooks;

/* One Lua state per process runs Lua (see plua-runtime.c); the signal-safe
 * part needs plain statics anyway. */
static Hooks hooks;
static lua_State *volatile running;
static volatile sig_atomic_t resume_depth;
static volatile sig_atomic_t poked;

static const char parents_key = 'p';

static void dispatch (lua_State *L, lua_Debug *ar);

/* Is thread L co, or was it created (through coroutine.create/wrap) under
 * co? The look-up uses the stack of work, a thread that may run Lua now. */
static gboolean
thread_descends (lua_State *work,
                 lua_State *L,
                 lua_State *co)
{
  gboolean found = FALSE;
  int top;

  if (L == co)
    return TRUE;
  if (hooks.n_bound == 0)
    return FALSE;
  top = lua_gettop (work);
  if (lua_rawgetp (work, LUA_REGISTRYINDEX, &parents_key) == LUA_TTABLE)
    {
      lua_pushthread (L);
      if (L != work)
        lua_xmove (L, work, 1);
      /* Bounded: a cycle cannot be built, but a corrupt table must not hang. */
      for (int depth = 0; depth < 1000 && lua_rawget (work, top + 1) == LUA_TTHREAD; depth++)
        {
          if (lua_tothread (work, -1) == co)
            {
              found = TRUE;
              break;
            }
        }
    }
  lua_settop (work, top);
  return found;
}

static gboolean
hook_applies (lua_State *work,
              PluaHook  *hook,
              lua_State *L)
{
  if (hook->async)
    return FALSE;
  return hook->co == NULL || thread_descends (work, L, hook->co);
}

void
plua_hooks_refresh (lua_State *co)
{
  int mask = 0;
  int count = 0;

  if (hooks.regs == NULL)
    return;
  for (guint i = 0; i < hooks.regs->len; i++)
    {
      PluaHook *hook = g_ptr_array_index (hooks.regs, i);

      /* co may be suspended: look it up on the main thread's stack. */
      if (!hook_applies (hooks.main != NULL ? hooks.main : co, hook, co))
        continue;
      mask |= hook->mask;
      if (hook->mask & LUA_MASKCOUNT)
        count = count == 0 ? hook->count : MIN (count, hook->count);
    }
  if (poked)
    {
      mask |= LUA_MASKCOUNT;
      count = 1;
    }
  if (mask == 0)
    {
      if (lua_gethook (co) != NULL)
        lua_sethook (co, NULL, 0, 0);
    }
  else if (lua_gethook (co) != dispatch || lua_gethookmask (co) != mask ||
           lua_gethookcount (co) != count)
    {
      lua_sethook (co, dispatch, mask, count);
    }
}

/* Calls the registrations that want this event on L; TRUE if any did. */
static gboolean
call_registrations (lua_State *L,
                    lua_Debug *ar,
                    gboolean   async_only)
{
  PluaHook *stack_copy[SNAPSHOT_SIZE];
  guint64 serials[SNAPSHOT_SIZE];
  g_autofree PluaHook **heap_copy = NULL;
  g_autofree guint64 *heap_serials = NULL;
  PluaHook **copy = stack_copy;
  guint64 *serial = serials;
  int event_mask = 1 << ar->event;
  gboolean called = FALSE;
  guint n = hooks.regs->len;

  if (ar->event == LUA_HOOKTAILCALL)
    event_mask = LUA_MASKCALL;
  if (n > SNAPSHOT_SIZE)
    {
      copy = heap_copy = g_new (PluaHook *, n);
      serial = heap_serials = g_new (guint64, n);
    }
  /* A func may add or remove registrations (and raise): work on a copy and
   * skip the ones that went away, recognised by their serial. */
  for (guint i = 0; i < n; i++)
    {
      copy[i] = g_ptr_array_index (hooks.regs, i);
      serial[i] = copy[i]->serial;
    }
  for (guint i = 0; i < n; i++)
    {
      guint index;
      PluaHook *hook = copy[i];

      if (!g_ptr_array_find (hooks.regs, hook, &index) || hook->serial != serial[i])
        continue;
      if (async_only ? !hook->async : (hook->async || !(hook->mask & event_mask) || !hook_applies (L, hook, L)))
        continue;
      called = TRUE;
      if (heap_copy != NULL && i + 1 == n)
        {
          /* The last one may raise: free the copies first (longjmp skips cleanup). */
          g_clear_pointer (&heap_copy, g_free);
          g_clear_pointer (&heap_serials, g_free);
        }
      hook->func (L, ar, hook->user_data);
    }
  return called;
}

static void
dispatch (lua_State *L,
          lua_Debug *ar)
{
  gboolean called;

  if (hooks.regs == NULL)
    {
      lua_sethook (L, NULL, 0, 0);
      return;
    }
  if (poked && ar->event == LUA_HOOKCOUNT)
    {
      poked = 0;
      plua_hooks_refresh (L);
      call_registrations (L, ar, TRUE);
      return;
    }
  called = call_registrations (L, ar, FALSE);
  if (!called)
    plua_hooks_refresh (L);   /* installed for someone who left */
}

static PluaHook *
hooks_insert (lua_State   *L,
              lua_State   *co,
              int          mask,
              int          count,
              gboolean     async,
              PluaHookFunc func,
              gpointer     user_data)
{
  PluaHook *hook = g_new0 (PluaHook, 1);

  if (hooks.regs == NULL)
    hooks.regs = g_ptr_array_new_with_free_func (g_free);
  hook->co = co;
  hook->mask = mask;
  hook->count = MAX (count, 1);
  hook->async = async;
  hook->func = func;
  hook->user_data = user_data;
  hook->serial = ++hooks.next_serial;
  g_ptr_array_add (hooks.regs, hook);
  if (co != NULL)
    hooks.n_bound++;
  return hook;
}

PluaHook *
plua_hooks_add (lua_State   *L,
                lua_State   *co,
                int          mask,
                int          count,
                PluaHookFunc func,
                gpointer     user_data)
{
  PluaHook *hook;

  g_return_val_if_fail (L != NULL && func != NULL, NULL);
  g_return_val_if_fail ((mask & ~(LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT)) == 0, NULL);
  g_return_val_if_fail (!(mask & LUA_MASKCOUNT) || count > 0, NULL);

  hook = hooks_insert (L, co, mask, count, FALSE, func, user_data);
  if (co != NULL)
    {
      plua_hooks_refresh (co);
    }
  else
    {
      if (hooks.main != NULL)
        plua_hooks_refresh (hooks.main);
      if (running != NULL)
        plua_hooks_refresh (running);
    }
  return hook;
}

PluaHook *
plua_hooks_add_async (lua_State   *L,
                      PluaHookFunc func,
                      gpointer     user_data)
{
  g_return_val_if_fail (L != NULL && func != NULL, NULL);

  return hooks_insert (L, NULL, 0, 0, TRUE, func, user_data);
}

void
plua_hooks_remove (lua_State *L,
                   PluaHook  *hook)
{
  if (hook == NULL || hooks.regs == NULL)
    return;
  if (hook->co != NULL)
    {
      hooks.n_bound--;
      if (lua_gethook (hook->co) == dispatch)
        {
          lua_State *co = hook->co;

          g_ptr_array_remove_fast (hooks.regs, hook);
          plua_hooks_refresh (co);
          return;
        }
    }
  g_ptr_array_remove_fast (hooks.regs, hook);
}

void
plua_hooks_update (PluaHook *hook,
                   int       mask,
                   int       count)
{
  g_return_if_fail (hook != NULL && !hook->async);

  hook->mask = mask;
  hook->count = MAX (count, 1);
  if (hook->co != NULL)
    plua_hooks_refresh (hook->co);
  else if (running != NULL)
    plua_hooks_refresh (running);
}

int
plua_hooks_resume (lua_State *co,
                   lua_State *from,
                   int        nargs,
                   int       *nresults)
{
  lua_State *previous = running;
  int status;

  plua_hooks_refresh (co);
  running = co;
  resume_depth++;
  status = lua_resume (co, from, nargs, nresults);
  resume_depth--;
  running = previous;
  return status;
}

void
plua_hooks_poke (void)
{
  lua_State *target = running != NULL ? running : hooks.main;

  poked = 1;
  /* lua_sethook is safe in a signal handler (lua.c does the same); the
   * caller makes sure it runs on the thread that runs Lua. */
  if (target != NULL)
    lua_sethook (target, dispatch, LUA_MASKCOUNT, 1);
}

void
plua_hooks_unpoke (void)
{
  poked = 0;
}

gboolean
plua_hooks_in_lua (void)
{
  return resume_depth > 0;
}

/* coroutine.resume / coroutine.wrap ---------------------------------------- */

/* Resumes co with the narg values on top of L; moves the results (or the
 * error object) to L and returns their count, or -1 after an error. */
static int
resume_from_lua (lua_State *L,
                 lua_State *co,
                 int        narg)
{
  int status;
  int nres;

  /* lua_resume itself refuses a dead or running coroutine. */
  if (!lua_checkstack (co, narg))
    {
      lua_pushliteral (L, "too many arguments to resume");
      return -1;
    }
  lua_xmove (L, co, narg);
  status = plua_hooks_resume (co, L, narg, &nres);
  if (G_LIKELY (status == LUA_OK || status == LUA_YIELD))
    {
      if (!lua_checkstack (L, nres + 1))
        {
          lua_pop (co, nres);
          lua_pushliteral (L, "too many results to resume");
          return -1;
        }
      lua_xmove (co, L, nres);
      return nres;
    }
  lua_xmove (co, L, 1);
  return -1;
}

static int
l_resume (lua_State *L)
{
  lua_State *co = lua_tothread (L, 1);
  int r;

  luaL_argexpected (L, co != NULL, 1, "coroutine");
  r = resume_from_lua (L, co, lua_gettop (L) - 1);
  if (r < 0)
    {
      lua_pushboolean (L, 0);
      lua_insert (L, -2);
      return 2;
    }
  lua_pushboolean (L, 1);
  lua_insert (L, -(r + 1));
  return r + 1;
}

/* Records co's creator when someone may need to know (thread_descends). */
static void
note_parent (lua_State *L,
             int        idx)
{
  if (hooks.n_bound == 0)
    return;
  idx = lua_absindex (L, idx);
  lua_rawgetp (L, LUA_REGISTRYINDEX, &parents_key);
  lua_pushvalue (L, idx);
  lua_pushthread (L);
  lua_rawset (L, -3);
  lua_pop (L, 1);
}

static int
l_create (lua_State *L)
{
  lua_State *co;

  luaL_checktype (L, 1, LUA_TFUNCTION);
  co = lua_newthread (L);
  lua_pushvalue (L, 1);
  lua_xmove (L, co, 1);
  note_parent (L, -1);
  return 1;
}

static int
wrapped_call (lua_State *L)
{
  lua_State *co = lua_tothread (L, lua_upvalueindex (1));
  int r = resume_from_lua (L, co, lua_gettop (L));

  if (G_LIKELY (r >= 0))
    return r;
  /* As coroutine.wrap does: the dead coroutine is closed (its to-be-closed
   * variables run) and a string error gets the caller's position. */
  if (lua_status (co) != LUA_OK && lua_status (co) != LUA_YIELD)
    {
      lua_resetthread (co);
      lua_xmove (co, L, 1);
      lua_replace (L, -2);
    }
  if (lua_type (L, -1) == LUA_TSTRING)
    {
      luaL_where (L, 1);
      lua_insert (L, -2);
      lua_concat (L, 2);
    }
  return lua_error (L);
}

static int
l_wrap (lua_State *L)
{
  l_create (L);
  lua_pushcclosure (L, wrapped_call, 1);
  return 1;
}

int
plua_hooks_open (lua_State *L)
{
  hooks.main = L;

  lua_newtable (L);
  lua_createtable (L, 0, 1);
  lua_pushliteral (L, "k");
  lua_setfield (L, -2, "__mode");
  lua_setmetatable (L, -2);
  lua_rawsetp (L, LUA_REGISTRYINDEX, &parents_key);

  if (lua_getglobal (L, "coroutine") == LUA_TTABLE)
    {
      lua_pushcfunction (L, l_resume);
      lua_setfield (L, -2, "resume");
      lua_pushcfunction (L, l_create);
      lua_setfield (L, -2, "create");
      lua_pushcfunction (L, l_wrap);
      lua_setfield (L, -2, "wrap");
    }
  lua_pop (L, 1);
  return 0;
}
