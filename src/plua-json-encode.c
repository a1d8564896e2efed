/* plua-json-encode.c: Lua values to JSON text (rules in plua-json.c).
 *
 * Written for speed as well as the rules (GET /api/devices encodes a whole
 * device list per request): each table is walked once with lua_next, its
 * keys and values left on the Lua stack, where they stay anchored while the
 * object's keys are sorted as a C array; text is copied straight into the
 * GString; integers and the common short decimals avoid printf.
 *
 * Objects built alike (a list of devices) share a "shape": the same names
 * met in the same lua_next order. The sorted order and escaped text of a
 * shape's names are kept per lua_State (see ShapeCache), so such an object
 * costs one lua_next and one pointer comparison per key, no sorting.
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

/* Shapes: objects of at most SHAPE_MAX_KEYS names of at most SHAPE_NAME_MAX
 * bytes (Lua's short strings: interned, so one object per name and the
 * pointer identifies it). SHAPE_MAX shapes in SHAPE_SLOTS (a power of two,
 * at most half full), then a new cache starts. */
#define SHAPE_MAX_KEYS 64
#define SHAPE_NAME_MAX 40
#define SHAPE_MAX      256
#define SHAPE_BITS     9
#define SHAPE_SLOTS    (1 << SHAPE_BITS)
#define NAME_COPY      32
#define SEEN_SLOTS     1024

/* The sorted order of an object's names, found from their identities (the
 * lua_topointer of each key, in lua_next order). */
typedef struct
{
  guint64      hash;
  guint        n;
  const void **keys;       /* n identities, in lua_next order */
  guint8      *order;      /* sorted position -> lua_next position */
  guint16     *text_at;    /* n + 1 offsets in text: the names in sorted order */
  char        *text;       /* each name quoted and escaped, as in the output */
} Shape;

/* One per lua_State, in a userdata in the registry. Its user value, a set,
 * holds what the shapes point to: the key strings, so that a pointer seen
 * again is the same string, never a new one at a freed address, and the
 * shapes themselves (userdata too: Lua frees it all, even a cache made by a
 * finalizer while the state closes). A full cache is not emptied but
 * replaced: an encode still walking with the old one (a __gc that encodes,
 * run by the GC in the middle of another encode) keeps it alive on its
 * stack. */
typedef struct
{
  Shape   *slots[SHAPE_SLOTS];
  guint    n_shapes;
  gsize    size_hint;      /* the last text's length: where the next one starts */
  guint64  seen[SEEN_SLOTS];   /* hashes of shapes met once (learnt when met again) */
} ShapeCache;

static const char shapes_key = 's';

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
  ShapeCache *shapes;
  int         shapes_idx;
  int         room_top;    /* the stack has room up to this index (lua_checkstack) */
  const void *keys[SHAPE_MAX_KEYS];        /* identities of the table just collected */
  const void *path[PLUA_JSON_MAX_DEPTH];   /* open tables: meeting one again is a cycle */
} Encoder;

/* A table's entries as collected by collect_entries(): entry i (from 0) has
 * its key at slot 2i+1 and its value at slot 2i+2, the slots being stack
 * index base + slot, or, for a table too big for the Lua stack, index slot
 * in the scratch table at stack index scratch. The fields from max on are
 * set by classify_entries(). */
typedef struct
{
  int          base;
  int          scratch;    /* 0: entries on the stack */
  lua_Integer  count;
  gboolean     shaped;     /* on the stack, at most SHAPE_MAX_KEYS keys, each with an identity
                            * (Encoder.keys) */
  guint64      hash;       /* of those identities */
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

/* The escape of c, a byte that needs one, into e; its length. */
static inline gsize
escape_byte (guchar c,
             char   e[6])
{
  static const char hex[] = "0123456789abcdef";
  char letter = 0;

  switch (c)
    {
    case '"':  letter = '"'; break;
    case '\\': letter = '\\'; break;
    case '\b': letter = 'b'; break;
    case '\f': letter = 'f'; break;
    case '\n': letter = 'n'; break;
    case '\r': letter = 'r'; break;
    case '\t': letter = 't'; break;
    default:   break;
    }
  e[0] = '\\';
  if (letter != 0)
    {
      e[1] = letter;
      return 2;
    }
  e[1] = 'u';
  e[2] = '0';
  e[3] = '0';
  e[4] = hex[c >> 4];
  e[5] = hex[c & 0xf];
  return 6;
}

static void
append_escape (GString *out,
               guchar   c)
{
  char e[6];

  out_bytes (out, e, escape_byte (c, e));
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
  static const char pairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";
  char buf[24];
  char *p = buf + sizeof buf;
  /* Unsigned, so that the most negative integer negates too. */
  lua_Unsigned u = i < 0 ? 0 - (lua_Unsigned) i : (lua_Unsigned) i;

  /* Two digits per division: half the chain of dependent multiplies. */
  while (u >= 100)
    {
      guint d = (guint) (u % 100) * 2;

      u /= 100;
      p -= 2;
      p[0] = pairs[d];
      p[1] = pairs[d + 1];
    }
  if (u >= 10)
    {
      p -= 2;
      p[0] = pairs[u * 2];
      p[1] = pairs[u * 2 + 1];
    }
  else
    *--p = (char) ('0' + u);
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
classify_init (Entries *e)
{
  e->max = 0;
  e->sequence = TRUE;
  e->in_order = TRUE;
  e->bad_key = LUA_TNONE;
}

/* The key at stack index key is the position-th met (from 1). */
static void
note_key (lua_State   *L,
          int          key,
          lua_Integer  position,
          Entries     *e)
{
  int type = lua_type (L, key);
  lua_Integer i = 0;

  /* Exact: a float key is never integral (Lua stores those as integers). */
  if (type == LUA_TNUMBER)
    i = lua_tointegerx (L, key, NULL);
  else if (type != LUA_TSTRING && e->bad_key == LUA_TNONE)
    e->bad_key = type;

  if (i >= 1)
    e->max = MAX (e->max, i);
  else
    e->sequence = FALSE;
  if (i != position)
    e->in_order = FALSE;
}

/* Classifies collected keys on the stack (the scratch table's are as they
 * come): not needed for an object whose shape is known. */
static void
classify_entries (lua_State *L,
                  Entries   *e)
{
  if (e->scratch != 0)
    return;
  classify_init (e);
  for (lua_Integer i = 0; i < e->count; i++)
    note_key (L, e->base + 2 * (int) i + 1, i + 1, e);
}

static inline guint64
shape_mix (guint64     hash,
           const void *key)
{
  return (hash ^ (guint64) (guintptr) key) * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
}

/* Notes the identity of the key at the top but one, while it may still be
 * a shape. A number key has none (NULL): its string form is made later. */
static inline void
note_identity (Encoder     *enc,
               Entries     *e,
               lua_Integer  i)
{
  const void *key;

  if (i >= SHAPE_MAX_KEYS || (key = lua_topointer (enc->L, -2)) == NULL)
    {
      e->shaped = FALSE;
      return;
    }
  enc->keys[i] = key;
  e->hash = shape_mix (e->hash, key);
}

/* One lua_next pass keeping every key and value (see Entries). On the
 * stack, the key copy lua_next continues from is what stays on top. FALSE
 * if the stack cannot hold them all. */
static gboolean
collect_entries (Encoder *enc,
                 int      idx,
                 Entries *e)
{
  lua_State *L = enc->L;

  e->count = 0;
  e->shaped = e->scratch == 0;
  e->hash = 0;
  classify_init (e);

  lua_pushnil (L);
  while (lua_next (L, idx))
    {
      lua_Integer i = e->count++;

      if (e->scratch != 0)
        {
          note_key (L, -2, i + 1, e);
          lua_rawseti (L, e->scratch, 2 * i + 2);
          lua_pushvalue (L, -1);
          lua_rawseti (L, e->scratch, 2 * i + 1);
          continue;
        }
      if (e->shaped)
        note_identity (enc, e, i);
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
collect (Encoder *enc,
         int      idx,
         int      top,
         Entries *e)
{
  lua_State *L = enc->L;

  e->base = top;
  e->scratch = 0;
  if (collect_entries (enc, idx, e))
    return;

  lua_newtable (L);
  e->base = lua_gettop (L);
  e->scratch = e->base;
  collect_entries (enc, idx, e);
}

/* Shapes */

/* Pushes the lua_State's cache, a new one if there is none or it is full. */
static ShapeCache *
push_shape_cache (lua_State *L)
{
  ShapeCache *cache;
  gsize size_hint = 0;

  if (lua_rawgetp (L, LUA_REGISTRYINDEX, &shapes_key) == LUA_TUSERDATA)
    {
      cache = lua_touserdata (L, -1);
      if (cache->n_shapes < SHAPE_MAX)
        return cache;
      size_hint = cache->size_hint;
    }
  lua_pop (L, 1);

  cache = lua_newuserdatauv (L, sizeof *cache, 1);
  memset (cache, 0, sizeof *cache);
  cache->size_hint = size_hint;
  lua_newtable (L);
  lua_setiuservalue (L, -2, 1);
  lua_pushvalue (L, -1);
  lua_rawsetp (L, LUA_REGISTRYINDEX, &shapes_key);
  return cache;
}

static inline guint
shape_slot (guint64 hash)
{
  return (guint) (hash >> (64 - SHAPE_BITS));
}

/* The shape of the entries just collected, or NULL. */
static const Shape *
shape_find (const Encoder *enc,
            const Entries *e)
{
  const ShapeCache *cache = enc->shapes;
  guint n = (guint) e->count;

  for (guint i = shape_slot (e->hash); cache->slots[i] != NULL; i = (i + 1) % SHAPE_SLOTS)
    {
      const Shape *shape = cache->slots[i];

      if (shape->hash == e->hash && shape->n == n &&
          memcmp (shape->keys, enc->keys, n * sizeof enc->keys[0]) == 0)
        return shape;
    }
  return NULL;
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
 * prefixes are left to memcmp. Byte by byte below 8: a short memcpy into
 * the word would stall the load that follows it. */
static inline guint64
name_prefix (const char *name,
             size_t      len)
{
  guint64 prefix = 0;

  if (len >= sizeof prefix)
    {
      memcpy (&prefix, name, sizeof prefix);
      return GUINT64_FROM_BE (prefix);
    }
  for (size_t i = 0; i < len; i++)
    prefix |= (guint64) (guchar) name[i] << (56 - 8 * i);
  return prefix;
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

/* Writes name quoted and escaped as append_string() does, at p unless
 * NULL; returns its length. The name is valid UTF-8: only ESCAPE bytes
 * change. */
static gsize
write_name (char       *p,
            const char *name,
            gsize       len)
{
  gsize n = 0;
  char e[6];

  if (p != NULL)
    p[n] = '"';
  n++;
  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar) name[i];
      gsize k = 1;

      if (byte_class[c] == ESCAPE)
        k = escape_byte (c, e);
      if (p != NULL)
        memcpy (p + n, k == 1 ? (const char *) &c : e, k);
      n += k;
    }
  if (p != NULL)
    p[n] = '"';
  return n + 1;
}

/* Remembers the shape of an object (all keys strings) from its members,
 * sorted. Everything is Lua memory, anchored in the cache's set; nothing
 * is left to free if an allocation raises (out of memory). */
static void
shape_remember (Encoder       *enc,
                const Entries *e,
                const Member  *members)
{
  lua_State *L = enc->L;
  ShapeCache *cache = enc->shapes;
  guint n = (guint) e->count;
  gsize keys_size = n * sizeof (const void *);
  gsize at_size = (n + 1) * sizeof (guint16);
  gsize text_len = 0;
  Shape *shape;
  guint64 *seen;
  char *text;
  guint slot;

  if (e->bad_key != LUA_TNONE || cache->n_shapes >= SHAPE_MAX)
    return;
  /* Learnt the second time only: objects of names met once (a map keyed by
   * ids) would pay for learning and never gain. */
  seen = &cache->seen[(e->hash >> 32) % SEEN_SLOTS];
  if (*seen != e->hash)
    {
      *seen = e->hash;
      return;
    }
  for (guint i = 0; i < n; i++)
    {
      /* Invalid UTF-8 is the encode's error to raise, not a shape. */
      if (members[i].len > SHAPE_NAME_MAX || !g_utf8_validate_len (members[i].name, members[i].len, NULL))
        return;
      text_len += write_name (NULL, members[i].name, members[i].len);
    }

  lua_getiuservalue (L, enc->shapes_idx, 1);
  for (guint i = 0; i < n; i++)
    {
      lua_pushvalue (L, e->base + members[i].slot - 1);
      lua_pushboolean (L, TRUE);
      lua_rawset (L, -3);
    }
  shape = lua_newuserdatauv (L, sizeof *shape + keys_size + at_size + n + text_len + NAME_COPY, 0);
  lua_pushboolean (L, TRUE);
  lua_rawset (L, -3);
  lua_pop (L, 1);

  shape->hash = e->hash;
  shape->n = n;
  shape->keys = (const void **) (shape + 1);
  shape->text_at = (guint16 *) ((char *) shape->keys + keys_size);
  shape->order = (guint8 *) ((char *) shape->text_at + at_size);
  shape->text = text = (char *) shape->order + n;
  memcpy (shape->keys, enc->keys, keys_size);
  for (guint i = 0; i < n; i++)
    {
      shape->order[i] = (guint8) ((members[i].slot - 2) / 2);
      shape->text_at[i] = (guint16) (text - shape->text);
      text += write_name (text, members[i].name, members[i].len);
    }
  shape->text_at[n] = (guint16) text_len;
  memset (text, 0, NAME_COPY);   /* what out_name() reads past the end */

  /* A finalizer run by the GC meanwhile may have encoded (and filled it). */
  if (cache->n_shapes >= SHAPE_MAX)
    return;
  for (slot = shape_slot (shape->hash); cache->slots[slot] != NULL; slot = (slot + 1) % SHAPE_SLOTS)
    ;
  cache->slots[slot] = shape;
  cache->n_shapes++;
}

/* A shape's name: most are copied as one fixed-size block (inlined, no
 * call), the shape's text having NAME_COPY bytes of room after its end. */
static inline void
out_name (GString    *out,
          const char *name,
          gsize       n)
{
  if (n > NAME_COPY)
    {
      out_bytes (out, name, n);
      return;
    }
  memcpy (out_reserve (out, NAME_COPY), name, NAME_COPY);
  out->len += n;
}

/* An object of a known shape: its names are strings, distinct, valid
 * UTF-8, and their text and order are the shape's. */
static gboolean
encode_shaped_object (Encoder      *enc,
                      Entries      *e,
                      const Shape  *shape,
                      GError      **error)
{
  out_char (enc->out, '{');
  for (guint i = 0; i < shape->n; i++)
    {
      guint at = shape->text_at[i];

      if (i > 0)
        out_char (enc->out, ',');
      append_newline (enc, enc->depth);
      out_name (enc->out, shape->text + at, shape->text_at[i + 1] - at);
      if (enc->indent > 0)
        out_literal (enc->out, ": ");
      else
        out_char (enc->out, ':');
      if (!encode_value (enc, e->base + 2 * shape->order[i] + 2, error))
        return FALSE;
    }
  append_newline (enc, enc->depth - 1);
  out_char (enc->out, '}');
  return TRUE;
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
  if (e->shaped)
    shape_remember (enc, e, *enc->members + first);

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
             int          top,
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
  /* Room for the first STACK_BATCH entries too. Asked for only when what
   * was granted before (and stays: the frame's top is raised) runs out. */
  if (top + STACK_ROOM > enc->room_top)
    {
      if (!lua_checkstack (enc->L, STACK_ROOM))
        {
          g_set_error_literal (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_DEPTH,
                               "json.encode: out of Lua stack space");
          return FALSE;
        }
      enc->room_top = top + STACK_ROOM;
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
  const Shape *shape;
  gboolean marked;
  gboolean ok;

  if (!check_table (enc, table, top, error))
    return FALSE;

  /* The answer stays on the stack: lua_settop() below drops it. */
  lua_pushvalue (L, idx);
  marked = lua_rawget (L, enc->marks_idx) != LUA_TNIL;

  collect (enc, idx, top + 1, &e);

  enc->path[enc->depth++] = table;
  if (!marked && e.shaped && e.count > 0 && (shape = shape_find (enc, &e)) != NULL)
    {
      ok = encode_shaped_object (enc, &e, shape, error);
      enc->depth--;
      lua_settop (L, top);
      return ok;
    }
  e.shaped = e.shaped && !marked && e.count > 0;
  classify_entries (L, &e);
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
      /* An object that says what it is in JSON: its __tojson returns a plain
       * value (net.HTTPServer's request encodes as its headers table). */
      if (luaL_getmetafield (L, idx, "__tojson") != LUA_TNIL)
        {
          gboolean ok;

          lua_pushvalue (L, idx);
          lua_call (L, 1, 1);
          if (lua_type (L, -1) == LUA_TUSERDATA)
            {
              lua_pop (L, 1);
              g_set_error (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_TYPE,
                           "json.encode: __tojson returned a userdata value");
              return FALSE;
            }
          ok = encode_value (enc, lua_gettop (L), error);
          lua_pop (L, 1);
          return ok;
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
  luaL_checkstack (L, 5, "json.encode");

  enc.L = L;
  enc.indent = indent;
  enc.depth = 0;
  enc.room_top = 0;
  plua_json_push_null (L);
  enc.null_idx = lua_gettop (L);
  plua_json_push_marks (L);
  enc.marks_idx = lua_gettop (L);
  enc.shapes = push_shape_cache (L);
  enc.shapes_idx = lua_gettop (L);
  enc.members = (Member **) plua_json_push_box (L, MEMBERS_METATABLE, members_box_gc);
  enc.n_members = 0;
  enc.members_size = 0;
  box = (GString **) plua_json_push_box (L, STRING_METATABLE, plua_json_string_box_gc);
  /* Sized as the last text was: a list encoded again and again grows no
   * more (at most 1 MiB ahead; trimmed below when far too big). */
  enc.out = *box = g_string_sized_new (CLAMP (enc.shapes->size_hint + 64, 1024, 1024 * 1024));

  ok = encode_value (&enc, idx, error);
  out = g_steal_pointer (box);
  out->str[out->len] = '\0';
  enc.shapes->size_hint = out->len;
  if (out->allocated_len > 4096 && out->allocated_len / 4 > out->len)
    {
      out->str = g_realloc (out->str, out->len + 1);
      out->allocated_len = out->len + 1;
    }
  g_clear_pointer (enc.members, g_free);
  lua_settop (L, top);
  if (!ok)
    {
      g_string_free (out, TRUE);
      return NULL;
    }
  return out;
}
