/* plua-api-static.c: what the REST server serves from its GResource bundle:
 * the web REPL and docs pages with their assets, and /openapi.json, which
 * merges plua's own description with the HC3 ones (built on first request;
 * the server keeps it). */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "plua-api-private.h"

#define PLUA_DESCRIPTION PLUA_RESOURCE_PREFIX "/api-descriptions/plua.json"
#define HC3_DESCRIPTIONS PLUA_RESOURCE_PREFIX "/api-descriptions/hc3/"
/* plua.json's catch-all for /api/...; the HC3 routes replace it. */
#define CATCH_ALL_PATH "/api/{path}"

static const char *
content_type_for (const char *name)
{
  if (g_str_has_suffix (name, ".html"))
    return "text/html; charset=utf-8";
  if (g_str_has_suffix (name, ".css"))
    return "text/css; charset=utf-8";
  if (g_str_has_suffix (name, ".js"))
    return "text/javascript; charset=utf-8";
  if (g_str_has_suffix (name, ".json"))
    return "application/json";
  if (g_str_has_suffix (name, ".svg"))
    return "image/svg+xml";
  if (g_str_has_suffix (name, ".png"))
    return "image/png";
  return "application/octet-stream";
}

void
plua_api_reply_resource (SoupServerMessage *msg,
                         const char        *name)
{
  g_autofree char *resource = g_strconcat (PLUA_RESOURCE_PREFIX "/", name, NULL);
  g_autoptr(GBytes) bytes = g_resources_lookup_data (resource, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  if (bytes == NULL)
    {
      plua_api_reply_error (msg, SOUP_STATUS_NOT_FOUND, _("no such file"));
      return;
    }
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_message_headers_set_content_type (headers, content_type_for (name), NULL);
  if (g_str_has_suffix (name, ".html"))
    soup_message_headers_replace (headers, "Content-Security-Policy",
                                  "default-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'");
  soup_message_body_append_bytes (soup_server_message_get_response_body (msg), bytes);
}

gboolean
plua_api_static_name_ok (const char *name)
{
  if (name[0] == '\0' || name[0] == '.')
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '.' && *p != '-' && *p != '_')
      return FALSE;
  return TRUE;
}

/* /openapi.json ------------------------------------------------------------ */

static JsonNode *
load_document (const char  *resource,
               GError     **error)
{
  g_autoptr(GBytes) bytes = g_resources_lookup_data (resource, G_RESOURCE_LOOKUP_FLAGS_NONE, error);
  g_autoptr(JsonParser) parser = NULL;
  const char *data;
  gsize size;

  if (bytes == NULL)
    return NULL;
  data = g_bytes_get_data (bytes, &size);
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, data, (gssize) size, error))
    {
      g_prefix_error (error, "%s: ", resource);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: not a JSON object", resource);
      return NULL;
    }
  return json_node_ref (json_parser_get_root (parser));
}

/* The object member name of parent, created empty when missing. */
static JsonObject *
ensure_object (JsonObject *parent,
               const char *name)
{
  JsonNode *node = json_object_get_member (parent, name);

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      json_object_set_object_member (parent, name, json_object_new ());
      node = json_object_get_member (parent, name);
    }
  return json_node_get_object (node);
}

static JsonArray *
ensure_array (JsonObject *parent,
              const char *name)
{
  JsonNode *node = json_object_get_member (parent, name);

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      json_object_set_array_member (parent, name, json_array_new ());
      node = json_object_get_member (parent, name);
    }
  return json_node_get_array (node);
}

static void
merge_description (JsonObject *merged,
                   JsonObject *hc3,
                   GHashTable *tag_names)
{
  JsonObject *paths = ensure_object (merged, "paths");
  JsonObject *schemas = ensure_object (ensure_object (merged, "components"), "schemas");
  JsonArray *tags = ensure_array (merged, "tags");
  JsonNode *node;

  node = json_object_get_member (hc3, "paths");
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObjectIter iter;
      const char *path;
      JsonNode *item;

      json_object_iter_init (&iter, json_node_get_object (node));
      while (json_object_iter_next (&iter, &path, &item))
        {
          g_autofree char *full = g_strconcat ("/api", path, NULL);
          json_object_set_member (paths, full, json_node_copy (item));
        }
    }
  node = json_object_get_member (hc3, "components");
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    node = json_object_get_member (json_node_get_object (node), "schemas");
  else
    node = NULL;
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObjectIter iter;
      const char *name;
      JsonNode *item;

      /* Same name, same schema (api-descriptions/hc3/README.md): first wins. */
      json_object_iter_init (&iter, json_node_get_object (node));
      while (json_object_iter_next (&iter, &name, &item))
        if (!json_object_has_member (schemas, name))
          json_object_set_member (schemas, name, json_node_copy (item));
    }
  node = json_object_get_member (hc3, "tags");
  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *tag = json_array_get_element (array, i);
          const char *name;

          if (!JSON_NODE_HOLDS_OBJECT (tag))
            continue;
          name = json_object_get_string_member_with_default (json_node_get_object (tag), "name", NULL);
          if (name == NULL || g_hash_table_contains (tag_names, name))
            continue;
          g_hash_table_add (tag_names, g_strdup (name));
          json_array_add_element (tags, json_node_copy (tag));
        }
    }
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

GBytes *
plua_api_build_openapi (GError **error)
{
  g_autoptr(JsonNode) root = load_document (PLUA_DESCRIPTION, error);
  g_autoptr(GHashTable) tag_names = NULL;
  g_autoptr(JsonGenerator) generator = NULL;
  g_auto(GStrv) children = NULL;
  JsonObject *merged;
  char *text;
  gsize len;

  if (root == NULL)
    return NULL;
  children = g_resources_enumerate_children (HC3_DESCRIPTIONS, G_RESOURCE_LOOKUP_FLAGS_NONE, error);
  if (children == NULL)
    return NULL;
  qsort (children, g_strv_length (children), sizeof (char *), compare_strings);

  merged = json_node_get_object (root);
  json_object_remove_member (ensure_object (merged, "paths"), CATCH_ALL_PATH);
  tag_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  {
    JsonArray *tags = ensure_array (merged, "tags");

    for (guint i = 0; i < json_array_get_length (tags); i++)
      {
        JsonNode *tag = json_array_get_element (tags, i);
        const char *name = JSON_NODE_HOLDS_OBJECT (tag)
          ? json_object_get_string_member_with_default (json_node_get_object (tag), "name", NULL) : NULL;

        if (name != NULL)
          g_hash_table_add (tag_names, g_strdup (name));
      }
  }
  for (guint i = 0; children[i] != NULL; i++)
    {
      g_autofree char *resource = NULL;
      g_autoptr(JsonNode) hc3 = NULL;

      if (!g_str_has_suffix (children[i], ".json"))
        continue;
      resource = g_strconcat (HC3_DESCRIPTIONS, children[i], NULL);
      hc3 = load_document (resource, error);
      if (hc3 == NULL)
        return NULL;
      merge_description (merged, json_node_get_object (hc3), tag_names);
    }

  generator = json_generator_new ();
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, &len);
  return g_bytes_new_take (text, len);
}
