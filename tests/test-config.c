/* test-config.c: the run configuration and how Lua sees it (_PY.config). */
#include "config.h"

#include "test-utils.h"

static void
test_defaults (void)
{
  g_autoptr(PluaConfig) config = plua_config_new ();

  g_assert_cmpint (config->api_port, ==, 8888);
  g_assert_cmpstr (config->api_host, ==, "127.0.0.1");
  g_assert_false (config->noapi);
  g_assert_false (config->has_duration);
  g_assert_null (config->script);
}

static void
test_visible_to_lua (void)
{
  PluaConfig *config = plua_config_new ();
  PluaRuntime *runtime;
  TestRuntime *t = test_runtime_new ();

  /* A runtime of our own, with settings the command line would give. */
  config->debug = TRUE;
  config->fibaro = TRUE;
  config->api_port = 9000;
  config->script = g_strdup ("dir/main.lua");
  config->has_duration = TRUE;
  config->duration = 2.5;
  runtime = plua_runtime_new (config);
  g_clear_object (&t->runtime);
  t->runtime = runtime;

  {
    g_autofree char *v = test_runtime_eval (t, "_PY.config.runtime_config.api_config.port");
    g_assert_cmpstr (v, ==, "9000");
  }
  {
    g_autofree char *v = test_runtime_eval (t, "_PY.config.runtime_config.source_name");
    g_assert_cmpstr (v, ==, "dir/main.lua");
  }
  {
    g_autofree char *v = test_runtime_eval (t, "_PY.config.runtime_config.duration");
    g_assert_cmpstr (v, ==, "2.5");
  }
  {
    g_autofree char *v = test_runtime_eval (t, "_PY.config.runtime_config.fibaro and _PY.config.debug");
    g_assert_cmpstr (v, ==, "true");
  }
  {
    g_autofree char *v = test_runtime_eval (t, "_PY.config.tempdir");
    g_assert_cmpstr (v, ==, g_get_tmp_dir ());
  }
  test_runtime_free (t);
  plua_config_free (config);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/config/defaults", test_defaults);
  g_test_add_func ("/config/visible-to-lua", test_visible_to_lua);

  return g_test_run ();
}
