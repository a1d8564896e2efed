-- args: --duration 0.5
-- max-seconds: 5
-- --duration ends a run whose callbacks re-arm 0 ms timers forever.
local n = 0
local function chain() n = n + 1 setTimeout(chain, 0) end
chain()
setInterval(function() n = n + 1 end, 0)
print("started")
