/* plua-net-sync.c: blocking TCP primitives for the LuaSocket-compatible
 * `socket` module (lua/socket.lua) and the debugger.
 *
 * These calls BLOCK the whole main loop while they wait: no timer fires and
 * no other socket is served meanwhile. They exist for code that must wait
 * (MobDebug, simple scripts); everything else should use net.TCPSocket.
 *
 * `require "plua.sync"` returns:
 *   sync.connect(host, port, timeout) → handle | nil, err
 *   handle:send(data, timeout) → nsent, err|nil   (all of data unless err)
 *   handle:recv(max, timeout) → data | nil, err   (err "timeout" or "closed")
 *   handle:peer(), handle:sockname() → ip, port
 *   handle:close()
 *   sync.gettime() → seconds (float), sync.sleep(seconds)
 * A timeout is in seconds: negative waits forever, 0 never waits. Error
 * texts follow LuaSocket's: "timeout", "closed", "connection refused".
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <gio/gio.h>
#include <lauxlib.h>

#include "plua-net-common.h"
#include "plua-net.h"

#define HANDLE_META "plua.sync.tcp"
#define MAX_RECV (64 * 1024)

typedef struct
{
  GSocket *socket;
} Handle;

static const char *
error_text (const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return "timeout";
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return "connection refused";
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED))
    return "closed";
  if (error->domain == G_RESOLVER_ERROR)
    return "host not found";
  return error->message;
}

static gint64
deadline_of (double timeout)
{
  if (timeout < 0 || isnan (timeout))
    return -1;
  return g_get_monotonic_time () + (gint64) (timeout * G_USEC_PER_SEC);
}

/* Waits until the socket is ready for condition or the deadline passes. */
static gboolean
wait_for (GSocket      *socket,
          GIOCondition  condition,
          gint64        deadline,
          GError      **error)
{
  gint64 left = -1;

  if (deadline >= 0)
    {
      left = deadline - g_get_monotonic_time ();
      if (left <= 0)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "timeout");
          return FALSE;
        }
    }
  return g_socket_condition_timed_wait (socket, condition, left, NULL, error);
}

static GSocket *
connect_one (GInetAddress *inet,
             guint16       port,
             gint64        deadline,
             GError      **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  GError *local_error = NULL;

  socket = g_socket_new (g_inet_address_get_family (inet), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return NULL;
  g_socket_set_blocking (socket, FALSE);
  address = g_inet_socket_address_new (inet, port);
  if (g_socket_connect (socket, address, NULL, &local_error))
    return g_steal_pointer (&socket);
  if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_PENDING))
    {
      g_propagate_error (error, local_error);
      return NULL;
    }
  g_clear_error (&local_error);
  if (!wait_for (socket, G_IO_OUT, deadline, error)
      || !g_socket_check_connect_result (socket, error))
    return NULL;
  return g_steal_pointer (&socket);
}

/* sync.connect(host, port, timeout) → handle | nil, err */
static int
l_connect (lua_State *L)
{
  const char *host = luaL_checkstring (L, 1);
  lua_Integer port = luaL_checkinteger (L, 2);
  gint64 deadline = deadline_of (luaL_optnumber (L, 3, -1));
  GList *addresses = NULL;
  GSocket *socket = NULL;
  GError *error = NULL;
  GInetAddress *literal;
  Handle *h;

  luaL_argcheck (L, port > 0 && port <= 65535, 2, "port out of range");
  if (strcmp (host, "localhost") == 0)
    literal = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  else
    literal = g_inet_address_new_from_string (host);
  if (literal != NULL)
    addresses = g_list_prepend (NULL, literal);
  else
    {
      GResolver *resolver = g_resolver_get_default ();

      addresses = g_resolver_lookup_by_name (resolver, host, NULL, &error);
      g_object_unref (resolver);
    }

  for (GList *l = addresses; l != NULL && socket == NULL; l = l->next)
    {
      g_clear_error (&error);
      socket = connect_one (l->data, (guint16) port, deadline, &error);
    }
  g_list_free_full (addresses, g_object_unref);

  if (socket == NULL)
    {
      lua_pushnil (L);
      lua_pushstring (L, error != NULL ? error_text (error) : "host not found");
      g_clear_error (&error);
      return 2;
    }
  g_clear_error (&error);
  h = lua_newuserdatauv (L, sizeof (Handle), 0);
  h->socket = socket;
  luaL_setmetatable (L, HANDLE_META);
  return 1;
}

static Handle *
check_open (lua_State *L)
{
  Handle *h = luaL_checkudata (L, 1, HANDLE_META);

  if (h->socket == NULL)
    luaL_error (L, "attempt to use a closed socket");
  return h;
}

/* handle:send(data, timeout) → nsent, err|nil */
static int
l_send (lua_State *L)
{
  Handle *h = check_open (L);
  size_t len;
  const char *data = luaL_checklstring (L, 2, &len);
  gint64 deadline = deadline_of (luaL_optnumber (L, 3, -1));
  size_t sent = 0;
  GError *error = NULL;

  while (sent < len)
    {
      gssize n = g_socket_send (h->socket, data + sent, len - sent, NULL, &error);

      if (n >= 0)
        {
          sent += (size_t) n;
          continue;
        }
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      g_clear_error (&error);
      if (!wait_for (h->socket, G_IO_OUT, deadline, &error))
        break;
    }

  lua_pushinteger (L, (lua_Integer) sent);
  if (error == NULL)
    return 1;
  lua_pushstring (L, error_text (error));
  g_error_free (error);
  return 2;
}

/* handle:recv(max, timeout) → data | nil, "timeout" | nil, "closed" */
static int
l_recv (lua_State *L)
{
  Handle *h = check_open (L);
  lua_Integer max = luaL_optinteger (L, 2, MAX_RECV);
  gint64 deadline = deadline_of (luaL_optnumber (L, 3, -1));
  luaL_Buffer b;
  GError *error = NULL;
  char *buffer;
  gssize n;

  luaL_argcheck (L, max > 0, 2, "size must be positive");
  max = MIN (max, MAX_RECV);
  buffer = luaL_buffinitsize (L, &b, (size_t) max);
  for (;;)
    {
      n = g_socket_receive (h->socket, buffer, (gsize) max, NULL, &error);
      if (n >= 0 || !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      g_clear_error (&error);
      if (!wait_for (h->socket, G_IO_IN, deadline, &error))
        break;
    }
  if (n > 0)
    {
      luaL_pushresultsize (&b, (size_t) n);
      return 1;
    }
  lua_pushnil (L);
  lua_pushstring (L, error != NULL ? error_text (error) : "closed");
  g_clear_error (&error);
  return 2;
}

static int
push_address (lua_State      *L,
              GSocketAddress *address)
{
  g_autofree char *ip = NULL;

  if (address == NULL || !G_IS_INET_SOCKET_ADDRESS (address))
    {
      g_clear_object (&address);
      lua_pushnil (L);
      return 1;
    }
  ip = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));
  lua_pushstring (L, ip);
  lua_pushinteger (L, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address)));
  g_object_unref (address);
  return 2;
}

/* handle:peer() → ip, port */
static int
l_peer (lua_State *L)
{
  Handle *h = check_open (L);

  return push_address (L, g_socket_get_remote_address (h->socket, NULL));
}

/* handle:sockname() → ip, port */
static int
l_local (lua_State *L)
{
  Handle *h = check_open (L);

  return push_address (L, g_socket_get_local_address (h->socket, NULL));
}

/* handle:shutdown(how): "both" (default), "send", "receive" */
static int
l_shutdown (lua_State *L)
{
  static const char *const hows[] = { "both", "send", "receive", NULL };
  Handle *h = check_open (L);
  int how = luaL_checkoption (L, 2, "both", hows);

  g_socket_shutdown (h->socket, how != 1, how != 2, NULL);
  return 0;
}

static int
l_close (lua_State *L)
{
  Handle *h = luaL_checkudata (L, 1, HANDLE_META);

  if (h->socket != NULL)
    {
      g_socket_close (h->socket, NULL);
      g_clear_object (&h->socket);
    }
  return 0;
}

/* sync.gettime() → seconds since the epoch, with microseconds */
static int
l_gettime (lua_State *L)
{
  lua_pushnumber (L, (lua_Number) g_get_real_time () / G_USEC_PER_SEC);
  return 1;
}

/* sync.sleep(seconds): blocks the whole loop */
static int
l_sleep (lua_State *L)
{
  lua_Number seconds = luaL_checknumber (L, 1);

  if (seconds > 0)
    g_usleep ((gulong) MIN (seconds * G_USEC_PER_SEC, (lua_Number) G_MAXLONG));
  return 0;
}

static int
open_core (lua_State *L)
{
  static const luaL_Reg methods[] = {
    { "send", l_send },
    { "recv", l_recv },
    { "peer", l_peer },
    { "sockname", l_local },
    { "shutdown", l_shutdown },
    { "close", l_close },
    { NULL, NULL }
  };
  static const luaL_Reg functions[] = {
    { "connect", l_connect },
    { "gettime", l_gettime },
    { "sleep", l_sleep },
    { NULL, NULL }
  };

  plua_net_new_class (L, HANDLE_META, methods, NULL, l_close, l_close);
  luaL_newlib (L, functions);
  return 1;
}

int
plua_net_sync_open (lua_State *L)
{
  plua_net_preload (L, "plua.sync", open_core);
  return 0;
}
