-- json-encode.lua: json.encode on a 50-device HC3 table, next to lua-cjson.
--   plua tests/bench/json-encode.lua [encodes per round]   (default 2000)
-- Two shapes: the /api/devices hook of api.sh (about 26 KB of JSON) and a
-- fuller HC3 binary switch as the emulator's store holds it (about 80 KB).
-- Prints µs per encode, the best of 5 rounds; cjson's if `require "cjson"`
-- works (Debian's lua-cjson). Not part of `meson test`.
local N = math.tointeger(tonumber(arg and arg[1])) or 2000
local ROUNDS = 5

local now = (_PY and _PY.millitime) or os.clock

-- The hook table of tests/bench/api.sh (tests/bench/api-devices.lua).
local bench_dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local api_devices = dofile(bench_dir .. "/api-devices.lua")

local hc3_house = dofile(bench_dir .. "/hc3-house.lua")

-- Best of ROUNDS rounds of N encodes, in µs per encode.
local function time(encode, t)
  local best = math.huge
  local text = encode(t)
  for _ = 1, ROUNDS do
    local t0 = now()
    for _ = 1, N do
      encode(t)
    end
    best = math.min(best, (now() - t0) * 1e6 / N)
  end
  return best, #text
end

local ok, cjson = pcall(require, "cjson")
local encoders = {}
if json then
  encoders[#encoders + 1] = {name = "json.encode", fn = json.encode}
end
if ok then
  encoders[#encoders + 1] = {name = "cjson.encode", fn = cjson.encode}
else
  print("(lua-cjson not found: " .. tostring(cjson):match("[^\n]*") .. ")")
end

print(string.format("%d encodes per round, best of %d rounds", N, ROUNDS))
for _, shape in ipairs({{"api.sh /api/devices", api_devices()}, {"HC3 binarySwitch", hc3_house(50)}}) do
  for _, e in ipairs(encoders) do
    local us, bytes = time(e.fn, shape[2])
    print(string.format("%-20s %-13s %7.1f µs/encode  %6d bytes", shape[1], e.name, us, bytes))
  end
end
