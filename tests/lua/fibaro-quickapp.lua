-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- exit: 1
-- stderr: plua: 2 QuickApp errors
-- env: TZ=UTC
-- QuickAppBase/QuickApp methods: properties, view, variables, actions, name,
-- enabled, visible, interfaces, internal storage, UI routing, errors.
--%%name:SDK
--%%type:com.fibaro.binarySwitch
--%%id:5200
--%%var:v1=10
--%%u:{{button="b1", text="B1", onReleased="pressed"}, {button="b2", text="B2"}}

function QuickApp:turnOn(a, b) self:updateProperty("value", true) self:debug("turnOn", a, b) end
function QuickApp:pressed(ev) self:debug("pressed", ev.elementName, ev.eventType, json.encode(ev.values)) end
function QuickApp:crash() error("action failed") end

function QuickApp:onInit()
  self:debug("debug", 1, true, nil)
  self:trace("trace")
  self:warning("warning")
  self:error("error")
  print("print", "<b>bold</b> &amp; <font color=red>red</font>")
  -- properties
  self:updateProperty("value", true)
  print("value", fibaro.getValue(self.id, "value"), self.properties.value)
  self:updateProperty("log", "text")
  print("log", fibaro.getValue(self.id, "log"))
  print("nil value", pcall(self.updateProperty, self, "value", nil))
  -- variables
  print("getVariable", self:getVariable("v1"), self:getVariable("nope") == "")
  self:setVariable("v1", 11)
  self:setVariable("v2", "new")
  print("setVariable", self:getVariable("v1"), self:getVariable("v2"))
  -- view
  self:updateView("b1", "text", "Pressed?")
  print("view", api.get("/plugins/getView?id=" .. self.id).b1.text)
  -- name / enabled / visible
  self:setName("Renamed")
  self:setEnabled(false)
  self:setVisible(false)
  local d = api.get("/devices/" .. self.id)
  print("device", d.name, d.enabled, d.visible, self.name)
  -- interfaces
  self:addInterfaces({ "battery", "power" })
  print("hasInterface", self:hasInterface("battery"), self:hasInterface("zwave"))
  self:deleteInterfaces({ "battery" })
  print("interfaces", json.encode(api.get("/devices/" .. self.id).interfaces))
  -- internal storage
  self:internalStorageSet("k", { a = 1 })
  self:internalStorageSet("h", "hidden", true)
  print("storage", json.encode(self:internalStorageGet("k")), self:internalStorageGet("h"))
  print("storage api", api.get("/plugins/" .. self.id .. "/variables/h").isHidden)
  self:internalStorageRemove("k")
  print("removed", self:internalStorageGet("k"))
  self:internalStorageClear()
  print("cleared", self:internalStorageGet("h"))
  -- callAction directly, and a missing method
  self:callAction("turnOn", "x", 2)
  self:callAction("missing")
  -- actions and UI events are queued: they run after onInit
  fibaro.call(self.id, "turnOn", "via", "fibaro.call")
  fibaro.call(self.id, "crash")
  fibaro.call(self.id, "noSuchAction")
  self:UIAction("onReleased", "b1", 5)
  self:UIAction("onReleased", "b2")
  self:UIAction("onReleased", "__turnOn")
  setTimeout(function() self:debug("after the queue") end, 20)
  error("onInit failed")
end
