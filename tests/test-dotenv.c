/* test-dotenv.c: .env parsing, lookup order, reload and the Lua binding. */
#include "config.h"

#include <glib/gstdio.h>
#include <lauxlib.h>
#include <lualib.h>
#include <unistd.h>

#include "plua-dotenv.h"

typedef struct
{
  char *root;
  char *home;
  char *cwd;
  char *config;
  char *old_cwd;
} Fixture;

static void
write_file (const char *dir,
            const char *relative,
            const char *contents)
{
  g_autofree char *path = g_build_filename (dir, relative, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (parent, 0700), ==, 0);
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

/* A private HOME, an empty config dir and a fresh current directory, so the
 * developer's own .env files never take part. */
static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr (GError) error = NULL;

  (void) data;
  f->root = g_dir_make_tmp ("plua-dotenv-XXXXXX", &error);
  g_assert_no_error (error);
  f->home = g_build_filename (f->root, "home", NULL);
  f->cwd = g_build_filename (f->root, "cwd", NULL);
  f->config = g_build_filename (f->root, "config", NULL);
  g_assert_cmpint (g_mkdir (f->home, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (f->cwd, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (f->config, 0700), ==, 0);

  g_setenv ("HOME", f->home, TRUE);
  g_setenv ("XDG_CONFIG_HOME", f->config, TRUE);
  g_unsetenv ("PLUA_TEST_KEY");
  g_unsetenv ("PLUA_TEST_PROC");

  f->old_cwd = g_get_current_dir ();
  g_assert_cmpint (g_chdir (f->cwd), ==, 0);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  (void) data;
  g_assert_cmpint (g_chdir (f->old_cwd), ==, 0);
  remove_tree (f->root);
  g_free (f->root);
  g_free (f->home);
  g_free (f->cwd);
  g_free (f->config);
  g_free (f->old_cwd);
}

static void
test_parse_quotes (void)
{
  g_autoptr (GHashTable) t = NULL;

  t = plua_dotenv_parse ("A=\"x y\"\n"
                         "B='z'\n"
                         "C=\"mismatch'\n"
                         "D=\"\"\n"
                         "E=\"\n"
                         "F=  'keep \"inner\"'  \n"
                         "G=\"a\"b\"\n"
                         "H=\"'both'\"\n"
                         "I=  spaced  \n"
                         "J=a=b=c\n");
  g_assert_cmpstr (g_hash_table_lookup (t, "A"), ==, "x y");
  g_assert_cmpstr (g_hash_table_lookup (t, "B"), ==, "z");
  g_assert_cmpstr (g_hash_table_lookup (t, "C"), ==, "\"mismatch'");
  g_assert_cmpstr (g_hash_table_lookup (t, "D"), ==, "");
  g_assert_cmpstr (g_hash_table_lookup (t, "E"), ==, "\"");
  g_assert_cmpstr (g_hash_table_lookup (t, "F"), ==, "keep \"inner\"");
  g_assert_cmpstr (g_hash_table_lookup (t, "G"), ==, "a\"b");
  /* Only one pair is removed. */
  g_assert_cmpstr (g_hash_table_lookup (t, "H"), ==, "'both'");
  g_assert_cmpstr (g_hash_table_lookup (t, "I"), ==, "spaced");
  /* Split at the first '='. */
  g_assert_cmpstr (g_hash_table_lookup (t, "J"), ==, "a=b=c");
}

static void
test_parse_comments_and_blank (void)
{
  g_autoptr (GHashTable) t = NULL;

  t = plua_dotenv_parse ("# a comment\n"
                         "\n"
                         "   \n"
                         "A=1\n"
                         "   # B=2\n"
                         "no equals sign\n"
                         "=no key\n"
                         "  C = spaced value \r\n"
                         "D=x # not a comment\n"
                         "E=$HOME\n"
                         "A=2");
  g_assert_cmpuint (g_hash_table_size (t), ==, 4);
  /* The last definition wins, and a last line needs no newline. */
  g_assert_cmpstr (g_hash_table_lookup (t, "A"), ==, "2");
  g_assert_false (g_hash_table_contains (t, "B"));
  g_assert_cmpstr (g_hash_table_lookup (t, "C"), ==, "spaced value");
  /* No inline comments, no expansion. */
  g_assert_cmpstr (g_hash_table_lookup (t, "D"), ==, "x # not a comment");
  g_assert_cmpstr (g_hash_table_lookup (t, "E"), ==, "$HOME");
}

static void
test_parse_export_prefix (void)
{
  g_autoptr (GHashTable) t = NULL;

  t = plua_dotenv_parse ("export A=1\n"
                         "export\tB = \"2\"\n"
                         "exported=3\n"
                         "export=4\n");
  g_assert_cmpstr (g_hash_table_lookup (t, "A"), ==, "1");
  g_assert_cmpstr (g_hash_table_lookup (t, "B"), ==, "2");
  g_assert_cmpstr (g_hash_table_lookup (t, "exported"), ==, "3");
  g_assert_cmpstr (g_hash_table_lookup (t, "export"), ==, "4");
}

static void
test_order_cwd_first (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr (PluaDotenv) env = NULL;

  (void) data;
  write_file (f->cwd, ".env", "PLUA_TEST_KEY=cwd\n");
  write_file (f->home, ".env", "PLUA_TEST_KEY=home\n");
  write_file (f->config, "plua/.env", "PLUA_TEST_KEY=config\n");
  g_setenv ("PLUA_TEST_KEY", "process", TRUE);

  env = plua_dotenv_new ();
  /* The process environment first, then the files. */
  g_assert_cmpstr (plua_dotenv_get (env, "PLUA_TEST_KEY"), ==, "process");
  g_unsetenv ("PLUA_TEST_KEY");
  g_assert_cmpstr (plua_dotenv_get (env, "PLUA_TEST_KEY"), ==, "cwd");

  /* A directory's .env (the QuickApp's) comes before ./.env. */
  write_file (f->home, "qa/.env", "PLUA_TEST_KEY=qa dir\n");
  {
    g_autofree char *qa_dir = g_build_filename (f->home, "qa", NULL);

    plua_dotenv_set_directory (env, qa_dir);
    g_assert_cmpstr (plua_dotenv_get (env, "PLUA_TEST_KEY"), ==, "qa dir");
    plua_dotenv_set_directory (env, NULL);
    g_assert_cmpstr (plua_dotenv_get (env, "PLUA_TEST_KEY"), ==, "cwd");
  }
}

static void
test_order_home (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr (PluaDotenv) env = NULL;

  (void) data;
  /* A file without the key does not hide the next one. */
  write_file (f->cwd, ".env", "OTHER=1\n");
  write_file (f->home, ".env", "PLUA_TEST_KEY=home\n");
  write_file (f->config, "plua/.env", "PLUA_TEST_KEY=config\n");

  env = plua_dotenv_new ();
  g_assert_cmpstr (plua_dotenv_get (env, "PLUA_TEST_KEY"), ==, "home");
  g_assert_cmpstr (plua_dotenv_get (env, "OTHER"), ==, "1");
}

static void
test_order_config_dir (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr (PluaDotenv) env = NULL;

  (void) data;
  write_file (f->config, "plua/.env", "PLUA_TEST_KEY=config\n");
  env = plua_dotenv_new ();
  g_assert_cmpstr (plua_dotenv_get (env, "PLUA_TEST_KEY"), ==, "config");

  /* Without XDG_CONFIG_HOME the config dir is ~/.config. */
  g_unsetenv ("XDG_CONFIG_HOME");
  write_file (f->home, ".config/plua/.env", "PLUA_TEST_KEY=home-config\n");
  plua_dotenv_reload (env);
  g_assert_cmpstr (plua_dotenv_get (env, "PLUA_TEST_KEY"), ==, "home-config");
}

static void
test_fallback_process_env (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr (PluaDotenv) env = NULL;

  (void) data;
  g_setenv ("PLUA_TEST_PROC", "process", TRUE);
  env = plua_dotenv_new ();
  g_assert_cmpstr (plua_dotenv_get (env, "PLUA_TEST_PROC"), ==, "process");
  g_assert_null (plua_dotenv_get (env, "PLUA_TEST_MISSING"));

  /* The process environment beats every .env file (the dotenv rule). */
  write_file (f->cwd, ".env", "PLUA_TEST_PROC=dotenv\nPLUA_TEST_ONLY_FILE=file\n");
  plua_dotenv_reload (env);
  g_assert_cmpstr (plua_dotenv_get (env, "PLUA_TEST_PROC"), ==, "process");
  g_assert_cmpstr (plua_dotenv_get (env, "PLUA_TEST_ONLY_FILE"), ==, "file");
  g_unsetenv ("PLUA_TEST_PROC");
  g_assert_cmpstr (plua_dotenv_get (env, "PLUA_TEST_PROC"), ==, "dotenv");
}

static void
test_reload (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr (PluaDotenv) env = NULL;
  g_autofree char *other = g_build_filename (f->root, "other", NULL);

  (void) data;
  env = plua_dotenv_new ();
  g_assert_null (plua_dotenv_get (env, "PLUA_TEST_KEY"));

  /* Files are read at creation and on reload only. */
  write_file (f->cwd, ".env", "PLUA_TEST_KEY=first\n");
  g_assert_null (plua_dotenv_get (env, "PLUA_TEST_KEY"));
  plua_dotenv_reload (env);
  g_assert_cmpstr (plua_dotenv_get (env, "PLUA_TEST_KEY"), ==, "first");

  /* ./.env is relative to the current directory at reload time. */
  write_file (other, ".env", "PLUA_TEST_KEY=second\n");
  g_assert_cmpint (g_chdir (other), ==, 0);
  plua_dotenv_reload (env);
  g_assert_cmpstr (plua_dotenv_get (env, "PLUA_TEST_KEY"), ==, "second");

  /* A file that went away is forgotten. */
  g_assert_cmpint (g_unlink (".env"), ==, 0);
  plua_dotenv_reload (env);
  g_assert_null (plua_dotenv_get (env, "PLUA_TEST_KEY"));
}

static void
run_lua (lua_State  *L,
         const char *code)
{
  if (luaL_dostring (L, code) != LUA_OK)
    g_error ("Lua error: %s", lua_tostring (L, -1));
}

static void
test_lua_getenv_default (Fixture       *f,
                         gconstpointer  data)
{
  lua_State *L;

  (void) data;
  write_file (f->cwd, ".env", "PLUA_TEST_KEY=\"from dotenv\"\n");
  g_setenv ("PLUA_TEST_PROC", "process", TRUE);

  L = luaL_newstate ();
  luaL_openlibs (L);
  /* An existing _PY table is extended, not replaced. */
  run_lua (L, "_PY = { keep = 1 }");
  plua_dotenv_open (L);
  g_assert_cmpint (lua_gettop (L), ==, 0);

  run_lua (L,
           "assert(_PY.keep == 1)\n"
           "assert(os.getenv('PLUA_TEST_KEY') == 'from dotenv')\n"
           "assert(os.getenv('PLUA_TEST_PROC') == 'process')\n"
           "assert(os.getenv('PLUA_TEST_MISSING') == nil)\n"
           "assert(select('#', os.getenv('PLUA_TEST_MISSING')) == 1)\n"
           "assert(os.getenv('PLUA_TEST_MISSING', 'dflt') == 'dflt')\n"
           "assert(os.getenv('PLUA_TEST_MISSING', 42) == 42)\n"
           "assert(os.getenv('PLUA_TEST_KEY', 'dflt') == 'from dotenv')\n"
           "assert(_PY.getenv('PLUA_TEST_KEY') == nil)\n"
           "assert(_PY.getenv('PLUA_TEST_KEY', 'd') == 'd')\n"
           "assert(_PY.getenv('PLUA_TEST_PROC') == 'process')\n"
           "assert(_PY.getenv_with_dotenv == os.getenv)\n"
           "assert(_PY.getenv_dotenv == os.getenv)\n"
           "local ok, err = pcall(os.getenv)\n"
           "assert(not ok and err:find('bad argument #1', 1, true), err)\n"
           "ok, err = pcall(os.getenv, {})\n"
           "assert(not ok and err:find('string expected', 1, true), err)\n"
           "local f = assert(io.open('.env', 'w'))\n"
           "f:write('PLUA_TEST_KEY=changed\\n')\n"
           "f:close()\n"
           "assert(os.getenv('PLUA_TEST_KEY') == 'from dotenv')\n"
           "assert(select('#', _PY.reloadEnv()) == 0)\n"
           "assert(os.getenv('PLUA_TEST_KEY') == 'changed')\n");
  lua_close (L);

  /* Without a _PY table one is created. */
  L = luaL_newstate ();
  luaL_openlibs (L);
  plua_dotenv_open (L);
  run_lua (L,
           "assert(type(_PY) == 'table')\n"
           "assert(type(_PY.reloadEnv) == 'function')\n"
           "assert(os.getenv('PLUA_TEST_KEY') == 'changed')\n");
  lua_close (L);

  g_unsetenv ("PLUA_TEST_PROC");
}

#define ADD_FIXTURE_TEST(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/dotenv/parse/quotes", test_parse_quotes);
  g_test_add_func ("/dotenv/parse/comments-and-blank", test_parse_comments_and_blank);
  g_test_add_func ("/dotenv/parse/export-prefix", test_parse_export_prefix);
  ADD_FIXTURE_TEST ("/dotenv/order/cwd-first", test_order_cwd_first);
  ADD_FIXTURE_TEST ("/dotenv/order/home", test_order_home);
  ADD_FIXTURE_TEST ("/dotenv/order/config-dir", test_order_config_dir);
  ADD_FIXTURE_TEST ("/dotenv/fallback/process-env", test_fallback_process_env);
  ADD_FIXTURE_TEST ("/dotenv/reload", test_reload);
  ADD_FIXTURE_TEST ("/dotenv/lua/getenv-default", test_lua_getenv_default);

  return g_test_run ();
}
