-- no-stderr
-- Everything json refuses raises a Lua error with a clear message.

local function try(label, f, ...)
  local ok, err = pcall(f, ...)
  print(label, ok, err)
end

local cycle = {}
cycle.self = cycle
local deep = {}
local inner = deep
for _ = 1, 2000 do
  inner[1] = {}
  inner = inner[1]
end

try("nan", json.encode, 0 / 0)
try("inf", json.encode, { math.huge })
try("-inf", json.encode, { x = -math.huge })
try("cycle", json.encode, cycle)
try("function", json.encode, { f = print })
try("thread", json.encode, coroutine.create(print))
try("file", json.encode, io.stdout)
try("bool key", json.encode, { [true] = 1 })
try("table key", json.encode, { [{}] = 1 })
try("same key", json.encode, { [1] = "a", ["1"] = "b" })
try("bad utf8", json.encode, "ok\xff")
try("bad utf8 key", json.encode, { ["\xc3"] = 1 })
try("marked", json.encode, json.array({ a = 1 }))
try("too deep", json.encode, deep)
try("no value", json.encode)
try("indent", json.encode, {}, { indent = "wide" })

try("eof", json.decode, "[1, 2,")
try("bad member", json.decode, '{"a":}')
try("second line", json.decode, '{\n  "a": tru\n}')
try("not utf8", json.decode, '"\xff"')
try("empty", json.decode, "")
try("assignment", json.decode, "var x = 1")
try("too deep", json.decode, string.rep("[", 1001) .. string.rep("]", 1001))
try("number arg", json.decode, 42)
try("no arg", json.decode)
try("opts", json.decode, "1", "null")
try("array arg", json.array, "t")

-- Still usable after all that.
print("after", json.encode(json.decode('{"fine": [true]}')))
