-- fibaro/rest/collections.lua: the lists the box keeps: rooms, sections,
-- users, notifications, panels, alarm partitions and scenes (numeric ids,
-- one CRUD for all), global variables and custom events (by name).

local S = require("fibaro.store")
local U = require("fibaro.rest.util")

local err, num, array = U.err, U.num, U.array

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

local handlers = {}
handlers.globalVariables = function(m, seg, _, b) return globalVariables(m, seg, b) end
handlers.customEvents = function(m, seg, _, b) return customEvents(m, seg, b) end
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
handlers.alarms = function(m, seg, _, b) return alarms(m, seg, b) end
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

return { handlers = handlers }
