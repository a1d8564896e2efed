/* test-route-table.c: the HC3 route table built from the OpenAPI descriptions. */
#include "config.h"

#include <lauxlib.h>
#include <lualib.h>
#include <string.h>

#include "plua-route-table.h"

#define HC3_DIR PLUA_RESOURCE_PREFIX "/api-descriptions/hc3/"

/* One (method, path) of the descriptions, read straight from the JSON. */
typedef struct
{
  char *method;        /* "GET" */
  char *route;         /* "/api/devices/{deviceID}" */
  char *request_path;  /* "/api/devices/42" */
  char *operation_id;
  GHashTable *types;   /* path parameter name -> schema type */
} Described;

static void
described_free (gpointer data)
{
  Described *d = data;

  g_free (d->method);
  g_free (d->route);
  g_free (d->request_path);
  g_free (d->operation_id);
  g_hash_table_unref (d->types);
  g_free (d);
}

/* Example segment for a parameter of a schema type; none of them is a
 * literal segment of any route. */
static const char *
example_for (const char *type)
{
  if (g_strcmp0 (type, "integer") == 0)
    return "42";
  if (g_strcmp0 (type, "number") == 0)
    return "1.5";
  if (g_strcmp0 (type, "boolean") == 0)
    return "true";
  return "sample%20value";
}

static const char *
param_type (JsonArray *parameters, const char *name)
{
  for (guint i = 0; parameters != NULL && i < json_array_get_length (parameters); i++)
    {
      JsonObject *p = json_array_get_object_element (parameters, i);

      if (g_strcmp0 (json_object_get_string_member (p, "in"), "path") == 0
          && g_strcmp0 (json_object_get_string_member (p, "name"), name) == 0)
        return json_object_get_string_member (json_object_get_object_member (p, "schema"), "type");
    }
  return NULL;
}

/* Every operation of every description in the bundle, with a request path
 * filled in with example values. */
static GPtrArray *
read_descriptions (void)
{
  static const char * const methods[] = { "get", "put", "post", "delete", "patch", "head", "options" };
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) files = g_resources_enumerate_children (HC3_DIR, 0, &error);
  GPtrArray *all = g_ptr_array_new_with_free_func (described_free);

  g_assert_no_error (error);
  for (guint f = 0; files[f] != NULL; f++)
    {
      g_autofree char *resource = g_strconcat (HC3_DIR, files[f], NULL);
      g_autoptr (GBytes) bytes = g_resources_lookup_data (resource, 0, &error);
      g_autoptr (JsonParser) parser = json_parser_new ();
      JsonObject *root, *paths;
      const char *prefix;
      g_autoptr (GList) members = NULL;

      g_assert_no_error (error);
      json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL),
                                  (gssize) g_bytes_get_size (bytes), &error);
      g_assert_no_error (error);
      root = json_node_get_object (json_parser_get_root (parser));
      prefix = json_object_get_string_member (
        json_array_get_object_element (json_object_get_array_member (root, "servers"), 0), "url");
      paths = json_object_get_object_member (root, "paths");
      members = json_object_get_members (paths);
      for (GList *l = members; l != NULL; l = l->next)
        {
          JsonObject *item = json_object_get_object_member (paths, l->data);

          for (guint m = 0; m < G_N_ELEMENTS (methods); m++)
            {
              JsonObject *op;
              JsonArray *parameters;
              g_auto (GStrv) segments = NULL;
              GString *request;
              Described *d;

              if (!json_object_has_member (item, methods[m]))
                continue;
              request = g_string_new (prefix);
              op = json_object_get_object_member (item, methods[m]);
              parameters = json_object_has_member (op, "parameters")
                           ? json_object_get_array_member (op, "parameters") : NULL;
              d = g_new0 (Described, 1);
              d->method = g_ascii_strup (methods[m], -1);
              d->route = g_strconcat (prefix, l->data, NULL);
              d->operation_id = g_strdup (json_object_get_string_member (op, "operationId"));
              d->types = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
              segments = g_strsplit ((const char *) l->data + 1, "/", -1);
              for (guint s = 0; segments[s] != NULL; s++)
                {
                  g_string_append_c (request, '/');
                  if (segments[s][0] == '{')
                    {
                      g_autofree char *name = g_strndup (segments[s] + 1, strlen (segments[s]) - 2);
                      const char *type = param_type (parameters, name);

                      g_assert_nonnull (type);
                      g_string_append (request, example_for (type));
                      g_hash_table_insert (d->types, g_steal_pointer (&name), g_strdup (type));
                    }
                  else
                    g_string_append (request, segments[s]);
                }
              d->request_path = g_string_free (request, FALSE);
              g_ptr_array_add (all, d);
            }
        }
    }
  return all;
}

/* Built once: under AddressSanitizer a build costs a good part of a second. */
static PluaRouteTable *hc3;

static PluaRouteTable *
hc3_table (void)
{
  if (hc3 == NULL)
    {
      g_autoptr (GError) error = NULL;

      hc3 = plua_route_table_new_from_resources (&error);
      g_assert_no_error (error);
      g_assert_nonnull (hc3);
    }
  return g_object_ref (hc3);
}

static PluaRouteMatch *
must_match (PluaRouteTable *table, const char *method, const char *path,
            const char *operation_id)
{
  g_autoptr (GError) error = NULL;
  PluaRouteMatch *match = NULL;

  if (!plua_route_table_match (table, method, path, &match, &error))
    g_error ("%s %s: %s", method, path, error->message);
  g_assert_cmpstr (match->operation_id, ==, operation_id);
  g_assert_cmpstr (match->method, ==, method);
  return match;
}

static void
must_fail (PluaRouteTable *table, const char *method, const char *path,
           PluaRouteError code, const char *message_part)
{
  g_autoptr (GError) error = NULL;
  PluaRouteMatch *match = NULL;

  g_assert_false (plua_route_table_match (table, method, path, &match, &error));
  g_assert_null (match);
  g_assert_error (error, PLUA_ROUTE_ERROR, (int) code);
  if (message_part != NULL && strstr (error->message, message_part) == NULL)
    g_error ("%s %s: \"%s\" does not mention %s", method, path, error->message, message_part);
}

static void
test_every_route_matches_itself (void)
{
  g_autoptr (PluaRouteTable) table = hc3_table ();
  g_autoptr (GPtrArray) described = read_descriptions ();
  g_autoptr (GPtrArray) listed = plua_route_table_get_routes (table);
  g_autoptr (GHashTable) operation_ids = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < described->len; i++)
    {
      Described *d = g_ptr_array_index (described, i);
      g_autoptr (PluaRouteMatch) match = must_match (table, d->method, d->request_path,
                                                     d->operation_id);

      g_assert_cmpstr (match->route, ==, d->route);
      g_assert_cmpuint (match->n_params, ==, g_hash_table_size (d->types));
      for (guint p = 0; p < match->n_params; p++)
        {
          const PluaRouteParam *param = &match->params[p];
          const char *type = g_hash_table_lookup (d->types, param->name);

          g_assert_nonnull (type);
          if (strcmp (type, "integer") == 0)
            {
              g_assert_cmpint (param->type, ==, PLUA_ROUTE_PARAM_INTEGER);
              g_assert_cmpint (param->integer, ==, 42);
            }
          else if (strcmp (type, "string") == 0)
            {
              g_assert_cmpint (param->type, ==, PLUA_ROUTE_PARAM_STRING);
              g_assert_cmpstr (param->value, ==, "sample value");
            }
        }
      g_hash_table_add (operation_ids, d->operation_id);
    }
  g_assert_cmpuint (g_hash_table_size (operation_ids), ==, described->len);
  g_assert_cmpuint (plua_route_table_get_n_operations (table), ==, described->len);
  g_assert_cmpuint (listed->len, ==, described->len);
  g_test_message ("%u HC3 operations in the descriptions, each matched its own route",
                  described->len);
}

static void
test_literal_wins (void)
{
  g_autoptr (PluaRouteTable) table = hc3_table ();
  struct { const char *method, *path, *operation_id, *route; } cases[] = {
    { "GET", "/api/devices/hierarchy", "getDeviceTypeHierarchy", "/api/devices/hierarchy" },
    { "GET", "/api/devices/42", "getDevice", "/api/devices/{deviceID}" },
    { "POST", "/api/devices/filter", "filterDevices", "/api/devices/filter" },
    { "DELETE", "/api/devices/action/1700000000/42", "deleteDelayedAction",
      "/api/devices/action/{timestamp}/{id}" },
    { "POST", "/api/devices/42/action/turnOn", "callAction",
      "/api/devices/{deviceID}/action/{actionName}" },
    { "GET", "/api/quickApp/export/7", "exportQuickApp", "/api/quickApp/export/{deviceId}" },
    { "GET", "/api/quickApp/7/files/main", "getQuickAppFile", "/api/quickApp/{deviceId}/files/{fileName}" },
    { "PUT", "/api/panels/favoriteColors/v2/5", "modifyFavoriteColorV2",
      "/api/panels/favoriteColors/v2/{favoriteColorID}" },
    { "PUT", "/api/panels/favoriteColors/5", "modifyFavoriteColor",
      "/api/panels/favoriteColors/{favoriteColorID}" },
    { "GET", "/api/energy/installationCost/3", "getInstallationCost", "/api/energy/installationCost/{id}" },
    { "GET", "/api/energy/1/2/summary/devices/kWh/42", "getEnergyChart",
      "/api/energy/{timestampFrom}/{timestampTo}/{dataSet}/{type}/{unit}/{id}" },
    { "POST", "/api/users/action/synchronize", "synchronizeUsers", "/api/users/action/synchronize" },
    { "GET", "/api/customEvents/publish", "getCustomEvent", "/api/customEvents/{customEventName}" },
    { "GET", "/api/customEvents/doorbell/publish", "emitCustomEventByGet",
      "/api/customEvents/{customEventName}/publish" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (PluaRouteMatch) match = must_match (table, cases[i].method, cases[i].path,
                                                     cases[i].operation_id);

      g_assert_cmpstr (match->route, ==, cases[i].route);
    }

  /* The literal branch dead-ends after "export"; the {deviceId} branch
   * matches, and then "export" is not an integer. */
  must_fail (table, "GET", "/api/quickApp/export/files/main",
             PLUA_ROUTE_ERROR_BAD_PARAMETER, "deviceId");
}

static void
test_bad_parameter (void)
{
  g_autoptr (PluaRouteTable) table = hc3_table ();
  const char *bad_ids[] = {
    "abc", "12abc", "4.5", "0x10", "%2042", "99999999999999999999",
    "a-very-long-value-that-is-shortened-in-the-message-because-nobody-wants-it-all",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad_ids); i++)
    {
      g_autofree char *path = g_strconcat ("/api/devices/", bad_ids[i], NULL);

      must_fail (table, "GET", path, PLUA_ROUTE_ERROR_BAD_PARAMETER, "deviceID");
    }
  must_fail (table, "POST", "/api/devices/lamp/action/turnOn",
             PLUA_ROUTE_ERROR_BAD_PARAMETER, "deviceID");
  must_fail (table, "PUT", "/api/profiles/1/climateZones/zone",
             PLUA_ROUTE_ERROR_BAD_PARAMETER, "zoneId");
  /* Broken escapes and escaped NULs are bad in string parameters too. */
  must_fail (table, "GET", "/api/globalVariables/%ZZ", PLUA_ROUTE_ERROR_BAD_PARAMETER,
             "globalVariableName");
  must_fail (table, "GET", "/api/globalVariables/a%00b", PLUA_ROUTE_ERROR_BAD_PARAMETER,
             "globalVariableName");
  must_fail (table, "GET", "/api/globalVariables/%FF", PLUA_ROUTE_ERROR_BAD_PARAMETER,
             "globalVariableName");

  {
    g_autoptr (PluaRouteMatch) negative = must_match (table, "GET", "/api/devices/-1", "getDevice");
    g_autoptr (PluaRouteMatch) big = must_match (table, "GET", "/api/devices/9223372036854775807",
                                                 "getDevice");

    g_assert_cmpint (negative->params[0].integer, ==, -1);
    g_assert_cmpint (big->params[0].integer, ==, G_MAXINT64);
  }
}

static void
test_percent_decoding (void)
{
  g_autoptr (PluaRouteTable) table = hc3_table ();
  g_autoptr (PluaRouteMatch) match = must_match (table, "PUT", "/api/globalVariables/Home%20State",
                                                 "modifyGlobalVariable");
  g_autoptr (PluaRouteMatch) slash = must_match (table, "GET", "/api/quickApp/5/files/a%2Fb",
                                                 "getQuickAppFile");
  g_autoptr (PluaRouteMatch) utf8 = must_match (table, "GET", "/api/customEvents/K%C3%B6k",
                                                "getCustomEvent");

  g_assert_cmpstr (plua_route_match_get_param (match, "globalVariableName")->value, ==, "Home State");
  g_assert_cmpstr (plua_route_match_get_param (slash, "fileName")->value, ==, "a/b");
  g_assert_cmpint (plua_route_match_get_param (slash, "deviceId")->integer, ==, 5);
  g_assert_cmpstr (plua_route_match_get_param (utf8, "customEventName")->value, ==, "K\xc3\xb6k");
  g_assert_null (plua_route_match_get_param (match, "nothing"));
}

static void
test_empty_segments (void)
{
  g_autoptr (PluaRouteTable) table = hc3_table ();
  const char *paths[] = { "/api/alarms/v1/history/", "/api/alarms/v1/history", "//api//alarms/v1/history//" };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autoptr (PluaRouteMatch) match = must_match (table, "GET", paths[i], "getAlarmHistory");

      g_assert_cmpstr (match->route, ==, "/api/alarms/v1/history/");
    }
  {
    g_autoptr (PluaRouteMatch) match = must_match (table, "GET", "/api/devices/", "getDevices");
  }
}

static void
test_unknown_path (void)
{
  g_autoptr (PluaRouteTable) table = hc3_table ();
  g_autoptr (GString) deep = g_string_new ("/api/devices");
  const char *paths[] = {
    "/api/nothing", "/api", "/", "", "api/devices", "/api/devices/42/nothing",
    "/api/devices/42/action", "/devices", "/api/DEVICES", "/api/devices?id=1",
  };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    must_fail (table, "GET", paths[i], PLUA_ROUTE_ERROR_NOT_FOUND, NULL);
  for (guint i = 0; i < 40; i++)
    g_string_append (deep, "/42");
  must_fail (table, "GET", deep->str, PLUA_ROUTE_ERROR_NOT_FOUND, NULL);
  g_assert_null (plua_route_table_dup_allowed (table, "/api/nothing"));
}

static void
test_method_not_allowed (void)
{
  g_autoptr (PluaRouteTable) table = hc3_table ();
  g_autofree char *allowed = plua_route_table_dup_allowed (table, "/api/devices/42");
  g_autofree char *allowed_literal = plua_route_table_dup_allowed (table, "/api/scenes/hasTriggers");

  must_fail (table, "PATCH", "/api/devices/42", PLUA_ROUTE_ERROR_METHOD_NOT_ALLOWED, "PATCH");
  must_fail (table, "POST", "/api/devices/42", PLUA_ROUTE_ERROR_METHOD_NOT_ALLOWED,
             "/api/devices/{deviceID}");
  must_fail (table, "get", "/api/devices", PLUA_ROUTE_ERROR_METHOD_NOT_ALLOWED, NULL);
  /* The path is settled before the method: no fall-back to /scenes/{sceneID}. */
  must_fail (table, "GET", "/api/scenes/hasTriggers", PLUA_ROUTE_ERROR_METHOD_NOT_ALLOWED, "POST");
  g_assert_cmpstr (allowed, ==, "GET, PUT, DELETE");
  g_assert_cmpstr (allowed_literal, ==, "POST");
}

static void
test_push_params (void)
{
  g_autoptr (PluaRouteTable) table = hc3_table ();
  g_autoptr (PluaRouteMatch) match = must_match (table, "POST", "/api/devices/42/action/turnOn",
                                                 "callAction");
  lua_State *L = luaL_newstate ();

  plua_route_match_push_params (match, L);
  g_assert_true (lua_istable (L, -1));
  g_assert_cmpint (lua_getfield (L, -1, "deviceID"), ==, LUA_TNUMBER);
  g_assert_true (lua_isinteger (L, -1));
  g_assert_cmpint (lua_tointeger (L, -1), ==, 42);
  lua_pop (L, 1);
  g_assert_cmpint (lua_getfield (L, -1, "actionName"), ==, LUA_TSTRING);
  g_assert_cmpstr (lua_tostring (L, -1), ==, "turnOn");
  lua_pop (L, 2);
  g_assert_cmpint (lua_gettop (L), ==, 0);
  lua_close (L);
}

static void
test_typed_descriptions (void)
{
  g_autoptr (PluaRouteTable) table = plua_route_table_new ();
  g_autoptr (JsonNode) doc = json_from_string (
    "{\"servers\": [{\"url\": \"/x/\"}], \"paths\": {"
    " \"/n/{ratio}\": {\"parameters\": [{\"name\": \"ratio\", \"in\": \"path\", \"required\": true,"
    "                  \"schema\": {\"$ref\": \"#/components/schemas/Ratio\"}}],"
    "                  \"get\": {\"operationId\": \"getRatio\", \"tags\": [\"t\"]}},"
    " \"/b/{flag}\": {\"get\": {\"operationId\": \"getFlag\", \"parameters\": ["
    "                  {\"$ref\": \"#/components/parameters/Flag\"}]}}},"
    " \"components\": {\"schemas\": {\"Ratio\": {\"type\": \"number\"}},"
    "  \"parameters\": {\"Flag\": {\"name\": \"flag\", \"in\": \"path\", \"required\": true,"
    "                  \"schema\": {\"type\": \"boolean\"}}}}}", NULL);
  g_autoptr (GError) error = NULL;
  lua_State *L = luaL_newstate ();

  g_assert_true (plua_route_table_add_description (table, doc, "inline", &error));
  g_assert_no_error (error);
  g_assert_cmpuint (plua_route_table_get_n_operations (table), ==, 2);
  {
    g_autoptr (PluaRouteMatch) ratio = must_match (table, "GET", "/x/n/2.5", "getRatio");
    g_autoptr (PluaRouteMatch) flag = must_match (table, "GET", "/x/b/false", "getFlag");

    g_assert_cmpstr (ratio->route, ==, "/x/n/{ratio}");
    g_assert_cmpstr (ratio->tag, ==, "t");
    g_assert_cmpfloat (ratio->params[0].number, ==, 2.5);
    g_assert_false (flag->params[0].boolean);
    plua_route_match_push_params (flag, L);
    g_assert_cmpint (lua_getfield (L, -1, "flag"), ==, LUA_TBOOLEAN);
    lua_pop (L, 2);
    plua_route_match_push_params (ratio, L);
    g_assert_cmpint (lua_getfield (L, -1, "ratio"), ==, LUA_TNUMBER);
    g_assert_false (lua_isinteger (L, -1));
    lua_pop (L, 2);
  }
  must_fail (table, "GET", "/x/n/nan", PLUA_ROUTE_ERROR_BAD_PARAMETER, "ratio");
  must_fail (table, "GET", "/x/n/1e999", PLUA_ROUTE_ERROR_BAD_PARAMETER, "ratio");
  must_fail (table, "GET", "/x/b/yes", PLUA_ROUTE_ERROR_BAD_PARAMETER, "flag");
  lua_close (L);
}

static void
test_invalid_descriptions (void)
{
  struct { const char *json, *message_part; } cases[] = {
    { "[]", "no paths" },
    { "{\"paths\": {\"/a?id={id}\": {\"get\": {\"operationId\": \"x\"}}}}", "plain absolute path" },
    { "{\"paths\": {\"/a/{id}\": {\"get\": {\"operationId\": \"x\"}}}}", "id" },
    { "{\"paths\": {\"/a/{id}\": {\"get\": {\"operationId\": \"x\", \"parameters\": ["
      "{\"name\": \"id\", \"in\": \"path\", \"schema\": {}}]}}}}", "not declared with a type" },
    { "{\"paths\": {\"/a/x{id}\": {\"get\": {\"operationId\": \"x\"}}}}", "x{id}" },
    { "{\"paths\": {\"/a\": {\"get\": {\"summary\": \"no id\"}}}}", "operationId" },
    { "{\"paths\": {\"/a\": {\"get\": {\"operationId\": \"x\"}}, \"/a/\": {\"get\": {\"operationId\": \"y\"}}}}",
      "same requests" },
    { "{\"paths\": {\"/a\": {\"get\": 3}}}", "not an object" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (PluaRouteTable) table = plua_route_table_new ();
      g_autoptr (JsonNode) doc = json_from_string (cases[i].json, NULL);
      g_autoptr (GError) error = NULL;

      g_assert_nonnull (doc);
      g_assert_false (plua_route_table_add_description (table, doc, "case", &error));
      g_assert_error (error, PLUA_ROUTE_ERROR, PLUA_ROUTE_ERROR_INVALID);
      if (strstr (error->message, cases[i].message_part) == NULL)
        g_error ("case %u: \"%s\" does not mention %s", i, error->message, cases[i].message_part);
    }
  {
    /* The same method twice on one route, across two documents. */
    g_autoptr (PluaRouteTable) table = plua_route_table_new ();
    g_autoptr (JsonNode) doc = json_from_string (
      "{\"paths\": {\"/a\": {\"get\": {\"operationId\": \"x\"}}}}", NULL);
    g_autoptr (GError) error = NULL;

    g_assert_true (plua_route_table_add_description (table, doc, "one", &error));
    g_assert_false (plua_route_table_add_description (table, doc, "two", &error));
    g_assert_error (error, PLUA_ROUTE_ERROR, PLUA_ROUTE_ERROR_INVALID);
  }
}

/* Not asserted: prints how long one match takes over every HC3 route.
 * Runs for about 0.2 s (2 s with -m perf), whatever the build. */
static void
test_match_speed (void)
{
  g_autoptr (PluaRouteTable) table = hc3_table ();
  g_autoptr (GPtrArray) described = read_descriptions ();
  gint64 budget = g_test_perf () ? 2 * G_USEC_PER_SEC : G_USEC_PER_SEC / 5;
  gint64 start, elapsed;
  guint n = 0, rounds = 0;

  start = g_get_monotonic_time ();
  do
    {
      for (guint i = 0; i < described->len; i++)
        {
          Described *d = g_ptr_array_index (described, i);
          PluaRouteMatch *match = NULL;

          if (plua_route_table_match (table, d->method, d->request_path, &match, NULL))
            n++;
          plua_route_match_free (match);
        }
      rounds++;
      elapsed = g_get_monotonic_time () - start;
    }
  while (elapsed < budget);
  g_assert_cmpuint (n, ==, rounds * described->len);
  g_test_message ("match: %.0f ns per request (%u matches over %u routes, params decoded)",
                  elapsed * 1000.0 / n, n, described->len);

  start = g_get_monotonic_time ();
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (PluaRouteTable) fresh = plua_route_table_new_from_resources (&error);

    g_assert_no_error (error);
  }
  g_test_message ("building the table from the bundle: %.2f ms",
                  (g_get_monotonic_time () - start) / 1000.0);
}

int
main (int argc, char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/route-table/every-route-matches-itself", test_every_route_matches_itself);
  g_test_add_func ("/route-table/literal-segment-wins-over-parameter", test_literal_wins);
  g_test_add_func ("/route-table/bad-integer-names-the-parameter", test_bad_parameter);
  g_test_add_func ("/route-table/parameters-are-percent-decoded", test_percent_decoding);
  g_test_add_func ("/route-table/empty-segments-are-ignored", test_empty_segments);
  g_test_add_func ("/route-table/unknown-path-is-not-found", test_unknown_path);
  g_test_add_func ("/route-table/known-path-wrong-method-is-not-allowed", test_method_not_allowed);
  g_test_add_func ("/route-table/params-pushed-as-lua-table", test_push_params);
  g_test_add_func ("/route-table/number-and-boolean-parameters", test_typed_descriptions);
  g_test_add_func ("/route-table/invalid-descriptions-are-refused", test_invalid_descriptions);
  g_test_add_func ("/route-table/match-speed", test_match_speed);

  status = g_test_run ();
  g_clear_object (&hc3);
  return status;
}
