/* plua-soup-module.c: the core's side of plua-soup.so: loading it, and the
 * Lua entries that load it when first used (see the header). */
#include "config.h"

#include <lauxlib.h>

#include "plua-modules.h"
#include "plua-net-common.h"
#include "plua-soup-module.h"

const PluaSoupModule *
plua_soup_module_get (GError **error)
{
  return plua_modules_load ("soup", PLUA_SOUP_MODULE_ABI, error);
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
