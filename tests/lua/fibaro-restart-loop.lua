-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end" --duration 2
-- env: TZ=UTC
-- max-seconds: 8
-- min-seconds: 1.9
-- A QuickApp that restarts from onInit, over and over, backs off (0 s, 0.5 s,
-- 1 s, 2 s ...: 4 starts in 2 s) and --duration still ends the run.
--%%id:5031
function QuickApp:onInit()
  local n = (self:internalStorageGet("n") or 0) + 1
  self:internalStorageSet("n", n)
  if n <= 3 then print("start", n) end
  if n == 5 then print("a fifth start within 2 s: no back-off") end
  plugin.restart()
end
