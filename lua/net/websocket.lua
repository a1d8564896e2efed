-- lua/net/websocket.lua: net.WebSocketClient, net.WebSocketClientTls,
-- net.WebSocketServer and net.WebSocketEchoServer, on the C primitives of
-- "plua.websocket" (libsoup 3).
--
-- Data is bytes both ways. send(data) sends a text frame when data is valid
-- UTF-8, otherwise a binary frame; send(data, {binary = true}) (or the
-- option binary = true of the object) always sends binary frames. Received
-- messages are passed as they arrived, with a second argument telling whether
-- the frame was binary.
--
-- Every user callback runs later on the main loop, never inside the call that
-- caused it, and each one runs on its own: an error in a callback is reported
-- with a traceback and the connection goes on.

-- The C half comes with plua-soup.so: loaded on first use, so that a script
-- using only net.TCPSocket or net.UDPSocket never loads libsoup.
local ws = setmetatable({}, { __index = function(t, name)
  local prims = require("plua.websocket")
  setmetatable(t, { __index = prims })
  return prims[name]
end })

local setTimeout = setTimeout

local EVENTS = { connected = true, dataReceived = true, error = true, disconnected = true }

local function class(name)
  local cls = {}
  cls.__index = cls
  cls.__name = name
  return setmetatable(cls, {
    __call = function(c, ...)
      local obj = setmetatable({}, c)
      obj:__init(...)
      return obj
    end,
    __tostring = function() return "class " .. name end,
  })
end

-- Runs fn(...) on a later turn of the loop (if there is a fn).
local function later(fn, ...)
  if type(fn) == "function" then setTimeout(fn, 0, ...) end
end

local function wants_binary(default, opts)
  if type(opts) == "table" and opts.binary ~= nil then return opts.binary and true or false end
  if type(opts) == "boolean" then return opts end
  return default and true or false
end

---------------------------------------------------------------------------
-- Client

-- net.WebSocketClient(opts). opts (all optional): headers (sent with the
-- handshake), binary (send binary frames by default), checkCertificate
-- (false accepts any TLS certificate for wss://), timeout (handshake, ms),
-- maxMessageSize (bytes, default 16 MiB).
local WebSocketClient = class("WebSocketClient")

function WebSocketClient:__init(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("WebSocketClient: options must be a table", 3)
  end
  self.options = opts or {}
  self.event_listeners = { connected = {}, dataReceived = {}, error = {}, disconnected = {} }
  self.conn = nil
  self.url = nil
end

-- addEventListener(event, fn): "connected" (), "dataReceived" (data, isBinary),
-- "error" (message), "disconnected" (code, reason). Several listeners per
-- event run in the order they were added.
function WebSocketClient:addEventListener(event, fn)
  if not EVENTS[event] then
    error("addEventListener: unknown event '" .. tostring(event) ..
      "' (connected, dataReceived, error, disconnected)", 2)
  end
  if type(fn) ~= "function" then
    error("addEventListener: listener must be a function", 2)
  end
  table.insert(self.event_listeners[event], fn)
end

function WebSocketClient:_fail(message)
  for _, fn in ipairs(self.event_listeners.error) do later(fn, message) end
end

-- connect(url[, headers]): ws://... or wss://...; "connected" or "error"
-- follows. Extra headers are added to those of the options.
function WebSocketClient:connect(url, headers)
  if type(url) ~= "string" then error("connect: url must be a string", 2) end
  if self.conn and self.conn:state() ~= "closed" then
    self:_fail("Already connected")
    return
  end
  local all = {}
  for name, value in pairs(self.options.headers or {}) do all[name] = value end
  for name, value in pairs(headers or {}) do all[name] = value end
  self.url = url
  self.conn = ws.connect(url, all, {
    checkCertificate = self.options.checkCertificate,
    timeout = self.options.timeout,
    maxMessageSize = self.options.maxMessageSize,
  }, self.event_listeners)
end

-- send(data[, {binary = true}]) → true, or false after firing "error"
-- ("Not connected").
function WebSocketClient:send(data, opts)
  if not self:isOpen() then
    self:_fail("Not connected")
    return false
  end
  local ok, err = self.conn:send(tostring(data), wants_binary(self.options.binary, opts))
  if not ok then self:_fail(err) end
  return ok
end

function WebSocketClient:isOpen()
  return self.conn ~= nil and self.conn:isOpen()
end

-- close(): "disconnected" follows (also for a close during the handshake).
function WebSocketClient:close()
  if self.conn then self.conn:close() end
end

function WebSocketClient:__tostring()
  if not self.conn then return "WebSocketClient object: not connected" end
  return "WebSocketClient object: " .. self.url .. " (" .. self.conn:state() .. ")"
end

WebSocketClient.__close = WebSocketClient.close

-- TLS goes by the URL (wss://): the same class under its original name.
local WebSocketClientTls = class("WebSocketClientTls")
for name, value in pairs(WebSocketClient) do
  if name ~= "__index" and name ~= "__name" then WebSocketClientTls[name] = value end
end
function WebSocketClientTls:__tostring()
  return (WebSocketClient.__tostring(self):gsub("^WebSocketClient", "WebSocketClientTls"))
end

---------------------------------------------------------------------------
-- Server

-- net.WebSocketServer(opts). opts (all optional): path (accept upgrades only
-- under this path; default any path), maxMessageSize (bytes, default 16 MiB).
local WebSocketServer = class("WebSocketServer")

function WebSocketServer:__init(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("WebSocketServer: options must be a table", 3)
  end
  self.options = opts or {}
  self.server = nil
  self.callbacks = {}
end

-- start(host, port, callbacks): host default "localhost" (127.0.0.1); port 0
-- picks a free port (see getPort()). callbacks: started(), connected(id),
-- receive(id, data, isBinary), disconnected(id), error(message[, id]).
-- A failure to listen goes to callbacks.error ("Failed to start server: ...")
-- or, without an error callback, is raised. Returns true when listening.
function WebSocketServer:start(host, port, callbacks)
  callbacks = callbacks or {}
  if type(callbacks) ~= "table" then error("start: callbacks must be a table", 2) end
  if math.type(port) ~= "integer" then error("start: port must be an integer", 2) end
  if self:isRunning() then
    later(callbacks.error, "Server already running")
    return false
  end
  local server, err = ws.listen(host or "localhost", port, {
    path = self.options.path,
    maxMessageSize = self.options.maxMessageSize,
  }, callbacks)
  if not server then
    local message = "Failed to start server: " .. err
    if type(callbacks.error) ~= "function" then error(message, 2) end
    later(callbacks.error, message)
    return false
  end
  self.server, self.callbacks = server, callbacks
  later(callbacks.started)
  return true
end

-- send(clientId, data[, {binary = true}]) → true, or false after calling
-- callbacks.error ("Server not running", "Client <id> not connected").
function WebSocketServer:send(clientId, data, opts)
  if not self:isRunning() then
    later(self.callbacks.error, "Server not running")
    return false
  end
  if math.type(clientId) ~= "integer" then
    later(self.callbacks.error, "Client " .. tostring(clientId) .. " not connected")
    return false
  end
  local ok, err = self.server:send(clientId, tostring(data), wants_binary(self.options.binary, opts))
  if not ok then later(self.callbacks.error, err) end
  return ok
end

-- getClients() → array of the connected clients' ids.
function WebSocketServer:getClients()
  if not self.server then return {} end
  return self.server:clients()
end

-- closeClient(clientId): closes one client ("disconnected" follows).
function WebSocketServer:closeClient(clientId)
  return self.server ~= nil and math.type(clientId) == "integer" and self.server:closeClient(clientId)
end

function WebSocketServer:isRunning()
  return self.server ~= nil and self.server:isRunning()
end

-- getPort() → the port listened on (useful after start(host, 0, ...)).
function WebSocketServer:getPort()
  return self.server and self.server:port()
end

-- stop(): stops listening and closes every client ("disconnected" follows
-- for each).
function WebSocketServer:stop()
  if self.server then self.server:stop() end
end

function WebSocketServer:__tostring()
  if not self.server then return "WebSocketServer object: not started" end
  return "WebSocketServer object: " .. tostring(self.server):gsub("^WebSocket server ", "")
end

WebSocketServer.__close = WebSocketServer.stop

-- net.WebSocketEchoServer(host, port[, debug]): a started server answering
-- each message with "Echo: " .. message to its sender (a binary message in
-- a binary frame). With debug, prints what happens as "[EchWS] port ...".
local function WebSocketEchoServer(host, port, debug)
  local server = WebSocketServer()
  local function log(...)
    if debug then print("[EchWS] " .. tostring(server:getPort() or port), ...) end
  end
  server:start(host, port, {
    started = function() log("started") end,
    connected = function(id) log("connected", id) end,
    receive = function(id, data, binary)
      log("received", id, data)
      server:send(id, "Echo: " .. data, { binary = binary })
    end,
    disconnected = function(id) log("disconnected", id) end,
    error = function(message) log("error", message) end,
  })
  return server
end

return {
  WebSocketClient = WebSocketClient,
  WebSocketClientTls = WebSocketClientTls,
  WebSocketServer = WebSocketServer,
  WebSocketEchoServer = WebSocketEchoServer,
}
