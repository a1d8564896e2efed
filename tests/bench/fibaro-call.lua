--%%name:Ping
--%%id:5900
-- Benchmark: fibaro.call round trips between two QuickApps.
--   plua --noapi --fibaro tests/bench/fibaro-call.lua fibaro-call-peer.lua
-- QA 5900 calls 5901:ping(n), which calls back 5900:pong(n): one round trip.
local N = tonumber(os.getenv("FIBARO_BENCH_N") or "") or 100000
local t0

function QuickApp:pong(n)
  if n < N then fibaro.call(5901, "ping", n + 1) return end
  local dt = os.clock() - t0
  local wall = _PY.millitime() - self.wall0
  print(string.format("fibaro-call: %d round trips in %.3f s (cpu %.3f s): %.0f round trips/s",
    N, wall, dt, N / wall))
end

function QuickApp:onInit()
  setTimeout(function()
    t0 = os.clock()
    self.wall0 = _PY.millitime()
    fibaro.call(5901, "ping", 1)
  end, 10)
end
