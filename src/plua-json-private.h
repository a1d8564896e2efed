/* plua-json-private.h: what the json module's files share (encoder, decoder,
 * Lua module). See plua-json.c for the rules scripts can rely on. */
#pragma once

#include <json-glib/json-glib.h>
#include <lauxlib.h>

#include "plua-json.h"

#define NULL_METATABLE   "plua.json.null"
#define STRING_METATABLE "plua.json.gstring"
#define MAX_INDENT       16

G_GNUC_INTERNAL void      plua_json_push_null      (lua_State *L);
G_GNUC_INTERNAL void      plua_json_push_marks     (lua_State *L);
G_GNUC_INTERNAL int       plua_json_raise_error    (lua_State *L, GError *error);
G_GNUC_INTERNAL gpointer *plua_json_push_box       (lua_State *L, const char *tname, lua_CFunction gc);
G_GNUC_INTERNAL int       plua_json_string_box_gc  (lua_State *L);

/* plua-json-encode.c: the text of the value at idx, or NULL with error set
 * (rule violations are not raised, so callers free what they own first). */
G_GNUC_INTERNAL GString  *plua_json_encode_gstring (lua_State *L, int idx, guint indent, GError **error);
/* plua-json-decode.c: parses and pushes the value; FALSE with error set. */
G_GNUC_INTERNAL gboolean  plua_json_decode_push    (lua_State *L, const char *data, gsize len,
                                                    gboolean use_null, GError **error);
/* Pushes node (strings end at a NUL: JsonNode keeps C strings). */
G_GNUC_INTERNAL void      plua_json_push_root      (lua_State *L, JsonNode *node,
                                                    gboolean use_null);
