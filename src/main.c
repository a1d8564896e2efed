/* main.c: plua's entry point. */
#include "config.h"

#include <locale.h>

#include <glib/gi18n.h>

#include "plua-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(PluaApplication) app = NULL;

  setlocale (LC_ALL, "");
  /* Lua formats and parses numbers with the C library: keep "1.5", not "1,5". */
  setlocale (LC_NUMERIC, "C");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  app = plua_application_new ();
  return plua_application_run (app, argc, argv);
}
