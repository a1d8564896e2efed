--%%name:Dimmer Bridge
--%%type:com.fibaro.genericDevice
--%%var:lamps=2
--%%description:A bridge QuickApp with one dimmer child device per lamp
-- Run: plua --fibaro examples/fibaro/dimmer-children.lua
-- Child devices are created on the first run and found again by
-- initChildDevices after that (with a --%%state file, across runs).

class 'Dimmer' (QuickAppChild)

function Dimmer:__init(device)
  QuickAppChild.__init(self, device)
  self:debug("dimmer", self.id, self.name, "attached")
end

function Dimmer:setValue(level)
  level = math.max(0, math.min(99, tonumber(level) or 0))
  self:updateProperty("value", level)
  self:updateProperty("state", level > 0)
  self:debug(self.name, "level", level)
end

function Dimmer:turnOn() self:setValue(99) end
function Dimmer:turnOff() self:setValue(0) end

-- The parent's own action dims every lamp at once.
function QuickApp:setValue(level)
  for _, child in pairs(self.childDevices) do child:setValue(level) end
end

function QuickApp:onInit()
  self:initChildDevices({ ["com.fibaro.multilevelSwitch"] = Dimmer })
  local wanted = tonumber(self:getVariable("lamps")) or 0
  local have = 0
  for _ in pairs(self.childDevices) do have = have + 1 end
  for i = have + 1, wanted do
    self:createChildDevice({ name = "Lamp " .. i, type = "com.fibaro.multilevelSwitch" }, Dimmer)
  end
  local ids = {}
  for id in pairs(self.childDevices) do ids[#ids + 1] = id end
  table.sort(ids)
  self:debug("children", table.concat(ids, ","))
end
