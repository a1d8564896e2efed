/* test-json.c: the Lua `json` module and the C functions behind it. */
#include "config.h"

#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <stdlib.h>

#include "plua-json.h"
#include "plua-json-scan.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (lua_State, lua_close)

static lua_State *
new_state (void)
{
  lua_State *L = luaL_newstate ();

  luaL_openlibs (L);
  plua_json_open (L);
  lua_pop (L, 1);
  return L;
}

/* Runs a chunk and compares tostring() of its first result with expected. */
static void
check_lua (lua_State  *L,
           const char *chunk,
           const char *expected)
{
  int top = lua_gettop (L);

  if (luaL_dostring (L, chunk) != LUA_OK)
    g_error ("chunk failed: %s\n%s", lua_tostring (L, -1), chunk);
  g_assert_cmpint (lua_gettop (L), >, top);
  luaL_tolstring (L, top + 1, NULL);
  if (g_strcmp0 (lua_tostring (L, -1), expected) != 0)
    g_printerr ("chunk: %s\n", chunk);
  g_assert_cmpstr (lua_tostring (L, -1), ==, expected);
  lua_settop (L, top);
}

/* Pushes the result of a chunk. */
static void
push_lua (lua_State  *L,
          const char *chunk)
{
  if (luaL_dostring (L, chunk) != LUA_OK)
    g_error ("chunk failed: %s\n%s", lua_tostring (L, -1), chunk);
}

/* The error message json.<function> raises for the arguments in args. */
static void
check_error (lua_State  *L,
             const char *call,
             const char *expected)
{
  g_autofree char *chunk =
    g_strdup_printf ("local ok, err = pcall (%s)\n"
                     "assert (not ok, 'no error')\n"
                     "return err", call);

  check_lua (L, chunk, expected);
}

static void
test_encode_array_vs_object (void)
{
  g_autoptr (lua_State) L = new_state ();

  check_lua (L, "return json.encode {1, 2, 3}", "[1,2,3]");
  check_lua (L, "return json.encode {'a', 'b'}", "[\"a\",\"b\"]");
  check_lua (L, "return json.encode {}", "{}");
  check_lua (L, "return json.encode {a = 1}", "{\"a\":1}");
  /* Not exactly 1..n: a hole, a zero, an extra key. */
  check_lua (L, "return json.encode {[1] = 'a', [3] = 'c'}", "{\"1\":\"a\",\"3\":\"c\"}");
  check_lua (L, "return json.encode {[0] = 'z', 'a'}", "{\"0\":\"z\",\"1\":\"a\"}");
  check_lua (L, "return json.encode {1, 2, x = 3}", "{\"1\":1,\"2\":2,\"x\":3}");
  check_lua (L, "return json.encode {[2] = 'b', [1] = 'a'}", "[\"a\",\"b\"]");
}

static void
test_encode_json_array (void)
{
  g_autoptr (lua_State) L = new_state ();

  check_lua (L, "return json.encode (json.array ())", "[]");
  check_lua (L, "return json.encode (json.array {})", "[]");
  check_lua (L, "return json.encode (json.array {1, 2})", "[1,2]");
  check_lua (L, "local t = {} return json.array (t) == t", "true");
  check_lua (L, "return json.encode {list = json.array {}, map = {}}",
             "{\"list\":[],\"map\":{}}");
  /* A marked table keeps its holes as null instead of becoming an object. */
  check_lua (L, "return json.encode (json.array {[1] = 1, [3] = 3})", "[1,null,3]");
  /* Marking does not take the metatable. */
  check_lua (L, "local mt = {} local t = setmetatable ({}, mt) json.array (t)\n"
                "return getmetatable (t) == mt and json.encode (t)", "[]");
  check_error (L, "json.encode, json.array {a = 1}",
               "json.encode: a table marked by json.array has a key that is not a positive integer");
  check_error (L, "json.array, 42",
               "bad argument #1 to 'json.array' (table expected, got number)");
}

static void
test_encode_numbers (void)
{
  g_autoptr (lua_State) L = new_state ();

  check_lua (L, "return json.encode (42)", "42");
  check_lua (L, "return json.encode (-7)", "-7");
  check_lua (L, "return json.encode (math.maxinteger)", "9223372036854775807");
  check_lua (L, "return json.encode (math.mininteger)", "-9223372036854775808");
  check_lua (L, "return json.encode (1.0)", "1.0");
  check_lua (L, "return json.encode (0.1)", "0.1");
  check_lua (L, "return json.encode (-2.5)", "-2.5");
  check_lua (L, "return json.encode (1e300)", "1e+300");
  check_lua (L, "return json.encode (2^53)", "9007199254740992.0");
  check_lua (L, "return json.encode (-0.0)", "-0.0");
  check_lua (L, "return json.encode (1/3)", "0.3333333333333333");

  /* Back through decode with type and value intact. */
  check_lua (L, "local v = json.decode (json.encode (math.maxinteger))\n"
                "return math.type (v) == 'integer' and v == math.maxinteger", "true");
  check_lua (L, "local v = json.decode (json.encode (math.mininteger))\n"
                "return math.type (v) == 'integer' and v == math.mininteger", "true");
  check_lua (L, "local v = json.decode (json.encode (1.0))\n"
                "return math.type (v) .. ' ' .. v", "float 1.0");
  check_lua (L, "local v = json.decode (json.encode (1e300)) return v == 1e300", "true");
  check_lua (L, "local v = json.decode (json.encode (-0.0)) return 1 / v", "-inf");
  check_lua (L, "for i = 1, 1000 do\n"
                "  local x = math.random () * 10 ^ math.random (-300, 300)\n"
                "  if json.decode (json.encode (x)) ~= x then return x end\n"
                "end return 'exact'", "exact");
}

static void
test_encode_keys (void)
{
  g_autoptr (lua_State) L = new_state ();

  check_lua (L, "return json.encode {b = 1, a = 2, c = 3, B = 4}",
             "{\"B\":4,\"a\":2,\"b\":1,\"c\":3}");
  /* Bytewise order, number keys in their Lua string form. */
  check_lua (L, "return json.encode {[10] = 'x', [2] = 'y', [1.5] = 'z', k = 'w'}",
             "{\"1.5\":\"z\",\"10\":\"x\",\"2\":\"y\",\"k\":\"w\"}");
  check_lua (L, "return json.encode {[-1] = true}", "{\"-1\":true}");
  check_error (L, "json.encode, {[true] = 1}",
               "json.encode: cannot use a boolean as an object key");
  check_error (L, "json.encode, {[{}] = 1}",
               "json.encode: cannot use a table as an object key");
  check_error (L, "json.encode, {[1] = 'a', ['1'] = 'b'}",
               "json.encode: duplicate object key \"1\"");
}

static void
test_encode_nested (void)
{
  g_autoptr (lua_State) L = new_state ();

  check_lua (L, "return json.encode {a = {b = {c = {1, {d = false}}}}, e = 'f'}",
             "{\"a\":{\"b\":{\"c\":[1,{\"d\":false}]}},\"e\":\"f\"}");
  /* The same table twice is not a cycle. */
  check_lua (L, "local t = {1} return json.encode {t, t, {x = t}}",
             "[[1],[1],{\"x\":[1]}]");
}

static void
test_encode_strings (void)
{
  g_autoptr (lua_State) L = new_state ();

  check_lua (L, "return json.encode 'Hello 世界'", "\"Hello 世界\"");
  check_lua (L, "return json.encode 'say \"hi\" \\\\ bye/'", "\"say \\\"hi\\\" \\\\ bye/\"");
  check_lua (L, "return json.encode '\\b\\f\\n\\r\\t\\1\\31'",
             "\"\\b\\f\\n\\r\\t\\u0001\\u001f\"");
  check_lua (L, "return json.encode 'a\\0b'", "\"a\\u0000b\"");
  check_lua (L, "return json.encode {['k\\0'] = 'v'}", "{\"k\\u0000\":\"v\"}");
  check_lua (L, "return json.encode '😀'", "\"😀\"");
  check_error (L, "json.encode, 'ab\\xff'",
               "json.encode: string is not valid UTF-8 (byte 3)");
  check_error (L, "json.encode, {['\\xc0\\x80'] = 1}",
               "json.encode: string is not valid UTF-8 (byte 1)");
  /* A UTF-16 surrogate written as UTF-8. */
  check_error (L, "json.encode, '\\xed\\xa0\\x80'",
               "json.encode: string is not valid UTF-8 (byte 1)");
  /* Truncated sequence at the end. */
  check_error (L, "json.encode, 'x\\xe4\\xb8'",
               "json.encode: string is not valid UTF-8 (byte 2)");
}

static void
test_encode_errors (void)
{
  g_autoptr (lua_State) L = new_state ();

  check_error (L, "json.encode, 0/0", "json.encode: cannot encode NaN");
  check_error (L, "json.encode, {x = 1/0}", "json.encode: cannot encode inf");
  check_error (L, "json.encode, {-math.huge}", "json.encode: cannot encode -inf");
  check_error (L, "json.encode, print", "json.encode: cannot encode a function value");
  check_error (L, "json.encode, {f = print}", "json.encode: cannot encode a function value");
  check_error (L, "json.encode, coroutine.create (print)",
               "json.encode: cannot encode a thread value");
  check_error (L, "json.encode, io.stdout", "json.encode: cannot encode a userdata value (FILE*)");
  check_error (L, "json.encode, (function () local t = {} t.self = t return t end) ()",
               "json.encode: cycle detected");
  check_error (L, "json.encode, (function () local a, b = {}, {} a[1] = b b[1] = a return a end) ()",
               "json.encode: cycle detected");
  /* Called from Lua code, the message starts with the caller's position,
   * as for luaL_error in Lua's own libraries. */
  check_lua (L, "local ok, err = pcall (function ()\n"
                "  local t = {} t.self = t\n"
                "  return json.encode (t)\n"
                "end)\n"
                "return err", "[string \"local ok, err = pcall (function ()...\"]:3: json.encode: cycle detected");
  check_error (L, "json.encode", "bad argument #1 to 'json.encode' (value expected)");
  check_error (L, "json.encode, {}, {indent = 'wide'}",
               "bad argument #2 to 'json.encode' (indent must be a boolean or an integer from 0 to 16)");
  check_error (L, "json.encode, {}, {indent = 17}",
               "bad argument #2 to 'json.encode' (indent must be a boolean or an integer from 0 to 16)");
}

static void
test_encode_pretty (void)
{
  g_autoptr (lua_State) L = new_state ();

  check_lua (L, "return json.encode ({name = 'x', list = {1, 2}, empty = {}, none = json.array ()},"
                "                    {indent = true})",
             "{\n"
             "  \"empty\": {},\n"
             "  \"list\": [\n"
             "    1,\n"
             "    2\n"
             "  ],\n"
             "  \"name\": \"x\",\n"
             "  \"none\": []\n"
             "}");
  check_lua (L, "return json.encode ({a = {b = 1}}, {indent = 4})",
             "{\n"
             "    \"a\": {\n"
             "        \"b\": 1\n"
             "    }\n"
             "}");
  check_lua (L, "return json.encode ({1}, {indent = false})", "[1]");
  check_lua (L, "return json.encode ({1}, {indent = 0})", "[1]");
  check_lua (L, "return json.encode ('top', {indent = true})", "\"top\"");
  check_lua (L, "return json.encodeFormated {a = 1}", "{\n  \"a\": 1\n}");
  check_lua (L, "return json.encodePretty {a = 1}", "{\n  \"a\": 1\n}");
}

/* A reference encoder in Lua for flat objects of integers: the text every
 * object must give, whatever the encoder remembered of tables before
 * (check() encodes three times: a shape is learnt when met the second). */
static const char reference_encoder[] =
  "function ref (t)\n"
  "  local keys = {}\n"
  "  for k in pairs (t) do keys[#keys + 1] = k end\n"
  "  table.sort (keys)\n"
  "  local parts = {}\n"
  "  for i, k in ipairs (keys) do parts[i] = string.format ('\"%s\":%d', k, t[k]) end\n"
  "  return '{' .. table.concat (parts, ',') .. '}'\n"
  "end\n"
  "function check (t)\n"
  "  local want = ref (t)\n"
  "  for round = 1, 3 do\n"
  "    local got = json.encode (t)\n"
  "    if got ~= want then error (('round %d: %s ~= %s'):format (round, got, want)) end\n"
  "  end\n"
  "end\n";

/* Objects met again are encoded from what was learnt of their keys (their
 * "shape"): random key sets, insertion orders and deletions must all give
 * the sorted text, the first time and every time after. */
static void
test_encode_shapes_random (void)
{
  g_autoptr (lua_State) L = new_state ();

  push_lua (L, reference_encoder);
  check_lua (L, "math.randomseed (42)\n"
                "local pool = {'id', 'name', 'a', 'b', 'ab', 'abc', 'abcdefgh', 'abcdefghi', 'Z', '_',\n"
                "              'roomID', 'type', 'k1', 'k10', 'k2', 'zz'}\n"
                "for _ = 1, 3000 do\n"
                "  local t = {}\n"
                "  for _ = 1, math.random (#pool) do t[pool[math.random (#pool)]] = math.random (1000) end\n"
                "  check (t)\n"
                "  -- The same table changed: a key gone, another added, a value changed.\n"
                "  local k = next (t)\n"
                "  t[k] = nil\n"
                "  t[pool[math.random (#pool)]] = -1\n"
                "  if next (t) then check (t) end\n"
                "end\n"
                "return 'ok'", "ok");
}

static void
test_encode_shapes_same_keys (void)
{
  g_autoptr (lua_State) L = new_state ();

  push_lua (L, reference_encoder);
  /* The same names inserted in other orders (other lua_next orders), and
   * tables grown or shrunk past the size they were built with. */
  check_lua (L, "local names = {}\n"
                "for i = 1, 40 do names[i] = 'key' .. i end\n"
                "local up, down, mixed = {}, {}, {}\n"
                "for i = 1, 40 do up[names[i]] = i; down[names[41 - i]] = 41 - i end\n"
                "for i = 1, 40, 2 do mixed[names[i]] = i end\n"
                "for i = 2, 40, 2 do mixed[names[i]] = i end\n"
                "check (up) check (down) check (mixed)\n"
                "for i = 41, 100 do up['key' .. i] = i end\n"
                "check (up)\n"
                "for i = 1, 99 do up['key' .. i] = nil end\n"
                "check (up)\n"
                "return json.encode (up)", "{\"key100\":100}");
  /* Same count, same places, one name different. */
  check_lua (L, "check {a = 1, b = 2} check {a = 1, c = 2} check {c = 1, b = 2}\n"
                "return json.encode {a = 1, c = 2}", "{\"a\":1,\"c\":2}");
  /* Objects of one shape in a list, each with its own values. */
  check_lua (L, "local list = {}\n"
                "for i = 1, 3 do list[i] = {id = i, name = 'n' .. i, on = i % 2 == 0} end\n"
                "json.encode (list)\n"
                "list[2].name = nil\n"
                "list[3].on = 'yes'\n"
                "return json.encode (list)",
             "[{\"id\":1,\"name\":\"n1\",\"on\":false},{\"id\":2,\"on\":true},"
             "{\"id\":3,\"name\":\"n3\",\"on\":\"yes\"}]");
}

/* More shapes than are kept: the older ones are learnt again. */
static void
test_encode_shapes_many (void)
{
  g_autoptr (lua_State) L = new_state ();

  push_lua (L, reference_encoder);
  check_lua (L, "local all = {}\n"
                "for i = 1, 1500 do\n"
                "  all[i] = {['a' .. i] = i, ['b' .. (i % 7)] = 7, x = i}\n"
                "  check (all[i])\n"
                "end\n"
                "for i = 1, 1500 do check (all[i]) end\n"
                "return 'ok'", "ok");
}

/* Whatever was learnt of a table's names, the rules stay: escapes, UTF-8
 * checks, long names, json.array marks, pretty printing. */
static void
test_encode_shapes_rules (void)
{
  g_autoptr (lua_State) L = new_state ();

  check_lua (L, "local t = {['a\"b'] = 1, ['\\n'] = 2, ['é'] = 3, ['\\0'] = 4}\n"
                "json.encode (t) json.encode (t) return json.encode (t)",
             "{\"\\u0000\":4,\"\\n\":2,\"a\\\"b\":1,\"é\":3}");
  check_lua (L, "local t = {[string.rep ('x', 40)] = 1, [string.rep ('x', 41)] = 2,\n"
                "           [string.rep ('y', 100)] = 3}\n"
                "json.encode (t) json.encode (t) return json.encode (t)",
             "{\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\":1,"
             "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\":2,"
             "\"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\":3}");
  check_error (L, "json.encode, {a = 1, ['\\xff'] = 2}",
               "json.encode: string is not valid UTF-8 (byte 1)");
  check_error (L, "json.encode, {a = 1, ['\\xff'] = 2}",
               "json.encode: string is not valid UTF-8 (byte 1)");
  /* Learnt as an object, then marked as an array. */
  check_lua (L, "shaped = {a = 1} json.encode (shaped) return json.encode (shaped)", "{\"a\":1}");
  check_error (L, "json.encode, json.array (shaped)",
               "json.encode: a table marked by json.array has a key that is not a positive integer");
  /* A name that is also a number key's string form. */
  check_lua (L, "for _ = 1, 2 do json.encode {['1'] = 'a', b = 2} end return json.encode {['1'] = 'a', b = 2}",
             "{\"1\":\"a\",\"b\":2}");
  check_error (L, "json.encode, {[1] = 'a', ['1'] = 'b'}", "json.encode: duplicate object key \"1\"");
  check_lua (L, "local t = {b = {c = 1}, a = 2}\n"
                "json.encode (t) json.encode (t) return json.encode (t, {indent = true})",
             "{\n  \"a\": 2,\n  \"b\": {\n    \"c\": 1\n  }\n}");
  check_lua (L, "local t = {b = 1, a = 2} json.encode (t, {indent = 3}) json.encode (t, {indent = 3})\n"
                "return json.encode (t)",
             "{\"a\":2,\"b\":1}");
}

/* A finalizer that encodes runs while another encode learns shapes (the GC
 * runs from the allocations): neither text suffers. */
static void
test_encode_shapes_finalizer (void)
{
  g_autoptr (lua_State) L = new_state ();

  push_lua (L, reference_encoder);
  check_lua (L, "local inner = {}\n"
                "for i = 1, 400 do inner[i] = {['in' .. i] = i} end\n"
                "local inner_text = json.encode (inner)\n"
                "local runs, bad = 0, 0\n"
                "local function arm ()\n"
                "  setmetatable ({}, {__gc = function ()\n"
                "    runs = runs + 1\n"
                "    if json.encode (inner) ~= inner_text then bad = bad + 1 end\n"
                "    arm ()\n"
                "  end})\n"
                "end\n"
                "arm ()\n"
                "collectgarbage ('incremental', 0, 100)\n"
                "for round = 1, 20 do\n"
                "  local outer = {}\n"
                "  -- Pairs of one shape: the second of each is learnt.\n"
                "  for i = 1, 300 do outer[i] = {['out' .. round .. '_' .. i // 2] = i, z = round} end\n"
                "  local got = json.encode (outer)\n"
                "  local parts = {}\n"
                "  for i = 1, 300 do parts[i] = ref (outer[i]) end\n"
                "  if got ~= '[' .. table.concat (parts, ',') .. ']' then return 'outer text differs' end\n"
                "end\n"
                "collectgarbage ('incremental', 200, 100)\n"
                "return runs > 0 and bad == 0", "true");
}

static void
test_encode_depth_limit (void)
{
  g_autoptr (lua_State) L = new_state ();

  check_lua (L, "local t = {} local inner = t\n"
                "for i = 2, 1000 do inner[1] = {} inner = inner[1] end\n"
                "return #json.encode (t)", "2000");
  check_error (L, "json.encode, (function ()\n"
                  "  local t = {} local inner = t\n"
                  "  for i = 1, 100000 do inner[1] = {} inner = inner[1] end\n"
                  "  return t\n"
                  "end) ()", "json.encode: nesting deeper than 1000 levels");
}

static void
test_encode_top_level (void)
{
  g_autoptr (lua_State) L = new_state ();

  check_lua (L, "return json.encode 'x'", "\"x\"");
  check_lua (L, "return json.encode (1)", "1");
  check_lua (L, "return json.encode (nil)", "null");
  check_lua (L, "return json.encode (true)", "true");
  check_lua (L, "return json.encode (false)", "false");
}

static void
test_null_sentinel (void)
{
  g_autoptr (lua_State) L = new_state ();

  check_lua (L, "return tostring (json.null)", "null");
  check_lua (L, "return type (json.null)", "userdata");
  check_lua (L, "return json.encode (json.null)", "null");
  check_lua (L, "return json.encode {a = json.null, json.null}", "{\"1\":null,\"a\":null}");
  check_lua (L, "return json.encode {1, json.null, 3}", "[1,null,3]");
  check_lua (L, "return pcall (setmetatable, json.null, {})", "false");
}

static void
test_decode_values (void)
{
  g_autoptr (lua_State) L = new_state ();

  check_lua (L, "return json.decode '42'", "42");
  check_lua (L, "return math.type (json.decode '42')", "integer");
  check_lua (L, "return math.type (json.decode '42.0')", "float");
  check_lua (L, "return math.type (json.decode '4e1')", "float");
  check_lua (L, "return json.decode '-0.5'", "-0.5");
  check_lua (L, "return json.decode '\"s\"'", "s");
  check_lua (L, "return json.decode 'true'", "true");
  check_lua (L, "return json.decode ' null '", "nil");
  check_lua (L, "return json.decode '9223372036854775807' == math.maxinteger", "true");
  check_lua (L, "return json.decode '-9223372036854775808' == math.mininteger", "true");
  check_lua (L, "local t = json.decode '{\"a\": [1, 2, {\"b\": \"c\"}], \"d\": {}}'\n"
                "return #t.a .. t.a[3].b .. type (t.d) .. tostring (next (t.d))",
             "3ctablenil");
  check_lua (L, "local t = json.decode '[\"Hello 世界\", \"\\\\u4e16\\\\ud83d\\\\ude00\"]'\n"
                "return t[1] .. '|' .. t[2]", "Hello 世界|世😀");
  check_lua (L, "return json.decode '\"q\\\\\"\\\\\\\\\\\\/\\\\n\\\\t\"'", "q\"\\/\n\t");
}

static void
test_decode_null (void)
{
  g_autoptr (lua_State) L = new_state ();

  check_lua (L, "local t = json.decode '[1, null, 3]' return t[1] .. tostring (t[2]) .. t[3]",
             "1nil3");
  check_lua (L, "local t = json.decode '{\"a\": null, \"b\": 1}'\n"
                "return tostring (t.a) .. ' ' .. tostring (next (t))", "nil b");
  check_lua (L, "local t = json.decode ('[1, null]', {null = true}) return t[2] == json.null",
             "true");
  check_lua (L, "local t = json.decode ('{\"a\": null}', {null = true}) return t.a == json.null",
             "true");
  check_lua (L, "return json.decode ('null', {null = true}) == json.null", "true");
  /* Both ways give the same text back. */
  check_lua (L, "return json.encode (json.decode '[1,null,3]')", "[1,null,3]");
  check_lua (L, "return json.encode (json.decode ('{\"a\":null}', {null = true}))",
             "{\"a\":null}");
}

static void
test_decode_empty_array_stays_array (void)
{
  g_autoptr (lua_State) L = new_state ();

  check_lua (L, "return json.encode (json.decode '{\"a\":[],\"b\":{}}')", "{\"a\":[],\"b\":{}}");
  check_lua (L, "return json.encode (json.decode '[]')", "[]");
  check_lua (L, "return json.encode (json.decode '[[],[[]]]')", "[[],[[]]]");
}

static void
test_decode_error_position (void)
{
  g_autoptr (lua_State) L = new_state ();

  check_error (L, "json.decode, '[1,2,'",
               "json.decode: line 1 column 5: unexpected end of file, expected character `]'");
  check_error (L, "json.decode, '{\"a\":}'",
               "json.decode: line 1 column 6: unexpected character `}', expected character `}'");
  check_error (L, "json.decode, '{\\n  \"a\": tru\\n}'",
               "json.decode: line 2 column 10: unexpected identifier `tru', expected value");
  check_error (L, "json.decode, '\"ok\\xff\"'",
               "json.decode: line 1 column 4: JSON data must be UTF-8 encoded");
  check_error (L, "json.decode, ''", "json.decode: empty input");
  check_error (L, "json.decode, '  \\n '", "json.decode: empty input");
  check_error (L, "json.decode, 'var x = [1]'", "json.decode: a JavaScript assignment is not JSON");
  /* pcall gives exactly false and the message. */
  check_lua (L, "local ok, err = pcall (json.decode, '[')\n"
                "return tostring (ok) .. ' ' .. select ('#', pcall (json.decode, '['))", "false 2");
}

static void
test_decode_bad_argument (void)
{
  g_autoptr (lua_State) L = new_state ();

  check_error (L, "json.decode, 42",
               "bad argument #1 to 'json.decode' (string expected, got number)");
  check_error (L, "json.decode", "bad argument #1 to 'json.decode' (string expected, got no value)");
  check_error (L, "json.decode, {}", "bad argument #1 to 'json.decode' (string expected, got table)");
  check_error (L, "json.decode, '1', 'opts'",
               "bad argument #2 to 'json.decode' (table expected, got string)");
}

static void
test_decode_nul_escape (void)
{
  g_autoptr (lua_State) L = new_state ();

  check_lua (L, "local s = json.decode '\"a\\\\u0000b\"' return #s .. ' ' .. s:byte (2)", "3 0");
  check_lua (L, "local t = json.decode '{\"k\\\\u0000\": \"\\\\u0000\\\\u0000\"}'\n"
                "local k, v = next (t) return #k .. #v", "22");
  /* A private-use character already in the text is left alone. */
  check_lua (L, "local s = json.decode '[\"\\\\ue000\", \"\\u{e001}\", \"\\\\u0000\"]'\n"
                "return table.concat ({s[1]:byte (1, -1)}, ',') .. ' ' ..\n"
                "       table.concat ({s[2]:byte (1, -1)}, ',') .. ' ' .. #s[3] .. s[3]:byte ()",
             "238,128,128 238,128,129 10");
  check_lua (L, "local s = 'x\\0y\\0' return json.decode (json.encode (s)) == s", "true");
  /* A NUL escape shifts no error position. */
  check_error (L, "json.decode, '[\"\\\\u0000\", x]'",
               "json.decode: line 1 column 12: unexpected identifier `x', expected value");
}

static void
test_decode_big_integers (void)
{
  g_autoptr (lua_State) L = new_state ();

  check_lua (L, "local v = json.decode '100000000000000000000' return math.type (v) .. ' ' .. v",
             "float 1e+20");
  check_lua (L, "return json.decode '9223372036854775808' == 2^63", "true");
  check_lua (L, "return json.decode '[-18446744073709551616]'[1] == -2^64", "true");
  check_lua (L, "return json.decode '123456789012345678901234567890' == 1.2345678901234568e29",
             "true");
  /* Beyond the double range, the same as json-glib's 1e999. */
  check_lua (L, "return json.decode ('[1, 2' .. string.rep ('0', 400) .. ']')[2]", "inf");
  check_lua (L, "return json.decode ('-1' .. string.rep ('0', 400))", "-inf");
  check_lua (L, "return json.decode '1e999'", "inf");
  /* Positions after a rewritten number are unchanged. */
  check_error (L, "json.decode, '[100000000000000000000, x]'",
               "json.decode: line 1 column 25: unexpected identifier `x', expected value");
}

static void
test_decode_depth_limit (void)
{
  g_autoptr (lua_State) L = new_state ();

  check_lua (L, "local t = json.decode (string.rep ('[', 1000) .. string.rep (']', 1000))\n"
                "return type (t[1][1])", "table");
  check_error (L, "json.decode, string.rep ('[', 1001) .. string.rep (']', 1001)",
               "json.decode: line 1 column 1001: nesting deeper than 1000 levels");
  /* Deep enough to crash json-glib's own recursive parser. */
  check_error (L, "json.decode, string.rep ('{\"a\":', 500000)",
               "json.decode: line 1 column 5001: nesting deeper than 1000 levels");
  /* Brackets inside strings and comments do not count. */
  check_lua (L, "return json.decode ('[\"' .. string.rep ('[', 2000) .. '\"]')[1]:len ()", "2000");
  check_lua (L, "return json.decode ('/* ' .. string.rep ('[', 2000) .. ' */ 7')", "7");
}

static void
test_roundtrip (void)
{
  g_autoptr (lua_State) L = new_state ();

  check_lua (L, "local text = '{\"a\":[1,2.5,\"x\",true,false],\"b\":{\"c\":{\"d\":[]}},\"e\":\"Hello 世界\"}'\n"
                "return json.encode (json.decode (text)) == text", "true");
  check_lua (L, "local s = '' for i = 0, 127 do s = s .. string.char (i) end\n"
                "return json.decode (json.encode (s)) == s", "true");
}

typedef struct
{
  gsize used;
  gsize limit;
} Budget;

static void *
budget_alloc (void   *user_data,
              void   *ptr,
              size_t  old_size,
              size_t  new_size)
{
  Budget *budget = user_data;
  void *grown;

  if (ptr == NULL)
    old_size = 0;   /* Lua passes the type of the new object there */
  if (new_size == 0)
    {
      budget->used -= old_size;
      free (ptr);
      return NULL;
    }
  if (new_size > old_size && budget->used + (new_size - old_size) > budget->limit)
    return NULL;
  grown = realloc (ptr, new_size);
  if (grown != NULL)
    budget->used = budget->used - old_size + new_size;
  return grown;
}

/* Lua raising "not enough memory" halfway leaves no C allocation behind:
 * the leak checker of the sanitizer build would see it. */
static void
test_out_of_memory_does_not_leak (void)
{
  Budget budget = { 0, G_MAXSIZE };
  g_autoptr (lua_State) L = lua_newstate (budget_alloc, &budget);

  luaL_openlibs (L);
  plua_json_open (L);
  lua_pop (L, 1);
  push_lua (L, "deep = {} local t = deep\n"
               "for i = 1, 900 do t.a = {n = i} t = t.a end\n"
               "text = json.encode (deep)\n"
               "wide = {} for i = 1, 2000 do wide[i] = {name = 'n' .. i} end\n"
               "wide_text = json.encode (wide)\n"
               "collectgarbage () return true");
  lua_pop (L, 1);

  /* Compiled before the budget shrinks; several budgets, so that the
   * failure hits different points of the walk. */
  push_lua (L, "return function ()\n"
               "  return (pcall (json.encode, deep)), (pcall (json.decode, text)),\n"
               "         (pcall (json.decode, wide_text))\n"
               "end");
  for (gsize kib = 1; kib <= 64; kib *= 2)
    {
      int status;

      lua_pushvalue (L, -1);
      budget.limit = budget.used + kib * 1024;
      status = lua_pcall (L, 0, 3, 0);
      budget.limit = G_MAXSIZE;
      if (status == LUA_OK)
        {
          g_assert_false (lua_toboolean (L, -3));
          g_assert_false (lua_toboolean (L, -2));
          g_assert_false (lua_toboolean (L, -1));
          lua_pop (L, 3);
        }
      else
        {
          g_assert_cmpint (status, ==, LUA_ERRMEM);
          lua_pop (L, 1);
        }
    }
  lua_pop (L, 1);
  check_lua (L, "return json.encode (json.decode (text)) == text", "true");
}

static void
test_c_encode (void)
{
  g_autoptr (lua_State) L = new_state ();
  g_autoptr (GError) error = NULL;
  g_autofree char *compact = NULL;
  g_autofree char *pretty = NULL;
  char *failed;

  push_lua (L, "return {b = {1, 2}, a = 'x'}");
  compact = plua_json_encode (L, -1, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (compact, ==, "{\"a\":\"x\",\"b\":[1,2]}");
  pretty = plua_json_encode (L, -1, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pretty, ==, "{\n  \"a\": \"x\",\n  \"b\": [\n    1,\n    2\n  ]\n}");
  g_assert_cmpint (lua_gettop (L), ==, 1);

  /* Failures leave the stack as it was and say why in the error code. */
  push_lua (L, "local t = {x = {}} t.x.y = t return t");
  failed = plua_json_encode (L, -1, FALSE, &error);
  g_assert_null (failed);
  g_assert_error (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_CYCLE);
  g_assert_cmpint (lua_gettop (L), ==, 2);
  g_clear_error (&error);

  lua_pushnumber (L, NAN);
  g_assert_null (plua_json_encode (L, -1, FALSE, &error));
  g_assert_error (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_NUMBER);
  g_clear_error (&error);

  lua_pushcfunction (L, plua_json_open);
  g_assert_null (plua_json_encode (L, -1, FALSE, &error));
  g_assert_error (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_TYPE);
  g_clear_error (&error);

  push_lua (L, "return {[true] = 1}");
  g_assert_null (plua_json_encode (L, -1, FALSE, &error));
  g_assert_error (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_KEY);
  g_clear_error (&error);

  lua_pushliteral (L, "\xff");
  g_assert_null (plua_json_encode (L, -1, FALSE, &error));
  g_assert_error (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_UTF8);
  g_assert_cmpint (lua_gettop (L), ==, 6);
}

static void
test_c_from_lua (void)
{
  g_autoptr (lua_State) L = new_state ();
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *text = NULL;
  JsonObject *object;

  push_lua (L, "return {n = 3, f = 1.5, s = 'str', list = {true, json.null}}");
  node = plua_json_from_lua (L, -1, &error);
  g_assert_no_error (error);
  g_assert_nonnull (node);
  g_assert_cmpint (lua_gettop (L), ==, 1);

  object = json_node_get_object (node);
  g_assert_cmpint (json_object_get_int_member (object, "n"), ==, 3);
  g_assert_cmpfloat (json_object_get_double_member (object, "f"), ==, 1.5);
  g_assert_cmpstr (json_object_get_string_member (object, "s"), ==, "str");
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (object, "list")), ==, 2);
  text = json_to_string (node, FALSE);
  g_assert_cmpstr (text, ==, "{\"f\":1.5,\"list\":[true,null],\"n\":3,\"s\":\"str\"}");

  push_lua (L, "return function () end");
  g_assert_null (plua_json_from_lua (L, -1, &error));
  g_assert_error (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_TYPE);
}

static void
test_c_push (void)
{
  g_autoptr (lua_State) L = new_state ();
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) node = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "list");
  json_builder_begin_array (builder);
  json_builder_add_int_value (builder, 1);
  json_builder_add_null_value (builder);
  json_builder_add_double_value (builder, 2.0);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "empty");
  json_builder_begin_array (builder);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);

  plua_json_push (L, node, FALSE);
  g_assert_cmpint (lua_gettop (L), ==, 1);
  lua_setglobal (L, "pushed");
  check_lua (L, "return math.type (pushed.list[1]) .. tostring (pushed.list[2]) .. math.type (pushed.list[3])",
             "integernilfloat");
  check_lua (L, "return json.encode (pushed)", "{\"empty\":[],\"list\":[1,null,2.0]}");

  plua_json_push (L, node, TRUE);
  lua_setglobal (L, "pushed");
  check_lua (L, "return pushed.list[2] == json.null", "true");
  g_assert_cmpint (lua_gettop (L), ==, 0);
}

/* The scanner alone: what the REST server and HTTPServer sniffing accept. */
static void
test_scan (void)
{
  static const struct { const char *text; const char *message; } refused[] = {
    { "[1] [2]", "line 1 column 5: unexpected character `[', expected end of file" },
    { "{\"a\" 1}", "line 1 column 6: unexpected number `1', expected character `:'" },
    { "[1 2]", "line 1 column 4: unexpected number `2', expected character `,' or `]'" },
    { "{\"a\":1,}", "line 1 column 8: unexpected character `}', expected string constant" },
    { "[\"a\nb\"]", "line 1 column 4: unescaped control character in string" },
    { "[\"\\x\"]", "line 1 column 4: invalid escape in string" },
    { "[\"\\udc00\"]", "line 1 column 8: malformed surrogate pair" },
    { "[\"abc", "line 1 column 5: unterminated string constant" },
    { "/* open", "line 1 column 7: unterminated comment" },
    { "[-]", "line 1 column 3: unexpected character `]', expected number" },
    { "[1.]", "line 1 column 4: malformed floating constant" },
    { "[1e+]", "line 1 column 5: malformed floating constant" },
    { "[0x]", "line 1 column 4: malformed hexadecimal number" },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *deep = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_assert_false (plua_json_scan (refused[i].text, strlen (refused[i].text),
                                      PLUA_JSON_MAX_DEPTH, NULL, NULL, NULL, &error));
      g_assert_error (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_PARSE);
      g_assert_cmpstr (error->message, ==, refused[i].message);
      g_clear_error (&error);
    }

  /* The documented leniencies, as a JsonNode tree. */
  node = plua_json_scan_node ("\xEF\xBB\xBF// c\n{'k\\': [0x1F, -0x10, 1.5e1, null, true], \"e\": {}} /* end */",
                              -1 + sizeof "\xEF\xBB\xBF// c\n{'k\\': [0x1F, -0x10, 1.5e1, null, true], \"e\": {}} /* end */",
                              8, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  {
    JsonArray *a = json_object_get_array_member (json_node_get_object (node), "k\\");

    g_assert_cmpint (json_array_get_int_element (a, 0), ==, 31);
    g_assert_cmpint (json_array_get_int_element (a, 1), ==, -16);
    g_assert_cmpfloat (json_array_get_double_element (a, 2), ==, 15.0);
    g_assert_true (json_array_get_null_element (a, 3));
    g_assert_true (json_array_get_boolean_element (a, 4));
  }

  /* The limit is the caller's; a failed tree is freed (ASan checks). */
  deep = g_strnfill (65, '[');
  g_assert_null (plua_json_scan_node (deep, 65, 64, &error));
  g_assert_error (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_DEPTH);
  g_assert_cmpstr (error->message, ==, "line 1 column 65: nesting deeper than 64 levels");
  g_clear_error (&error);
  g_assert_null (plua_json_scan_node ("{\"a\": [1, {\"b\": 2}, ", 20, 64, &error));
  g_assert_error (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_PARSE);
}

static void
test_c_decode (void)
{
  g_autoptr (lua_State) L = new_state ();
  g_autoptr (GError) error = NULL;

  g_assert_true (plua_json_decode (L, "{\"a\":[1,\"x\\u0000y\"]}", -1, FALSE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (lua_gettop (L), ==, 1);
  lua_setglobal (L, "decoded");
  check_lua (L, "return #decoded.a[2]", "3");

  /* length, not NUL, ends the text. */
  g_assert_true (plua_json_decode (L, "[1]garbage", 3, TRUE, &error));
  g_assert_no_error (error);
  lua_setglobal (L, "decoded");
  check_lua (L, "return json.encode (decoded)", "[1]");

  g_assert_false (plua_json_decode (L, "[1,", -1, FALSE, &error));
  g_assert_error (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_PARSE);
  g_assert_cmpint (lua_gettop (L), ==, 0);
  g_clear_error (&error);

  g_assert_false (plua_json_decode (L, "[[[[", -1, FALSE, &error));
  g_assert_error (error, PLUA_JSON_ERROR, PLUA_JSON_ERROR_PARSE);
  g_clear_error (&error);
}

static void
test_open (void)
{
  g_autoptr (lua_State) L = luaL_newstate ();

  luaL_openlibs (L);
  g_assert_cmpint (plua_json_open (L), ==, 1);
  g_assert_true (lua_istable (L, -1));
  lua_pop (L, 1);
  check_lua (L, "return package.loaded.json == json and require ('json') == json", "true");
  check_lua (L, "return type (json.encode) .. type (json.decode) .. type (json.array)",
             "functionfunctionfunction");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/json/encode/array-vs-object", test_encode_array_vs_object);
  g_test_add_func ("/json/encode/json-array-marks-arrays", test_encode_json_array);
  g_test_add_func ("/json/encode/numbers-keep-integer-or-float", test_encode_numbers);
  g_test_add_func ("/json/encode/keys-sorted-and-checked", test_encode_keys);
  g_test_add_func ("/json/encode/nested", test_encode_nested);
  g_test_add_func ("/json/encode/strings-escaped-utf8-checked", test_encode_strings);
  g_test_add_func ("/json/encode/unencodable-values-raise", test_encode_errors);
  g_test_add_func ("/json/encode/pretty-exact-text", test_encode_pretty);
  g_test_add_func ("/json/encode/shapes/random-key-sets-give-sorted-text", test_encode_shapes_random);
  g_test_add_func ("/json/encode/shapes/same-names-other-orders", test_encode_shapes_same_keys);
  g_test_add_func ("/json/encode/shapes/more-than-kept", test_encode_shapes_many);
  g_test_add_func ("/json/encode/shapes/rules-still-apply", test_encode_shapes_rules);
  g_test_add_func ("/json/encode/shapes/finalizer-encoding-meanwhile", test_encode_shapes_finalizer);
  g_test_add_func ("/json/encode/depth-limit", test_encode_depth_limit);
  g_test_add_func ("/json/encode/top-level-scalars", test_encode_top_level);
  g_test_add_func ("/json/null/sentinel", test_null_sentinel);
  g_test_add_func ("/json/decode/values", test_decode_values);
  g_test_add_func ("/json/decode/null-nil-or-sentinel", test_decode_null);
  g_test_add_func ("/json/decode/empty-array-stays-array", test_decode_empty_array_stays_array);
  g_test_add_func ("/json/decode/error-position", test_decode_error_position);
  g_test_add_func ("/json/decode/bad-argument", test_decode_bad_argument);
  g_test_add_func ("/json/decode/nul-escape-keeps-nul-byte", test_decode_nul_escape);
  g_test_add_func ("/json/decode/big-integers-become-floats", test_decode_big_integers);
  g_test_add_func ("/json/decode/depth-limit", test_decode_depth_limit);
  g_test_add_func ("/json/roundtrip", test_roundtrip);
  g_test_add_func ("/json/out-of-memory-does-not-leak", test_out_of_memory_does_not_leak);
  g_test_add_func ("/json/c/encode", test_c_encode);
  g_test_add_func ("/json/c/from-lua", test_c_from_lua);
  g_test_add_func ("/json/c/push", test_c_push);
  g_test_add_func ("/json/c/decode", test_c_decode);
  g_test_add_func ("/json/c/scan", test_scan);
  g_test_add_func ("/json/open/global-and-package-loaded", test_open);

  return g_test_run ();
}
