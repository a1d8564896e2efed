-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end" --duration 0.5
-- env: TZ=UTC
-- max-seconds: 5
-- A QuickApp fibaro.call-ing itself forever: --duration still ends the run.
--%%id:5032
local n = 0
function QuickApp:ping()
  n = n + 1
  if n == 1 then print("first ping") end
  fibaro.call(self.id, "ping")
end
function QuickApp:onInit() self:ping() end
