-- fibaro/rest/system.lua: the box itself: refreshStates (the event poll),
-- profiles, settings, home, weather, iOS devices, icons and debug messages.

local S = require("fibaro.store")
local U = require("fibaro.rest.util")

local err, num, array = U.err, U.num, U.array

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

local handlers = {}
handlers.refreshStates = function(m, _, q) if m ~= "GET" then return err(501, "GET only") end return refreshStates(q) end
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
-- The HC3 describes only GET /weather (a weather provider QuickApp sets it
-- through its device): anything else is refused as the route table does.
handlers.weather = function(m)
  if m ~= "GET" then return err(405, "only GET is allowed on /weather") end
  return S.weather
end
handlers.iosDevices = function() return S.iosDevices end
handlers.icons = function() return { device = array(), room = array(), scene = array() } end
handlers.debugMessages = function(m, _, q, b) return debugMessages(m, q, b) end

return { handlers = handlers }
