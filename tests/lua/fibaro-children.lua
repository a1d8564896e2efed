-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- env: TZ=UTC
-- Child devices: createChildDevice, childDevices, actions routed to children,
-- initChildDevices, removeChildDevice, plugin.*.
--%%name:Parent
--%%type:com.fibaro.genericDevice
--%%id:5400

class 'Lamp' (QuickAppChild)
-- as on the box, self.parent is set only after the child object is made
function Lamp:__init(device)
  QuickAppChild.__init(self, device)
  self:debug("Lamp init", self.id, self.name, self.parentId, self.parent)
end
function Lamp:turnOn() self:updateProperty("value", true) self:debug("child on", self.id) end
function Lamp:setValue(v) self:updateProperty("value", v) self:debug("child setValue", self.id, v) end

function QuickApp:onInit()
  self:initChildDevices({ ["com.fibaro.binarySwitch"] = Lamp })
  local c1 = self:createChildDevice({ name = "Lamp 1", type = "com.fibaro.binarySwitch",
    initialProperties = { userDescription = "first" }, initialInterfaces = { "power" } }, Lamp)
  local c2 = self:createChildDevice({ name = "Lamp 2", type = "com.fibaro.multilevelSwitch" }, Lamp)
  print("children", c1.id, c2.id, self.childDevices[c1.id] == c1, c1.parent == self, c2.parent == self)
  local d = api.get("/devices/" .. c1.id)
  print("child device", d.parentId, d.name, d.properties.userDescription, json.encode(d.interfaces))
  print("plugin.getChildDevices", #plugin.getChildDevices(self.id))
  print("plugin.getProperty", plugin.getProperty(c1.id, "userDescription"))
  print("plugin.getDevice", plugin.getDevice(c2.id).type)
  print("filter", #api.get("/devices?parentId=" .. self.id))
  print("bad type", pcall(self.createChildDevice, self, { name = "x", type = "com.fibaro.nope" }))
  fibaro.call(c1.id, "turnOn")
  fibaro.call(c2.id, "setValue", 42)
  fibaro.call(c2.id, "notThere")
  setTimeout(function()
    print("values", fibaro.getValue(c1.id, "value"), fibaro.getValue(c2.id, "value"))
    self:removeChildDevice(c2.id)
    print("after remove", api.get("/devices/" .. c2.id) ~= nil, select(2, api.get("/devices/" .. c2.id)),
      self.childDevices[c2.id])
    -- re-initialising finds the remaining child without creating it twice
    self.childDevices = {}
    self:initChildDevices({ ["com.fibaro.binarySwitch"] = Lamp })
    local n = 0
    for _ in pairs(self.childDevices) do n = n + 1 end
    print("initChildDevices", n, self.childDevices[c1.id].parent == self)
    local _, status = plugin.deleteDevice(c1.id)
    print("plugin.deleteDevice", status, fibaro.getType(c1.id))
  end, 20)
end
