/* plua-soup-module.h: the half of plua that needs libsoup, loaded on first use.
 *
 * libsoup and the fifteen libraries it brings cost a millisecond and more of
 * dynamic loading at every start, and most runs (`plua -e ...`, a script that
 * computes and exits) never touch HTTP. So the HTTP client and server, the
 * WebSocket client and server and the REST API live in plua-soup.so
 * (plua-modules.h), loaded the first time a script requires one of them or the
 * REST server starts.
 */
#pragma once

#include <gio/gio.h>
#include <lua.h>

#include "plua-runtime.h"

G_BEGIN_DECLS

typedef struct _PluaApiServer PluaApiServer;
typedef struct _PluaApiCalls  PluaApiCalls;

/* How an execute call ended (see plua-api-calls.h). */
typedef void (*PluaApiExecuteFunc) (gboolean    success,
                                    const char *result_json,
                                    const char *output,
                                    const char *error,
                                    gboolean    timed_out,
                                    gpointer    user_data);

/* The execute engine's time limit, in seconds: the default and the most a
 * caller may ask for. */
#define PLUA_API_DEFAULT_TIMEOUT 30.0
#define PLUA_API_MAX_TIMEOUT     86400.0

/* Bumped whenever the table changes: a stale module is refused. */
#define PLUA_SOUP_MODULE_ABI 1

typedef struct
{
  guint abi;

  /* The C halves of net: `require "plua.http.client"`, "plua.http.server",
   * "plua.websocket", and _PY.http_call_sync. */
  lua_CFunction open_http_client;
  lua_CFunction open_http_server;
  lua_CFunction open_websocket;
  lua_CFunction http_call_sync;

  /* The REST API server (plua-api-server.h). */
  PluaApiServer *(*api_server_new)      (PluaRuntime    *runtime);
  gboolean       (*api_server_start)    (PluaApiServer  *server,
                                         GError        **error);
  void           (*api_server_stop)     (PluaApiServer  *server);
  guint          (*api_server_get_port) (PluaApiServer  *server);

  /* The execute engine, for the D-Bus service (plua-api-calls.h). */
  PluaApiCalls  *(*api_calls_new)          (PluaRuntime        *runtime);
  void           (*api_calls_free)         (PluaApiCalls       *calls);
  void           (*api_calls_capture)      (PluaApiCalls       *calls,
                                            const char         *text,
                                            gsize               len);
  void           (*api_calls_execute_func) (PluaApiCalls       *calls,
                                            const char         *code,
                                            gsize               code_len,
                                            const char         *chunk_name,
                                            double              timeout,
                                            PluaApiExecuteFunc  func,
                                            gpointer            user_data);
} PluaSoupModule;

/* Loads the module once; NULL with error set when it cannot be found or is
 * not this build's. */
const PluaSoupModule *plua_soup_module_get  (GError   **error);

/* Registers the net preloads and _PY.http_call_sync, which load the module
 * when first used. One of the runtime's module openers. */
int                   plua_soup_module_open (lua_State *L);

G_END_DECLS
