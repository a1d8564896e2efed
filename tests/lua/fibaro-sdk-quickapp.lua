-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- env: TZ=UTC
-- no-stderr
-- QuickAppBase methods as a QuickApp developer sees them: console lines (and
-- /api/debugMessages), updateProperty (device, events, unchanged values),
-- updateView, setVariable/getVariable, callAction, setName/setEnabled/
-- setVisible, interfaces, internal storage (and its REST view).
--%%name:SdkQA
--%%type:com.fibaro.multilevelSwitch
--%%id:7000
--%%var:level=42
--%%var:cfg={a=1}

-- The events appended since `last`, one short line each.
local function eventsSince(last)
  local rs = api.get("/refreshStates?last=" .. last .. "&wait=0")
  local out = {}
  for _, e in ipairs(rs.events) do
    local d = e.data
    out[#out + 1] = e.type .. "(" .. tostring(d.property or d.elementName or d.id)
      .. (d.newValue ~= nil and ("=" .. json.encode(d.newValue)) or "") .. ")"
  end
  return table.concat(out, " ")
end

function QuickApp:sum(a, b) return a + b end

function QuickApp:onInit()
  -- logging: arguments joined with spaces after tostring, the QA's tag
  self:debug("debug", 1, 2.5, true, nil, "end")
  self:trace("trace")
  self:warning("warning")
  self:error("error")
  self:debug()
  print("print", "is", "debug")
  local msgs = api.get("/debugMessages").messages
  print("debugMessages", #msgs, msgs[1].type, msgs[1].tag, msgs[1].message, msgs[2].type, msgs[3].type)
  print("tag", __TAG, self.id, self.name, self.type)

  -- updateProperty: the device, one event per real change, modified time
  local last = api.get("/refreshStates").last
  self:updateProperty("value", 50)
  self:updateProperty("value", 50)
  self:updateProperty("state", true)
  self:updateProperty("log", "")
  print("events", eventsSince(last))
  local dev = api.get("/devices/" .. self.id)
  print("device", dev.properties.value, dev.properties.state, type(dev.modified))
  print("self.properties follows", self.properties.value, self.properties.state)
  print("fibaro.getValue", fibaro.getValue(self.id, "value"), select(2, fibaro.get(self.id, "value")) == dev.modified)
  print("a new property", pcall(self.updateProperty, self, "myProp", { x = 1 }),
    json.encode(fibaro.getValue(self.id, "myProp")))
  print("bad name", pcall(self.updateProperty, self, 42, 1))

  -- updateView: kept per element, an event, seen on /plugins/getView
  last = api.get("/refreshStates").last
  self:updateView("label1", "text", "Hello")
  self:updateView("slider1", "value", "33")
  print("view", eventsSince(last))
  local view = api.get("/plugins/getView?id=" .. self.id)
  print("getView", view.label1.text, view.slider1.value)

  -- quickAppVariables: --%%var values, "" when missing, update and append
  print("getVariable", self:getVariable("level"), json.encode(self:getVariable("cfg")),
    self:getVariable("missing") == "", type(self:getVariable("missing")))
  self:setVariable("level", 43)
  self:setVariable("added", "yes")
  local vars = api.get("/devices/" .. self.id).properties.quickAppVariables
  local shown = {}
  for _, v in ipairs(vars) do shown[#shown + 1] = v.name .. "=" .. json.encode(v.value) end
  print("quickAppVariables", table.concat(shown, " "))
  print("setVariable", self:getVariable("level"), self:getVariable("added"))

  -- callAction: calls the method with the arguments and returns its results
  print("callAction", self:callAction("sum", 2, 3))
  self:callAction("nothing", 1)

  -- setName / setEnabled / setVisible: the device record, DeviceModifiedEvent
  last = api.get("/refreshStates").last
  self:setName("Renamed QA")
  self:setEnabled(false)
  self:setVisible(false)
  dev = api.get("/devices/" .. self.id)
  print("setName", dev.name, self.name, fibaro.getName(self.id))
  print("setEnabled/setVisible", dev.enabled, dev.visible, eventsSince(last))
  self:setEnabled(true)
  self:setVisible(true)
  dev = api.get("/devices/" .. self.id)
  print("enabled again", dev.enabled, dev.visible)

  -- interfaces
  print("hasInterface", self:hasInterface("quickApp"), self:hasInterface("levelChange"),
    self:hasInterface("battery"))
  self:addInterfaces({ "battery", "energy" })
  print("addInterfaces", self:hasInterface("battery"), self:hasInterface("energy"),
    json.encode(api.get("/devices/" .. self.id).interfaces))
  self:deleteInterfaces({ "energy" })
  print("deleteInterfaces", self:hasInterface("energy"), json.encode(self.interfaces))
  print("interface filter", #api.get("/devices?interface=battery"))

  -- internal storage: any Lua value, overwritten, hidden flag, all of it
  self:internalStorageSet("counter", 1)
  self:internalStorageSet("counter", 2)
  self:internalStorageSet("tbl", { list = { 1, 2 }, on = true })
  self:internalStorageSet("secret", "pw", true)
  print("internalStorageGet", self:internalStorageGet("counter"), json.encode(self:internalStorageGet("tbl")),
    self:internalStorageGet("secret"), self:internalStorageGet("none"))
  local all = self:internalStorageGet()
  print("all", all.counter, all.secret, all.tbl.on)
  local list = api.get("/plugins/" .. self.id .. "/variables")
  shown = {}
  for _, v in ipairs(list) do shown[#shown + 1] = v.name .. (v.isHidden and "(hidden)" or "") end
  print("REST variables", table.concat(shown, " "))
  self:internalStorageRemove("counter")
  print("internalStorageRemove", self:internalStorageGet("counter"), select(2, api.get("/plugins/" .. self.id .. "/variables/counter")))
  self:internalStorageClear()
  print("internalStorageClear", self:internalStorageGet("tbl"), #api.get("/plugins/" .. self.id .. "/variables"))
  -- set over REST, seen by the QuickApp
  api.post("/plugins/" .. self.id .. "/variables", { name = "fromRest", value = "r" })
  print("from REST", self:internalStorageGet("fromRest"))
end
