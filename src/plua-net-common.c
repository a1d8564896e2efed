/* plua-net-common.c: the pieces the C halves of `net` share (see the header). */
#include "config.h"

#include <string.h>

#include "plua-net-common.h"

void
plua_net_preload (lua_State     *L,
                  const char    *name,
                  lua_CFunction  open)
{
  luaL_getsubtable (L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction (L, open);
  lua_setfield (L, -2, name);
  lua_pop (L, 1);
}

void
plua_net_new_class (lua_State     *L,
                    const char    *name,
                    const luaL_Reg methods[],
                    lua_CFunction  tostring,
                    lua_CFunction  gc,
                    lua_CFunction  close)
{
  luaL_newmetatable (L, name);
  lua_newtable (L);
  luaL_setfuncs (L, methods, 0);
  lua_setfield (L, -2, "__index");
  if (tostring != NULL)
    {
      lua_pushcfunction (L, tostring);
      lua_setfield (L, -2, "__tostring");
    }
  lua_pushcfunction (L, gc);
  lua_setfield (L, -2, "__gc");
  lua_pushcfunction (L, close);
  lua_setfield (L, -2, "__close");
  lua_pop (L, 1);
}

int
plua_net_set_owner (lua_State *L)
{
  luaL_checkany (L, 2);
  lua_settop (L, 2);
  lua_setiuservalue (L, 1, 1);
  return 0;
}

char *
plua_net_address_to_string (GSocketAddress *address,
                            char          **ip_out,
                            guint16        *port_out)
{
  GInetAddress *inet;
  char *ip;
  guint16 port;
  char *text;

  if (address == NULL || !G_IS_INET_SOCKET_ADDRESS (address))
    return g_strdup ("?");
  inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
  ip = g_inet_address_to_string (inet);
  if (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6)
    text = g_strdup_printf ("[%s]:%u", ip, port);
  else
    text = g_strdup_printf ("%s:%u", ip, port);
  if (port_out != NULL)
    *port_out = port;
  if (ip_out != NULL)
    *ip_out = ip;
  else
    g_free (ip);
  return text;
}

const char *
plua_net_bind_reason (const GError *error)
{
  const char *colon;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
    return "Address already in use";
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
    return "Permission denied";
  colon = strrchr (error->message, ':');
  return colon != NULL && colon[1] == ' ' && colon[2] != '\0' ? colon + 2 : error->message;
}

void
plua_net_hold (lua_State       *L,
               int              idx,
               PluaRuntime     *runtime,
               PluaPendingKind  kind,
               gboolean        *held,
               int             *self_ref)
{
  if (*held)
    return;
  *held = TRUE;
  lua_pushvalue (L, idx);
  *self_ref = luaL_ref (L, LUA_REGISTRYINDEX);
  plua_runtime_hold (runtime, kind);
}

void
plua_net_release (lua_State       *L,
                  PluaRuntime     *runtime,
                  PluaPendingKind  kind,
                  gboolean        *held,
                  int             *self_ref,
                  gboolean         unref)
{
  int ref;

  if (!*held)
    return;
  *held = FALSE;
  ref = *self_ref;
  *self_ref = LUA_NOREF;
  plua_runtime_release (runtime, kind);
  if (unref)
    luaL_unref (L, LUA_REGISTRYINDEX, ref);
}

gboolean
plua_net_is_token (const char *s,
                   size_t      len)
{
  if (len == 0)
    return FALSE;
  for (size_t i = 0; i < len; i++)
    {
      guchar c = s[i];

      if (!g_ascii_isalnum (c) && strchr ("!#$%&'*+-.^_`|~", c) == NULL)
        return FALSE;
    }
  return TRUE;
}

void
plua_net_spawn_table (PluaRuntime *runtime,
                      lua_State   *L,
                      int          table,
                      const char  *event,
                      int          nargs)
{
  int args = lua_gettop (L) - nargs + 1;
  int fns;

  table = lua_absindex (L, table);
  if (!lua_istable (L, table))
    {
      lua_settop (L, args - 1);
      return;
    }
  lua_getfield (L, table, event);
  fns = lua_gettop (L);

  if (lua_isfunction (L, fns))
    {
      lua_pushvalue (L, fns);
      for (int i = 0; i < nargs; i++)
        lua_pushvalue (L, args + i);
      plua_runtime_spawn (runtime, L, nargs, PLUA_SPAWN_DEFAULT, NULL, NULL);
    }
  else if (lua_istable (L, fns))
    {
      /* The length is read again each turn: a listener may add another. */
      for (lua_Integer n = 1; n <= (lua_Integer) lua_rawlen (L, fns); n++)
        {
          lua_rawgeti (L, fns, n);
          if (!lua_isfunction (L, -1))
            {
              lua_pop (L, 1);
              continue;
            }
          for (int i = 0; i < nargs; i++)
            lua_pushvalue (L, args + i);
          plua_runtime_spawn (runtime, L, nargs, PLUA_SPAWN_DEFAULT, NULL, NULL);
        }
    }
  lua_settop (L, args - 1);
}

void
plua_net_spawn_listeners (PluaRuntime *runtime,
                          lua_State   *L,
                          int          table_ref,
                          const char  *event,
                          int          nargs)
{
  lua_rawgeti (L, LUA_REGISTRYINDEX, table_ref);
  lua_insert (L, -nargs - 1);
  plua_net_spawn_table (runtime, L, -nargs - 1, event, nargs);
  lua_pop (L, 1);
}

void
plua_net_push_bytes (lua_State *L,
                     GBytes    *bytes)
{
  gsize len = 0;
  const char *data = bytes != NULL ? g_bytes_get_data (bytes, &len) : NULL;

  lua_pushlstring (L, data != NULL ? data : "", len);
}
