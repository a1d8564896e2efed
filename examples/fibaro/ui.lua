--%%name:UI Demo
--%%type:com.fibaro.multilevelSwitch
--%%u:{label="status", text="Level: 0"}
--%%u:{{button="up", text="+10", onReleased="up"}, {button="down", text="-10", onReleased="down"}}
--%%u:{slider="level", text="Level", min=0, max=99, onChanged="slide"}
--%%u:{switch="power", text="Power", onReleased="power"}
--%%u:{select="mode", text="Mode", options={{text="Eco", value="eco"}, {text="Comfort", value="comfort"}}, onToggled="mode"}
-- Run: plua --fibaro examples/fibaro/ui.lua
-- then: curl -X POST http://127.0.0.1:8888/api/plugins/callUIEvent \
--         -d '{"deviceID":5000,"elementName":"up","eventType":"onReleased","values":[]}'

function QuickApp:show(level)
  level = math.max(0, math.min(99, level))
  self.level = level
  self:updateProperty("value", level)
  self:updateView("status", "text", "Level: " .. level)
  self:updateView("level", "value", tostring(level))
  self:debug("level", level)
end

function QuickApp:up() self:show(self.level + 10) end
function QuickApp:down() self:show(self.level - 10) end
function QuickApp:slide(event) self:show(tonumber(event.values[1]) or 0) end
function QuickApp:power(event) self:debug("power", tostring(event.values[1])) end
function QuickApp:mode(event) self:debug("mode", tostring(event.values[1])) end
function QuickApp:setValue(level) self:show(tonumber(level) or 0) end

function QuickApp:onInit()
  self.level = 0
  self:debug("UI ready")
end
