/* plua-application.h: the plua program: options, modes, lifetime, exit status. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PLUA_TYPE_APPLICATION (plua_application_get_type ())
G_DECLARE_FINAL_TYPE (PluaApplication, plua_application, PLUA, APPLICATION, GApplication)

PluaApplication *plua_application_new (void);
/* Runs the application; returns the process exit status (see README). */
int              plua_application_run (PluaApplication *self,
                                       int              argc,
                                       char           **argv);

G_END_DECLS
