-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- env: TZ=UTC
-- no-stderr
-- The offline HC3's system resources through api.*: settings/info,
-- settings/location (sunrise/sunset from latitude/longitude, on device 1
-- too), home, alarms/v1 partitions and devices, weather, panels/location,
-- iosDevices, notificationCenter, debugMessages, refreshStates.
--%%name:StoreSystem
--%%id:7070
--%%time:2030-06-21 12:00:00

local function st(_, status) return status end
local function hm(s) return type(s) == "string" and s:match("^%d%d:%d%d$") ~= nil end

function QuickApp:onInit()
  -- settings/info
  local info, s = api.get("/settings/info")
  print("info", s, info.serialNumber, info.platform, info.softVersion, info.defaultRoomId,
    math.type(info.timestamp), hm(info.sunriseHour), hm(info.sunsetHour))
  info = api.put("/settings/info", { hcName = "MyHC3" })
  print("info put", info.hcName, api.get("/settings/info").hcName)

  -- settings/location: sunrise/sunset follow latitude/longitude and date
  local loc
  loc, s = api.get("/settings/location")
  print("location", s, loc.latitude, loc.longitude, loc.city, loc.timezone, loc.date.year, loc.date.month,
    loc.date.day, loc.time.hour)
  print("sun", loc.sunriseHour, loc.sunsetHour, fibaro.getValue(1, "sunriseHour") == loc.sunriseHour,
    fibaro.getValue(1, "sunsetHour") == loc.sunsetHour)
  -- (TZ is UTC) Greenwich at midsummer: NOAA says 03:43 and 20:21 UTC
  loc = api.put("/settings/location", { latitude = 51.4779, longitude = 0.0 })
  print("Greenwich", loc.latitude, loc.longitude, loc.sunriseHour, loc.sunsetHour, fibaro.getValue(1, "sunriseHour"))
  -- north of the arctic circle at midsummer: the sun does not set
  loc = api.put("/settings/location", { latitude = 78.2, longitude = 15.6 })
  print("Svalbard", loc.sunriseHour, loc.sunsetHour)
  print("location bad body", st(api.put("/settings/location", "x")))
  print("settings unknown", st(api.get("/settings/nothing")))

  -- home
  local home
  home, s = api.get("/home")
  print("home", s, home.defaultRoomId, home.currency, math.type(home.timestamp))
  home, s = api.put("/home", { currency = "PLN" })
  print("home put", s, home.currency, api.get("/home").currency, st(api.put("/home", "x")))

  -- alarms/v1: partitions (CRUD, arm/disarm, breached) and their devices
  local parts = api.get("/alarms/v1/partitions")
  print("partitions", #parts, parts[1].id, parts[1].name, parts[1].armed, parts[1].breached)
  local p
  p, s = api.post("/alarms/v1/partitions", { name = "Garage", devices = { self.id } })
  print("partition create", s, p.id, p.name, p.armed)
  print("partition get", api.get("/alarms/v1/partitions/" .. p.id).name, st(api.get("/alarms/v1/partitions/99")),
    st(api.get("/alarms/v1/partitions/x")))
  print("arm", st(api.post("/alarms/v1/partitions/" .. p.id .. "/actions/arm")),
    api.get("/alarms/v1/partitions/" .. p.id).armed, api.get("/alarms/v1/partitions/1").armed)
  print("arm missing", st(api.post("/alarms/v1/partitions/99/actions/arm")))
  local devs = api.get("/alarms/v1/devices")
  print("alarm devices", #devs, devs[1].id, devs[1].partitionId, devs[1].armed)
  print("arm all", st(api.post("/alarms/v1/partitions/actions/arm")), api.get("/alarms/v1/partitions/1").armed)
  print("disarm all", st(api.delete("/alarms/v1/partitions/actions/arm")),
    api.get("/alarms/v1/partitions/" .. p.id).armed)
  print("breached", json.encode(api.get("/alarms/v1/partitions/breached")))
  api.put("/alarms/v1/partitions/" .. p.id, { breached = true })
  print("breached now", json.encode(api.get("/alarms/v1/partitions/breached")))
  print("partition delete", st(api.delete("/alarms/v1/partitions/" .. p.id)), #api.get("/alarms/v1/partitions"))

  -- weather
  local w
  w, s = api.get("/weather")
  print("weather", s, type(w.Temperature), w.TemperatureUnit, type(w.Humidity), type(w.Wind), w.WindUnit,
    type(w.WeatherCondition))

  -- panels/location
  local pl = api.get("/panels/location")
  print("panels/location", #pl, pl[1].id, pl[1].name, pl[1].home, pl[1].radius)
  local np
  np, s = api.post("/panels/location", { name = "Work", latitude = 52.2, longitude = 21.0, radius = 300 })
  print("panel create", s, np.name, np.radius, api.get("/panels/location/" .. np.id).name)
  print("panel put", api.put("/panels/location/" .. np.id, { radius = 500 }).radius,
    st(api.get("/panels/location/99")), "delete", st(api.delete("/panels/location/" .. np.id)))

  -- iosDevices
  print("iosDevices", st(api.get("/iosDevices")), #api.get("/iosDevices"))

  -- notificationCenter
  local n
  n, s = api.post("/notificationCenter", { priority = "warning", data = { title = "Battery", text = "low" } })
  print("notification create", s, n.priority, n.data.title, n.wasRead, n.canBeDeleted, n.type)
  print("notifications", #api.get("/notificationCenter"), api.get("/notificationCenter/" .. n.id).data.text)
  print("notification put", api.put("/notificationCenter/" .. n.id, { wasRead = true }).wasRead,
    st(api.get("/notificationCenter/99")), st(api.post("/notificationCenter", "x")))
  print("notification delete", st(api.delete("/notificationCenter/" .. n.id)), #api.get("/notificationCenter"))

  -- debugMessages: every console line, newest first; POST writes one
  self:warning("a warning")
  local dm = api.get("/debugMessages")
  local m = dm.messages[1]
  print("debugMessages", #dm.messages, m.type, m.tag, m.message, math.type(m.timestamp), dm.nextLast == dm.messages[#dm.messages].id)
  print("post", st(api.post("/debugMessages", { message = "from outside", messageType = "error", tag = "EXT" })))
  print("post bad", st(api.post("/debugMessages", { tag = "EXT" })))
  print("older than", #api.get("/debugMessages?last=" .. m.id).messages < #dm.messages + 1)
  print("delete", st(api.delete("/debugMessages")), #api.get("/debugMessages").messages)

  -- refreshStates: last=0 gives the counter only; later events in HC3 shape
  local rs = api.get("/refreshStates?last=0")
  print("refreshStates", rs.status, math.type(rs.last), #rs.events, type(rs.changes), rs.date:match("^%d%d:%d%d | %d%d%.%d%d%.%d%d%d%d$") ~= nil)
  self:updateProperty("value", true)
  rs = api.get("/refreshStates?last=" .. rs.last)
  local e = rs.events[1]
  print("event", #rs.events, e.type, e.data.id, e.data.property, e.data.newValue, e.data.oldValue, math.type(e.created))
  print("change", json.encode(rs.changes[1]))
  -- nothing new: the long poll waits ?wait= seconds at most
  local t0 = _PY.millitime()
  rs = api.get("/refreshStates?last=" .. rs.last .. "&wait=0.2")
  print("long poll", #rs.events, _PY.millitime() - t0 >= 0.15)
end
