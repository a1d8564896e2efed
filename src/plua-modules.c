/* plua-modules.c: finding and loading plua's modules (see the header). */
#include "config.h"

#include <glib/gi18n.h>
#include <gmodule.h>

#include "plua-modules.h"

static char *
executable_dir (void)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);

  return exe != NULL ? g_path_get_dirname (exe) : NULL;
}

/* The places to look for file, best first. */
static GPtrArray *
candidate_paths (const char *file)
{
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  const char *env = g_getenv ("PLUA_MODULE_DIR");
  g_autofree char *exe_dir = executable_dir ();

  if (env != NULL && env[0] != '\0')
    g_ptr_array_add (paths, g_build_filename (env, file, NULL));
  if (exe_dir != NULL)
    {
      g_ptr_array_add (paths, g_build_filename (exe_dir, file, NULL));
      g_ptr_array_add (paths, g_build_filename (exe_dir, PLUA_MODULEDIR_FROM_BINDIR, file, NULL));
    }
  g_ptr_array_add (paths, g_build_filename (PLUA_MODULEDIR, file, NULL));
  return paths;
}

static GModule *
open_first (const char  *file,
            char       **path_out,
            GError     **error)
{
  g_autoptr(GPtrArray) paths = candidate_paths (file);
  const char *env = g_getenv ("PLUA_MODULE_DIR");

  for (guint i = 0; i < paths->len; i++)
    {
      const char *path = paths->pdata[i];
      GModule *module;

      if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
        continue;
      module = g_module_open (path, G_MODULE_BIND_LOCAL);
      if (module == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       _("cannot load %s: %s"), path, g_module_error ());
          return NULL;
        }
      *path_out = g_strdup (path);
      return module;
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
               _("%s not found (looked in %s and %s); is plua installed completely?"),
               file, PLUA_MODULEDIR, env != NULL && env[0] != '\0' ? env : _("the executable's directory"));
  return NULL;
}

static gconstpointer
load (const char  *name,
      guint        abi,
      GError     **error)
{
  g_autofree char *file = g_strdup_printf ("plua-%s.%s", name, G_MODULE_SUFFIX);
  g_autofree char *symbol = g_strdup_printf ("plua_%s_module_query", name);
  g_autofree char *path = NULL;
  gconstpointer (*query) (void) = NULL;
  gconstpointer table = NULL;
  GModule *module;

  module = open_first (file, &path, error);
  if (module == NULL)
    return NULL;
  if (g_module_symbol (module, symbol, (gpointer *) &query))
    table = query ();
  /* Every table begins with the ABI number it was built for. */
  if (table == NULL || *(const guint *) table != abi)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("%s is not the one this plua was built with"), path);
      g_module_close (module);
      return NULL;
    }
  /* The GTypes a module registers must never be unloaded. */
  g_module_make_resident (module);
  return table;
}

gconstpointer
plua_modules_load (const char  *name,
                   guint        abi,
                   GError     **error)
{
  static GHashTable *loaded;   /* name → table */
  gconstpointer table;

  if (loaded == NULL)
    loaded = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  table = g_hash_table_lookup (loaded, name);
  if (table == NULL && (table = load (name, abi, error)) != NULL)
    g_hash_table_insert (loaded, g_strdup (name), (gpointer) table);
  return table;
}
