-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- env: TZ=UTC
-- The json a QuickApp sees follows the HC3's rules (README "json in
-- QuickApps"): one line per rule, each showing what json.encode/decode gives.
--%%name:Json
--%%id:5700

local function try(f, ...)
  local ok, r = pcall(f, ...)
  if ok then return r end
  return "error: " .. tostring(r)
end

function QuickApp:onInit()
  local e = json.encode
  print("empty table", e({}))
  print("InitArray", e(json.util.InitArray({})), e({ list = json.util.InitArray({}) }))
  local t = {}
  print("InitArray returns its table", json.util.InitArray(t) == t)
  print("array", e({ 1, "two", true }))
  print("mixed", e({ 1, 2, x = 3 }))
  print("sparse", e({ [1] = 1, [3] = 3 }))
  print("integers", e({ 0, -7, math.maxinteger }))
  print("floats", e({ 3.0, 0.1, -2.5, 1e20, 1.5e-7 }))
  print("NaN", try(e, 0 / 0))
  print("inf", try(e, { math.huge }))
  print("function", try(e, { f = print }))
  print("userdata", try(e, { io.stdout }))
  print("boolean key", try(e, { [true] = 1 }))
  print("cycle", try(function() local a = {} a.a = a return e(a) end))
  local deep, c = {}, nil
  c = deep
  for _ = 1, 1100 do c.x = {} c = c.x end
  print("depth", try(e, deep))
  print("key order", e({ b = 1, a = 2, c = { z = 1, y = 2 } }))
  print("slash", e("a/b"), "escapes", e("q\"\\\n\t\1"))
  print("unicode", e("é€"))
  print("non-UTF-8", try(e, "\xff"))
  print("nil/null", e(nil), e(json.null), e({ a = json.util.null }))
  print("extra argument ignored", e({ a = 1 }, { indent = true }))
  -- decode
  local d = json.decode('{"a":null,"b":[1,null,3],"c":1.0,"d":2}')
  print("decode null", tostring(d.a), #d.b, tostring(d.b[2]), d.b[3])
  print("decode numbers", math.type(d.c), math.type(d.d))
  print("decode top null", tostring(json.decode("null")))
  print("decode escaped slash", json.decode('"a\\/b"'))
  print("decode [] round trip", e(json.decode("[]")), e(json.decode('{"l":[]}')))
  print("decode error", try(json.decode, '{"a":'))
  print("decode empty", try(json.decode, ""))
  print("decode non-string", try(json.decode, 42))
  print("error names the caller", select(2, pcall(function() return json.encode(0 / 0) end)))

end
