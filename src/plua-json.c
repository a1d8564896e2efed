/* plua-json.c: the Lua `json` module, Lua values <-> JSON on json-glib.
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
 *  - json-glib's JsonParser parses. Integer literals become Lua integers,
 *    numbers with a fraction or exponent floats; an integer literal beyond
 *    64 bits becomes a float (json-glib alone would wrap it around). null is
 *    nil (so arrays get holes, as Lua has them), or json.null when
 *    opts.null is true. Top-level scalars are fine: "42" -> 42.
 *  - Errors read "json.decode: line L column C: <json-glib's message>".
 *    json-glib's leniencies stay (C-style block comments, single-quoted
 *    strings, hex numbers, text after the first value ignored), except that
 *    a JavaScript assignment "var x = ..." is refused. Empty input is an error.
 *  - "\u0000" gives a NUL byte in the Lua string. json-glib keeps strings as C
 *    strings and would cut them there, so the escape is handed to it as a
 *    private-use character absent from the text and turned back into NUL on
 *    the way into Lua.
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

#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plua-json.h"

#define NULL_METATABLE   "plua.json.null"
#define PARSER_METATABLE "plua.json.parser"
#define STRING_METATABLE "plua.json.gstring"
#define MAX_INDENT       16

/* Registry keys: the addresses are what matters, the values live per lua_State. */
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
static void
push_null (lua_State *L)
{
  push_singleton (L, &null_key, create_null);
}

/* The set of array-marked tables. */
static void
push_marks (lua_State *L)
{
  push_singleton (L, &marks_key, create_marks);
}

static int
raise_error (lua_State *L,
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
static gpointer *
push_box (lua_State     *L,
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

static int
string_box_gc (lua_State *L)
{
  GString **box = luaL_checkudata (L, 1, STRING_METATABLE);

  if (*box != NULL)
    g_string_free (g_steal_pointer (box), TRUE);
  return 0;
}

static int
parser_box_gc (lua_State *L)
{
  JsonParser **box = luaL_checkudata (L, 1, PARSER_METATABLE);

  g_clear_object (box);
  return 0;
}

/* Encoding */

typedef struct
{
  lua_State  *L;
  GString    *out;
  guint       indent;      /* spaces per level, 0 for compact output */
  guint       depth;       /* containers currently open */
  int         null_idx;
  int         marks_idx;
  const void *path[PLUA_JSON_MAX_DEPTH];   /* open tables: meeting one again is a cycle */
} Encoder;

typedef struct
{
  const char *name;
  size_t      len;
  lua_Integer slot;        /* name at 2 * slot + 1 in the scratch table, value after it */
} Member;

static gboolean encode_value (Encoder *enc, int idx, GError **error);

static void
append_newline (Encoder *enc,
                guint    depth)
{
  gsize old_len = enc->out->len;
  gsize spaces = (gsize) depth * enc->indent;

  if (enc->indent == 0)
    return;

  g_string_set_size (enc->out, old_len + 1 + spaces);
  enc->out->str[old_len] = '\n';
  memset (enc->out->str + old_len + 1, ' ', spaces);
}

static gboolean
append_string (GString     *out,
               const char  *s,
               size_t       len,
               GError     **error)
{
  const char *end = s + len;
  const char *run = s;     /* first byte not copied yet */
  const char *p = s;

  g_string_append_c (out, '"');
  while (p < end)
    {
      guchar c = (guchar) *p;

      if (c >= 0x80)
        {
          gunichar ch = g_utf8_get_char_validated (p, end - p);

          if (ch == (gunichar) -1 || ch == (gunichar) -2)
            {
              g_set_error (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_UTF8,
                           "json.encode: string is not valid UTF-8 (byte %" G_GSIZE_FORMAT ")",
                           (gsize) (p - s) + 1);
              return FALSE;
            }
          p = g_utf8_next_char (p);
          continue;
        }
      if (c >= 0x20 && c != '"' && c != '\\')
        {
          p++;
          continue;
        }

      g_string_append_len (out, run, p - run);
      switch (c)
        {
        case '"':  g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\b': g_string_append (out, "\\b"); break;
        case '\f': g_string_append (out, "\\f"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:   g_string_append_printf (out, "\\u%04x", c); break;
        }
      run = ++p;
    }
  g_string_append_len (out, run, p - run);
  g_string_append_c (out, '"');
  return TRUE;
}

static void
append_double (GString *out,
               double   d)
{
  static const char *formats[] = { "%.15g", "%.16g", "%.17g" };
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  /* Shortest exact form: %.17g alone turns 0.1 into 0.10000000000000001. */
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_ascii_formatd (buf, sizeof buf, formats[i], d);
      if (g_ascii_strtod (buf, NULL) == d)
        break;
    }
  g_string_append (out, buf);
  /* Keep it a float on the way back: 1.0 must not come back as integer 1. */
  if (strpbrk (buf, ".eE") == NULL)
    g_string_append (out, ".0");
}

static int
compare_members (const void *a,
                 const void *b)
{
  const Member *ma = a;
  const Member *mb = b;
  int cmp = memcmp (ma->name, mb->name, MIN (ma->len, mb->len));

  if (cmp != 0)
    return cmp;
  return (ma->len > mb->len) - (ma->len < mb->len);
}

static gboolean
encode_array (Encoder      *enc,
              int           idx,
              lua_Integer   n,
              GError      **error)
{
  lua_State *L = enc->L;

  g_string_append_c (enc->out, '[');
  for (lua_Integer i = 1; i <= n; i++)
    {
      gboolean ok;

      if (i > 1)
        g_string_append_c (enc->out, ',');
      append_newline (enc, enc->depth);
      lua_rawgeti (L, idx, i);
      ok = encode_value (enc, lua_gettop (L), error);
      lua_pop (L, 1);
      if (!ok)
        return FALSE;
    }
  if (n > 0)
    append_newline (enc, enc->depth - 1);
  g_string_append_c (enc->out, ']');
  return TRUE;
}

static gboolean
encode_object (Encoder      *enc,
               int           idx,
               lua_Integer   count,
               GError      **error)
{
  lua_State *L = enc->L;
  Member *members;
  lua_Integer n = 0;
  int scratch;

  /* Names and values go to a scratch table (which keeps converted number
   * keys alive) and the sort runs on a userdata array: both belong to Lua,
   * so an error thrown by Lua in between leaks nothing. */
  lua_createtable (L, (int) MIN (count * 2, G_MAXINT), 0);
  scratch = lua_gettop (L);
  members = lua_newuserdatauv (L, (size_t) count * sizeof (Member), 0);

  lua_pushnil (L);
  while (lua_next (L, idx))
    {
      switch (lua_type (L, -2))
        {
        case LUA_TSTRING:
          lua_pushvalue (L, -2);
          break;

        case LUA_TNUMBER:
          /* Convert a copy: converting the key itself would confuse lua_next. */
          lua_pushvalue (L, -2);
          lua_tolstring (L, -1, NULL);
          break;

        default:
          g_set_error (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_KEY,
                       "json.encode: cannot use a %s as an object key",
                       luaL_typename (L, -2));
          return FALSE;
        }

      members[n].name = lua_tolstring (L, -1, &members[n].len);
      members[n].slot = n;
      lua_rawseti (L, scratch, 2 * n + 1);
      lua_rawseti (L, scratch, 2 * n + 2);
      n++;
    }

  qsort (members, (size_t) n, sizeof (Member), compare_members);

  g_string_append_c (enc->out, '{');
  for (lua_Integer i = 0; i < n; i++)
    {
      gboolean ok;

      if (i > 0)
        {
          if (compare_members (&members[i - 1], &members[i]) == 0)
            {
              g_set_error (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_KEY,
                           "json.encode: duplicate object key \"%s\"",
                           members[i].name);
              return FALSE;
            }
          g_string_append_c (enc->out, ',');
        }
      append_newline (enc, enc->depth);
      if (!append_string (enc->out, members[i].name, members[i].len, error))
        return FALSE;
      g_string_append (enc->out, enc->indent > 0 ? ": " : ":");

      lua_rawgeti (L, scratch, 2 * members[i].slot + 2);
      ok = encode_value (enc, lua_gettop (L), error);
      lua_pop (L, 1);
      if (!ok)
        return FALSE;
    }
  if (n > 0)
    append_newline (enc, enc->depth - 1);
  g_string_append_c (enc->out, '}');

  lua_pop (L, 2);
  return TRUE;
}

static gboolean
encode_table (Encoder  *enc,
              int       idx,
              GError  **error)
{
  lua_State *L = enc->L;
  const void *table = lua_topointer (L, idx);
  gboolean marked;
  gboolean sequence = TRUE;
  lua_Integer count = 0;
  lua_Integer max = 0;
  gboolean ok;

  if (enc->depth >= PLUA_JSON_MAX_DEPTH)
    {
      g_set_error (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_DEPTH,
                   "json.encode: nesting deeper than %d levels", PLUA_JSON_MAX_DEPTH);
      return FALSE;
    }
  /* A linear search: paths are short, and this allocates nothing. */
  for (guint i = 0; i < enc->depth; i++)
    {
      if (enc->path[i] == table)
        {
          g_set_error_literal (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_CYCLE,
                               "json.encode: cycle detected");
          return FALSE;
        }
    }
  if (!lua_checkstack (L, 8))
    {
      g_set_error_literal (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_DEPTH,
                           "json.encode: out of Lua stack space");
      return FALSE;
    }

  lua_pushvalue (L, idx);
  marked = lua_rawget (L, enc->marks_idx) != LUA_TNIL;
  lua_pop (L, 1);

  lua_pushnil (L);
  while (lua_next (L, idx))
    {
      lua_Integer key = lua_isinteger (L, -2) ? lua_tointeger (L, -2) : 0;

      if (key >= 1)
        max = MAX (max, key);
      else
        sequence = FALSE;
      count++;
      lua_pop (L, 1);
    }

  enc->path[enc->depth++] = table;
  if (marked && !sequence)
    {
      g_set_error_literal (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_KEY,
                           "json.encode: a table marked by json.array has a key "
                           "that is not a positive integer");
      ok = FALSE;
    }
  else if (marked)
    ok = encode_array (enc, idx, max, error);
  else if (sequence && count > 0 && max == count)
    ok = encode_array (enc, idx, count, error);
  else
    ok = encode_object (enc, idx, count, error);
  enc->depth--;

  return ok;
}

static gboolean
encode_value (Encoder  *enc,
              int       idx,
              GError  **error)
{
  lua_State *L = enc->L;
  double d;

  switch (lua_type (L, idx))
    {
    case LUA_TNIL:
      g_string_append (enc->out, "null");
      return TRUE;

    case LUA_TBOOLEAN:
      g_string_append (enc->out, lua_toboolean (L, idx) ? "true" : "false");
      return TRUE;

    case LUA_TNUMBER:
      if (lua_isinteger (L, idx))
        {
          g_string_append_printf (enc->out, "%" G_GINT64_FORMAT,
                                  (gint64) lua_tointeger (L, idx));
          return TRUE;
        }
      d = lua_tonumber (L, idx);
      if (isnan (d) || isinf (d))
        {
          g_set_error (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_NUMBER,
                       "json.encode: cannot encode %s",
                       isnan (d) ? "NaN" : d > 0 ? "inf" : "-inf");
          return FALSE;
        }
      append_double (enc->out, d);
      return TRUE;

    case LUA_TSTRING:
      {
        size_t len;
        const char *s = lua_tolstring (L, idx, &len);

        return append_string (enc->out, s, len, error);
      }

    case LUA_TTABLE:
      return encode_table (enc, idx, error);

    case LUA_TUSERDATA:
      if (lua_rawequal (L, idx, enc->null_idx))
        {
          g_string_append (enc->out, "null");
          return TRUE;
        }
      G_GNUC_FALLTHROUGH;

    default:
      /* Name the kind of userdata too (FILE*...) when its metatable says. */
      if (luaL_getmetafield (L, idx, "__name") == LUA_TSTRING)
        g_set_error (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_TYPE,
                     "json.encode: cannot encode a %s value (%s)",
                     luaL_typename (L, idx), lua_tostring (L, -1));
      else
        g_set_error (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_TYPE,
                     "json.encode: cannot encode a %s value", luaL_typename (L, idx));
      return FALSE;
    }
}

/* Rule violations come back through error rather than as Lua errors, so
 * callers can free what they own before raising. Leaves the Lua stack as it
 * found it. */
static GString *
encode (lua_State  *L,
        int         idx,
        guint       indent,
        GError    **error)
{
  Encoder enc;   /* path[] is only read below depth: no need to clear 8 KiB */
  GString **box;
  GString *out;
  int top = lua_gettop (L);
  gboolean ok;

  idx = lua_absindex (L, idx);
  luaL_checkstack (L, 4, "json.encode");

  enc.L = L;
  enc.indent = indent;
  enc.depth = 0;
  push_null (L);
  enc.null_idx = lua_gettop (L);
  push_marks (L);
  enc.marks_idx = lua_gettop (L);
  box = (GString **) push_box (L, STRING_METATABLE, string_box_gc);
  enc.out = *box = g_string_sized_new (64);

  ok = encode_value (&enc, idx, error);
  out = g_steal_pointer (box);
  lua_settop (L, top);
  if (!ok)
    {
      g_string_free (out, TRUE);
      return NULL;
    }
  return out;
}

/* Decoding */

#define PUA_FIRST 0xE000
#define PUA_LAST  0xF8FF

typedef struct
{
  gsize offset;
  gsize len;
} Span;

typedef struct
{
  guint64 used[(PUA_LAST - PUA_FIRST) / 64 + 1];  /* private-use chars in the text */
  GArray *nuls;        /* Span of each "\u0000" escape */
  GArray *big_ints;    /* Span of each integer literal beyond 64 bits */
} Scan;

static void
position_of (const char *data,
             gsize       offset,
             guint      *line,
             guint      *column)
{
  gsize line_start = 0;

  *line = 1;
  for (gsize i = 0; i < offset; i++)
    {
      if (data[i] == '\n')
        {
          (*line)++;
          line_start = i + 1;
        }
    }
  *column = (guint) (offset - line_start) + 1;
}

static void
set_position_error (GError     **error,
                    int          code,
                    const char  *data,
                    gsize        offset,
                    const char  *message)
{
  guint line, column;

  position_of (data, offset, &line, &column);
  g_set_error (error, PLUA_JSON_ERROR, code,
               "json.decode: line %u column %u: %s", line, column, message);
}

static void
mark_used (Scan     *scan,
           gunichar  ch)
{
  if (ch >= PUA_FIRST && ch <= PUA_LAST)
    scan->used[(ch - PUA_FIRST) / 64] |= G_GUINT64_CONSTANT (1) << ((ch - PUA_FIRST) % 64);
}

static gboolean
is_used (Scan     *scan,
         gunichar  ch)
{
  return (scan->used[(ch - PUA_FIRST) / 64] >> ((ch - PUA_FIRST) % 64)) & 1;
}

/* Skips the string starting with the quote at i; returns the offset after it. */
static gsize
scan_string (Scan       *scan,
             const char *data,
             gsize       len,
             gsize       i)
{
  char quote = data[i++];

  while (i < len && data[i] != quote)
    {
      guchar c = (guchar) data[i];

      /* json-glib, like GScanner, has no escapes in single-quoted strings. */
      if (c == '\\' && quote == '"' && i + 1 < len)
        {
          if (data[i + 1] == 'u' && i + 5 < len &&
              g_ascii_isxdigit (data[i + 2]) && g_ascii_isxdigit (data[i + 3]) &&
              g_ascii_isxdigit (data[i + 4]) && g_ascii_isxdigit (data[i + 5]))
            {
              gunichar ch = 0;

              for (gsize k = 2; k < 6; k++)
                ch = ch * 16 + g_ascii_xdigit_value (data[i + k]);
              if (ch == 0)
                {
                  Span span = { i, 6 };

                  g_array_append_val (scan->nuls, span);
                }
              mark_used (scan, ch);
              i += 6;
            }
          else
            i += 2;
          continue;
        }
      /* Raw three-byte UTF-8 sequences in U+E000..U+F8FF. */
      if ((c == 0xEE || c == 0xEF) && i + 2 < len)
        mark_used (scan, ((c & 0x0F) << 12) |
                         (((guchar) data[i + 1] & 0x3F) << 6) |
                         ((guchar) data[i + 2] & 0x3F));
      i++;
    }
  return i + 1;
}

static gboolean
is_big_integer (const char *token,
                gsize       len)
{
  char buf[64];
  gsize start = token[0] == '-' ? 1 : 0;

  if (len == start)
    return FALSE;
  for (gsize i = start; i < len; i++)
    {
      if (!g_ascii_isdigit (token[i]))
        return FALSE;
    }
  if (len - start < 19)   /* up to 18 digits always fit */
    return FALSE;
  if (len >= sizeof buf)
    return TRUE;
  memcpy (buf, token, len);
  buf[len] = '\0';
  return !g_ascii_string_to_signed (buf, 10, G_MININT64, G_MAXINT64, NULL, NULL);
}

/* Looks at the text before json-glib does, for what json-glib gets wrong:
 * nesting deep enough to overflow its recursive parser, "\u0000" escapes and
 * integers beyond 64 bits. Knows json-glib's comments and quoting so that it
 * sees the same structure. */
static gboolean
scan_input (Scan        *scan,
            const char  *data,
            gsize        len,
            GError     **error)
{
  guint depth = 0;
  gsize i = 0;

  while (i < len)
    {
      char c = data[i];

      if (c == '"' || c == '\'')
        i = scan_string (scan, data, len, i);
      else if (c == '/' && i + 1 < len && data[i + 1] == '*')
        {
          for (i += 2; i < len && !(data[i] == '*' && i + 1 < len && data[i + 1] == '/'); i++)
            ;
          i += 2;
        }
      else if (c == '[' || c == '{')
        {
          if (++depth > PLUA_JSON_MAX_DEPTH)
            {
              g_autofree char *message =
                g_strdup_printf ("nesting deeper than %d levels", PLUA_JSON_MAX_DEPTH);

              set_position_error (error, PLUA_JSON_ERROR_DEPTH, data, i, message);
              return FALSE;
            }
          i++;
        }
      else if (c == ']' || c == '}')
        {
          if (depth > 0)
            depth--;
          i++;
        }
      else if (c == '-' || g_ascii_isdigit (c))
        {
          gsize end = i + 1;

          while (end < len &&
                 (g_ascii_isalnum (data[end]) || data[end] == '.' ||
                  data[end] == '+' || data[end] == '-'))
            end++;
          if (is_big_integer (data + i, end - i))
            {
              Span span = { i, end - i };

              g_array_append_val (scan->big_ints, span);
            }
          i = end;
        }
      else
        i++;
    }
  return TRUE;
}

/* Rewrites the integer literal at token (len bytes, >= 19 digits) in place as
 * a float literal of the same length, so error positions stay right: the
 * shortest exact digits of the double, and an exponent padded with zeros. */
static gboolean
rewrite_big_integer (char  *token,
                     gsize  len)
{
  static const char *formats[] = { "%.14e", "%.15e", "%.16e" };
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  char digits[32];
  char exponent_text[16];
  gsize n_digits = 0;
  gsize prefix_len;
  gsize exponent_len;
  const char *p;
  char *out;
  double d;
  int exponent;
  gboolean negative;

  /* The token is followed by a delimiter (or the terminating NUL). */
  d = g_ascii_strtod (token, NULL);
  if (isfinite (d))
    {
      for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
        {
          g_ascii_formatd (buf, sizeof buf, formats[i], d);
          if (g_ascii_strtod (buf, NULL) == d)
            break;
        }
    }
  else
    {
      /* Past the double range: infinity, as json-glib makes of 1e999. */
      g_strlcpy (buf, d < 0 ? "-1e+999" : "1e+999", sizeof buf);
    }

  /* buf is "[-]D.DDDDe+XX": keep the digits without trailing zeros and move
   * the decimal point into the exponent. */
  negative = buf[0] == '-';
  for (p = buf + negative; *p != 'e'; p++)
    {
      if (g_ascii_isdigit (*p) && n_digits < sizeof digits)
        digits[n_digits++] = *p;
    }
  exponent = atoi (p + 1);
  while (n_digits > 1 && digits[n_digits - 1] == '0')
    n_digits--;
  exponent -= (int) n_digits - 1;
  g_snprintf (exponent_text, sizeof exponent_text, "%d", exponent);

  prefix_len = (negative ? 1 : 0) + n_digits + 1;
  exponent_len = strlen (exponent_text);
  if (exponent < 0 || prefix_len + exponent_len > len)
    return FALSE;

  out = token;
  if (negative)
    *out++ = '-';
  memcpy (out, digits, n_digits);
  out += n_digits;
  *out++ = 'e';
  memset (out, '0', len - prefix_len - exponent_len);
  out += len - prefix_len - exponent_len;
  memcpy (out, exponent_text, exponent_len);
  return TRUE;
}

/* Returns a copy of data fixed up for json-glib, or NULL if data will do as
 * it is; *nul_standin is the character standing for "\u0000", or 0. */
static gboolean
prepare_input (const char  *data,
               gsize        len,
               char       **prepared,
               gunichar    *nul_standin,
               GError     **error)
{
  Scan scan = { { 0 }, NULL, NULL };
  g_autofree char *text = NULL;
  gboolean ok;

  *prepared = NULL;
  *nul_standin = 0;

  scan.nuls = g_array_new (FALSE, FALSE, sizeof (Span));
  scan.big_ints = g_array_new (FALSE, FALSE, sizeof (Span));
  ok = scan_input (&scan, data, len, error);
  if (!ok || (scan.nuls->len == 0 && scan.big_ints->len == 0))
    goto out;

  text = g_malloc (len + 1);
  memcpy (text, data, len);
  text[len] = '\0';

  if (scan.nuls->len > 0)
    {
      char escape[8];

      for (gunichar ch = PUA_FIRST; ch <= PUA_LAST && *nul_standin == 0; ch++)
        {
          if (!is_used (&scan, ch))
            *nul_standin = ch;
        }
      if (*nul_standin == 0)
        {
          Span *span = &g_array_index (scan.nuls, Span, 0);

          set_position_error (error, PLUA_JSON_ERROR_PARSE, data, span->offset,
                              "no private-use character left to stand for \\u0000");
          ok = FALSE;
          goto out;
        }
      g_snprintf (escape, sizeof escape, "\\u%04X", *nul_standin);
      for (guint i = 0; i < scan.nuls->len; i++)
        memcpy (text + g_array_index (scan.nuls, Span, i).offset, escape, 6);
    }

  for (guint i = 0; i < scan.big_ints->len; i++)
    {
      Span *span = &g_array_index (scan.big_ints, Span, i);

      if (!rewrite_big_integer (text + span->offset, span->len))
        {
          set_position_error (error, PLUA_JSON_ERROR_PARSE, data, span->offset,
                              "number out of range");
          ok = FALSE;
          goto out;
        }
    }

  *prepared = g_steal_pointer (&text);

out:
  g_array_unref (scan.nuls);
  g_array_unref (scan.big_ints);
  return ok;
}

typedef struct
{
  guint line;
  guint column;
} ErrorPosition;

/* json-glib knows the position only while it is parsing. */
static void
on_parser_error (JsonParser *parser,
                 gpointer    error,
                 gpointer    user_data)
{
  ErrorPosition *position = user_data;

  position->line = json_parser_get_current_line (parser);
  position->column = json_parser_get_current_pos (parser);
}

typedef struct
{
  lua_State *L;
  gboolean   use_null;
  int        null_idx;
  int        marks_idx;
  char       standin[8];    /* UTF-8 of the stand-in for U+0000, "" if none */
  gsize      standin_len;
} Pusher;

static void
push_string (Pusher     *pusher,
             const char *s)
{
  const char *hit;
  luaL_Buffer b;

  if (pusher->standin_len == 0 || (hit = strstr (s, pusher->standin)) == NULL)
    {
      lua_pushstring (pusher->L, s);
      return;
    }

  luaL_buffinit (pusher->L, &b);
  while (hit != NULL)
    {
      luaL_addlstring (&b, s, hit - s);
      luaL_addchar (&b, '\0');
      s = hit + pusher->standin_len;
      hit = strstr (s, pusher->standin);
    }
  luaL_addstring (&b, s);
  luaL_pushresult (&b);
}

static void
push_node (Pusher   *pusher,
           JsonNode *node,
           guint     depth)
{
  lua_State *L = pusher->L;

  /* Only nodes from elsewhere get here too deep: decode checks beforehand. */
  if (depth > PLUA_JSON_MAX_DEPTH)
    luaL_error (L, "json.decode: nesting deeper than %d levels", PLUA_JSON_MAX_DEPTH);
  luaL_checkstack (L, 4, "json.decode");

  switch (node != NULL ? JSON_NODE_TYPE (node) : JSON_NODE_NULL)
    {
    case JSON_NODE_NULL:
      if (pusher->use_null)
        lua_pushvalue (L, pusher->null_idx);
      else
        lua_pushnil (L);
      break;

    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_INT64:
          lua_pushinteger (L, json_node_get_int (node));
          break;
        case G_TYPE_DOUBLE:
          lua_pushnumber (L, json_node_get_double (node));
          break;
        case G_TYPE_BOOLEAN:
          lua_pushboolean (L, json_node_get_boolean (node));
          break;
        case G_TYPE_STRING:
          push_string (pusher, json_node_get_string (node));
          break;
        default:
          lua_pushnil (L);
          break;
        }
      break;

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        guint n = json_array_get_length (array);

        lua_createtable (L, (int) MIN (n, G_MAXINT), 0);
        for (guint i = 0; i < n; i++)
          {
            push_node (pusher, json_array_get_element (array, i), depth + 1);
            if (lua_isnil (L, -1))
              lua_pop (L, 1);
            else
              lua_rawseti (L, -2, (lua_Integer) i + 1);
          }
        /* Marked, so [] and holes come back out as they went in. */
        lua_pushvalue (L, -1);
        lua_pushboolean (L, TRUE);
        lua_rawset (L, pusher->marks_idx);
      }
      break;

    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;

        lua_createtable (L, 0, (int) MIN (json_object_get_size (object), G_MAXINT));
        json_object_iter_init (&iter, object);
        while (json_object_iter_next (&iter, &name, &member))
          {
            push_node (pusher, member, depth + 1);
            if (lua_isnil (L, -1))
              {
                lua_pop (L, 1);
                continue;
              }
            push_string (pusher, name);
            lua_insert (L, -2);
            lua_rawset (L, -3);
          }
      }
      break;

    default:
      g_assert_not_reached ();
    }
}

static void
push_root (lua_State *L,
           JsonNode  *node,
           gboolean   use_null,
           gunichar   nul_standin)
{
  Pusher pusher = { L, use_null, 0, 0, { 0 }, 0 };
  int base = lua_gettop (L);

  luaL_checkstack (L, 4, "json.decode");
  push_null (L);
  pusher.null_idx = base + 1;
  push_marks (L);
  pusher.marks_idx = base + 2;
  if (nul_standin != 0)
    pusher.standin_len = g_unichar_to_utf8 (nul_standin, pusher.standin);

  push_node (&pusher, node, 0);
  lua_replace (L, base + 1);
  lua_settop (L, base + 1);
}

static gboolean
decode (lua_State   *L,
        const char  *data,
        gsize        len,
        gboolean     use_null,
        GError     **error)
{
  JsonParser **box;
  ErrorPosition position = { 0, 0 };
  g_autoptr (GError) parse_error = NULL;
  g_autofree char *prepared = NULL;
  gunichar nul_standin;
  JsonNode *root;
  gboolean ok;

  /* The parser lives in a box from before it exists until the value is
   * pushed: pushing can raise. prepared and parse_error are empty by then. */
  luaL_checkstack (L, 6, "json.decode");
  box = (JsonParser **) push_box (L, PARSER_METATABLE, parser_box_gc);

  if (!prepare_input (data, len, &prepared, &nul_standin, error))
    {
      lua_pop (L, 1);
      return FALSE;
    }

  *box = json_parser_new_immutable ();
  g_signal_connect (*box, "error", G_CALLBACK (on_parser_error), &position);
  ok = json_parser_load_from_data (*box, prepared != NULL ? prepared : data,
                                   (gssize) len, &parse_error);
  g_clear_pointer (&prepared, g_free);

  if (!ok)
    {
      const char *message = strstr (parse_error->message, "Parse error: ");
      const char *invalid;

      message = message != NULL ? message + strlen ("Parse error: ") : parse_error->message;
      if (position.line == 0 && !g_utf8_validate_len (data, len, &invalid))
        {
          /* json-glib checks the encoding up front and gives no position. */
          set_position_error (error, PLUA_JSON_ERROR_PARSE, data, invalid - data, message);
        }
      else if (position.line > 0)
        g_set_error (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_PARSE,
                     "json.decode: line %u column %u: %s",
                     position.line, position.column, message);
      else
        g_set_error (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_PARSE,
                     "json.decode: %s", message);
      g_clear_object (box);
      lua_pop (L, 1);
      return FALSE;
    }

  root = json_parser_get_root (*box);
  if (root == NULL || json_parser_has_assignment (*box, NULL))
    {
      g_set_error_literal (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_PARSE,
                           root == NULL ? "json.decode: empty input"
                                        : "json.decode: a JavaScript assignment is not JSON");
      g_clear_object (box);
      lua_pop (L, 1);
      return FALSE;
    }

  push_root (L, root, use_null, nul_standin);
  g_clear_object (box);
  lua_remove (L, -2);
  return TRUE;
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
  box = (GString **) push_box (L, STRING_METATABLE, string_box_gc);
  *box = encode (L, 1, indent, &error);
  if (*box == NULL)
    return raise_error (L, error);

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

  if (!decode (L, data, len, use_null, &error))
    return raise_error (L, error);
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

  push_marks (L);
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
  text = encode (L, idx, 0, error);
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

  push_root (L, node, use_null, 0);
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

  text = encode (L, idx, pretty ? 2 : 0, error);
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

  return decode (L, data, length < 0 ? strlen (data) : (gsize) length, use_null, error);
}

int
plua_json_open (lua_State *L)
{
  g_return_val_if_fail (L != NULL, 0);

  luaL_newlib (L, json_functions);
  push_null (L);
  lua_setfield (L, -2, "null");

  lua_pushvalue (L, -1);
  lua_setglobal (L, "json");
  luaL_getsubtable (L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushvalue (L, -2);
  lua_setfield (L, -2, "json");
  lua_pop (L, 1);

  return 1;
}
