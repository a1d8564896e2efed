/* plua-json-scan.c: one pass over JSON text, reporting values to a sink
 * (rules in plua-json-scan.h). Iterative, with the open containers in a
 * fixed array, so no input can run it off the C stack.
 *
 * Error messages keep the wording json-glib's parser used before this
 * scanner replaced it ("unexpected character `}', expected character `]'"),
 * and the position is the line and column of the last character of the
 * offending token, as json-glib gave it. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plua-json.h"
#include "plua-json-scan.h"

typedef struct
{
  const char         *data;
  const char         *end;
  const char         *p;
  const PluaJsonSink *sink;
  gpointer            user_data;
  GString            *scratch;
  GError            **error;
} Scanner;

/* Bytes that stand for themselves inside a double-quoted string. */
static const guint8 plain_char[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
  R16 (0), R16 (0),
  1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   /* 0x20: '"' */
  R16 (1), R16 (1),
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,   /* 0x50: '\\' */
  R16 (1), R16 (1),
  R16 (0), R16 (0), R16 (0), R16 (0), R16 (0), R16 (0), R16 (0), R16 (0),
#undef R16
};

static const double powers_of_ten[] = {
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/* Errors */

static gboolean
fail_at (Scanner    *s,
         const char *at,
         int         code,
         const char *format,
         ...) G_GNUC_PRINTF (4, 5);

/* Sets the error at the character at (the last one at the end); FALSE. */
static gboolean
fail_at (Scanner    *s,
         const char *at,
         int         code,
         const char *format,
         ...)
{
  g_autofree char *message = NULL;
  const char *line_start = s->data;
  guint line = 1;
  va_list args;

  if (at >= s->end && s->end > s->data)
    at = s->end - 1;
  for (const char *q = s->data; q < at; q++)
    {
      if (*q == '\n')
        {
          line++;
          line_start = q + 1;
        }
    }
  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (s->error, PLUA_JSON_ERROR, code, "line %u column %u: %s",
               line, (guint) (at - line_start) + 1, message);
  return FALSE;
}

static gboolean
is_identifier_char (char c)
{
  return g_ascii_isalnum (c) || c == '_' || c == '-';
}

/* How json-glib named the token at p, for "unexpected <token>"; *last is set
 * to its last character, where the error is reported. */
static char *
describe_token (Scanner     *s,
                const char  *p,
                const char **last)
{
  const char *q = p;

  *last = p;
  if (p >= s->end)
    return g_strdup ("end of file");
  if (g_ascii_isalpha (*p) || *p == '_')
    {
      while (q < s->end && is_identifier_char (*q))
        q++;
      *last = q - 1;
      return g_strdup_printf ("identifier `%.*s'", (int) MIN (q - p, 40), p);
    }
  if (g_ascii_isdigit (*p))
    {
      while (q < s->end && (g_ascii_isalnum (*q) || *q == '.'))
        q++;
      *last = q - 1;
      return g_strdup_printf ("number `%.*s'", (int) MIN (q - p, 40), p);
    }
  if (*p == '"' || *p == '\'')
    return g_strdup ("string constant");
  if (*p >= ' ' && *p <= '~')
    return g_strdup_printf ("character `%c'", *p);
  return g_strdup_printf ("character `\\%o'", (guchar) *p);
}

static gboolean
fail_unexpected (Scanner    *s,
                 const char *expected)
{
  const char *last;
  g_autofree char *token = describe_token (s, s->p, &last);

  return fail_at (s, last, PLUA_JSON_ERROR_PARSE, "unexpected %s, expected %s", token, expected);
}

/* Whitespace and comments */

static gboolean
skip_space (Scanner *s)
{
  const char *p = s->p;

  for (;;)
    {
      while (p < s->end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
      if (p + 1 >= s->end || *p != '/')
        break;
      if (p[1] == '*')
        {
          const char *close = NULL;

          for (const char *q = p + 2; q + 1 < s->end; q++)
            {
              if (q[0] == '*' && q[1] == '/')
                {
                  close = q;
                  break;
                }
            }
          if (close == NULL)
            return fail_at (s, s->end, PLUA_JSON_ERROR_PARSE, "unterminated comment");
          p = close + 2;
        }
      else if (p[1] == '/')
        {
          const char *newline = memchr (p, '\n', s->end - p);

          p = newline != NULL ? newline + 1 : s->end;
        }
      else
        break;
    }
  s->p = p;
  return TRUE;
}

/* Strings */

/* The length of the valid UTF-8 sequence of two to four bytes at p, or 0
 * (overlong forms, surrogates and code points past U+10FFFF are invalid, as
 * for g_utf8_validate). */
static gsize
utf8_sequence (const guchar *p,
               const guchar *end)
{
  guchar lo = 0x80, hi = 0xBF;
  gsize n;

  if (p[0] >= 0xC2 && p[0] <= 0xDF)
    n = 2;
  else if (p[0] >= 0xE0 && p[0] <= 0xEF)
    {
      n = 3;
      if (p[0] == 0xE0)
        lo = 0xA0;
      else if (p[0] == 0xED)
        hi = 0x9F;
    }
  else if (p[0] >= 0xF0 && p[0] <= 0xF4)
    {
      n = 4;
      if (p[0] == 0xF0)
        lo = 0x90;
      else if (p[0] == 0xF4)
        hi = 0x8F;
    }
  else
    return 0;

  if ((gsize) (end - p) < n || p[1] < lo || p[1] > hi)
    return 0;
  for (gsize i = 2; i < n; i++)
    {
      if ((p[i] & 0xC0) != 0x80)
        return 0;
    }
  return n;
}

/* Checks the byte at p that is not plain: returns how many bytes to take as
 * they are, or 0 for an error (already set). */
static gsize
check_unplain (Scanner    *s,
               const char *p)
{
  gsize n;

  if ((guchar) *p < 0x20)
    {
      fail_at (s, p, PLUA_JSON_ERROR_PARSE, "unescaped control character in string");
      return 0;
    }
  n = utf8_sequence ((const guchar *) p, (const guchar *) s->end);
  if (n == 0)
    fail_at (s, p, PLUA_JSON_ERROR_PARSE, "JSON data must be UTF-8 encoded");
  return n;
}

static int
hex4 (const char *p,
      const char *end)
{
  int value = 0;

  if (end - p < 4)
    return -1;
  for (int i = 0; i < 4; i++)
    {
      int digit = g_ascii_xdigit_value (p[i]);

      if (digit < 0)
        return -1;
      value = value * 16 + digit;
    }
  return value;
}

/* The escape at p (the backslash) appended to scratch; returns what follows
 * it, or NULL on error. */
static const char *
read_escape (Scanner    *s,
             const char *p)
{
  static const char simple_from[] = "\"\\/bfnrt";
  static const char simple_to[] = "\"\\/\b\f\n\r\t";
  const char *simple;
  char utf8[8];
  int unit, low;
  gunichar ch;

  if (p + 1 >= s->end)
    {
      fail_at (s, s->end, PLUA_JSON_ERROR_PARSE, "unterminated string constant");
      return NULL;
    }
  if (p[1] != 'u')
    {
      simple = p[1] != '\0' ? strchr (simple_from, p[1]) : NULL;
      if (simple == NULL)
        {
          fail_at (s, p + 1, PLUA_JSON_ERROR_PARSE, "invalid escape in string");
          return NULL;
        }
      g_string_append_c (s->scratch, simple_to[simple - simple_from]);
      return p + 2;
    }

  unit = hex4 (p + 2, s->end);
  if (unit < 0)
    {
      fail_at (s, p + 1, PLUA_JSON_ERROR_PARSE, "invalid \\u escape in string");
      return NULL;
    }
  p += 6;
  ch = (gunichar) unit;
  if (unit >= 0xD800 && unit <= 0xDFFF)
    {
      low = (unit <= 0xDBFF && s->end - p >= 6 && p[0] == '\\' && p[1] == 'u')
            ? hex4 (p + 2, s->end) : -1;
      if (low < 0xDC00 || low > 0xDFFF)
        {
          fail_at (s, p - 1, PLUA_JSON_ERROR_PARSE, "malformed surrogate pair");
          return NULL;
        }
      ch = 0x10000 + (((gunichar) unit - 0xD800) << 10) + ((gunichar) low - 0xDC00);
      p += 6;
    }
  g_string_append_len (s->scratch, utf8, g_unichar_to_utf8 (ch, utf8));
  return p;
}

/* json-glib's single-quoted strings: no escapes, a backslash is itself. */
static gboolean
read_single_quoted (Scanner     *s,
                    const char **out,
                    gsize       *len)
{
  const char *start = s->p + 1;
  const char *p = start;

  while (p < s->end && *p != '\'')
    {
      gsize n = 1;

      if ((guchar) *p < 0x20 || (guchar) *p >= 0x80)
        {
          n = check_unplain (s, p);
          if (n == 0)
            return FALSE;
        }
      p += n;
    }
  if (p >= s->end)
    return fail_at (s, s->end, PLUA_JSON_ERROR_PARSE, "unterminated string constant");
  *out = start;
  *len = p - start;
  s->p = p + 1;
  return TRUE;
}

/* Reads the string at s->p (its quote) into *out and *len: a pointer into the
 * text when it has no escapes, else into scratch. */
static gboolean
read_string (Scanner     *s,
             const char **out,
             gsize       *len)
{
  const char *start = s->p + 1;
  const char *p = start;
  gboolean escaped = FALSE;

  if (*s->p == '\'')
    return read_single_quoted (s, out, len);

  for (;;)
    {
      const char *run = p;
      gsize n;

      while (p < s->end && plain_char[(guchar) *p])
        p++;
      if (escaped)
        g_string_append_len (s->scratch, run, p - run);
      if (p >= s->end)
        return fail_at (s, s->end, PLUA_JSON_ERROR_PARSE, "unterminated string constant");
      if (*p == '"')
        break;
      if (*p == '\\')
        {
          if (!escaped)
            {
              g_string_truncate (s->scratch, 0);
              g_string_append_len (s->scratch, start, p - start);
              escaped = TRUE;
            }
          p = read_escape (s, p);
          if (p == NULL)
            return FALSE;
          continue;
        }
      n = check_unplain (s, p);
      if (n == 0)
        return FALSE;
      if (escaped)
        g_string_append_len (s->scratch, p, n);
      p += n;
    }

  if (escaped)
    {
      *out = s->scratch->str;
      *len = s->scratch->len;
    }
  else
    {
      *out = start;
      *len = p - start;
    }
  s->p = p + 1;
  return TRUE;
}

/* Numbers */

static gboolean
emit_float_text (Scanner    *s,
                 const char *start,
                 gsize       len)
{
  char buf[128];
  char *text = len < sizeof buf ? buf : g_malloc (len + 1);
  double d;

  memcpy (text, start, len);
  text[len] = '\0';
  /* Overflow gives +-inf, as json-glib made of 1e999. */
  d = g_ascii_strtod (text, NULL);
  if (text != buf)
    g_free (text);
  if (s->sink != NULL)
    s->sink->number (s->user_data, d);
  return TRUE;
}

static gboolean
read_hex (Scanner  *s,
          gboolean  negative)
{
  const char *p = s->p + 2;
  guint64 value = 0;

  if (p >= s->end || !g_ascii_isxdigit (*p))
    return fail_at (s, p, PLUA_JSON_ERROR_PARSE, "malformed hexadecimal number");
  for (; p < s->end && g_ascii_isxdigit (*p); p++)
    {
      if (value > G_MAXINT64 / 16)
        return fail_at (s, p, PLUA_JSON_ERROR_PARSE, "number out of range");
      value = value * 16 + (guint64) g_ascii_xdigit_value (*p);
    }
  s->p = p;
  if (s->sink != NULL)
    s->sink->integer (s->user_data, negative ? -(gint64) value : (gint64) value);
  return TRUE;
}

/* An integer literal is an integer when it fits 64 bits, else a float; a
 * fraction or exponent makes a float, exact where the digits and the power
 * of ten are exact doubles, else through strtod. */
static gboolean
read_number (Scanner *s)
{
  const char *start = s->p;
  const char *p = s->p;
  gboolean negative = FALSE;
  gboolean is_float = FALSE;
  guint64 mantissa = 0;
  int significant = 0;   /* digits in mantissa after leading zeros */
  int exponent = 0;
  int digits = 0;

  if (*p == '-')
    {
      negative = TRUE;
      s->p = ++p;
    }
  if (p + 1 < s->end && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
    return read_hex (s, negative);
  if (p >= s->end || !g_ascii_isdigit (*p))
    return fail_unexpected (s, "number");
  if (*p == '0' && p + 1 < s->end && g_ascii_isdigit (p[1]))
    return fail_at (s, p + 1, PLUA_JSON_ERROR_PARSE, "leading zeros in a number");

  for (; p < s->end && g_ascii_isdigit (*p); p++, digits++)
    {
      if (significant < 19)
        {
          mantissa = mantissa * 10 + (guint64) (*p - '0');
          if (mantissa != 0)
            significant++;
        }
      else
        exponent++;
    }
  if (p < s->end && *p == '.')
    {
      is_float = TRUE;
      if (++p >= s->end || !g_ascii_isdigit (*p))
        return fail_at (s, p, PLUA_JSON_ERROR_PARSE, "malformed floating constant");
      for (; p < s->end && g_ascii_isdigit (*p); p++)
        {
          if (significant < 19)
            {
              mantissa = mantissa * 10 + (guint64) (*p - '0');
              if (mantissa != 0)
                significant++;
              exponent--;
            }
        }
    }
  if (p < s->end && (*p == 'e' || *p == 'E'))
    {
      int e = 0;
      gboolean e_negative = FALSE;

      is_float = TRUE;
      p++;
      if (p < s->end && (*p == '+' || *p == '-'))
        e_negative = *p++ == '-';
      if (p >= s->end || !g_ascii_isdigit (*p))
        return fail_at (s, p, PLUA_JSON_ERROR_PARSE, "malformed floating constant");
      for (; p < s->end && g_ascii_isdigit (*p); p++)
        {
          if (e < 100000)
            e = e * 10 + (*p - '0');
        }
      exponent += e_negative ? -e : e;
    }
  s->p = p;

  if (!is_float && significant < 19 && digits <= 19)
    {
      if (s->sink != NULL)
        s->sink->integer (s->user_data, negative ? -(gint64) mantissa : (gint64) mantissa);
      return TRUE;
    }
  if (!is_float && significant == 19 && exponent == 0 &&
      mantissa <= (guint64) G_MAXINT64 + (negative ? 1 : 0))
    {
      if (s->sink != NULL)
        s->sink->integer (s->user_data, negative ? (gint64) (0 - mantissa) : (gint64) mantissa);
      return TRUE;
    }
  if (significant <= 15 && exponent >= -22 && exponent <= 22)
    {
      /* Both exact doubles: one correctly rounded operation. */
      double d = (double) mantissa;

      d = exponent < 0 ? d / powers_of_ten[-exponent] : d * powers_of_ten[exponent];
      if (s->sink != NULL)
        s->sink->number (s->user_data, negative ? -d : d);
      return TRUE;
    }
  return emit_float_text (s, start, p - start);
}

/* Values */

static gboolean
read_word (Scanner *s)
{
  const char *p = s->p;
  const char *q = p;

  while (q < s->end && is_identifier_char (*q))
    q++;
  if (q - p == 4 && memcmp (p, "true", 4) == 0)
    {
      if (s->sink != NULL)
        s->sink->boolean (s->user_data, TRUE);
    }
  else if (q - p == 5 && memcmp (p, "false", 5) == 0)
    {
      if (s->sink != NULL)
        s->sink->boolean (s->user_data, FALSE);
    }
  else if (q - p == 4 && memcmp (p, "null", 4) == 0)
    {
      if (s->sink != NULL)
        s->sink->null (s->user_data);
    }
  else
    return fail_unexpected (s, "value");
  s->p = q;
  return TRUE;
}

/* A scalar at s->p; json-glib named the container's closer as what was
 * expected when a value was not there. */
static gboolean
read_scalar (Scanner *s,
             char     container)
{
  const char *text;
  gsize len;
  char c = s->p < s->end ? *s->p : '\0';

  if (c == '"' || c == '\'')
    {
      if (!read_string (s, &text, &len))
        return FALSE;
      if (s->sink != NULL)
        s->sink->string (s->user_data, text, len);
      return TRUE;
    }
  if (c == '-' || g_ascii_isdigit (c))
    return read_number (s);
  if (g_ascii_isalpha (c) || c == '_')
    return read_word (s);
  if (s->p < s->end && (guchar) c >= 0x80 &&
      utf8_sequence ((const guchar *) s->p, (const guchar *) s->end) == 0)
    return fail_at (s, s->p, PLUA_JSON_ERROR_PARSE, "JSON data must be UTF-8 encoded");
  return fail_unexpected (s, container == '[' ? "character `]'" :
                             container == '{' ? "character `}'" : "value");
}

static gboolean
read_key (Scanner *s)
{
  const char *text;
  gsize len;

  if (s->p >= s->end || (*s->p != '"' && *s->p != '\''))
    return fail_unexpected (s, "string constant");
  if (!read_string (s, &text, &len))
    return FALSE;
  if (s->sink != NULL)
    s->sink->key (s->user_data, text, len);
  if (!skip_space (s))
    return FALSE;
  if (s->p >= s->end || *s->p != ':')
    return fail_unexpected (s, "character `:'");
  s->p++;
  return skip_space (s);
}

static gboolean
check_start (Scanner *s)
{
  const char *p = s->p;

  if (s->end - p >= 3 && memcmp (p, "\xEF\xBB\xBF", 3) == 0)
    s->p = p + 3;
  if (!skip_space (s))
    return FALSE;
  if (s->p >= s->end)
    {
      g_set_error_literal (s->error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_PARSE, "empty input");
      return FALSE;
    }
  if (s->end - s->p > 3 && memcmp (s->p, "var", 3) == 0 &&
      !is_identifier_char (s->p[3]))
    {
      g_set_error_literal (s->error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_PARSE,
                           "a JavaScript assignment is not JSON");
      return FALSE;
    }
  return TRUE;
}

static gboolean
open_container (Scanner *s,
                char    *open,
                guint   *depth,
                guint    max_depth)
{
  char c = *s->p;

  if (*depth >= max_depth)
    return fail_at (s, s->p, PLUA_JSON_ERROR_DEPTH, "nesting deeper than %u levels", max_depth);
  open[++*depth] = c;
  if (s->sink != NULL)
    s->sink->begin (s->user_data, c == '[');
  s->p++;
  return skip_space (s);
}

static gboolean
scan (Scanner *s,
      guint    max_depth)
{
  char open[PLUA_JSON_MAX_DEPTH + 1];   /* '[' or '{' of each open container */
  guint depth = 0;

  open[0] = '\0';
  if (!check_start (s))
    return FALSE;

  for (;;)
    {
      char c = s->p < s->end ? *s->p : '\0';
      gboolean empty = FALSE;

      /* A value is expected at s->p. */
      if (c == '[' || c == '{')
        {
          if (!open_container (s, open, &depth, max_depth))
            return FALSE;
          empty = s->p < s->end && *s->p == (c == '[' ? ']' : '}');
          if (!empty)
            {
              if (c == '{' && !read_key (s))
                return FALSE;
              continue;
            }
        }
      else if (!read_scalar (s, open[depth]))
        return FALSE;

      /* After a value (or an empty container's opener): a separator, a
       * closer or the end. */
      for (;;)
        {
          if (!empty && !skip_space (s))
            return FALSE;
          if (depth == 0)
            {
              if (s->p < s->end)
                return fail_unexpected (s, "end of file");
              return TRUE;
            }
          c = s->p < s->end ? *s->p : '\0';
          if (c == ',' && !empty)
            {
              s->p++;
              if (!skip_space (s))
                return FALSE;
              if (open[depth] == '{' && !read_key (s))
                return FALSE;
              if (open[depth] == '[' && s->p < s->end && *s->p == ']')
                return fail_unexpected (s, "value");
              break;
            }
          if (c != (open[depth] == '[' ? ']' : '}'))
            return fail_unexpected (s, open[depth] == '[' ? "character `,' or `]'"
                                                          : "character `,' or `}'");
          if (s->sink != NULL)
            s->sink->end (s->user_data, open[depth] == '[');
          depth--;
          s->p++;
          empty = FALSE;
        }
    }
}

gboolean
plua_json_scan (const char         *data,
                gsize               len,
                guint               max_depth,
                const PluaJsonSink *sink,
                gpointer            user_data,
                GString            *scratch,
                GError            **error)
{
  g_autoptr (GString) own_scratch = NULL;
  Scanner s;

  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (max_depth <= PLUA_JSON_MAX_DEPTH, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (scratch == NULL)
    scratch = own_scratch = g_string_new (NULL);
  s.data = data != NULL ? data : "";
  s.end = s.data + len;
  s.p = s.data;
  s.sink = sink;
  s.user_data = user_data;
  s.scratch = scratch;
  s.error = error;
  return scan (&s, max_depth);
}

/* JsonNode trees, for the C code that wants json-glib's types. */

typedef struct
{
  JsonNode *root;
  JsonNode *stack[PLUA_JSON_MAX_DEPTH + 1];
  guint     depth;
  char     *key;
} NodeBuilder;

static void
node_add (NodeBuilder *b,
          JsonNode    *node)
{
  JsonNode *parent = b->depth > 0 ? b->stack[b->depth] : NULL;

  if (parent == NULL)
    b->root = node;
  else if (JSON_NODE_HOLDS_ARRAY (parent))
    json_array_add_element (json_node_get_array (parent), node);
  else
    {
      json_object_set_member (json_node_get_object (parent), b->key, node);
      g_clear_pointer (&b->key, g_free);
    }
}

static void
node_begin (gpointer user_data,
            gboolean array)
{
  NodeBuilder *b = user_data;
  JsonNode *node = json_node_alloc ();

  /* The node takes its own reference: ours goes at once. */
  if (array)
    {
      g_autoptr (JsonArray) new_array = json_array_new ();

      json_node_init_array (node, new_array);
    }
  else
    {
      g_autoptr (JsonObject) new_object = json_object_new ();

      json_node_init_object (node, new_object);
    }

  node_add (b, node);
  b->stack[++b->depth] = node;
}

static void
node_end (gpointer user_data,
          gboolean array)
{
  NodeBuilder *b = user_data;

  b->depth--;
}

static void
node_key (gpointer    user_data,
          const char *s,
          gsize       len)
{
  NodeBuilder *b = user_data;

  g_free (b->key);
  b->key = g_strndup (s, len);
}

static void
node_string (gpointer    user_data,
             const char *s,
             gsize       len)
{
  g_autofree char *copy = g_strndup (s, len);

  node_add (user_data, json_node_init_string (json_node_alloc (), copy));
}

static void
node_integer (gpointer user_data,
              gint64   value)
{
  node_add (user_data, json_node_init_int (json_node_alloc (), value));
}

static void
node_number (gpointer user_data,
             double   value)
{
  node_add (user_data, json_node_init_double (json_node_alloc (), value));
}

static void
node_boolean (gpointer user_data,
              gboolean value)
{
  node_add (user_data, json_node_init_boolean (json_node_alloc (), value));
}

static void
node_null (gpointer user_data)
{
  node_add (user_data, json_node_init_null (json_node_alloc ()));
}

static const PluaJsonSink node_sink = {
  node_begin, node_end, node_key, node_string,
  node_integer, node_number, node_boolean, node_null,
};

JsonNode *
plua_json_scan_node (const char  *data,
                     gsize        len,
                     guint        max_depth,
                     GError     **error)
{
  NodeBuilder *b = g_new0 (NodeBuilder, 1);
  JsonNode *root = NULL;

  if (plua_json_scan (data, len, max_depth, &node_sink, b, NULL, error))
    root = g_steal_pointer (&b->root);
  g_clear_pointer (&b->root, json_node_unref);
  g_free (b->key);
  g_free (b);
  return root;
}
