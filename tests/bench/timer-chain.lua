-- timer-chain.lua: a chain of N setTimeout(fn, 0) callbacks in plua; each
-- callback schedules the next one and the last prints the elapsed time.
--   plua timer-chain.lua [N]          (default N = 200000)
-- Prints "RESULT bench=chain impl=plua hops=N total_ms=... us_per_hop=...".
-- The clock is benchclock.now() (CLOCK_MONOTONIC, built by run.sh); without
-- it the script falls back to os.clock(), CPU time, which this CPU-bound
-- chain matches closely, and says so.
local N = math.tointeger(tonumber(arg and arg[1])) or 200000

local ok, clock = pcall(require, "benchclock")
local now = ok and clock.now or os.clock
local clock_name = ok and "monotonic" or "os.clock"

local n = 0
local start

local function hop()
  n = n + 1
  if n < N then
    setTimeout(hop, 0)
  else
    local dt = now() - start
    print(string.format("RESULT bench=chain impl=plua hops=%d total_ms=%.3f us_per_hop=%.4f clock=%s",
                        N, dt * 1e3, dt * 1e6 / N, clock_name))
  end
end

start = now()
setTimeout(hop, 0)
