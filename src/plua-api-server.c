/* plua-api-server.c: the REST API server on libsoup.
 *
 * Routes (api-descriptions/plua.json describes them): GET /, /openapi.json,
 * /plua/status, /plua/info, /plua/state; POST /plua/execute; the HC3 routes
 * under /api/ (plua-api-hc3.c); GET /ws (WebSocket: every printed line);
 * GET /web, /docs and /static/... (pages from GResource, plua-api-static.c).
 *
 * Safe by default: it listens on 127.0.0.1 and then only answers requests
 * whose Host is a loopback name (no DNS rebinding). There is always an access
 * token (configured, or random per run): the routes that run code
 * (/plua/execute, /ws) require it everywhere, as Jupyter does, since on a
 * shared machine every local account can reach loopback; off loopback, or
 * when the token was configured, every route but the pages and their assets
 * requires it. It comes as Authorization: Bearer, X-Plua-Token (when
 * Authorization carries HC3 Basic credentials), the cookie a page load with
 * ?token= sets (the URL plua prints), or ?token= on /ws. Requests from another
 * site or origin (Origin, Sec-Fetch-Site, Referer) are refused on every route
 * but the pages, whatever the method, so no <img> can switch a device; clients
 * that send none of these headers (curl, HC3 tools) are not affected. No CORS
 * header is ever sent. Bodies over the limit get 413; nested JSON is refused
 * before json-glib's recursive parser sees it.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <gio/gio.h>
#include <lauxlib.h>
#include <libsoup/soup.h>
#include <json-glib/json-glib.h>

#include "plua-api-private.h"
#include "plua-api-server.h"
#include "plua-json.h"
#include "plua-json-scan.h"
#include "plua-soup-listener.h"

struct _PluaApiServer
{
  GObject        parent_instance;

  PluaRuntime   *runtime;
  SoupServer    *server;
  PluaSoupListener *listener;
  PluaApiCalls  *calls;
  PluaApiHc3    *hc3;
  GBytes        *openapi;        /* built on first request */
  GPtrArray     *websockets;     /* SoupWebsocketConnection, open ones */
  gulong         output_id;

  char          *host;           /* as given: 127.0.0.1, ::1, 0.0.0.0, ... */
  char          *token;          /* set once listening (random unless configured) */
  char          *cookie_name;    /* plua-token-PORT: cookies do not tell ports apart */
  gboolean       token_everywhere; /* configured, or off loopback: every route */
  gboolean       loopback_only;  /* no token on /api: check Host against rebinding */
  guint64        max_body;
  guint          port;
  gint64         started;        /* monotonic µs */
};

G_DEFINE_FINAL_TYPE (PluaApiServer, plua_api_server, G_TYPE_OBJECT)

typedef struct
{
  const char *method;
  const char *path;
  const char *summary;
} RouteInfo;

/* For GET /: the same list as api-descriptions/plua.json. */
static const RouteInfo routes[] = {
  { "GET", "/", "this index" },
  { "GET", "/openapi.json", "OpenAPI 3 description of this API" },
  { "GET", "/web", "web REPL" },
  { "GET", "/docs", "API documentation: HC3 routes by tag, try a request" },
  { "POST", "/plua/execute", "run Lua code: {\"code\", \"timeout\", \"qa\"}" },
  { "GET", "/plua/status", "runtime status" },
  { "GET", "/plua/info", "API and runtime information" },
  { "GET", "/plua/state", "runtime state" },
  { "GET", "/ws", "WebSocket: printed lines as {\"type\":\"output\",\"text\"}" },
  { "ANY", "/api/...", "Fibaro HC3 API (see /openapi.json), answered by _PY.fibaro_api_hook" },
};

static void
close_websockets (PluaApiServer *self)
{
  while (self->websockets->len > 0)
    {
      SoupWebsocketConnection *conn = g_ptr_array_steal_index (self->websockets, self->websockets->len - 1);

      g_signal_handlers_disconnect_by_data (conn, self);
      if (soup_websocket_connection_get_state (conn) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "plua stopped");
      g_object_unref (conn);
    }
}

static void
plua_api_server_dispose (GObject *object)
{
  PluaApiServer *self = PLUA_API_SERVER (object);

  plua_api_server_stop (self);
  g_clear_signal_handler (&self->output_id, self->runtime);
  g_clear_object (&self->server);
  g_clear_object (&self->runtime);

  G_OBJECT_CLASS (plua_api_server_parent_class)->dispose (object);
}

static void
plua_api_server_finalize (GObject *object)
{
  PluaApiServer *self = PLUA_API_SERVER (object);

  g_ptr_array_unref (self->websockets);
  g_clear_pointer (&self->openapi, g_bytes_unref);
  g_free (self->host);
  g_free (self->token);
  g_free (self->cookie_name);

  G_OBJECT_CLASS (plua_api_server_parent_class)->finalize (object);
}

static void
plua_api_server_class_init (PluaApiServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = plua_api_server_dispose;
  object_class->finalize = plua_api_server_finalize;
}

static void
plua_api_server_init (PluaApiServer *self)
{
  self->websockets = g_ptr_array_new ();
}

/* Helpers ------------------------------------------------------------------ */

static gboolean
is_default_loopback (const char *host)
{
  return g_str_equal (host, "127.0.0.1") || g_str_equal (host, "::1") ||
         g_ascii_strcasecmp (host, "localhost") == 0;
}

static char *
random_token (void)
{
  guint8 bytes[16];
  GString *token = g_string_sized_new (33);

  if (getrandom (bytes, sizeof bytes, 0) != sizeof bytes)
    for (guint i = 0; i < sizeof bytes; i++)
      bytes[i] = g_random_int_range (0, 256);
  for (guint i = 0; i < sizeof bytes; i++)
    g_string_append_printf (token, "%02x", bytes[i]);
  return g_string_free (token, FALSE);
}

/* Constant time, so a secret cannot be guessed byte by byte. */
gboolean
plua_api_secret_equal (const char *given,
                       gsize       given_len,
                       const char *secret)
{
  gsize len = strlen (secret);
  guint8 diff = given_len != len;

  for (gsize i = 0; i < len; i++)
    diff |= (guint8) given[i < given_len ? i : 0] ^ (guint8) secret[i];
  return given_len > 0 && diff == 0;
}

/* The host part of a Host header: "[::1]:80" -> "::1", "a:80" -> "a". */
static char *
host_name (const char *host_header)
{
  const char *colon;

  if (host_header[0] == '[')
    {
      const char *end = strchr (host_header, ']');
      return end != NULL ? g_strndup (host_header + 1, end - host_header - 1) : NULL;
    }
  colon = strrchr (host_header, ':');
  return colon != NULL ? g_strndup (host_header, colon - host_header) : g_strdup (host_header);
}

/* Bound to loopback without a token: only loopback names may be in Host, so
 * a web page that rebinds its own name to 127.0.0.1 gets nothing. */
static gboolean
host_allowed (PluaApiServer     *self,
              SoupServerMessage *msg)
{
  const char *header;
  g_autofree char *name = NULL;
  g_autoptr(GInetAddress) address = NULL;

  if (!self->loopback_only)
    return TRUE;
  header = soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "Host");
  if (header == NULL)
    return TRUE;   /* HTTP/1.0 without Host: not a browser */
  name = host_name (header);
  if (name == NULL)
    return FALSE;
  if (g_ascii_strcasecmp (name, "localhost") == 0 || g_ascii_strcasecmp (name, self->host) == 0)
    return TRUE;
  address = g_inet_address_new_from_string (name);
  return address != NULL && g_inet_address_get_is_loopback (address);
}

static gboolean
is_page (const char *path)
{
  return g_str_equal (path, "/web") || g_str_equal (path, "/docs") || g_str_has_prefix (path, "/static/");
}

/* Routes that run code in plua's Lua state (or will, from a page). */
static gboolean
runs_code (const char *path)
{
  return g_str_equal (path, "/plua/execute") || g_str_equal (path, "/ws");
}

static gboolean
token_equal (PluaApiServer *self,
             const char    *given)
{
  return given != NULL && plua_api_secret_equal (given, strlen (given), self->token);
}

static gboolean
cookie_has_token (PluaApiServer     *self,
                  SoupServerMessage *msg)
{
  const char *header = soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "Cookie");
  g_autoptr(GHashTable) cookies = NULL;

  if (header == NULL)
    return FALSE;
  cookies = soup_header_parse_semi_param_list (header);
  return token_equal (self, g_hash_table_lookup (cookies, self->cookie_name));
}

static gboolean
authorized (PluaApiServer     *self,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *header;

  if (self->token == NULL || !(runs_code (path) || (self->token_everywhere && !is_page (path))))
    return TRUE;
  header = soup_message_headers_get_one (headers, "Authorization");
  if (header != NULL && g_ascii_strncasecmp (header, "Bearer ", 7) == 0)
    return token_equal (self, header + 7);
  /* HC3 clients use Authorization for Basic credentials: the token then
   * comes in its own header. */
  header = soup_message_headers_get_one (headers, "X-Plua-Token");
  if (header != NULL)
    return token_equal (self, header);
  if (cookie_has_token (self, msg))
    return TRUE;
  /* Browsers cannot set headers on a WebSocket: /ws?token=... (nowhere else:
   * a token in a URL ends up in histories and logs) */
  return g_str_equal (path, "/ws") && query != NULL && token_equal (self, g_hash_table_lookup (query, "token"));
}

/* "http://HOST" + rest is this server's own origin (Host as the client sent it). */
static gboolean
is_own_origin (const char *url,
               const char *host,
               gboolean    prefix)
{
  gsize len;

  if (host == NULL || g_ascii_strncasecmp (url, "http://", 7) != 0)
    return FALSE;
  url += 7;
  len = strlen (host);
  if (g_ascii_strncasecmp (url, host, len) != 0)
    return FALSE;
  return url[len] == '\0' || (prefix && (url[len] == '/' || url[len] == '?'));
}

/* Sent from a page of another origin: its Origin (fetch, forms), its
 * Sec-Fetch-Site (any request from a current browser, <img> included), or
 * its Referer (older browsers). Curl and HC3 clients send none of them. */
static gboolean
from_elsewhere (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *host = soup_message_headers_get_one (headers, "Host");
  const char *origin = soup_message_headers_get_one (headers, "Origin");
  const char *site = soup_message_headers_get_one (headers, "Sec-Fetch-Site");
  const char *referer = soup_message_headers_get_one (headers, "Referer");

  if (origin != NULL && !is_own_origin (origin, host, FALSE))
    return TRUE;
  /* same-site is another port of this host: another origin all the same */
  if (site != NULL && g_ascii_strcasecmp (site, "same-origin") != 0 && g_ascii_strcasecmp (site, "none") != 0)
    return TRUE;
  return referer != NULL && !is_own_origin (referer, host, TRUE);
}

/* Kept for the OPTIONS preflight: no Origin, or this server's own. */
static gboolean
same_origin (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *origin = soup_message_headers_get_one (headers, "Origin");

  return origin == NULL || is_own_origin (origin, soup_message_headers_get_one (headers, "Host"), FALSE);
}

/* Checks every route shares: FALSE when msg has been answered. */
static gboolean
check_request (PluaApiServer     *self,
               SoupServerMessage *msg,
               const char        *path,
               GHashTable        *query)
{
  if (!host_allowed (self, msg))
    {
      plua_api_reply_error (msg, SOUP_STATUS_FORBIDDEN, _("unexpected Host header"));
      return FALSE;
    }
  /* Pages may be opened from a link anywhere; nothing else may be reached
   * from another site, whatever the method (GET /api/callAction switches). */
  if (!is_page (path) && from_elsewhere (msg))
    {
      plua_api_reply_error (msg, SOUP_STATUS_FORBIDDEN, _("cross-origin request refused"));
      return FALSE;
    }
  if (!authorized (self, msg, path, query))
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "WWW-Authenticate", "Bearer realm=\"plua\"");
      plua_api_reply_error (msg, SOUP_STATUS_UNAUTHORIZED,
                            _("missing or wrong access token (Authorization: Bearer TOKEN)"));
      return FALSE;
    }
  return TRUE;
}

/* GET /web?token=... (the URL plua prints): the token becomes a cookie for
 * this port, and the page is reloaded without it in the address bar. TRUE
 * when msg was answered. */
static gboolean
token_login (PluaApiServer     *self,
             SoupServerMessage *msg,
             const char        *path,
             GHashTable        *query)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  g_autofree char *cookie = NULL;

  if (query == NULL || !g_hash_table_contains (query, "token") ||
      !(g_str_equal (path, "/web") || g_str_equal (path, "/docs")))
    return FALSE;
  if (token_equal (self, g_hash_table_lookup (query, "token")))
    {
      cookie = g_strdup_printf ("%s=%s; Path=/; HttpOnly; SameSite=Strict", self->cookie_name, self->token);
      soup_message_headers_append (headers, "Set-Cookie", cookie);
    }
  soup_server_message_set_redirect (msg, SOUP_STATUS_FOUND, path);
  return TRUE;
}

/* Routes ------------------------------------------------------------------- */

static void
reply_index (PluaApiServer     *self,
             SoupServerMessage *msg)
{
  GString *json = g_string_new ("{\"message\":\"plua REST API Server\",\"version\":");

  plua_api_append_json_string (json, PACKAGE_VERSION, -1);
  g_string_append (json, ",\"web_interface\":\"/web\",\"api_docs\":\"/openapi.json\",\"routes\":[");
  for (guint i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      if (i > 0)
        g_string_append_c (json, ',');
      g_string_append (json, "{\"method\":");
      plua_api_append_json_string (json, routes[i].method, -1);
      g_string_append (json, ",\"path\":");
      plua_api_append_json_string (json, routes[i].path, -1);
      g_string_append (json, ",\"summary\":");
      plua_api_append_json_string (json, routes[i].summary, -1);
      g_string_append_c (json, '}');
    }
  g_string_append (json, "]}");
  plua_api_reply (msg, SOUP_STATUS_OK, json);
}

/* The counters every status route shows. */
static void
append_counters (PluaApiServer *self,
                 GString       *json)
{
  PluaRuntime *runtime = self->runtime;
  lua_State *L = plua_runtime_get_state (runtime);
  guint timers = plua_runtime_get_pending (runtime, PLUA_PENDING_TIMER);
  guint total = plua_runtime_get_total_pending (runtime);
  guint64 memory = (guint64) lua_gc (L, LUA_GCCOUNT, 0) * 1024 + lua_gc (L, LUA_GCCOUNTB, 0);
  char uptime[G_ASCII_DTOSTR_BUF_SIZE];

  g_ascii_formatd (uptime, sizeof uptime, "%.3f", (g_get_monotonic_time () - self->started) / 1e6);
  g_string_append_printf (json,
                          "\"active_timers\":%u,\"pending_callbacks\":%u,\"total_tasks\":%u,"
                          "\"api_requests_pending\":%u,\"uptime\":%s,\"lua_memory_bytes\":%" G_GUINT64_FORMAT ","
                          "\"timers\":%u,\"sockets\":%u,\"servers\":%u,\"requests\":%u",
                          timers, total - timers, total,
                          plua_api_calls_get_n_pending (self->calls), uptime, memory, timers,
                          plua_runtime_get_pending (runtime, PLUA_PENDING_SOCKET),
                          plua_runtime_get_pending (runtime, PLUA_PENDING_SERVER),
                          plua_runtime_get_pending (runtime, PLUA_PENDING_REQUEST));
}

#define FEATURES "[\"timers\",\"networking\",\"json\",\"callbacks\",\"websocket\"]"

static void
reply_status (PluaApiServer     *self,
              SoupServerMessage *msg)
{
  GString *json = g_string_new ("{\"status\":\"running\",");

  append_counters (self, json);
  g_string_append_c (json, '}');
  plua_api_reply (msg, SOUP_STATUS_OK, json);
}

static void
reply_info (PluaApiServer     *self,
            SoupServerMessage *msg)
{
  const PluaConfig *config = plua_runtime_get_config (self->runtime);
  GString *json = g_string_new ("{\"api_version\":\"1.0.0\",\"runtime_active\":true,\"lua_version\":\"5.4\",");

  g_string_append_printf (json, "\"lua_release\":\"%s\",\"plua_version\":\"%s\",\"runtime_state\":{",
                          LUA_RELEASE, PACKAGE_VERSION);
  append_counters (self, json);
  g_string_append_printf (json, "},\"features\":" FEATURES ",\"fibaro_api_active\":%s,"
                          "\"api\":{\"host\":", config->fibaro ? "true" : "false");
  plua_api_append_json_string (json, self->host, -1);
  g_string_append_printf (json, ",\"port\":%u,\"token_required\":%s}}",
                          self->port, self->token_everywhere ? "true" : "false");
  plua_api_reply (msg, SOUP_STATUS_OK, json);
}

static void
reply_state (PluaApiServer     *self,
             SoupServerMessage *msg)
{
  PluaRuntime *runtime = self->runtime;
  GString *json = g_string_new (NULL);

  g_string_append_printf (json, "{\"task_info\":{\"timers\":%u,\"sockets\":%u,\"servers\":%u,\"requests\":%u},",
                          plua_runtime_get_pending (runtime, PLUA_PENDING_TIMER),
                          plua_runtime_get_pending (runtime, PLUA_PENDING_SOCKET),
                          plua_runtime_get_pending (runtime, PLUA_PENDING_SERVER),
                          plua_runtime_get_pending (runtime, PLUA_PENDING_REQUEST));
  append_counters (self, json);
  g_string_append (json, ",\"runtime_info\":{\"lua_version\":\"5.4\",\"features\":" FEATURES
                   ",\"initialized\":true}}");
  plua_api_reply (msg, SOUP_STATUS_OK, json);
}

static void execute_code (PluaApiServer *self, SoupServerMessage *msg, const char *data, gsize len,
                          const char *glib_code, const char *target, double timeout);

static void
reply_execute (PluaApiServer     *self,
               SoupServerMessage *msg)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr(GBytes) bytes = soup_message_body_flatten (body);
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *object;
  JsonNode *code;
  JsonNode *timeout_node;
  JsonNode *qa_node;
  g_autofree char *target = NULL;
  double timeout = PLUA_API_DEFAULT_TIMEOUT;
  const char *data;
  gsize len;

  data = g_bytes_get_data (bytes, &len);
  if (len == 0)
    {
      plua_api_reply_error (msg, SOUP_STATUS_BAD_REQUEST, _("empty body: expected JSON {\"code\": \"...\"}"));
      return;
    }
  root = plua_json_scan_node (data, len, PLUA_API_MAX_BODY_DEPTH, &error);
  if (root == NULL)
    {
      g_autofree char *message = g_strdup_printf (_("invalid JSON: %s"), error->message);
      plua_api_reply_error (msg, SOUP_STATUS_BAD_REQUEST, message);
      return;
    }
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      plua_api_reply_error (msg, SOUP_STATUS_BAD_REQUEST, _("expected a JSON object {\"code\": \"...\"}"));
      return;
    }
  object = json_node_get_object (root);
  code = json_object_get_member (object, "code");
  if (code == NULL || json_node_get_value_type (code) != G_TYPE_STRING)
    {
      plua_api_reply_error (msg, SOUP_STATUS_BAD_REQUEST, _("missing \"code\": a string of Lua code"));
      return;
    }
  timeout_node = json_object_get_member (object, "timeout");
  if (timeout_node != NULL && !JSON_NODE_HOLDS_NULL (timeout_node))
    {
      GType type = json_node_get_value_type (timeout_node);

      if (type != G_TYPE_INT64 && type != G_TYPE_DOUBLE)
        timeout = -1;
      else
        timeout = json_node_get_double (timeout_node);
      if (!(timeout > 0 && timeout <= PLUA_API_MAX_TIMEOUT))
        {
          plua_api_reply_error (msg, SOUP_STATUS_BAD_REQUEST,
                                _("\"timeout\" must be a number of seconds above 0 (at most 86400)"));
          return;
        }
    }
  /* "qa": under --fibaro, the QuickApp (id) whose environment runs the code */
  qa_node = json_object_get_member (object, "qa");
  if (qa_node != NULL && !JSON_NODE_HOLDS_NULL (qa_node))
    {
      GType type = json_node_get_value_type (qa_node);

      if (type == G_TYPE_INT64)
        target = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (qa_node));
      else if (type == G_TYPE_STRING)
        target = g_strdup (json_node_get_string (qa_node));
      else
        {
          plua_api_reply_error (msg, SOUP_STATUS_BAD_REQUEST, _("\"qa\" must be a QuickApp id"));
          return;
        }
    }
  execute_code (self, msg, data, len, json_node_get_string (code), target, timeout);
}

/* Runs the body's "code". json-glib ends its strings at a "\u0000", so a body
 * holding that escape has its code taken again, whole, by plua's own decoder
 * (which keeps NUL bytes): code is never run cut short. */
static void
execute_code (PluaApiServer     *self,
              SoupServerMessage *msg,
              const char        *data,
              gsize              len,
              const char        *glib_code,
              const char        *target,
              double             timeout)
{
  lua_State *L = plua_runtime_get_state (self->runtime);
  int top = lua_gettop (L);
  const char *code = glib_code;
  size_t code_len = strlen (glib_code);

  if (g_strstr_len (data, len, "\\u0000") != NULL && plua_json_decode (L, data, len, FALSE, NULL))
    {
      if (lua_istable (L, -1) && lua_getfield (L, -1, "code") == LUA_TSTRING)
        code = lua_tolstring (L, -1, &code_len);
    }
  plua_api_calls_execute (self->calls, msg, code, code_len, target, timeout);
  lua_settop (L, top);
}

static void
reply_openapi (PluaApiServer     *self,
               SoupServerMessage *msg)
{
  if (self->openapi == NULL)
    {
      g_autoptr(GError) error = NULL;

      self->openapi = plua_api_build_openapi (&error);
      if (self->openapi == NULL)
        {
          plua_api_reply_error (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, error->message);
          return;
        }
    }
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_message_headers_set_content_type (soup_server_message_get_response_headers (msg),
                                         "application/json", NULL);
  soup_message_body_append_bytes (soup_server_message_get_response_body (msg), self->openapi);
}

static void
handle_request (SoupServer        *server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  PluaApiServer *self = user_data;
  const char *method = soup_server_message_get_method (msg);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  gboolean get = method == SOUP_METHOD_GET || method == SOUP_METHOD_HEAD;

  soup_message_headers_replace (headers, "X-Content-Type-Options", "nosniff");
  soup_message_headers_replace (headers, "Cache-Control", "no-store");

  if (method == SOUP_METHOD_OPTIONS)
    {
      /* No CORS: a preflight from another origin gets nothing it can use. */
      if (!same_origin (msg))
        {
          plua_api_reply_error (msg, SOUP_STATUS_FORBIDDEN, _("cross-origin request refused"));
          return;
        }
      soup_message_headers_replace (headers, "Allow", "GET, HEAD, POST, PUT, DELETE, OPTIONS");
      soup_server_message_set_status (msg, SOUP_STATUS_NO_CONTENT, NULL);
      return;
    }
  if (!check_request (self, msg, path, query) || token_login (self, msg, path, query))
    return;

  if (g_str_has_prefix (path, "/api/") || g_str_equal (path, "/api"))
    plua_api_hc3_handle (self->hc3, msg, path, query);
  else if (g_str_equal (path, "/plua/execute"))
    {
      if (method == SOUP_METHOD_POST)
        reply_execute (self, msg);
      else
        {
          soup_message_headers_replace (headers, "Allow", "POST");
          plua_api_reply_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, _("use POST"));
        }
    }
  else if (!get && (g_str_equal (path, "/") || g_str_has_prefix (path, "/plua/") ||
                    g_str_equal (path, "/openapi.json") || g_str_equal (path, "/web") ||
                    g_str_equal (path, "/docs") ||
                    g_str_has_prefix (path, "/static/")))
    {
      soup_message_headers_replace (headers, "Allow", "GET, HEAD");
      plua_api_reply_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, _("use GET"));
    }
  else if (g_str_equal (path, "/"))
    reply_index (self, msg);
  else if (g_str_equal (path, "/plua/status"))
    reply_status (self, msg);
  else if (g_str_equal (path, "/plua/info"))
    reply_info (self, msg);
  else if (g_str_equal (path, "/plua/state"))
    reply_state (self, msg);
  else if (g_str_equal (path, "/openapi.json"))
    reply_openapi (self, msg);
  else if (g_str_equal (path, "/web"))
    plua_api_reply_resource (msg, "web/index.html");
  else if (g_str_equal (path, "/docs"))
    plua_api_reply_resource (msg, "web/docs.html");
  else if (g_str_has_prefix (path, "/static/") && plua_api_static_name_ok (path + strlen ("/static/")))
    {
      g_autofree char *name = g_strconcat ("web/", path + strlen ("/static/"), NULL);
      plua_api_reply_resource (msg, name);
    }
  else
    plua_api_reply_error (msg, SOUP_STATUS_NOT_FOUND, _("no such route (GET / lists them)"));
}

/* Request bodies: refused over the limit, before they are read when the
 * length is announced, else as soon as the chunks pass it. */
static void
on_got_chunk (SoupServerMessage *msg,
              GBytes            *chunk,
              PluaApiServer     *self)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);

  if (soup_server_message_get_status (msg) == 0 && (guint64) body->length > self->max_body)
    {
      soup_message_body_set_accumulate (body, FALSE);
      soup_message_body_truncate (body);
      plua_api_reply_error (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, _("request body too large"));
    }
}

static void
handle_early (SoupServer        *server,
              SoupServerMessage *msg,
              const char        *path,
              GHashTable        *query,
              gpointer           user_data)
{
  PluaApiServer *self = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  SoupEncoding encoding = soup_message_headers_get_encoding (headers);

  if (encoding == SOUP_ENCODING_CONTENT_LENGTH &&
      (guint64) soup_message_headers_get_content_length (headers) > self->max_body)
    {
      soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
      plua_api_reply_error (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, _("request body too large"));
      return;
    }
  if (encoding != SOUP_ENCODING_NONE && encoding != SOUP_ENCODING_CONTENT_LENGTH)
    g_signal_connect_object (msg, "got-chunk", G_CALLBACK (on_got_chunk), self, 0);
}

/* /ws --------------------------------------------------------------------- */

/* Runs before the handshake: a status set here refuses it. */
static void
handle_ws_check (SoupServer        *server,
                 SoupServerMessage *msg,
                 const char        *path,
                 GHashTable        *query,
                 gpointer           user_data)
{
  check_request (user_data, msg, path, query);
}

/* What a page that stops reading may hold up, per page: beyond, the
 * oldest lines go and the page is told how many (libsoup 3.2 queues
 * without limit, and has no way to ask how much it holds). */
#define WS_BACKLOG_MAX (1024 * 1024)

/* Lines waiting for one page while its socket cannot take more. */
typedef struct
{
  SoupWebsocketConnection *conn;     /* not a reference: the backlog is its data */
  GQueue                   pending;  /* char *, JSON texts */
  gsize                    bytes;
  guint                    dropped;
  GSource                 *ready;    /* the socket is writable again */
} WsBacklog;

static void
ws_backlog_free (gpointer data)
{
  WsBacklog *backlog = data;

  if (backlog->ready != NULL)
    {
      g_source_destroy (backlog->ready);
      g_source_unref (backlog->ready);
    }
  g_queue_clear_full (&backlog->pending, g_free);
  g_free (backlog);
}

static GPollableOutputStream *
ws_output (SoupWebsocketConnection *conn)
{
  return G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (soup_websocket_connection_get_io_stream (conn)));
}

/* Hands libsoup what the socket can take now; TRUE while some is left. */
static gboolean
ws_flush (WsBacklog *backlog)
{
  GPollableOutputStream *output = ws_output (backlog->conn);

  if (backlog->dropped > 0 && g_pollable_output_stream_is_writable (output))
    {
      g_autofree char *note = g_strdup_printf (_("[plua: %u lines dropped: this page was not reading]"),
                                               backlog->dropped);
      GString *json = g_string_new ("{\"type\":\"output\",\"text\":");

      plua_api_append_json_string (json, note, -1);
      g_string_append_c (json, '}');
      soup_websocket_connection_send_text (backlog->conn, json->str);
      g_string_free (json, TRUE);
      backlog->dropped = 0;
    }
  while (!g_queue_is_empty (&backlog->pending) && g_pollable_output_stream_is_writable (output))
    {
      g_autofree char *text = g_queue_pop_head (&backlog->pending);

      backlog->bytes -= strlen (text);
      soup_websocket_connection_send_text (backlog->conn, text);
    }
  return !g_queue_is_empty (&backlog->pending) || backlog->dropped > 0;
}

static gboolean
on_ws_writable (GObject  *stream,
                gpointer  data)
{
  WsBacklog *backlog = data;

  if (soup_websocket_connection_get_state (backlog->conn) == SOUP_WEBSOCKET_STATE_OPEN && ws_flush (backlog))
    return G_SOURCE_CONTINUE;
  g_clear_pointer (&backlog->ready, g_source_unref);
  return G_SOURCE_REMOVE;
}

/* Sends json to one page now, or keeps it (bounded) until the page reads. */
static void
ws_send (SoupWebsocketConnection *conn,
         const char              *json)
{
  WsBacklog *backlog = g_object_get_data (G_OBJECT (conn), "plua-ws-backlog");

  if (g_queue_is_empty (&backlog->pending) && backlog->dropped == 0 &&
      g_pollable_output_stream_is_writable (ws_output (conn)))
    {
      soup_websocket_connection_send_text (conn, json);
      return;
    }
  g_queue_push_tail (&backlog->pending, g_strdup (json));
  backlog->bytes += strlen (json);
  while (backlog->bytes > WS_BACKLOG_MAX && backlog->pending.length > 1)
    {
      g_autofree char *old = g_queue_pop_head (&backlog->pending);

      backlog->bytes -= strlen (old);
      backlog->dropped++;
    }
  if (backlog->ready == NULL)
    {
      backlog->ready = g_pollable_output_stream_create_source (ws_output (conn), NULL);
      g_source_set_callback (backlog->ready, G_SOURCE_FUNC (on_ws_writable), backlog, NULL);
      g_source_set_static_name (backlog->ready, "plua /ws backlog");
      g_source_attach (backlog->ready, NULL);
    }
}

static void
on_ws_closed (SoupWebsocketConnection *conn,
              PluaApiServer           *self)
{
  g_signal_handlers_disconnect_by_data (conn, self);
  g_object_set_data (G_OBJECT (conn), "plua-ws-backlog", NULL);
  if (g_ptr_array_remove_fast (self->websockets, conn))
    g_object_unref (conn);
}

static void
handle_ws (SoupServer              *server,
           SoupServerMessage       *msg,
           const char              *path,
           SoupWebsocketConnection *conn,
           gpointer                 user_data)
{
  PluaApiServer *self = user_data;

  /* Pages send nothing but pings: keep what they may send small. */
  soup_websocket_connection_set_max_incoming_payload_size (conn, 64 * 1024);
  soup_websocket_connection_set_keepalive_interval (conn, 30);
  g_signal_connect (conn, "closed", G_CALLBACK (on_ws_closed), self);
  {
    WsBacklog *backlog = g_new0 (WsBacklog, 1);

    backlog->conn = conn;
    g_queue_init (&backlog->pending);
    g_object_set_data_full (G_OBJECT (conn), "plua-ws-backlog", backlog, ws_backlog_free);
  }
  g_ptr_array_add (self->websockets, g_object_ref (conn));
}

/* Sends one JSON text to every open page. */
static void
broadcast (PluaApiServer *self,
           const char    *json)
{
  for (guint i = 0; i < self->websockets->len; i++)
    {
      SoupWebsocketConnection *conn = g_ptr_array_index (self->websockets, i);

      if (soup_websocket_connection_get_state (conn) == SOUP_WEBSOCKET_STATE_OPEN)
        ws_send (conn, json);
    }
}

static void
on_output (PluaRuntime   *runtime,
           const char    *text,
           guint64        len,
           PluaApiServer *self)
{
  GString *json;

  plua_api_calls_capture (self->calls, text, len);
  if (self->websockets->len == 0)
    return;
  json = g_string_new ("{\"type\":\"output\",\"text\":");
  plua_api_append_json_string (json, text, len);
  g_string_append_c (json, '}');
  broadcast (self, json->str);
  g_string_free (json, TRUE);
}

/* _PY.broadcast_view_update(qa_id, component, property, value): tells the
 * pages a QuickApp's view changed ({"type": "view_update", ...}). Returns
 * true, or false and a message when value cannot be JSON (never raises: a
 * view update must not break the QuickApp). Exists while the server runs. */
static int
l_broadcast_view_update (lua_State *L)
{
  PluaApiServer *self = lua_touserdata (L, lua_upvalueindex (1));
  g_autoptr(GError) error = NULL;
  g_autofree char *value = NULL;
  g_autofree char *qa_id = NULL;
  const char *component = luaL_checkstring (L, 2);
  const char *property = luaL_checkstring (L, 3);
  GString *json;

  luaL_checkany (L, 4);
  qa_id = plua_json_encode (L, 1, FALSE, &error);
  if (qa_id != NULL)
    value = plua_json_encode (L, 4, FALSE, &error);
  if (value == NULL)
    {
      lua_pushboolean (L, FALSE);
      lua_pushstring (L, error->message);
      return 2;
    }
  json = g_string_new ("{\"type\":\"view_update\",\"qa_id\":");
  g_string_append (json, qa_id);
  g_string_append (json, ",\"element_id\":");
  plua_api_append_json_string (json, component, strlen (component));
  g_string_append (json, ",\"property\":");
  plua_api_append_json_string (json, property, strlen (property));
  g_string_append (json, ",\"value\":");
  g_string_append (json, value);
  g_string_append_c (json, '}');
  broadcast (self, json->str);
  g_string_free (json, TRUE);
  lua_pushboolean (L, TRUE);
  return 1;
}

/* Installs or removes _PY.broadcast_view_update (the closure points at self:
 * it must not outlive the running server). */
static void
set_broadcast_function (PluaApiServer *self,
                        gboolean       present)
{
  lua_State *L = plua_runtime_get_state (self->runtime);

  if (lua_getglobal (L, "_PY") == LUA_TTABLE)
    {
      if (present)
        {
          lua_pushlightuserdata (L, self);
          lua_pushcclosure (L, l_broadcast_view_update, 1);
        }
      else
        {
          lua_pushnil (L);
        }
      lua_setfield (L, -2, "broadcast_view_update");
    }
  lua_pop (L, 1);
}

/* Public ------------------------------------------------------------------ */

PluaApiServer *
plua_api_server_new (PluaRuntime *runtime)
{
  PluaApiServer *self;
  const PluaConfig *config;

  g_return_val_if_fail (PLUA_IS_RUNTIME (runtime), NULL);

  self = g_object_new (PLUA_TYPE_API_SERVER, NULL);
  config = plua_runtime_get_config (runtime);
  self->runtime = g_object_ref (runtime);
  self->host = g_strdup (config->api_host != NULL ? config->api_host : "127.0.0.1");
  self->port = 0;
  self->max_body = config->api_max_body;
  if (config->api_token != NULL && config->api_token[0] != '\0')
    self->token = g_strdup (config->api_token);
  self->token_everywhere = self->token != NULL || !is_default_loopback (self->host);
  self->loopback_only = !self->token_everywhere;
  return self;
}

/* Tells Lua the port really listened on (it differs when 0 was asked). */
static void
publish_port (PluaApiServer *self)
{
  lua_State *L = plua_runtime_get_state (self->runtime);
  int top = lua_gettop (L);
  const char *path[] = { "_PY", "config", "runtime_config", "api_config" };

  lua_rawgeti (L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
  for (guint i = 0; i < G_N_ELEMENTS (path); i++)
    {
      lua_pushstring (L, path[i]);
      if (lua_rawget (L, -2) != LUA_TTABLE)
        {
          lua_settop (L, top);
          return;
        }
    }
  lua_pushliteral (L, "port");
  lua_pushinteger (L, self->port);
  lua_rawset (L, -3);
  lua_settop (L, top);
}

/* The host a browser can open: a wildcard address is not one. */
static char *
url_host_for (const char *host)
{
  if (g_strcmp0 (host, "0.0.0.0") == 0 || g_strcmp0 (host, "::") == 0 || *host == '\0')
    return g_strdup ("127.0.0.1");
  if (strchr (host, ':') != NULL)
    return g_strdup_printf ("[%s]", host);
  return g_strdup (host);
}

/* One line on stderr.  A random token rides in the web page's URL (the page
 * turns it into a cookie), so opening it just works; a configured one is
 * never printed; the one in the URL is the access token curl sends as
 * "Authorization: Bearer TOKEN".  Tests and scripts read "listening on URL"
 * and "web REPL at URL?token=HEX" from it. */
static void
print_banner (PluaApiServer *self,
              gboolean       generated)
{
  g_autofree char *host = url_host_for (self->host);
  g_autofree char *base = g_strdup_printf ("http://%s:%u", host, self->port);

  if (generated)
    g_printerr (_("plua: REST API listening on %s/, web REPL at %s/web?token=%s\n"),
                base, base, self->token);
  else
    g_printerr (_("plua: REST API listening on %s/, web REPL at %s/web (access token as configured)\n"),
                base, base);
}

gboolean
plua_api_server_start (PluaApiServer  *self,
                       GError        **error)
{
  const PluaConfig *config;
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GError) local_error = NULL;
  guint port;
  gboolean generated = FALSE;

  g_return_val_if_fail (PLUA_IS_API_SERVER (self), FALSE);
  g_return_val_if_fail (self->server == NULL, FALSE);

  config = plua_runtime_get_config (self->runtime);
  port = config->api_port;
  address = plua_soup_resolve_host (self->host, &local_error);
  if (address == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("cannot listen on %s: %s"), self->host, local_error->message);
      return FALSE;
    }

  self->server = soup_server_new ("server-header", "plua/" PACKAGE_VERSION " ", NULL);
  self->listener = plua_soup_listener_new (self->server, address, port, &local_error);
  if (self->listener == NULL)
    {
      g_autofree char *holder = NULL;

      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE) && port != 0 &&
          (holder = plua_api_find_port_holder (port)) != NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
                     _("cannot listen on %s port %u: the port is in use by %s"), self->host, port, holder);
      else if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
                     _("cannot listen on %s port %u: the port is in use"), self->host, port);
      else
        g_set_error (error, local_error->domain, local_error->code,
                     _("cannot listen on %s port %u: %s"), self->host, port, local_error->message);
      g_clear_object (&self->server);
      return FALSE;
    }
  self->port = plua_soup_listener_get_port (self->listener);

  if (self->token == NULL)
    {
      self->token = random_token ();
      generated = TRUE;
    }
  self->cookie_name = g_strdup_printf ("plua-token-%u", self->port);
  self->started = g_get_monotonic_time ();
  self->calls = plua_api_calls_new (self->runtime);
  self->hc3 = plua_api_hc3_new (self->runtime, self->calls);

  soup_server_add_early_handler (self->server, NULL, handle_early, self, NULL);
  soup_server_add_handler (self->server, NULL, handle_request, self, NULL);
  soup_server_add_early_handler (self->server, "/ws", handle_early, self, NULL);
  soup_server_add_handler (self->server, "/ws", handle_ws_check, self, NULL);
  soup_server_add_websocket_handler (self->server, "/ws", NULL, NULL, handle_ws, self, NULL);
  self->output_id = g_signal_connect (self->runtime, "output", G_CALLBACK (on_output), self);
  set_broadcast_function (self, TRUE);
  publish_port (self);

  print_banner (self, generated);
  return TRUE;
}

void
plua_api_server_stop (PluaApiServer *self)
{
  g_return_if_fail (PLUA_IS_API_SERVER (self));

  g_clear_pointer (&self->listener, plua_soup_listener_free);
  if (self->server != NULL)
    soup_server_disconnect (self->server);
  if (self->output_id != 0)
    set_broadcast_function (self, FALSE);
  close_websockets (self);
  g_clear_pointer (&self->hc3, plua_api_hc3_free);
  g_clear_pointer (&self->calls, plua_api_calls_free);
  g_clear_signal_handler (&self->output_id, self->runtime);
}

guint
plua_api_server_get_port (PluaApiServer *self)
{
  g_return_val_if_fail (PLUA_IS_API_SERVER (self), 0);

  return self->port;
}
