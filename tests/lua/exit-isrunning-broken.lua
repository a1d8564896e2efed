-- exit: 1
-- max-seconds: 3
-- stderr: _PY.isRunning failed and is no longer called
-- stderr: hook exploded
-- A hook that raises is reported once and the run goes on (then ends when idle).
function _PY.isRunning() error("hook exploded") end
setTimeout(function() print("still running") end, 20)
setTimeout(function() print("last") end, 40)
