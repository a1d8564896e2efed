-- exit: 1
-- stderr: exit-main-error.lua:6: main failed
-- An error in the main script ends the run with status 1; pending timers die.
setTimeout(function() print("never") end, 50)
print("before")
error("main failed")
