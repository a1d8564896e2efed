-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- env: TZ=UTC
-- no-stderr
-- The device types QuickApps are made of that the HC3's own QuickApp type
-- list has beside the captured ones: the thermostats, setpoint-only
-- thermostats, hvacSystemHeatCool, waterLeakSensor and windowCovering. Each
-- is a QuickApp's (or child's) type with the baseType, interfaces, actions
-- and properties Fibaro's templates give it: thermostats handle
-- setThermostatMode and the heating/cooling setpoint actions and report
-- supportedThermostatModes, thermostatMode, the setpoints and temperature.
--%%name:Climate
--%%type:com.fibaro.thermostat
--%%id:7300
local TYPES = { "thermostatCool", "thermostatHeat", "thermostatHeatCool", "thermostatSetpoint",
  "thermostatSetpointCool", "thermostatSetpointHeat", "thermostatSetpointHeatCool",
  "hvacSystemHeatCool", "waterLeakSensor", "windowCovering" }

local function describe(id)
  local d = api.get("/devices/" .. id)
  local actions = {}
  for name, n in pairs(d.actions) do actions[#actions + 1] = name .. "/" .. n end
  table.sort(actions)
  local props = {}
  for _, p in ipairs({ "thermostatMode", "heatingThermostatSetpoint", "coolingThermostatSetpoint",
    "temperature", "value", "unit" }) do
    if d.properties[p] ~= nil then props[#props + 1] = p .. "=" .. tostring(d.properties[p]) end
  end
  print(d.type:sub(12), d.baseType, table.concat(d.interfaces, ","))
  print("  " .. table.concat(actions, " "))
  print("  " .. table.concat(props, " "))
end

function QuickApp:setThermostatMode(mode) self:updateProperty("thermostatMode", mode) end
function QuickApp:setHeatingThermostatSetpoint(v) self:updateProperty("heatingThermostatSetpoint", v) end

function QuickApp:onInit()
  describe(self.id)
  for _, t in ipairs(TYPES) do
    local child = self:createChildDevice({ name = t, type = "com.fibaro." .. t })
    describe(child.id)
  end
  fibaro.call(self.id, "setThermostatMode", "Heat")
  fibaro.call(self.id, "setHeatingThermostatSetpoint", 21.5)
  setTimeout(function()
    print("after actions", fibaro.getValue(self.id, "thermostatMode"),
      fibaro.getValue(self.id, "heatingThermostatSetpoint"))
    local ids = fibaro.getDevicesID({ interfaces = { "thermostatMode" } })
    print("with thermostatMode", #ids)
  end, 50)
end
