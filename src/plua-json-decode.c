/* plua-json-decode.c: JSON text to Lua values in one pass of the scanner
 * (plua-json-scan.c; rules in plua-json.c), and JsonNode trees to Lua. */
#include "config.h"

#include <string.h>

#include "plua-json-private.h"
#include "plua-json-scan.h"

/* Text to Lua: a sink for plua_json_scan. Each value is pushed, then put in
 * the open container below it (a key pushed before it for objects). */

/* Tables are made at the size the last container in the same place had
 * (the same member name at the same depth, or the elements of the same
 * array): a list of devices then builds each table without growing it, as
 * the json-glib tree, which knew every size, did. */
#define N_HINTS 256

typedef struct
{
  guintptr where;
  guint    depth;
  int      size;
} SizeHint;

typedef struct
{
  lua_State   *L;
  gboolean     use_null;
  int          null_idx;
  int          marks_idx;
  guint        depth;
  /* Per open container: the next array index, or 0 for an object. */
  lua_Integer  next[PLUA_JSON_MAX_DEPTH + 1];
  int          members[PLUA_JSON_MAX_DEPTH + 1];  /* of an object so far */
  guintptr     where[PLUA_JSON_MAX_DEPTH + 1];    /* its SizeHint key */
  gboolean     holes[PLUA_JSON_MAX_DEPTH + 1];    /* an array with a null in it */
  SizeHint     hints[N_HINTS];
} LuaSink;

static inline void
place (LuaSink *k)
{
  lua_Integer *next = &k->next[k->depth];

  if (k->depth == 0)
    return;
  if (*next > 0)
    lua_rawseti (k->L, -2, (*next)++);
  else
    {
      lua_rawset (k->L, -3);
      k->members[k->depth]++;
    }
}

static SizeHint *
find_hint (LuaSink  *k,
           guintptr  where,
           guint     depth)
{
  return &k->hints[((where >> 4) ^ (where >> 12) ^ (depth * 0x9E3779B1u)) % N_HINTS];
}

static void
lua_begin (gpointer user_data,
           gboolean array)
{
  LuaSink *k = user_data;
  guint parent = k->depth;
  guintptr where;
  SizeHint *hint;
  int size;

  /* Where: the interned member name, or the array (one past its key). */
  if (parent == 0)
    where = 0;
  else if (k->next[parent] > 0)
    where = k->where[parent] + 1;
  else
    where = (guintptr) lua_topointer (k->L, -1);
  hint = find_hint (k, where, parent + 1);
  size = hint->where == where && hint->depth == parent + 1 ? hint->size : 0;

  /* A table and a key per level. */
  luaL_checkstack (k->L, 4, "json.decode");
  lua_createtable (k->L, array ? size : 0, array ? 0 : size);
  k->depth = parent + 1;
  k->next[k->depth] = array ? 1 : 0;
  k->members[k->depth] = 0;
  k->where[k->depth] = where;
  k->holes[k->depth] = FALSE;
}

/* The array on top again, sized for all n slots from the start: what `#`
 * answers for an array with holes depends on that, and decoded arrays have
 * always been made that way. */
static void
relayout_holes (lua_State   *L,
                lua_Integer  n)
{
  lua_createtable (L, (int) MIN (n, G_MAXINT), 0);
  for (lua_Integer i = 1; i <= n; i++)
    {
      if (lua_rawgeti (L, -2, i) == LUA_TNIL)
        lua_pop (L, 1);
      else
        lua_rawseti (L, -2, i);
    }
  lua_replace (L, -2);
}

static void
lua_end (gpointer user_data,
         gboolean array)
{
  LuaSink *k = user_data;

  SizeHint *hint = find_hint (k, k->where[k->depth], k->depth);

  hint->where = k->where[k->depth];
  hint->depth = k->depth;
  hint->size = array ? (int) MIN (k->next[k->depth] - 1, 1 << 20) : k->members[k->depth];
  if (array)
    {
      if (k->holes[k->depth])
        relayout_holes (k->L, k->next[k->depth] - 1);
      /* Marked, so [] and holes come back out as they went in. */
      lua_pushvalue (k->L, -1);
      lua_pushboolean (k->L, TRUE);
      lua_rawset (k->L, k->marks_idx);
    }
  k->depth--;
  place (k);
}

static void
lua_key (gpointer    user_data,
         const char *s,
         gsize       len)
{
  LuaSink *k = user_data;

  lua_pushlstring (k->L, s, len);
}

static void
lua_string (gpointer    user_data,
            const char *s,
            gsize       len)
{
  LuaSink *k = user_data;

  lua_pushlstring (k->L, s, len);
  place (k);
}

static void
lua_integer (gpointer user_data,
             gint64   value)
{
  LuaSink *k = user_data;

  lua_pushinteger (k->L, value);
  place (k);
}

static void
lua_number (gpointer user_data,
            double   value)
{
  LuaSink *k = user_data;

  lua_pushnumber (k->L, value);
  place (k);
}

static void
lua_boolean (gpointer user_data,
             gboolean value)
{
  LuaSink *k = user_data;

  lua_pushboolean (k->L, value);
  place (k);
}

/* nil leaves a hole in an array and no member in an object. */
static void
lua_null (gpointer user_data)
{
  LuaSink *k = user_data;

  if (k->use_null)
    {
      lua_pushvalue (k->L, k->null_idx);
      place (k);
    }
  else if (k->depth == 0)
    lua_pushnil (k->L);
  else if (k->next[k->depth] > 0)
    {
      k->next[k->depth]++;
      k->holes[k->depth] = TRUE;
    }
  else
    lua_pop (k->L, 1);    /* the key */
}

static const PluaJsonSink lua_sink = {
  lua_begin, lua_end, lua_key, lua_string,
  lua_integer, lua_number, lua_boolean, lua_null,
};

static const char scratch_key = 's';

/* The scratch string for unescaped text, one per Lua state and kept between
 * calls: a box with a finalizer made on every call would make Lua's
 * collector lag (see WAITING_REQUEST_MT in plua-http-server.c). */
static GString *
get_scratch (lua_State *L)
{
  GString **box;

  if (lua_rawgetp (L, LUA_REGISTRYINDEX, &scratch_key) == LUA_TNIL)
    {
      lua_pop (L, 1);
      box = (GString **) plua_json_push_box (L, STRING_METATABLE, plua_json_string_box_gc);
      *box = g_string_sized_new (256);
      lua_pushvalue (L, -1);
      lua_rawsetp (L, LUA_REGISTRYINDEX, &scratch_key);
    }
  box = lua_touserdata (L, -1);
  lua_pop (L, 1);
  return *box;
}

gboolean
plua_json_decode_push (lua_State   *L,
                       const char  *data,
                       gsize        len,
                       gboolean     use_null,
                       GError     **error)
{
  /* On the C stack: a Lua error raised while pushing loses nothing. */
  LuaSink k;
  GString *scratch;
  int base = lua_gettop (L);
  gboolean ok;

  luaL_checkstack (L, 8, "json.decode");
  scratch = get_scratch (L);
  plua_json_push_null (L);
  plua_json_push_marks (L);
  k.L = L;
  k.use_null = use_null;
  k.null_idx = base + 1;
  k.marks_idx = base + 2;
  k.depth = 0;
  k.next[0] = 0;
  memset (k.hints, 0, sizeof k.hints);

  ok = plua_json_scan (data, len, PLUA_JSON_MAX_DEPTH, &lua_sink, &k, scratch, error);
  if (scratch->allocated_len > 64 * 1024)
    {
      /* A huge string once is no reason to keep its memory. */
      g_free (scratch->str);
      scratch->str = g_malloc (256);
      scratch->allocated_len = 256;
    }
  g_string_truncate (scratch, 0);
  if (!ok)
    {
      g_prefix_error (error, "json.decode: ");
      lua_settop (L, base);
      return FALSE;
    }
  lua_replace (L, base + 1);
  lua_settop (L, base + 1);
  return TRUE;
}

/* JsonNode trees to Lua, for C code that has one. */

typedef struct
{
  lua_State *L;
  gboolean   use_null;
  int        null_idx;
  int        marks_idx;
} Pusher;

static void
push_node (Pusher   *pusher,
           JsonNode *node,
           guint     depth)
{
  lua_State *L = pusher->L;

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
          lua_pushstring (L, json_node_get_string (node));
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
            lua_pushstring (L, name);
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
                     gboolean   use_null)
{
  Pusher pusher = { L, use_null, 0, 0 };
  int base = lua_gettop (L);

  luaL_checkstack (L, 4, "json.decode");
  plua_json_push_null (L);
  pusher.null_idx = base + 1;
  plua_json_push_marks (L);
  pusher.marks_idx = base + 2;

  push_node (&pusher, node, 0);
  lua_replace (L, base + 1);
  lua_settop (L, base + 1);
}
