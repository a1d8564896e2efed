/* test-hooks.c: the shared Lua hook (plua-hooks.c), with a real runtime. */
#include "config.h"

#include <lauxlib.h>

#include "plua-hooks.h"
#include "test-utils.h"

typedef struct
{
  guint      calls;
  lua_State *last;
  gboolean   raise;
} Counter;

static void
count_hook (lua_State *L,
            lua_Debug *ar,
            gpointer   user_data)
{
  Counter *c = user_data;

  c->calls++;
  c->last = L;
  if (c->raise)
    luaL_error (L, "stopped by hook");
}

/* Pushes a coroutine running code (a chunk) and returns it. */
static lua_State *
push_coroutine (lua_State  *L,
                const char *code)
{
  lua_State *co = lua_newthread (L);

  g_assert_cmpint (luaL_loadstring (co, code), ==, LUA_OK);
  return co;
}

static int
resume (lua_State *co,
        lua_State *L)
{
  int nres = 0;
  int status = plua_hooks_resume (co, L, 0, &nres);

  if (status == LUA_OK)
    lua_pop (co, nres);   /* after an error the error object is on top */
  return status;
}

static void
test_zero_cost (void)
{
  TestRuntime *t = test_runtime_new ();
  lua_State *L = plua_runtime_get_state (t->runtime);
  lua_State *co = push_coroutine (L, "local n = 0 for i = 1, 1000 do n = n + i end");

  g_assert_cmpint (resume (co, L), ==, LUA_OK);
  g_assert_null (lua_gethook (co));
  g_assert_null (lua_gethook (L));
  lua_pop (L, 1);
  test_runtime_free (t);
}

static void
test_bound_covers_children (void)
{
  TestRuntime *t = test_runtime_new ();
  lua_State *L = plua_runtime_get_state (t->runtime);
  Counter c = { 0 };
  lua_State *co = push_coroutine (L,
    "inner = coroutine.create(function() for i = 1, 100000 do end end)\n"
    "for i = 1, 100000 do end");
  lua_State *inner;
  PluaHook *hook = plua_hooks_add (L, co, LUA_MASKCOUNT, 100, count_hook, &c);

  g_assert_cmpint (resume (co, L), ==, LUA_OK);
  g_assert_cmpuint (c.calls, >, 100);
  g_assert_true (c.last == co);

  /* A coroutine it created is covered too, also when resumed from elsewhere. */
  lua_getglobal (L, "inner");
  inner = lua_tothread (L, -1);
  c.calls = 0;
  g_assert_cmpint (resume (inner, L), ==, LUA_OK);
  g_assert_cmpuint (c.calls, >, 100);
  g_assert_true (c.last == inner);
  lua_pop (L, 1);

  /* Not the main thread, nor an unrelated coroutine. */
  c.calls = 0;
  test_runtime_run (t, "for i = 1, 100000 do end");
  g_assert_cmpuint (c.calls, ==, 0);

  plua_hooks_remove (L, hook);
  g_assert_null (lua_gethook (co));
  lua_pop (L, 1);
  test_runtime_free (t);
}

static void
test_global_and_union (void)
{
  TestRuntime *t = test_runtime_new ();
  lua_State *L = plua_runtime_get_state (t->runtime);
  Counter count = { 0 };
  Counter lines = { 0 };
  PluaHook *global = plua_hooks_add (L, NULL, LUA_MASKLINE, 0, count_hook, &lines);
  lua_State *co = push_coroutine (L, "local a = 1\nlocal b = 2\nlocal c = 3\nfor i = 1, 100 do end\n");
  PluaHook *bound = plua_hooks_add (L, co, LUA_MASKCOUNT, 7, count_hook, &count);

  g_assert_cmpint (lua_gethookmask (co), ==, LUA_MASKLINE | LUA_MASKCOUNT);
  g_assert_cmpint (lua_gethookcount (co), ==, 7);
  g_assert_cmpint (resume (co, L), ==, LUA_OK);
  g_assert_cmpuint (lines.calls, >=, 4);
  g_assert_cmpuint (count.calls, >=, 1);

  /* Removing one keeps the other's part. */
  plua_hooks_remove (L, bound);
  g_assert_cmpint (lua_gethookmask (co), ==, LUA_MASKLINE);

  /* A global one reaches coroutines Lua code creates and resumes. */
  lines.calls = 0;
  test_runtime_run (t, "coroutine.wrap(function()\n local x = 1\n local y = 2\n end)()");
  g_assert_cmpuint (lines.calls, >=, 3);
  plua_hooks_remove (L, global);

  /* Nobody left: the hook goes at the next event or entry. */
  lines.calls = 0;
  test_runtime_run (t, "local z = 1\nlocal w = 2");
  g_assert_cmpuint (lines.calls, ==, 0);
  plua_hooks_refresh (co);
  g_assert_null (lua_gethook (co));
  lua_pop (L, 1);
  test_runtime_free (t);
}

static void
test_error_from_hook_and_update (void)
{
  TestRuntime *t = test_runtime_new ();
  lua_State *L = plua_runtime_get_state (t->runtime);
  Counter c = { 0, NULL, TRUE };
  lua_State *co = push_coroutine (L, "while true do pcall(function() while true do end end) end");
  PluaHook *hook = plua_hooks_add (L, co, LUA_MASKCOUNT, 1000, count_hook, &c);

  /* Raising at every instruction: pcall cannot swallow it. */
  plua_hooks_update (hook, LUA_MASKCOUNT, 1);
  g_assert_cmpint (lua_gethookcount (co), ==, 1);
  g_assert_cmpint (resume (co, L), ==, LUA_ERRRUN);
  g_assert_cmpstr (luaL_typename (co, -1), ==, "string");
  g_assert_nonnull (strstr (lua_tostring (co, -1), "stopped by hook"));
  plua_hooks_remove (L, hook);
  lua_pop (L, 1);
  test_runtime_free (t);
}

static void
poke_from_lua (lua_State *L,
               lua_Debug *ar,
               gpointer   user_data)
{
  Counter *c = user_data;

  c->calls++;
  luaL_error (L, "interrupted");
}

static int
l_poke (lua_State *L)
{
  plua_hooks_poke ();
  return 0;
}

static void
test_async_poke (void)
{
  TestRuntime *t = test_runtime_new ();
  lua_State *L = plua_runtime_get_state (t->runtime);
  Counter c = { 0 };
  PluaHook *async = plua_hooks_add_async (L, poke_from_lua, &c);
  lua_State *co;

  lua_pushcfunction (L, l_poke);
  lua_setglobal (L, "poke");
  /* Inside a nested coroutine, as a signal handler would during a loop. */
  co = push_coroutine (L, "coroutine.wrap(function() poke() while true do end end)()");
  g_assert_false (plua_hooks_in_lua ());
  g_assert_cmpint (resume (co, L), ==, LUA_ERRRUN);
  g_assert_cmpuint (c.calls, ==, 1);
  g_assert_nonnull (strstr (lua_tostring (co, -1), "interrupted"));
  g_assert_false (plua_hooks_in_lua ());
  lua_pop (L, 1);

  /* Served once: the next run is not interrupted. */
  test_runtime_run (t, "for i = 1, 10000 do end done_ok = true");
  g_assert_cmpuint (c.calls, ==, 1);
  plua_hooks_remove (L, async);
  test_runtime_free (t);
}

static void
test_coroutine_api_kept (void)
{
  TestRuntime *t = test_runtime_new ();
  g_autofree char *r = NULL;

  test_runtime_run (t,
    "local co = coroutine.create(function(a, b) local c = coroutine.yield(a + b) error({c}) end)\n"
    "local ok1, v1 = coroutine.resume(co, 1, 2)\n"
    "local ok2, e2 = coroutine.resume(co, 7)\n"
    "local ok3, e3 = coroutine.resume(co)\n"
    "local ok4, e4 = pcall(coroutine.wrap(function() error('boom') end))\n"
    "local ok5, e5 = coroutine.resume(coroutine.running())\n"
    "local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)\n"
    "result = table.concat({tostring(ok1), v1, tostring(ok2), e2[1], tostring(ok3), e3,\n"
    "  tostring(ok4), e4:match(':5: boom$'), tostring(ok5), e5, gen() + gen() + gen()}, '|')");
  r = test_runtime_eval (t, "result");
  g_assert_cmpstr (r, ==, "true|3|false|7|false|cannot resume dead coroutine|false|"
                          ":5: boom|false|cannot resume non-suspended coroutine|6");
  test_runtime_free (t);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hooks/zero-cost", test_zero_cost);
  g_test_add_func ("/hooks/bound-covers-children", test_bound_covers_children);
  g_test_add_func ("/hooks/global-and-union", test_global_and_union);
  g_test_add_func ("/hooks/error-and-update", test_error_from_hook_and_update);
  g_test_add_func ("/hooks/async-poke", test_async_poke);
  g_test_add_func ("/hooks/coroutine-api", test_coroutine_api_kept);
  return g_test_run ();
}
