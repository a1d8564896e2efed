-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- env: TZ=UTC
-- A file with --%%scene:true is a Lua scene, not a QuickApp: its code is the
-- scene's actions, run once at start with the HC3's scene globals.
--%%scene:true
--%%name:Morning
--%%id:42

print("scene", __TAG, sourceTrigger.type, type(QuickApp), type(plugin))
local s = api.get("/scenes/42")
print("stored", s.name, s.type, s.isRunning, json.decode(s.content).conditions)
print("devices", #api.get("/devices"))
fibaro.setTimeout(10, function() print("timer in scene") end)
