-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- env: TZ=UTC
-- plugin.restart(): a fresh environment, the old timers gone, the device and
-- its internal storage kept; refreshStates?last=0 gives no events.
--%%id:5030
function QuickApp:onInit()
  local n = (self:internalStorageGet("n") or 0) + 1
  self:internalStorageSet("n", n)
  print("start", n, "global from before:", rawget(_ENV, "GLOBAL_FROM_BEFORE"))
  print("last=0 events", #api.get("/refreshStates?last=0").events)
  GLOBAL_FROM_BEFORE = true
  setTimeout(function() print("timer of run", n) end, 50)
  if n < 2 then plugin.restart() end
end
