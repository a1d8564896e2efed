/* plua-net-udp.c: the C half of net.UDPSocket.
 *
 * `require "plua.udp"` (a preload) returns one constructor:
 *
 *   udp.socket(broadcast, timeout_ms) → sock   (a real socket at once: IPv4)
 *     sock:bind(ip, port) → "ip:port"          raises on failure
 *     sock:send_to(data, host, port, fn(nbytes, err))
 *     sock:receive(fn(data, ip, port) | fn(nil, err))   one datagram per call
 *     sock:close()                              after queued sends left
 *
 * lua/net/udp.lua builds the callback-table API on top. A datagram is sent at
 * the call when it can be (an IP literal or "localhost"); host names are
 * resolved asynchronously first. Functions are always called later from the
 * main loop. A socket holds PLUA_PENDING_SOCKET (and anchors its userdata)
 * only while a send or a receive is outstanding: a script that only sends
 * ends by itself, one waiting for a datagram keeps running.
 *
 * Lifetime as in plua-net-tcp.c: the userdata and each GIO operation or source
 * in flight hold a reference on the Udp; `dead` marks a collected userdata.
 */
#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <lauxlib.h>

#include "plua-net-common.h"
#include "plua-net.h"
#include "plua-runtime.h"

#define UDP_META "plua.udp.socket"
#define MAX_DATAGRAM 65536

typedef enum
{
  UDP_OPEN,
  UDP_CLOSING,    /* close() called, queued sends still going out */
  UDP_CLOSED,
} UdpState;

typedef struct
{
  guint64         id;
  int             fn_ref;
  GBytes         *data;
  GSocketAddress *address;    /* NULL while the host name resolves */
  gboolean        done;       /* sent (or failed): only the report is left */
  gssize          sent;
  char           *error;
} SendOp;

typedef struct
{
  gint         ref_count;
  PluaRuntime *runtime;
  lua_State   *L;
  UdpState     state;
  gboolean     dead;
  gboolean     held;
  gboolean     used;          /* bound or sent from: family is fixed */
  int          self_ref;
  GSocket     *socket;
  gboolean     broadcast;
  guint        timeout_ms;
  GQueue       sends;
  GQueue       recvs;         /* of GINT_TO_POINTER (fn_ref) */
  guint64      next_id;
  GSource     *in_source;
  GSource     *out_source;
  guint        idle_id;
  guint        timeout_id;
  guint8      *buffer;
} Udp;

typedef struct
{
  Udp *udp;
} UdpBox;

static void udp_pump (Udp *u);

static Udp *
udp_ref (Udp *u)
{
  u->ref_count++;
  return u;
}

static void
udp_unref (gpointer data)
{
  Udp *u = data;

  if (--u->ref_count > 0)
    return;
  g_clear_object (&u->socket);
  g_free (u->buffer);
  g_free (u);
}

static const char *
error_text (const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return "Connection refused";
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE))
    return "Host unreachable";
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE))
    return "Network unreachable";
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
    return "Permission denied";
  return error->message;
}

static GSocket *
new_socket (GSocketFamily family,
            gboolean      broadcast,
            GError      **error)
{
  GSocket *socket = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);

  if (socket == NULL)
    return NULL;
  g_socket_set_blocking (socket, FALSE);
  if (broadcast)
    g_socket_set_broadcast (socket, TRUE);
  return socket;
}

/* ---------- holding the run ---------- */

static gboolean
udp_wants_hold (Udp *u)
{
  return !u->dead && (u->sends.length > 0 || u->recvs.length > 0);
}

static void
udp_hold_from_lua (lua_State *L,
                   Udp       *u)
{
  if (udp_wants_hold (u))
    plua_net_hold (L, 1, u->runtime, PLUA_PENDING_SOCKET, &u->held, &u->self_ref);
}

static void
udp_update_hold (Udp *u)
{
  if (!udp_wants_hold (u))
    plua_net_release (u->L, u->runtime, PLUA_PENDING_SOCKET, &u->held, &u->self_ref, !u->dead);
}

/* ---------- reporting ---------- */

static void
send_free (Udp    *u,
           SendOp *op)
{
  if (!u->dead)
    luaL_unref (u->L, LUA_REGISTRYINDEX, op->fn_ref);
  g_clear_pointer (&op->data, g_bytes_unref);
  g_clear_object (&op->address);
  g_free (op->error);
  g_free (op);
}

static void
send_report (Udp    *u,
             SendOp *op)
{
  lua_State *L = u->L;

  lua_rawgeti (L, LUA_REGISTRYINDEX, op->fn_ref);
  if (op->error != NULL)
    {
      lua_pushnil (L);
      lua_pushstring (L, op->error);
    }
  else
    {
      lua_pushinteger (L, op->sent);
      lua_pushnil (L);
    }
  send_free (u, op);
  plua_runtime_spawn (u->runtime, L, 2, PLUA_SPAWN_DEFAULT, NULL, NULL);
}

/* Pops the head receive and calls its function with (nil, error). */
static void
recv_fail (Udp        *u,
           const char *error)
{
  lua_State *L = u->L;
  int fn_ref = GPOINTER_TO_INT (g_queue_pop_head (&u->recvs));

  lua_rawgeti (L, LUA_REGISTRYINDEX, fn_ref);
  luaL_unref (L, LUA_REGISTRYINDEX, fn_ref);
  lua_pushnil (L);
  lua_pushstring (L, error);
  plua_runtime_spawn (u->runtime, L, 2, PLUA_SPAWN_DEFAULT, NULL, NULL);
}

static void
drop_recvs (Udp *u)
{
  while (u->recvs.length > 0)
    {
      int fn_ref = GPOINTER_TO_INT (g_queue_pop_head (&u->recvs));

      if (!u->dead)
        luaL_unref (u->L, LUA_REGISTRYINDEX, fn_ref);
    }
}

/* ---------- sending ---------- */

/* Tries to send op now; FALSE when the socket would block. */
static gboolean
send_now (Udp    *u,
          SendOp *op)
{
  g_autoptr(GError) error = NULL;
  gsize len;
  const char *data = g_bytes_get_data (op->data, &len);
  gssize n;

  n = g_socket_send_to (u->socket, op->address, data, len, NULL, &error);
  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return FALSE;
  u->used = TRUE;
  op->done = TRUE;
  op->sent = n;
  if (n < 0)
    op->error = g_strdup (error_text (error));
  return TRUE;
}

static gboolean
on_writable (GSocket      *socket,
             GIOCondition  condition,
             gpointer      data)
{
  Udp *u = data;

  g_clear_pointer (&u->out_source, g_source_unref);
  if (!u->dead)
    {
      udp_pump (u);
      plua_runtime_dispatched (u->runtime);
    }
  return G_SOURCE_REMOVE;
}

static void
udp_pump_sends (Udp *u)
{
  SendOp *op;

  while (!u->dead && (op = g_queue_peek_head (&u->sends)) != NULL)
    {
      if (!op->done && u->state == UDP_CLOSED)
        {
          op->done = TRUE;
          op->error = g_strdup ("closed");
        }
      if (!op->done && op->address == NULL)
        return;      /* still resolving */
      if (!op->done && !send_now (u, op))
        {
          if (u->out_source == NULL)
            {
              u->out_source = g_socket_create_source (u->socket, G_IO_OUT, NULL);
              g_source_set_callback (u->out_source, G_SOURCE_FUNC (on_writable),
                                     udp_ref (u), udp_unref);
              g_source_attach (u->out_source, NULL);
            }
          return;
        }
      g_queue_pop_head (&u->sends);
      send_report (u, op);
    }
}

typedef struct
{
  Udp    *udp;
  guint64 id;
} Resolving;

static void
on_resolved (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  Resolving *r = data;
  Udp *u = r->udp;
  g_autoptr(GError) error = NULL;
  GList *list = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &error);

  if (!u->dead)
    {
      for (GList *l = u->sends.head; l != NULL; l = l->next)
        {
          SendOp *op = l->data;
          guint16 port;

          if (op->id != r->id)
            continue;
          /* the port waited in `sent` */
          port = (guint16) op->sent;
          op->sent = 0;
          for (GList *a = list; a != NULL && op->address == NULL; a = a->next)
            if (g_inet_address_get_family (a->data) == g_socket_get_family (u->socket))
              op->address = g_inet_socket_address_new (a->data, port);
          if (op->address == NULL)
            {
              op->done = TRUE;
              op->error = g_strdup (error != NULL ? error->message : "no address of the socket's family");
            }
          break;
        }
      udp_pump (u);
      plua_runtime_dispatched (u->runtime);
    }
  g_list_free_full (list, g_object_unref);
  udp_unref (u);
  g_free (r);
}

/* ---------- receiving ---------- */

static void arm_recv_timeout (Udp *u);

static gboolean
on_recv_timeout (gpointer data)
{
  Udp *u = data;

  u->timeout_id = 0;
  if (u->dead)
    return G_SOURCE_REMOVE;
  if (u->recvs.length > 0)
    recv_fail (u, "timeout");
  if (!u->dead)
    {
      arm_recv_timeout (u);   /* for the next receive in line */
      udp_pump (u);
      plua_runtime_dispatched (u->runtime);
    }
  return G_SOURCE_REMOVE;
}

static void
arm_recv_timeout (Udp *u)
{
  g_clear_handle_id (&u->timeout_id, g_source_remove);
  if (u->timeout_ms > 0 && u->recvs.length > 0)
    u->timeout_id = g_timeout_add_full (G_PRIORITY_DEFAULT, u->timeout_ms, on_recv_timeout,
                                        udp_ref (u), udp_unref);
}

static gboolean
on_readable (GSocket      *socket,
             GIOCondition  condition,
             gpointer      data)
{
  Udp *u = data;

  if (u->dead)
    return G_SOURCE_REMOVE;

  while (u->recvs.length > 0 && u->state == UDP_OPEN)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocketAddress) from = NULL;
      gssize n;

      n = g_socket_receive_from (u->socket, &from, (char *) u->buffer, MAX_DATAGRAM, NULL, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      if (n < 0)
        recv_fail (u, error_text (error));
      else
        {
          lua_State *L = u->L;
          int fn_ref = GPOINTER_TO_INT (g_queue_pop_head (&u->recvs));
          g_autofree char *ip = NULL;
          g_autofree char *text = NULL;
          guint16 port = 0;

          text = plua_net_address_to_string (from, &ip, &port);
          lua_rawgeti (L, LUA_REGISTRYINDEX, fn_ref);
          luaL_unref (L, LUA_REGISTRYINDEX, fn_ref);
          lua_pushlstring (L, (const char *) u->buffer, (size_t) n);
          lua_pushstring (L, ip != NULL ? ip : "?");
          lua_pushinteger (L, port);
          plua_runtime_spawn (u->runtime, L, 3, PLUA_SPAWN_DEFAULT, NULL, NULL);
        }
      arm_recv_timeout (u);
      if (u->dead)
        return G_SOURCE_REMOVE;
    }

  udp_pump (u);
  plua_runtime_dispatched (u->runtime);
  /* udp_pump destroys the source when no receive is left. */
  return G_SOURCE_CONTINUE;
}

static void
udp_pump_recvs (Udp *u)
{
  if (u->dead)
    return;
  if (u->recvs.length > 0 && u->state == UDP_OPEN)
    {
      if (u->in_source == NULL)
        {
          u->in_source = g_socket_create_source (u->socket, G_IO_IN, NULL);
          g_source_set_callback (u->in_source, G_SOURCE_FUNC (on_readable), udp_ref (u), udp_unref);
          g_source_attach (u->in_source, NULL);
          arm_recv_timeout (u);
        }
      return;
    }
  /* Receives asked for after close() fail; those before were dropped. */
  while (u->recvs.length > 0)
    recv_fail (u, "closed");
  if (u->in_source != NULL)
    {
      g_source_destroy (u->in_source);
      g_clear_pointer (&u->in_source, g_source_unref);
    }
  g_clear_handle_id (&u->timeout_id, g_source_remove);
}

static void
udp_shutdown (Udp *u)
{
  u->state = UDP_CLOSED;
  if (u->in_source != NULL)
    {
      g_source_destroy (u->in_source);
      g_clear_pointer (&u->in_source, g_source_unref);
    }
  if (u->out_source != NULL)
    {
      g_source_destroy (u->out_source);
      g_clear_pointer (&u->out_source, g_source_unref);
    }
  g_clear_handle_id (&u->timeout_id, g_source_remove);
  g_socket_close (u->socket, NULL);
}

static void
udp_pump (Udp *u)
{
  udp_ref (u);
  udp_pump_sends (u);
  udp_pump_recvs (u);
  udp_pump_sends (u);
  if (!u->dead && u->state == UDP_CLOSING && u->sends.length == 0)
    udp_shutdown (u);
  udp_update_hold (u);
  udp_unref (u);
}

static gboolean
on_idle (gpointer data)
{
  Udp *u = data;

  u->idle_id = 0;
  udp_pump (u);
  if (!u->dead)
    plua_runtime_dispatched (u->runtime);
  return G_SOURCE_REMOVE;
}

static void
udp_schedule (lua_State *L,
              Udp       *u)
{
  if (u->idle_id == 0)
    u->idle_id = g_idle_add_full (G_PRIORITY_DEFAULT, on_idle, udp_ref (u), udp_unref);
  udp_hold_from_lua (L, u);
}

/* ---------- Lua methods ---------- */

static Udp *
check_udp (lua_State *L)
{
  UdpBox *box = luaL_checkudata (L, 1, UDP_META);

  return box->udp;
}

/* The address for bind: nil, "*", "0.0.0.0" → any IPv4; "localhost" →
 * 127.0.0.1; else an IP literal. */
static GInetAddress *
bind_address (const char *ip)
{
  if (ip == NULL || strcmp (ip, "*") == 0)
    return g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  if (strcmp (ip, "localhost") == 0)
    return g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  return g_inet_address_new_from_string (ip);
}

/* sock:bind(ip, port) → "ip:port" bound (port 0 picks one) */
static int
l_bind (lua_State *L)
{
  Udp *u = check_udp (L);
  const char *ip = luaL_optstring (L, 2, NULL);
  lua_Integer port = luaL_checkinteger (L, 3);
  GInetAddress *inet;
  GSocketAddress *address;
  GSocketAddress *local;
  GError *error = NULL;
  char *text;

  luaL_argcheck (L, port >= 0 && port <= 65535, 3, "port out of range");
  if (u->state != UDP_OPEN)
    return luaL_error (L, "bind: the socket is closed");
  inet = bind_address (ip);
  if (inet == NULL)
    return luaL_error (L, "bind: not an IP address: %s", ip);

  /* A fresh socket takes the family of the address it is bound to. */
  if (!u->used && g_inet_address_get_family (inet) != g_socket_get_family (u->socket))
    {
      GSocket *socket = new_socket (g_inet_address_get_family (inet), u->broadcast, &error);

      if (socket == NULL)
        {
          g_object_unref (inet);
          lua_pushfstring (L, "bind: %s", error->message);
          g_error_free (error);
          return lua_error (L);
        }
      g_socket_close (u->socket, NULL);
      g_object_unref (u->socket);
      u->socket = socket;
    }

  address = g_inet_socket_address_new (inet, (guint16) port);
  g_object_unref (inet);
  if (!g_socket_bind (u->socket, address, FALSE, &error))
    {
      g_object_unref (address);
      lua_pushfstring (L, "bind: cannot bind %s:%d: %s", ip != NULL ? ip : "0.0.0.0",
                       (int) port, plua_net_bind_reason (error));
      g_error_free (error);
      return lua_error (L);
    }
  g_object_unref (address);
  u->used = TRUE;
  local = g_socket_get_local_address (u->socket, NULL);
  text = plua_net_address_to_string (local, NULL, NULL);
  g_clear_object (&local);
  lua_pushstring (L, text);
  g_free (text);
  return 1;
}

/* sock:send_to(data, host, port, fn(nbytes, err)) */
static int
l_send_to (lua_State *L)
{
  Udp *u = check_udp (L);
  size_t len;
  const char *data = luaL_checklstring (L, 2, &len);
  const char *host = luaL_checkstring (L, 3);
  lua_Integer port = luaL_checkinteger (L, 4);
  GSocketFamily family = g_socket_get_family (u->socket);
  GInetAddress *inet = NULL;
  SendOp *op;

  luaL_argcheck (L, port > 0 && port <= 65535, 4, "port out of range");
  luaL_checktype (L, 5, LUA_TFUNCTION);

  op = g_new0 (SendOp, 1);
  op->id = ++u->next_id;
  lua_pushvalue (L, 5);
  op->fn_ref = luaL_ref (L, LUA_REGISTRYINDEX);
  op->data = g_bytes_new (data, len);
  g_queue_push_tail (&u->sends, op);

  if (u->state != UDP_OPEN)
    {
      op->done = TRUE;
      op->error = g_strdup ("closed");
    }
  else if (strcmp (host, "localhost") == 0)
    inet = g_inet_address_new_loopback (family);
  else if ((inet = g_inet_address_new_from_string (host)) == NULL)
    {
      Resolving *r = g_new0 (Resolving, 1);
      g_autoptr(GResolver) resolver = g_resolver_get_default ();

      r->udp = udp_ref (u);
      r->id = op->id;
      op->sent = port;   /* kept there until the name resolves */
      g_resolver_lookup_by_name_async (resolver, host, NULL, on_resolved, r);
    }
  if (inet != NULL)
    {
      op->address = g_inet_socket_address_new (inet, (guint16) port);
      g_object_unref (inet);
      if (u->sends.length == 1 && u->out_source == NULL)
        send_now (u, op);   /* the datagram leaves now; the report comes later */
    }
  udp_schedule (L, u);
  return 0;
}

/* sock:receive(fn(data, ip, port) or fn(nil, err)): the next datagram */
static int
l_receive (lua_State *L)
{
  Udp *u = check_udp (L);
  int fn_ref;

  luaL_checktype (L, 2, LUA_TFUNCTION);
  lua_pushvalue (L, 2);
  fn_ref = luaL_ref (L, LUA_REGISTRYINDEX);
  g_queue_push_tail (&u->recvs, GINT_TO_POINTER (fn_ref));
  udp_schedule (L, u);
  return 0;
}

/* sock:close(): pending receives are dropped (not called back); sends
 * already asked for still go out and report. */
static int
l_close (lua_State *L)
{
  Udp *u = check_udp (L);

  if (u->state != UDP_OPEN)
    return 0;
  drop_recvs (u);
  u->state = UDP_CLOSING;
  if (u->sends.length == 0)
    udp_shutdown (u);
  else
    udp_schedule (L, u);
  udp_update_hold (u);
  return 0;
}

/* sock:port() → the local port, or nil before the socket is bound */
static int
l_port (lua_State *L)
{
  Udp *u = check_udp (L);
  g_autoptr(GSocketAddress) local = NULL;

  if (u->state == UDP_OPEN)
    local = g_socket_get_local_address (u->socket, NULL);
  if (local == NULL || !G_IS_INET_SOCKET_ADDRESS (local)
      || g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)) == 0)
    {
      lua_pushnil (L);
      return 1;
    }
  lua_pushinteger (L, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)));
  return 1;
}

static int
l_tostring (lua_State *L)
{
  Udp *u = check_udp (L);
  GSocketAddress *local = NULL;
  char *text;

  if (u->state != UDP_OPEN)
    {
      lua_pushliteral (L, "UDPSocket (closed)");
      return 1;
    }
  local = g_socket_get_local_address (u->socket, NULL);
  if (local != NULL && G_IS_INET_SOCKET_ADDRESS (local)
      && g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)) == 0)
    g_clear_object (&local);   /* an unbound socket reports port 0 */
  if (local == NULL)
    {
      lua_pushliteral (L, "UDPSocket (not bound)");
      return 1;
    }
  text = plua_net_address_to_string (local, NULL, NULL);
  g_object_unref (local);
  lua_pushfstring (L, "UDPSocket %s", text);
  g_free (text);
  return 1;
}

static int
l_gc (lua_State *L)
{
  UdpBox *box = luaL_checkudata (L, 1, UDP_META);
  Udp *u = box->udp;
  SendOp *op;

  if (u == NULL)
    return 0;
  box->udp = NULL;
  drop_recvs (u);
  while ((op = g_queue_pop_head (&u->sends)) != NULL)
    send_free (u, op);
  if (u->state != UDP_CLOSED)
    udp_shutdown (u);
  u->dead = TRUE;
  g_clear_handle_id (&u->idle_id, g_source_remove);
  plua_net_release (u->L, u->runtime, PLUA_PENDING_SOCKET, &u->held, &u->self_ref, FALSE);
  u->L = NULL;
  udp_unref (u);
  return 0;
}

/* udp.socket([broadcast [, timeout_ms]]) */
static int
l_socket (lua_State *L)
{
  gboolean broadcast = lua_toboolean (L, 1);
  lua_Number timeout = luaL_optnumber (L, 2, 0);
  GError *error = NULL;
  GSocket *socket;
  UdpBox *box;
  Udp *u;

  socket = new_socket (G_SOCKET_FAMILY_IPV4, broadcast, &error);
  if (socket == NULL)
    {
      lua_pushfstring (L, "UDPSocket: %s", error->message);
      g_error_free (error);
      return lua_error (L);
    }

  box = lua_newuserdatauv (L, sizeof (UdpBox), 1);
  u = g_new0 (Udp, 1);
  u->ref_count = 1;
  u->runtime = plua_runtime_from_lua (L);
  u->L = plua_runtime_get_state (u->runtime);
  u->self_ref = LUA_NOREF;
  u->socket = socket;
  u->broadcast = broadcast;
  u->timeout_ms = timeout > 0 ? (guint) MIN (timeout, (lua_Number) G_MAXUINT) : 0;
  u->buffer = g_malloc (MAX_DATAGRAM);
  g_queue_init (&u->sends);
  g_queue_init (&u->recvs);
  box->udp = u;
  luaL_setmetatable (L, UDP_META);
  return 1;
}

static int
open_core (lua_State *L)
{
  static const luaL_Reg methods[] = {
    { "bind", l_bind },
    { "send_to", l_send_to },
    { "receive", l_receive },
    { "close", l_close },
    { "port", l_port },
    { "set_owner", plua_net_set_owner },
    { NULL, NULL }
  };
  static const luaL_Reg functions[] = {
    { "socket", l_socket },
    { NULL, NULL }
  };

  plua_net_new_class (L, UDP_META, methods, l_tostring, l_gc, l_close);
  luaL_newlib (L, functions);
  return 1;
}

int
plua_net_udp_open (lua_State *L)
{
  plua_net_preload (L, "plua.udp", open_core);
  return 0;
}
