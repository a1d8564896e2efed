/* plua-soup-module.c: finding and loading plua-soup.so (see the header). */
#include "config.h"

#include <glib/gi18n.h>
#include <gmodule.h>
#include <lauxlib.h>

#include "plua-net-common.h"
#include "plua-soup-module.h"

#define MODULE_FILE "plua-soup." G_MODULE_SUFFIX

static char *
executable_dir (void)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);

  return exe != NULL ? g_path_get_dirname (exe) : NULL;
}

/* The places to look, best first; NULL entries are skipped. */
static GPtrArray *
candidate_paths (void)
{
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  const char *env = g_getenv ("PLUA_MODULE_DIR");
  g_autofree char *exe_dir = executable_dir ();

  if (env != NULL && env[0] != '\0')
    g_ptr_array_add (paths, g_build_filename (env, MODULE_FILE, NULL));
  if (exe_dir != NULL)
    {
      g_ptr_array_add (paths, g_build_filename (exe_dir, MODULE_FILE, NULL));
      g_ptr_array_add (paths, g_build_filename (exe_dir, PLUA_MODULEDIR_FROM_BINDIR, MODULE_FILE, NULL));
    }
  g_ptr_array_add (paths, g_build_filename (PLUA_MODULEDIR, MODULE_FILE, NULL));
  return paths;
}

static const PluaSoupModule *
load (GError **error)
{
  g_autoptr(GPtrArray) paths = candidate_paths ();
  PluaSoupModuleQuery query;
  const PluaSoupModule *table;
  GModule *module = NULL;
  const char *path = NULL;

  for (guint i = 0; i < paths->len && module == NULL; i++)
    {
      path = paths->pdata[i];
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        module = g_module_open (path, G_MODULE_BIND_LOCAL);
      if (module == NULL && g_file_test (path, G_FILE_TEST_IS_REGULAR))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       _("cannot load %s: %s"), path, g_module_error ());
          return NULL;
        }
    }
  if (module == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("%s not found (looked in %s and %s); is plua installed completely?"),
                   MODULE_FILE, PLUA_MODULEDIR, g_getenv ("PLUA_MODULE_DIR") != NULL
                   ? g_getenv ("PLUA_MODULE_DIR") : _("the executable's directory"));
      return NULL;
    }
  if (!g_module_symbol (module, PLUA_SOUP_MODULE_QUERY, (gpointer *) &query) ||
      (table = query ()) == NULL || table->abi != PLUA_SOUP_MODULE_ABI)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("%s is not the one this plua was built with"), path);
      g_module_close (module);
      return NULL;
    }
  /* GTypes registered by the module must never be unloaded. */
  g_module_make_resident (module);
  return table;
}

const PluaSoupModule *
plua_soup_module_get (GError **error)
{
  static const PluaSoupModule *table;

  if (table == NULL)
    table = load (error);
  return table;
}

/* The module, or a Lua error saying why not. */
static const PluaSoupModule *
check_module (lua_State *L)
{
  GError *error = NULL;
  const PluaSoupModule *table = plua_soup_module_get (&error);

  if (table == NULL)
    {
      /* Freed before lua_error, which does not return. */
      lua_pushstring (L, error->message);
      g_error_free (error);
      lua_error (L);
    }
  return table;
}

static int
open_http_client (lua_State *L)
{
  return check_module (L)->open_http_client (L);
}

static int
open_http_server (lua_State *L)
{
  return check_module (L)->open_http_server (L);
}

static int
open_websocket (lua_State *L)
{
  return check_module (L)->open_websocket (L);
}

static int
http_call_sync (lua_State *L)
{
  return check_module (L)->http_call_sync (L);
}

int
plua_soup_module_open (lua_State *L)
{
  plua_net_preload (L, "plua.http.client", open_http_client);
  plua_net_preload (L, "plua.http.server", open_http_server);
  plua_net_preload (L, "plua.websocket", open_websocket);

  lua_getglobal (L, "_PY");
  lua_pushcfunction (L, http_call_sync);
  lua_setfield (L, -2, "http_call_sync");
  lua_pop (L, 1);
  return 0;
}
