-- lua/net/http.lua: net.HTTPClient and net.HTTPServer over the C primitives
-- of src/plua-http-client.c and src/plua-http-server.c.
--
--   local client = net.HTTPClient({ timeout = 5000 })
--   client:request(url, {
--     options = { method = "POST", headers = {...}, data = "bytes",
--                 timeout = 5000 (ms), checkCertificate = false,
--                 maxResponseSize = bytes (default 64 MiB, counted after gzip) },
--     success = function(response) end,  -- {status=, data=, headers=}, any status
--     error = function(message) end,     -- transport failure; "timeout"
--   })
--
--   local server = net.HTTPServer()
--   server:start("127.0.0.1", 8080, function(method, path, body, request)
--     return { ok = true }, 200            -- or return nothing and call
--   end)                                   -- request:respond(body, status, headers)
--   server:port(); server:stop()
--
-- Header tables (response.headers, request.headers) have lower-case names
-- and are looked up case-insensitively.

local client_prims, server_prims

local DEFAULT_TIMEOUT = 30000   -- ms

-- Case-insensitive lookup for header tables whose keys are lower-case.
local headers_mt = {
  __index = function(t, key)
    if type(key) == "string" then
      local lower = key:lower()
      if lower ~= key then return rawget(t, lower) end
    end
    return nil
  end,
}

local function warn(fmt, ...)
  io.stderr:write(string.format(fmt, ...), "\n")
end

---------------------------------------------------------------------------
-- HTTPClient

local HTTPClient = {}
HTTPClient.__index = HTTPClient

function HTTPClient:__tostring()
  return string.format("HTTPClient (timeout %d ms)", self.timeout)
end

-- client:request(url, {options=, success=, error=}); returns nothing, the
-- callbacks run later, in a coroutine of their own (they may sleep).
function HTTPClient:request(url, params)
  if type(url) ~= "string" then
    error("HTTPClient:request: url must be a string", 2)
  end
  params = params or {}
  local options = params.options or {}
  local on_success, on_error = params.success, params.error
  local check = options.checkCertificate
  if check == nil then check = self.checkCertificate end
  client_prims.request(url, options.method or "GET", options.headers, options.data,
    options.timeout or self.timeout, check ~= false,
    function(err, response)
      if err then
        if on_error then
          on_error(err)
        else
          warn("HTTPClient: %s %s failed: %s (no error callback)",
            options.method or "GET", url, err)
        end
      else
        setmetatable(response.headers, headers_mt)
        if on_success then on_success(response) end
      end
    end, options.maxResponseSize or self.maxResponseSize)
end

local function new_client(opts)
  client_prims = client_prims or require("plua.http.client")
  opts = opts or {}
  local timeout = opts.timeout or DEFAULT_TIMEOUT
  if type(timeout) ~= "number" then
    error("HTTPClient: timeout must be a number of milliseconds", 2)
  end
  if opts.maxResponseSize ~= nil and type(opts.maxResponseSize) ~= "number" then
    error("HTTPClient: maxResponseSize must be a number of bytes", 2)
  end
  return setmetatable({ timeout = timeout, checkCertificate = opts.checkCertificate,
    maxResponseSize = opts.maxResponseSize }, HTTPClient)
end

---------------------------------------------------------------------------
-- HTTPServer

local HTTPServer = {}
HTTPServer.__index = HTTPServer

function HTTPServer:__tostring()
  return tostring(self._server)
end

-- server:start(host, port, handler): host defaults to "localhost"
-- (127.0.0.1); port 0 picks a free port (see server:port()). Raises with the
-- reason when the address cannot be bound.
function HTTPServer:start(host, port, handler)
  if type(handler) ~= "function" then
    error("HTTPServer:start: handler must be a function", 2)
  end
  if math.type(port) ~= "integer" then
    error("HTTPServer:start: port must be an integer", 2)
  end
  host = host or "localhost"
  self._server:listen(host, port, handler)
  return self
end

function HTTPServer:port()
  return self._server:port()
end

function HTTPServer:isRunning()
  return self._server:port() ~= nil
end

function HTTPServer:stop()
  return self._server:stop()
end

local function new_server()
  server_prims = server_prims or require("plua.http.server")
  return setmetatable({ _server = server_prims.new() }, HTTPServer)
end

return {
  HTTPClient = new_client,
  HTTPServer = new_server,
}
