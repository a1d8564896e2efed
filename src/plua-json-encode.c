/* plua-json-encode.c: Lua values to JSON text (rules in plua-json.c). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plua-json-private.h"

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
GString *
plua_json_encode_gstring (lua_State  *L,
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
  plua_json_push_null (L);
  enc.null_idx = lua_gettop (L);
  plua_json_push_marks (L);
  enc.marks_idx = lua_gettop (L);
  box = (GString **) plua_json_push_box (L, STRING_METATABLE, plua_json_string_box_gc);
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
