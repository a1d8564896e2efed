/* plua-json.h: Lua values <-> JSON on json-glib, and the Lua `json` module. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <lua.h>

G_BEGIN_DECLS

#define PLUA_JSON_ERROR (plua_json_error_quark ())
typedef enum
{
  PLUA_JSON_ERROR_CYCLE,
  PLUA_JSON_ERROR_NUMBER,     /* NaN or infinity */
  PLUA_JSON_ERROR_TYPE,       /* function, userdata, thread */
  PLUA_JSON_ERROR_KEY,        /* a key that cannot be a JSON object key */
  PLUA_JSON_ERROR_PARSE,
  PLUA_JSON_ERROR_DEPTH,      /* nesting deeper than PLUA_JSON_MAX_DEPTH */
  PLUA_JSON_ERROR_UTF8,       /* a string that is not valid UTF-8 */
} PluaJsonError;

/* Deepest nesting of arrays/objects encoded or decoded: keeps recursion off
 * the end of the C stack (json-glib's parser itself has no limit). */
#define PLUA_JSON_MAX_DEPTH 1000

GQuark    plua_json_error_quark (void);

/* The Lua value at idx as a JsonNode (NULL and error on failure). */
JsonNode *plua_json_from_lua   (lua_State *L, int idx, GError **error);
/* Pushes the Lua form of node. use_null: JSON null becomes json.null, not nil. */
void      plua_json_push       (lua_State *L, JsonNode *node, gboolean use_null);
/* Serialises the value at idx; pretty uses two-space indentation. */
char     *plua_json_encode     (lua_State *L, int idx, gboolean pretty, GError **error);
/* Parses data as json.decode does and pushes the result; on failure pushes
 * nothing. Prefer this to JsonParser + plua_json_push for untrusted text: it
 * limits nesting depth and keeps big integers and "\u0000" intact. */
gboolean  plua_json_decode     (lua_State *L, const char *data, gssize length,
                                gboolean use_null, GError **error);

/* Registers the global `json` table (and package.loaded.json); leaves the
 * table on the stack and returns 1, like a luaopen_ function. */
int       plua_json_open       (lua_State *L);

G_END_DECLS
