-- A user module next to the test scripts (tests/lua/lib/greeting.lua).
return { hello = function(who) return "hello " .. who end }
