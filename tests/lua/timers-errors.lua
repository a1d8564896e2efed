-- exit: 1
-- stderr: timers-errors.lua:8: boom in timeout
-- stderr: stack traceback:
-- stderr: timers-errors.lua:14: interval error 1
-- An error in a callback is reported with file:line and a traceback, the run
-- goes on (intervals keep running), and the exit status is 1 at the end.
setTimeout(function()
  error("boom in timeout")
end, 10)
local n = 0
local id
id = setInterval(function()
  n = n + 1
  if n <= 2 then error("interval error " .. n) end
  if n == 4 then clearInterval(id) print("interval survived", n) end
end, 5)
setTimeout(function() print("still running") end, 50)
