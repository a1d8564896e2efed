-- timer-burst.lua: N timers created at once in plua with random delays of
-- 0-100 ms; each callback counts, the last one prints the wall time from the
-- start of creation to that last callback.
--   plua timer-burst.lua [N]          (default N = 200000)
-- Prints "RESULT bench=burst impl=plua timers=N create_ms=... total_ms=...".
-- Peak RSS is measured from outside (run.sh uses /usr/bin/time -f %M).
local N = math.tointeger(tonumber(arg and arg[1])) or 200000

local ok, clock = pcall(require, "benchclock")
local now = ok and clock.now or os.clock
local clock_name = ok and "monotonic" or "os.clock"

math.randomseed(42)

local fired = 0
local start

local function count()
  fired = fired + 1
  if fired == N then
    local dt = now() - start
    print(string.format("RESULT bench=burst impl=plua timers=%d total_ms=%.3f clock=%s",
                        N, dt * 1e3, clock_name))
  end
end

start = now()
for _ = 1, N do
  setTimeout(count, math.random(0, 100))
end
io.stderr:write(string.format("plua burst: created %d timers in %.3f ms\n", N, (now() - start) * 1e3))
