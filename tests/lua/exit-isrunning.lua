-- max-seconds: 0.8
-- _PY.isRunning(state) returning false ends the run promptly (after the batch,
-- not at the next once-a-second check), even with an
-- interval running; nil means "go on".
local ticks = 0
setInterval(function() ticks = ticks + 1 end, 10)
function _PY.isRunning(state)
  if ticks < 5 then return nil end
  print("stopping, timers:", state.active_timers)
  return false
end
