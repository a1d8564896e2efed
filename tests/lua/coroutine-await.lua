-- The "await" pattern: the main chunk yields and a callback resumes it.
local co = coroutine.running()
setTimeout(function() coroutine.resume(co, "value from timer") end, 20)
print("waiting")
local v = coroutine.yield()
print("resumed with", v)
