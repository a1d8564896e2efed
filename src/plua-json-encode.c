/* plua-json-encode.c: Lua values to JSON text (rules in plua-json.c).
 *
 * Written for speed as well as the rules (GET /api/devices encodes a whole
 * device list per request): each table is walked once with lua_next, its
 * keys and values left on the Lua stack, where they stay anchored while the
 * object's keys are sorted as a C array; text is copied straight into the
 * GString; integers and the common short decimals avoid printf.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plua-json-private.h"

#define MEMBERS_METATABLE "plua.json.members"

/* Entries collected per lua_checkstack call, and the room asked for. */
#define STACK_BATCH 64
#define STACK_ROOM  (2 * STACK_BATCH + LUA_MINSTACK)

/* Objects up to this size are sorted by insertion, larger ones by qsort. */
#define INSERTION_SORT_MAX 32

typedef struct
{
  guint64     prefix;      /* the name's first 8 bytes, big-endian, 0-padded */
  const char *name;
  size_t      len;
  int         slot;        /* where the value is, see slot_index() */
} Member;

typedef struct
{
  lua_State  *L;
  GString    *out;
  guint       indent;      /* spaces per level, 0 for compact output */
  guint       depth;       /* containers currently open */
  int         null_idx;
  int         marks_idx;
  Member    **members;     /* boxed array shared by the open objects, as a stack */
  gsize       n_members;   /* in use */
  gsize       members_size;
  const void *path[PLUA_JSON_MAX_DEPTH];   /* open tables: meeting one again is a cycle */
} Encoder;

/* A table's entries as collected by collect_entries(): entry i (from 0) has
 * its key at slot 2i+1 and its value at slot 2i+2, the slots being stack
 * index base + slot, or, for a table too big for the Lua stack, index slot
 * in the scratch table at stack index scratch. */
typedef struct
{
  int          base;
  int          scratch;    /* 0: entries on the stack */
  lua_Integer  count;
  lua_Integer  max;        /* largest positive integer key */
  gboolean     sequence;   /* all keys positive integers */
  gboolean     in_order;   /* ... met as 1, 2, 3...: values are in slot order */
  int          bad_key;    /* type of the first key that is neither string nor number */
} Entries;

static gboolean encode_value (Encoder *enc, int idx, GError **error);

/* Output: the GString is written directly, growing by doubling. str[len]
 * is not kept NUL meanwhile; plua_json_encode_gstring() ends it. */

static inline char *
out_reserve (GString *out,
             gsize    n)
{
  if (G_UNLIKELY (out->len + n >= out->allocated_len))
    {
      gsize len = out->len;

      g_string_set_size (out, len + n);
      out->len = len;
    }
  return out->str + out->len;
}

static inline void
out_bytes (GString    *out,
           const char *s,
           gsize       n)
{
  memcpy (out_reserve (out, n), s, n);
  out->len += n;
}

static inline void
out_char (GString *out,
          char     c)
{
  *out_reserve (out, 1) = c;
  out->len++;
}

#define out_literal(out, s) out_bytes ((out), "" s, sizeof (s) - 1)

static void
append_newline (Encoder *enc,
                guint    depth)
{
  gsize spaces = (gsize) depth * enc->indent;
  char *p;

  if (enc->indent == 0)
    return;

  p = out_reserve (enc->out, 1 + spaces);
  p[0] = '\n';
  memset (p + 1, ' ', spaces);
  enc->out->len += 1 + spaces;
}

/* Strings */

enum { PLAIN, ESCAPE, MULTIBYTE };

/* What each byte needs: copied as is, escaped, or checked as UTF-8. */
static const guint8 byte_class[256] = {
  [0x00 ... 0x1f] = ESCAPE,
  ['"'] = ESCAPE,
  ['\\'] = ESCAPE,
  [0x80 ... 0xff] = MULTIBYTE,
};

static void
append_escape (GString *out,
               guchar   c)
{
  static const char hex[] = "0123456789abcdef";
  char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf] };

  switch (c)
    {
    case '"':  out_literal (out, "\\\""); break;
    case '\\': out_literal (out, "\\\\"); break;
    case '\b': out_literal (out, "\\b"); break;
    case '\f': out_literal (out, "\\f"); break;
    case '\n': out_literal (out, "\\n"); break;
    case '\r': out_literal (out, "\\r"); break;
    case '\t': out_literal (out, "\\t"); break;
    default:   out_bytes (out, u, sizeof u); break;
    }
}

/* Whether any of the 8 bytes in w may need escaping or UTF-8 checking:
 * below 0x20, '"', '\\' or from 0x80 on. A borrow can only spread up from
 * a byte that does need it, so "no" is always right and "yes" is checked
 * byte by byte. */
static inline gboolean
word_needs_care (guint64 w)
{
  const guint64 ones = G_GUINT64_CONSTANT (0x0101010101010101);
  guint64 t = (w - 0x20 * ones) | ((w ^ ('"' * ones)) - ones) | ((w ^ ('\\' * ones)) - ones) | w;

  return (t & (0x80 * ones)) != 0;
}

/* Skips the bytes that are copied as they are, 8 at a time while it can. */
static inline const char *
skip_plain (const char *p,
            const char *end)
{
  guint64 w;

  while (end - p >= 8)
    {
      memcpy (&w, p, sizeof w);
      if (word_needs_care (w))
        break;
      p += 8;
    }
  while (p < end && byte_class[(guchar) *p] == PLAIN)
    p++;
  return p;
}

/* Copies runs of bytes that need nothing in one go. */
static gboolean
append_string (GString     *out,
               const char  *s,
               size_t       len,
               GError     **error)
{
  const char *end = s + len;
  const char *run = s;     /* first byte not copied yet */
  const char *p = s;

  out_reserve (out, len + 2);
  out_char (out, '"');
  while ((p = skip_plain (p, end)) < end)
    {
      if (byte_class[(guchar) *p] == MULTIBYTE)
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
      out_bytes (out, run, p - run);
      append_escape (out, (guchar) *p);
      run = ++p;
    }
  out_bytes (out, run, p - run);
  out_char (out, '"');
  return TRUE;
}

/* Numbers */

static void
append_integer (GString     *out,
                lua_Integer  i)
{
  char buf[24];
  char *p = buf + sizeof buf;
  /* Unsigned, so that the most negative integer negates too. */
  lua_Unsigned u = i < 0 ? 0 - (lua_Unsigned) i : (lua_Unsigned) i;

  do
    *--p = (char) ('0' + u % 10);
  while ((u /= 10) != 0);
  if (i < 0)
    *--p = '-';
  out_bytes (out, p, buf + sizeof buf - p);
}

/* Writes d as "%.15g" would, plus the ".0" of an integral value, when d is
 * m / 10^j for an integer |m| < 10^15 and 1e-4 <= |d| < 1e15 (or d is 0):
 * then that decimal is the correctly rounded 15-digit form of d, printed
 * without an exponent, and it reads back as d. FALSE for anything else. */
static gboolean
append_short_decimal (GString *out,
                      double   d)
{
  static const double powers[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
  };
  double a = fabs (d);
  gint64 m = 0;
  guint j;
  char buf[40];
  char *p = buf + sizeof buf;

  /* The check below needs divisions rounded once, to double. */
#if FLT_EVAL_METHOD != 0
  return FALSE;
#endif
  if (a != 0 && !(a >= 1e-4 && a < 1e15))
    return FALSE;
  for (j = 0; a != 0; j++)
    {
      double scaled;

      if (j == G_N_ELEMENTS (powers))
        return FALSE;
      scaled = a * powers[j];
      if (scaled >= 1e15)
        return FALSE;
      m = (gint64) scaled;
      /* The multiplication may round; the division is the exact test. */
      if ((double) m == scaled && (double) m / powers[j] == a)
        break;
    }
  while (j > 0 && m % 10 == 0)
    {
      m /= 10;
      j--;
    }

  /* Digits from the right, with the point j digits in. */
  if (j == 0)
    {
      *--p = '0';
      *--p = '.';
    }
  for (guint k = 0; m != 0 || k <= j; k++)
    {
      if (k == j && j > 0)
        *--p = '.';
      *--p = (char) ('0' + m % 10);
      m /= 10;
    }
  if (signbit (d))
    *--p = '-';
  out_bytes (out, p, buf + sizeof buf - p);
  return TRUE;
}

static void
append_double (GString *out,
               double   d)
{
  static const char *formats[] = { "%.15g", "%.16g", "%.17g" };
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (append_short_decimal (out, d))
    return;

  /* Shortest exact form: %.17g alone turns 0.1 into 0.10000000000000001. */
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_ascii_formatd (buf, sizeof buf, formats[i], d);
      if (g_ascii_strtod (buf, NULL) == d)
        break;
    }
  out_bytes (out, buf, strlen (buf));
  /* Keep it a float on the way back: 1.0 must not come back as integer 1. */
  if (strpbrk (buf, ".eE") == NULL)
    out_literal (out, ".0");
}

/* Collected entries */

/* Slot k of entries as a stack index, pushed first from the scratch table
 * if there is one (drop_slot() pops it again). */
static inline int
slot_index (lua_State     *L,
            const Entries *e,
            int            k)
{
  if (e->scratch == 0)
    return e->base + k;
  lua_rawgeti (L, e->scratch, k);
  return lua_gettop (L);
}

static inline void
drop_slot (lua_State     *L,
           const Entries *e)
{
  if (e->scratch != 0)
    lua_pop (L, 1);
}

static void
note_key (lua_State *L,
          Entries   *e)
{
  int type = lua_type (L, -2);
  lua_Integer key = 0;

  /* Exact: a float key is never integral (Lua stores those as integers). */
  if (type == LUA_TNUMBER)
    key = lua_tointegerx (L, -2, NULL);
  else if (type != LUA_TSTRING && e->bad_key == LUA_TNONE)
    e->bad_key = type;

  e->count++;
  if (key >= 1)
    e->max = MAX (e->max, key);
  else
    e->sequence = FALSE;
  if (key != e->count)
    e->in_order = FALSE;
}

/* One lua_next pass: classifies the keys and keeps every key and value
 * (see Entries). On the stack, the key copy lua_next continues from is
 * what stays on top. FALSE if the stack cannot hold them all. */
static gboolean
collect_entries (lua_State *L,
                 int        idx,
                 Entries   *e)
{
  e->count = 0;
  e->max = 0;
  e->sequence = TRUE;
  e->in_order = TRUE;
  e->bad_key = LUA_TNONE;

  lua_pushnil (L);
  while (lua_next (L, idx))
    {
      lua_Integer i = e->count;

      note_key (L, e);
      if (e->scratch != 0)
        {
          lua_rawseti (L, e->scratch, 2 * i + 2);
          lua_pushvalue (L, -1);
          lua_rawseti (L, e->scratch, 2 * i + 1);
          continue;
        }
      if (i > 0 && i % STACK_BATCH == 0 && !lua_checkstack (L, STACK_ROOM))
        {
          lua_settop (L, e->base);
          return FALSE;
        }
      lua_pushvalue (L, -2);
    }
  return TRUE;
}

/* Entries on the stack where it has room, else in a scratch table (a table
 * with hundreds of thousands of keys). */
static void
collect (lua_State *L,
         int        idx,
         int        top,
         Entries   *e)
{
  e->base = top;
  e->scratch = 0;
  if (collect_entries (L, idx, e))
    return;

  lua_newtable (L);
  e->base = lua_gettop (L);
  e->scratch = e->base;
  collect_entries (L, idx, e);
}

/* Objects */

static inline int
compare_members (const Member *a,
                 const Member *b)
{
  int cmp;

  /* Most keys differ in their first 8 bytes: no memcmp, no cache miss. */
  if (a->prefix != b->prefix)
    return a->prefix < b->prefix ? -1 : 1;
  cmp = memcmp (a->name, b->name, MIN (a->len, b->len));
  if (cmp != 0)
    return cmp;
  return (a->len > b->len) - (a->len < b->len);
}

static int
compare_members_qsort (const void *a,
                       const void *b)
{
  return compare_members (a, b);
}

static void
sort_members (Member *members,
              gsize   n)
{
  if (n > INSERTION_SORT_MAX)
    {
      qsort (members, n, sizeof (Member), compare_members_qsort);
      return;
    }
  for (gsize i = 1; i < n; i++)
    {
      Member m = members[i];
      gsize k = i;

      for (; k > 0 && compare_members (&members[k - 1], &m) > 0; k--)
        members[k] = members[k - 1];
      members[k] = m;
    }
}

static int
members_box_gc (lua_State *L)
{
  Member **box = luaL_checkudata (L, 1, MEMBERS_METATABLE);

  g_clear_pointer (box, g_free);
  return 0;
}

/* Room for n more members; the array may move, so callers index it anew
 * after encoding a value. */
static Member *
reserve_members (Encoder *enc,
                 gsize    n)
{
  if (enc->n_members + n > enc->members_size)
    {
      enc->members_size = MAX (enc->n_members + n, 2 * enc->members_size);
      enc->members_size = MAX (enc->members_size, 64);
      *enc->members = g_renew (Member, *enc->members, enc->members_size);
    }
  return *enc->members + enc->n_members;
}

/* Zero-padding sorts "ab" before "ab\0" and "abc" as memcmp does; equal
 * prefixes are left to memcmp. */
static inline guint64
name_prefix (const char *name,
             size_t      len)
{
  guint64 prefix = 0;

  memcpy (&prefix, name, MIN (len, sizeof prefix));
  return GUINT64_FROM_BE (prefix);
}

/* Fills members with the names, turning number keys into their string form
 * where they lie: lua_next is done with those copies. */
static void
name_members (Encoder *enc,
              Entries *e,
              Member  *members)
{
  lua_State *L = enc->L;

  for (lua_Integer i = 0; i < e->count; i++)
    {
      int key = slot_index (L, e, (int) (2 * i + 1));

      members[i].name = lua_tolstring (L, key, &members[i].len);
      members[i].prefix = name_prefix (members[i].name, members[i].len);
      members[i].slot = (int) (2 * i + 2);
      if (e->scratch != 0)
        {
          /* The scratch table holds the string form from now on. */
          lua_rawseti (L, e->scratch, (int) (2 * i + 1));
        }
    }
}

static gboolean
encode_object (Encoder   *enc,
               Entries   *e,
               GError   **error)
{
  lua_State *L = enc->L;
  gsize first = enc->n_members;
  gsize n = (gsize) e->count;
  gboolean ok = TRUE;

  if (e->bad_key != LUA_TNONE)
    {
      g_set_error (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_KEY,
                   "json.encode: cannot use a %s as an object key",
                   lua_typename (L, e->bad_key));
      return FALSE;
    }

  name_members (enc, e, reserve_members (enc, n));
  sort_members (*enc->members + first, n);
  enc->n_members += n;

  out_char (enc->out, '{');
  for (gsize i = 0; i < n && ok; i++)
    {
      /* A copy: nested objects may move the array. */
      Member m = (*enc->members)[first + i];
      int value;

      if (i > 0)
        {
          if (compare_members (&(*enc->members)[first + i - 1], &m) == 0)
            {
              g_set_error (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_KEY,
                           "json.encode: duplicate object key \"%s\"", m.name);
              ok = FALSE;
              break;
            }
          out_char (enc->out, ',');
        }
      append_newline (enc, enc->depth);
      if (!append_string (enc->out, m.name, m.len, error))
        {
          ok = FALSE;
          break;
        }
      if (enc->indent > 0)
        out_literal (enc->out, ": ");
      else
        out_char (enc->out, ':');

      value = slot_index (L, e, m.slot);
      ok = encode_value (enc, value, error);
      drop_slot (L, e);
    }
  if (ok)
    {
      if (n > 0)
        append_newline (enc, enc->depth - 1);
      out_char (enc->out, '}');
    }

  enc->n_members = first;
  return ok;
}

/* Arrays */

/* t[1] .. t[n]; from the collected values when they came in that order. */
static gboolean
encode_array (Encoder     *enc,
              int          idx,
              Entries     *e,
              lua_Integer  n,
              GError     **error)
{
  lua_State *L = enc->L;
  gboolean collected = e->in_order && e->scratch == 0 && n == e->count;

  out_char (enc->out, '[');
  for (lua_Integer i = 1; i <= n; i++)
    {
      gboolean ok;

      if (i > 1)
        out_char (enc->out, ',');
      append_newline (enc, enc->depth);
      if (collected)
        ok = encode_value (enc, e->base + 2 * (int) i, error);
      else
        {
          lua_rawgeti (L, idx, i);
          ok = encode_value (enc, lua_gettop (L), error);
          lua_pop (L, 1);
        }
      if (!ok)
        return FALSE;
    }
  if (n > 0)
    append_newline (enc, enc->depth - 1);
  out_char (enc->out, ']');
  return TRUE;
}

/* Tables */

static gboolean
check_table (Encoder     *enc,
             const void  *table,
             GError     **error)
{
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
  /* Room for the first STACK_BATCH entries too. */
  if (!lua_checkstack (enc->L, STACK_ROOM))
    {
      g_set_error_literal (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_DEPTH,
                           "json.encode: out of Lua stack space");
      return FALSE;
    }
  return TRUE;
}

/* Not inlined into encode_value(): its frame would weigh on every scalar. */
static G_GNUC_NO_INLINE gboolean
encode_table (Encoder  *enc,
              int       idx,
              GError  **error)
{
  lua_State *L = enc->L;
  const void *table = lua_topointer (L, idx);
  int top = lua_gettop (L);
  Entries e;
  gboolean marked;
  gboolean ok;

  if (!check_table (enc, table, error))
    return FALSE;

  /* The answer stays on the stack: lua_settop() below drops it. */
  lua_pushvalue (L, idx);
  marked = lua_rawget (L, enc->marks_idx) != LUA_TNIL;

  collect (L, idx, top + 1, &e);

  enc->path[enc->depth++] = table;
  if (marked && !e.sequence)
    {
      g_set_error_literal (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_KEY,
                           "json.encode: a table marked by json.array has a key "
                           "that is not a positive integer");
      ok = FALSE;
    }
  else if (marked)
    ok = encode_array (enc, idx, &e, e.max, error);
  else if (e.sequence && e.count > 0 && e.max == e.count)
    ok = encode_array (enc, idx, &e, e.count, error);
  else
    ok = encode_object (enc, &e, error);
  enc->depth--;

  lua_settop (L, top);
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
      out_literal (enc->out, "null");
      return TRUE;

    case LUA_TBOOLEAN:
      if (lua_toboolean (L, idx))
        out_literal (enc->out, "true");
      else
        out_literal (enc->out, "false");
      return TRUE;

    case LUA_TNUMBER:
      if (lua_isinteger (L, idx))
        {
          append_integer (enc->out, lua_tointeger (L, idx));
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
          out_literal (enc->out, "null");
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
 * found it. The text and the members array are boxed meanwhile: Lua can
 * raise (out of memory) and the boxes' __gc then frees them. */
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
  enc.members = (Member **) plua_json_push_box (L, MEMBERS_METATABLE, members_box_gc);
  enc.n_members = 0;
  enc.members_size = 0;
  box = (GString **) plua_json_push_box (L, STRING_METATABLE, plua_json_string_box_gc);
  enc.out = *box = g_string_sized_new (1024);

  ok = encode_value (&enc, idx, error);
  out = g_steal_pointer (box);
  out->str[out->len] = '\0';
  g_clear_pointer (enc.members, g_free);
  lua_settop (L, top);
  if (!ok)
    {
      g_string_free (out, TRUE);
      return NULL;
    }
  return out;
}
