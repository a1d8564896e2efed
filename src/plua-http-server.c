/* plua-http-server.c: the HTTP server primitives behind net.HTTPServer
 * (lua/net/http.lua), on SoupServer.
 *
 * Lua side (require "plua.http.server"):
 *   new() → server; server:listen(host, port, handler); server:port();
 *   server:stop(). handler(method, path, body, request) runs in a pooled
 *   coroutine for each request and returns body, status[, headers]; returning
 *   nothing leaves the answer to request:respond(body, status, headers), and
 *   until then the message is paused. A handler that sleeps is waited for the
 *   same way. libsoup does the protocol: keep-alive, chunked request bodies,
 *   HEAD (no body sent), Content-Length.
 *
 * Response bodies: a table is sent as JSON (application/json); a string as is,
 * with the Content-Type of the returned headers or, failing that, sniffed:
 * application/json when it starts with { or [ and parses as JSON, text/html
 * when it starts with <!DOCTYPE html or <html, text/plain; charset=utf-8 when
 * it is valid UTF-8, application/octet-stream otherwise.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <lauxlib.h>
#include <libsoup/soup.h>

#include "plua-json.h"
#include "plua-json-scan.h"
#include "plua-net-common.h"
#include "plua-net-soup.h"
#include "plua-net.h"
#include "plua-runtime.h"
#include "plua-soup-listener.h"

#define SERVER_MT  "plua.http.server"
#define REQUEST_MT "plua.http.request"
/* The same with a __gc, given only to a request left waiting for an answer.
 * A finalizer on every request made Lua's collector fall behind: over a
 * million requests the heap grew from 94 KB to 49 MB of garbage. */
#define WAITING_REQUEST_MT "plua.http.request.waiting"
#define HEADERS_MT "plua.http.headers"

typedef struct
{
  PluaRuntime *runtime;
  lua_State   *L;            /* the main state */
  SoupServer  *server;       /* NULL when not listening */
  PluaSoupListener *listener;
  int          handler_ref;
  int          self_ref;     /* keeps the userdata alive while listening */
  char        *address;      /* "host:port" while listening */
  guint        port;
} Server;

typedef struct
{
  SoupServer        *server;
  SoupServerMessage *msg;
  int                self_ref;   /* while the handler runs */
                                 /* msg is NULL once answered or gone */
  gboolean           answered;
  gboolean           paused;
  gboolean           watching;   /* our signal handlers are connected */
} Request;

/* --- responses ----------------------------------------------------------------- */

static const char *
sniff_content_type (const char *data,
                    size_t      len)
{
  size_t i = 0;

  while (i < len && g_ascii_isspace (data[i]))
    i++;
  /* JSON as json.decode reads it, nesting limit included: a body nested
   * deeper than that is sent as text. */
  if (i < len && (data[i] == '{' || data[i] == '[') &&
      plua_json_scan (data, len, PLUA_JSON_MAX_DEPTH, NULL, NULL, NULL, NULL))
    return "application/json";
  if (len - i >= 14 && g_ascii_strncasecmp (data + i, "<!DOCTYPE html", 14) == 0)
    return "text/html; charset=utf-8";
  if (len - i >= 5 && g_ascii_strncasecmp (data + i, "<html", 5) == 0)
    return "text/html; charset=utf-8";
  if (g_utf8_validate_len (data, len, NULL))
    return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

/* Checks body, status and headers at base, base+1, base+2 of L; on a
 * problem pushes a message and returns FALSE. Allocates nothing. */
static gboolean
check_response (lua_State *L,
                int        base)
{
  int body_type = lua_type (L, base);

  if (body_type != LUA_TNIL && body_type != LUA_TNONE && body_type != LUA_TSTRING &&
      body_type != LUA_TNUMBER && body_type != LUA_TTABLE)
    {
      lua_pushfstring (L, "response body must be a string or a table, not a %s",
                       luaL_typename (L, base));
      return FALSE;
    }
  if (!lua_isnoneornil (L, base + 1))
    {
      int ok;
      lua_Integer status = lua_tointegerx (L, base + 1, &ok);

      if (!ok || status < 100 || status > 599)
        {
          lua_pushfstring (L, "response status must be an integer from 100 to 599");
          return FALSE;
        }
    }
  if (!lua_isnoneornil (L, base + 2))
    {
      if (!lua_istable (L, base + 2))
        {
          lua_pushliteral (L, "response headers must be a table");
          return FALSE;
        }
      lua_pushnil (L);
      while (lua_next (L, base + 2) != 0)
        {
          size_t nlen, vlen;
          const char *name, *value;

          if (lua_type (L, -2) != LUA_TSTRING ||
              (lua_type (L, -1) != LUA_TSTRING && lua_type (L, -1) != LUA_TNUMBER))
            {
              lua_pop (L, 2);
              lua_pushliteral (L, "response headers must map names to strings");
              return FALSE;
            }
          name = lua_tolstring (L, -2, &nlen);
          lua_pushvalue (L, -1);
          value = lua_tolstring (L, -1, &vlen);
          if (!plua_net_is_token (name, nlen) || strlen (value) != vlen || strpbrk (value, "\r\n") != NULL)
            {
              lua_pop (L, 3);
              lua_pushfstring (L, "invalid response header '%s'", name);
              return FALSE;
            }
          lua_pop (L, 2);
        }
    }
  return TRUE;
}

static void request_release (Request *req);

/* Sends body, status, headers found at base.. of L (already checked). On a
 * JSON encoding failure pushes a message and returns FALSE, sending nothing. */
static gboolean
send_response (Request   *req,
               lua_State *L,
               int        base)
{
  SoupServerMessage *msg = req->msg;   /* NULL when the client is gone */
  SoupMessageHeaders *headers = msg != NULL ? soup_server_message_get_response_headers (msg) : NULL;
  const char *content_type = NULL;
  char *header_type = NULL;
  guint status = lua_isnoneornil (L, base + 1) ? 200 : (guint) lua_tointeger (L, base + 1);
  char *json = NULL;
  const char *data = "";
  size_t len = 0;

  if (lua_istable (L, base))
    {
      GError *error = NULL;

      json = plua_json_encode (L, base, FALSE, &error);
      if (json == NULL)
        {
          lua_pushfstring (L, "cannot send the response body as JSON: %s", error->message);
          g_error_free (error);
          return FALSE;
        }
      data = json;
      len = strlen (json);
      content_type = "application/json";
    }
  else if (!lua_isnoneornil (L, base))
    {
      data = lua_tolstring (L, base, &len);
    }

  if (msg != NULL)
    {
      if (lua_istable (L, base + 2))
        {
          lua_pushnil (L);
          while (lua_next (L, base + 2) != 0)
            {
              const char *name = lua_tostring (L, -2);
              const char *value;

              lua_pushvalue (L, -1);
              value = lua_tostring (L, -1);
              if (g_ascii_strcasecmp (name, "Content-Type") == 0)
                {
                  g_free (header_type);
                  content_type = header_type = g_strdup (value);
                }
              else if (g_ascii_strcasecmp (name, "Content-Length") != 0 &&
                       g_ascii_strcasecmp (name, "Transfer-Encoding") != 0)
                soup_message_headers_replace (headers, name, value);
              lua_pop (L, 2);
            }
        }
      if (content_type == NULL && len > 0)
        content_type = sniff_content_type (data, len);
      soup_server_message_set_status (msg, status, NULL);
      soup_server_message_set_response (msg, content_type, SOUP_MEMORY_COPY, data, len);
      if (req->paused)
        {
          req->paused = FALSE;
          soup_server_message_unpause (msg);
        }
    }
  req->answered = TRUE;
  request_release (req);
  g_free (header_type);
  g_free (json);
  return TRUE;
}

static void
send_error (Request    *req,
            guint       status,
            const char *text)
{
  req->answered = TRUE;
  if (req->msg == NULL)
    return;
  soup_server_message_set_status (req->msg, status, NULL);
  soup_server_message_set_response (req->msg, "text/plain; charset=utf-8",
                                    SOUP_MEMORY_COPY, text, strlen (text));
  if (req->paused)
    {
      req->paused = FALSE;
      soup_server_message_unpause (req->msg);
    }
  request_release (req);
}

/* --- the request object ------------------------------------------------------------ */

static int request_index (lua_State *L);

/* lua_next as a Lua function, the iterator __pairs hands out */
static int
plua_next (lua_State *L)
{
  luaL_checktype (L, 1, LUA_TTABLE);
  lua_settop (L, 2);
  if (lua_next (L, 1))
    return 2;
  lua_pushnil (L);
  return 1;
}

static void
on_message_finished (SoupServerMessage *msg,
                     gpointer           user_data)
{
  Request *req = user_data;

  req->paused = FALSE;
  request_release (req);
}

/* Drops our hold on the message once it is answered or gone; libsoup keeps
 * what it still needs. Holding it until the Lua GC finalizes the request
 * object made GObject's cleanup of many live messages cost 40 % of the
 * requests/s. So fields not read before answering are nil afterwards. */
static void
request_release (Request *req)
{
  if (req->msg == NULL)
    return;
  if (req->watching)
    g_signal_handlers_disconnect_by_data (req->msg, req);
  req->watching = FALSE;
  g_clear_object (&req->msg);
  g_clear_object (&req->server);
}

static Request *
check_request (lua_State *L,
               int        idx)
{
  Request *req = luaL_testudata (L, idx, REQUEST_MT);

  return req != NULL ? req : luaL_checkudata (L, idx, WAITING_REQUEST_MT);
}

static Request *
push_request (lua_State         *L,
              SoupServer        *server,
              SoupServerMessage *msg)
{
  Request *req = lua_newuserdatauv (L, sizeof (Request), 1);

  memset (req, 0, sizeof *req);
  req->server = g_object_ref (server);
  req->msg = g_object_ref (msg);
  req->self_ref = LUA_NOREF;
  luaL_setmetatable (L, REQUEST_MT);
  return req;
}

/* Waits for a later answer. Only then do we need to know whether the
 * client went away: connecting signals on every message costs ~15 %. */
static void
request_pause (Request *req)
{
  req->paused = TRUE;
  req->watching = TRUE;
  g_signal_connect (req->msg, "finished", G_CALLBACK (on_message_finished), req);
  g_signal_connect (req->msg, "disconnected", G_CALLBACK (on_message_finished), req);
  soup_server_message_pause (req->msg);
}

static int
request_gc (lua_State *L)
{
  Request *req = check_request (L, 1);

  /* Nobody can answer any more: do not leave the client waiting. */
  if (!req->answered && req->paused)
    send_error (req, 500, "The request handler did not respond\n");
  request_release (req);
  return 0;
}

/* request:respond(body, status, headers) → true when sent, false when the
 * client is gone. Raises when the request was already answered. */
static int
request_respond (lua_State *L)
{
  Request *req = check_request (L, 1);
  gboolean live = req->msg != NULL;

  if (req->answered)
    return luaL_error (L, "request:respond: this request was already answered");
  if (!check_response (L, 2))
    return luaL_error (L, "request:respond: %s", lua_tostring (L, -1));
  if (!send_response (req, L, 2))
    return luaL_error (L, "request:respond: %s", lua_tostring (L, -1));
  lua_pushboolean (L, live);
  return 1;
}

static void
push_query (lua_State *L,
            GUri      *uri)
{
  const char *query = g_uri_get_query (uri);
  GHashTable *form;
  GHashTableIter iter;
  gpointer key, value;

  lua_newtable (L);
  if (query == NULL)
    return;
  form = soup_form_decode (query);
  g_hash_table_iter_init (&iter, form);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      lua_pushstring (L, value);
      lua_setfield (L, -2, key);
    }
  g_hash_table_unref (form);
}

static void
push_request_headers (lua_State         *L,
                      SoupServerMessage *msg)
{
  plua_net_push_headers (L, soup_server_message_get_request_headers (msg));
  luaL_setmetatable (L, HEADERS_MT);
}

/* Header tables have lower-case keys; other spellings are looked up too. */
static int
headers_index (lua_State *L)
{
  size_t len;
  const char *key;
  char buf[128];

  if (lua_type (L, 2) != LUA_TSTRING)
    return 0;
  key = lua_tolstring (L, 2, &len);
  if (len >= sizeof buf)
    return 0;
  for (size_t i = 0; i <= len; i++)
    buf[i] = g_ascii_tolower (key[i]);
  if (memcmp (buf, key, len) == 0)
    return 0;
  lua_pushlstring (L, buf, len);
  lua_rawget (L, 1);
  return 1;
}

static void
push_body (lua_State         *L,
           SoupServerMessage *msg)
{
  GBytes *bytes = soup_message_body_flatten (soup_server_message_get_request_body (msg));

  plua_net_push_bytes (L, bytes);
  g_bytes_unref (bytes);
}

/* Fields are made on first access and kept in the user value table. */
static gboolean
push_field (lua_State  *L,
            Request    *req,
            const char *key)
{
  SoupServerMessage *msg = req->msg;

  if (strcmp (key, "method") == 0)
    lua_pushstring (L, soup_server_message_get_method (msg));
  else if (strcmp (key, "path") == 0)
    lua_pushstring (L, g_uri_get_path (soup_server_message_get_uri (msg)));
  else if (strcmp (key, "query") == 0)
    push_query (L, soup_server_message_get_uri (msg));
  else if (strcmp (key, "headers") == 0)
    push_request_headers (L, msg);
  else if (strcmp (key, "body") == 0)
    push_body (L, msg);
  else if (strcmp (key, "client_ip") == 0)
    lua_pushstring (L, soup_server_message_get_remote_host (msg));
  else if (strcmp (key, "client_port") == 0)
    {
      GSocketAddress *address = soup_server_message_get_remote_address (msg);

      if (G_IS_INET_SOCKET_ADDRESS (address))
        lua_pushinteger (L, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address)));
      else
        lua_pushnil (L);
    }
  else
    return FALSE;
  return TRUE;
}

static void
push_fields (lua_State *L,
             int        idx)
{
  if (lua_getiuservalue (L, idx, 1) != LUA_TTABLE)
    {
      lua_pop (L, 1);
      lua_newtable (L);
      lua_pushvalue (L, -1);
      lua_setiuservalue (L, idx, 1);
    }
}

/* The request's headers table (made once, kept with the other fields), or
 * nil once the request is answered without its headers having been read. */
static void
push_headers_field (lua_State *L)
{
  lua_pushcfunction (L, request_index);
  lua_pushvalue (L, 1);
  lua_pushliteral (L, "headers");
  lua_call (L, 2, 1);
}

/* Any other key is a header name, looked up case-insensitively: the
 * original plua called handler(method, path, body, headers), so the 4th
 * argument also behaves as the headers table (request["content-type"],
 * pairs(request), json.encode(request)). */
static int
request_header (lua_State *L)
{
  push_headers_field (L);
  if (!lua_istable (L, -1))
    return 0;
  lua_pushvalue (L, 2);
  lua_gettable (L, -2);
  return 1;
}

/* pairs(request): the headers, name → value */
static int
request_pairs (lua_State *L)
{
  luaL_checkudata (L, 1, REQUEST_MT);
  lua_pushcfunction (L, plua_next);
  push_headers_field (L);
  if (!lua_istable (L, -1))
    {
      lua_pop (L, 1);
      lua_newtable (L);
    }
  lua_pushnil (L);
  return 3;
}

/* json.encode(request): the headers table */
static int
request_tojson (lua_State *L)
{
  luaL_checkudata (L, 1, REQUEST_MT);
  push_headers_field (L);
  return 1;
}

static int
request_index (lua_State *L)
{
  Request *req = check_request (L, 1);
  const char *key;

  if (lua_type (L, 2) == LUA_TSTRING && strcmp (lua_tostring (L, 2), "respond") == 0)
    {
      lua_pushcfunction (L, request_respond);
      return 1;
    }
  push_fields (L, 1);
  lua_pushvalue (L, 2);
  if (lua_rawget (L, -2) != LUA_TNIL || lua_type (L, 2) != LUA_TSTRING || req->msg == NULL)
    return 1;
  lua_pop (L, 1);
  key = lua_tostring (L, 2);
  if (!push_field (L, req, key))
    return request_header (L);
  lua_pushvalue (L, -1);
  lua_setfield (L, -3, key);
  return 1;
}

static int
request_newindex (lua_State *L)
{
  check_request (L, 1);
  push_fields (L, 1);
  lua_insert (L, 2);
  lua_rawset (L, 2);
  return 0;
}

static int
request_tostring (lua_State *L)
{
  Request *req = check_request (L, 1);

  if (req->msg == NULL)
    {
      lua_pushstring (L, req->answered ? "HTTPRequest (answered)" : "HTTPRequest (client gone)");
      return 1;
    }
  lua_pushfstring (L, "HTTPRequest %s %s%s", soup_server_message_get_method (req->msg),
                   g_uri_get_path (soup_server_message_get_uri (req->msg)),
                   req->answered ? " (answered)" : "");
  return 1;
}

/* --- request dispatch -------------------------------------------------------------------- */

static void
handler_done (PluaRuntime *runtime,
              lua_State   *co,
              int          status,
              int          nresults,
              gpointer     user_data)
{
  Request *req = user_data;
  lua_State *L = plua_runtime_get_state (runtime);

  if (status != LUA_OK)
    {
      /* Already reported with its traceback. */
      if (!req->answered)
        send_error (req, 500, "Internal Server Error\n");
    }
  else if (!req->answered)
    {
      int base = lua_gettop (co) - nresults + 1;

      lua_settop (co, base + 2);   /* body, status, headers (nil when missing) */
      if (!lua_isnil (co, base) || !lua_isnil (co, base + 1))
        {
          if (!check_response (co, base) || !send_response (req, co, base))
            {
              lua_pushfstring (co, "HTTPServer handler: %s", lua_tostring (co, -1));
              plua_runtime_report_error (runtime, co, NULL);
              lua_pop (co, 2);
              send_error (req, 500, "Internal Server Error\n");
            }
        }
      /* Else the handler answers later with request:respond. */
    }
  luaL_unref (L, LUA_REGISTRYINDEX, req->self_ref);
  req->self_ref = LUA_NOREF;
}

static void
handle_request (SoupServer        *server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  Server *self = user_data;
  lua_State *L = self->L;
  GUri *uri = soup_server_message_get_uri (msg);
  Request *req;

  lua_rawgeti (L, LUA_REGISTRYINDEX, self->handler_ref);
  lua_pushstring (L, soup_server_message_get_method (msg));
  /* As in the original plua, the path argument keeps the query string. */
  if (g_uri_get_query (uri) != NULL)
    lua_pushfstring (L, "%s?%s", g_uri_get_path (uri), g_uri_get_query (uri));
  else
    lua_pushstring (L, g_uri_get_path (uri));
  push_body (L, msg);
  req = push_request (L, server, msg);
  lua_pushvalue (L, -1);
  req->self_ref = luaL_ref (L, LUA_REGISTRYINDEX);
  lua_pushvalue (L, -1);
  lua_insert (L, -6);   /* below the handler and its arguments */

  plua_runtime_spawn (self->runtime, L, 4, PLUA_SPAWN_DEFAULT, handler_done, req);
  if (!req->answered)
    {
      /* Now someone may drop it unanswered: the finalizer answers 500. */
      luaL_setmetatable (L, WAITING_REQUEST_MT);
      request_pause (req);
    }
  lua_pop (L, 1);
  plua_runtime_dispatched (self->runtime);
}

/* --- the server object ----------------------------------------------------------------------- */

static void
server_close (Server *self)
{
  if (self->server == NULL)
    return;
  g_clear_pointer (&self->listener, plua_soup_listener_free);
  soup_server_disconnect (self->server);
  g_clear_object (&self->server);
  g_clear_pointer (&self->address, g_free);
  self->port = 0;
}

/* Stops listening; TRUE when it was listening. */
static gboolean
server_stop (lua_State *L,
             Server    *self)
{
  if (self->server == NULL)
    return FALSE;
  server_close (self);
  luaL_unref (L, LUA_REGISTRYINDEX, self->handler_ref);
  self->handler_ref = LUA_NOREF;
  luaL_unref (L, LUA_REGISTRYINDEX, self->self_ref);
  self->self_ref = LUA_NOREF;
  plua_runtime_release (self->runtime, PLUA_PENDING_SERVER);
  plua_runtime_dispatched (self->runtime);
  return TRUE;
}

/* new() → server (not listening yet) */
static int
l_server_new (lua_State *L)
{
  PluaRuntime *runtime = plua_runtime_from_lua (L);
  Server *self = lua_newuserdatauv (L, sizeof (Server), 0);

  memset (self, 0, sizeof *self);
  self->runtime = runtime;
  self->L = plua_runtime_get_state (runtime);
  self->handler_ref = LUA_NOREF;
  self->self_ref = LUA_NOREF;
  luaL_setmetatable (L, SERVER_MT);
  return 1;
}

/* The address to bind: numeric addresses as given, "localhost" as
 * 127.0.0.1, other names resolved (blocking, once, at start). */
static gboolean
server_listen (Server      *self,
               const char  *host,
               guint        port,
               GError     **error)
{
  g_autoptr (GInetAddress) inet = NULL;
  g_autoptr (SoupServer) server = NULL;
  g_autofree char *ip = NULL;

  inet = plua_soup_resolve_host (host, error);
  if (inet == NULL)
    return FALSE;
  server = soup_server_new ("server-header", "plua/" PACKAGE_VERSION " ", NULL);
  self->listener = plua_soup_listener_new (server, inet, port, error);
  if (self->listener == NULL)
    return FALSE;

  self->port = plua_soup_listener_get_port (self->listener);
  ip = g_inet_address_to_string (inet);
  self->address = g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6
                  ? g_strdup_printf ("[%s]:%u", ip, self->port)
                  : g_strdup_printf ("%s:%u", ip, self->port);
  soup_server_add_handler (server, NULL, handle_request, self, NULL);
  self->server = g_steal_pointer (&server);
  return TRUE;
}

/* server:listen(host, port, handler): raises with the reason when the
 * address cannot be bound; never falls back to another address. */
static int
l_server_listen (lua_State *L)
{
  Server *self = luaL_checkudata (L, 1, SERVER_MT);
  const char *host = luaL_checkstring (L, 2);
  lua_Integer port = luaL_checkinteger (L, 3);
  GError *error = NULL;

  luaL_argcheck (L, port >= 0 && port <= 65535, 3, "port must be from 0 to 65535");
  luaL_checktype (L, 4, LUA_TFUNCTION);
  if (self->server != NULL)
    return luaL_error (L, "HTTPServer: already listening on %s", self->address);

  if (!server_listen (self, host, (guint) port, &error))
    {
      lua_pushfstring (L, "HTTPServer: cannot listen on %s:%d: %s", host, (int) port, error->message);
      g_error_free (error);
      return lua_error (L);
    }
  lua_pushvalue (L, 4);
  self->handler_ref = luaL_ref (L, LUA_REGISTRYINDEX);
  lua_pushvalue (L, 1);
  self->self_ref = luaL_ref (L, LUA_REGISTRYINDEX);
  plua_runtime_hold (self->runtime, PLUA_PENDING_SERVER);
  return 0;
}

/* server:port() → the bound port (useful after listening on port 0), or nil */
static int
l_server_port (lua_State *L)
{
  Server *self = luaL_checkudata (L, 1, SERVER_MT);

  if (self->server == NULL)
    return 0;
  lua_pushinteger (L, self->port);
  return 1;
}

/* server:stop() → true when it was listening */
static int
l_server_stop (lua_State *L)
{
  Server *self = luaL_checkudata (L, 1, SERVER_MT);

  lua_pushboolean (L, server_stop (L, self));
  return 1;
}

static int
l_server_gc (lua_State *L)
{
  Server *self = luaL_checkudata (L, 1, SERVER_MT);

  /* Only reached unlistened, or when the Lua state closes: the runtime is
   * going away, so no pending count to release. */
  server_close (self);
  return 0;
}

static int
l_server_tostring (lua_State *L)
{
  Server *self = luaL_checkudata (L, 1, SERVER_MT);

  if (self->server != NULL)
    lua_pushfstring (L, "HTTPServer http://%s", self->address);
  else
    lua_pushliteral (L, "HTTPServer (not listening)");
  return 1;
}

static const luaL_Reg server_methods[] = {
  { "listen", l_server_listen },
  { "port", l_server_port },
  { "stop", l_server_stop },
  { NULL, NULL }
};

static const luaL_Reg server_meta[] = {
  { "__gc", l_server_gc },
  { "__close", l_server_stop },
  { "__tostring", l_server_tostring },
  { NULL, NULL }
};

static const luaL_Reg request_meta[] = {
  { "__index", request_index },
  { "__newindex", request_newindex },
  { "__tostring", request_tostring },
  { "__pairs", request_pairs },
  { "__tojson", request_tojson },
  { NULL, NULL }
};

/* require "plua.http.server" (through the module table) */
int
plua_http_server_luaopen (lua_State *L)
{
  luaL_newmetatable (L, SERVER_MT);
  luaL_setfuncs (L, server_meta, 0);
  luaL_newlib (L, server_methods);
  lua_setfield (L, -2, "__index");
  lua_pop (L, 1);

  luaL_newmetatable (L, REQUEST_MT);
  luaL_setfuncs (L, request_meta, 0);
  lua_pop (L, 1);
  luaL_newmetatable (L, WAITING_REQUEST_MT);
  luaL_setfuncs (L, request_meta, 0);
  lua_pushcfunction (L, request_gc);
  lua_setfield (L, -2, "__gc");
  lua_pop (L, 1);

  luaL_newmetatable (L, HEADERS_MT);
  lua_pushcfunction (L, headers_index);
  lua_setfield (L, -2, "__index");
  lua_pop (L, 1);

  lua_newtable (L);
  lua_pushcfunction (L, l_server_new);
  lua_setfield (L, -2, "new");
  return 1;
}
