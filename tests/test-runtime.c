/* test-runtime.c: the runtime object: output path, coroutines, errors, pending work. */
#include "config.h"

#include <lauxlib.h>

#include "test-utils.h"

static void
test_print_goes_through_output (void)
{
  TestRuntime *t = test_runtime_new ();

  test_runtime_run (t, "print('a', 1, nil, true) print() print('x\\0y')");
  g_assert_true (t->done);
  g_assert_cmpint (t->status, ==, LUA_OK);
  {
    static const char expected[] = "a\t1\tnil\ttrue\n\nx\0y\n";
    g_assert_cmpmem (t->output->str, t->output->len, expected, sizeof expected - 1);
  }
  test_runtime_free (t);
}

static void
test_spawn_results (void)
{
  TestRuntime *t = test_runtime_new ();
  char *value;

  test_runtime_run (t, "answer = 6 * 7 return answer");
  g_assert_true (t->done);
  value = test_runtime_eval (t, "answer");
  g_assert_cmpstr (value, ==, "42");
  g_free (value);
  g_assert_false (plua_runtime_had_error (t->runtime));
  test_runtime_free (t);
}

static void
test_error_is_reported_and_remembered (void)
{
  test_runtime_assert_error_reported ("error('kaboom')", NULL, "*kaboom*stack traceback*");
}

static void
test_sleep_suspends_and_resumes (void)
{
  TestRuntime *t = test_runtime_new ();
  gint64 start = g_get_monotonic_time ();

  test_runtime_run (t, "print('before') sleep(30) print('after')");
  g_assert_false (t->done);   /* suspended, not finished */
  g_assert_cmpstr (t->output->str, ==, "before\n");
  g_assert_cmpuint (plua_runtime_get_pending (t->runtime, PLUA_PENDING_TIMER), ==, 1);
  g_assert_true (test_runtime_wait (t, NULL, 2000));
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 29 * 1000);
  g_assert_cmpstr (t->output->str, ==, "before\nafter\n");
  g_assert_cmpuint (plua_runtime_get_total_pending (t->runtime), ==, 0);
  test_runtime_free (t);
}

static void
test_pool_survives_many_spawns (void)
{
  TestRuntime *t = test_runtime_new ();
  lua_State *L = plua_runtime_get_state (t->runtime);

  g_assert_cmpint (luaL_dostring (L, "count = 0"), ==, LUA_OK);
  for (int i = 0; i < 10000; i++)
    {
      luaL_loadstring (L, i % 100 == 0 ? "count = count + 1 error('x')" : "count = count + 1");
      plua_runtime_spawn (t->runtime, L, 0, PLUA_SPAWN_QUIET, NULL, NULL);
    }
  g_assert_cmpint (lua_gettop (L), ==, 0);   /* nothing leaked on the stack */
  {
    g_autofree char *count = test_runtime_eval (t, "count");
    g_assert_cmpstr (count, ==, "10000");
  }
  test_runtime_free (t);
}

static void
test_pending_counts (void)
{
  TestRuntime *t = test_runtime_new ();

  plua_runtime_hold (t->runtime, PLUA_PENDING_SOCKET);
  plua_runtime_hold (t->runtime, PLUA_PENDING_SERVER);
  plua_runtime_hold (t->runtime, PLUA_PENDING_SERVER);
  g_assert_cmpuint (plua_runtime_get_total_pending (t->runtime), ==, 3);
  {
    g_autofree char *servers = test_runtime_eval (t, "_PY.getRuntimeState().servers");
    g_assert_cmpstr (servers, ==, "2");
  }
  plua_runtime_release (t->runtime, PLUA_PENDING_SOCKET);
  plua_runtime_release (t->runtime, PLUA_PENDING_SERVER);
  plua_runtime_release (t->runtime, PLUA_PENDING_SERVER);
  g_assert_cmpuint (plua_runtime_get_total_pending (t->runtime), ==, 0);
  test_runtime_free (t);
}

static void
test_bundled_modules_from_resource (void)
{
  TestRuntime *t = test_runtime_new ();
  g_autofree char *where = NULL;

  test_runtime_run (t, "local _, path = require('class') where = path");
  g_assert_true (t->done);
  where = test_runtime_eval (t, "where");
  g_assert_cmpstr (where, ==, "/io/github/plua/Plua/lua/class.lua");
  test_runtime_free (t);
}

static void
test_dispatched_signal (void)
{
  TestRuntime *t = test_runtime_new ();
  int count = 0;

  g_signal_connect_swapped (t->runtime, "dispatched", G_CALLBACK (g_atomic_int_inc), &count);
  test_runtime_run (t, "setTimeout(function() finished = true end, 5)");
  g_assert_true (test_runtime_wait (t, "finished", 2000));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpint (count, >=, 1);
  test_runtime_free (t);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/runtime/print/goes-through-output-signal", test_print_goes_through_output);
  g_test_add_func ("/runtime/spawn/runs-chunk", test_spawn_results);
  g_test_add_func ("/runtime/spawn/error-reported-and-remembered", test_error_is_reported_and_remembered);
  g_test_add_func ("/runtime/spawn/sleep-suspends-and-resumes", test_sleep_suspends_and_resumes);
  g_test_add_func ("/runtime/spawn/pool-survives-many-spawns", test_pool_survives_many_spawns);
  g_test_add_func ("/runtime/pending/counts", test_pending_counts);
  g_test_add_func ("/runtime/require/bundled-modules-from-resource", test_bundled_modules_from_resource);
  g_test_add_func ("/runtime/dispatched/emitted-after-callbacks", test_dispatched_signal);

  return g_test_run ();
}
