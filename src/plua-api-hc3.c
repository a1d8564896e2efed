/* plua-api-hc3.c: the Fibaro HC3 routes under /api.
 *
 * A request is matched against the route table built from
 * api-descriptions/hc3/ (on the first /api request: start-up does not pay for
 * it), its typed path parameters and JSON body checked, then handed to
 * _PY.fibaro_api_hook(method, path, data, request), whose answer
 * (data, status[, headers]) becomes the response (plua-api-calls.c).
 *
 * HC3 clients send HTTP Basic credentials. They are accepted as they come,
 * unless HC3_USER and HC3_PASSWORD are set (environment or .env files, as
 * os.getenv sees them): then they must match, or 401. With HC3_URL set too,
 * they are the credentials of the box plua talks to (online mode), not of
 * plua itself, and guard nothing here.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <lauxlib.h>

#include "plua-api-private.h"
#include "plua-dotenv.h"
#include "plua-json-scan.h"
#include "plua-net-common.h"
#include "plua-net-soup.h"
#include "plua-route-table.h"

struct _PluaApiHc3
{
  PluaRuntime    *runtime;
  PluaApiCalls   *calls;        /* the server's */
  gboolean        loaded;
  PluaRouteTable *table;
  char           *load_error;   /* why the table could not be built */
  char           *user;         /* NULL: Basic credentials are not checked */
  char           *password;
};

PluaApiHc3 *
plua_api_hc3_new (PluaRuntime  *runtime,
                  PluaApiCalls *calls)
{
  PluaApiHc3 *hc3 = g_new0 (PluaApiHc3, 1);

  hc3->runtime = g_object_ref (runtime);
  hc3->calls = calls;
  return hc3;
}

void
plua_api_hc3_free (PluaApiHc3 *hc3)
{
  if (hc3 == NULL)
    return;
  g_clear_object (&hc3->table);
  g_free (hc3->load_error);
  g_free (hc3->user);
  if (hc3->password != NULL)
    memset (hc3->password, 0, strlen (hc3->password));
  g_free (hc3->password);
  g_object_unref (hc3->runtime);
  g_free (hc3);
}

static void
ensure_loaded (PluaApiHc3 *hc3)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PluaDotenv) env = NULL;
  const char *user;
  const char *password;

  if (hc3->loaded)
    return;
  hc3->loaded = TRUE;
  hc3->table = plua_route_table_new_from_resources (&error);
  if (hc3->table == NULL)
    hc3->load_error = g_strdup (error->message);

  env = plua_dotenv_new ();
  user = plua_dotenv_get (env, "HC3_USER");
  password = plua_dotenv_get (env, "HC3_PASSWORD");
  if (user != NULL && user[0] != '\0' && password != NULL &&
      (plua_dotenv_get (env, "HC3_URL") == NULL || plua_dotenv_get (env, "HC3_URL")[0] == '\0'))
    {
      hc3->user = g_strdup (user);
      hc3->password = g_strdup (password);
    }
}

/* Authorization: Basic base64(user:password), checked when credentials are set. */
static gboolean
basic_auth_ok (PluaApiHc3        *hc3,
               SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *header = soup_message_headers_get_one (headers, "Authorization");
  g_autofree guchar *decoded = NULL;
  g_autofree char *expected = NULL;
  gsize len = 0;
  gboolean ok;

  if (hc3->user == NULL)
    return TRUE;
  if (header == NULL || g_ascii_strncasecmp (header, "Basic ", 6) != 0)
    return FALSE;
  header += 6;
  while (*header == ' ')
    header++;
  decoded = g_base64_decode (header, &len);
  if (decoded == NULL)
    return FALSE;
  expected = g_strconcat (hc3->user, ":", hc3->password, NULL);
  ok = plua_api_secret_equal ((const char *) decoded, len, expected);
  memset (decoded, 0, len);
  memset (expected, 0, strlen (expected));
  return ok;
}

/* Raw lookups: nothing a script did to _G or _PY can raise here. Pushes
 * _PY[name] (nil when _PY is not a table). */
static int
push_py_field (lua_State  *L,
               const char *name)
{
  int type;

  lua_rawgeti (L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
  lua_pushliteral (L, "_PY");
  if (lua_rawget (L, -2) != LUA_TTABLE)
    {
      lua_pop (L, 2);
      lua_pushnil (L);
      return LUA_TNIL;
    }
  lua_pushstring (L, name);
  type = lua_rawget (L, -2);
  lua_replace (L, -3);
  lua_pop (L, 1);
  return type;
}

/* The 4th argument of the hook: {route, params, query, headers, unknown,
 * operationId}. */
static void
push_request (lua_State         *L,
              SoupServerMessage *msg,
              PluaRouteMatch    *match,
              GHashTable        *query)
{
  GHashTableIter iter;
  gpointer key, value;

  lua_createtable (L, 0, 6);
  if (match != NULL)
    {
      lua_pushstring (L, match->route);
      lua_setfield (L, -2, "route");
      lua_pushstring (L, match->operation_id);
      lua_setfield (L, -2, "operationId");
      plua_route_match_push_params (match, L);
    }
  else
    {
      lua_newtable (L);
    }
  lua_setfield (L, -2, "params");

  lua_createtable (L, 0, query != NULL ? g_hash_table_size (query) : 0);
  if (query != NULL)
    {
      g_hash_table_iter_init (&iter, query);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          lua_pushstring (L, value != NULL ? value : "");
          lua_setfield (L, -2, key);
        }
    }
  lua_setfield (L, -2, "query");

  plua_net_push_headers (L, soup_server_message_get_request_headers (msg));
  lua_setfield (L, -2, "headers");

  lua_pushboolean (L, match == NULL);
  lua_setfield (L, -2, "unknown");
}

static void
reply_route_error (PluaApiHc3        *hc3,
                   SoupServerMessage *msg,
                   const char        *path,
                   GError            *error)
{
  if (g_error_matches (error, PLUA_ROUTE_ERROR, PLUA_ROUTE_ERROR_METHOD_NOT_ALLOWED))
    {
      g_autofree char *allowed = plua_route_table_dup_allowed (hc3->table, path);

      /* HEAD is answered wherever GET is. */
      if (allowed != NULL && strstr (allowed, "GET") != NULL)
        {
          char *with_head = g_strconcat (allowed, ", HEAD", NULL);

          g_free (allowed);
          allowed = with_head;
        }
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                    allowed != NULL ? allowed : "");
      plua_api_reply_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, error->message);
    }
  else if (g_error_matches (error, PLUA_ROUTE_ERROR, PLUA_ROUTE_ERROR_BAD_PARAMETER))
    plua_api_reply_error (msg, SOUP_STATUS_BAD_REQUEST, error->message);
  else
    plua_api_reply_error (msg, SOUP_STATUS_NOT_FOUND, error->message);
}

/* HC3 clients upload files (a QuickApp's .fqa to /api/quickApp/import) as
 * multipart/form-data: the body the hook gets is the first file part's
 * content, the JSON text, as if it had been posted alone. Any other body is
 * returned as it is. Takes body; returns the body to use. */
static GBytes *
take_upload (SoupServerMessage *msg,
             GBytes            *body)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  g_autoptr(SoupMultipart) multipart = NULL;
  const char *content_type = soup_message_headers_get_content_type (headers, NULL);

  if (content_type == NULL || g_ascii_strcasecmp (content_type, "multipart/form-data") != 0)
    return body;
  multipart = soup_multipart_new_from_message (headers, body);
  if (multipart == NULL)
    return body;   /* malformed: the JSON check answers 400 */
  for (int i = 0; i < soup_multipart_get_length (multipart); i++)
    {
      SoupMessageHeaders *part_headers;
      GBytes *part_body;
      g_autoptr(GHashTable) params = NULL;

      if (!soup_multipart_get_part (multipart, i, &part_headers, &part_body) ||
          !soup_message_headers_get_content_disposition (part_headers, NULL, &params))
        continue;
      if (g_hash_table_contains (params, "filename"))
        {
          g_bytes_unref (body);
          return g_bytes_ref (part_body);
        }
    }
  return body;
}

/* GET on a route the descriptions give only POST (devices/{id}/action/{name},
 * plugins/callUIEvent ...): the box takes such actions by GET with query
 * arguments too, so the emulator gets them when it takes unknown routes. */
static gboolean
get_on_post_route (PluaApiHc3   *hc3,
                   const char   *method,
                   const char   *path,
                   const GError *error)
{
  g_autofree char *allowed = NULL;

  if (!g_str_equal (method, "GET") ||
      !g_error_matches (error, PLUA_ROUTE_ERROR, PLUA_ROUTE_ERROR_METHOD_NOT_ALLOWED))
    return FALSE;
  allowed = plua_route_table_dup_allowed (hc3->table, path);
  return allowed != NULL && strstr (allowed, "POST") != NULL;
}

void
plua_api_hc3_handle (PluaApiHc3        *hc3,
                     SoupServerMessage *msg,
                     const char        *path,
                     GHashTable        *query)
{
  lua_State *L = plua_runtime_get_state (hc3->runtime);
  const char *method = soup_server_message_get_method (msg);
  gboolean head = method == SOUP_METHOD_HEAD;
  g_autofree char *upper = g_ascii_strup (head ? SOUP_METHOD_GET : method, -1);
  g_autoptr(PluaRouteMatch) match = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *full_path = NULL;
  g_autofree char *escaped = NULL;
  GUri *uri = soup_server_message_get_uri (msg);
  const char *uri_query = g_uri_get_query (uri);
  const char *data = "";
  gsize len = 0;
  int top;

  ensure_loaded (hc3);
  if (hc3->table == NULL)
    {
      plua_api_reply_error (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, hc3->load_error);
      return;
    }
  if (!basic_auth_ok (hc3, msg))
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "WWW-Authenticate", "Basic realm=\"HC3\", charset=\"UTF-8\"");
      plua_api_reply_error (msg, SOUP_STATUS_UNAUTHORIZED,
                            _("wrong or missing HC3 credentials (HTTP Basic, HC3_USER and HC3_PASSWORD)"));
      return;
    }

  /* libsoup hands over the path percent-decoded; the table decodes each
   * segment itself, so it gets it escaped again ("%2F" became "/" already). */
  escaped = g_uri_escape_string (path, "/", TRUE);
  if (!plua_route_table_match (hc3->table, upper, escaped, &match, &error))
    {
      gboolean unknown_wanted;

      if (!g_error_matches (error, PLUA_ROUTE_ERROR, PLUA_ROUTE_ERROR_NOT_FOUND) &&
          !get_on_post_route (hc3, upper, escaped, error))
        {
          reply_route_error (hc3, msg, escaped, error);
          return;
        }
      unknown_wanted = push_py_field (L, "fibaro_api_unknown_routes") != LUA_TNIL && lua_toboolean (L, -1);
      lua_pop (L, 1);
      if (!unknown_wanted)
        {
          reply_route_error (hc3, msg, escaped, error);
          return;
        }
      /* handed to the hook after all: the body check below reuses error */
      g_clear_error (&error);
    }

  if (!g_str_equal (upper, "GET"))
    {
      bytes = soup_message_body_flatten (soup_server_message_get_request_body (msg));
      bytes = take_upload (msg, bytes);
      data = g_bytes_get_data (bytes, &len);
      if (data == NULL)
        data = "";
    }
  if (len > 0 &&
      !plua_json_scan (data, len, PLUA_API_MAX_BODY_DEPTH, NULL, NULL, NULL, &error))
    {
      g_autofree char *message = g_strdup_printf (_("invalid JSON body: %s"), error->message);
      plua_api_reply_error (msg, SOUP_STATUS_BAD_REQUEST, message);
      return;
    }

  top = lua_gettop (L);
  if (push_py_field (L, "fibaro_api_hook") != LUA_TFUNCTION)
    {
      lua_settop (L, top);
      plua_api_reply_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, _("_PY.fibaro_api_hook is not a function"));
      return;
    }
  full_path = uri_query != NULL ? g_strconcat (g_uri_get_path (uri), "?", uri_query, NULL)
                                : g_strdup (g_uri_get_path (uri));
  lua_pushstring (L, upper);
  lua_pushstring (L, full_path);
  lua_pushlstring (L, data, len);
  push_request (L, msg, match, query);
  plua_api_calls_fibaro_hook (hc3->calls, msg, 4);
}
