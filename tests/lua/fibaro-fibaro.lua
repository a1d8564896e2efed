-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- exit: 1
-- stderr: plua: 1 QuickApp error
-- env: TZ=UTC
-- fibaro.*: devices, rooms, globals, custom events, scenes, profiles, alarms,
-- logging with tags, timers with error handlers, sleep; hub is fibaro.
--%%name:Fib
--%%type:com.fibaro.temperatureSensor
--%%id:5500

function QuickApp:onInit()
  local id = self.id
  fibaro.debug("TAG1", "debug", 1)
  fibaro.trace("TAG2", "trace")
  fibaro.warning("TAG3", "warning")
  fibaro.error("TAG4", "error")
  print("hub", hub == fibaro)
  -- devices
  self:updateProperty("value", 21.5)
  local v, modified = fibaro.get(id, "value")
  print("get", v, type(modified))
  print("getValue", fibaro.getValue(id, "value"), fibaro.getValue(999, "value"))
  print("getType", fibaro.getType(id), fibaro.getName(id), fibaro.getRoomID(id), fibaro.getSectionID(id))
  print("getRoomName", fibaro.getRoomName(219), fibaro.getRoomNameByDeviceID(id))
  print("getDevicesID", json.encode(fibaro.getDevicesID({ type = "com.fibaro.temperatureSensor" })))
  print("getDevicesID props", json.encode(fibaro.getDevicesID({ properties = { value = 21.5 } })))
  print("getDevicesID ifs", json.encode(fibaro.getDevicesID({ interfaces = { "quickApp" } })))
  print("getIds", json.encode(fibaro.getIds(api.get("/devices"))))
  print("sunrise", fibaro.getValue(1, "sunriseHour"):match("^%d%d:%d%d$") ~= nil)
  -- global variables
  api.post("/globalVariables", { name = "G1", value = "a" })
  local g1, g1m = fibaro.getGlobalVariable("G1")
  print("getGlobalVariable", g1, math.type(g1m))
  fibaro.setGlobalVariable("G1", "42")
  local gv, gm = fibaro.getGlobalVariable("G1")
  print("setGlobalVariable", gv, math.type(gm))
  fibaro.setGlobalVariable("NoSuch", "1")
  print("missing global", fibaro.getGlobalVariable("NoSuch"))
  -- custom events, scenes, profiles
  api.post("/customEvents", { name = "E1", userDescription = "test event" })
  local last = api.get("/refreshStates").last
  fibaro.emitCustomEvent("E1")
  fibaro.emitCustomEvent("NotDefined")
  local rs = api.get("/refreshStates?last=" .. last)
  print("custom event", #rs.events, rs.events[1].type, rs.events[1].data.name)
  api.post("/scenes", { name = "S1" })
  fibaro.scene("execute", { 10 })
  print("scene", api.get("/refreshStates?last=" .. rs.last).events[1].type)
  fibaro.profile("activateProfile", 2)
  print("profile", api.get("/profiles").activeProfile)
  -- alarms
  print("home arm state", fibaro.getHomeArmState(), fibaro.getPartitionArmState(1))
  fibaro.alarm(1, "arm")
  print("armed", fibaro.getHomeArmState(), fibaro.getPartitionArmState(1), #fibaro.getPartitions())
  fibaro.alarm("disarm")
  print("disarmed", fibaro.getHomeArmState(), fibaro.isHomeBreached(), fibaro.isPartitionBreached(1))
  fibaro.alert("push", { 2 }, "hello")
  -- timers
  fibaro.setTimeout(10, function() error("timer error") end, function(err) print("handler got", err) end)
  local ref = fibaro.setTimeout(20, function() print("cancelled timer ran") end)
  fibaro.clearTimeout(ref)
  fibaro.setTimeout(30, function() error("no handler") end)
  local t0 = os.clock()
  fibaro.sleep(50)
  print("slept", os.clock() - t0 < 0.04)
  print("useAsyncHandler", fibaro.useAsyncHandler(false), fibaro.useAsyncHandler())
  fibaro.wakeUpDeadDevice(id)
  print("mqtt", type(mqtt.Client.connect), mqtt.ConnectReturnCode.BAD_USERNAME_OR_PASSWORD)
end
