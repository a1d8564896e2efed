/* plua-pybridge.c: _PY helpers written in C (files, time, base64, runtime
 * state) and _PY.config. The Lua half (hooks and defaults) is lua/init.lua. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/utsname.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <lauxlib.h>
#include <lualib.h>

#include "plua-pybridge.h"
#include "plua-runtime.h"

/* Raises "what: message" and frees error first: lua_error never returns,
 * so nothing C-allocated may be alive when it is called. */
static int
raise_gerror (lua_State  *L,
              const char *what,
              GError     *error)
{
  lua_pushfstring (L, "%s: %s", what, error->message);
  g_error_free (error);
  return lua_error (L);
}

/* _PY.readFile(path) → contents (bytes, binary-safe) */
static int
l_read_file (lua_State *L)
{
  const char *path = luaL_checkstring (L, 1);
  GError *error = NULL;
  char *contents = NULL;
  gsize len;

  if (!g_file_get_contents (path, &contents, &len, &error))
    return raise_gerror (L, "readFile", error);
  lua_pushlstring (L, contents, len);
  g_free (contents);
  return 1;
}

/* The file a chain of symbolic links ends at (path itself when it is not a
 * link). Relative link targets are relative to the link's directory. */
static char *
follow_links (const char *path)
{
  g_autofree char *current = g_strdup (path);

  /* 40 as the kernel's own limit on links followed in one lookup */
  for (int i = 0; i < 40 && g_file_test (current, G_FILE_TEST_IS_SYMLINK); i++)
    {
      g_autofree char *target = g_file_read_link (current, NULL);
      g_autofree char *dir = NULL;

      if (target == NULL)
        break;
      if (g_path_is_absolute (target))
        {
          g_free (current);
          current = g_steal_pointer (&target);
          continue;
        }
      dir = g_path_get_dirname (current);
      g_free (current);
      current = g_build_filename (dir, target, NULL);
    }
  return g_steal_pointer (&current);
}

/* _PY.writeFile(path, contents): creates or replaces the file atomically (a
 * temporary file renamed over it, so a failed write leaves the old contents).
 * A symbolic link is written through: its target is replaced and the link
 * stays a link, as an editor would do. */
static int
l_write_file (lua_State *L)
{
  const char *path = luaL_checkstring (L, 1);
  size_t len;
  const char *contents = luaL_checklstring (L, 2, &len);
  char *target = follow_links (path);
  GError *error = NULL;
  gboolean ok = g_file_set_contents (target, contents, len, &error);

  g_free (target);
  if (!ok)
    return raise_gerror (L, "writeFile", error);
  return 0;
}

/* _PY.abspath(path) → the absolute path (relative ones against the working
 * directory; "." and ".." removed, symbolic links kept): the chunk names
 * plua gives files, so a debugger's breakpoints map to files. */
static int
l_abspath (lua_State *L)
{
  g_autofree char *path = g_canonicalize_filename (luaL_checkstring (L, 1), NULL);

  lua_pushstring (L, path);
  return 1;
}

/* _PY.fileExist(path) → true for files and directories */
static int
l_file_exist (lua_State *L)
{
  const char *path = lua_tostring (L, 1);

  lua_pushboolean (L, path != NULL && g_file_test (path, G_FILE_TEST_EXISTS));
  return 1;
}

/* _PY.isDir(path) → true for a directory */
static int
l_is_dir (lua_State *L)
{
  const char *path = lua_tostring (L, 1);

  lua_pushboolean (L, path != NULL && g_file_test (path, G_FILE_TEST_IS_DIR));
  return 1;
}

/* _PY.makeDirs(path): creates the directory and its missing parents
 * (mode 0700: state files may hold credentials); nil, message on error */
static int
l_make_dirs (lua_State *L)
{
  const char *path = luaL_checkstring (L, 1);

  if (g_mkdir_with_parents (path, 0700) != 0)
    {
      int saved = errno;

      luaL_pushfail (L);
      lua_pushfstring (L, "%s: %s", path, g_strerror (saved));
      return 2;
    }
  lua_pushboolean (L, 1);
  return 1;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* _PY.listdir([path]) → sorted array of names; nil, message on error */
static int
l_listdir (lua_State *L)
{
  const char *path = luaL_optstring (L, 1, ".");
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = g_dir_open (path, 0, &error);
  g_autoptr(GPtrArray) names = NULL;
  const char *name;

  if (dir == NULL)
    {
      luaL_pushfail (L);
      lua_pushstring (L, error->message);
      return 2;
    }

  names = g_ptr_array_new ();
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, (gpointer) name);
  g_ptr_array_sort (names, compare_names);

  lua_createtable (L, names->len, 0);
  for (guint i = 0; i < names->len; i++)
    {
      lua_pushstring (L, g_ptr_array_index (names, i));
      lua_rawseti (L, -2, i + 1);
    }
  return 1;
}

static int
l_getcwd (lua_State *L)
{
  g_autofree char *cwd = g_get_current_dir ();

  lua_pushstring (L, cwd);
  return 1;
}

static int
l_base64_encode (lua_State *L)
{
  size_t len;
  const char *data = luaL_checklstring (L, 1, &len);
  g_autofree char *encoded = g_base64_encode ((const guchar *) data, len);

  lua_pushstring (L, encoded);
  return 1;
}

/* _PY.base64_decode(text) → bytes; invalid characters are skipped, as GLib does */
static int
l_base64_decode (lua_State *L)
{
  const char *text = luaL_checkstring (L, 1);
  g_autofree char *copy = g_strdup (text);
  gsize len = 0;
  guchar *decoded = g_base64_decode_inplace (copy, &len);

  lua_pushlstring (L, (const char *) decoded, len);
  return 1;
}

/* _PY.getRuntimeState() → what keeps the run alive */
static int
l_get_runtime_state (lua_State *L)
{
  PluaRuntime *runtime = plua_runtime_from_lua (L);
  static const struct { const char *name; PluaPendingKind kind; } kinds[] = {
    { "active_timers", PLUA_PENDING_TIMER },
    { "sockets", PLUA_PENDING_SOCKET },
    { "servers", PLUA_PENDING_SERVER },
    { "requests", PLUA_PENDING_REQUEST },
  };
  guint total = plua_runtime_get_total_pending (runtime);

  lua_createtable (L, 0, 6);
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      lua_pushinteger (L, plua_runtime_get_pending (runtime, kinds[i].kind));
      lua_setfield (L, -2, kinds[i].name);
    }
  lua_pushinteger (L, total);
  lua_setfield (L, -2, "pending");
  lua_pushinteger (L, total);
  lua_setfield (L, -2, "total_tasks");
  return 1;
}

/* _PY.app_error(): the emulator logged an error of a QuickApp (exit status). */
static int
l_app_error (lua_State *L)
{
  plua_runtime_count_app_error (plua_runtime_from_lua (L));
  return 0;
}

static void
set_string (lua_State  *L,
            const char *key,
            const char *value)
{
  lua_pushstring (L, value);
  lua_setfield (L, -2, key);
}

static void
set_boolean (lua_State  *L,
             const char *key,
             gboolean    value)
{
  lua_pushboolean (L, value);
  lua_setfield (L, -2, key);
}

static gboolean
env_flag (const char *name)
{
  const char *value = g_getenv (name);

  return value != NULL &&
         (g_ascii_strcasecmp (value, "true") == 0 || strcmp (value, "1") == 0 ||
          g_ascii_strcasecmp (value, "yes") == 0 || g_ascii_strcasecmp (value, "on") == 0);
}

/* _PY.config.runtime_config: the command-line settings. */
static void
push_runtime_config (lua_State        *L,
                     const PluaConfig *config)
{
  lua_createtable (L, 0, 10);
  set_boolean (L, "debug", config->debug);
  set_boolean (L, "interactive", config->interactive);
  set_boolean (L, "fibaro", config->fibaro);
  if (config->fibaro_state != NULL)
    set_string (L, "state", config->fibaro_state);
  set_boolean (L, "noapi", config->noapi);
  if (config->hc3_mode != NULL)
    set_string (L, "hc3_mode", config->hc3_mode);
  if (config->tool != NULL)
    {
      set_string (L, "tool", config->tool);
      lua_newtable (L);
      for (guint i = 0; config->tool_args != NULL && config->tool_args[i] != NULL; i++)
        {
          lua_pushstring (L, config->tool_args[i]);
          lua_rawseti (L, -2, i + 1);
        }
      lua_setfield (L, -2, "tool_args");
    }
  set_boolean (L, "fail_fast", config->fail_fast);
  set_boolean (L, "instant", config->instant);
  lua_pushnumber (L, config->speed);
  lua_setfield (L, -2, "speed");
  if (config->has_max_time)
    {
      lua_pushnumber (L, config->max_time);
      lua_setfield (L, -2, "max_time");
    }
  if (config->script != NULL)
    set_string (L, "source_name", config->script);
  if (config->has_duration)
    {
      lua_pushnumber (L, config->duration);
      lua_setfield (L, -2, "duration");
    }
  if (config->has_run_for)
    {
      lua_pushnumber (L, config->run_for);
      lua_setfield (L, -2, "run_for");
    }
  if (!config->noapi)
    {
      lua_createtable (L, 0, 2);
      set_string (L, "host", config->api_host);
      lua_pushinteger (L, config->api_port);
      lua_setfield (L, -2, "port");
      lua_setfield (L, -2, "api_config");
    }
  lua_setfield (L, -2, "runtime_config");
}

static void
push_config (lua_State        *L,
             const PluaConfig *config)
{
  g_autofree char *cwd = g_get_current_dir ();
  struct utsname un;
  /* The login variables first, as Python's getpass.getuser() reads them: the
   * password database lookup behind g_get_user_name() costs every start. */
  const char *user = g_getenv ("LOGNAME");

  if (user == NULL || user[0] == '\0')
    user = g_getenv ("USER");
  if (user == NULL || user[0] == '\0')
    user = g_get_user_name ();

  lua_createtable (L, 0, 20);
  set_string (L, "homedir", g_get_home_dir ());
  set_string (L, "cwd", cwd);
  set_string (L, "tempdir", g_get_tmp_dir ());
  set_string (L, "platform", "linux");
  set_string (L, "architecture", uname (&un) == 0 ? un.machine : "unknown");
  set_string (L, "fileseparator", G_DIR_SEPARATOR_S);
  set_string (L, "pathseparator", G_SEARCHPATH_SEPARATOR_S);
  /* the same facts under the original's later names */
  set_string (L, "fileSeparator", G_DIR_SEPARATOR_S);
  set_string (L, "pathSeparator", G_SEARCHPATH_SEPARATOR_S);
  set_boolean (L, "isWindows", FALSE);
  set_boolean (L, "isLinux", TRUE);
  set_boolean (L, "isMacOS", FALSE);
  /* TRUE until the emulator goes online to a real HC3 (lua/fibaro/init.lua) */
  set_boolean (L, "offline", TRUE);
  set_string (L, "plua_version", PACKAGE_VERSION);
  set_string (L, "lua_version", LUA_VERSION_MAJOR "." LUA_VERSION_MINOR);
  set_string (L, "lua_release", LUA_RELEASE);
  {
    g_autofree char *glib_version = g_strdup_printf ("%u.%u.%u", glib_major_version,
                                                     glib_minor_version, glib_micro_version);
    set_string (L, "glib_version", glib_version);
  }
  set_boolean (L, "debug", config->debug || env_flag ("DEBUG"));
  set_boolean (L, "production", env_flag ("PRODUCTION"));
  set_string (L, "username", user != NULL ? user : "unknown");
  set_string (L, "path", g_getenv ("PATH") ? g_getenv ("PATH") : "");
  set_string (L, "lang", g_getenv ("LANG") ? g_getenv ("LANG") : "C");
  push_runtime_config (L, config);
}

static const luaL_Reg py_functions[] = {
  { "readFile", l_read_file },
  { "writeFile", l_write_file },
  { "fileExist", l_file_exist },
  { "abspath", l_abspath },
  { "isDir", l_is_dir },
  { "makeDirs", l_make_dirs },
  { "listdir", l_listdir },
  { "getcwd", l_getcwd },
  { "base64_encode", l_base64_encode },
  { "base64_decode", l_base64_decode },
  { "getRuntimeState", l_get_runtime_state },
  { "app_error", l_app_error },
  { NULL, NULL }
};

int
plua_pybridge_open (lua_State *L)
{
  PluaRuntime *runtime = plua_runtime_from_lua (L);

  lua_getglobal (L, "_PY");
  luaL_setfuncs (L, py_functions, 0);
  push_config (L, plua_runtime_get_config (runtime));
  lua_setfield (L, -2, "config");
  lua_pop (L, 1);
  return 0;
}
