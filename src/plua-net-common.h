/* plua-net-common.h: what the C halves of the `net` module share: module
 * registration, socket addresses and errors, holding the run while an
 * object has work, and HTTP header helpers. */
#pragma once

#include <gio/gio.h>
#include <lauxlib.h>
#include <lua.h>

#include "plua-runtime.h"

G_BEGIN_DECLS

/* Sets package.preload[name] = open, so nothing is built unless required. */
void        plua_net_preload            (lua_State      *L,
                                         const char     *name,
                                         lua_CFunction   open);

/* A userdata metatable: methods as __index; tostring may be NULL. */
void        plua_net_new_class          (lua_State      *L,
                                         const char     *name,
                                         const luaL_Reg  methods[],
                                         lua_CFunction   tostring,
                                         lua_CFunction   gc,
                                         lua_CFunction   close);

/* obj:set_owner(t): the wrapping Lua object lives as long as this one
 * (user value 1), so the anchor of a busy object keeps the wrapper too. */
int         plua_net_set_owner          (lua_State      *L);

/* "ip:port" ("[ip]:port" for IPv6, "?" for no inet address); the IP and
 * the port also go to ip_out (to free) and port_out when not NULL. */
char       *plua_net_address_to_string  (GSocketAddress *address,
                                         char          **ip_out,
                                         guint16        *port_out);

/* Why a bind failed, without the address GLib's messages repeat. */
const char *plua_net_bind_reason        (const GError   *error);

/* Holding the run while an object has work: plua_net_hold takes a pending
 * count of kind and anchors the userdata at idx in the registry (unless
 * *held already); plua_net_release gives both back (unless !*held), the
 * anchor only when unref (FALSE once the userdata is collected). */
void        plua_net_hold               (lua_State      *L,
                                         int             idx,
                                         PluaRuntime    *runtime,
                                         PluaPendingKind kind,
                                         gboolean       *held,
                                         int            *self_ref);
void        plua_net_release            (lua_State      *L,
                                         PluaRuntime    *runtime,
                                         PluaPendingKind kind,
                                         gboolean       *held,
                                         int            *self_ref,
                                         gboolean        unref);

/* An HTTP token (RFC 9110): header names and methods. */
gboolean    plua_net_is_token           (const char     *s,
                                         size_t          len);

/* Spawns every listener of `event` in the table at index `table` (t[event]
 * is a function or an array of functions) with the nargs values on top of
 * L's stack, which it pops. Each listener runs in its own coroutine: an error
 * in one is reported and the others still run. The second form takes the
 * table's registry reference. */
void        plua_net_spawn_table        (PluaRuntime        *runtime,
                                         lua_State          *L,
                                         int                 table,
                                         const char         *event,
                                         int                 nargs);
void        plua_net_spawn_listeners    (PluaRuntime        *runtime,
                                         lua_State          *L,
                                         int                 table_ref,
                                         const char         *event,
                                         int                 nargs);

/* Pushes the bytes as a Lua string ("" for NULL). */
void        plua_net_push_bytes         (lua_State          *L,
                                         GBytes             *bytes);

G_END_DECLS
