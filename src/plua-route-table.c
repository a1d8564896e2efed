/* plua-route-table.c: REST routes built from OpenAPI descriptions.
 *
 * The routes form a tree with one level per path segment: each node has its
 * literal children in a hash table and at most one {param} child. Matching
 * walks the request path once, trying the literal child before the param
 * child and backtracking only when a literal branch dead-ends, so the cost
 * grows with the number of segments, not with the number of routes.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gi18n.h>

#include "plua-route-table.h"

/* Where the HC3 descriptions live in the bundle. */
#define HC3_RESOURCE_DIR PLUA_RESOURCE_PREFIX "/api-descriptions/hc3/"
/* Requests with more segments than this match no route (the longest HC3
 * route has 8). Also bounds the matcher's recursion. */
#define MAX_SEGMENTS 32
/* Longest literal segment looked up; longer request segments can only be
 * parameter values. */
#define MAX_LITERAL 128
/* Longest parameter value quoted in an error message, in characters. */
#define MAX_QUOTED 40

typedef struct _RouteNode RouteNode;
typedef struct _RouteEntry RouteEntry;

typedef struct
{
  char               *name;
  PluaRouteParamType  type;
} ParamSpec;

typedef struct
{
  PluaRouteInfo  info;       /* strings below; info.route is the entry's */
  char          *method;
  char          *operation_id;
  char          *tag;
  char          *summary;
  guint          n_params;
  ParamSpec     *params;     /* in path order */
} Operation;

struct _RouteEntry
{
  char      *route;          /* "/api/devices/{deviceID}" */
  guint      n_params;
  GPtrArray *operations;     /* of Operation */
};

struct _RouteNode
{
  GHashTable *literals;      /* segment -> RouteNode, NULL until needed */
  RouteNode  *param;
  RouteEntry *entry;         /* a route ends here */
};

struct _PluaRouteTable
{
  GObject    parent_instance;
  RouteNode *root;
  guint      n_operations;
};

G_DEFINE_FINAL_TYPE (PluaRouteTable, plua_route_table, G_TYPE_OBJECT)

G_DEFINE_QUARK (plua-route-error-quark, plua_route_error)

typedef struct
{
  const char *start;
  gsize       length;
} Segment;

static void
operation_free (gpointer data)
{
  Operation *op = data;

  for (guint i = 0; i < op->n_params; i++)
    g_free (op->params[i].name);
  g_free (op->params);
  g_free (op->method);
  g_free (op->operation_id);
  g_free (op->tag);
  g_free (op->summary);
  g_free (op);
}

static void
route_entry_free (RouteEntry *entry)
{
  g_ptr_array_unref (entry->operations);
  g_free (entry->route);
  g_free (entry);
}

static void
route_node_free (gpointer data)
{
  RouteNode *node = data;

  if (node == NULL)
    return;
  g_clear_pointer (&node->literals, g_hash_table_unref);
  route_node_free (node->param);
  g_clear_pointer (&node->entry, route_entry_free);
  g_free (node);
}

static void
plua_route_table_finalize (GObject *object)
{
  PluaRouteTable *self = PLUA_ROUTE_TABLE (object);

  g_clear_pointer (&self->root, route_node_free);

  G_OBJECT_CLASS (plua_route_table_parent_class)->finalize (object);
}

static void
plua_route_table_class_init (PluaRouteTableClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = plua_route_table_finalize;
}

static void
plua_route_table_init (PluaRouteTable *self)
{
  self->root = g_new0 (RouteNode, 1);
}

PluaRouteTable *
plua_route_table_new (void)
{
  return g_object_new (PLUA_TYPE_ROUTE_TABLE, NULL);
}

/* Building */

/* A string member, or fallback when it is missing or not a string. */
static const char *
get_string (JsonObject *object, const char *name, const char *fallback)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node != NULL && JSON_NODE_HOLDS_VALUE (node)
      && json_node_get_value_type (node) == G_TYPE_STRING)
    return json_node_get_string (node);
  return fallback;
}

/* The node a local JSON pointer ("#/components/schemas/Device") names. */
static JsonNode *
resolve_ref (JsonObject *document, const char *ref)
{
  g_auto (GStrv) parts = NULL;
  JsonNode *node;

  if (!g_str_has_prefix (ref, "#/"))
    return NULL;
  parts = g_strsplit (ref + 2, "/", -1);
  node = NULL;
  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_autoptr (GString) key = g_string_new (parts[i]);
      JsonObject *object = node != NULL
                           ? (JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL)
                           : document;

      g_string_replace (key, "~1", "/", 0);
      g_string_replace (key, "~0", "~", 0);
      if (object == NULL || !json_object_has_member (object, key->str))
        return NULL;
      node = json_object_get_member (object, key->str);
    }
  return node;
}

/* The object node stands for, following one $ref if it is one. */
static JsonObject *
deref_object (JsonObject *document, JsonNode *node)
{
  JsonObject *object;
  const char *ref;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  object = json_node_get_object (node);
  ref = get_string (object, "$ref", NULL);
  if (ref != NULL)
    {
      node = resolve_ref (document, ref);
      object = node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
    }
  return object;
}

/* The declaration of path parameter name: the operation's own first, then
 * the path item's (OpenAPI lets an operation override a path parameter). */
static JsonObject *
find_path_parameter (JsonObject *document,
                     JsonArray  *lists[2],
                     const char *name)
{
  for (guint l = 0; l < 2; l++)
    {
      if (lists[l] == NULL)
        continue;
      for (guint i = 0; i < json_array_get_length (lists[l]); i++)
        {
          JsonObject *p = deref_object (document, json_array_get_element (lists[l], i));

          if (p != NULL
              && g_strcmp0 (get_string (p, "in", NULL), "path") == 0
              && g_strcmp0 (get_string (p, "name", NULL), name) == 0)
            return p;
        }
    }
  return NULL;
}

static gboolean
param_type_from_schema (JsonObject         *document,
                        JsonObject         *parameter,
                        PluaRouteParamType *type)
{
  JsonObject *schema = deref_object (document, json_object_get_member (parameter, "schema"));
  const char *name = schema != NULL
                     ? get_string (schema, "type", NULL)
                     : NULL;

  if (g_strcmp0 (name, "integer") == 0)
    *type = PLUA_ROUTE_PARAM_INTEGER;
  else if (g_strcmp0 (name, "number") == 0)
    *type = PLUA_ROUTE_PARAM_NUMBER;
  else if (g_strcmp0 (name, "boolean") == 0)
    *type = PLUA_ROUTE_PARAM_BOOLEAN;
  else if (g_strcmp0 (name, "string") == 0)
    *type = PLUA_ROUTE_PARAM_STRING;
  else
    return FALSE;
  return TRUE;
}

static JsonArray *
get_array_member (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

/* The node of route (creating nodes on the way); its placeholders, in order,
 * go to names. */
static RouteNode *
insert_route (PluaRouteTable *self,
              const char     *route,
              GPtrArray      *names,
              const char     *source,
              GError        **error)
{
  g_auto (GStrv) segments = g_strsplit (route, "/", -1);
  RouteNode *node = self->root;
  guint depth = 0;

  if (route[0] != '/' || strpbrk (route, "?#") != NULL)
    {
      g_set_error (error, PLUA_ROUTE_ERROR, PLUA_ROUTE_ERROR_INVALID,
                   "%s: path %s is not a plain absolute path", source, route);
      return NULL;
    }
  for (guint i = 0; segments[i] != NULL; i++)
    {
      const char *segment = segments[i];
      gsize length = strlen (segment);

      if (length == 0)
        continue;
      if (++depth > MAX_SEGMENTS)
        {
          g_set_error (error, PLUA_ROUTE_ERROR, PLUA_ROUTE_ERROR_INVALID,
                       "%s: path %s has more than %d segments", source, route, MAX_SEGMENTS);
          return NULL;
        }
      if (segment[0] == '{' && segment[length - 1] == '}' && length > 2
          && strpbrk (segment + 1, "{}") == segment + length - 1)
        {
          g_ptr_array_add (names, g_strndup (segment + 1, length - 2));
          if (node->param == NULL)
            node->param = g_new0 (RouteNode, 1);
          node = node->param;
        }
      else if (strpbrk (segment, "{}") != NULL || length >= MAX_LITERAL)
        {
          g_set_error (error, PLUA_ROUTE_ERROR, PLUA_ROUTE_ERROR_INVALID,
                       "%s: segment \"%s\" of %s is neither text nor one {parameter}",
                       source, segment, route);
          return NULL;
        }
      else
        {
          RouteNode *child;

          if (node->literals == NULL)
            node->literals = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                    g_free, route_node_free);
          child = g_hash_table_lookup (node->literals, segment);
          if (child == NULL)
            {
              child = g_new0 (RouteNode, 1);
              g_hash_table_insert (node->literals, g_strdup (segment), child);
            }
          node = child;
        }
    }
  return node;
}

static gboolean
add_operation (PluaRouteTable *self,
               JsonObject     *document,
               RouteEntry     *entry,
               GPtrArray      *names,
               JsonArray      *path_parameters,
               const char     *method,
               JsonObject     *op_object,
               const char     *source,
               GError        **error)
{
  g_autofree char *upper = g_ascii_strup (method, -1);
  JsonArray *lists[2] = { get_array_member (op_object, "parameters"), path_parameters };
  JsonArray *tags = get_array_member (op_object, "tags");
  const char *operation_id;
  Operation *op;

  for (guint i = 0; i < entry->operations->len; i++)
    {
      Operation *other = g_ptr_array_index (entry->operations, i);

      if (strcmp (other->method, upper) == 0)
        {
          g_set_error (error, PLUA_ROUTE_ERROR, PLUA_ROUTE_ERROR_INVALID,
                       "%s: %s %s is described twice", source, upper, entry->route);
          return FALSE;
        }
    }
  operation_id = get_string (op_object, "operationId", NULL);
  if (operation_id == NULL || operation_id[0] == '\0')
    {
      g_set_error (error, PLUA_ROUTE_ERROR, PLUA_ROUTE_ERROR_INVALID,
                   "%s: %s %s has no operationId", source, upper, entry->route);
      return FALSE;
    }

  op = g_new0 (Operation, 1);
  op->method = g_steal_pointer (&upper);
  op->operation_id = g_strdup (operation_id);
  op->tag = g_strdup (tags != NULL && json_array_get_length (tags) > 0
                      && JSON_NODE_HOLDS_VALUE (json_array_get_element (tags, 0))
                      && json_node_get_value_type (json_array_get_element (tags, 0)) == G_TYPE_STRING
                      ? json_array_get_string_element (tags, 0) : "");
  op->summary = g_strdup (get_string (op_object, "summary", ""));
  op->n_params = names->len;
  op->params = g_new0 (ParamSpec, names->len);
  op->info = (PluaRouteInfo) { entry->route, op->method, op->operation_id, op->tag, op->summary };
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      JsonObject *p = find_path_parameter (document, lists, name);

      op->params[i].name = g_strdup (name);
      if (p == NULL || !param_type_from_schema (document, p, &op->params[i].type))
        {
          g_set_error (error, PLUA_ROUTE_ERROR, PLUA_ROUTE_ERROR_INVALID,
                       "%s: path parameter %s of %s %s is not declared with a type",
                       source, name, op->method, entry->route);
          operation_free (op);
          return FALSE;
        }
    }
  g_ptr_array_add (entry->operations, op);
  self->n_operations++;
  return TRUE;
}

gboolean
plua_route_table_add_description (PluaRouteTable  *self,
                                  JsonNode        *document,
                                  const char      *source,
                                  GError         **error)
{
  static const char * const methods[] = {
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
  };
  g_autofree char *prefix = NULL;
  JsonObject *root;
  JsonObject *paths;
  JsonArray *servers;
  g_autoptr (GList) members = NULL;

  g_return_val_if_fail (PLUA_IS_ROUTE_TABLE (self), FALSE);
  g_return_val_if_fail (document != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (source == NULL)
    source = "description";
  root = JSON_NODE_HOLDS_OBJECT (document) ? json_node_get_object (document) : NULL;
  paths = root != NULL && json_object_has_member (root, "paths")
          && JSON_NODE_HOLDS_OBJECT (json_object_get_member (root, "paths"))
          ? json_object_get_object_member (root, "paths") : NULL;
  if (paths == NULL)
    {
      g_set_error (error, PLUA_ROUTE_ERROR, PLUA_ROUTE_ERROR_INVALID,
                   "%s: not an OpenAPI document (no paths object)", source);
      return FALSE;
    }

  /* The first server URL is the common prefix ("/api"); a trailing slash
   * would double the one every path starts with. */
  servers = get_array_member (root, "servers");
  if (servers != NULL && json_array_get_length (servers) > 0
      && JSON_NODE_HOLDS_OBJECT (json_array_get_element (servers, 0)))
    prefix = g_strdup (get_string (
      json_array_get_object_element (servers, 0), "url", ""));
  else
    prefix = g_strdup ("");
  while (prefix[0] != '\0' && g_str_has_suffix (prefix, "/"))
    prefix[strlen (prefix) - 1] = '\0';

  members = json_object_get_members (paths);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *path = l->data;
      JsonNode *item_node = json_object_get_member (paths, path);
      g_autofree char *route = g_strconcat (prefix, path, NULL);
      g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      JsonObject *item;
      RouteNode *node;

      if (!JSON_NODE_HOLDS_OBJECT (item_node))
        {
          g_set_error (error, PLUA_ROUTE_ERROR, PLUA_ROUTE_ERROR_INVALID,
                       "%s: path item %s is not an object", source, path);
          return FALSE;
        }
      item = json_node_get_object (item_node);
      node = insert_route (self, route, names, source, error);
      if (node == NULL)
        return FALSE;
      if (node->entry == NULL)
        {
          node->entry = g_new0 (RouteEntry, 1);
          node->entry->route = g_steal_pointer (&route);
          node->entry->n_params = names->len;
          node->entry->operations = g_ptr_array_new_with_free_func (operation_free);
        }
      else if (strcmp (node->entry->route, route) != 0)
        {
          g_set_error (error, PLUA_ROUTE_ERROR, PLUA_ROUTE_ERROR_INVALID,
                       "%s: path %s matches the same requests as %s",
                       source, route, node->entry->route);
          return FALSE;
        }

      for (guint m = 0; m < G_N_ELEMENTS (methods); m++)
        {
          JsonNode *op_node = json_object_get_member (item, methods[m]);

          if (op_node == NULL)
            continue;
          if (!JSON_NODE_HOLDS_OBJECT (op_node))
            {
              g_set_error (error, PLUA_ROUTE_ERROR, PLUA_ROUTE_ERROR_INVALID,
                           "%s: %s of %s is not an object", source, methods[m], path);
              return FALSE;
            }
          if (!add_operation (self, root, node->entry, names,
                              get_array_member (item, "parameters"), methods[m],
                              json_node_get_object (op_node), source, error))
            return FALSE;
        }
    }
  return TRUE;
}

static int
compare_strings (const void *a, const void *b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

PluaRouteTable *
plua_route_table_new_from_resources (GError **error)
{
  g_autoptr (PluaRouteTable) self = plua_route_table_new ();
  g_auto (GStrv) children = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  children = g_resources_enumerate_children (HC3_RESOURCE_DIR,
                                             G_RESOURCE_LOOKUP_FLAGS_NONE, error);
  if (children == NULL)
    return NULL;
  /* Sorted, so that a conflict between two files is always reported the same way. */
  qsort (children, g_strv_length (children), sizeof (char *), compare_strings);

  for (guint i = 0; children[i] != NULL; i++)
    {
      g_autofree char *path = NULL;
      g_autoptr (GBytes) bytes = NULL;
      g_autoptr (JsonParser) parser = NULL;
      gsize size;
      const char *data;

      if (!g_str_has_suffix (children[i], ".json"))
        continue;
      path = g_strconcat (HC3_RESOURCE_DIR, children[i], NULL);
      bytes = g_resources_lookup_data (path, G_RESOURCE_LOOKUP_FLAGS_NONE, error);
      if (bytes == NULL)
        return NULL;
      data = g_bytes_get_data (bytes, &size);
      parser = json_parser_new_immutable ();
      if (!json_parser_load_from_data (parser, data, (gssize) size, error))
        {
          g_prefix_error (error, "%s: ", children[i]);
          return NULL;
        }
      if (!plua_route_table_add_description (self, json_parser_get_root (parser),
                                             children[i], error))
        return NULL;
    }
  if (self->n_operations == 0)
    {
      g_set_error (error, PLUA_ROUTE_ERROR, PLUA_ROUTE_ERROR_INVALID,
                   "no HC3 route descriptions in %s", HC3_RESOURCE_DIR);
      return NULL;
    }
  return g_steal_pointer (&self);
}

guint
plua_route_table_get_n_operations (PluaRouteTable *self)
{
  g_return_val_if_fail (PLUA_IS_ROUTE_TABLE (self), 0);

  return self->n_operations;
}

static void
collect_routes (RouteNode *node, GPtrArray *routes)
{
  if (node->entry != NULL)
    for (guint i = 0; i < node->entry->operations->len; i++)
      g_ptr_array_add (routes, &((Operation *) g_ptr_array_index (node->entry->operations, i))->info);
  if (node->literals != NULL)
    {
      GHashTableIter iter;
      gpointer child;

      g_hash_table_iter_init (&iter, node->literals);
      while (g_hash_table_iter_next (&iter, NULL, &child))
        collect_routes (child, routes);
    }
  if (node->param != NULL)
    collect_routes (node->param, routes);
}

static int
compare_route_infos (gconstpointer a, gconstpointer b)
{
  const PluaRouteInfo *x = *(const PluaRouteInfo * const *) a;
  const PluaRouteInfo *y = *(const PluaRouteInfo * const *) b;
  int order = strcmp (x->route, y->route);

  return order != 0 ? order : strcmp (x->method, y->method);
}

GPtrArray *
plua_route_table_get_routes (PluaRouteTable *self)
{
  GPtrArray *routes;

  g_return_val_if_fail (PLUA_IS_ROUTE_TABLE (self), NULL);

  routes = g_ptr_array_sized_new (self->n_operations);
  collect_routes (self->root, routes);
  g_ptr_array_sort (routes, compare_route_infos);
  return routes;
}

/* Matching */

/* Splits path into its non-empty segments; FALSE when it is not absolute or
 * has too many. */
static gboolean
split_path (const char *path, Segment *segments, guint *n_segments)
{
  guint n = 0;

  if (path[0] != '/')
    return FALSE;
  for (const char *p = path; *p != '\0';)
    {
      const char *end;

      while (*p == '/')
        p++;
      if (*p == '\0')
        break;
      end = strchr (p, '/');
      if (end == NULL)
        end = p + strlen (p);
      if (n == MAX_SEGMENTS)
        return FALSE;
      segments[n].start = p;
      segments[n].length = (gsize) (end - p);
      n++;
      p = end;
    }
  *n_segments = n;
  return TRUE;
}

/* Depth-first, literal child first: the first route found is the one whose
 * leftmost differing segment is literal. captured[k] receives the index of
 * the segment that fills the k-th parameter. */
static RouteEntry *
find_entry (const RouteNode *node,
            const Segment   *segments,
            guint            n_segments,
            guint            index,
            guint           *captured,
            guint            n_captured)
{
  RouteEntry *entry;

  if (index == n_segments)
    return node->entry;
  if (node->literals != NULL && segments[index].length < MAX_LITERAL)
    {
      char key[MAX_LITERAL];
      const RouteNode *child;

      memcpy (key, segments[index].start, segments[index].length);
      key[segments[index].length] = '\0';
      child = g_hash_table_lookup (node->literals, key);
      if (child != NULL
          && (entry = find_entry (child, segments, n_segments, index + 1,
                                  captured, n_captured)) != NULL)
        return entry;
    }
  if (node->param != NULL)
    {
      captured[n_captured] = index;
      return find_entry (node->param, segments, n_segments, index + 1,
                         captured, n_captured + 1);
    }
  return NULL;
}

static RouteEntry *
lookup (PluaRouteTable *self,
        const char     *path,
        Segment        *segments,
        guint          *captured)
{
  guint n_segments;

  if (!split_path (path, segments, &n_segments))
    return NULL;
  return find_entry (self->root, segments, n_segments, 0, captured, 0);
}

static char *
join_methods (const RouteEntry *entry)
{
  GString *allowed = g_string_new (NULL);

  for (guint i = 0; i < entry->operations->len; i++)
    {
      const Operation *op = g_ptr_array_index (entry->operations, i);

      if (allowed->len > 0)
        g_string_append (allowed, ", ");
      g_string_append (allowed, op->method);
    }
  return g_string_free (allowed, FALSE);
}

/* value, shortened for an error message. */
static char *
quote_value (const char *value)
{
  g_autofree char *head = NULL;

  if (g_utf8_strlen (value, -1) <= MAX_QUOTED)
    return g_strdup (value);
  head = g_utf8_substring (value, 0, MAX_QUOTED);
  return g_strconcat (head, "...", NULL);
}

static gboolean
convert_param (PluaRouteParam *param, GError **error)
{
  g_autofree char *quoted = NULL;
  char *end = NULL;

  switch (param->type)
    {
    case PLUA_ROUTE_PARAM_STRING:
      return TRUE;
    case PLUA_ROUTE_PARAM_INTEGER:
      if (g_ascii_string_to_signed (param->value, 10, G_MININT64, G_MAXINT64,
                                    &param->integer, NULL))
        return TRUE;
      quoted = quote_value (param->value);
      g_set_error (error, PLUA_ROUTE_ERROR, PLUA_ROUTE_ERROR_BAD_PARAMETER,
                   _("Path parameter %s must be an integer, not \"%s\""), param->name, quoted);
      return FALSE;
    case PLUA_ROUTE_PARAM_NUMBER:
      param->number = g_ascii_strtod (param->value, &end);
      if (param->value[0] != '\0' && !g_ascii_isspace (param->value[0])
          && end != NULL && *end == '\0' && isfinite (param->number))
        return TRUE;
      quoted = quote_value (param->value);
      g_set_error (error, PLUA_ROUTE_ERROR, PLUA_ROUTE_ERROR_BAD_PARAMETER,
                   _("Path parameter %s must be a number, not \"%s\""), param->name, quoted);
      return FALSE;
    case PLUA_ROUTE_PARAM_BOOLEAN:
      if (strcmp (param->value, "true") == 0 || strcmp (param->value, "false") == 0)
        {
          param->boolean = param->value[0] == 't';
          return TRUE;
        }
      quoted = quote_value (param->value);
      g_set_error (error, PLUA_ROUTE_ERROR, PLUA_ROUTE_ERROR_BAD_PARAMETER,
                   _("Path parameter %s must be true or false, not \"%s\""), param->name, quoted);
      return FALSE;
    default:
      g_assert_not_reached ();
    }
}

gboolean
plua_route_table_match (PluaRouteTable  *self,
                        const char      *method,
                        const char      *path,
                        PluaRouteMatch **out_match,
                        GError         **error)
{
  Segment segments[MAX_SEGMENTS];
  guint captured[MAX_SEGMENTS];
  g_autoptr (PluaRouteMatch) match = NULL;
  const Operation *op = NULL;
  RouteEntry *entry;

  g_return_val_if_fail (PLUA_IS_ROUTE_TABLE (self), FALSE);
  g_return_val_if_fail (method != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (out_match != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  entry = lookup (self, path, segments, captured);
  if (entry == NULL)
    {
      g_set_error (error, PLUA_ROUTE_ERROR, PLUA_ROUTE_ERROR_NOT_FOUND,
                   _("No route for %s"), path);
      return FALSE;
    }
  for (guint i = 0; i < entry->operations->len && op == NULL; i++)
    {
      const Operation *candidate = g_ptr_array_index (entry->operations, i);

      if (strcmp (candidate->method, method) == 0)
        op = candidate;
    }
  if (op == NULL)
    {
      g_autofree char *allowed = join_methods (entry);

      g_set_error (error, PLUA_ROUTE_ERROR, PLUA_ROUTE_ERROR_METHOD_NOT_ALLOWED,
                   _("Method %s is not allowed on %s (allowed: %s)"),
                   method, entry->route, allowed);
      return FALSE;
    }

  match = g_new0 (PluaRouteMatch, 1);
  match->route = entry->route;
  match->method = op->method;
  match->operation_id = op->operation_id;
  match->tag = op->tag;
  match->summary = op->summary;
  match->table = g_object_ref (G_OBJECT (self));
  match->n_params = op->n_params;
  match->params = g_new0 (PluaRouteParam, op->n_params);
  for (guint i = 0; i < op->n_params; i++)
    {
      PluaRouteParam *param = &match->params[i];
      const Segment *segment = &segments[captured[i]];

      param->name = op->params[i].name;
      param->type = op->params[i].type;
      /* NULL for a bad %-escape or an escaped NUL. */
      param->value = g_uri_unescape_segment (segment->start,
                                             segment->start + segment->length, NULL);
      if (param->value == NULL || !g_utf8_validate (param->value, -1, NULL))
        {
          g_set_error (error, PLUA_ROUTE_ERROR, PLUA_ROUTE_ERROR_BAD_PARAMETER,
                       _("Path parameter %s is not valid percent-encoded UTF-8"), param->name);
          return FALSE;
        }
      if (!convert_param (param, error))
        return FALSE;
    }
  *out_match = g_steal_pointer (&match);
  return TRUE;
}

char *
plua_route_table_dup_allowed (PluaRouteTable *self,
                              const char     *path)
{
  Segment segments[MAX_SEGMENTS];
  guint captured[MAX_SEGMENTS];
  RouteEntry *entry;

  g_return_val_if_fail (PLUA_IS_ROUTE_TABLE (self), NULL);
  g_return_val_if_fail (path != NULL, NULL);

  entry = lookup (self, path, segments, captured);
  return entry != NULL ? join_methods (entry) : NULL;
}

const PluaRouteParam *
plua_route_match_get_param (const PluaRouteMatch *match,
                            const char           *name)
{
  g_return_val_if_fail (match != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  for (guint i = 0; i < match->n_params; i++)
    if (strcmp (match->params[i].name, name) == 0)
      return &match->params[i];
  return NULL;
}

void
plua_route_match_push_params (const PluaRouteMatch *match,
                              lua_State            *L)
{
  g_return_if_fail (match != NULL);
  g_return_if_fail (L != NULL);

  lua_createtable (L, 0, (int) match->n_params);
  for (guint i = 0; i < match->n_params; i++)
    {
      const PluaRouteParam *param = &match->params[i];

      switch (param->type)
        {
        case PLUA_ROUTE_PARAM_INTEGER:
          lua_pushinteger (L, (lua_Integer) param->integer);
          break;
        case PLUA_ROUTE_PARAM_NUMBER:
          lua_pushnumber (L, (lua_Number) param->number);
          break;
        case PLUA_ROUTE_PARAM_BOOLEAN:
          lua_pushboolean (L, param->boolean);
          break;
        case PLUA_ROUTE_PARAM_STRING:
        default:
          lua_pushstring (L, param->value);
          break;
        }
      lua_setfield (L, -2, param->name);
    }
}

void
plua_route_match_free (PluaRouteMatch *match)
{
  if (match == NULL)
    return;
  for (guint i = 0; i < match->n_params; i++)
    g_free (match->params[i].value);
  g_free (match->params);
  g_clear_object (&match->table);
  g_free (match);
}
