/* plua-soup-entry.c: the libsoup module's table (see plua-soup-module.h). */
#include "config.h"

#include <gmodule.h>

#include "plua-api-calls.h"
#include "plua-api-private.h"
#include "plua-api-server.h"
#include "plua-net.h"
#include "plua-soup-module.h"

static const PluaSoupModule table = {
  .abi = PLUA_SOUP_MODULE_ABI,
  .open_http_client = plua_http_client_luaopen,
  .open_http_server = plua_http_server_luaopen,
  .open_websocket = plua_websocket_luaopen,
  .http_call_sync = plua_http_call_sync,
  .api_server_new = plua_api_server_new,
  .api_server_start = plua_api_server_start,
  .api_server_stop = plua_api_server_stop,
  .api_server_get_port = plua_api_server_get_port,
  .api_calls_new = plua_api_calls_new,
  .api_calls_free = plua_api_calls_free,
  .api_calls_capture = plua_api_calls_capture,
  .api_calls_execute_func = plua_api_calls_execute_func,
};

G_MODULE_EXPORT const PluaSoupModule *plua_soup_module_query (void);

G_MODULE_EXPORT const PluaSoupModule *
plua_soup_module_query (void)
{
  return &table;
}
