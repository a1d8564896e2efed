/* test-utils.c: a runtime on the default main context for the GTest programs. */
#include "config.h"

#include <lauxlib.h>

#include "test-utils.h"

static void
on_output (PluaRuntime *runtime,
           const char  *text,
           guint64      len,
           TestRuntime *t)
{
  g_string_append_len (t->output, text, len);
  g_string_append_c (t->output, '\n');
}

TestRuntime *
test_runtime_new (void)
{
  TestRuntime *t = g_new0 (TestRuntime, 1);

  t->config = plua_config_new ();
  t->config->noapi = TRUE;
  t->runtime = plua_runtime_new (t->config);
  t->output = g_string_new (NULL);
  g_signal_connect (t->runtime, "output", G_CALLBACK (on_output), t);
  return t;
}

void
test_runtime_free (TestRuntime *t)
{
  g_clear_object (&t->runtime);
  plua_config_free (t->config);
  g_string_free (t->output, TRUE);
  g_free (t);
  /* Drain what the runtime's sources left behind. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
on_done (PluaRuntime *runtime,
         lua_State   *co,
         int          status,
         int          nresults,
         gpointer     user_data)
{
  TestRuntime *t = user_data;

  t->done = TRUE;
  t->status = status;
}

void
test_runtime_run (TestRuntime *t,
                  const char  *code)
{
  lua_State *L = plua_runtime_get_state (t->runtime);

  t->done = FALSE;
  t->status = -1;
  if (luaL_loadstring (L, code) != LUA_OK)
    g_error ("test chunk does not compile: %s", lua_tostring (L, -1));
  plua_runtime_spawn (t->runtime, L, 0, PLUA_SPAWN_DEFAULT, on_done, t);
}

static gboolean
global_is_true (TestRuntime *t,
                const char  *name)
{
  lua_State *L = plua_runtime_get_state (t->runtime);
  gboolean value;

  lua_getglobal (L, name);
  value = lua_toboolean (L, -1);
  lua_pop (L, 1);
  return value;
}

gboolean
test_runtime_wait (TestRuntime *t,
                   const char  *wait_global,
                   guint        timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * G_TIME_SPAN_MILLISECOND;

  while (g_get_monotonic_time () < deadline)
    {
      if (wait_global != NULL ? global_is_true (t, wait_global) : t->done)
        return TRUE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (100);
    }
  return wait_global != NULL ? global_is_true (t, wait_global) : t->done;
}

char *
test_runtime_eval (TestRuntime *t,
                   const char  *expression)
{
  lua_State *L = plua_runtime_get_state (t->runtime);
  g_autofree char *code = g_strdup_printf ("return tostring(%s)", expression);
  char *result;

  if (luaL_dostring (L, code) != LUA_OK)
    g_error ("eval %s failed: %s", expression, lua_tostring (L, -1));
  result = g_strdup (lua_tostring (L, -1));
  lua_pop (L, 1);
  return result;
}

void
test_runtime_assert_error_reported (const char *code,
                                    const char *wait_global,
                                    const char *stderr_pattern)
{
  if (g_test_subprocess ())
    {
      TestRuntime *t = test_runtime_new ();

      test_runtime_run (t, code);
      g_assert_true (test_runtime_wait (t, wait_global, 2000));
      g_assert_true (plua_runtime_had_error (t->runtime));
      test_runtime_free (t);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr (stderr_pattern);
}
