-- setInterval is fixed-rate: 20 ticks of 25 ms take 500 ms even when each
-- callback burns 8 ms of CPU (a drifting interval would take 660+ ms).
local period, ticks = 25, 20
local start = _PY.millitime()
local n = 0
local id
id = setInterval(function()
  n = n + 1
  -- 8 ms of wall-clock work (a CPU-time loop would stretch on a busy machine)
  local t0 = _PY.millitime()
  while _PY.millitime() - t0 < 0.008 do end
  if n == ticks then
    clearInterval(id)
    local elapsed = (_PY.millitime() - start) * 1000
    local expected = period * ticks
    print("ticks", n)
    -- Generous upper bound for a loaded machine, still well below the 660 ms
    -- a drifting interval needs.
    print("within tolerance", elapsed >= expected - 2 and elapsed < expected + 100)
    if not (elapsed >= expected - 2 and elapsed < expected + 100) then
      io.stderr:write(("elapsed %.1f ms, expected %d\n"):format(elapsed, expected))
    end
  end
end, period)
