-- http-server.lua: net.HTTPServer answering a fixed body from a Lua handler,
-- for tests/bench/http.sh.   plua --noapi http-server.lua PORT
local port = math.tointeger(tonumber(arg[1]))
local body = "Hello, World!\n"
local headers = { ["Content-Type"] = "text/plain; charset=utf-8" }

local server = net.HTTPServer()
server:start("127.0.0.1", port, function()
  return body, 200, headers
end)
