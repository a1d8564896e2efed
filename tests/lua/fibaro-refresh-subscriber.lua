-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- env: TZ=UTC
-- exit: 1
-- stderr: plua: 1 QuickApp error
-- RefreshStateSubscriber, the HC3 SDK class event libraries build on:
-- subscribe(filter, handler) → a subscription; run() delivers each event
-- reported after it (in the box's shape: type, created, data) to the handler
-- of every subscription whose filter accepts it; unsubscribe drops one;
-- stop() ends the deliveries. An error in a handler is logged and the next
-- events still come. Events come from the store: a property update, a
-- global variable change, a custom event.
--%%name:Events
--%%id:7330
function QuickApp:onInit()
  api.post("/globalVariables", { name = "G", value = "0" })
  api.post("/customEvents", { name = "Ping", userDescription = "" })
  local r = RefreshStateSubscriber()
  local seen = {}
  local props = r:subscribe(function(e) return e.type == "DevicePropertyUpdatedEvent" end,
    function(e)
      seen[#seen + 1] = string.format("prop %s %s=%s (was %s) %s", e.data.id, e.data.property,
        tostring(e.data.newValue), tostring(e.data.oldValue), math.type(e.created))
    end)
  r:subscribe(function(e) return e.type == "GlobalVariableChangedEvent" end,
    function(e) seen[#seen + 1] = "global " .. e.data.variableName .. "=" .. e.data.newValue end)
  r:subscribe(function(e) return e.type == "CustomEvent" end,
    function(e) error("handler failed on " .. e.data.name) end)
  self:updateProperty("value", true)      -- before run(): not delivered
  print("running before run()", r:isRunning())
  r:run()
  print("running after run()", r:isRunning())
  self:updateProperty("value", false)
  fibaro.setGlobalVariable("G", "1")
  fibaro.emitCustomEvent("Ping")
  fibaro.setGlobalVariable("G", "2")
  setTimeout(function()
    print(table.concat(seen, "; "))
    seen = {}
    r:unsubscribe(props)
    self:updateProperty("value", true)     -- no subscription for it any more
    fibaro.setGlobalVariable("G", "3")
    setTimeout(function()
      print(table.concat(seen, "; "))
      seen = {}
      r:stop()
      fibaro.setGlobalVariable("G", "4")   -- stopped: not delivered
      setTimeout(function() print("after stop", #seen, r:isRunning()) end, 10)
    end, 10)
  end, 10)
end
