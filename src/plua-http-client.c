/* plua-http-client.c: the HTTP client primitives behind net.HTTPClient
 * (lua/net/http.lua), and _PY.http_call_sync.
 *
 * One SoupSession per runtime, made on first use and kept in the registry:
 * connections are reused (keep-alive) across requests. Each request is sent
 * with soup_session_send_async and its body read in chunks, after content
 * decoding, up to max_size bytes (maxResponseSize, default 64 MiB: a small
 * gzip answer can inflate to gigabytes); its own GLib timeout cancels it and
 * reports "timeout". A body with fewer bytes than its Content-Length is a
 * failure; a chunked one cut between two chunks is not (libsoup 3.2.3's body
 * stream sees a clean end there: a known gap).
 * Bodies are bytes both ways (GBytes <-> Lua strings).
 *
 * Lua side (require "plua.http.client"):
 *   request(url, method, headers, body, timeout_ms, check_certificate, fn[, max_size])
 *     fn(nil, {status=, data=, headers={lower-case name = value}}) on any
 *     HTTP status, fn(message) on a transport failure ("timeout" for one).
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>
#include <lauxlib.h>
#include <libsoup/soup.h>

#include "plua-json.h"
#include "plua-net-common.h"
#include "plua-net-soup.h"
#include "plua-net.h"
#include "plua-runtime.h"

#define DEFAULT_TIMEOUT_MS 30000
#define SYNC_TIMEOUT_S     30
#define DEFAULT_MAX_SIZE   (64 * 1024 * 1024)
#define READ_CHUNK         (64 * 1024)

#define SESSION_MT "plua.http.session"

typedef struct
{
  SoupSession *session;
  GQueue       requests;     /* ClientRequest in flight */
} Session;

typedef struct
{
  PluaRuntime  *runtime;     /* NULL once the Lua state closed under us */
  lua_State    *L;
  Session      *owner;
  GList         link;
  SoupMessage  *msg;
  GCancellable *cancellable;
  guint         timeout_id;
  guint         idle_id;     /* reports early_error on the next iteration */
  int           callback_ref;
  gboolean      timed_out;
  char         *early_error;
  GInputStream *stream;      /* the body being read */
  GByteArray   *data;
  guint64       max_size;
} ClientRequest;

static const char session_key = 'S';
static const char sync_session_key = 's';

/* --- helpers shared by the async and the sync call ----------------------- */

/* Raises an argument error for header names or values that would corrupt
 * the request (CR, LF, NUL, spaces in names). Allocates nothing. */
static void
check_headers (lua_State *L,
               int        idx)
{
  if (lua_isnoneornil (L, idx))
    return;
  luaL_checktype (L, idx, LUA_TTABLE);
  lua_pushnil (L);
  while (lua_next (L, idx) != 0)
    {
      size_t nlen, vlen;
      const char *name, *value;

      if (lua_type (L, -2) != LUA_TSTRING)
        luaL_argerror (L, idx, "header names must be strings");
      name = lua_tolstring (L, -2, &nlen);
      if (!plua_net_is_token (name, nlen))
        luaL_argerror (L, idx, lua_pushfstring (L, "invalid header name '%s'", name));
      if (lua_type (L, -1) != LUA_TSTRING && lua_type (L, -1) != LUA_TNUMBER)
        luaL_argerror (L, idx, lua_pushfstring (L, "header '%s' must be a string or a number", name));
      lua_pushvalue (L, -1);   /* tolstring on a copy: lua_next needs the key as is */
      value = lua_tolstring (L, -1, &vlen);
      if (strlen (value) != vlen || strpbrk (value, "\r\n") != NULL)
        luaL_argerror (L, idx, lua_pushfstring (L, "header '%s' contains a line break or NUL", name));
      lua_pop (L, 2);
    }
}

static void
apply_headers (lua_State          *L,
               int                 idx,
               SoupMessageHeaders *headers)
{
  if (lua_isnoneornil (L, idx))
    return;
  lua_pushnil (L);
  while (lua_next (L, idx) != 0)
    {
      const char *name = lua_tostring (L, -2);
      const char *value;

      lua_pushvalue (L, -1);
      value = lua_tostring (L, -1);
      /* libsoup computes the framing itself. */
      if (g_ascii_strcasecmp (name, "Content-Length") != 0 &&
          g_ascii_strcasecmp (name, "Transfer-Encoding") != 0)
        soup_message_headers_replace (headers, name, value);
      lua_pop (L, 2);
    }
}

static const char *
check_method (lua_State *L,
              int        idx,
              char      *buf,
              size_t     bufsize)
{
  size_t len;
  const char *method = luaL_optlstring (L, idx, "GET", &len);

  if (!plua_net_is_token (method, len) || len >= bufsize)
    luaL_argerror (L, idx, "invalid HTTP method");
  for (size_t i = 0; i <= len; i++)
    buf[i] = g_ascii_toupper (method[i]);
  return buf;
}

/* Parses an http(s) URL; NULL and a message for anything else. */
static GUri *
parse_url (const char  *url,
           char       **message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GUri) uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, &error);
  const char *scheme;

  if (uri == NULL)
    {
      *message = g_strdup_printf ("invalid URL '%s': %s", url, error->message);
      return NULL;
    }
  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0)
    {
      *message = g_strdup_printf ("unsupported URL scheme '%s' (http and https only)", scheme);
      return NULL;
    }
  if (g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      *message = g_strdup_printf ("invalid URL '%s': no host", url);
      return NULL;
    }
  return g_steal_pointer (&uri);
}

/* The message for a request: method, headers and body taken from the Lua
 * stack (already checked). */
static SoupMessage *
build_message (lua_State  *L,
               const char *method,
               GUri       *uri,
               int         headers_idx,
               const char *body,
               size_t      body_len,
               gboolean    check_certificate)
{
  SoupMessage *msg = soup_message_new_from_uri (method, uri);

  if (body != NULL)
    {
      g_autoptr (GBytes) bytes = g_bytes_new (body, body_len);

      soup_message_set_request_body_from_bytes (msg, NULL, bytes);
    }
  apply_headers (L, headers_idx, soup_message_get_request_headers (msg));
  if (!check_certificate)
    g_signal_connect (msg, "accept-certificate", G_CALLBACK (plua_net_accept_any_certificate), NULL);
  return msg;
}

/* A clear message for a failed exchange. */
static char *
describe_error (const GError *error)
{
  if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE))
    return g_strdup_printf ("TLS certificate rejected: %s", error->message);
  return g_strdup (error->message);
}

/* --- the runtime's session ------------------------------------------------ */

static void request_free (ClientRequest *req);

static int
session_gc (lua_State *L)
{
  Session *s = luaL_checkudata (L, 1, SESSION_MT);
  GList *l;

  /* The Lua state is closing: requests still in flight finish without it. */
  while ((l = g_queue_pop_head_link (&s->requests)) != NULL)
    {
      ClientRequest *req = l->data;

      luaL_unref (L, LUA_REGISTRYINDEX, req->callback_ref);
      req->callback_ref = LUA_NOREF;
      req->runtime = NULL;
      req->owner = NULL;
      g_clear_handle_id (&req->timeout_id, g_source_remove);
      if (req->idle_id != 0)
        {
          g_clear_handle_id (&req->idle_id, g_source_remove);
          request_free (req);
        }
      else
        {
          g_cancellable_cancel (req->cancellable);
        }
    }
  if (s->session != NULL)
    {
      soup_session_abort (s->session);
      g_clear_object (&s->session);
    }
  return 0;
}

static Session *
get_session (lua_State  *L,
             const void *key)
{
  Session *s;

  if (lua_rawgetp (L, LUA_REGISTRYINDEX, key) == LUA_TUSERDATA)
    {
      s = lua_touserdata (L, -1);
      lua_pop (L, 1);
      return s;
    }
  lua_pop (L, 1);

  s = lua_newuserdatauv (L, sizeof (Session), 0);
  memset (s, 0, sizeof *s);
  g_queue_init (&s->requests);
  if (luaL_newmetatable (L, SESSION_MT))
    {
      lua_pushcfunction (L, session_gc);
      lua_setfield (L, -2, "__gc");
    }
  lua_setmetatable (L, -2);
  lua_rawsetp (L, LUA_REGISTRYINDEX, key);

  /* Our own timeouts bound each request; the sync session relies on
   * libsoup's I/O timeout since it cannot run a GLib timeout. */
  s->session = soup_session_new_with_options (
      "max-conns", 128,
      "max-conns-per-host", 32,
      "timeout", key == &sync_session_key ? SYNC_TIMEOUT_S : 0,
      "user-agent", "plua/" PACKAGE_VERSION,
      NULL);
  return s;
}

/* --- asynchronous requests ------------------------------------------------- */

static void
request_free (ClientRequest *req)
{
  g_clear_object (&req->msg);
  g_clear_object (&req->cancellable);
  g_clear_object (&req->stream);
  g_clear_pointer (&req->data, g_byte_array_unref);
  g_free (req->early_error);
  g_free (req);
}

/* Hands the outcome to Lua (callback on top of the runtime's stack with its
 * arguments) and forgets the request. */
static void
request_finish (ClientRequest *req,
                GBytes        *body,
                const char    *error_message)
{
  PluaRuntime *runtime = req->runtime;
  lua_State *L = req->L;

  g_queue_unlink (&req->owner->requests, &req->link);
  g_clear_handle_id (&req->timeout_id, g_source_remove);

  lua_rawgeti (L, LUA_REGISTRYINDEX, req->callback_ref);
  luaL_unref (L, LUA_REGISTRYINDEX, req->callback_ref);
  if (error_message != NULL)
    {
      lua_pushstring (L, error_message);
      lua_pushnil (L);
    }
  else
    {
      lua_pushnil (L);
      lua_createtable (L, 0, 3);
      lua_pushinteger (L, soup_message_get_status (req->msg));
      lua_setfield (L, -2, "status");
      plua_net_push_bytes (L, body);
      lua_setfield (L, -2, "data");
      plua_net_push_headers (L, soup_message_get_response_headers (req->msg));
      lua_setfield (L, -2, "headers");
    }
  request_free (req);

  plua_runtime_spawn (runtime, L, 2, PLUA_SPAWN_DEFAULT, NULL, NULL);
  plua_runtime_release (runtime, PLUA_PENDING_REQUEST);
  plua_runtime_dispatched (runtime);
}

/* Stops reading a body that is not wanted: with the cancellable cancelled,
 * closing does not read the rest to keep the connection (libsoup drops it). */
static void
abort_body (ClientRequest *req)
{
  g_cancellable_cancel (req->cancellable);
  g_input_stream_close (req->stream, req->cancellable, NULL);
}

static char *
too_big_message (guint64 max_size)
{
  return g_strdup_printf ("response body larger than maxResponseSize (%" G_GUINT64_FORMAT " bytes)", max_size);
}

/* What a failed send or read reports: "timeout" when ours fired. */
static void
request_fail (ClientRequest *req,
              const GError  *error)
{
  g_autofree char *message = req->timed_out ? g_strdup ("timeout") : describe_error (error);

  request_finish (req, NULL, message);
}

static void request_read (GObject *source, GAsyncResult *result, gpointer user_data);

static void
read_more (ClientRequest *req)
{
  g_input_stream_read_bytes_async (req->stream, READ_CHUNK, G_PRIORITY_DEFAULT,
                                   req->cancellable, request_read, req);
}

static void
request_read (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  ClientRequest *req = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) chunk = NULL;
  gsize len;

  chunk = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  if (req->runtime == NULL)
    {
      request_free (req);
      return;
    }
  if (chunk == NULL)
    {
      request_fail (req, error);
      return;
    }
  len = g_bytes_get_size (chunk);
  if (len == 0)
    {
      g_autoptr (GBytes) body = g_byte_array_free_to_bytes (g_steal_pointer (&req->data));

      request_finish (req, body, NULL);
      return;
    }
  if (req->data->len + len > req->max_size)
    {
      g_autofree char *message = too_big_message (req->max_size);

      /* the connection goes: what is left of the body is not read */
      abort_body (req);
      request_finish (req, NULL, message);
      return;
    }
  g_byte_array_append (req->data, g_bytes_get_data (chunk, NULL), len);
  read_more (req);
}

static void
request_sent (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  ClientRequest *req = user_data;
  g_autoptr (GError) error = NULL;
  GInputStream *stream;
  goffset announced;

  stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (req->runtime == NULL)
    {
      g_clear_object (&stream);
      request_free (req);
      return;
    }
  if (stream == NULL)
    {
      request_fail (req, error);
      return;
    }
  req->stream = stream;
  announced = soup_message_headers_get_content_length (soup_message_get_response_headers (req->msg));
  if (announced > 0 && (guint64) announced > req->max_size &&
      soup_message_headers_get_one (soup_message_get_response_headers (req->msg), "Content-Encoding") == NULL)
    {
      g_autofree char *message = too_big_message (req->max_size);

      abort_body (req);
      request_finish (req, NULL, message);
      return;
    }
  req->data = g_byte_array_new ();
  read_more (req);
}

static gboolean
request_timeout (gpointer user_data)
{
  ClientRequest *req = user_data;

  req->timeout_id = 0;
  req->timed_out = TRUE;
  g_cancellable_cancel (req->cancellable);
  return G_SOURCE_REMOVE;
}

static gboolean
request_report_early_error (gpointer user_data)
{
  ClientRequest *req = user_data;
  g_autofree char *message = g_steal_pointer (&req->early_error);

  req->idle_id = 0;
  request_finish (req, NULL, message);
  return G_SOURCE_REMOVE;
}

/* request(url, method, headers, body, timeout_ms, check_certificate, fn) */
static int
l_request (lua_State *L)
{
  const char *url = luaL_checkstring (L, 1);
  char method[64];
  const char *body = NULL;
  size_t body_len = 0;
  lua_Number timeout_ms;
  lua_Number max_size;
  gboolean check_certificate;
  PluaRuntime *runtime = plua_runtime_from_lua (L);
  Session *s;
  ClientRequest *req;
  GUri *uri;
  char *message = NULL;

  check_method (L, 2, method, sizeof method);
  check_headers (L, 3);
  if (!lua_isnoneornil (L, 4))
    {
      if (lua_type (L, 4) != LUA_TSTRING && lua_type (L, 4) != LUA_TNUMBER)
        return luaL_argerror (L, 4, "request data must be a string");
      body = lua_tolstring (L, 4, &body_len);
    }
  timeout_ms = luaL_optnumber (L, 5, DEFAULT_TIMEOUT_MS);
  check_certificate = lua_isnoneornil (L, 6) || lua_toboolean (L, 6);
  luaL_checktype (L, 7, LUA_TFUNCTION);
  max_size = luaL_optnumber (L, 8, DEFAULT_MAX_SIZE);
  if (!(max_size >= 0))
    return luaL_argerror (L, 8, "maxResponseSize must be a number of bytes");

  s = get_session (L, &session_key);

  req = g_new0 (ClientRequest, 1);
  req->runtime = runtime;
  req->L = plua_runtime_get_state (runtime);
  req->owner = s;
  req->max_size = max_size >= (lua_Number) G_MAXUINT64 ? G_MAXUINT64 : (guint64) max_size;
  req->link.data = req;
  lua_pushvalue (L, 7);
  req->callback_ref = luaL_ref (L, LUA_REGISTRYINDEX);
  g_queue_push_tail_link (&s->requests, &req->link);
  plua_runtime_hold (runtime, PLUA_PENDING_REQUEST);

  /* A bad URL is the request's failure, reported like any other: later. */
  uri = parse_url (url, &message);
  if (uri == NULL)
    {
      req->early_error = message;
      req->idle_id = g_idle_add (request_report_early_error, req);
      return 0;
    }

  req->msg = build_message (L, method, uri, 3, body, body_len, check_certificate);
  g_uri_unref (uri);
  req->cancellable = g_cancellable_new ();
  if (timeout_ms > 0)
    req->timeout_id = g_timeout_add (timeout_ms >= G_MAXUINT ? G_MAXUINT : (guint) timeout_ms,
                                     request_timeout, req);
  soup_session_send_async (s->session, req->msg, G_PRIORITY_DEFAULT,
                           req->cancellable, request_sent, req);
  return 0;
}

/* --- _PY.http_call_sync ------------------------------------------------------ */

/* The blocking twin of request_sent/request_read: the body, at most max_size
 * bytes after content decoding. */
static GBytes *
read_capped_sync (SoupSession  *session,
                  SoupMessage  *msg,
                  guint64       max_size,
                  GError      **error)
{
  g_autoptr (GInputStream) stream = soup_session_send (session, msg, NULL, error);
  g_autoptr (GByteArray) data = NULL;

  if (stream == NULL)
    return NULL;
  data = g_byte_array_new ();
  for (;;)
    {
      g_autoptr (GBytes) chunk = g_input_stream_read_bytes (stream, READ_CHUNK, NULL, error);
      gsize len;

      if (chunk == NULL)
        return NULL;
      len = g_bytes_get_size (chunk);
      if (len == 0)
        return g_byte_array_free_to_bytes (g_steal_pointer (&data));
      if (data->len + len > max_size)
        {
          g_autoptr (GCancellable) cancelled = g_cancellable_new ();

          g_cancellable_cancel (cancelled);
          g_input_stream_close (stream, cancelled, NULL);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                       "response body larger than maxResponseSize (%" G_GUINT64_FORMAT " bytes)", max_size);
          return NULL;
        }
      g_byte_array_append (data, g_bytes_get_data (chunk, NULL), len);
    }
}

static void
push_failure (lua_State  *L,
              const char *message)
{
  lua_createtable (L, 0, 2);
  lua_pushboolean (L, FALSE);
  lua_setfield (L, -2, "success");
  lua_pushstring (L, message);
  lua_setfield (L, -2, "error");
}

/* _PY.http_call_sync(method, url, data, headers) →
 *   {success=true, status_code=, data=, headers=} or {success=false, error=}
 * Blocks the whole loop until the exchange ends (I/O timeout 30 s). A table
 * data is sent as JSON. */
int
plua_http_call_sync (lua_State *L)
{
  char method[64];
  const char *url = luaL_checkstring (L, 2);
  const char *body = NULL;
  size_t body_len = 0;
  char *json = NULL;
  gboolean is_json = FALSE;
  Session *s;
  GUri *uri;
  SoupMessage *msg;
  GBytes *response;
  GError *error = NULL;
  char *message = NULL;

  check_method (L, 1, method, sizeof method);
  check_headers (L, 4);
  switch (lua_type (L, 3))
    {
    case LUA_TNONE:
    case LUA_TNIL:
      break;
    case LUA_TSTRING:
    case LUA_TNUMBER:
      body = lua_tolstring (L, 3, &body_len);
      break;
    case LUA_TTABLE:
      json = plua_json_encode (L, 3, FALSE, &error);
      if (json == NULL)
        {
          lua_pushfstring (L, "http_call_sync: cannot encode data as JSON: %s", error->message);
          g_error_free (error);
          return lua_error (L);
        }
      body = json;
      body_len = strlen (json);
      is_json = TRUE;
      break;
    default:
      return luaL_argerror (L, 3, "data must be a string or a table");
    }

  uri = parse_url (url, &message);
  if (uri == NULL)
    {
      g_free (json);
      push_failure (L, message);
      g_free (message);
      return 1;
    }

  s = get_session (L, &sync_session_key);
  msg = build_message (L, method, uri, 4, body, body_len, TRUE);
  if (is_json && soup_message_headers_get_content_type (soup_message_get_request_headers (msg), NULL) == NULL)
    soup_message_headers_set_content_type (soup_message_get_request_headers (msg), "application/json", NULL);
  g_uri_unref (uri);
  g_free (json);

  response = read_capped_sync (s->session, msg, DEFAULT_MAX_SIZE, &error);
  if (response == NULL)
    {
      message = describe_error (error);
      g_error_free (error);
      g_object_unref (msg);
      push_failure (L, message);
      g_free (message);
      return 1;
    }

  lua_createtable (L, 0, 4);
  lua_pushboolean (L, TRUE);
  lua_setfield (L, -2, "success");
  lua_pushinteger (L, soup_message_get_status (msg));
  lua_setfield (L, -2, "status_code");
  plua_net_push_bytes (L, response);
  lua_setfield (L, -2, "data");
  plua_net_push_headers (L, soup_message_get_response_headers (msg));
  lua_setfield (L, -2, "headers");
  g_bytes_unref (response);
  g_object_unref (msg);
  return 1;
}

/* --- registration -------------------------------------------------------------- */

static const luaL_Reg client_functions[] = {
  { "request", l_request },
  { NULL, NULL }
};

/* require "plua.http.client" (through the module table) */
int
plua_http_client_luaopen (lua_State *L)
{
  luaL_newlib (L, client_functions);
  return 1;
}
