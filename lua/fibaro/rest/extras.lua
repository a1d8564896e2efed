-- fibaro/rest/extras.lua: HC3 routes QuickApps call that the store has no
-- data of its own for: /energy/devices, /diagnostics, /mobile/push and
-- /proxy?url= (a fetch made by the box, here by plua). The shapes are the
-- emulator's choice where the HC3's descriptions leave them open (README).

local S = require("fibaro.store")
local U = require("fibaro.rest.util")
local log = require("fibaro.log")

local err, array = U.err, U.array

local handlers = {}

local function getOnly(m)
  if m ~= "GET" then return err(405, "only GET is allowed here") end
end

-- The devices that measure energy (an "energy" interface or property).
handlers.energy = function(m, seg)
  local bad, status = getOnly(m)
  if bad then return bad, status end
  if seg[2] ~= "devices" or seg[3] then return err(501, "not emulated") end
  local list = array()
  for _, d in pairs(S.devices) do
    local measures = d.properties.energy ~= nil
    for _, i in ipairs(d.interfaces or {}) do measures = measures or i == "energy" end
    if measures and d.id > 1 then
      list[#list + 1] = { id = d.id, name = d.name, roomID = d.roomID, type = d.type,
        energy = d.properties.energy or 0, power = d.properties.power or 0 }
    end
  end
  table.sort(list, function(a, b) return a.id < b.id end)
  return list
end

-- Memory in percent of the machine plua runs on (Linux /proc/meminfo),
-- storage and CPU load as a box with nothing to do reports them.
local function meminfo()
  local f = io.open("/proc/meminfo", "r")
  if not f then return nil end
  local kb = {}
  for line in f:lines() do
    local k, v = line:match("^(%w+):%s+(%d+)")
    if k then kb[k] = tonumber(v) end
  end
  f:close()
  if not kb.MemTotal or kb.MemTotal == 0 then return nil end
  local function pct(v) return math.floor((v or 0) * 100 / kb.MemTotal + 0.5) end
  local free, cache, buffers = pct(kb.MemFree), pct(kb.Cached), pct(kb.Buffers)
  return { free = free, cache = cache, buffers = buffers, used = math.max(0, 100 - free - cache - buffers) }
end

handlers.diagnostics = function(m, seg)
  local bad, status = getOnly(m)
  if bad then return bad, status end
  if seg[2] then return err(501, "not emulated") end
  return { memory = meminfo() or { free = 50, cache = 20, buffers = 5, used = 25 },
    storage = { internal = array({ { name = "user", used = 10 }, { name = "system", used = 40 } }) },
    cpuLoad = array({ { name = "cpu0", user = "0", nice = "0", system = "0", idle = "100" } }) }
end

-- A push to the mobile apps: nothing leaves the emulator; the console shows
-- it (as fibaro.alert does) and it is reported as an event.
local pushes = 0
handlers.mobile = function(m, seg, _, b)
  if seg[2] ~= "push" then return err(501, "not emulated") end
  if seg[3] then
    if m == "DELETE" then return nil, 200 end
    return err(501, "not emulated")
  end
  if m ~= "POST" then return err(405, "only POST is allowed here") end
  if type(b) ~= "table" then return err(400, "JSON object expected") end
  pushes = pushes + 1
  local to = type(b.mobileDevices) == "table" and table.concat(b.mobileDevices, ",") or "all"
  log.line("TRACE", "PUSH", string.format("to %s: %s%s", to, b.title and (tostring(b.title) .. ": ") or "",
    tostring(b.message or "")))
  S.emit("PushMessageSentEvent", { id = pushes, title = b.title, message = b.message })
  return { id = pushes }, 200
end

------------------------------------------------------------------ /proxy

-- Addresses /proxy fetches from by default: loopback and the LAN (private,
-- link-local and unique-local ranges), by IP literal or "localhost";
-- PLUA_FIBARO_PROXY=any lifts the limit.
local function lanIPv4(a, b)
  return a == 127 or a == 10 or (a == 172 and b >= 16 and b <= 31) or (a == 192 and b == 168)
    or (a == 169 and b == 254)
end

local function allowedHost(host)
  if os.getenv("PLUA_FIBARO_PROXY") == "any" then return true end
  host = host:lower()
  if host == "localhost" then return true end
  local a, b, c, d = host:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if a then
    a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
    return a <= 255 and b <= 255 and c <= 255 and d <= 255 and lanIPv4(a, b)
  end
  local v6 = host:match("^%[(.+)%]$")
  if v6 then return v6 == "::1" or v6:match("^f[cd]") ~= nil or v6:match("^fe[89ab]") ~= nil end
  return false
end

local PROXY_TIMEOUT = 10000 -- ms

-- Inside a coroutine that may yield (a REST request, a QuickApp's task) the
-- fetch is asynchronous: the coroutine sleeps in short steps until the
-- answer is there (sleep is resumed by the runtime, whoever made the
-- coroutine); elsewhere it blocks, as api.* does on the box.
local function fetch(method, url, body)
  if coroutine.isyieldable() then
    local result
    net.HTTPClient({ timeout = PROXY_TIMEOUT }):request(url, {
      options = { method = method, data = body },
      success = function(r)
        result = { status = r.status, data = r.data, type = r.headers and r.headers["content-type"] }
      end,
      error = function(e) result = { error = e } end,
    })
    while not result do sleep(5) end
    return result
  end
  local r = _PY.http_call_sync(method, url, body)
  if not r.success and r.error then return { error = r.error } end
  return { status = r.status_code, data = r.data, type = r.headers and r.headers["content-type"] }
end

handlers.proxy = function(m, _, q, b)
  local url = q.url
  if type(url) ~= "string" or url == "" then return err(400, "url expected (/api/proxy?url=http://...)") end
  local scheme, host = url:match("^(https?)://([^/:?#]+)")
  if not scheme then
    scheme, host = url:match("^(https?)://(%[[^%]]+%])")
  end
  if not scheme then return err(400, "url must be http:// or https://") end
  if not allowedHost(host) then
    return err(403, "the emulator's /proxy fetches from loopback and LAN addresses only ("
      .. host .. " is neither; PLUA_FIBARO_PROXY=any allows every address)")
  end
  local body = b
  if type(body) == "table" then body = json.encode(body) end
  local r = fetch(m, url, body)
  if r.error then return err(502, "proxy: " .. tostring(r.error)) end
  return r.data or "", r.status, { ["Content-Type"] = r.type or "application/octet-stream" }
end

return { handlers = handlers }
