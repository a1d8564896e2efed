-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- env: TZ=UTC
-- The second QuickApp of fibaro-multi.lua; alone it just starts.
--%%name:B
--%%id:5701

SHARED = "B's global"
B_ONLY = true

function QuickApp:ping(n, from)
  self:debug("ping", n, "from", from)
  fibaro.call(from, "pong", n, self.id)
end

function QuickApp:onInit()
  self:debug("B onInit", __TAG, plugin.mainDeviceId, SHARED)
end
