-- args: --run-for 0.4
-- min-seconds: 0.35
-- max-seconds: 2
-- --run-for N > 0: at least N seconds, then exit when idle.
setTimeout(function() print("short timer") end, 10)
