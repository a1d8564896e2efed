-- fibaro/store.lua: the offline HC3's state: devices, global variables, rooms,
-- sections, custom events, scenes, users, profiles, settings, alarms, panels,
-- notifications, debug messages, and the refreshStates event list. One store
-- answers api.* inside QuickApps and /api/* over REST (fibaro/rest.lua).

local log = require("fibaro.log")

local S = {}

local array = json.array
local MAX_EVENTS = 1000
local MAX_MESSAGES = 1000

-- The emulated clock: real time plus an offset (--%%time).
S.offset = 0
-- Sunrise and sunset are recomputed when the emulated day changes (the box
-- does it at midnight), so a run on virtual time sees tomorrow's values.
local sunStale
function S.now()
  local t = os.time() + S.offset
  if sunStale and t >= sunStale then
    sunStale = nil
    S.updateSun()
  end
  return t
end

local function nextMidnight(t)
  local d = os.date("*t", t)
  return os.time({ year = d.year, month = d.month, day = d.day + 1, hour = 0 })
end
log.clock = S.now

-- Device types: the JSON text of each, decoded when the type is first used.
local rawTypes, types
function S.deviceTypes()
  if not types then
    rawTypes = require("fibaro.devicetypes")
    types = setmetatable({}, { __index = function(t, name)
      local text = rawTypes[name]
      if not text then return nil end
      local def = json.decode(text)
      rawset(t, name, def)
      return def
    end })
  end
  return types
end

function S.deviceTypeNames()
  S.deviceTypes()
  local names = {}
  for name in pairs(rawTypes) do names[#names + 1] = name end
  table.sort(names)
  return names
end

local function deepcopy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = deepcopy(x) end
  return t
end
S.deepcopy = deepcopy

-- Copies through JSON: empty arrays stay arrays, as what the box returns.
function S.jsoncopy(v)
  if type(v) ~= "table" then return v end
  return json.decode(json.encode(v))
end

------------------------------------------------------------------ events

S.events = {}   -- ring of {last=, event=, change=}
S.last = 0

function S.emit(etype, data, change)
  if type(data) == "table" then S.deviceChanged(data.id or data.deviceId) end
  S.last = S.last + 1
  local ev = { type = etype, created = S.now(), data = data }
  local list = S.events
  list[#list + 1] = { last = S.last, event = ev, change = change }
  if #list > MAX_EVENTS then table.remove(list, 1) end
  if S.onEvent then S.onEvent(ev) end
  S.dirty()
  return ev
end

-- The JSON text of each device as GET /api/devices sends it, made on first
-- use and dropped when the device changes: every change to a device emits an
-- event naming it (above); deviceChanged() with no id drops them all, for
-- changes made around the events (REST writes, QuickApp loading).
S.deviceJson = {}
S.deviceJsonVersion = 0   -- counts the drops, for caches built on these texts
function S.deviceChanged(id)
  if id == nil then S.deviceJson = {} else S.deviceJson[id] = nil end
  S.deviceJsonVersion = S.deviceJsonVersion + 1
end

-- Something persistent changed (the state file, when there is one, is saved).
function S.dirty()
  if S.onDirty then S.onDirty() end
end

-- Events and changes after `last`.
function S.eventsAfter(last)
  local events, changes = array(), array()
  for _, e in ipairs(S.events) do
    if e.last > last then
      events[#events + 1] = e.event
      if e.change then changes[#changes + 1] = e.change end
    end
  end
  return events, changes
end

------------------------------------------------------------------ seed data

local function sunTimes(lat, lon, t)
  -- NOAA's simplified algorithm; local time from os.date's UTC offset.
  local d = os.date("*t", t)
  local N = d.yday
  local rad = math.pi / 180
  local gamma = 2 * math.pi / 365 * (N - 1)
  local eqtime = 229.18 * (0.000075 + 0.001868 * math.cos(gamma) - 0.032077 * math.sin(gamma)
    - 0.014615 * math.cos(2 * gamma) - 0.040849 * math.sin(2 * gamma))
  local decl = 0.006918 - 0.399912 * math.cos(gamma) + 0.070257 * math.sin(gamma)
    - 0.006758 * math.cos(2 * gamma) + 0.000907 * math.sin(2 * gamma)
    - 0.002697 * math.cos(3 * gamma) + 0.00148 * math.sin(3 * gamma)
  local cosha = math.cos(90.833 * rad) / (math.cos(lat * rad) * math.cos(decl))
    - math.tan(lat * rad) * math.tan(decl)
  local utc = os.time(os.date("!*t", t))
  local tzmin = os.difftime(t, utc) / 60
  if d.isdst then tzmin = tzmin + 60 end
  local function hm(minutes)
    minutes = math.floor(minutes + 0.5) % 1440
    return string.format("%02d:%02d", minutes // 60, minutes % 60)
  end
  if cosha > 1 then return "00:00", "00:00" end -- polar night
  if cosha < -1 then return "00:00", "23:59" end -- midnight sun
  local ha = math.acos(cosha) / rad
  local noon = 720 - 4 * lon - eqtime + tzmin
  return hm(noon - 4 * ha), hm(noon + 4 * ha)
end
S.sunTimes = sunTimes

local function reset()
  local now = S.now()
  S.devices = {}
  S.deviceChanged()
  S.globals = {}
  S.rooms = { [219] = { id = 219, name = "Default Room", sectionID = 219, isDefault = true,
    visible = true, icon = "room_default", iconExtension = "png", iconColor = "purple",
    defaultSensors = { temperature = 0, humidity = 0, light = 0 }, meters = { energy = 0 },
    defaultThermostat = json.null, sortOrder = 1, category = "other", created = now, modified = now } }
  S.sections = { [219] = { id = 219, name = "Default Section", sortOrder = 1, created = now, modified = now } }
  S.customEvents = {}
  S.scenes = {}
  S.users = { [2] = { id = 2, name = "admin", type = "superuser", email = "admin@localhost",
    deviceRights = array(), sceneRights = array(), alarmRights = array(), profileRights = array(),
    climateZoneRights = array(), initialWizard = false, skin = "light", skinSetting = "manual",
    buiSettings = {}, sendNotifications = false, tracking = 0, useOptionalArmPin = false,
    fidLastSynchronizationTimestamp = 0, fidRole = "OWNER", fidUuid = "" } }
  S.profiles = { activeProfile = 1, profiles = array() }
  for i, name in ipairs({ "Home", "Away", "Vacation", "Night" }) do
    S.profiles.profiles[i] = { id = i, name = name, iconId = i, devices = array(), scenes = array(),
      climateZones = array(), partitions = array() }
  end
  S.partitions = { [1] = { id = 1, name = "Partition 1", armed = false, breached = false,
    breachDelay = 0, armDelay = 0, secondsToArm = json.null, devices = array(),
    lastActionAt = now, lastBreachedAt = json.null } }
  S.location = { latitude = 52.4064, longitude = 16.9252, city = "Poznan", address = "",
    houseNumber = 0, timezone = "Europe/Warsaw", timezoneOffset = 3600, ntp = true,
    ntpServer = "pool.ntp.org", temperatureUnit = "C", windUnit = "km/h", timeFormat = 24,
    dateFormat = "dd.mm.yy", decimalMark = "." }
  S.info = { serialNumber = "HC3-00000000", hcName = "HC3-00000000", mac = "00:00:00:00:00:00",
    softVersion = "5.170.25", beta = false, currentVersion = { version = "5.170.25", type = "stable" },
    installVersion = { version = "", type = "", status = "", progress = 0 },
    timestamp = now, online = false, recoveryCondition = "ok", zwaveEngineVersion = "2.0",
    zwaveRegion = "EU", serverStatus = now, defaultLanguage = "en", defaultRoomId = 219,
    hotelMode = false, updateStableAvailable = false, updateBetaAvailable = false,
    newestStableVersion = "5.170.25", newestBetaVersion = "5.170.25", isFTIConfigured = true,
    isSlave = false, platform = "HC3", skin = "light", skinSetting = "manual",
    temperatureUnit = "C", timeFormat = 24, dateFormat = "dd.mm.yy", decimalMark = ".",
    oemId = "HC3", currency = "EUR" }
  S.home = { defaultSensors = { temperature = 0, humidity = 0, light = 0 },
    meters = { energy = 0 }, notificationClient = { marketingNotificationAllowed = false },
    hcName = "HC3-00000000", weatherProvider = 3, currency = "EUR",
    fireAlarmTemperature = 55, freezeAlarmTemperature = 2, timestamp = now, defaultRoomId = 219 }
  S.weather = { Temperature = 21.5, TemperatureUnit = "C", Humidity = 52.0, Wind = 6.1,
    WindUnit = "km/h", WeatherCondition = "clear", ConditionCode = 32 }
  S.panelsLocation = { [6] = { id = 6, name = "Home", address = "", latitude = 52.4064,
    longitude = 16.9252, radius = 150, home = true, created = now, modified = now } }
  S.iosDevices = array()
  S.notifications = {}
  S.messages = {}
  S.vars = {}      -- internal storage: deviceId -> name -> {name, value, isHidden}
  S.qaFiles = {}   -- QuickApp file (absolute path) -> its device id, across runs
  S.nextIds = { device = 5000, room = 220, section = 220, scene = 10, notification = 1,
    panel = 7, message = 1, user = 3, partition = 2 }
  S.addRoot()
end

-- Device 1: the controller; sunrise/sunset live in its properties on the box.
function S.addRoot()
  local sunrise, sunset = sunTimes(S.location.latitude, S.location.longitude, S.now())
  local now = S.now()
  S.devices[1] = { id = 1, name = "zwave", roomID = 0, view = array(),
    type = "com.fibaro.zwavePrimaryController", baseType = "", enabled = true, visible = false,
    isPlugin = false, parentId = 0, viewXml = false, hasUIView = false, configXml = false,
    interfaces = array({ "energy", "power" }), properties = { sunriseHour = sunrise,
      sunsetHour = sunset, dead = false, deadReason = "", manufacturer = "", model = "",
      serialNumber = S.info.serialNumber, useTemplate = false, isBatteryOperated = false,
      power = 0, energy = 0 },
    actions = { reconfigure = 0 }, created = now, modified = now, sortOrder = 1 }
  S.info.sunriseHour, S.info.sunsetHour = sunrise, sunset
  sunStale = nextMidnight(now)
end

function S.updateSun()
  local sunrise, sunset = sunTimes(S.location.latitude, S.location.longitude, S.now())
  S.updateProperty(1, "sunriseHour", sunrise)
  S.updateProperty(1, "sunsetHour", sunset)
  S.info.sunriseHour, S.info.sunsetHour = sunrise, sunset
  sunStale = nextMidnight(S.now())
end

------------------------------------------------------------------ devices

function S.nextDeviceId()
  local id = S.nextIds.device
  while S.devices[id] do id = id + 1 end
  S.nextIds.device = id + 1
  return id
end

-- A new device of a known type; `spec`: id, name, type, parentId, roomID,
-- properties (merged over the type's defaults), interfaces (added).
function S.newDevice(spec)
  local tdef = S.deviceTypes()[spec.type]
  if not tdef then return nil, "unknown device type '" .. tostring(spec.type) .. "'" end
  local id = spec.id or S.nextDeviceId()
  if S.devices[id] then return nil, "device " .. id .. " already exists" end
  local now = S.now()
  local props = deepcopy(tdef.properties)
  props.quickAppVariables = array()
  props.uiCallbacks = array()
  props.viewLayout = { ["$jason"] = { body = { header = { style = { height = "0" },
    title = "quickApp_device_" .. id }, sections = { items = array() } },
    head = { title = "quickApp_device_" .. id } } }
  props.uiView = array()
  props.useUiView = false
  props.userDescription = ""
  props.log, props.logTemp = "", ""
  props.manufacturer, props.model = "", ""
  props.deviceIcon = 0
  props.quickAppUuid = ""
  for k, v in pairs(spec.properties or {}) do props[k] = v end
  local ifs, seen = array(), {}
  local function addIf(name) if not seen[name] then seen[name] = true; ifs[#ifs + 1] = name end end
  for _, i in ipairs(tdef.interfaces) do addIf(i) end
  if spec.isPlugin ~= false then addIf("quickApp") end
  for _, i in ipairs(spec.interfaces or {}) do addIf(i) end
  table.sort(ifs)
  local dev = {
    id = id, name = spec.name or ("Device " .. id), roomID = spec.roomID or 219,
    view = deepcopy(tdef.view), type = spec.type, baseType = tdef.baseType,
    enabled = true, visible = spec.visible ~= false, isPlugin = spec.isPlugin ~= false,
    parentId = spec.parentId or 0, viewXml = false, hasUIView = true, configXml = false,
    interfaces = ifs, properties = props, actions = deepcopy(tdef.actions),
    created = now, modified = now, sortOrder = id,
  }
  if next(dev.view) == nil then dev.view = array() end
  S.devices[id] = dev
  S.emit("DeviceCreatedEvent", { id = id })
  return dev
end

function S.removeDevice(id)
  local dev = S.devices[id]
  if not dev then return false end
  for cid, c in pairs(S.devices) do
    if c.parentId == id then S.removeDevice(cid) end
  end
  S.devices[id] = nil
  S.vars[id] = nil
  S.emit("DeviceRemovedEvent", { id = id })
  if S.onRemoved then S.onRemoved(id) end
  return true
end

local function same(a, b)
  if a == b then return true end
  if type(a) == "table" and type(b) == "table" then
    local ok1, ea = pcall(json.encode, a)
    local ok2, eb = pcall(json.encode, b)
    return ok1 and ok2 and ea == eb
  end
  return false
end

-- Sets a property; the box reports (and timestamps) only real changes.
function S.updateProperty(id, name, value)
  local dev = S.devices[id]
  if not dev then return nil, 404 end
  local old = dev.properties[name]
  if same(old, value) then return true end
  dev.properties[name] = value
  dev.modified = S.now()
  if old == nil then old = json.null end
  local data = { id = id, property = name, newValue = value, oldValue = old }
  S.emit("DevicePropertyUpdatedEvent", data, { id = id, [name] = value })
  return true
end

function S.modifyDevice(id)
  local dev = S.devices[id]
  if dev then
    dev.modified = S.now()
    S.emit("DeviceModifiedEvent", { id = id })
  end
end

-- View changes of a QuickApp (updateView): kept per device, reported as the
-- box does.
S.views = {}
function S.updateView(id, element, prop, value)
  if not S.devices[id] then return nil, 404 end
  S.views[id] = S.views[id] or {}
  S.views[id][element] = S.views[id][element] or {}
  S.views[id][element][prop] = value
  S.emit("PluginChangedViewEvent", { deviceId = id, elementName = element,
    propertyName = prop, newValue = value })
  -- Pages on the REST server's /ws see it at once (only while it runs).
  local broadcast = _PY.broadcast_view_update
  if broadcast then broadcast(id, element, prop, value) end
  return true
end

-- Device actions. A QuickApp's device goes to its owner (set by the loader);
-- a plain device answers the common actions itself, so seeded devices behave.
S.owners = {}
function S.action(id, name, args)
  local dev = S.devices[id]
  if not dev then return nil, 404 end
  local owner = S.owners[id]
  if owner then
    owner.deliverAction(id, name, args or array())
    return true
  end
  local v = dev.properties.value
  if name == "turnOn" then S.updateProperty(id, "value", type(v) == "number" and 99 or true)
  elseif name == "turnOff" then S.updateProperty(id, "value", type(v) == "number" and 0 or false)
  elseif name == "toggle" then S.updateProperty(id, "value", not v)
  elseif name == "setValue" and args and args[1] ~= nil then S.updateProperty(id, "value", args[1])
  elseif name == "updateProperty" and args and args[1] then S.updateProperty(id, args[1], args[2])
  end
  return true
end

------------------------------------------------------------------ global variables

function S.getGlobal(name) return S.globals[name] end

function S.createGlobal(var)
  if type(var) ~= "table" or type(var.name) ~= "string" or var.name == "" then
    return nil, 400, "name expected"
  end
  if S.globals[var.name] then return nil, 409, "Global variable " .. var.name .. " already exists" end
  local now = S.now()
  local v = { name = var.name, value = var.value ~= nil and tostring(var.value) or "",
    readOnly = var.readOnly == true, isEnum = var.isEnum == true,
    enumValues = var.enumValues or array(), created = now, modified = now }
  S.globals[var.name] = v
  S.emit("GlobalVariableAddedEvent", { variableName = v.name, value = v.value })
  return v
end

function S.setGlobal(name, value)
  local v = S.globals[name]
  if not v then return nil, 404 end
  value = tostring(value)
  local old = v.value
  v.value = value
  v.modified = S.now()
  if old ~= value then
    S.emit("GlobalVariableChangedEvent", { variableName = name, newValue = value, oldValue = old })
  end
  return v
end

function S.deleteGlobal(name)
  if not S.globals[name] then return nil, 404 end
  S.globals[name] = nil
  S.emit("GlobalVariableRemovedEvent", { variableName = name })
  return true
end

------------------------------------------------------------------ debug messages

function S.addMessage(level, tag, message, t)
  local id = S.nextIds.message
  S.nextIds.message = id + 1
  local m = S.messages
  m[#m + 1] = { id = id, timestamp = t or S.now(), type = string.lower(level), tag = tostring(tag),
    message = message }
  if #m > MAX_MESSAGES then table.remove(m, 1) end
end
log.sink = S.addMessage

------------------------------------------------------------------ state file

-- Persistent parts of the store (not events or messages).
local PERSIST = { "devices", "globals", "rooms", "sections", "customEvents", "scenes", "users",
  "profiles", "partitions", "location", "info", "home", "weather", "panelsLocation",
  "notifications", "vars", "nextIds", "qaFiles" }
local KEYED = { devices = true, rooms = true, sections = true, scenes = true, users = true,
  partitions = true, panelsLocation = true, notifications = true, vars = true }
S.PERSIST, S.KEYED = PERSIST, KEYED

-- JSON objects have string keys: numeric-keyed maps are saved as lists.
function S.snapshot(skipDevices)
  local out = {}
  for _, k in ipairs(PERSIST) do
    local v = S[k]
    if KEYED[k] then
      local list = array()
      for key, item in pairs(v) do
        if not (k == "devices" and skipDevices and skipDevices(key)) then
          if k == "vars" then list[#list + 1] = { deviceId = key, variables = item }
          else list[#list + 1] = item end
        end
      end
      table.sort(list, function(a, b) return (a.id or a.deviceId) < (b.id or b.deviceId) end)
      out[k] = list
    else
      out[k] = v
    end
  end
  return out
end

function S.load(state)
  for _, k in ipairs(PERSIST) do
    local v = state[k]
    if v ~= nil then
      if KEYED[k] then
        local map = S[k]
        for _, item in ipairs(v) do
          if k == "vars" then map[item.deviceId] = item.variables
          elseif type(item.id) == "number" then map[item.id] = item end
        end
      elseif k == "nextIds" or k == "qaFiles" or k == "info" or k == "home" or k == "location" or k == "weather" then
        for kk, vv in pairs(v) do S[k][kk] = vv end
      else
        S[k] = v
      end
    end
  end
  if not S.devices[1] then S.addRoot() end
  S.deviceChanged()
  S.updateSun()
end

function S.reset() reset() end
reset()

return S
