/* plua-hooks.h: the one Lua debug hook, shared by every feature that needs it.
 *
 * lua_sethook has ONE slot per thread (coroutine), and several features need
 * it: the /plua/execute time limit, the Ctrl-C interrupt, the debugger. None
 * of them calls lua_sethook; each registers what it needs here, and the
 * dispatcher installs on each thread the union of the registrations that
 * apply to it and calls each registered function for the events it asked for.
 * With no registration no hook is installed at all: zero cost.
 *
 * API (stable; the debugger and the limits build on it):
 *
 *   plua_hooks_open (L)
 *     Once per state, by the runtime. Replaces coroutine.resume and
 *     coroutine.wrap with equivalents that install the hooks on the thread
 *     they resume, and remembers which thread created which coroutine.
 *
 *   PluaHook *plua_hooks_add (L, co, mask, count, func, user_data)
 *     mask: any of LUA_MASKCALL, LUA_MASKRET, LUA_MASKLINE, LUA_MASKCOUNT
 *     (count > 0 with LUA_MASKCOUNT: instructions between two count events;
 *     with several count registrations on one thread the smallest count is
 *     installed, so a count function may be called more often than asked).
 *     co == NULL: every thread of the state (installed at once on the main
 *     thread and the running one, and on any other thread when the runtime or
 *     coroutine.resume/wrap enters it). co != NULL: that thread, and the
 *     coroutines that code running in it (or in them) creates with
 *     coroutine.create/wrap while the registration exists.
 *     func (L, ar, user_data) is called on the thread L the event happened
 *     on, inside the hook: it may use the Lua API as a hook may (lua_getinfo,
 *     lua_getlocal..., raise an error with lua_error/luaL_error for count and
 *     line events, lua_yield from count/line events when L is yieldable).
 *     Registrations added or removed inside a func take effect from the next
 *     event.
 *
 *   void plua_hooks_remove (L, hook)
 *     Forgets a registration (NULL is ignored). Threads that no longer need
 *     a hook lose it at their next hook event or next entry.
 *
 *   void plua_hooks_update (hook, mask, count)
 *     Changes what a registration asks for (e.g. a time limit that has
 *     expired asks for every instruction); installed at once on its thread
 *     (a global one: on the running thread, elsewhere at the next entry).
 *
 *   void plua_hooks_refresh (co)
 *     Installs on co the union of what applies to it now. The runtime calls
 *     it before each resume; call it after changing a registration's needs.
 *
 *   int plua_hooks_resume (co, from, nargs, &nresults)
 *     lua_resume plus the bookkeeping above (which thread is running, its
 *     hooks): every resume of Lua code from C goes through it.
 *
 *   PluaHook *plua_hooks_add_async (L, func, user_data)
 *   void plua_hooks_poke (void)    async-signal-safe
 *     An async registration is called (as a LUA_HOOKCOUNT event, inside the
 *     hook) at the next instruction of whatever Lua thread is running after
 *     plua_hooks_poke(), e.g. from a signal handler: the way to stop a
 *     `while true do end`. A poke while no Lua code runs is kept and served
 *     when Lua code next runs; plua_hooks_unpoke() forgets it.
 *     plua_hooks_in_lua() tells (async-signal-safe) whether Lua code is
 *     running now.
 */
#pragma once

#include <glib.h>
#include <lua.h>

G_BEGIN_DECLS

typedef struct _PluaHook PluaHook;

typedef void (*PluaHookFunc) (lua_State *L,
                              lua_Debug *ar,
                              gpointer   user_data);

int       plua_hooks_open      (lua_State   *L);

PluaHook *plua_hooks_add       (lua_State   *L,
                                lua_State   *co,
                                int          mask,
                                int          count,
                                PluaHookFunc func,
                                gpointer     user_data);
PluaHook *plua_hooks_add_async (lua_State   *L,
                                PluaHookFunc func,
                                gpointer     user_data);
void      plua_hooks_remove    (lua_State   *L,
                                PluaHook    *hook);
void      plua_hooks_update    (PluaHook    *hook,
                                int          mask,
                                int          count);
void      plua_hooks_refresh   (lua_State   *co);

int       plua_hooks_resume    (lua_State   *co,
                                lua_State   *from,
                                int          nargs,
                                int         *nresults);

void      plua_hooks_poke      (void);
void      plua_hooks_unpoke    (void);
gboolean  plua_hooks_in_lua    (void);

G_END_DECLS
