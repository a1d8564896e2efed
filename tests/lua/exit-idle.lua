-- max-seconds: 2
-- A script ends by itself when nothing is pending, like Node.js.
setTimeout(function() print("last timer") end, 100)
print("main done")
