-- fibaro/rest/devices.lua: /api/devices (list with filters, one device,
-- actions, properties, groupAction, interfaces) and /api/callAction.

local S = require("fibaro.store")
local U = require("fibaro.rest.util")

local D = {}
local err, num, array = U.err, U.num, U.array

-- Query values are text; the box compares them with the JSON values.
local function matches(value, text)
  if type(value) == "boolean" then return tostring(value) == text end
  if type(value) == "number" then return tonumber(text) == value end
  return tostring(value) == text
end

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

-- GET /api/devices without filters as JSON text: each device's text is made
-- once and kept by the store until the device changes, and the list of them
-- until any changes, so polling a house that did not change costs nothing
-- here.
local list_text, list_version
function D.listJson()
  if list_text and list_version == S.deviceJsonVersion then
    return list_text
  end
  local ids = {}
  for id in pairs(S.devices) do ids[#ids + 1] = id end
  table.sort(ids)
  local texts, cache = {}, S.deviceJson
  for i, id in ipairs(ids) do
    local text = cache[id]
    if not text then
      text = json.encode(S.devices[id])
      cache[id] = text
    end
    texts[i] = text
  end
  list_text, list_version = "[" .. table.concat(texts, ",") .. "]", S.deviceJsonVersion
  return list_text
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
      D.interfaces(seg[2] == "addInterface" and "add" or "delete", did, body.interfaces or {})
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

function D.interfaces(action, id, list)
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

local handlers = {}
handlers.devices = function(m, seg, q, b) return devices(m, seg, q, b) end
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

D.handlers = handlers

return D
