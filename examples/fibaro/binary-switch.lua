--%%name:Binary Switch
--%%type:com.fibaro.binarySwitch
--%%description:A switch: turnOn/turnOff/toggle from the HC3, from scenes and from its buttons
--%%u:{{button="on", text="On", onReleased="turnOn"}, {button="off", text="Off", onReleased="turnOff"}}
--%%u:{label="state", text="off"}
-- Run: plua --fibaro examples/fibaro/binary-switch.lua
-- then: curl -X POST http://127.0.0.1:8888/api/devices/5000/action/turnOn -d '{"args":[]}'

function QuickApp:turnOn()
  self:updateProperty("value", true)
  self:updateView("state", "text", "on")
  self:debug("switched on")
end

function QuickApp:turnOff()
  self:updateProperty("value", false)
  self:updateView("state", "text", "off")
  self:debug("switched off")
end

function QuickApp:toggle()
  if fibaro.getValue(self.id, "value") then self:turnOff() else self:turnOn() end
end

function QuickApp:onInit()
  self:updateProperty("value", false)
  self:debug("Binary switch", self.id, "ready")
end
