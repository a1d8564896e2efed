-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- env: TZ=UTC
-- stderr: fibaro-directives-compat.lua:19: --%%merge is accepted and ignored: plua does not concatenate files
-- stderr: fibaro-directives-compat.lua:20: --%%webui is accepted and ignored: the QuickApp's UI is on the REST server's web page
-- stderr: fibaro-directives-compat.lua:21: --%%desktop is accepted and ignored: plua opens no desktop window
-- Directives QuickApps written for the other emulators carry: a space after
-- --%% switches a line off (a comment, even when its value would be wrong);
-- --%%time takes MM/DD HH:MM[:SS] (this year); --%%property sets initial
-- properties (Lua values); merge, webui and desktop are accepted with one
-- note each on stderr naming what plua does instead.
--%%name:Compat
--%%id:7310
--%% id:not-a-number
--%% type:com.fibaro.noSuchType
--%%time:12/24 18:30:05
--%%property:manufacturer="Acme"
--%%property:model={ "a", 2 }
--%% speed:24*7
--%%merge:a.lua,b.lua=c.lua
--%%webui:true
--%%desktop:true
function QuickApp:onInit()
  local t = os.date("*t")
  -- the clock runs from 18:30:05: a slow start may have taken a few seconds
  print(self.id, self.type, t.month, t.day, t.hour, t.min, t.sec >= 5 and t.sec < 30,
    t.year == tonumber(os.date("%Y", math.floor(_PY.millitime()))))
  print(fibaro.getValue(self.id, "manufacturer"), json.encode(fibaro.getValue(self.id, "model")))
end
