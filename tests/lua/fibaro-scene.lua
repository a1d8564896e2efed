-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- exit: 1
-- stderr: plua: 1 QuickApp error
-- env: TZ=UTC
-- Lua scenes: a scene's actions run in their own environment when executed
-- (fibaro.scene, api.post /scenes/{id}/execute), log as SCENE<id>, see
-- sourceTrigger, may use timers and sleep; an error is logged and the rest
-- goes on; kill stops a running scene (its timers and its sleeping code).
--%%name:SceneDriver
--%%id:5800

local function scene(name, actions)
  local s, status = api.post("/scenes", { name = name, type = "lua",
    content = json.encode({ conditions = "{}", actions = actions }) })
  return s.id, status
end

function QuickApp:onInit()
  local hello, status = scene("Hello", [[
    print("hello from", sourceTrigger.type, sourceTrigger.property, sourceTrigger.id)
    fibaro.debug("mytag", "api says", (api.get("/devices/5800")).name)
    local v = json.decode(json.encode({ x = 1 }))
    fibaro.setTimeout(50, function() print("timer fired", v.x, quickApp, QuickApp) end)
    hub.setGlobalVariable("SceneVar", "set by scene")
  ]])
  print("created", hello, status)
  api.post("/globalVariables", { name = "SceneVar", value = "" })
  local broken = scene("Broken", [[
    print("before the error")
    local t = nil
    print(t.field)
  ]])
  local long = scene("Long", [[
    print("long starts")
    setTimeout(function() print("long timer: must not run") end, 300)
    fibaro.sleep(200)
    print("long after sleep: must not run")
  ]])
  fibaro.scene("execute", { hello, broken })
  print("execute long", select(2, api.post("/scenes/" .. long .. "/execute", {})))
  fibaro.sleep(100)
  print("isRunning", api.get("/scenes/" .. hello).isRunning, api.get("/scenes/" .. long).isRunning)
  print("global", (fibaro.getGlobalVariable("SceneVar")))
  fibaro.scene("kill", { long })
  print("killed, isRunning", api.get("/scenes/" .. long).isRunning)
  fibaro.sleep(400)
  local events = {}
  for _, e in ipairs(api.get("/refreshStates?last=1&wait=0").events) do
    if e.type:match("^Scene") then events[#events + 1] = e.type:sub(6, -6) .. e.data.id end
  end
  print("events", table.concat(events, " "))
  print("execute missing", select(2, api.post("/scenes/999/execute", {})))
  print("bad content", select(2, api.post("/scenes/" .. scene("Bad", nil) .. "/execute", {})))
end
