/* plua-json.c: the Lua `json` module, Lua values <-> JSON text.
 *
 * What scripts can rely on:
 *
 * json.encode (v [, opts]) -> string
 *  - A table whose keys are exactly the integers 1..n (n >= 1) is an array,
 *    any other table an object. An empty table is {} unless marked with
 *    json.array (t) (returns t; json.array () makes a new empty one). A marked
 *    table is always the array t[1] .. t[largest integer key], holes as null;
 *    a key that is not a positive integer in it is an error, not dropped.
 *    Decoded arrays come back marked, so '{"a":[]}' and '[1,null,3]' survive
 *    a decode/encode round trip.
 *  - Object keys are written sorted bytewise (memcmp order, so "10" < "2"):
 *    the same table always gives the same text. Integer and float keys become
 *    their Lua string form (3 -> "3", 1.5 -> "1.5"); keys of other types, and
 *    two keys with the same string form ([1] and ["1"]), are errors.
 *  - Integers are written exactly. Floats use the shortest of %.15g..%.17g
 *    that reads back as the same double, always with a '.' or an exponent so
 *    they decode as floats again: 1.0 -> 1.0, 0.1 -> 0.1, 1e300 -> 1e+300,
 *    -0.0 -> -0.0. NaN and the infinities are errors.
 *  - Strings must be valid UTF-8 and are written raw but for '"', '\\' and
 *    control characters (\n, \t... or \u00XX; a NUL byte is \u0000). Invalid
 *    UTF-8 is an error: escaping the bytes as code points would change them.
 *  - json.null encodes as null. Functions, threads, other userdata, cycles and
 *    nesting deeper than PLUA_JSON_MAX_DEPTH are errors. Metatables are not
 *    consulted: tables are read raw.
 *  - opts.indent = true (two spaces) or N (0..16 spaces) pretty-prints, one
 *    element per line and `"key": value`. json.encodeFormated (v), the
 *    original plua's spelling, and json.encodePretty (v) are { indent = true }.
 *
 * json.decode (s [, opts]) -> value
 *  - One pass over the text straight into Lua values (plua-json-scan.c, the
 *    reader the REST server and net.HTTPServer use too). RFC 8259 JSON, plus
 *    what plua has always read: C-style comments (block and line),
 *    single-quoted strings (no escapes inside), hexadecimal integers (0x1F),
 *    a byte-order mark. Only whitespace and comments may follow the value;
 *    a JavaScript assignment "var x = ..." is refused, as is empty input.
 *  - Integer literals become Lua integers, numbers with a fraction or
 *    exponent floats (correctly rounded); an integer literal beyond 64 bits
 *    becomes a float, 1e999 is inf. null is nil (so arrays get holes, as Lua
 *    has them), or json.null when opts.null is true. Top-level scalars are
 *    fine: "42" -> 42. Nesting deeper than PLUA_JSON_MAX_DEPTH is an error.
 *  - Strings must be valid UTF-8 without raw control characters; "\u0000"
 *    gives a NUL byte, a lone surrogate escape is an error.
 *  - Errors read "json.decode: line L column C: <message>", worded as
 *    json-glib's parser worded them when it did this job.
 *
 * json.null is a userdata whose tostring is "null"; compare with ==.
 *
 * Errors are raised as luaL_error does in Lua's own libraries: pcall
 * (json.decode, s) gives the message alone, a call from Lua code prefixes it
 * with that code's "chunk:line:".
 *
 * Encoding writes the text itself instead of going through JsonBuilder and
 * JsonGenerator: JsonNode strings are C strings (no NUL bytes), JsonGenerator
 * prints doubles with %.17g (0.1 -> 0.10000000000000001) and the node tree
 * would double the memory for no gain. Escapes are the minimal standard set.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plua-json-private.h"

static const char null_key = 'n';    /* the json.null userdata */
static const char marks_key = 'm';   /* weak-keyed set of tables marked as arrays */

G_DEFINE_QUARK (plua-json-error-quark, plua_json_error)

static int
null_tostring (lua_State *L)
{
  lua_pushliteral (L, "null");
  return 1;
}

static void
create_null (lua_State *L)
{
  lua_newuserdatauv (L, 0, 0);
  if (luaL_newmetatable (L, NULL_METATABLE))
    {
      lua_pushcfunction (L, null_tostring);
      lua_setfield (L, -2, "__tostring");
      /* Nobody gets to swap the metatable of a shared sentinel. */
      lua_pushliteral (L, "json.null");
      lua_setfield (L, -2, "__metatable");
    }
  lua_setmetatable (L, -2);
}

/* Weak keys, and not a shared metatable, so marking never gets in the way of
 * a script's own metatables. */
static void
create_marks (lua_State *L)
{
  lua_newtable (L);
  lua_createtable (L, 0, 1);
  lua_pushliteral (L, "k");
  lua_setfield (L, -2, "__mode");
  lua_setmetatable (L, -2);
}

/* Pushes the registry value at key, creating it on first use, so the C
 * functions work before plua_json_open() and every caller sees one value. */
static void
push_singleton (lua_State *L,
                const void *key,
                void      (*create) (lua_State *L))
{
  if (lua_rawgetp (L, LUA_REGISTRYINDEX, key) != LUA_TNIL)
    return;
  lua_pop (L, 1);
  create (L);
  lua_pushvalue (L, -1);
  lua_rawsetp (L, LUA_REGISTRYINDEX, key);
}

/* json.null */
void
plua_json_push_null (lua_State *L)
{
  push_singleton (L, &null_key, create_null);
}

/* The set of array-marked tables. */
void
plua_json_push_marks (lua_State *L)
{
  push_singleton (L, &marks_key, create_marks);
}

int
plua_json_raise_error (lua_State *L,
             GError    *error)
{
  char message[1024];

  /* Copied out and freed first: pushing the message can raise too. */
  g_strlcpy (message, error->message, sizeof message);
  g_error_free (error);
  return luaL_error (L, "%s", message);
}

/* A userdata owning one C pointer, freed by gc when Lua collects it. C
 * allocations sit in one while Lua calls that can raise (out of memory) run,
 * so a raised error cannot leak them. */
gpointer *
plua_json_push_box (lua_State     *L,
          const char    *tname,
          lua_CFunction  gc)
{
  gpointer *box = lua_newuserdatauv (L, sizeof *box, 0);

  *box = NULL;
  if (luaL_newmetatable (L, tname))
    {
      lua_pushcfunction (L, gc);
      lua_setfield (L, -2, "__gc");
    }
  lua_setmetatable (L, -2);
  return box;
}

int
plua_json_string_box_gc (lua_State *L)
{
  GString **box = luaL_checkudata (L, 1, STRING_METATABLE);

  if (*box != NULL)
    g_string_free (g_steal_pointer (box), TRUE);
  return 0;
}

/* The Lua functions */

static guint
check_indent (lua_State *L,
              int        arg)
{
  guint indent = 0;

  if (lua_isnoneornil (L, arg))
    return 0;
  luaL_checktype (L, arg, LUA_TTABLE);

  switch (lua_getfield (L, arg, "indent"))
    {
    case LUA_TNIL:
      break;

    case LUA_TBOOLEAN:
      indent = lua_toboolean (L, -1) ? 2 : 0;
      break;

    case LUA_TNUMBER:
      if (lua_isinteger (L, -1) &&
          lua_tointeger (L, -1) >= 0 && lua_tointeger (L, -1) <= MAX_INDENT)
        {
          indent = (guint) lua_tointeger (L, -1);
          break;
        }
      G_GNUC_FALLTHROUGH;

    default:
      luaL_argerror (L, arg, "indent must be a boolean or an integer from 0 to 16");
    }
  lua_pop (L, 1);
  return indent;
}

static int
encode_to_lua (lua_State *L,
               guint      indent)
{
  GError *error = NULL;
  GString **box;

  luaL_checkany (L, 1);
  /* Boxed while the Lua string is made, which can raise. */
  box = (GString **) plua_json_push_box (L, STRING_METATABLE, plua_json_string_box_gc);
  *box = plua_json_encode_gstring (L, 1, indent, &error);
  if (*box == NULL)
    return plua_json_raise_error (L, error);

  lua_pushlstring (L, (*box)->str, (*box)->len);
  g_string_free (g_steal_pointer (box), TRUE);
  return 1;
}

static int
l_encode (lua_State *L)
{
  return encode_to_lua (L, check_indent (L, 2));
}

static int
l_encode_pretty (lua_State *L)
{
  return encode_to_lua (L, 2);
}

static int
l_decode (lua_State *L)
{
  GError *error = NULL;
  gboolean use_null = FALSE;
  const char *data;
  size_t len;

  /* No number-to-string coercion: json.decode (42) is a mistake. */
  if (lua_type (L, 1) != LUA_TSTRING)
    return luaL_typeerror (L, 1, "string");
  data = lua_tolstring (L, 1, &len);

  if (!lua_isnoneornil (L, 2))
    {
      luaL_checktype (L, 2, LUA_TTABLE);
      lua_getfield (L, 2, "null");
      use_null = lua_toboolean (L, -1);
      lua_pop (L, 1);
    }

  if (!plua_json_decode_push (L, data, len, use_null, &error))
    return plua_json_raise_error (L, error);
  return 1;
}

static int
l_array (lua_State *L)
{
  if (lua_isnoneornil (L, 1))
    {
      lua_settop (L, 0);
      lua_newtable (L);
    }
  else
    {
      luaL_checktype (L, 1, LUA_TTABLE);
      lua_settop (L, 1);
    }

  plua_json_push_marks (L);
  lua_pushvalue (L, 1);
  lua_pushboolean (L, TRUE);
  lua_rawset (L, -3);
  lua_pop (L, 1);
  return 1;
}

static const luaL_Reg json_functions[] = {
  { "encode", l_encode },
  { "encodeFormated", l_encode_pretty },
  { "encodePretty", l_encode_pretty },
  { "decode", l_decode },
  { "array", l_array },
  { NULL, NULL }
};

/* The C API */

JsonNode *
plua_json_from_lua (lua_State  *L,
                    int         idx,
                    GError    **error)
{
  GString *text;
  JsonNode *node;

  g_return_val_if_fail (L != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Through the text so the rules are the ones of json.encode. Our own
   * output is safe for json-glib; a NUL byte ends a JsonNode string. */
  text = plua_json_encode_gstring (L, idx, 0, error);
  if (text == NULL)
    return NULL;
  node = json_from_string (text->str, error);
  g_string_free (text, TRUE);
  return node;
}

void
plua_json_push (lua_State *L,
                JsonNode  *node,
                gboolean   use_null)
{
  g_return_if_fail (L != NULL);

  plua_json_push_root (L, node, use_null);
}

char *
plua_json_encode (lua_State  *L,
                  int         idx,
                  gboolean    pretty,
                  GError    **error)
{
  GString *text;

  g_return_val_if_fail (L != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  text = plua_json_encode_gstring (L, idx, pretty ? 2 : 0, error);
  return text != NULL ? g_string_free (text, FALSE) : NULL;
}

gboolean
plua_json_decode (lua_State   *L,
                  const char  *data,
                  gssize       length,
                  gboolean     use_null,
                  GError     **error)
{
  g_return_val_if_fail (L != NULL, FALSE);
  g_return_val_if_fail (data != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return plua_json_decode_push (L, data, length < 0 ? strlen (data) : (gsize) length, use_null, error);
}

int
plua_json_open (lua_State *L)
{
  g_return_val_if_fail (L != NULL, 0);

  luaL_newlib (L, json_functions);
  plua_json_push_null (L);
  lua_setfield (L, -2, "null");

  lua_pushvalue (L, -1);
  lua_setglobal (L, "json");
  luaL_getsubtable (L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushvalue (L, -2);
  lua_setfield (L, -2, "json");
  lua_pop (L, 1);

  return 1;
}
