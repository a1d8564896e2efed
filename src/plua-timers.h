/* plua-timers.h: setTimeout / setInterval / clearTimeout / sleep on one GSource. */
#pragma once

#include <lua.h>

int plua_timers_open (lua_State *L);
