-- Timers fire by due time; equal due times in creation order; never inside
-- the code that created them; extra arguments are passed on.
local fired = false
setTimeout(function() fired = true end, 0)
print("sync code sees fired =", fired)

setTimeout(function() print("30 ms") end, 30)
setTimeout(function() print("10 ms") end, 10)
for i = 1, 3 do setTimeout(function() print("equal", i) end, 20) end
setTimeout(function(a, b, c) print("args", a, b, c) end, 5, "x", 42, nil)
setTimeout(function() print("negative delay runs soon") end, -5)
setTimeout(function() print("float delay") end, 12.5)

local cancelled = setTimeout(function() print("never printed") end, 15)
clearTimeout(cancelled)
clearTimeout(cancelled)        -- twice is fine
clearTimeout(123456)           -- unknown ids are ignored
clearTimeout(nil)
clearInterval("nonsense")

-- A zero-delay timer created by a callback runs after those already due.
setTimeout(function()
  setTimeout(function() print("created by callback") end, 0)
  print("outer")
end, 40)
setTimeout(function() print("same time as outer") end, 40)

-- clearTimeout works on an interval id and from inside the callback.
local n = 0
local iv
iv = setInterval(function()
  n = n + 1
  if n == 2 then clearTimeout(iv) end
end, 5)
setTimeout(function() print("interval ran", n, "times") end, 60)
