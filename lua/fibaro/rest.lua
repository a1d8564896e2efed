-- fibaro/rest.lua: the HC3 REST API of the offline store. handle(method,
-- path, body) → data, status. `body` is a Lua value (api.* inside a QA) or
-- JSON text (REST); data is returned as Lua values, encoded by the caller.
-- The handlers live in fibaro/rest/*.lua, one file per group of resources.

local S = require("fibaro.store")
local U = require("fibaro.rest.util")
local D = require("fibaro.rest.devices")
local plugins = require("fibaro.rest.plugins")
local collections = require("fibaro.rest.collections")
local system = require("fibaro.rest.system")
local QA = require("fibaro.rest.quickapp")
local extras = require("fibaro.rest.extras")

local R = {}
local err = U.err

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

R.interfaces = D.interfaces

------------------------------------------------------------------ dispatch

-- Each group's handlers answer /api/<name>: handler(method, seg, query, body).
local handlers = {}
for _, group in ipairs({ D, plugins, collections, system, extras }) do
  for name, h in pairs(group.handlers) do
    assert(handlers[name] == nil, "two handlers for /api/" .. name)
    handlers[name] = h
  end
end
-- R.importQuickApp is set by fibaro/init.lua after this module has loaded.
handlers.quickApp = function(m, seg, q, b) return QA.quickApp(m, seg, q, b, R.importQuickApp) end

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
  if method ~= "GET" then
    S.dirty()
    S.deviceChanged()
  end
  return h(method, seg, q, body)
end

local JSON_TYPE = { ["Content-Type"] = "application/json" }

-- The REST entry: body is JSON text.
function R.rest(method, path, data)
  -- The whole house, as the box sends it: from the texts the store keeps.
  if path == "/api/devices" and string.upper(method or "") == "GET" then
    return D.listJson(), 200, JSON_TYPE
  end
  local body
  if data and data ~= "" then
    local ok, v = pcall(json.decode, data)
    if not ok then return err(400, "Invalid JSON body") end
    body = v
  end
  local res, status, headers = R.handle(method, path, body)
  return res, status or 200, headers
end

return R
