-- fibaro/rest.lua: the HC3 REST API of the offline store. handle(method,
-- path, body) → data, status. `body` is a Lua value (api.* inside a QA) or
-- JSON text (REST); data is returned as Lua values, encoded by the caller.

local S = require("fibaro.store")

local R = {}
local array = json.array

local function err(status, message)
  local reasons = { [400] = "Bad request", [404] = "Not found", [409] = "Conflict",
    [501] = "Not implemented" }
  return { type = "ERROR", reason = reasons[status] or "Error", message = message }, status
end

local function urldecode(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

function R.parseQuery(qs)
  local q = {}
  for pair in (qs or ""):gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    q[urldecode(k)] = urldecode(v)
  end
  return q
end

local function num(s) return tonumber(s) and math.tointeger(tonumber(s)) end

local function sortedValues(map, key)
  local list = array()
  for _, v in pairs(map) do list[#list + 1] = v end
  table.sort(list, function(a, b) return a[key] < b[key] end)
  return list
end

local function nextId(kind)
  local id = S.nextIds[kind]
  S.nextIds[kind] = id + 1
  return id
end

-- Query values are text; the box compares them with the JSON values.
local function matches(value, text)
  if type(value) == "boolean" then return tostring(value) == text end
  if type(value) == "number" then return tonumber(text) == value end
  return tostring(value) == text
end

------------------------------------------------------------------ devices

local function deviceList(q)
  local list = array()
  local ids = {}
  for id in pairs(S.devices) do ids[#ids + 1] = id end
  table.sort(ids)
  for _, id in ipairs(ids) do
    local d = S.devices[id]
    local ok = true
    for k, v in pairs(q) do
      if k == "interface" then
        local found = false
        for _, i in ipairs(d.interfaces) do if i == v then found = true end end
        ok = ok and found
      elseif k == "property" then
        -- property=[name,value] or property=name
        local name, val = v:match("^%[([^,%]]+),?(.-)%]$")
        name = name or v
        local p = d.properties[name]
        ok = ok and p ~= nil and (val == nil or val == "" or matches(p, val))
      elseif k == "visible" or k == "enabled" or k == "isPlugin" or k == "parentId"
          or k == "roomID" or k == "type" or k == "baseType" or k == "name" or k == "id" then
        ok = ok and matches(d[k], v)
      end
    end
    if ok then list[#list + 1] = d end
  end
  return list
end

local function actionAccepted()
  local ms = math.floor(S.now() * 1000)
  return { endTimestampMillis = ms, message = "Accepted", startTimestampMillis = ms }, 202
end

-- POST /devices/groupAction/{action} {filters = {{filter=, value=}, ...},
-- args = [...]}: the action goes to every device that matches all the
-- filters (none: no device), each with its own copy of the arguments (as
-- JSON travels on the box); 202 with the ids, {"devices": [...]}, which
-- fibaro.callGroupAction returns.
local function hasValue(list, v)
  for _, x in ipairs(type(list) == "table" and list or { list }) do if x == v then return true end end
  return false
end
local function hasAll(list, wanted)
  for _, w in ipairs(type(wanted) == "table" and wanted or { wanted }) do
    if not hasValue(list, w) then return false end
  end
  return true
end
local GROUP_FILTERS = {
  deviceID = function(d, v) return hasValue(v, d.id) end,
  roomID = function(d, v) return hasValue(v, d.roomID) end,
  type = function(d, v) return hasValue(v, d.type) end,
  baseType = function(d, v) return hasValue(v, d.baseType) end,
  isTypeOf = function(d, v) return hasValue(v, d.type) or hasValue(v, d.baseType) end,
  parentId = function(d, v) return hasValue(v, d.parentId) end,
  isPlugin = function(d, v) return hasValue(v, d.isPlugin) end,
  enabled = function(d, v) return hasValue(v, d.enabled) end,
  visible = function(d, v) return hasValue(v, d.visible) end,
  interface = function(d, v) return hasAll(d.interfaces, v) end,
  hasProperty = function(d, v)
    for _, p in ipairs(type(v) == "table" and v or { v }) do
      if d.properties[p] == nil then return false end
    end
    return true
  end,
  propertyEquals = function(d, v)
    for _, pe in ipairs(type(v) == "table" and v or {}) do
      if type(pe) ~= "table" or not hasValue(pe.propertyValue, d.properties[pe.propertyName]) then return false end
    end
    return true
  end,
}

local function groupAction(action, body)
  if type(body) ~= "table" then return err(400, "JSON object expected") end
  local filters = body.filters or {}
  if type(filters) ~= "table" then return err(400, "filters must be a list") end
  for _, f in ipairs(filters) do
    if type(f) ~= "table" or not GROUP_FILTERS[f.filter] then
      return err(400, "unknown filter '" .. tostring(type(f) == "table" and f.filter or f) .. "'")
    end
  end
  local ok, args = pcall(json.encode, array(body.args or {}))
  if not ok then return err(400, args) end
  local ids = array()
  for id, d in pairs(S.devices) do
    local match = #filters > 0
    for _, f in ipairs(filters) do match = match and GROUP_FILTERS[f.filter](d, f.value) end
    if match then ids[#ids + 1] = id end
  end
  table.sort(ids)
  for _, id in ipairs(ids) do S.action(id, action, json.decode(args)) end
  return { devices = ids }, 202
end

local function devices(method, seg, q, body)
  local id = num(seg[2])
  if not seg[2] then
    if method == "GET" then return deviceList(q) end
    return err(501, "only GET is emulated on /devices")
  end
  if seg[2] == "hierarchy" then return { type = "com.fibaro.device", children = array() } end
  if seg[2] == "groupAction" and seg[3] and method == "POST" then return groupAction(seg[3], body) end
  if seg[2] == "addInterface" or seg[2] == "deleteInterface" then
    if type(body) ~= "table" or type(body.deviceID) ~= "table" then return err(400, "deviceID list expected") end
    for _, did in ipairs(body.deviceID) do
      R.interfaces(seg[2] == "addInterface" and "add" or "delete", did, body.interfaces or {})
    end
    return nil, 200
  end
  if not id then return err(400, "bad device id") end
  local dev = S.devices[id]
  if not dev then return err(404, "Device with id " .. id .. " not found") end
  if not seg[3] then
    if method == "GET" then return dev end
    if method == "DELETE" then S.removeDevice(id); return nil, 200 end
    if method == "PUT" then
      if type(body) ~= "table" then return err(400, "JSON object expected") end
      for k, v in pairs(body) do
        if k == "properties" and type(v) == "table" then
          for pk, pv in pairs(v) do S.updateProperty(id, pk, pv) end
        elseif k == "name" or k == "roomID" or k == "enabled" or k == "visible" then
          dev[k] = v
        end
      end
      S.modifyDevice(id)
      return dev
    end
  elseif seg[3] == "action" and seg[4] then
    local args
    if method == "POST" then
      if body ~= nil and type(body) ~= "table" then return err(400, "JSON object expected") end
      args = body and body.args or array()
      if type(args) ~= "table" then return err(400, "args must be a list") end
    else
      -- GET: arguments are query parameters, in key order (arg1, arg2 ...)
      local keys = {}
      for k in pairs(q) do keys[#keys + 1] = k end
      table.sort(keys)
      args = array()
      for _, k in ipairs(keys) do args[#args + 1] = q[k] end
    end
    S.action(id, seg[4], args)
    return actionAccepted()
  elseif seg[3] == "properties" and seg[4] then
    local v = dev.properties[seg[4]]
    if v == nil then return err(404, "Property " .. seg[4] .. " not found") end
    return { value = v, modified = dev.modified }
  end
  return err(501, "not emulated")
end

function R.interfaces(action, id, list)
  local dev = S.devices[id]
  if not dev then return false end
  local set = {}
  for _, i in ipairs(dev.interfaces) do set[i] = true end
  for _, i in ipairs(list) do set[i] = action == "add" or nil end
  local ifs = array()
  for i in pairs(set) do ifs[#ifs + 1] = i end
  table.sort(ifs)
  dev.interfaces = ifs
  S.modifyDevice(id)
  return true
end

------------------------------------------------------------------ plugins

local function plugins(method, seg, q, body)
  local what = seg[2]
  local b = type(body) == "table" and body or {}
  if what == "callUIEvent" then
    local p = method == "GET" and q or b
    local id = num(p.deviceID or p.deviceId)
    if not id or not p.elementName then return err(400, "deviceID and elementName expected") end
    if not S.devices[id] then return err(404, "Device with id " .. id .. " not found") end
    local owner = S.owners[id]
    if owner then
      local values = array()
      if p.values ~= nil then values = type(p.values) == "table" and p.values or array({ p.values })
      elseif p.value ~= nil then values = array({ tonumber(p.value) or p.value }) end
      owner.deliverUIEvent(id, { deviceId = id, elementName = p.elementName,
        eventType = p.eventType or "onReleased", values = values })
    end
    return nil, 204
  elseif what == "updateProperty" and method == "POST" then
    local id = num(b.deviceId)
    if not id or not b.propertyName then return err(400, "deviceId and propertyName expected") end
    if not S.updateProperty(id, b.propertyName, b.value) then return err(404, "Device not found") end
    return nil, 204
  elseif what == "updateView" and method == "POST" then
    local id = num(b.deviceId)
    if not id or not b.componentName then return err(400, "deviceId and componentName expected") end
    if not S.updateView(id, b.componentName, b.propertyName, b.newValue) then return err(404, "Device not found") end
    return nil, 204
  elseif what == "getView" then
    local id = num(q.id)
    return S.views[id] or {}
  elseif what == "createChildDevice" and method == "POST" then
    local parent = num(b.parentId)
    if not parent or not S.devices[parent] then return err(400, "parentId of an existing device expected") end
    if type(b.type) ~= "string" then return err(400, "type expected") end
    local dev, msg = S.newDevice({ name = b.name, type = b.type, parentId = parent,
      properties = b.initialProperties, interfaces = b.initialInterfaces,
      roomID = S.devices[parent].roomID })
    if not dev then return err(400, msg) end
    -- a child's actions and UI events go to its parent's QuickApp
    S.owners[dev.id] = S.owners[parent]
    return dev
  elseif what == "removeChildDevice" and seg[3] then
    local id = num(seg[3])
    if not id or not S.devices[id] then return err(404, "Device not found") end
    S.removeDevice(id)
    return nil, 200
  elseif what == "interfaces" and method == "POST" then
    local id = num(b.deviceId)
    if not id or not R.interfaces(b.action == "delete" and "delete" or "add", id, b.interfaces or {}) then
      return err(404, "Device not found")
    end
    return nil, 200
  elseif what == "publishEvent" and method == "POST" then
    if type(b.type) ~= "string" then return err(400, "type expected") end
    S.emit(b.type, b.data or b)
    return nil, 200
  elseif what == "restart" and method == "POST" then
    local id = num(b.deviceId)
    local owner = id and S.owners[id]
    if not owner then return err(404, "QuickApp not found") end
    owner.restart()
    return nil, 200
  elseif num(what) and seg[3] == "variables" then
    -- internal storage of a QuickApp
    local id = num(what)
    if not S.devices[id] then return err(404, "Device not found") end
    local vars = S.vars[id] or {}
    S.vars[id] = vars
    local name = seg[4]
    if method == "GET" and not name then
      local list = array()
      for _, v in pairs(vars) do list[#list + 1] = v end
      table.sort(list, function(a, c) return a.name < c.name end)
      return list
    elseif method == "GET" then
      if vars[name] == nil then return err(404, "Variable not found") end
      return vars[name]
    elseif method == "POST" then
      if type(b.name) ~= "string" then return err(400, "name expected") end
      if vars[b.name] then return err(409, "Variable exists") end
      vars[b.name] = { name = b.name, value = b.value, isHidden = b.isHidden == true }
      return vars[b.name], 201
    elseif method == "PUT" and name then
      if vars[name] == nil then return err(404, "Variable not found") end
      vars[name] = { name = name, value = b.value, isHidden = b.isHidden == true }
      return vars[name]
    elseif method == "DELETE" then
      if name then
        if vars[name] == nil then return err(404, "Variable not found") end
        vars[name] = nil
      else
        S.vars[id] = {}
      end
      return nil, 200
    end
  elseif not what and method == "GET" then
    return array()
  end
  return err(501, "not emulated")
end

------------------------------------------------------------------ simple collections

-- CRUD over S[field] (numeric ids): rooms, sections, scenes, panels ...
local function collection(field, kind, method, seg, body, defaults, statuses)
  local map = S[field]
  statuses = statuses or {}
  if not seg[2] then
    if method == "GET" then return sortedValues(map, "id") end
    if method == "POST" then
      if type(body) ~= "table" then return err(400, "JSON object expected") end
      local id = nextId(kind)
      local item = S.deepcopy(defaults or {})
      for k, v in pairs(body) do item[k] = v end
      item.id = id
      item.created, item.modified = S.now(), S.now()
      map[id] = item
      return item, statuses.create or 201
    end
    return err(501, "not emulated")
  end
  local id = num(seg[2])
  if not id then return err(400, "bad id " .. seg[2]) end
  local item = map[id]
  if not item then return err(404, kind .. " " .. id .. " not found") end
  if seg[3] then return nil, nil, item end -- sub-resource: the caller handles it
  if method == "GET" then return item end
  if method == "PUT" then
    if type(body) ~= "table" then return err(400, "JSON object expected") end
    for k, v in pairs(body) do if k ~= "id" then item[k] = v end end
    item.modified = S.now()
    return item, statuses.update or 200
  end
  if method == "DELETE" then
    map[id] = nil
    return nil, statuses.delete or 200
  end
  return err(501, "not emulated")
end

local function globalVariables(method, seg, body)
  local name = seg[2]
  if not name then
    if method == "GET" then return sortedValues(S.globals, "name") end
    if method == "POST" then
      local v, status, msg = S.createGlobal(body)
      if not v then return err(status, msg) end
      return v, 201
    end
  else
    local v = S.globals[name]
    if not v then return err(404, "Global variable " .. name .. " not found") end
    if method == "GET" then return v end
    if method == "PUT" then
      if type(body) ~= "table" or body.value == nil then return err(400, "value expected") end
      if body.isEnum ~= nil then v.isEnum = body.isEnum == true end
      if type(body.enumValues) == "table" then v.enumValues = body.enumValues end
      return S.setGlobal(name, body.value)
    end
    if method == "DELETE" then S.deleteGlobal(name); return nil, 204 end
  end
  return err(501, "not emulated")
end

local function customEvents(method, seg, body)
  local name = seg[2]
  if not name then
    if method == "GET" then return sortedValues(S.customEvents, "name") end
    if method == "POST" then
      if type(body) ~= "table" or type(body.name) ~= "string" or body.name == "" then
        return err(400, "name expected")
      end
      if S.customEvents[body.name] then return err(409, "Custom event exists") end
      S.customEvents[body.name] = { name = body.name, userDescription = body.userDescription or "" }
      return S.customEvents[body.name], 201
    end
  else
    local ev = S.customEvents[name]
    if not ev then return err(404, "Custom event " .. name .. " not found") end
    if (method == "POST" and not seg[3]) or seg[3] == "publish" or seg[3] == "emit" then
      S.emit("CustomEvent", { name = name, userDescription = ev.userDescription })
      return nil, 204
    end
    if method == "GET" then return ev end
    if method == "PUT" then
      if type(body) ~= "table" then return err(400, "JSON object expected") end
      ev.userDescription = body.userDescription or ev.userDescription
      return ev
    end
    if method == "DELETE" then S.customEvents[name] = nil; return nil, 204 end
  end
  return err(501, "not emulated")
end

local function refreshStates(q)
  -- last=0 (or none) asks for the current counter only, as on the box
  local last = num(q.last) or 0
  local events, changes
  if last <= 0 then events, changes = array(), array()
  else events, changes = S.eventsAfter(last) end
  -- Long poll: wait a little for something to happen (?wait=seconds, 0..25).
  local wait = tonumber(q.wait) or 5
  if wait > 25 then wait = 25 end
  if last > 0 and #events == 0 and wait > 0 then
    local deadline = _PY.millitime() + wait
    local ok = pcall(function()
      while S.last <= last and _PY.millitime() < deadline do sleep(50) end
    end)
    if ok then events, changes = S.eventsAfter(last) end
  end
  local t = S.now()
  return { status = "IDLE", last = S.last, timestamp = t,
    date = os.date("%H:%M | %d.%m.%Y", t), events = events, changes = changes,
    logs = array(), alarmChanges = array() }
end

local function alarms(method, seg, body)
  -- seg: alarms, v1, partitions|devices, ...
  if seg[3] == "devices" then
    local list = array()
    for _, p in pairs(S.partitions) do
      for _, id in ipairs(p.devices) do
        local d = S.devices[id]
        if d then list[#list + 1] = { id = id, armed = p.armed, breached = d.properties.value == true,
          partitionId = p.id } end
      end
    end
    return list
  end
  if seg[3] ~= "partitions" then return err(501, "not emulated") end
  local function arm(p, armed)
    if p.armed ~= armed then
      p.armed = armed
      p.lastActionAt = S.now()
      S.emit("AlarmPartitionArmedEvent", { partitionId = p.id, armed = armed })
    end
  end
  if seg[4] == "actions" or seg[4] == "breached" then
    if seg[4] == "breached" then
      local list = array()
      for id, p in pairs(S.partitions) do if p.breached then list[#list + 1] = id end end
      return list
    end
    for _, p in pairs(S.partitions) do arm(p, method ~= "DELETE") end
    return nil, 200
  end
  local id = num(seg[4])
  if seg[4] and not id then return err(400, "bad partition id") end
  if id and seg[5] == "actions" then
    local p = S.partitions[id]
    if not p then return err(404, "Partition not found") end
    arm(p, method ~= "DELETE")
    return nil, 200
  end
  local sub = { "partitions" }
  if seg[4] then sub[2] = seg[4] end
  return collection("partitions", "partition", method, sub, body,
    { name = "Partition", armed = false, breached = false, devices = array(), armDelay = 0,
      breachDelay = 0 }, { create = 200 })
end

local function profiles(method, seg, body)
  local P = S.profiles
  local function set(id)
    for _, p in ipairs(P.profiles) do
      if p.id == id then
        local old = P.activeProfile
        P.activeProfile = id
        if old ~= id then
          S.emit("ActiveProfileChangedEvent", { newActiveProfile = id, oldActiveProfile = old })
        end
        return true
      end
    end
    return false
  end
  if not seg[2] then
    if method == "GET" then return P end
    if method == "PUT" then
      if type(body) ~= "table" then return err(400, "JSON object expected") end
      if body.activeProfile and not set(num(body.activeProfile)) then return err(404, "Profile not found") end
      return P
    end
  elseif seg[2] == "activeProfile" and seg[3] and method == "POST" then
    if not set(num(seg[3])) then return err(400, "Profile not found") end
    return nil, 200
  else
    local id = num(seg[2])
    for _, p in ipairs(P.profiles) do if p.id == id then return p end end
    return err(404, "Profile not found")
  end
  return err(501, "not emulated")
end

-- Lua scenes run (fibaro/scene.lua); execute answers at once (202 by
-- POST), executeSync when the instance has ended (at most 60 s).
local function scenes(method, seg, body)
  local SC = require("fibaro.scene")
  local data, status, item = collection("scenes", "scene", method, seg, body, SC.defaults(),
    { update = 204 })
  if item then
    local what = seg[3]
    if what == "execute" or what == "executeAsync" or what == "executeSync" then
      local inst = SC.execute(item.id, { type = "user", property = "execute", id = 2 })
      if inst and what == "executeSync" then
        local deadline = _PY.millitime() + 60
        pcall(function()
          while not inst.finished and _PY.millitime() < deadline do sleep(20) end
        end)
      end
      return nil, method == "POST" and what ~= "executeSync" and 202 or 200
    elseif what == "kill" then
      SC.kill(item.id)
      return nil, 200
    end
    return err(501, "not emulated")
  end
  if method == "DELETE" and status and seg[2] and num(seg[2]) then SC.kill(num(seg[2])) end
  return data, status
end

local function settings(method, seg, body)
  local which = seg[2]
  local t = S.now()
  if which == "info" then
    if method == "PUT" and type(body) == "table" then
      for k, v in pairs(body) do S.info[k] = v end
    end
    S.info.timestamp = t
    S.info.date = os.date("%H:%M | %d.%m.%Y", t)
    return S.info
  elseif which == "location" then
    if method == "PUT" then
      if type(body) ~= "table" then return err(400, "JSON object expected") end
      for k, v in pairs(body) do S.location[k] = v end
      S.updateSun()
    end
    local loc = S.deepcopy(S.location)
    local d = os.date("*t", t)
    loc.date = { day = d.day, month = d.month, year = d.year }
    loc.time = { hour = d.hour, minute = d.min }
    loc.sunriseHour, loc.sunsetHour = S.info.sunriseHour, S.info.sunsetHour
    return loc
  elseif which == "led" then
    return { brightness = 100 }
  elseif which == "network" then
    return { networkConfig = { lan = { ipConfig = { ip = "127.0.0.1", mask = "255.0.0.0",
      gateway = "127.0.0.1", dns1 = "127.0.0.1" } } } }
  end
  return err(501, "not emulated")
end

local function debugMessages(method, q, body)
  if method == "GET" then
    local last = num(q.last) or 0
    local list = array()
    for i = #S.messages, 1, -1 do
      local m = S.messages[i]
      if last == 0 or m.id < last then list[#list + 1] = m end
      if #list >= 100 then break end
    end
    return { nextLast = #list > 0 and list[#list].id or 0, messages = list }
  elseif method == "POST" then
    if type(body) ~= "table" or not body.message then return err(400, "message expected") end
    local level = string.upper(body.messageType or "debug")
    if level ~= "DEBUG" and level ~= "TRACE" and level ~= "WARNING" and level ~= "ERROR" then level = "DEBUG" end
    require("fibaro.log").line(level, body.tag or "DEBUG", tostring(body.message))
    return nil, 200
  elseif method == "DELETE" then
    S.messages = {}
    return nil, 200
  end
  return err(501, "not emulated")
end

------------------------------------------------------------------ dispatch

local handlers = {}
handlers.devices = function(m, seg, q, b) return devices(m, seg, q, b) end
handlers.plugins = function(m, seg, q, b) return plugins(m, seg, q, b) end
handlers.globalVariables = function(m, seg, _, b) return globalVariables(m, seg, b) end
handlers.customEvents = function(m, seg, _, b) return customEvents(m, seg, b) end
handlers.refreshStates = function(m, _, q) if m ~= "GET" then return err(501, "GET only") end return refreshStates(q) end
handlers.rooms = function(m, seg, _, b)
  local data, status = collection("rooms", "room", m, seg, b, { name = "Room", sectionID = 219,
    icon = "room_default", visible = true, isDefault = false, category = "other",
    defaultSensors = { temperature = 0, humidity = 0, light = 0 }, meters = { energy = 0 } },
    { delete = 204 })
  if seg[3] then return err(501, "not emulated") end
  return data, status
end
handlers.sections = function(m, seg, _, b)
  local data, status = collection("sections", "section", m, seg, b, { name = "Section" }, { delete = 204 })
  if seg[3] then return err(501, "not emulated") end
  return data, status
end
handlers.scenes = function(m, seg, _, b) return scenes(m, seg, b) end
handlers.users = function(m, seg, _, b)
  local data, status = collection("users", "user", m, seg, b, { name = "user", type = "user" },
    { create = 200 })
  if seg[3] then return err(501, "not emulated") end
  return data, status
end
handlers.profiles = function(m, seg, _, b) return profiles(m, seg, b) end
handlers.settings = function(m, seg, _, b) return settings(m, seg, b) end
handlers.home = function(m, _, _, b)
  if m == "PUT" or m == "POST" then
    if type(b) ~= "table" then return err(400, "JSON object expected") end
    for k, v in pairs(b) do S.home[k] = v end
  end
  S.home.timestamp = S.now()
  return S.home
end
handlers.weather = function() return S.weather end
handlers.alarms = function(m, seg, _, b) return alarms(m, seg, b) end
handlers.iosDevices = function() return S.iosDevices end
handlers.icons = function() return { device = array(), room = array(), scene = array() } end
handlers.debugMessages = function(m, _, q, b) return debugMessages(m, q, b) end
handlers.notificationCenter = function(m, seg, _, b)
  local data, status = collection("notifications", "notification", m, seg, b,
    { priority = "info", wasRead = false, canBeDeleted = true, type = "GenericSystemNotification",
      data = {} }, { create = 200 })
  if seg[3] then return err(501, "not emulated") end
  return data, status
end
handlers.panels = function(m, seg, _, b)
  if seg[2] == "location" then
    local sub = { "location", seg[3] }
    local data, status = collection("panelsLocation", "panel", m, sub, b,
      { name = "Location", address = "", latitude = 0, longitude = 0, radius = 150, home = false },
      { create = 200 })
    return data, status
  elseif seg[2] == "family" or seg[2] == "notifications" or seg[2] == "climate"
      or seg[2] == "humidity" or seg[2] == "sprinklers" or seg[2] == "favoriteColors" then
    if m == "GET" then return array() end
  end
  return err(501, "not emulated")
end
handlers.callAction = function(m, _, q, b)
  local p = m == "GET" and q or (type(b) == "table" and b or {})
  local id = num(p.deviceID or p.deviceId)
  local name = p.name or p.actionName
  if not id or not name then return err(400, "deviceID and name expected") end
  if not S.devices[id] then return err(404, "Device with id " .. id .. " not found") end
  local args = array()
  if type(p.args) == "table" then args = p.args
  else
    local i = 1
    while p["arg" .. i] ~= nil do args[i] = p["arg" .. i]; i = i + 1 end
  end
  S.action(id, name, args)
  return actionAccepted()
end
-- /quickApp: import/create (via R.importQuickApp, set by fibaro/init.lua),
-- export, availableTypes, and the files of a running QuickApp. Changing
-- files restarts the QuickApp, as saving does on the box.
local function fileInfo(f)
  return { name = f.name, type = "lua", isMain = f.isMain, isOpen = false }
end

local function quickAppFiles(m, owner, name, body)
  local files = owner.files
  local function find(n)
    for i, f in ipairs(files) do if f.name == n then return f, i end end
  end
  local function changed()
    S.emit("QuickAppFilesChangedEvent", { id = owner.id })
    owner.restart()
  end
  local function valid(f)
    return type(f) == "table" and type(f.name) == "string" and f.name:match("^[%w_%-%.]+$")
      and (f.content == nil or type(f.content) == "string")
  end
  if not name then
    if m == "GET" then
      local list = array()
      for _, f in ipairs(files) do list[#list + 1] = fileInfo(f) end
      return list
    elseif m == "POST" then
      if not valid(body) then return err(400, "file with a name (letters, digits, _ - .) expected") end
      if find(body.name) then return err(409, "File " .. body.name .. " already exists") end
      local f = { name = body.name, content = body.content or "", isMain = false,
        chunkname = owner.name .. ":" .. body.name }
      table.insert(files, #files, f) -- before main: main is loaded last
      changed()
      return fileInfo(f), 201
    elseif m == "PUT" then
      if type(body) ~= "table" or #body == 0 then return err(400, "list of files expected") end
      for _, nf in ipairs(body) do
        if not valid(nf) or not find(nf.name) then return err(404, "File " .. tostring(type(nf) == "table" and nf.name) .. " not found") end
      end
      for _, nf in ipairs(body) do
        local f = find(nf.name)
        if nf.content then f.content = nf.content end
      end
      changed()
      return nil, 200
    end
    return err(501, "not emulated")
  end
  local f, i = find(name)
  if not f then return err(404, "File " .. name .. " not found") end
  if m == "GET" then
    local info = fileInfo(f)
    info.content = f.content
    return info
  elseif m == "PUT" then
    if type(body) ~= "table" or type(body.content) ~= "string" then return err(400, "content expected") end
    f.content = body.content
    changed()
    return nil, 200
  elseif m == "DELETE" then
    if f.isMain then return err(400, "the main file cannot be deleted") end
    table.remove(files, i)
    changed()
    return nil, 200
  end
  return err(501, "not emulated")
end

handlers.quickApp = function(m, seg, q, b)
  if seg[2] == "availableTypes" then
    local list = array()
    for _, t in ipairs(S.deviceTypeNames()) do list[#list + 1] = { type = t } end
    return list
  end
  if (seg[2] == "import" or not seg[2]) and m == "POST" then
    if not R.importQuickApp then return err(501, "no QuickApp loader") end
    -- import takes the .fqa document; create takes {name, type,
    -- initialProperties, initialInterfaces} and an optional files list
    local doc = type(b) == "table" and (b.file or b) or b
    if not seg[2] and type(doc) == "table" and doc.files == nil then
      doc.files = array({ { name = "main", isMain = true, content = "" } })
    end
    local dev, status, msg = R.importQuickApp(doc, type(b) == "table" and (b.roomId or q.roomId) or q.roomId)
    if not dev then return err(status, msg) end
    return dev, 201
  end
  local id = num(seg[2] == "export" and seg[3] or seg[2])
  if not id then return err(400, "bad device id") end
  local owner = S.owners[id]
  if not owner or owner.id ~= id then return err(404, "QuickApp " .. id .. " not found") end
  if seg[2] == "export" and m == "GET" then return owner.fqa() end
  if seg[3] == "files" then return quickAppFiles(m, owner, seg[4], b) end
  return err(501, "not emulated")
end

-- path: "/api/..." with an optional query string.
function R.handle(method, path, body)
  method = string.upper(method or "GET")
  local p, qs = path:match("^([^?]*)%??(.*)$")
  p = p:gsub("^/api", "")
  local seg = {}
  for s in p:gmatch("[^/]+") do seg[#seg + 1] = urldecode(s) end
  local q = R.parseQuery(qs)
  local h = handlers[seg[1] or ""]
  if not h then return err(501, "/api" .. p .. " is not emulated") end
  if method ~= "GET" then S.dirty() end
  return h(method, seg, q, body)
end

-- The REST entry: body is JSON text.
function R.rest(method, path, data)
  local body
  if data and data ~= "" then
    local ok, v = pcall(json.decode, data)
    if not ok then return err(400, "Invalid JSON body") end
    body = v
  end
  local res, status = R.handle(method, path, body)
  return res, status or 200
end

return R
