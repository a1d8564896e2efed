-- timer-burst-luv.lua: the reference for timer-burst.lua in lua5.4 + luv:
-- N one-shot libuv timers started at once with random delays of 0-100 ms,
-- one shared callback counting; the last prints the wall time from the
-- start of creation to that last callback.
--   lua5.4 timer-burst-luv.lua [N]    (default N = 200000)
-- luv calls a timer callback without its handle, so closing each timer would
-- need one closure per timer; this keeps the leanest form (one shared
-- function, fired handles left to the loop's teardown at exit), which makes
-- luv's peak RSS the harder target for plua.
local uv = require "luv"

local N = math.tointeger(tonumber(arg and arg[1])) or 200000

math.randomseed(42)

local fired = 0
local start

local function count()
  fired = fired + 1
  if fired == N then
    local dt = (uv.hrtime() - start) / 1e9
    print(string.format("RESULT bench=burst impl=luv timers=%d total_ms=%.3f clock=monotonic",
                        N, dt * 1e3))
  end
end

start = uv.hrtime()
for _ = 1, N do
  uv.new_timer():start(math.random(0, 100), 0, count)
end
io.stderr:write(string.format("luv burst: created %d timers in %.3f ms\n", N, (uv.hrtime() - start) / 1e6))
uv.run()
