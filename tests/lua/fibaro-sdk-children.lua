-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- env: TZ=UTC
-- no-stderr
-- Child devices as on the box: initChildDevices (a class per type, the base
-- class with an error line otherwise), createChildDevice (the device, its
-- class, the quickAppChild interface, the event), childDevices, the child's
-- own QuickAppBase methods, actions routed to children, removeChildDevice.
--%%name:Parent
--%%type:com.fibaro.genericDevice
--%%id:7020

class 'Switch' (QuickAppChild)
function Switch:__init(device)
  QuickAppChild.__init(self, device)
  self:debug("Switch __init", self.id, self.name, self.parentId)
end
function Switch:turnOn() self:updateProperty("value", true) self:debug("child turnOn", self.id) end
function Switch:setValue(v) self:updateProperty("value", v) self:debug("child setValue", self.id, v) end

class 'Sensor' (QuickAppChild)
-- a child's onInit runs when its object is made, before the box sets
-- self.parent (createChildDevice/initChildDevices do that afterwards)
function Sensor:onInit() self:debug("Sensor onInit", self.id, self.name, self.parent) end

local function eventTypes(last)
  local out = {}
  for _, e in ipairs(api.get("/refreshStates?last=" .. last .. "&wait=0").events) do
    out[#out + 1] = e.type .. "(" .. tostring(e.data.id) .. ")"
  end
  return table.concat(out, " ")
end

function QuickApp:onInit()
  -- children that exist already (made here through plugin.*) get objects
  -- from initChildDevices: the mapped class, else QuickAppChild and an error
  local d1 = plugin.createChildDevice({ parentId = self.id, name = "Pre 1", type = "com.fibaro.binarySwitch" })
  local d2 = plugin.createChildDevice({ parentId = self.id, name = "Pre 2", type = "com.fibaro.temperatureSensor" })
  print("before initChildDevices", self.childDevices[d1.id])
  self:initChildDevices({ ["com.fibaro.binarySwitch"] = Switch })
  local c1, c2 = self.childDevices[d1.id], self.childDevices[d2.id]
  print("initChildDevices", tostring(c1), tostring(c2), c1.parent == self, c2.parent == self)
  self:initChildDevices({ ["com.fibaro.binarySwitch"] = Switch })
  print("a second call keeps the objects", self.childDevices[d1.id] == c1)

  -- createChildDevice: the device in the store, an object of the class
  local last = api.get("/refreshStates").last
  local c3 = self:createChildDevice({ name = "New", type = "com.fibaro.binarySwitch",
    initialProperties = { userDescription = "made by createChildDevice" },
    initialInterfaces = { "battery" } }, Switch)
  local c4 = self:createChildDevice({ name = "Temp", type = "com.fibaro.temperatureSensor" }, Sensor)
  local c5 = self:createChildDevice({ name = "Plain", type = "com.fibaro.binarySwitch" })
  print("created", tostring(c3), tostring(c4), tostring(c5), self.childDevices[c3.id] == c3,
    c4.parent == self)
  print("events", eventTypes(last))
  local d = api.get("/devices/" .. c3.id)
  print("device", d.parentId, d.name, d.type, d.roomID, d.properties.userDescription)
  print("interfaces", json.encode(d.interfaces))
  local n = 0
  for _ in pairs(self.childDevices) do n = n + 1 end
  print("childDevices", n, #api.get("/devices?parentId=" .. self.id))
  print("no type", pcall(self.createChildDevice, self, { name = "x" }))
  print("unknown type", pcall(self.createChildDevice, self, { name = "x", type = "com.fibaro.nope" }))

  -- a child's own methods act on the child's device; logs carry the QA's tag
  c3:debug("child debug")
  c3:updateProperty("value", true)
  c3:setVariable("cv", 5)
  print("child", fibaro.getValue(c3.id, "value"), c3:getVariable("cv"), self:getVariable("cv") == "",
    c3.properties.value)
  c3:setName("New renamed")
  print("child setName", fibaro.getName(c3.id), fibaro.getName(self.id))
  print("child interfaces", c3:hasInterface("battery"), c3:hasInterface("quickAppChild"))
  c3:internalStorageSet("k", "child value")
  self:internalStorageSet("k", "parent value")
  print("child storage", c3:internalStorageGet("k"), self:internalStorageGet("k"))
  print("child callAction", c3:callAction("setValue", 7) == nil, fibaro.getValue(c3.id, "value"))

  -- actions to children reach the child's method
  fibaro.call(c3.id, "turnOn")
  fibaro.call(c1.id, "setValue", 3)
  fibaro.call(c5.id, "turnOn")
  api.post("/devices/" .. c3.id .. "/action/setValue", { args = { 9 } })
  setTimeout(function() self:phase2(c1, c3, c5) end, 10)
end

function QuickApp:phase2(c1, c3, c5)
  print("values", fibaro.getValue(c1.id, "value"), fibaro.getValue(c3.id, "value"),
    fibaro.getValue(c5.id, "value"))
  -- a child device without an object
  self.childDevices[c5.id] = nil
  fibaro.call(c5.id, "turnOn")
  setTimeout(function()
    -- removeChildDevice: gone from the store and from childDevices, an event
    local last = api.get("/refreshStates").last
    self:removeChildDevice(c3.id)
    print("removeChildDevice", select(2, api.get("/devices/" .. c3.id)), self.childDevices[c3.id],
      eventTypes(last))
    print("its storage", select(2, api.get("/plugins/" .. c3.id .. "/variables")))
    -- not a child of this QuickApp: nothing happens
    self:removeChildDevice(self.id)
    print("self still there", fibaro.getName(self.id))
    -- the other children stay
    local ids = fibaro.getDevicesID({ parentId = self.id })
    print("children left", json.encode(ids))
  end, 10)
end
