/* plua-dotenv.c: environment lookups that also read .env files.
 *
 * The files are read when the PluaDotenv is made and again on
 * plua_dotenv_reload() (_PY.reloadEnv() in Lua), not on every lookup as the
 * original did: os.getenv is called in loops, and re-reading three files each
 * time is wasteful.
 *
 * The process environment wins over every file, as in every other dotenv
 * tool: `HC3_URL=... plua qa.lua` must not be overridden by a forgotten
 * .env. Files come next, the first one with the key wins: the QuickApp's
 * directory (plua_dotenv_set_directory, _PY.reloadEnv(dir)), ./.env,
 * ~/.env, then ~/.config/plua/.env.
 *
 * The format is deliberately small: `KEY=value` per line, optional `export `
 * prefix, `#` comment lines, one pair of matching quotes stripped. There are no
 * escapes, no inline comments and no ${VAR} expansion: `A="x" # c` has the
 * value `"x" # c`, and `B=$HOME` is the literal `$HOME`.
 */
#include "config.h"

#include <lauxlib.h>
#include <string.h>

#include "plua-dotenv.h"

/* Lookup order after the environment: <dir>/.env, ./.env, ~/.env,
 * <config dir>/plua/.env. */
enum { DOTENV_DIR, DOTENV_CWD, DOTENV_HOME, DOTENV_CONFIG, N_DOTENV_FILES };

struct _PluaDotenv
{
  GHashTable *files[N_DOTENV_FILES];   /* key → value, NULL if unreadable */
  char       *directory;               /* the QuickApp's directory, or NULL */
};

#define PLUA_DOTENV_METATABLE "plua.Dotenv"

static gboolean
has_export_prefix (const char *line)
{
  return g_str_has_prefix (line, "export") && g_ascii_isspace (line[6]);
}

GHashTable *
plua_dotenv_parse (const char *text)
{
  GHashTable *table;
  g_auto (GStrv) lines = NULL;

  g_return_val_if_fail (text != NULL, NULL);

  table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);
      char *eq;
      char *key;
      char *value;
      gsize value_len;

      if (*line == '\0' || *line == '#')
        continue;
      if (has_export_prefix (line))
        line = g_strstrip (line + 6);

      eq = strchr (line, '=');
      if (eq == NULL)
        continue;
      *eq = '\0';
      key = g_strstrip (line);
      value = g_strstrip (eq + 1);
      if (*key == '\0')
        continue;

      value_len = strlen (value);
      if (value_len >= 2 &&
          (value[0] == '"' || value[0] == '\'') &&
          value[value_len - 1] == value[0])
        {
          value[value_len - 1] = '\0';
          value++;
        }

      /* A later line overrides an earlier one for the same key, as in shells. */
      g_hash_table_replace (table, g_strdup (key), g_strdup (value));
    }

  return table;
}

static GHashTable *
read_file (const char *path)
{
  g_autofree char *contents = NULL;
  g_autofree char *valid = NULL;
  gsize len;

  if (!g_file_get_contents (path, &contents, &len, NULL))
    return NULL;
  /* Stray non-UTF-8 bytes should not make the whole file disappear. */
  valid = g_utf8_make_valid (contents, len);
  return plua_dotenv_parse (valid);
}

/* GLib caches g_get_home_dir() and g_get_user_config_dir() on first use; the
 * environment is read here so a reload (and a test) sees HOME and
 * XDG_CONFIG_HOME as they are now. */
static const char *
home_dir (void)
{
  const char *home = g_getenv ("HOME");

  return home != NULL && *home != '\0' ? home : g_get_home_dir ();
}

static char *
config_env_path (void)
{
  const char *config = g_getenv ("XDG_CONFIG_HOME");

  if (config != NULL && g_path_is_absolute (config))
    return g_build_filename (config, "plua", ".env", NULL);
  if (g_getenv ("HOME") != NULL)
    return g_build_filename (home_dir (), ".config", "plua", ".env", NULL);
  return g_build_filename (g_get_user_config_dir (), "plua", ".env", NULL);
}

void
plua_dotenv_reload (PluaDotenv *self)
{
  g_autofree char *home_path = NULL;
  g_autofree char *config_path = NULL;

  g_return_if_fail (self != NULL);

  home_path = g_build_filename (home_dir (), ".env", NULL);
  config_path = config_env_path ();

  for (guint i = 0; i < N_DOTENV_FILES; i++)
    g_clear_pointer (&self->files[i], g_hash_table_unref);

  if (self->directory != NULL)
    {
      g_autofree char *dir_path = g_build_filename (self->directory, ".env", NULL);
      g_autofree char *here = g_get_current_dir ();
      g_autofree char *there = g_canonicalize_filename (self->directory, here);

      /* The current directory's file comes once, in its own place. */
      if (g_strcmp0 (here, there) != 0)
        self->files[DOTENV_DIR] = read_file (dir_path);
    }
  self->files[DOTENV_CWD] = read_file (".env");
  self->files[DOTENV_HOME] = read_file (home_path);
  self->files[DOTENV_CONFIG] = read_file (config_path);
}

PluaDotenv *
plua_dotenv_new (void)
{
  PluaDotenv *self = g_new0 (PluaDotenv, 1);

  plua_dotenv_reload (self);
  return self;
}

void
plua_dotenv_set_directory (PluaDotenv *self,
                           const char *directory)
{
  g_return_if_fail (self != NULL);

  g_free (self->directory);
  self->directory = directory != NULL && directory[0] != '\0' ? g_strdup (directory) : NULL;
  plua_dotenv_reload (self);
}

const char *
plua_dotenv_get (PluaDotenv *self,
                 const char *name)
{
  const char *env;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if ((env = g_getenv (name)) != NULL)
    return env;
  for (guint i = 0; i < N_DOTENV_FILES; i++)
    {
      const char *value;

      if (self->files[i] != NULL &&
          (value = g_hash_table_lookup (self->files[i], name)) != NULL)
        return value;
    }
  return NULL;
}

void
plua_dotenv_free (PluaDotenv *self)
{
  if (self == NULL)
    return;
  for (guint i = 0; i < N_DOTENV_FILES; i++)
    g_clear_pointer (&self->files[i], g_hash_table_unref);
  g_free (self->directory);
  g_free (self);
}

/* NULL once the state is closing and the userdata has been finalised; a
 * finaliser that still calls os.getenv then gets the process environment. */
static PluaDotenv *
upvalue_dotenv (lua_State *L)
{
  PluaDotenv **box = luaL_checkudata (L, lua_upvalueindex (1), PLUA_DOTENV_METATABLE);

  return *box;
}

static int
dotenv_gc (lua_State *L)
{
  PluaDotenv **box = luaL_checkudata (L, 1, PLUA_DOTENV_METATABLE);

  g_clear_pointer (box, plua_dotenv_free);
  return 0;
}

/* Returns value, or the default argument as given (any type, nil when absent). */
static int
push_result (lua_State  *L,
             const char *value)
{
  if (value != NULL)
    lua_pushstring (L, value);
  else
    lua_settop (L, 2);
  return 1;
}

/* os.getenv (name [, default]) */
static int
l_getenv_with_dotenv (lua_State *L)
{
  PluaDotenv *self = upvalue_dotenv (L);
  const char *name = luaL_checkstring (L, 1);

  return push_result (L, self != NULL ? plua_dotenv_get (self, name) : g_getenv (name));
}

/* _PY.getenv (name [, default]): the process environment only. */
static int
l_getenv (lua_State *L)
{
  const char *name = luaL_checkstring (L, 1);

  return push_result (L, g_getenv (name));
}

/* _PY.reloadEnv ([dir]): re-reads the files; with dir, <dir>/.env comes
 * first from now on (the QuickApp's directory). */
static int
l_reload_env (lua_State *L)
{
  PluaDotenv *self = upvalue_dotenv (L);
  const char *dir = luaL_optstring (L, 1, NULL);

  if (self == NULL)
    return 0;
  if (lua_gettop (L) >= 1)
    plua_dotenv_set_directory (self, dir);
  else
    plua_dotenv_reload (self);
  return 0;
}

/* Leaves the global table `name` on the stack, creating it if missing. */
static void
push_global_table (lua_State  *L,
                   const char *name)
{
  if (lua_getglobal (L, name) != LUA_TTABLE)
    {
      lua_pop (L, 1);
      lua_newtable (L);
      lua_pushvalue (L, -1);
      lua_setglobal (L, name);
    }
}

int
plua_dotenv_open (lua_State *L)
{
  PluaDotenv **box;
  int getenv_index;

  g_return_val_if_fail (L != NULL, 0);

  /* Box first and fill it afterwards: if Lua runs out of memory in between,
   * nothing is left without an owner. */
  box = lua_newuserdatauv (L, sizeof *box, 0);
  *box = NULL;
  if (luaL_newmetatable (L, PLUA_DOTENV_METATABLE))
    {
      lua_pushcfunction (L, dotenv_gc);
      lua_setfield (L, -2, "__gc");
    }
  lua_setmetatable (L, -2);
  *box = plua_dotenv_new ();

  /* Stack: box. The closures keep the box alive as their upvalue. */
  lua_pushvalue (L, -1);
  lua_pushcclosure (L, l_getenv_with_dotenv, 1);
  getenv_index = lua_gettop (L);

  push_global_table (L, "os");
  lua_pushvalue (L, getenv_index);
  lua_setfield (L, -2, "getenv");
  lua_pop (L, 1);

  push_global_table (L, "_PY");
  lua_pushvalue (L, getenv_index - 1);
  lua_pushcclosure (L, l_reload_env, 1);
  lua_setfield (L, -2, "reloadEnv");
  lua_pushcfunction (L, l_getenv);
  lua_setfield (L, -2, "getenv");
  /* The original's names for os.getenv, kept for scripts that use them. */
  lua_pushvalue (L, getenv_index);
  lua_setfield (L, -2, "getenv_with_dotenv");
  lua_pushvalue (L, getenv_index);
  lua_setfield (L, -2, "getenv_dotenv");

  lua_pop (L, 3);
  return 0;
}
