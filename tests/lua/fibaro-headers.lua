-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- env: TZ=UTC
-- stderr: fibaro-headers.lua:13: unknown header key 'colour' - ignored
-- Header directives: both forms, every kind of value, the end-of-headers marker.
--%%name:Header Test
--%%type:com.fibaro.multilevelSwitch
--%%id:5100
--%%var:text="hello" -- a comment the Lua parser ignores
--%%var:tbl={1, 2, x = 3}
--%%var=old:40 + 2
--%%name=Old Form Name -- trailing comment dropped
--%%interfaces:{"power", "energy"}
--%%colour:blue
--%%description:A QuickApp for tests
--%%u:{label="lbl", text="Label"}
--%%u:{{button="b1", text="On", onReleased="turnOn"}, {button="b2", text="Off"}}
--%%u:{slider="s1", min=0, max=99, onChanged="setValue"}
--%%file:fibaro-headers-lib.lua,lib
-- --------------- EOH ---------------
--%%name:after the marker: not a directive

function QuickApp:onInit()
  local d = api.get("/devices/" .. self.id)
  print(d.id, d.name, d.type, d.baseType)
  print(json.encode(d.interfaces))
  print(d.properties.userDescription)
  for _, v in ipairs(d.properties.quickAppVariables) do print(v.name, json.encode(v.value)) end
  print(self:getVariable("text"), self:getVariable("old"), self:getVariable("missing") == "")
  for _, cb in ipairs(d.properties.uiCallbacks) do print(cb.name, cb.eventType, cb.callback) end
  print(#d.properties.viewLayout["$jason"].body.sections.items)
  print(LIB_LOADED, libFunction())
end
