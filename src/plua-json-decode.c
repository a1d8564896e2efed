/* plua-json-decode.c: JSON text to Lua values through json-glib's parser
 * (rules in plua-json.c). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plua-json-private.h"

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

void
plua_json_push_root (lua_State *L,
                     JsonNode  *node,
                     gboolean   use_null,
                     gunichar   nul_standin)
{
  Pusher pusher = { L, use_null, 0, 0, { 0 }, 0 };
  int base = lua_gettop (L);

  luaL_checkstack (L, 4, "json.decode");
  plua_json_push_null (L);
  pusher.null_idx = base + 1;
  plua_json_push_marks (L);
  pusher.marks_idx = base + 2;
  if (nul_standin != 0)
    pusher.standin_len = g_unichar_to_utf8 (nul_standin, pusher.standin);

  push_node (&pusher, node, 0);
  lua_replace (L, base + 1);
  lua_settop (L, base + 1);
}

gboolean
plua_json_decode_push (lua_State   *L,
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
  box = (JsonParser **) plua_json_push_box (L, PARSER_METATABLE, plua_json_parser_box_gc);

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

  plua_json_push_root (L, root, use_null, nul_standin);
  g_clear_object (box);
  lua_remove (L, -2);
  return TRUE;
}
