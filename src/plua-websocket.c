/* plua-websocket.c: placeholder, replaced by the net module work. */
#include "config.h"

#include "plua-net.h"

int
plua_websocket_open (lua_State *L)
{
  return 0;
}
