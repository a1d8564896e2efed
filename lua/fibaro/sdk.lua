-- fibaro/sdk.lua: the HC3 QuickApp SDK, built once per QuickApp into that
-- QuickApp's own environment: class, QuickAppBase/QuickApp/QuickAppChild,
-- fibaro.*, hub, api.*, plugin.*, net, json, timers, os, print, mqtt.

local S = require("fibaro.store")
local R = require("fibaro.rest")
local log = require("fibaro.log")
local refresh = require("fibaro.refresh")

local M = {}
local array = json.array
local unpack = table.unpack

------------------------------------------------------------------ task queue

-- Actions, UI events and QuickApp starts are queued and run one after the
-- other on the next loop turn, each in its own coroutine (so it may sleep),
-- like the box posting them to the QuickApp's thread: a fibaro.call never
-- runs the target inside the caller.
local queue, qhead, qtail = {}, 1, 0
local scheduled = false

local function drain()
  -- Only what was queued before this turn: a task that posts another (a
  -- QuickApp fibaro.call-ing itself) waits for the next turn, so deadlines
  -- and signals are served between them.
  local last = qtail
  while qhead <= last do
    local task = queue[qhead]
    queue[qhead] = nil
    qhead = qhead + 1
    local co = coroutine.create(task)
    local ok, e = coroutine.resume(co)
    if not ok then io.stderr:write("plua fibaro: task failed: ", tostring(e), "\n") end
  end
  if qhead <= qtail then setTimeout(drain, 0) else scheduled = false end
end

function M.post(task)
  qtail = qtail + 1
  queue[qtail] = task
  if not scheduled then
    scheduled = true
    setTimeout(drain, 0)
  end
end

------------------------------------------------------------------ helpers

local function errmsg(e) return tostring(e) end

-- The box checks the arguments of fibaro.* and raises this error, pointing
-- at the QuickApp's line.
local function assertType(value, wanted, level)
  if type(value) ~= wanted then
    error(string.format("Wrong parameter type, %s required. Provided param '%s' is type of %s",
      wanted, tostring(value), type(value)), level or 3)
  end
end
M.assertType = assertType

-- The read-only fallback of every QuickApp environment: the standard library
-- and plua's globals. Library tables are copied per QuickApp, so a QA that
-- changes string.* or math.* changes only its own.
local LIBS = { "string", "table", "math", "coroutine", "utf8", "io", "debug" }

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

------------------------------------------------------------------ string.split

-- string.split(s[, sep]): an emulator convenience that QuickApps written for
-- the other emulators use (the box has none). `sep` is a set of separator
-- characters (default: white space); the pieces between them, empty ones
-- left out, come back as a list. Set on the shared string table so that
-- ("a,b"):split(",") works too.
local function split(s, sep)
  if type(s) ~= "string" then error("bad argument #1 to 'split' (string expected, got " .. type(s) .. ")", 2) end
  local set = sep and sep ~= "" and ("[^" .. sep:gsub("[%^%]%%%-]", "%%%0") .. "]+") or "%S+"
  local list = {}
  for piece in s:gmatch(set) do list[#list + 1] = piece end
  return list
end
string.split = string.split or split

------------------------------------------------------------------ class

-- The HC3's class library (lua/class.lua), storing each QuickApp's classes in
-- its own environment; loading it defines the global `property` too.
local class = require("class")
local property = _G.property

------------------------------------------------------------------ the SDK

-- qa: the loader's record {id, name, device, files, timers, ...}.
function M.newEnv(qa)
  local env = {}
  local G = _G
  for _, lib in ipairs(LIBS) do env[lib] = copy(G[lib]) end
  setmetatable(env, { __index = G })
  env._G = env
  env.__TAG = "QUICKAPP" .. qa.id
  local function tag() return rawget(env, "__TAG") or ("QUICKAPP" .. qa.id) end

  -- Runs QuickApp code; an error is logged the way the box logs it and the
  -- QuickApp goes on. Returns ok, results.
  local function protect(fn, ...)
    local res = table.pack(xpcall(fn, errmsg, ...))
    if not res[1] then log.fail(tag(), tostring(res[2])) end
    return unpack(res, 1, res.n)
  end
  qa.protect = protect

  -- Wraps callbacks handed to net/timers so their errors are logged too.
  local function guard(fn, handler)
    return function(...)
      local res = table.pack(xpcall(fn, errmsg, ...))
      if not res[1] then
        if handler then protect(handler, res[2]) else log.fail(tag(), tostring(res[2])) end
      end
      return unpack(res, 2, res.n)
    end
  end

  ---------------------------------------------------------------- timers
  qa.timers = {}
  local function addTimer(kind, fn, ms, handler)
    if type(fn) ~= "function" then error("bad argument to " .. kind .. " (function expected)", 3) end
    local ref
    local g = guard(fn, handler)
    if kind == "setInterval" then
      ref = setInterval(g, ms)
      qa.timers[ref] = true
    else
      ref = setTimeout(function() qa.timers[ref] = nil; g() end, ms)
      qa.timers[ref] = true
    end
    return ref
  end
  local function clear(ref)
    if ref ~= nil then
      qa.timers[ref] = nil
      clearTimeout(ref)
    end
  end
  env.setTimeout = function(fn, ms) return addTimer("setTimeout", fn, ms) end
  env.setInterval = function(fn, ms) return addTimer("setInterval", fn, ms) end
  env.clearTimeout = clear
  env.clearInterval = clear

  ---------------------------------------------------------------- print, os, json
  env.print = function(...) log.log("DEBUG", tag(), ...) end
  local os_ = copy(os)
  os_.time = function(t) if t then return os.time(t) end return S.now() end
  os_.date = function(fmt, t) return os.date(fmt, t or S.now()) end
  env.os = os_
  env.json = json
  -- a tail call, so class's errors name the QuickApp's line
  env.class = function(name) return class(name, env) end
  env.property = property

  ---------------------------------------------------------------- api
  local api = {}
  local online = qa.mode == "online" or qa.mode == "proxy"
  local O = require("fibaro.online")
  local function call(method, path, body)
    if type(path) ~= "string" then error("api." .. method:lower() .. ": path must be a string", 3) end
    if not path:match("^/api/") then path = "/api" .. (path:sub(1, 1) == "/" and "" or "/") .. path end
    -- online: what is not the QuickApp's own is the box's
    if online and not O.isLocal(path, body) then
      return require("fibaro.hc3").call(method, path, body, { level = 4 })
    end
    if body ~= nil then body = S.jsoncopy(body) end
    local data, status, headers = R.handle(method, path, body)
    -- text a route passes through (/proxy) is decoded when it is JSON, as
    -- the box's api.* decodes every answer
    if type(data) == "string" and headers and tostring(headers["Content-Type"]):find("json") then
      local ok, v = pcall(json.decode, data)
      if ok then data = v end
    end
    return S.jsoncopy(data), status or 200
  end
  function api.get(path) return call("GET", path) end
  function api.post(path, data) return call("POST", path, data) end
  function api.put(path, data) return call("PUT", path, data) end
  function api.delete(path) return call("DELETE", path) end
  require("fibaro.online").hc3api(api)
  env.api = api

  ---------------------------------------------------------------- fibaro
  local fibaro = {}
  for _, level in ipairs({ "debug", "trace", "warning", "error" }) do
    local LEVEL = level:upper()
    fibaro[level] = function(t, ...) assertType(t, "string"); log.log(LEVEL, t, ...) end
  end
  function fibaro.get(id, prop)
    assertType(id, "number")
    assertType(prop, "string")
    local d = S.devices[id]
    if not d then return nil end
    local v = d.properties[prop]
    if v == nil then return nil end
    return S.jsoncopy(v), d.modified
  end
  function fibaro.getValue(id, prop)
    assertType(id, "number")
    assertType(prop, "string")
    return (fibaro.get(id, prop))
  end
  local function device(id) assertType(id, "number", 4); return S.devices[id] end
  function fibaro.getType(id) local d = device(id); return d and d.type end
  function fibaro.getName(id) local d = device(id); return d and d.name end
  function fibaro.getRoomID(id) local d = device(id); return d and d.roomID end
  function fibaro.getSectionID(id)
    local d = device(id)
    local r = d and S.rooms[d.roomID]
    return r and r.sectionID
  end
  function fibaro.getRoomName(roomID)
    assertType(roomID, "number")
    local r = S.rooms[roomID]
    return r and r.name
  end
  function fibaro.getRoomNameByDeviceID(id)
    local d = device(id)
    local r = d and S.rooms[d.roomID]
    return r and r.name
  end
  -- Without a filter: every device but the system ones (getIds), as the box.
  -- devices: the list to filter (online: the box's), else the store's.
  function fibaro.getDevicesID(filter, devices)
    devices = devices or S.devices
    if type(filter) ~= "table" or next(filter) == nil then
      local all = {}
      for _, d in pairs(devices) do all[#all + 1] = d end
      local ids = fibaro.getIds(all)
      table.sort(ids)
      return ids
    end
    local ids = {}
    for _, d in pairs(devices) do
      local id = d.id
      local ok = true
      for k, v in pairs(filter) do
        if k == "properties" then
          for pk, pv in pairs(v) do
            if pv == "nil" then ok = ok and d.properties[pk] ~= nil
            else ok = ok and d.properties[pk] == pv end
          end
        elseif k == "interfaces" then
          for _, i in ipairs(v) do
            local found = false
            for _, di in ipairs(d.interfaces) do if di == i then found = true end end
            ok = ok and found
          end
        elseif k == "isTypeOf" then
          ok = ok and (d.type == v or d.baseType == v)
        else
          ok = ok and d[k] == v
        end
      end
      if ok then ids[#ids + 1] = id end
    end
    table.sort(ids)
    return ids
  end
  -- The ids of a device list; the box leaves out its system devices (ids 1-3).
  function fibaro.getIds(devices)
    local ids = {}
    for _, d in pairs(devices or {}) do
      if type(d) == "table" and type(d.id) == "number" and d.id > 3 then ids[#ids + 1] = d.id end
    end
    return ids
  end
  -- The box sends the arguments of an action as JSON, so each target gets
  -- its own copy (a nil in between travels as null) and a value JSON cannot
  -- carry (a function, NaN, ...) is an error at the caller's line. Strings,
  -- booleans and finite numbers come through JSON unchanged, so they skip
  -- the encoding (most calls; it halves the cost of a call).
  local function plainArg(v)
    local t = type(v)
    if t == "string" then return utf8.len(v) ~= nil end
    if t == "number" then return v == v and v ~= math.huge and v ~= -math.huge end
    return t == "boolean"
  end
  -- Returns the arguments as a list (all plain) or as JSON text.
  local function packArgs(...)
    local n = select("#", ...)
    local args = { ... }
    for i = 1, n do
      if not plainArg(args[i]) then
        for j = 1, n do if args[j] == nil then args[j] = json.null end end
        local ok, text = pcall(json.encode, array(args))
        if not ok then error("fibaro.call: " .. tostring(text), 3) end
        return nil, text
      end
    end
    return args, nil, n
  end
  function fibaro.call(ids, action, ...)
    assertType(action, "string")
    if type(ids) == "table" then
      for _, id in ipairs(ids) do assertType(id, "number") end
    else
      assertType(ids, "number")
      ids = { ids }
    end
    local args, text, n = packArgs(...)
    for k, id in ipairs(ids) do
      local copy
      if text then copy = json.decode(text)
      elseif k == 1 then copy = array(args)
      else copy = array(table.move(args, 1, n, 1, {})) end
      S.action(id, action, copy)
    end
  end
  fibaro.callhc3 = fibaro.call
  -- As the box: a POST to /devices/groupAction (whose filters live in
  -- fibaro/rest/devices.lua), the ids of the devices it reached; nil when the request
  -- fails (here with a note on stderr saying why).
  function fibaro.callGroupAction(action, data)
    assertType(action, "string")
    assertType(data, "table")
    local ok, res, status = pcall(call, "POST", "/devices/groupAction/" .. action, data)
    if ok and status == 202 then return res.devices end
    log.warn("%s: fibaro.callGroupAction: %s", tag(), tostring(ok and res and res.message or res))
    return nil
  end
  -- No notification leaves the emulator: the alert is shown on the console
  -- (and reported as an event) so the developer sees it was sent.
  local ALERTS = { email = true, push = true, simplePush = true }
  function fibaro.alert(kind, ids, text)
    assertType(kind, "string")
    assertType(ids, "table")
    assertType(text, "string")
    if not ALERTS[kind] then
      error("Wrong parameter: '" .. kind .. "'. Available parameters: email, push, simplePush", 2)
    end
    for _, id in ipairs(ids) do assertType(id, "number") end
    log.line("TRACE", "ALERT", string.format("%s to %s: %s", kind, table.concat(ids, ","), text))
    S.emit("AlertEvent", { type = kind, users = array(S.deepcopy(ids)), message = text })
  end
  local function armAction(url, action)
    if action == "arm" then call("POST", url)
    elseif action == "disarm" then call("DELETE", url)
    else error("Wrong parameter: " .. tostring(action) .. ". Available parameters: arm, disarm", 3) end
  end
  function fibaro.alarm(a, b)
    if type(a) == "string" then
      armAction("/alarms/v1/partitions/actions/arm", a)
      return
    end
    assertType(a, "number")
    assertType(b, "string")
    armAction("/alarms/v1/partitions/" .. a .. "/actions/arm", b)
  end
  function fibaro.__houseAlarm(action)
    assertType(action, "string")
    armAction("/alarms/v1/partitions/actions/arm", action)
  end
  function fibaro.getPartitions() return (call("GET", "/alarms/v1/partitions")) end
  function fibaro.getPartition(id)
    assertType(id, "number")
    local p, status = call("GET", "/alarms/v1/partitions/" .. id)
    if status == 200 then return p end
  end
  function fibaro.getPartitionArmState(id)
    assertType(id, "number")
    local p = S.partitions[id]
    return p and (p.armed and "armed" or "disarmed")
  end
  function fibaro.getHomeArmState()
    local armed, total = 0, 0
    for _, p in pairs(S.partitions) do total = total + 1; if p.armed then armed = armed + 1 end end
    if armed == 0 then return "disarmed" elseif armed == total then return "armed" end
    return "partially_armed"
  end
  function fibaro.isPartitionBreached(id)
    assertType(id, "number")
    local p = S.partitions[id]
    return p ~= nil and p.breached == true
  end
  function fibaro.isHomeBreached()
    for _, p in pairs(S.partitions) do if p.breached then return true end end
    return false
  end
  function fibaro.scene(action, ids)
    assertType(action, "string")
    assertType(ids, "table")
    if action ~= "execute" and action ~= "kill" then
      error("Wrong parameter: " .. action .. ". Available actions: execute, kill", 2)
    end
    for _, id in ipairs(ids) do assertType(id, "number") end
    for _, id in ipairs(ids) do call("POST", "/scenes/" .. id .. "/" .. action) end
  end
  function fibaro.profile(action, id)
    assertType(action, "string")
    assertType(id, "number")
    if action ~= "activateProfile" then
      error("Wrong parameter: " .. action .. ". Available actions: activateProfile", 2)
    end
    return call("POST", "/profiles/activeProfile/" .. id)
  end
  function fibaro.getGlobalVariable(name)
    assertType(name, "string")
    local v = S.globals[name]
    if v then return v.value, v.modified end
    return nil
  end
  -- The box takes only text values; a missing variable is a silent 404 there,
  -- a note on stderr here.
  function fibaro.setGlobalVariable(name, value)
    assertType(name, "string")
    assertType(value, "string")
    if S.globals[name] then S.setGlobal(name, value)
    else log.warn("%s: fibaro.setGlobalVariable: global variable '%s' not found", tag(), name) end
  end
  local sceneVars = {}
  function fibaro.getSceneVariable(name) return sceneVars[name] end
  function fibaro.setSceneVariable(name, value) sceneVars[name] = value end
  function fibaro.emitCustomEvent(name)
    assertType(name, "string")
    local ev = S.customEvents[name]
    if ev then S.emit("CustomEvent", { name = name, userDescription = ev.userDescription }) end
  end
  function fibaro.setTimeout(ms, fn, handler)
    assertType(ms, "number")
    assertType(fn, "function")
    return addTimer("setTimeout", fn, ms, handler)
  end
  function fibaro.clearTimeout(ref) assertType(ref, "number"); clear(ref) end
  function fibaro.setInterval(ms, fn)
    assertType(ms, "number")
    assertType(fn, "function")
    return addTimer("setInterval", fn, ms)
  end
  function fibaro.clearInterval(ref) assertType(ref, "number"); clear(ref) end
  function fibaro.sleep(ms) assertType(ms, "number"); sleep(ms) end
  function fibaro.wakeUpDeadDevice(id)
    assertType(id, "number")
    if S.devices[id] then S.updateProperty(id, "dead", false) end
  end
  local asyncHandler = true
  function fibaro.useAsyncHandler(value)
    if value ~= nil then asyncHandler = value == true end
    return asyncHandler
  end
  env.fibaro = fibaro
  env.hub = fibaro

  ---------------------------------------------------------------- plugin
  local plugin = { mainDeviceId = qa.id }
  -- data, status as the api.* call behind each, like the box
  function plugin.getDevice(id) return call("GET", "/devices/" .. id) end
  function plugin.getChildDevices(id) return call("GET", "/devices?parentId=" .. (id or qa.id)) end
  function plugin.getProperty(id, prop) local d = S.devices[id]; return d and S.jsoncopy(d.properties[prop]) end
  function plugin.createChildDevice(opts) return call("POST", "/plugins/createChildDevice", opts) end
  function plugin.deleteDevice(id) return call("DELETE", "/devices/" .. id) end
  function plugin.restart(id) qa.restart(id) end
  env.plugin = plugin

  ---------------------------------------------------------------- net
  -- plua's net already takes the HC3 shapes (ms timeouts); callbacks are
  -- guarded so an error in one is logged on the QuickApp's console.
  local function guardArgs(...)
    local args = table.pack(...)
    for i = 1, args.n do
      local a = args[i]
      if type(a) == "function" then args[i] = guard(a)
      elseif type(a) == "table" and getmetatable(a) == nil then
        local c = {}
        for k, v in pairs(a) do c[k] = type(v) == "function" and guard(v) or v end
        args[i] = c
      end
    end
    return unpack(args, 1, args.n)
  end
  local function wrapObject(obj)
    return setmetatable({}, {
      __index = function(_, k)
        local v = obj[k]
        if type(v) ~= "function" then return v end
        return function(_, ...) return v(obj, guardArgs(...)) end
      end,
      __tostring = function() return tostring(obj) end,
    })
  end
  env.net = setmetatable({}, { __index = function(t, k)
    local ctor = net[k]
    if type(ctor) ~= "function" then return ctor end
    local f = function(...) return wrapObject(ctor(...)) end
    rawset(t, k, f)
    return f
  end })

  ---------------------------------------------------------------- mqtt
  -- plua's net.MQTTClient; listeners and callbacks guarded like net's. The
  -- QuickApp's clients are disconnected when it restarts or is removed.
  qa.mqtt = qa.mqtt or {}
  -- one guard per listener, so removeEventListener(name, fn) finds it
  local guardedListeners = setmetatable({}, { __mode = "k" })
  local function guardListeners(name, fn, ...)
    if type(fn) == "function" then
      guardedListeners[fn] = guardedListeners[fn] or guard(fn)
      fn = guardedListeners[fn]
    end
    return name, fn, ...
  end
  local function wrapMqtt(client)
    local proxy = {}
    return setmetatable(proxy, {
      __index = function(_, k)
        local v = client[k]
        if type(v) ~= "function" then return v end
        local guardIt = (k == "addEventListener" or k == "removeEventListener") and guardListeners or guardArgs
        -- dot calls (client.publish(...)) as on the box, colon calls too
        return function(first, ...)
          if first == proxy then return v(client, guardIt(...)) end
          return v(client, guardIt(first, ...))
        end
      end,
      __tostring = function() return tostring(client) end,
    })
  end
  env.mqtt = {
    QoS = S.jsoncopy(net.QoS),
    ConnectReturnCode = S.jsoncopy(net.MQTTConnectReturnCode),
    Client = {
      connect = function(uri, options)
        local client = net.MQTTClient._connect(1, uri, (guardArgs(options)))
        qa.mqtt[client] = true
        return wrapMqtt(client)
      end,
    },
  }

  ---------------------------------------------------------------- QuickApp classes
  class("QuickAppBase", env)
  local QAB = env.QuickAppBase
  function QAB:__init(device)
    self.id = device.id
    self.name = device.name
    self.type = device.type
    self.parentId = device.parentId
    self.properties = S.jsoncopy(device.properties)
    self.interfaces = S.jsoncopy(device.interfaces)
    self.uiCallbacks = {}
    for _, cb in ipairs(device.properties.uiCallbacks or {}) do
      self.uiCallbacks[cb.name] = self.uiCallbacks[cb.name] or {}
      self.uiCallbacks[cb.name][cb.eventType] = cb.callback
    end
  end
  for _, level in ipairs({ "debug", "trace", "warning", "error" }) do
    local LEVEL = level:upper()
    QAB[level] = function(_, ...) log.log(LEVEL, tag(), ...) end
  end
  function QAB:updateProperty(name, value)
    if type(name) ~= "string" then error("updateProperty: property name expected", 2) end
    if value == nil then error("updateProperty: value expected for " .. name, 2) end
    -- the object's own copy follows, as on the box
    self.properties[name] = value
    S.updateProperty(self.id, name, value)
  end
  function QAB:updateView(element, prop, value)
    S.updateView(self.id, element, prop, value)
  end
  function QAB:setVariable(name, value)
    local dev = S.devices[self.id]
    if not dev then return end
    local vars = S.jsoncopy(dev.properties.quickAppVariables or array())
    local found = false
    for _, v in ipairs(vars) do
      if v.name == name then v.value = value; found = true end
    end
    if not found then vars[#vars + 1] = { name = name, value = value } end
    S.updateProperty(self.id, "quickAppVariables", vars)
  end
  function QAB:getVariable(name)
    local dev = S.devices[self.id]
    for _, v in ipairs(dev and dev.properties.quickAppVariables or {}) do
      if v.name == name then return v.value end
    end
    return ""
  end
  function QAB:callAction(name, ...)
    local f = self[name]
    if type(f) == "function" then return f(self, ...) end
    self:warning("Class does not have " .. tostring(name) .. " function defined - action ignored")
  end
  function QAB:setName(name)
    local dev = S.devices[self.id]
    if dev then dev.name = name; self.name = name; S.modifyDevice(self.id) end
  end
  function QAB:setEnabled(on)
    local dev = S.devices[self.id]
    if dev then dev.enabled = on == true; S.modifyDevice(self.id) end
  end
  function QAB:setVisible(on)
    local dev = S.devices[self.id]
    if dev then dev.visible = on == true; S.modifyDevice(self.id) end
  end
  function QAB:hasInterface(name)
    local dev = S.devices[self.id]
    for _, i in ipairs(dev and dev.interfaces or {}) do if i == name then return true end end
    return false
  end
  function QAB:addInterfaces(list)
    R.interfaces("add", self.id, list)
    self.interfaces = S.jsoncopy(S.devices[self.id].interfaces)
  end
  function QAB:deleteInterfaces(list)
    R.interfaces("delete", self.id, list)
    self.interfaces = S.jsoncopy(S.devices[self.id].interfaces)
  end
  local function storage(id)
    local vars = S.vars[id] or {}
    S.vars[id] = vars
    return vars
  end
  function QAB:internalStorageSet(key, value, hidden)
    storage(self.id)[key] = { name = key, value = value, isHidden = hidden == true }
    S.dirty()
  end
  function QAB:internalStorageGet(key)
    local vars = storage(self.id)
    if key == nil then
      local all = {}
      for k, v in pairs(vars) do all[k] = v.value end
      return all
    end
    local v = vars[key]
    return v and v.value
  end
  function QAB:internalStorageRemove(key) storage(self.id)[key] = nil; S.dirty() end
  function QAB:internalStorageClear() S.vars[self.id] = {}; S.dirty() end
  function QAB:registerUICallback(element, eventType, fn)
    self.uiCallbacks[element] = self.uiCallbacks[element] or {}
    self.uiCallbacks[element][eventType] = fn
  end
  function QAB:setupUICallbacks()
    local dev = S.devices[self.id]
    for _, cb in ipairs(dev and dev.properties.uiCallbacks or {}) do
      self:registerUICallback(cb.name, cb.eventType, cb.callback)
    end
  end
  function QAB:UIAction(eventType, element, value)
    qa.deliverUIEvent(self.id, { deviceId = self.id, elementName = element, eventType = eventType,
      values = value ~= nil and array({ value }) or array() })
  end

  class("QuickApp", env)(QAB)
  local QA = env.QuickApp
  function QA:__init(device)
    QAB.__init(self, device)
    self.childDevices = {}
    qa.obj = self
    if self.onInit then protect(self.onInit, self) end
    -- the box sets up the children itself when onInit did not
    if not self._childsInited then protect(self.initChildDevices, self) end
  end
  function QA:onAction(id, event)
    if self.actionHandler then return self:actionHandler(event) end
    local target = id == self.id and self or self.childDevices[id]
    if not target then
      return self:warning("Child with id " .. tostring(id) .. " not found")
    end
    return target:callAction(event.actionName, unpack(event.args or {}))
  end
  function QA:onUIEvent(id, event)
    if self.UIHandler then return self:UIHandler(event) end
    local target = id == self.id and self or self.childDevices[id]
    if not target then return self:warning("Child with id " .. tostring(id) .. " not found") end
    local elm, etype = event.elementName, event.eventType
    if elm:sub(1, 2) == "__" then
      return target:callAction(elm:sub(3), unpack(event.values or {}))
    end
    local cb = target.uiCallbacks[elm] and target.uiCallbacks[elm][etype]
    if type(cb) == "function" then return cb(target, event) end
    if cb and cb ~= "" then return target:callAction(cb, event) end
    self:warning("UI callback for element:", elm, "not found.")
  end
  function QA:initChildDevices(map)
    map = map or {}
    self._childsInited = true
    local ids = {}
    for id, d in pairs(S.devices) do if d.parentId == self.id then ids[#ids + 1] = id end end
    table.sort(ids)
    for _, id in ipairs(ids) do
      if not self.childDevices[id] then
        local d = S.devices[id]
        local cls = map[d.type]
        if not cls then
          self:error(string.format("Class for the child device: %s, with type: %s not found. Using base class: QuickAppChild",
            id, d.type))
          cls = env.QuickAppChild
        end
        local child = cls(d)
        child.parent = self
        self.childDevices[id] = child
      end
    end
  end
  function QA:createChildDevice(options, cls)
    if type(options) ~= "table" or type(options.type) ~= "string" then
      error("createChildDevice: options with a type expected", 2)
    end
    -- the box marks children with the quickAppChild interface
    local ifs = { "quickAppChild" }
    for _, i in ipairs(options.initialInterfaces or {}) do ifs[#ifs + 1] = i end
    local dev, msg = S.newDevice({ name = options.name, type = options.type, parentId = self.id,
      properties = options.initialProperties, interfaces = ifs,
      roomID = S.devices[self.id] and S.devices[self.id].roomID })
    if not dev then error("createChildDevice: " .. msg, 2) end
    S.owners[dev.id] = qa
    local child = (cls or env.QuickAppChild)(dev)
    child.parent = self
    self.childDevices[dev.id] = child
    return child
  end
  function QA:removeChildDevice(id)
    if S.devices[id] and S.devices[id].parentId == self.id then S.removeDevice(id) end
    self.childDevices[id] = nil
  end

  ---------------------------------------------------------------- RefreshStateSubscriber
  -- The HC3 SDK class every event library builds on:
  --   local r = RefreshStateSubscriber()
  --   local sub = r:subscribe(function(event) return event.type == "CustomEvent" end,
  --                           function(event) ... end)
  --   r:run() ... r:unsubscribe(sub) ... r:stop()
  -- While it runs, each event the box reports after run() goes to the
  -- handler of every subscription whose filter returns true, on the
  -- QuickApp's queue (its own coroutine; errors logged as the QuickApp's).
  class("RefreshStateSubscriber", env)
  local RSS = env.RefreshStateSubscriber
  function RSS:__init()
    self.subscribers = {}
    local me = self
    self._feed = {
      alive = function() return qa.env == env end,
      deliver = function(event)
        for _, s in ipairs(me.subscribers) do
          local copy = S.jsoncopy(event)
          M.post(function()
            local ok, wanted = protect(s.filter, copy)
            if ok and wanted then protect(s.handler, copy) end
          end)
        end
      end,
    }
  end
  function RSS:subscribe(filter, handler)
    if type(filter) ~= "function" then error("RefreshStateSubscriber:subscribe: filter must be a function", 2) end
    if type(handler) ~= "function" then error("RefreshStateSubscriber:subscribe: handler must be a function", 2) end
    local s = { filter = filter, handler = handler }
    self.subscribers[#self.subscribers + 1] = s
    return s
  end
  function RSS:unsubscribe(subscription)
    for i, s in ipairs(self.subscribers) do
      if s == subscription then table.remove(self.subscribers, i) return end
    end
  end
  function RSS:run() refresh.start(self._feed) end
  function RSS:stop() refresh.stop(self._feed) end
  function RSS:isRunning() return refresh.isRunning(self._feed) end

  if online then O.patch(env) end

  class("QuickAppChild", env)(QAB)
  local QAC = env.QuickAppChild
  -- As on the box, self.parent is set by initChildDevices/createChildDevice
  -- once the object is made: nil in the child's __init and onInit.
  function QAC:__init(device)
    QAB.__init(self, device)
    S.owners[device.id] = qa
    if self.onInit then protect(self.onInit, self) end
  end

  return env
end

return M
