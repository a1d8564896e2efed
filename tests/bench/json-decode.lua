-- json-decode.lua: json.decode next to lua-cjson's cjson.decode, same process.
--   plua tests/bench/json-decode.lua [rounds]   (default 15)
-- Two documents: 40 HC3 binary switches as the emulator holds them (about
-- 65 KB) and 800 of them pretty-printed (about 2 MB, a big box's
-- /api/devices). Rounds alternate which decoder goes first, so a change of
-- load on the machine hits both; each round decodes about 20 MB of text.
-- Prints the median µs per decode of each and their ratio.
-- Not part of `meson test`.
local ROUNDS = math.tointeger(tonumber(arg and arg[1])) or 15

local now = (_PY and _PY.millitime) or os.clock
local bench_dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local hc3_house = dofile(bench_dir .. "/hc3-house.lua")

local ok, cjson = pcall(require, "cjson")
if not ok then
  print("lua-cjson not found (Debian package lua-cjson): " .. tostring(cjson):match("[^\n]*"))
  os.exit(1)
end

local function median(list)
  table.sort(list)
  local n = #list
  return n % 2 == 1 and list[(n + 1) // 2] or (list[n // 2] + list[n // 2 + 1]) / 2
end

-- µs per decode of text by decode, over enough decodes for ~20 MB.
local function run(decode, text, reps)
  local t0 = now()
  for _ = 1, reps do
    decode(text)
  end
  return (now() - t0) * 1e6 / reps
end

local decoders = {
  { name = "json.decode", fn = json.decode },
  { name = "cjson.decode", fn = cjson.decode },
}

print(string.format("%d rounds, interleaved, medians", ROUNDS))
for _, doc in ipairs({
  { "HC3 house, 40 devices", json.encode(hc3_house(40)) },
  { "HC3 house, 800 devices, pretty", json.encodePretty(hc3_house(800)) },
}) do
  local text = doc[2]
  local reps = math.max(1, 20e6 // #text)
  local samples = { {}, {} }
  for round = 1, ROUNDS do
    for k = 0, 1 do
      local i = (round + k) % 2 + 1
      samples[i][#samples[i] + 1] = run(decoders[i].fn, text, reps)
    end
  end
  local m1, m2 = median(samples[1]), median(samples[2])
  print(string.format("%-32s %8d bytes  json.decode %9.1f µs  cjson.decode %9.1f µs  ratio %.2fx",
                      doc[1], #text, m1, m2, m1 / m2))
  print(string.format("RESULT doc=%q bytes=%d plua_us=%.1f cjson_us=%.1f ratio=%.3f",
                      doc[1], #text, m1, m2, m1 / m2))
end
