-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- exit: 1
-- stderr: plua: 1 QuickApp error
-- env: TZ=UTC
-- stderr: fibaro.setGlobalVariable: global variable 'NoSuch' not found
-- Every fibaro.* function of the HC3 Lua API as a QuickApp sees it: return
-- values, the resulting state, events, console lines, and the box's errors
-- for wrong arguments.
--%%name:Fib
--%%type:com.fibaro.multilevelSwitch
--%%id:7040

local function err(f, ...)
  local ok, e = pcall(f, ...)
  return ok and "no error" or tostring(e)
end

-- The devices this test acts on: children of this QuickApp.
class 'Dev' (QuickAppChild)
function Dev:turnOn() self:updateProperty("value", self.type == "com.fibaro.multilevelSwitch" and 99 or true) end
function Dev:turnOff() self:updateProperty("value", self.type == "com.fibaro.multilevelSwitch" and 0 or false) end
function Dev:setValue(v) self:updateProperty("value", v) end
function Dev:toggle() self:debug("toggle", self.id) end

local function list(ids) return "[" .. table.concat(ids, ",") .. "]" end

local function eventsSince(last)
  local out = {}
  for _, e in ipairs(api.get("/refreshStates?last=" .. last .. "&wait=0").events) do
    local d = e.data
    out[#out + 1] = e.type .. "(" .. tostring(d.name or d.variableName or d.property or d.newActiveProfile
      or d.partitionId or d.id) .. (d.newValue ~= nil and ("=" .. json.encode(d.newValue)) or "") .. ")"
  end
  return table.concat(out, " ")
end

function QuickApp:onInit()
  local id = self.id

  -- logging with tags
  fibaro.debug("TAG", "debug", 1, nil, true)
  fibaro.trace("TAG", "trace")
  fibaro.warning("OTHER", "warning")
  fibaro.error("OTHER", "error")
  print("bad tag", err(fibaro.debug, nil, "x"))
  print("hub", hub == fibaro)

  -- a world to look at: a section, a room, devices (children of this QA)
  local sec = api.post("/sections", { name = "Upstairs" })
  local room = api.post("/rooms", { name = "Kitchen", sectionID = sec.id })
  local function dev(name, dtype)
    local d = api.post("/plugins/createChildDevice", { parentId = id, name = name, type = dtype })
    api.put("/devices/" .. d.id, { roomID = room.id })
    return d.id
  end
  local lamp1, lamp2 = dev("Lamp 1", "com.fibaro.binarySwitch"), dev("Lamp 2", "com.fibaro.binarySwitch")
  local dimmer = dev("Dimmer", "com.fibaro.multilevelSwitch")
  local temp = dev("Temp", "com.fibaro.temperatureSensor")
  api.post("/devices/addInterface", { deviceID = { temp }, interfaces = { "battery" } })
  self:initChildDevices({ ["com.fibaro.binarySwitch"] = Dev, ["com.fibaro.multilevelSwitch"] = Dev,
    ["com.fibaro.temperatureSensor"] = Dev })

  -- get / getValue: value and modification time; nil for what is not there
  self:updateProperty("value", 30)
  local v, modified = fibaro.get(id, "value")
  print("get", v, math.type(modified), modified == api.get("/devices/" .. id).modified)
  print("get missing", fibaro.get(id, "noSuchProperty"), fibaro.get(4242, "value"))
  print("getValue", fibaro.getValue(id, "value"), fibaro.getValue(lamp1, "value"), fibaro.getValue(4242, "value"))
  print("getValue table", json.encode(fibaro.getValue(id, "quickAppVariables")))
  print("get bad id", err(fibaro.get, "7040", "value"))
  print("the error names the caller's line", err(function() fibaro.getValue(nil, "value") end))
  print("getValue bad property", err(fibaro.getValue, id, 1))

  -- device facts
  print("getType", fibaro.getType(id), fibaro.getType(temp), fibaro.getType(4242))
  print("getName", fibaro.getName(id), fibaro.getName(lamp2), fibaro.getName(4242))
  print("getRoomID", fibaro.getRoomID(id), fibaro.getRoomID(lamp1) == room.id, fibaro.getRoomID(4242))
  print("getRoomName", fibaro.getRoomName(219), fibaro.getRoomName(room.id), fibaro.getRoomName(4242))
  print("getRoomNameByDeviceID", fibaro.getRoomNameByDeviceID(id), fibaro.getRoomNameByDeviceID(dimmer),
    fibaro.getRoomNameByDeviceID(4242))
  print("getSectionID", fibaro.getSectionID(id), fibaro.getSectionID(lamp1) == sec.id, fibaro.getSectionID(4242))
  print("getType bad id", err(fibaro.getType, nil))

  -- getDevicesID: filters as /api/devices takes them
  local function ids(filter) return list(fibaro.getDevicesID(filter)) end
  print("getDevicesID all", ids(), ids({}))
  print("by type", ids({ type = "com.fibaro.binarySwitch" }))
  print("by roomID", ids({ roomID = room.id }))
  print("by parentId", ids({ parentId = id }))
  print("by baseType", ids({ baseType = "com.fibaro.binarySwitch" }))
  print("by isTypeOf", ids({ isTypeOf = "com.fibaro.binarySwitch" }))
  print("by property value", ids({ properties = { value = 30 } }))
  print("has property", ids({ properties = { unit = "nil" } }))
  print("by interfaces", ids({ interfaces = { "battery" } }), ids({ interfaces = { "quickApp", "light" } }))
  print("combined", ids({ type = "com.fibaro.binarySwitch", roomID = room.id }),
    ids({ type = "com.fibaro.binarySwitch", roomID = 219 }))
  print("getIds", list(fibaro.getIds(api.get("/devices"))), list(fibaro.getIds({})))

  -- call: one id or a list, with arguments; runs after this handler
  fibaro.call(lamp1, "turnOn")
  fibaro.call({ lamp2, dimmer }, "turnOn")
  fibaro.call(dimmer, "setValue", 42)
  print("call is asynchronous", fibaro.getValue(lamp1, "value"))
  print("call bad id", err(fibaro.call, "x", "turnOn"))
  print("call bad list", err(fibaro.call, { lamp1, "x" }, "turnOn"))
  print("call bad action", err(fibaro.call, lamp1, nil))

  -- callGroupAction: the devices matching every filter, the ids returned
  local group = fibaro.callGroupAction("turnOff", { filters = {
    { filter = "roomID", value = { room.id } }, { filter = "type", value = { "com.fibaro.binarySwitch" } } },
    args = {} })
  print("callGroupAction", list(group))
  print("by deviceID", list(fibaro.callGroupAction("setValue",
    { filters = { { filter = "deviceID", value = { dimmer } } }, args = { 7 } })))
  print("propertyEquals", list(fibaro.callGroupAction("toggle", { filters = {
    { filter = "propertyEquals", value = { { propertyName = "unit", propertyValue = { "C", "F" } } } } } })))
  print("no filters", list(fibaro.callGroupAction("turnOn", {})))
  print("callGroupAction bad", err(fibaro.callGroupAction, "turnOn"))

  -- alert: shown on the console (no notification leaves the emulator)
  fibaro.alert("email", { 2 }, "mail text")
  fibaro.alert("push", { 2, 3 }, "push text")
  print("alert bad type", err(fibaro.alert, "sms", { 2 }, "x"))
  print("alert bad ids", err(fibaro.alert, "email", 2, "x"))

  -- the alarm family
  local p2 = api.post("/alarms/v1/partitions", { name = "Garage" })
  print("getPartitions", #fibaro.getPartitions(), fibaro.getPartitions()[2].name)
  print("home", fibaro.getHomeArmState(), fibaro.getPartitionArmState(1), fibaro.getPartitionArmState(p2.id),
    fibaro.getPartitionArmState(99))
  local last = api.get("/refreshStates").last
  fibaro.alarm(1, "arm")
  print("arm 1", fibaro.getHomeArmState(), fibaro.getPartitionArmState(1), eventsSince(last))
  fibaro.alarm("arm")
  print("arm all", fibaro.getHomeArmState(), fibaro.getPartitionArmState(p2.id))
  fibaro.alarm(p2.id, "disarm")
  print("disarm 2", fibaro.getHomeArmState())
  fibaro.alarm("disarm")
  print("disarm all", fibaro.getHomeArmState())
  print("alarm bad action", err(fibaro.alarm, 1, "open"))
  print("alarm bad house action", err(fibaro.alarm, "open"))
  print("breached", fibaro.isHomeBreached(), fibaro.isPartitionBreached(1), fibaro.isPartitionBreached(99))
  api.put("/alarms/v1/partitions/" .. p2.id, { breached = true })
  print("breached now", fibaro.isHomeBreached(), fibaro.isPartitionBreached(1), fibaro.isPartitionBreached(p2.id))

  -- scene: arguments checked as the box does (running scenes is tested elsewhere)
  print("scene bad action", err(fibaro.scene, "start", { 10 }))
  print("scene bad ids", err(fibaro.scene, "execute", 10))

  -- profile
  last = api.get("/refreshStates").last
  fibaro.profile("activateProfile", 4)
  print("profile", api.get("/profiles").activeProfile, eventsSince(last))
  print("profile bad action", err(fibaro.profile, "activate", 1))

  -- global variables: values are text; a number is the box's error
  api.post("/globalVariables", { name = "Mode", value = "day" })
  local g, gm = fibaro.getGlobalVariable("Mode")
  print("getGlobalVariable", g, math.type(gm), fibaro.getGlobalVariable("NoSuch"))
  last = api.get("/refreshStates").last
  fibaro.setGlobalVariable("Mode", "night")
  fibaro.setGlobalVariable("Mode", "night")
  print("setGlobalVariable", fibaro.getGlobalVariable("Mode"), api.get("/globalVariables/Mode").value, eventsSince(last))
  print("setGlobalVariable number", err(fibaro.setGlobalVariable, "Mode", 1))
  fibaro.setGlobalVariable("NoSuch", "x")
  print("still missing", fibaro.getGlobalVariable("NoSuch"))

  -- emitCustomEvent: a CustomEvent for a defined event, nothing otherwise
  api.post("/customEvents", { name = "Doorbell", userDescription = "ring" })
  last = api.get("/refreshStates").last
  fibaro.emitCustomEvent("Doorbell")
  fibaro.emitCustomEvent("Undefined")
  print("emitCustomEvent", eventsSince(last))
  print("emitCustomEvent bad", err(fibaro.emitCustomEvent, 5))

  -- wakeUpDeadDevice
  api.post("/plugins/updateProperty", { deviceId = temp, propertyName = "dead", value = true })
  fibaro.wakeUpDeadDevice(temp)
  print("wakeUpDeadDevice", fibaro.getValue(temp, "dead"))

  -- useAsyncHandler
  print("useAsyncHandler", fibaro.useAsyncHandler(false), fibaro.useAsyncHandler(true))

  -- timers with the HC3 argument order and error handlers
  fibaro.setTimeout(10, function() error("boom") end, function(e) print("errorHandler got", e) end)
  fibaro.setTimeout(20, function() error("no handler") end)
  local ref = fibaro.setTimeout(15, function() print("cleared timer ran") end)
  print("setTimeout ref", math.type(ref))
  fibaro.clearTimeout(ref)
  print("setTimeout bad", err(fibaro.setTimeout, "10", function() end))
  print("clearTimeout bad", err(fibaro.clearTimeout, "x"))

  -- sleep suspends this handler only: a timer runs meanwhile
  setTimeout(function() print("timer ran during sleep") end, 30)
  local t0 = _PY.millitime()
  fibaro.sleep(80)
  local slept = _PY.millitime() - t0
  print("slept", slept >= 0.07, slept < 1)
  print("sleep bad", err(fibaro.sleep, "x"))
  print("values after the actions", fibaro.getValue(lamp1, "value"), fibaro.getValue(lamp2, "value"),
    fibaro.getValue(dimmer, "value"), fibaro.getValue(temp, "value"))
end
