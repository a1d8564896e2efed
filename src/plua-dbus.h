/* plua-dbus.h: the io.github.plua.Plua.Runtime1 interface of the service.
 *
 * PluaDbusService exports the generated skeleton on a connection and
 * answers Execute (through the REST API's execute engine), RunFile and
 * GetStatus on the main loop; every line the runtime prints becomes an
 * Output signal.
 */
#pragma once

#include <gio/gio.h>

#include "plua-runtime.h"

G_BEGIN_DECLS

#define PLUA_DBUS_OBJECT_PATH "/io/github/plua/Plua"

typedef struct _PluaDbusService PluaDbusService;

/* timeout: the time limit of Execute, in seconds. */
/* NULL with error set when the execute engine (the libsoup module) cannot
 * be loaded. */
PluaDbusService *plua_dbus_service_new          (PluaRuntime      *runtime,
                                                 double            timeout,
                                                 GError          **error);
/* Answers the calls still in progress with an error, unexports, frees. */
void             plua_dbus_service_free         (PluaDbusService  *self);
gboolean         plua_dbus_service_export       (PluaDbusService  *self,
                                                 GDBusConnection  *connection,
                                                 const char       *object_path,
                                                 GError          **error);
void             plua_dbus_service_unexport     (PluaDbusService  *self);
/* Execute and RunFile calls not answered yet. */
guint            plua_dbus_service_get_n_pending (PluaDbusService *self);
/* Monotonic time (µs) of the last call started or answered. */
gint64           plua_dbus_service_get_last_activity (PluaDbusService *self);
/* The REST API's port for GetStatus (0: none). */
void             plua_dbus_service_set_api_port (PluaDbusService  *self,
                                                 guint             port);

G_END_DECLS
