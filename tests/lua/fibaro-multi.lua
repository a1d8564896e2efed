-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- script-args: fibaro-multi-b.lua
-- env: TZ=UTC
-- Two QuickApps in one run (the second is a script argument, found next to
-- this file): each has its own globals, quickApp, __TAG and plugin.mainDeviceId,
-- and they talk with fibaro.call.
--%%name:A
--%%id:5700

SHARED = "A's global"

function QuickApp:pong(n, from)
  self:debug("pong", n, "from", from)
  if n < 3 then fibaro.call(5701, "ping", n + 1, self.id) end
end

function QuickApp:onInit()
  self:debug("A onInit", __TAG, plugin.mainDeviceId, SHARED)
  setTimeout(function()
    print("A sees quickApp", quickApp.id, "B's global", rawget(_ENV, "B_ONLY"))
    fibaro.call(5701, "ping", 1, self.id)
  end, 10)
end
