-- fibaro/rest/plugins.lua: /api/plugins, what a QuickApp asks of the box:
-- UI events, properties and views, child devices, interfaces, events,
-- restart and its internal variables.

local S = require("fibaro.store")
local U = require("fibaro.rest.util")
local D = require("fibaro.rest.devices")

local err, num, array = U.err, U.num, U.array

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
    if not id or not D.interfaces(b.action == "delete" and "delete" or "add", id, b.interfaces or {}) then
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

local handlers = {}
handlers.plugins = function(m, seg, q, b) return plugins(m, seg, q, b) end

return { handlers = handlers }
