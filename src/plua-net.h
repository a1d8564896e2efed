/* plua-net.h: the C halves of the `net` module, one per area. Each registers
 * its small asynchronous primitives for the Lua half under lua/net/. */
#pragma once

#include <lua.h>

int plua_net_tcp_open     (lua_State *L);
int plua_net_udp_open     (lua_State *L);
int plua_net_sync_open    (lua_State *L);

/* In the libsoup module (plua-soup-module.h): the opener of each `require`
 * and _PY.http_call_sync. */
int plua_http_client_luaopen (lua_State *L);
int plua_http_server_luaopen (lua_State *L);
int plua_websocket_luaopen   (lua_State *L);
int plua_http_call_sync      (lua_State *L);
