-- hc3-house.lua: n HC3 binary switches as the emulator's store holds them
-- (com.fibaro.binarySwitch from /work/shared/reference/hc3-device-types.json),
-- for the json benchmarks: dofile(...)(n) returns the list of device tables.
return function(n)
  local devices = {}
  for i = 1, n do
    devices[i] = {
      baseType = "com.fibaro.actor", enabled = true, roomID = 219, hasUIView = true,
      interfaces = {"autoTurnOff", "light", "quickApp"}, id = 3594 + i, viewXml = false,
      isPlugin = true, configXml = false, visible = true, name = "Lamp " .. i, sortOrder = 184 + i,
      type = "com.fibaro.binarySwitch", parentId = 0, modified = 1743401434 + i,
      created = 1743401434,
      view = {{name = "com.fibaro.binarySwitch", assetsPath = "dynamic-plugins/com.fibaro.binarySwitch",
               translatesPath = "/assets/i18n/com.fibaro.binarySwitch", type = "ts"}},
      actions = {turnOff = 0, setAutoOff = 0, toggle = 0, turnOn = 0},
      properties = {
        value = i % 2 == 0, state = i % 2 == 0, isLight = true, buildNumber = 1,
        icon = {path = "/assets/icon/fibaro/LightBulbV3/LightBulbV30.svg", source = "HC"},
        categories = {"lights"}, useEmbededView = true, encrypted = false, deadReason = "",
        deviceRole = "Light", uiCallbacks = {}, apiVersion = "1.3", quickAppVariables = {},
        useUiView = true, manufacturer = "", model = "", deviceControlType = 2,
        viewLayout = {["$jason"] = {body = {sections = {items = {}},
                                            header = {style = {height = "0"}, title = "quickApp_device_57"}},
                                    head = {title = "quickApp_device_57"}}},
        supportedDeviceRoles = {"Light", "Drencher", "Pin", "NightLamp", "Kettle", "Bracket",
          "AirConditioner", "AlarmAlarm", "Coffee", "GardenLamp", "TvSet", "CeilingFan", "Toaster",
          "Radio", "RoofWindow", "Other", "AlarmState", "AlarmArm", "VideoGateBell", "VideoGateOpen",
          "Valve", "Fan"},
        dead = false, deviceIcon = 301, initialInterfaces = {}, log = "", userDescription = "",
        saveLogs = true, quickAppUuid = "", autoOffTimestamp = 0, logTemp = "",
        typeTemplateInitialized = true, uiView = {}, autoOffDefaultTime = 900,
        energy = i * 0.1, power = 12.5,
      },
    }
  end
  return devices
end
