-- min-seconds: 0.25
-- sleep() suspends the calling coroutine and really waits: in the main chunk
-- and inside a timer callback; other timers run meanwhile.
setTimeout(function() print("timer ran during main sleep") end, 50)
local t0 = _PY.millitime()
sleep(150)
print("main slept enough", (_PY.millitime() - t0) * 1000 >= 145)
setTimeout(function()
  local t1 = _PY.millitime()
  _PY.sleep(100)
  print("timer slept enough", (_PY.millitime() - t1) * 1000 >= 95)
end, 0)
print("main goes on")
print(pcall(function() local co = coroutine.wrap(function() return 1 end) return co() end))
