-- no-stderr
-- json.encode / json.decode as scripts use them: sorted keys, arrays vs
-- objects, integers vs floats, unicode, null and pretty output.

local function show(label, value)
  print(label, json.encode(value))
end

show("array", { 1, 2, 3 })
show("object", { name = "plua", version = 5.4, tags = { "lua", "glib" } })
show("empty", {})
show("empty array", json.array())
show("marked", json.array({ "x" }))
show("mixed keys", { 1, 2, n = 3 })
show("number keys", { [10] = "a", [2] = "b", [1.5] = "c" })
show("numbers", { 1, 1.0, -0.5, 1e300, math.maxinteger, math.mininteger })
show("strings", { "Hello 世界", "quote \" backslash \\ slash /", "tab\tnewline\n", "nul\0byte" })
show("scalars", { true, false, json.null })
print("top level", json.encode("x"), json.encode(42), json.encode(nil), json.encode(2.0))

-- Decoding: types come back as they went out.
local text = '{"id": 7, "ratio": 0.25, "ok": true, "name": "caf\\u00e9", '
  .. '"items": [1, 2.0, "three", null, {"deep": [[]]}], "none": null}'
local v = json.decode(text)
print("id", v.id, math.type(v.id))
print("ratio", v.ratio, math.type(v.ratio))
print("ok", v.ok, "name", v.name)
print("items", #v.items, math.type(v.items[1]), math.type(v.items[2]), v.items[3], v.items[4])
print("none", v.none, "deep", #v.items[5].deep, #v.items[5].deep[1])
print("again", json.encode(v))

local with_null = json.decode('[1, null, {"a": null}]', { null = true })
print("json.null", with_null[2] == json.null, with_null[3].a == json.null, tostring(json.null))
print("again", json.encode(with_null))

print("scalar", json.decode("42"), json.decode("-1.5"), json.decode('"s"'), json.decode("true"))
print("big", json.decode("18446744073709551616"), math.type(json.decode("18446744073709551616")))

-- Byte-exact strings, NUL included.
local bytes = {}
for i = 0, 127 do
  bytes[#bytes + 1] = string.char(i)
end
local all = table.concat(bytes) .. "é世😀"
print("bytes survive", json.decode(json.encode(all)) == all)

-- A round trip gives the same text.
local canonical = json.encode({ b = { 3, 2, 1 }, a = { x = 1.5, y = { json.array() } }, c = "z" })
print("canonical", canonical, json.encode(json.decode(canonical)) == canonical)

-- Pretty output.
print(json.encode({ name = "x", list = { 1, { k = "v" } }, empty = {} }, { indent = true }))
print(json.encode({ a = { 1 } }, { indent = 4 }))
print(json.encodeFormated({ z = 1, y = json.array() }))
