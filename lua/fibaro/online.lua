-- fibaro/online.lua: a QuickApp in online mode. Its own device, children,
-- quickAppVariables, internalStorage and UI live in plua's store; every
-- other api.* call and fibaro.* lookup goes to the box (fibaro/hc3.lua) and
-- returns what the box sends. The box's events are merged into the store's
-- event list, so /api/refreshStates, RefreshStateSubscriber and every
-- S.onEvent listener see the house as well as the local QuickApps.

local S = require("fibaro.store")
local H = require("fibaro.hc3")

local O = {}
local array = json.array

local function owned(id)
  id = tonumber(id)
  return id ~= nil and S.owners[id] ~= nil
end
O.owned = owned

-- Resources answered locally, whoever asks: the event list (merged) and the
-- console.
local ALWAYS_LOCAL = { refreshStates = true, debugMessages = true }

-- true when api.<method>(path, body) is about a local QuickApp's things.
function O.isLocal(path, body)
  local p, qs = path:match("^/api/([^?]*)%??(.*)$")
  if not p then return false end
  local seg = {}
  for s in p:gmatch("[^/]+") do seg[#seg + 1] = s end
  local group = seg[1]
  if ALWAYS_LOCAL[group] then return true end
  if group == "devices" then
    if seg[2] then return owned(seg[2]) end
    local parent = qs:match("parentId=(%d+)")
    return parent ~= nil and owned(parent)
  elseif group == "quickApp" then
    local id = seg[2] == "export" and seg[3] or seg[2]
    return owned(id)
  elseif group == "plugins" then
    -- /plugins/{id}/variables, /plugins/removeChildDevice/{id}, or a body
    -- naming the device (updateProperty, updateView, callUIEvent,
    -- createChildDevice's parentId); without any id: the caller's own
    local id = tonumber(seg[2]) or tonumber(seg[3])
    if not id and type(body) == "table" then id = body.deviceId or body.parentId or body.id end
    return id == nil or owned(id)
  end
  return false
end

------------------------------------------------------------------ fibaro.* lookups

-- env.fibaro functions that read the store directly are replaced by ones
-- that ask the box about devices not in plua.
function O.patch(env)
  local fibaro, plugin = env.fibaro, env.plugin
  local orig = {}
  for k, v in pairs(fibaro) do orig[k] = v end
  local assertType = require("fibaro.sdk").assertType
  local function box(path) return H.call("GET", path, nil, { level = 4 }) end
  local function device(id)
    local d, status = box("/devices/" .. id)
    if status == 200 and type(d) == "table" then return d end
  end

  function fibaro.get(id, prop)
    assertType(id, "number")
    assertType(prop, "string")
    if owned(id) then return orig.get(id, prop) end
    local r, status = box("/devices/" .. id .. "/properties/" .. prop)
    if status ~= 200 or type(r) ~= "table" then return nil end
    return r.value, r.modified
  end
  function fibaro.getValue(id, prop) return (fibaro.get(id, prop)) end
  local function field(name)
    return function(id)
      assertType(id, "number")
      if owned(id) then return orig[name](id) end
      local d = device(id)
      return d and d[({ getType = "type", getName = "name", getRoomID = "roomID" })[name]]
    end
  end
  fibaro.getType, fibaro.getName, fibaro.getRoomID = field("getType"), field("getName"), field("getRoomID")
  function fibaro.getRoomName(roomID)
    assertType(roomID, "number")
    local r, status = box("/rooms/" .. roomID)
    return status == 200 and type(r) == "table" and r.name or nil
  end
  function fibaro.getRoomNameByDeviceID(id)
    local room = fibaro.getRoomID(id)
    return room and fibaro.getRoomName(room)
  end
  function fibaro.getSectionID(id)
    local room = fibaro.getRoomID(id)
    if not room then return nil end
    local r, status = box("/rooms/" .. room)
    return status == 200 and type(r) == "table" and r.sectionID or nil
  end

  -- fibaro.call: local targets as offline, the others as the box's action
  -- route (the arguments travel as JSON, nil as null).
  function fibaro.call(ids, action, ...)
    assertType(action, "string")
    local list = type(ids) == "table" and ids or { ids }
    for _, id in ipairs(list) do assertType(id, "number") end
    local n = select("#", ...)
    local args = { ... }
    for i = 1, n do if args[i] == nil then args[i] = json.null end end
    for _, id in ipairs(list) do
      if owned(id) then orig.call(id, action, ...)
      else H.call("POST", "/devices/" .. id .. "/action/" .. action, { args = array(args) }, { level = 3 }) end
    end
  end
  fibaro.callhc3 = fibaro.call

  function fibaro.getGlobalVariable(name)
    assertType(name, "string")
    local v, status = box("/globalVariables/" .. name)
    if status == 200 and type(v) == "table" then return v.value, v.modified end
    return nil
  end
  function fibaro.setGlobalVariable(name, value)
    assertType(name, "string")
    assertType(value, "string")
    H.call("PUT", "/globalVariables/" .. name, { name = name, value = value }, { level = 3 })
  end
  function fibaro.emitCustomEvent(name)
    assertType(name, "string")
    H.call("POST", "/customEvents/" .. name, nil, { level = 3 })
  end

  local function partitions()
    local list, status = box("/alarms/v1/partitions")
    return status == 200 and type(list) == "table" and list or {}
  end
  function fibaro.getPartitionArmState(id)
    assertType(id, "number")
    local p, status = box("/alarms/v1/partitions/" .. id)
    if status ~= 200 or type(p) ~= "table" then return nil end
    return p.armed and "armed" or "disarmed"
  end
  function fibaro.getHomeArmState()
    local armed, total = 0, 0
    for _, p in ipairs(partitions()) do total = total + 1; if p.armed then armed = armed + 1 end end
    if armed == 0 then return "disarmed" elseif armed == total then return "armed" end
    return "partially_armed"
  end
  function fibaro.isPartitionBreached(id)
    assertType(id, "number")
    local p, status = box("/alarms/v1/partitions/" .. id)
    return status == 200 and type(p) == "table" and p.breached == true
  end
  function fibaro.isHomeBreached()
    for _, p in ipairs(partitions()) do if p.breached then return true end end
    return false
  end
  function fibaro.getDevicesID(filter)
    local list = box("/devices")
    return orig.getDevicesID(filter, type(list) == "table" and list or {})
  end
  function fibaro.wakeUpDeadDevice(id)
    assertType(id, "number")
    if owned(id) then return orig.wakeUpDeadDevice(id) end
    H.call("POST", "/devices/1/action/wakeUpDeadDevice", { args = array({ id }) }, { level = 3 })
  end

  function plugin.getProperty(id, prop)
    if owned(id) then
      local d = S.devices[id]
      return d and S.jsoncopy(d.properties[prop])
    end
    return (fibaro.get(id, prop))
  end

end

-- api.hc3.* always goes to the box, in every mode; api.hc3.restricted.*
-- with the PIN (HC3_PIN).
function O.hc3api(api)
  local function verbs(restricted)
    local t = {}
    local opts = { restricted = restricted, level = 3 }
    function t.get(path) return H.call("GET", path, nil, opts) end
    function t.post(path, data) return H.call("POST", path, data, opts) end
    function t.put(path, data) return H.call("PUT", path, data, opts) end
    function t.delete(path) return H.call("DELETE", path, nil, opts) end
    return t
  end
  api.hc3 = verbs(false)
  api.hc3.restricted = verbs(true)
end

------------------------------------------------------------------ events

-- The change a DevicePropertyUpdatedEvent stands for, in the box's
-- `changes` shape ({id, <property> = value}).
local function changeOf(ev)
  local d = ev.data
  if ev.type == "DevicePropertyUpdatedEvent" and type(d) == "table" and d.id and d.property then
    return { id = d.id, [d.property] = d.newValue }
  end
end

-- Starts the box's event poll, feeding each event through S.emit (which
-- also reaches S.onEvent and the RefreshStateSubscribers).
function O.startEvents()
  H.startPoll(function(ev)
    if type(ev) ~= "table" or type(ev.type) ~= "string" then return end
    -- a local device's events come from the store itself; on the box they
    -- are the proxy's echo of what plua sent it
    local d = ev.data
    if type(d) == "table" and owned(d.id or d.deviceId) then return end
    S.emit(ev.type, d, changeOf(ev))
  end)
end

return O
