/* plua-route-table.h: REST routes built from OpenAPI descriptions, matched
 * segment by segment. The HC3 routes come from api-descriptions/hc3/ in the
 * GResource bundle; the table is data, not code. */
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>
#include <lua.h>

G_BEGIN_DECLS

#define PLUA_ROUTE_ERROR (plua_route_error_quark ())
typedef enum
{
  PLUA_ROUTE_ERROR_NOT_FOUND,           /* no route has this path: 404 */
  PLUA_ROUTE_ERROR_METHOD_NOT_ALLOWED,  /* the path is a route, not for this method: 405 */
  PLUA_ROUTE_ERROR_BAD_PARAMETER,       /* a path parameter is not of its type: 400 */
  PLUA_ROUTE_ERROR_INVALID,             /* a description cannot be turned into routes */
} PluaRouteError;

typedef enum
{
  PLUA_ROUTE_PARAM_STRING,
  PLUA_ROUTE_PARAM_INTEGER,
  PLUA_ROUTE_PARAM_NUMBER,
  PLUA_ROUTE_PARAM_BOOLEAN,
} PluaRouteParamType;

/* A path parameter of a matched request, in path order. */
typedef struct
{
  const char         *name;      /* "deviceID" */
  PluaRouteParamType  type;
  char               *value;     /* percent-decoded text of the segment */
  gint64              integer;   /* for PLUA_ROUTE_PARAM_INTEGER */
  double              number;    /* for PLUA_ROUTE_PARAM_NUMBER */
  gboolean            boolean;   /* for PLUA_ROUTE_PARAM_BOOLEAN */
} PluaRouteParam;

/* What plua_route_table_match() found. The strings belong to the table,
 * which the match keeps alive. */
typedef struct
{
  const char     *route;         /* "/api/devices/{deviceID}" */
  const char     *method;        /* "GET" */
  const char     *operation_id;  /* "getDevice" */
  const char     *tag;           /* "devices" */
  const char     *summary;
  guint           n_params;
  PluaRouteParam *params;
  GObject        *table;
} PluaRouteMatch;

/* One operation of the table, as listed by plua_route_table_get_routes(). */
typedef struct
{
  const char *route;
  const char *method;
  const char *operation_id;
  const char *tag;
  const char *summary;
} PluaRouteInfo;

#define PLUA_TYPE_ROUTE_TABLE (plua_route_table_get_type ())
G_DECLARE_FINAL_TYPE (PluaRouteTable, plua_route_table, PLUA, ROUTE_TABLE, GObject)

GQuark          plua_route_error_quark              (void);

/* An empty table. */
PluaRouteTable *plua_route_table_new                (void);
/* The HC3 routes: every .json file under api-descriptions/hc3/ in the bundle. */
PluaRouteTable *plua_route_table_new_from_resources (GError        **error);
/* Adds the operations of one OpenAPI 3 document; its first server URL
 * (e.g. "/api") prefixes every path. source names the document in errors. */
gboolean        plua_route_table_add_description    (PluaRouteTable  *self,
                                                     JsonNode        *document,
                                                     const char      *source,
                                                     GError         **error);
/* Number of (method, route) operations. */
guint           plua_route_table_get_n_operations   (PluaRouteTable  *self);
/* Every operation, sorted by route then method; free the array only. */
GPtrArray      *plua_route_table_get_routes         (PluaRouteTable  *self);

/* Finds the route of a request. path is the request path without the query
 * string, as sent (percent-encoded); empty segments are ignored. Literal
 * segments win over {param} segments at the same position. On failure the
 * error is PLUA_ROUTE_ERROR_NOT_FOUND, _METHOD_NOT_ALLOWED or _BAD_PARAMETER
 * (whose message names the parameter). */
gboolean        plua_route_table_match              (PluaRouteTable  *self,
                                                     const char      *method,
                                                     const char      *path,
                                                     PluaRouteMatch **out_match,
                                                     GError         **error);
/* The methods of the route path matches, for an Allow header ("GET, PUT"),
 * or NULL when it matches no route. */
char           *plua_route_table_dup_allowed        (PluaRouteTable  *self,
                                                     const char      *path);

const PluaRouteParam *plua_route_match_get_param    (const PluaRouteMatch *match,
                                                     const char           *name);
/* Pushes the parameters as a Lua table, {deviceID = 42, actionName = "turnOn"}:
 * integers as Lua integers, numbers, booleans and strings as themselves. */
void            plua_route_match_push_params        (const PluaRouteMatch *match,
                                                     lua_State            *L);
void            plua_route_match_free               (PluaRouteMatch *match);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PluaRouteMatch, plua_route_match_free)

G_END_DECLS
