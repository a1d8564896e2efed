-- net.HTTPClient against net.HTTPServer in one script, on a port picked by
-- the system (port 0, then server:port()). The run ends by itself once the
-- server is stopped.
-- max-seconds: 15
-- no-stderr

local server = net.HTTPServer()
server:start("127.0.0.1", 0, function(method, _, body, request)
  if request.path == "/hello" then
    return "hello " .. (request.query.name or "?")
  elseif request.path == "/echo" then
    return body, 200, { ["Content-Type"] = "application/octet-stream" }
  elseif request.path == "/json" then
    return { method = method, n = 42 }
  elseif request.path == "/later" then
    setTimeout(function() request:respond("deferred", 202) end, 50)
    return
  end
  return "missing", 404
end)

local base = "http://127.0.0.1:" .. server:port()
local client = net.HTTPClient({ timeout = 5000 })
local binary = "\0\1\2\255 bytes \0 end"

local steps = {
  { "/hello?name=plua", {} },
  { "/echo", { method = "POST", data = binary } },
  { "/json", { method = "PUT" } },
  { "/later", {} },
  { "/nothing", {} },
}

local function run(i)
  local step = steps[i]
  if not step then
    print("stop", server:stop())
    return
  end
  client:request(base .. step[1], {
    options = step[2],
    success = function(r)
      local shown = r.data == binary and "binary echoed intact" or r.data
      print(step[1], r.status, r.headers["Content-Type"], shown)
      run(i + 1)
    end,
    error = function(e) print(step[1], "error", e) end,
  })
end

run(1)
