/* test-timers.c: setTimeout / setInterval / clearTimeout / sleep on the main loop. */
#include "config.h"

#include <lauxlib.h>

#include "test-utils.h"

static void
test_ordering (void)
{
  TestRuntime *t = test_runtime_new ();

  test_runtime_run (t,
    "order = {}\n"
    "local function mark(s) return function() order[#order + 1] = s end end\n"
    "setTimeout(mark('c'), 30)\n"
    "setTimeout(mark('a'), 10)\n"
    "for i = 1, 5 do setTimeout(mark('b' .. i), 20) end\n"
    "setTimeout(function() finished = true end, 40)\n");
  g_assert_true (test_runtime_wait (t, "finished", 2000));
  {
    g_autofree char *order = test_runtime_eval (t, "table.concat(order, ' ')");
    g_assert_cmpstr (order, ==, "a b1 b2 b3 b4 b5 c");
  }
  test_runtime_free (t);
}

static void
test_never_inside_creating_code (void)
{
  TestRuntime *t = test_runtime_new ();

  test_runtime_run (t, "ran = false setTimeout(function() ran = true end, 0) seen = ran");
  {
    g_autofree char *seen = test_runtime_eval (t, "seen");
    g_assert_cmpstr (seen, ==, "false");
  }
  g_assert_true (test_runtime_wait (t, "ran", 1000));
  test_runtime_free (t);
}

static void
test_zero_delay_from_callback_waits (void)
{
  TestRuntime *t = test_runtime_new ();

  test_runtime_run (t,
    "steps = {}\n"
    "setTimeout(function()\n"
    "  steps[#steps + 1] = 'outer'\n"
    "  setTimeout(function() steps[#steps + 1] = 'inner' finished = true end, 0)\n"
    "end, 0)\n");
  /* One iteration runs the batch that was due; the timer it created waits. */
  while (!g_main_context_iteration (NULL, FALSE))
    ;
  {
    g_autofree char *steps = test_runtime_eval (t, "table.concat(steps, ' ')");
    g_assert_cmpstr (steps, ==, "outer");
  }
  g_assert_true (test_runtime_wait (t, "finished", 1000));
  test_runtime_free (t);
}

static void
test_interval_does_not_drift (void)
{
  TestRuntime *t = test_runtime_new ();
  g_autofree char *elapsed = NULL;
  g_autofree char *shortest = NULL;
  double ms, gap;

  /* Each tick burns 6 ms.  An interval rescheduled after its callback
   * runs can never start two ticks less than 26 ms apart; a fixed-rate
   * one starts most of them 20 ms apart.  Asserting on the shortest gap
   * (instead of on the total, which a loaded machine stretches) keeps
   * the test exact for the bug and immune to a busy CI box. */
  test_runtime_run (t,
    "local n, t0, last = 0, _PY.millitime(), nil\n"
    "shortest = math.huge\n"
    "local id\n"
    "id = setInterval(function()\n"
    "  local now = _PY.millitime()\n"
    "  if last then shortest = math.min(shortest, (now - last) * 1000) end\n"
    "  last = now\n"
    "  n = n + 1\n"
    "  local c = _PY.millitime() while _PY.millitime() - c < 0.006 do end\n"
    "  if n == 20 then clearInterval(id) elapsed = (_PY.millitime() - t0) * 1000 finished = true end\n"
    "end, 20)\n");
  g_assert_true (test_runtime_wait (t, "finished", 10000));
  elapsed = test_runtime_eval (t, "elapsed");
  shortest = test_runtime_eval (t, "shortest");
  ms = g_ascii_strtod (elapsed, NULL);
  gap = g_ascii_strtod (shortest, NULL);
  g_test_message ("20 ticks of 20 ms took %.1f ms, shortest gap %.1f ms", ms, gap);
  g_assert_cmpfloat (ms, >=, 398);
  g_assert_cmpfloat (gap, <, 25);
  test_runtime_free (t);
}

static void
test_interval_survives_errors (void)
{
  test_runtime_assert_error_reported (
    "n = 0\n"
    "local id\n"
    "id = setInterval(function() n = n + 1 if n == 3 then clearInterval(id) finished = true end error('tick ' .. n) end, 5)\n",
    "finished", "*tick 1*tick 2*tick 3*");
}

static void
test_clear_from_callback_and_pending (void)
{
  TestRuntime *t = test_runtime_new ();

  test_runtime_run (t,
    "a = setTimeout(function() error('cancelled timer ran') end, 50)\n"
    "b = setInterval(function() end, 1000)\n"
    "setTimeout(function() clearTimeout(a) clearInterval(b) finished = true end, 10)\n");
  g_assert_cmpuint (plua_runtime_get_pending (t->runtime, PLUA_PENDING_TIMER), ==, 3);
  g_assert_true (test_runtime_wait (t, "finished", 1000));
  g_assert_cmpuint (plua_runtime_get_pending (t->runtime, PLUA_PENDING_TIMER), ==, 0);
  /* Give the cancelled one the chance to misbehave. */
  g_usleep (60 * 1000);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_false (plua_runtime_had_error (t->runtime));
  test_runtime_free (t);
}

static void
test_many_random_timers (void)
{
  TestRuntime *t = test_runtime_new ();

  /* Timers with the same delay must fire in creation order, and none may
   * fire before its delay has passed. */
  test_runtime_run (t,
    "count, disorder, early = 0, 0, 0\n"
    "local last_of_delay = {}\n"
    "math.randomseed(7)\n"
    "for i = 1, 20000 do\n"
    "  local d = math.random(0, 50)\n"
    "  local created = _PY.millitime()\n"
    "  setTimeout(function()\n"
    "    count = count + 1\n"
    "    if (last_of_delay[d] or 0) > i then disorder = disorder + 1 end\n"
    "    last_of_delay[d] = i\n"
    "    if (_PY.millitime() - created) * 1000 < d - 0.05 then early = early + 1 end\n"
    "    if count == 20000 then finished = true end\n"
    "  end, d)\n"
    "end\n");
  g_assert_true (test_runtime_wait (t, "finished", 10000));
  {
    g_autofree char *disorder = test_runtime_eval (t, "disorder");
    g_autofree char *early = test_runtime_eval (t, "early");

    g_assert_cmpstr (disorder, ==, "0");
    g_assert_cmpstr (early, ==, "0");
  }
  test_runtime_free (t);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/runtime/timers/due-time-then-creation-order", test_ordering);
  g_test_add_func ("/runtime/timers/never-inside-creating-code", test_never_inside_creating_code);
  g_test_add_func ("/runtime/timers/zero-delay-from-callback-waits-an-iteration", test_zero_delay_from_callback_waits);
  g_test_add_func ("/runtime/timers/interval-does-not-drift", test_interval_does_not_drift);
  g_test_add_func ("/runtime/timers/interval-survives-errors", test_interval_survives_errors);
  g_test_add_func ("/runtime/timers/clear-from-callback-releases-pending", test_clear_from_callback_and_pending);
  g_test_add_func ("/runtime/timers/twenty-thousand-random-timers-in-order", test_many_random_timers);

  return g_test_run ();
}
