-- no-stderr
-- json.decode against lua-cjson on generated documents: both read the same
-- text to the same values, and refuse the same broken texts.
local cjson = require("cjson")

math.randomseed(18)
local random = math.random

local function pick(list)
  return list[random(#list)]
end

local space = { "", "", "", " ", "\n", "\t", " \r\n  " }
local pieces = { "a", "Z", "0", " ", "é", "世界", "😀", "\\n", "\\t", "\\\"", "\\\\", "\\/",
                 "\\u00e9", "\\u4e16", "\\ud83d\\ude00", "\\u0000", "\\u001f", "'", "\\b\\f\\r" }

local function gen_string()
  local parts = {}
  for i = 1, random(0, 6) do
    parts[i] = pick(pieces)
  end
  return '"' .. table.concat(parts) .. '"'
end

local function gen_number()
  local kind = random(6)
  if kind == 1 then
    return tostring(random(-1000, 1000))
  elseif kind == 2 then
    return tostring(random(-2 ^ 52, 2 ^ 52))
  elseif kind == 3 then
    return string.format("%d.%d", random(-99999, 99999), random(0, 99999))
  elseif kind == 4 then
    return string.format("%de%d", random(1, 999), random(-300, 300))
  elseif kind == 5 then
    return string.format("%.17g", (random() - 0.5) * 10 ^ random(-30, 30))
  end
  return string.format("-0.%03dE+%d", random(0, 999), random(0, 20))
end

local gen_value

local function gen_container(depth)
  local items = {}
  if random(2) == 1 then
    for i = 1, random(0, 5) do
      items[i] = pick(space) .. gen_value(depth + 1) .. pick(space)
    end
    return "[" .. table.concat(items, ",") .. "]"
  end
  for i = 1, random(0, 5) do
    items[i] = pick(space) .. gen_string() .. pick(space) .. ":" .. pick(space) .. gen_value(depth + 1)
  end
  return "{" .. table.concat(items, ",") .. pick(space) .. "}"
end

function gen_value(depth)
  local kind = random(depth > 6 and 5 or 8)
  if kind == 1 then
    return gen_string()
  elseif kind == 2 then
    return gen_number()
  elseif kind == 3 then
    return pick({ "true", "false" })
  elseif kind == 4 then
    return "null"
  elseif kind == 5 then
    return gen_string()
  end
  return gen_container(depth)
end

-- Same shape and values; cjson.null and json.null stand for null.
local function same(a, b)
  if a == json.null then
    return b == cjson.null
  end
  if type(a) ~= type(b) then
    return false
  end
  if type(a) ~= "table" then
    return a == b or (a ~= a and b ~= b)
  end
  for k, v in pairs(a) do
    if not same(v, b[k]) then
      return false
    end
  end
  for k in pairs(b) do
    if a[k] == nil then
      return false
    end
  end
  return true
end

local documents, agreed, refused, broken_agreed = 0, 0, 0, 0
for _ = 1, 1000 do
  local text = pick(space) .. gen_container(0) .. pick(space)
  documents = documents + 1
  local ok_c, want = pcall(cjson.decode, text)
  local ok_p, got = pcall(json.decode, text, { null = true })
  if ok_c and ok_p and same(got, want) then
    agreed = agreed + 1
  else
    print("DIFFERENT", string.format("%q", text), ok_c, ok_p, ok_p and json.encode(got) or got, want)
  end

  -- The same text cut short, or with one byte changed: both refuse or both
  -- read the same value.
  -- At an ASCII byte, so that the text stays UTF-8 (cjson does not check
  -- the encoding; json.decode refuses what is not UTF-8, checked below).
  local cut
  repeat
    cut = random(1, #text)
  until text:byte(cut) < 0x80
  local broken = random(2) == 1 and text:sub(1, cut - 1)
                 or text:sub(1, cut - 1) .. pick({ "}", "]", ",", ":", "x", "\"", "0" }) .. text:sub(cut + 1)
  ok_c, want = pcall(cjson.decode, broken)
  ok_p, got = pcall(json.decode, broken, { null = true })
  -- cjson reads numbers with strtod, which takes "01" and "1."; RFC 8259
  -- does not, nor does json.decode.
  local stricter = ok_c and not ok_p and (got:find("leading zeros in a number", 1, true) or
                                          got:find("malformed floating constant", 1, true))
  if stricter or (ok_c == ok_p and (not ok_c or same(got, want))) then
    broken_agreed = broken_agreed + 1
    if not ok_p then
      refused = refused + 1
    end
  else
    print("BROKEN DIFFERENT", string.format("%q", broken), ok_c, ok_p, ok_p and json.encode(got) or got, want)
  end
end
print("documents", documents, "agreed", agreed == documents)
print("broken", broken_agreed == documents, "some refused", refused > documents / 2)

-- Where json.decode is stricter than cjson on purpose.
for _, text in ipairs({ '["\xff"]', '["\xc0\x80"]', '["\xed\xa0\x80"]', '["a\tb"]', '[1,]', '[01]',
                        '[1] x', '["\\ud800"]', '[Infinity]', '[NaN]' }) do
  local ok_p, err = pcall(json.decode, text)
  local shown = text:gsub("[\128-\255\t]", function(c) return string.format("\\x%02x", c:byte()) end)
  print(shown, "cjson", (pcall(cjson.decode, text)), "plua", ok_p, err)
end
