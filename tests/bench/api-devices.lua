-- api-devices.lua: the 50-device HC3 table of the /api/devices benchmark,
-- shared by api.sh (its hook) and json-encode.lua. Returns the builder.
return function()
  local devices = {}
  for i = 1, 50 do
    devices[i] = {id = i, name = "Device " .. i, roomID = 219 + i % 5, type = "com.fibaro.binarySwitch",
      baseType = "com.fibaro.actor", enabled = true, visible = true, isPlugin = false, parentId = 1,
      viewXml = false, hasUIView = true, configXml = false,
      interfaces = {"zwave", "light", "energy"},
      properties = {value = i % 2 == 0, dead = false, energy = i * 1.5, power = 12.5, manufacturer = "",
                    model = "", serialNumber = "", userDescription = "", categories = {"lights"}},
      actions = {turnOn = 0, turnOff = 0, toggle = 0, setValue = 1},
      created = 1700000000, modified = 1700000000 + i, sortOrder = i}
  end
  return devices
end
