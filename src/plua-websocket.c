/* plua-websocket.c: the C half of net.WebSocketClient / net.WebSocketServer.
 *
 * require "plua.websocket" gives two primitives on libsoup 3:
 *
 *   conn = connect(url, headers, options, listeners)
 *     A client connection (ws:// or wss://). `listeners` maps the Lua API's
 *     event names ("connected", "dataReceived", "error", "disconnected") to a
 *     function or an array of functions; each one is spawned on its own, so
 *     an error in one listener is reported and the others still run.
 *     conn:send(data, binary), conn:close([code[, reason]]), conn:isOpen(),
 *     conn:state().
 *
 *   server = listen(host, port, options, callbacks)   (or nil, message)
 *     A WebSocket server on any path (options.path restricts it). Calls
 *     callbacks.connected(id), receive(id, data, binary), disconnected(id),
 *     error(message[, id]). server:send(id, data, binary), server:clients(),
 *     server:closeClient(id), server:stop(), server:isRunning(), server:port().
 *
 * A connection counts as PLUA_PENDING_SOCKET from connect() (or from the
 * upgrade, for a server's client) until it is closed; a listening server
 * counts as PLUA_PENDING_SERVER until stop(). A connection that is not closed
 * holds references to its own userdata and its listeners, so dropping the Lua
 * object does not silence it; both are released when it closes.
 */
#include "config.h"

#include <string.h>

#include <glib.h>
#include <lauxlib.h>
#include <libsoup/soup.h>

#include "plua-net-common.h"
#include "plua-net-soup.h"
#include "plua-net.h"
#include "plua-runtime.h"
#include "plua-soup-listener.h"

#define CLIENT_MT "plua.WebSocketConnection"
#define SERVER_MT "plua.WebSocketServer"

/* Frames larger than this close the connection (libsoup's default is 128 KiB,
 * too small for a script that sends a file). options.maxMessageSize changes it. */
#define DEFAULT_MAX_PAYLOAD (16 * 1024 * 1024)

static const char module_key = 'W';

/* Per-state module data: the lazily created session of the clients. */
typedef struct
{
  SoupSession *session;
} WsModule;

/* ------------------------------------------------------------------------ */
/* shared helpers                                                            */

/* Text frames must carry UTF-8; NUL bytes are valid UTF-8 but GLib's
 * validator stops at them, so validate between them. */
static gboolean
is_utf8 (const char *data,
         gsize       len)
{
  while (len > 0)
    {
      const char *nul = memchr (data, '\0', len);
      gsize chunk = nul != NULL ? (gsize) (nul - data) : len;

      if (!g_utf8_validate (data, chunk, NULL))
        return FALSE;
      if (nul == NULL)
        break;
      data += chunk + 1;
      len -= chunk + 1;
    }
  return TRUE;
}

/* Sends data as one message: a text frame when it is UTF-8 and binary was not
 * asked for, otherwise a binary frame (bytes always arrive as they were). */
static void
send_data (SoupWebsocketConnection *ws,
           const char              *data,
           gsize                    len,
           gboolean                 binary)
{
  g_autoptr (GBytes) bytes = g_bytes_new (data, len);

  if (!binary && !is_utf8 (data, len))
    binary = TRUE;
  soup_websocket_connection_send_message (ws,
                                          binary ? SOUP_WEBSOCKET_DATA_BINARY
                                                 : SOUP_WEBSOCKET_DATA_TEXT,
                                          bytes);
}

static const char *
state_name (SoupWebsocketState state)
{
  switch (state)
    {
    case SOUP_WEBSOCKET_STATE_OPEN:
      return "open";
    case SOUP_WEBSOCKET_STATE_CLOSING:
      return "closing";
    case SOUP_WEBSOCKET_STATE_CLOSED:
    default:
      return "closed";
    }
}

/* An event handler's end: runs the listeners with the nargs values on top
 * of L, drops the anchor of the object below them and ends the dispatch. */
static void
dispatch_listeners (PluaRuntime *runtime,
                    lua_State   *L,
                    int          table_ref,
                    const char  *event,
                    int          nargs)
{
  plua_net_spawn_listeners (runtime, L, table_ref, event, nargs);
  lua_pop (L, 1);
  plua_runtime_dispatched (runtime);
}

static guint64
opt_max_payload (lua_State *L,
                 int        options)
{
  lua_Integer max = DEFAULT_MAX_PAYLOAD;

  if (lua_istable (L, options))
    {
      lua_getfield (L, options, "maxMessageSize");
      if (lua_isinteger (L, -1) && lua_tointeger (L, -1) > 0)
        max = lua_tointeger (L, -1);
      lua_pop (L, 1);
    }
  return (guint64) max;
}

static WsModule *
module_get (lua_State *L)
{
  WsModule *m;

  lua_rawgetp (L, LUA_REGISTRYINDEX, &module_key);
  m = lua_touserdata (L, -1);
  lua_pop (L, 1);
  return m;
}

/* ------------------------------------------------------------------------ */
/* client connections                                                        */

typedef enum
{
  CLIENT_IDLE,
  CLIENT_CONNECTING,
  CLIENT_OPEN,       /* also closing: ws knows which */
  CLIENT_CLOSED,
} ClientState;

typedef struct _ConnectOp ConnectOp;

typedef struct
{
  PluaRuntime             *runtime;
  lua_State               *L;            /* the main state, never a coroutine */
  ClientState              state;
  SoupWebsocketConnection *ws;
  ConnectOp               *op;           /* while connecting */
  guint                    timeout_id;   /* connect timeout */
  gboolean                 timed_out;
  gboolean                 held;         /* PLUA_PENDING_SOCKET */
  gulong                   message_handler;
  gulong                   error_handler;
  gulong                   closed_handler;
  int                      listeners_ref;
  int                      self_ref;
  guint64                  max_payload;
  char                    *url;
} WsClient;

/* The connect callback's ticket: the client may be collected (at lua_close)
 * while libsoup still works on the handshake. */
struct _ConnectOp
{
  WsClient     *client;
  GCancellable *cancellable;
  SoupMessage  *msg;
};

static void
connect_op_free (ConnectOp *op)
{
  g_object_unref (op->cancellable);
  g_object_unref (op->msg);
  g_free (op);
}

static void
client_disconnect_signals (WsClient *c)
{
  if (c->ws == NULL)
    return;
  g_clear_signal_handler (&c->message_handler, c->ws);
  g_clear_signal_handler (&c->error_handler, c->ws);
  g_clear_signal_handler (&c->closed_handler, c->ws);
}

/* The connection is over: drop everything it held. Call with the userdata
 * anchored on L's stack (self_ref goes away here). */
static void
client_finish (WsClient *c)
{
  lua_State *L = c->L;

  c->state = CLIENT_CLOSED;
  g_clear_handle_id (&c->timeout_id, g_source_remove);
  client_disconnect_signals (c);
  g_clear_object (&c->ws);
  luaL_unref (L, LUA_REGISTRYINDEX, c->listeners_ref);
  luaL_unref (L, LUA_REGISTRYINDEX, c->self_ref);
  c->listeners_ref = LUA_NOREF;
  c->self_ref = LUA_NOREF;
  if (c->held)
    {
      c->held = FALSE;
      plua_runtime_release (c->runtime, PLUA_PENDING_SOCKET);
    }
}

static void
on_client_message (SoupWebsocketConnection *ws,
                   int                      type,
                   GBytes                  *message,
                   WsClient                *c)
{
  lua_State *L = c->L;

  lua_rawgeti (L, LUA_REGISTRYINDEX, c->self_ref);   /* anchor */
  plua_net_push_bytes (L, message);
  lua_pushboolean (L, type == SOUP_WEBSOCKET_DATA_BINARY);
  dispatch_listeners (c->runtime, L, c->listeners_ref, "dataReceived", 2);
}

static void
on_client_error (SoupWebsocketConnection *ws,
                 GError                  *error,
                 WsClient                *c)
{
  lua_State *L = c->L;

  lua_rawgeti (L, LUA_REGISTRYINDEX, c->self_ref);
  lua_pushstring (L, error->message);
  dispatch_listeners (c->runtime, L, c->listeners_ref, "error", 1);
}

static void
on_client_closed (SoupWebsocketConnection *ws,
                  WsClient                *c)
{
  lua_State *L = c->L;
  int listeners_ref = c->listeners_ref;
  const char *reason = soup_websocket_connection_get_close_data (ws);

  lua_rawgeti (L, LUA_REGISTRYINDEX, c->self_ref);   /* anchor */
  lua_pushinteger (L, soup_websocket_connection_get_close_code (ws));
  lua_pushstring (L, reason != NULL ? reason : "");
  /* Finish first, so the listeners see isOpen() == false and may connect
   * again; the listeners' reference is ours until they ran. */
  c->listeners_ref = LUA_NOREF;
  client_finish (c);
  plua_net_spawn_listeners (c->runtime, L, listeners_ref, "disconnected", 2);
  luaL_unref (L, LUA_REGISTRYINDEX, listeners_ref);
  lua_pop (L, 1);
  plua_runtime_dispatched (c->runtime);
}

/* Reports a failed or cancelled connect: "error" (or "disconnected" for a
 * close() during the handshake) and releases everything. */
static void
client_connect_failed (WsClient   *c,
                       const char *message,
                       gboolean    cancelled)
{
  lua_State *L = c->L;
  int listeners_ref;

  lua_rawgeti (L, LUA_REGISTRYINDEX, c->self_ref);   /* anchor */
  listeners_ref = c->listeners_ref;
  c->listeners_ref = LUA_NOREF;
  client_finish (c);
  if (cancelled)
    {
      lua_pushinteger (L, SOUP_WEBSOCKET_CLOSE_NORMAL);
      lua_pushstring (L, "");
      plua_net_spawn_listeners (c->runtime, L, listeners_ref, "disconnected", 2);
    }
  else
    {
      lua_pushstring (L, message);
      plua_net_spawn_listeners (c->runtime, L, listeners_ref, "error", 1);
    }
  luaL_unref (L, LUA_REGISTRYINDEX, listeners_ref);
  lua_pop (L, 1);
  plua_runtime_dispatched (c->runtime);
}

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  ConnectOp *op = user_data;
  WsClient *c = op->client;
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupWebsocketConnection) ws = NULL;
  g_autofree char *message = NULL;
  lua_State *L;

  ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (c == NULL)   /* collected meanwhile (the state is closing) */
    {
      connect_op_free (op);
      return;
    }
  c->op = NULL;
  g_clear_handle_id (&c->timeout_id, g_source_remove);

  if (ws == NULL)
    {
      guint status = soup_message_get_status (op->msg);
      gboolean cancelled = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

      if (cancelled && c->timed_out)
        message = g_strdup ("timeout");
      else if (status >= 100 && status != SOUP_STATUS_SWITCHING_PROTOCOLS)
        message = g_strdup_printf ("WebSocket handshake failed: HTTP %u %s", status,
                                   soup_message_get_reason_phrase (op->msg) != NULL
                                     ? soup_message_get_reason_phrase (op->msg) : "");
      else
        message = g_strdup (error->message);
      connect_op_free (op);
      client_connect_failed (c, message, cancelled && !c->timed_out);
      return;
    }
  connect_op_free (op);

  L = c->L;
  c->ws = g_steal_pointer (&ws);
  c->state = CLIENT_OPEN;
  soup_websocket_connection_set_max_incoming_payload_size (c->ws, c->max_payload);
  /* No keepalive pings of our own; libsoup answers the peer's pings. */
  c->message_handler = g_signal_connect (c->ws, "message", G_CALLBACK (on_client_message), c);
  c->error_handler = g_signal_connect (c->ws, "error", G_CALLBACK (on_client_error), c);
  c->closed_handler = g_signal_connect (c->ws, "closed", G_CALLBACK (on_client_closed), c);

  lua_rawgeti (L, LUA_REGISTRYINDEX, c->self_ref);
  dispatch_listeners (c->runtime, L, c->listeners_ref, "connected", 0);
}

static gboolean
on_connect_timeout (gpointer user_data)
{
  WsClient *c = user_data;

  c->timeout_id = 0;
  c->timed_out = TRUE;
  if (c->op != NULL)
    g_cancellable_cancel (c->op->cancellable);
  return G_SOURCE_REMOVE;
}

static gboolean
opt_boolean (lua_State  *L,
             int         options,
             const char *name,
             gboolean    fallback)
{
  gboolean value = fallback;

  if (lua_istable (L, options))
    {
      lua_getfield (L, options, name);
      if (!lua_isnil (L, -1))
        value = lua_toboolean (L, -1);
      lua_pop (L, 1);
    }
  return value;
}

/* Builds the handshake request; NULL and a message in *why for a bad URL. */
static SoupMessage *
make_handshake (const char  *url,
                const char **why)
{
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GUri) http_uri = NULL;
  const char *scheme;

  uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, NULL);
  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      *why = "invalid URL";
      return NULL;
    }
  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "ws") == 0 || g_ascii_strcasecmp (scheme, "http") == 0)
    scheme = "http";
  else if (g_ascii_strcasecmp (scheme, "wss") == 0 || g_ascii_strcasecmp (scheme, "https") == 0)
    scheme = "https";
  else
    {
      *why = "URL scheme must be ws:// or wss://";
      return NULL;
    }
  http_uri = soup_uri_copy (uri, SOUP_URI_SCHEME, scheme, SOUP_URI_NONE);
  return soup_message_new_from_uri (SOUP_METHOD_GET, http_uri);
}

/* connect(url, headers, options, listeners) → connection
 * options: checkCertificate (default true), timeout (ms, for the handshake),
 * maxMessageSize (bytes). */
static int
l_connect (lua_State *L)
{
  const char *url = luaL_checkstring (L, 1);
  WsModule *m = module_get (L);
  gboolean check_certificate;
  lua_Number timeout = 0;
  guint64 max_payload;
  SoupMessage *msg;
  const char *why = NULL;
  WsClient *c;
  ConnectOp *op;

  if (!lua_isnoneornil (L, 2))
    luaL_checktype (L, 2, LUA_TTABLE);
  if (!lua_isnoneornil (L, 3))
    luaL_checktype (L, 3, LUA_TTABLE);
  luaL_checktype (L, 4, LUA_TTABLE);

  /* Everything that may raise comes before the message exists. */
  check_certificate = opt_boolean (L, 3, "checkCertificate", TRUE);
  max_payload = opt_max_payload (L, 3);
  if (lua_istable (L, 3))
    {
      lua_getfield (L, 3, "timeout");
      if (lua_isnumber (L, -1))
        timeout = lua_tonumber (L, -1);
      lua_pop (L, 1);
    }
  c = lua_newuserdatauv (L, sizeof (WsClient), 0);
  memset (c, 0, sizeof (WsClient));
  c->runtime = plua_runtime_from_lua (L);
  c->L = plua_runtime_get_state (c->runtime);   /* L may be a coroutine */
  c->listeners_ref = LUA_NOREF;
  c->self_ref = LUA_NOREF;
  c->max_payload = max_payload;
  luaL_setmetatable (L, CLIENT_MT);

  msg = make_handshake (url, &why);
  if (msg == NULL)
    return luaL_argerror (L, 1, lua_pushfstring (L, "%s: %s", why, url));
  c->url = g_strdup (url);

  if (lua_istable (L, 2))
    {
      SoupMessageHeaders *headers = soup_message_get_request_headers (msg);

      lua_pushnil (L);
      while (lua_next (L, 2) != 0)
        {
          if (lua_type (L, -2) == LUA_TSTRING &&
              (lua_type (L, -1) == LUA_TSTRING || lua_type (L, -1) == LUA_TNUMBER))
            soup_message_headers_append (headers, lua_tostring (L, -2), lua_tostring (L, -1));
          lua_pop (L, 1);
        }
    }
  if (!check_certificate)
    g_signal_connect (msg, "accept-certificate", G_CALLBACK (plua_net_accept_any_certificate), NULL);

  lua_pushvalue (L, 4);
  c->listeners_ref = luaL_ref (L, LUA_REGISTRYINDEX);
  lua_pushvalue (L, -1);
  c->self_ref = luaL_ref (L, LUA_REGISTRYINDEX);

  if (m->session == NULL)
    /* No I/O timeout: an idle WebSocket may stay silent for hours. */
    m->session = soup_session_new_with_options ("timeout", 0, "idle-timeout", 0, NULL);

  op = g_new0 (ConnectOp, 1);
  op->client = c;
  op->cancellable = g_cancellable_new ();
  op->msg = msg;   /* takes the reference */
  c->op = op;
  c->state = CLIENT_CONNECTING;
  c->held = TRUE;
  plua_runtime_hold (c->runtime, PLUA_PENDING_SOCKET);
  if (timeout > 0)
    c->timeout_id = g_timeout_add ((guint) MIN (timeout, (lua_Number) G_MAXUINT),
                                   on_connect_timeout, c);
  soup_session_websocket_connect_async (m->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        op->cancellable, on_connected, op);
  return 1;
}

static WsClient *
check_client (lua_State *L)
{
  return luaL_checkudata (L, 1, CLIENT_MT);
}

static gboolean
client_is_open (WsClient *c)
{
  return c->state == CLIENT_OPEN &&
         soup_websocket_connection_get_state (c->ws) == SOUP_WEBSOCKET_STATE_OPEN;
}

/* conn:send(data[, binary]) → true | false, "Not connected" */
static int
l_client_send (lua_State *L)
{
  WsClient *c = check_client (L);
  size_t len;
  const char *data = luaL_checklstring (L, 2, &len);

  if (!client_is_open (c))
    {
      lua_pushboolean (L, FALSE);
      lua_pushliteral (L, "Not connected");
      return 2;
    }
  send_data (c->ws, data, len, lua_toboolean (L, 3));
  lua_pushboolean (L, TRUE);
  return 1;
}

/* conn:close([code[, reason]]) → true if it was connecting or open. The
 * "disconnected" event follows once the closing handshake is done. */
static int
l_client_close (lua_State *L)
{
  WsClient *c = check_client (L);
  lua_Integer code = luaL_optinteger (L, 2, SOUP_WEBSOCKET_CLOSE_NORMAL);
  const char *reason = luaL_optstring (L, 3, NULL);

  luaL_argcheck (L, code == SOUP_WEBSOCKET_CLOSE_NORMAL || (code >= 3000 && code <= 4999), 2,
                 "close code must be 1000 or 3000-4999");
  if (c->state == CLIENT_CONNECTING)
    {
      g_cancellable_cancel (c->op->cancellable);
      lua_pushboolean (L, TRUE);
      return 1;
    }
  if (client_is_open (c))
    {
      soup_websocket_connection_close (c->ws, (gushort) code, reason);
      lua_pushboolean (L, TRUE);
      return 1;
    }
  lua_pushboolean (L, FALSE);
  return 1;
}

static int
l_client_is_open (lua_State *L)
{
  lua_pushboolean (L, client_is_open (check_client (L)));
  return 1;
}

static const char *
client_state_name (WsClient *c)
{
  switch (c->state)
    {
    case CLIENT_CONNECTING:
      return "connecting";
    case CLIENT_OPEN:
      return state_name (soup_websocket_connection_get_state (c->ws));
    case CLIENT_IDLE:
    case CLIENT_CLOSED:
    default:
      return "closed";
    }
}

static int
l_client_state (lua_State *L)
{
  lua_pushstring (L, client_state_name (check_client (L)));
  return 1;
}

static int
l_client_tostring (lua_State *L)
{
  WsClient *c = check_client (L);

  lua_pushfstring (L, "WebSocket connection %s (%s)", c->url != NULL ? c->url : "?",
                   client_state_name (c));
  return 1;
}

/* __gc (the state is closing, or the connection is over) and __close. */
static int
l_client_gc (lua_State *L)
{
  WsClient *c = check_client (L);

  if (c->op != NULL)
    {
      c->op->client = NULL;
      g_cancellable_cancel (c->op->cancellable);
      c->op = NULL;
    }
  g_clear_handle_id (&c->timeout_id, g_source_remove);
  client_disconnect_signals (c);
  g_clear_object (&c->ws);
  if (c->held)
    {
      c->held = FALSE;
      plua_runtime_release (c->runtime, PLUA_PENDING_SOCKET);
    }
  g_clear_pointer (&c->url, g_free);
  c->state = CLIENT_CLOSED;
  return 0;
}

static const luaL_Reg client_methods[] = {
  { "send", l_client_send },
  { "close", l_client_close },
  { "isOpen", l_client_is_open },
  { "state", l_client_state },
  { NULL, NULL }
};

/* ------------------------------------------------------------------------ */
/* servers                                                                   */

typedef struct _WsServer WsServer;

typedef struct
{
  WsServer                *server;
  lua_Integer              id;
  SoupWebsocketConnection *ws;
  gulong                   message_handler;
  gulong                   error_handler;
  gulong                   closed_handler;
} WsPeer;

struct _WsServer
{
  PluaRuntime *runtime;
  lua_State   *L;              /* the main state, never a coroutine */
  SoupServer  *soup;
  PluaSoupListener *listener;
  GHashTable  *peers;          /* id → WsPeer*, until each is closed */
  lua_Integer  next_id;
  gboolean     running;        /* listening; holds PLUA_PENDING_SERVER */
  int          callbacks_ref;
  int          self_ref;       /* while running or peers remain */
  guint64      max_payload;
  guint16      port;
  char        *host;
};

static void
peer_free (WsPeer *p)
{
  g_clear_signal_handler (&p->message_handler, p->ws);
  g_clear_signal_handler (&p->error_handler, p->ws);
  g_clear_signal_handler (&p->closed_handler, p->ws);
  g_clear_object (&p->ws);
  g_free (p);
}

/* Each peer holds PLUA_PENDING_SOCKET; freeing one (through the hash table)
 * releases it. */
static void
peer_destroy (gpointer data)
{
  WsPeer *p = data;

  plua_runtime_release (p->server->runtime, PLUA_PENDING_SOCKET);
  peer_free (p);
}

/* Once stopped and without peers, the server lets go of its callbacks and of
 * its userdata (then collectable). Call with the userdata anchored. */
static void
server_maybe_done (WsServer *s)
{
  if (s->running || g_hash_table_size (s->peers) > 0)
    return;
  luaL_unref (s->L, LUA_REGISTRYINDEX, s->callbacks_ref);
  luaL_unref (s->L, LUA_REGISTRYINDEX, s->self_ref);
  s->callbacks_ref = LUA_NOREF;
  s->self_ref = LUA_NOREF;
}

static void
on_peer_message (SoupWebsocketConnection *ws,
                 int                      type,
                 GBytes                  *message,
                 WsPeer                  *p)
{
  WsServer *s = p->server;
  lua_State *L = s->L;

  lua_rawgeti (L, LUA_REGISTRYINDEX, s->self_ref);   /* anchor */
  lua_pushinteger (L, p->id);
  plua_net_push_bytes (L, message);
  lua_pushboolean (L, type == SOUP_WEBSOCKET_DATA_BINARY);
  dispatch_listeners (s->runtime, L, s->callbacks_ref, "receive", 3);
}

static void
on_peer_error (SoupWebsocketConnection *ws,
               GError                  *error,
               WsPeer                  *p)
{
  WsServer *s = p->server;
  lua_State *L = s->L;

  lua_rawgeti (L, LUA_REGISTRYINDEX, s->self_ref);
  lua_pushstring (L, error->message);
  lua_pushinteger (L, p->id);
  dispatch_listeners (s->runtime, L, s->callbacks_ref, "error", 2);
}

static void
on_peer_closed (SoupWebsocketConnection *ws,
                WsPeer                  *p)
{
  WsServer *s = p->server;
  lua_State *L = s->L;
  lua_Integer id = p->id;

  lua_rawgeti (L, LUA_REGISTRYINDEX, s->self_ref);   /* anchor */
  lua_rawgeti (L, LUA_REGISTRYINDEX, s->callbacks_ref);
  g_hash_table_remove (s->peers, &id);   /* frees p; getClients() no longer lists it */
  server_maybe_done (s);                 /* may drop callbacks_ref: the table is on the stack */
  lua_pushinteger (L, id);
  plua_net_spawn_table (s->runtime, L, -2, "disconnected", 1);
  lua_pop (L, 2);
  plua_runtime_dispatched (s->runtime);
}

static void
on_websocket (SoupServer              *soup,
              SoupServerMessage       *msg,
              const char              *path,
              SoupWebsocketConnection *ws,
              gpointer                 user_data)
{
  WsServer *s = user_data;
  lua_State *L = s->L;
  WsPeer *p;

  if (!s->running)
    {
      soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
      return;
    }
  p = g_new0 (WsPeer, 1);
  p->server = s;
  p->id = ++s->next_id;
  p->ws = g_object_ref (ws);
  soup_websocket_connection_set_max_incoming_payload_size (ws, s->max_payload);
  p->message_handler = g_signal_connect (ws, "message", G_CALLBACK (on_peer_message), p);
  p->error_handler = g_signal_connect (ws, "error", G_CALLBACK (on_peer_error), p);
  p->closed_handler = g_signal_connect (ws, "closed", G_CALLBACK (on_peer_closed), p);
  g_hash_table_insert (s->peers, &p->id, p);
  plua_runtime_hold (s->runtime, PLUA_PENDING_SOCKET);

  lua_rawgeti (L, LUA_REGISTRYINDEX, s->self_ref);
  lua_pushinteger (L, p->id);
  dispatch_listeners (s->runtime, L, s->callbacks_ref, "connected", 1);
}

/* Requests outside options.path: 404, and the connection closes (a client
 * that half-closes after a refused upgrade would otherwise wait on it). */
static void
on_other_path (SoupServer        *soup,
               SoupServerMessage *msg,
               const char        *path,
               GHashTable        *query,
               gpointer           user_data)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Connection", "close");
  soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
}

static gboolean
server_bind (WsServer    *s,
             const char  *host,
             guint16      port,
             GError     **error)
{
  g_autoptr (GInetAddress) address = plua_soup_resolve_host (host, error);

  if (address == NULL)
    return FALSE;
  s->listener = plua_soup_listener_new (s->soup, address, port, error);
  if (s->listener == NULL)
    return FALSE;
  s->port = plua_soup_listener_get_port (s->listener);
  return TRUE;
}

/* Stops accepting; connections not upgraded (yet) are dropped. */
static void
server_unbind (WsServer *s)
{
  g_clear_pointer (&s->listener, plua_soup_listener_free);
  soup_server_disconnect (s->soup);
}

/* listen(host, port, options, callbacks) → server | nil, message */
static int
l_listen (lua_State *L)
{
  const char *host = luaL_optstring (L, 1, "localhost");
  lua_Integer port = luaL_checkinteger (L, 2);
  const char *path = NULL;
  g_autoptr (GError) error = NULL;
  gboolean ok;
  WsServer *s;

  luaL_argcheck (L, port >= 0 && port <= 65535, 2, "port must be 0-65535");
  if (!lua_isnoneornil (L, 3))
    luaL_checktype (L, 3, LUA_TTABLE);
  luaL_checktype (L, 4, LUA_TTABLE);
  if (lua_istable (L, 3))
    {
      lua_getfield (L, 3, "path");
      path = lua_tostring (L, -1);   /* stays on the stack below the userdata */
      luaL_argcheck (L, path == NULL || path[0] == '/', 3, "options.path must start with '/'");
    }

  s = lua_newuserdatauv (L, sizeof (WsServer), 0);
  memset (s, 0, sizeof (WsServer));
  s->runtime = plua_runtime_from_lua (L);
  s->L = plua_runtime_get_state (s->runtime);   /* L may be a coroutine */
  s->callbacks_ref = LUA_NOREF;
  s->self_ref = LUA_NOREF;
  s->max_payload = opt_max_payload (L, 3);
  s->host = g_strdup (host);
  s->peers = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, peer_destroy);
  s->soup = soup_server_new ("server-header", "plua ", NULL);
  luaL_setmetatable (L, SERVER_MT);
  /* NULL (or "/") is the catch-all: libsoup matches handlers by path prefix. */
  soup_server_add_websocket_handler (s->soup, path, NULL, NULL, on_websocket, s, NULL);
  if (path != NULL && strcmp (path, "/") != 0)
    soup_server_add_early_handler (s->soup, NULL, on_other_path, NULL, NULL);

  ok = server_bind (s, host, (guint16) port, &error);
  if (!ok)
    {
      lua_pushnil (L);
      lua_pushstring (L, error->message);
      return 2;   /* the userdata is garbage now; its __gc frees the rest */
    }

  s->running = TRUE;
  plua_runtime_hold (s->runtime, PLUA_PENDING_SERVER);
  lua_pushvalue (L, 4);
  s->callbacks_ref = luaL_ref (L, LUA_REGISTRYINDEX);
  lua_pushvalue (L, -1);
  s->self_ref = luaL_ref (L, LUA_REGISTRYINDEX);
  return 1;
}

static WsServer *
check_server (lua_State *L)
{
  return luaL_checkudata (L, 1, SERVER_MT);
}

static WsPeer *
server_peer (WsServer    *s,
             lua_Integer  id)
{
  WsPeer *p = g_hash_table_lookup (s->peers, &id);

  if (p == NULL || soup_websocket_connection_get_state (p->ws) != SOUP_WEBSOCKET_STATE_OPEN)
    return NULL;
  return p;
}

/* server:send(id, data[, binary]) → true | false, message */
static int
l_server_send (lua_State *L)
{
  WsServer *s = check_server (L);
  lua_Integer id = luaL_checkinteger (L, 2);
  size_t len;
  const char *data = luaL_checklstring (L, 3, &len);
  WsPeer *p = server_peer (s, id);

  if (p == NULL)
    {
      lua_pushboolean (L, FALSE);
      lua_pushfstring (L, "Client %d not connected", (int) id);
      return 2;
    }
  send_data (p->ws, data, len, lua_toboolean (L, 4));
  lua_pushboolean (L, TRUE);
  return 1;
}

static int
compare_ids (gconstpointer a,
             gconstpointer b)
{
  lua_Integer x = *(const lua_Integer *) a, y = *(const lua_Integer *) b;

  return x < y ? -1 : x > y;
}

/* server:clients() → array of the open clients' ids, in connection order */
static int
l_server_clients (lua_State *L)
{
  WsServer *s = check_server (L);
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (lua_Integer));
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, s->peers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      WsPeer *p = value;

      if (soup_websocket_connection_get_state (p->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        g_array_append_val (ids, p->id);
    }
  g_array_sort (ids, compare_ids);
  lua_createtable (L, (int) ids->len, 0);
  for (guint i = 0; i < ids->len; i++)
    {
      lua_pushinteger (L, g_array_index (ids, lua_Integer, i));
      lua_rawseti (L, -2, i + 1);
    }
  return 1;
}

/* server:closeClient(id[, code[, reason]]) → true if it was open */
static int
l_server_close_client (lua_State *L)
{
  WsServer *s = check_server (L);
  lua_Integer id = luaL_checkinteger (L, 2);
  lua_Integer code = luaL_optinteger (L, 3, SOUP_WEBSOCKET_CLOSE_NORMAL);
  const char *reason = luaL_optstring (L, 4, NULL);
  WsPeer *p;

  luaL_argcheck (L, code == SOUP_WEBSOCKET_CLOSE_NORMAL || (code >= 3000 && code <= 4999), 3,
                 "close code must be 1000 or 3000-4999");
  p = server_peer (s, id);
  if (p != NULL)
    soup_websocket_connection_close (p->ws, (gushort) code, reason);
  lua_pushboolean (L, p != NULL);
  return 1;
}

/* server:stop(): stops listening and closes every client ("disconnected"
 * follows for each). Returns true if it was running. */
static int
l_server_stop (lua_State *L)
{
  WsServer *s = check_server (L);
  g_autoptr (GPtrArray) open = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  if (!s->running)
    {
      lua_pushboolean (L, FALSE);
      return 1;
    }
  s->running = FALSE;
  server_unbind (s);
  plua_runtime_release (s->runtime, PLUA_PENDING_SERVER);

  g_hash_table_iter_init (&iter, s->peers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      WsPeer *p = value;

      if (soup_websocket_connection_get_state (p->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        g_ptr_array_add (open, p->ws);
    }
  /* Closing never emits "closed" at once (libsoup waits for the peer), but
   * do not walk the table while closing, to be safe. */
  for (guint i = 0; i < open->len; i++)
    soup_websocket_connection_close (open->pdata[i], SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
  server_maybe_done (s);
  plua_runtime_dispatched (s->runtime);
  lua_pushboolean (L, TRUE);
  return 1;
}

static int
l_server_is_running (lua_State *L)
{
  lua_pushboolean (L, check_server (L)->running);
  return 1;
}

static int
l_server_port (lua_State *L)
{
  WsServer *s = check_server (L);

  if (s->port == 0)
    lua_pushnil (L);
  else
    lua_pushinteger (L, s->port);
  return 1;
}

static int
l_server_tostring (lua_State *L)
{
  WsServer *s = check_server (L);

  lua_pushfstring (L, "WebSocket server %s:%d (%s, %d clients)", s->host, (int) s->port,
                   s->running ? "running" : "stopped",
                   (int) g_hash_table_size (s->peers));
  return 1;
}

/* __gc: the state is closing, or the server is done (or never bound). */
static int
l_server_gc (lua_State *L)
{
  WsServer *s = check_server (L);

  if (s->soup == NULL)
    return 0;
  if (s->running)
    {
      s->running = FALSE;
      plua_runtime_release (s->runtime, PLUA_PENDING_SERVER);
    }
  g_clear_pointer (&s->peers, g_hash_table_unref);
  server_unbind (s);
  g_clear_object (&s->soup);
  g_clear_pointer (&s->host, g_free);
  return 0;
}

/* __close: a to-be-closed server stops. */
static int
l_server_close (lua_State *L)
{
  lua_settop (L, 1);
  return l_server_stop (L);
}

static const luaL_Reg server_methods[] = {
  { "send", l_server_send },
  { "clients", l_server_clients },
  { "closeClient", l_server_close_client },
  { "stop", l_server_stop },
  { "isRunning", l_server_is_running },
  { "port", l_server_port },
  { NULL, NULL }
};

/* ------------------------------------------------------------------------ */
/* module                                                                    */

static int
module_gc (lua_State *L)
{
  WsModule *m = lua_touserdata (L, 1);

  g_clear_object (&m->session);
  return 0;
}

static int
l_client_close_metamethod (lua_State *L)
{
  lua_settop (L, 1);
  return l_client_close (L);
}

static const luaL_Reg module_functions[] = {
  { "connect", l_connect },
  { "listen", l_listen },
  { NULL, NULL }
};

/* require "plua.websocket" (through the module table) */
int
plua_websocket_luaopen (lua_State *L)
{
  WsModule *m;

  m = lua_newuserdatauv (L, sizeof (WsModule), 0);
  m->session = NULL;
  lua_newtable (L);
  lua_pushcfunction (L, module_gc);
  lua_setfield (L, -2, "__gc");
  lua_setmetatable (L, -2);
  lua_rawsetp (L, LUA_REGISTRYINDEX, &module_key);   /* lives as long as the state */

  plua_net_new_class (L, CLIENT_MT, client_methods, l_client_tostring, l_client_gc,
                      l_client_close_metamethod);
  plua_net_new_class (L, SERVER_MT, server_methods, l_server_tostring, l_server_gc,
                      l_server_close);

  luaL_newlib (L, module_functions);
  return 1;
}
