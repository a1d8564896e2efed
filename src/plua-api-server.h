/* plua-api-server.h: the REST API server (plua, api, ws routes and the web REPL). */
#pragma once

#include <glib-object.h>

#include "plua-runtime.h"

G_BEGIN_DECLS

#define PLUA_TYPE_API_SERVER (plua_api_server_get_type ())
G_DECLARE_FINAL_TYPE (PluaApiServer, plua_api_server, PLUA, API_SERVER, GObject)

/* Reads the api_* settings of the runtime's config. */
PluaApiServer *plua_api_server_new        (PluaRuntime    *runtime);
/* Listens and prints on stderr where (and the access token when one was
 * generated). On failure the error message names the address and, for a port
 * in use, the process holding it when that can be found out. */
gboolean       plua_api_server_start      (PluaApiServer  *self,
                                           GError        **error);
/* Closes the listening socket, the WebSocket connections and the calls in
 * progress. */
void           plua_api_server_stop       (PluaApiServer  *self);
/* The port listened on (the one picked when 0 was asked), 0 before start. */
guint          plua_api_server_get_port   (PluaApiServer  *self);

/* "pid 1234 (python3)" for the process listening on TCP port, or NULL. */
char          *plua_api_find_port_holder  (guint           port);

G_END_DECLS
