/* plua-net-udp.c: placeholder, replaced by the net module work. */
#include "config.h"

#include "plua-net.h"

int
plua_net_udp_open (lua_State *L)
{
  return 0;
}
