/* plua-net-tcp.c: placeholder, replaced by the net module work. */
#include "config.h"

#include "plua-net.h"

int
plua_net_tcp_open (lua_State *L)
{
  return 0;
}
