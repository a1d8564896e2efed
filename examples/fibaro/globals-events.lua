--%%name:Globals and Events
--%%type:com.fibaro.genericDevice
--%%description:Counts in a global variable, announces it with a custom event, and watches /api/refreshStates
-- Run: plua --fibaro examples/fibaro/globals-events.lua
-- then: curl -X PUT http://127.0.0.1:8888/api/globalVariables/Counter -d '{"value":"100"}'

function QuickApp:watch()
  -- the box's event stream, as a QuickApp reads it: poll refreshStates
  local res = api.get("/refreshStates?wait=0&last=" .. self.last)
  self.last = res.last
  for _, ev in ipairs(res.events) do
    if ev.type == "GlobalVariableChangedEvent" and ev.data.variableName == "Counter" then
      self:debug("Counter changed", ev.data.oldValue, "->", ev.data.newValue)
    elseif ev.type == "CustomEvent" then
      self:debug("custom event", ev.data.name)
    end
  end
end

function QuickApp:onInit()
  if not fibaro.getGlobalVariable("Counter") then
    api.post("/globalVariables", { name = "Counter", value = "0" })
  end
  api.post("/customEvents", { name = "CounterTick", userDescription = "the counter moved" })
  self.last = api.get("/refreshStates").last
  setInterval(function() self:watch() end, 100)
  local n = 0
  setInterval(function()
    if n < 3 then
      n = n + 1
      fibaro.setGlobalVariable("Counter", tostring(tonumber((fibaro.getGlobalVariable("Counter"))) + 1))
      fibaro.emitCustomEvent("CounterTick")
    end
  end, 250)
  self:debug("Counter is", (fibaro.getGlobalVariable("Counter")))
end
