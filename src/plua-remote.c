/* plua-remote.c: `plua --remote -e CODE` and `plua --remote script.lua`.
 *
 * A plain session-bus call to io.github.plua.Plua.Runtime1.Execute: the bus
 * starts the service through its activation file when it is not running.
 * The script is read here and sent as code, so it need not be readable by
 * the service. Output first, then the result unless it is null; errors on
 * standard error.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gi18n.h>

#include "plua-dbus.h"
#include "plua-remote.h"

#define RUNTIME_INTERFACE PLUA_APP_ID ".Runtime1"

/* FALSE when the code failed or the service could not be reached. */
static gboolean
remote_execute (GDBusConnection *connection,
                const char      *code)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  gboolean success;
  const char *result, *output, *message;

  if (!g_utf8_validate (code, -1, NULL))
    {
      g_printerr (_("plua: the code is not valid UTF-8; D-Bus cannot carry it\n"));
      return FALSE;
    }
  /* No client-side limit: the service's time limit ends runaway code. */
  reply = g_dbus_connection_call_sync (connection, PLUA_APP_ID, PLUA_DBUS_OBJECT_PATH,
                                       RUNTIME_INTERFACE, "Execute", g_variant_new ("(s)", code),
                                       G_VARIANT_TYPE ("(bsss)"), G_DBUS_CALL_FLAGS_NONE,
                                       G_MAXINT, NULL, &error);
  if (reply == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      g_printerr (_("plua: cannot reach the plua service: %s\n"), error->message);
      return FALSE;
    }
  g_variant_get (reply, "(b&s&s&s)", &success, &result, &output, &message);
  if (output[0] != '\0')
    g_print ("%s\n", output);
  if (success && strcmp (result, "null") != 0)
    g_print ("%s\n", result);
  fflush (stdout);
  if (!success)
    g_printerr ("plua: %s\n", message);
  return success;
}

int
plua_remote_run (char       **fragments,
                 const char  *script)
{
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  connection = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (connection == NULL)
    {
      g_printerr (_("plua: cannot connect to the session bus: %s\n"), error->message);
      return 1;
    }
  for (guint i = 0; fragments != NULL && fragments[i] != NULL; i++)
    if (!remote_execute (connection, fragments[i]))
      return 1;
  if (script != NULL)
    {
      g_autofree char *code = NULL;

      if (!g_file_get_contents (script, &code, NULL, &error))
        {
          g_printerr ("plua: %s\n", error->message);
          return 1;
        }
      /* "#!/usr/bin/env plua": commented out, line numbers kept. */
      if (code[0] == '#')
        {
          char *commented = g_strconcat ("--", code, NULL);

          g_free (code);
          code = commented;
        }
      if (!remote_execute (connection, code))
        return 1;
    }
  return 0;
}
