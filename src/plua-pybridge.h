/* plua-pybridge.h: the _PY table's C functions and _PY.config.
 *
 * The name comes from the original plua (a Python host); Lua code written for
 * it uses _PY.* hooks and helpers, so the bridge table keeps its name.
 */
#pragma once

#include <lua.h>

int plua_pybridge_open (lua_State *L);
