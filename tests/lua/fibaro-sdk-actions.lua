-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- exit: 1
-- stderr: plua: 2 QuickApp errors
-- env: TZ=UTC
-- onAction / onUIEvent routing as the HC3 does it: fibaro.call, REST actions
-- (POST /devices/{id}/action, GET /callAction) with their arguments, a
-- missing method, errors; UI events from --%%u rows and registerUICallback,
-- every element kind, `__action` elements, UIAction, GET and POST
-- /plugins/callUIEvent; actionHandler and UIHandler taking everything.
--%%name:Actions
--%%type:com.fibaro.binarySwitch
--%%id:7010
--%%u:{button="btn", text="Press", onReleased="pressed", onLongPressDown="held"}
--%%u:{slider="sld", text="Level", onChanged="levelChanged"}
--%%u:{{switch="sw", text="Sw", onReleased="switched"}, {select="sel", text="Pick", options={{text="A", value="a"}, {text="B", value="b"}}, onToggled="selected"}}
--%%u:{button="plain", text="No callback"}
--%%u:{button="__turnOn", text="On"}

local function ev(e)
  return string.format("%s/%s/%s", e.elementName, e.eventType, json.encode(e.values))
end

function QuickApp:turnOn() self:updateProperty("value", true) self:debug("turnOn") end
function QuickApp:turnOff() self:updateProperty("value", false) self:debug("turnOff") end
function QuickApp:setValue(...)
  local args = table.pack(...)
  local shown = {}
  for i = 1, args.n do
    local a = args[i]
    shown[i] = type(a) .. ":" .. (type(a) == "table" and json.encode(a) or tostring(a))
  end
  self:debug("setValue", args.n, table.concat(shown, " "))
end
function QuickApp:fail() error("action failed") end
function QuickApp:pressed(e) self:debug("pressed", ev(e), e.deviceId == self.id) end
function QuickApp:held(e) self:debug("held", ev(e)) end
function QuickApp:levelChanged(e) self:debug("levelChanged", ev(e)) end
function QuickApp:switched(e) self:debug("switched", ev(e)) end
function QuickApp:selected(e) self:debug("selected", ev(e)) end
function QuickApp:byName(e) self:debug("registered by name", ev(e)) end

-- registerUICallback: a method name or a function; replaces a row's callback
function QuickApp:registerPhase()
  self:registerUICallback("plain", "onReleased", "byName")
  self:registerUICallback("plain", "onLongPressDown", function(qa, e) qa:debug("registered function", ev(e)) end)
  self:registerUICallback("btn", "onReleased", function() error("callback failed") end)
  self:UIAction("onReleased", "plain")
  self:UIAction("onLongPressDown", "plain")
  -- a failing callback is logged; the QuickApp goes on
  self:UIAction("onReleased", "btn")
  fibaro.call(self.id, "installHandlers")
end

function QuickApp:installHandlers()
  self:debug("installing actionHandler and UIHandler")
  function self:actionHandler(e)
    self:debug("actionHandler", e.deviceId, e.actionName, json.encode(e.args))
  end
  function self:UIHandler(e) self:debug("UIHandler", ev(e)) end
  fibaro.call(self.id, "turnOn", 1, 2)
  self:UIAction("onChanged", "sld", 99)
end

function QuickApp:onInit()
  local id = self.id
  local cbs = {}
  for _, cb in ipairs(api.get("/devices/" .. id).properties.uiCallbacks) do
    cbs[#cbs + 1] = cb.name .. ":" .. cb.eventType .. "=" .. cb.callback
  end
  print("uiCallbacks", table.concat(cbs, " "))

  -- actions run after onInit, in the order they were sent
  fibaro.call(id, "turnOn")
  print("fibaro.call returns before the action ran:", fibaro.getValue(id, "value"))
  fibaro.call({ id }, "turnOff")
  fibaro.call(id, "setValue", 1, "two", true, { 3 })
  local data, status = api.post("/devices/" .. id .. "/action/setValue", { args = { 5, "x" } })
  print("POST action", status, data.message)
  data, status = api.get("/callAction?deviceID=" .. id .. "&name=setValue&arg1=7&arg2=8")
  print("GET callAction", status)
  print("GET action", select(2, api.get("/devices/" .. id .. "/action/setValue?arg1=a")))
  print("POST without args", select(2, api.post("/devices/" .. id .. "/action/turnOn")))
  print("unknown action", select(2, api.post("/devices/" .. id .. "/action/noSuchAction", { args = {} })))
  print("unknown device", select(2, api.post("/devices/4242/action/turnOn", { args = {} })))
  print("bad args", select(2, api.post("/devices/" .. id .. "/action/turnOn", { args = "x" })))
  fibaro.call(id, "fail")

  -- UI events: the callbacks named in the rows get the event
  self:UIAction("onReleased", "btn")
  self:UIAction("onLongPressDown", "btn")
  self:UIAction("onChanged", "sld", 55)
  api.post("/plugins/callUIEvent", { deviceID = id, elementName = "sw", eventType = "onReleased", values = { true } })
  api.post("/plugins/callUIEvent", { deviceID = id, elementName = "sel", eventType = "onToggled", values = { "b" } })
  print("GET callUIEvent", select(2, api.get("/plugins/callUIEvent?deviceID=" .. id
    .. "&elementName=sld&eventType=onChanged&value=12")))
  print("callUIEvent 404", select(2, api.post("/plugins/callUIEvent", { deviceID = 4242, elementName = "x" })))
  print("callUIEvent 400", select(2, api.post("/plugins/callUIEvent", { deviceID = id })))
  -- an element without a callback, an unknown one, an unknown event type
  self:UIAction("onReleased", "plain")
  self:UIAction("onReleased", "unknownElement")
  self:UIAction("onChanged", "btn")
  -- an element named __<action> calls that action
  self:UIAction("onReleased", "__turnOff")
  -- the next phase runs after these events
  fibaro.call(id, "registerPhase")
  setTimeout(function()
    print("value", fibaro.getValue(id, "value"))
  end, 50)
end
