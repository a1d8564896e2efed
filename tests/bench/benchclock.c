/* benchclock.c: a monotonic wall clock for the Lua benchmark scripts.
 *
 * plua has no sub-second wall clock of its own (os.time() counts seconds,
 * os.clock() is CPU time), and the timer burst spends most of its time
 * waiting, so the plua scripts load this tiny module when run.sh has built it
 * (LUA_CPATH points at tests/bench/out/). The luv scripts use uv.hrtime() and
 * glib-timers.c uses g_get_monotonic_time(): all three read CLOCK_MONOTONIC.
 *
 *   local clock = require "benchclock"
 *   clock.now()  --> seconds, as a float
 */
#include <time.h>

#include <lua.h>
#include <lauxlib.h>

static int
l_now (lua_State *L)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  lua_pushnumber (L, (lua_Number) ts.tv_sec + (lua_Number) ts.tv_nsec * 1e-9);
  return 1;
}

int
luaopen_benchclock (lua_State *L)
{
  static const luaL_Reg functions[] = {
    { "now", l_now },
    { NULL, NULL }
  };

  luaL_newlib (L, functions);
  return 1;
}
