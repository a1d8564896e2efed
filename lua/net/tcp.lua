-- lua/net/tcp.lua: net.TCPSocket and net.TCPServer, the HC3 / original plua
-- callback-table API over the primitives of src/plua-net-tcp.c.
--
--   local sock = net.TCPSocket({timeout = 5000, readSize = 4096})
--   sock:connect(host, port, {success = fn(), error = fn(msg)})
--   sock:read({success = fn(data), error = fn(msg)})
--   sock:readUntil("\n", {success = fn(line), error = fn(msg)})
--   sock:write(data, {success = fn(nbytes), error = fn(msg)})   -- also sock:send
--   sock:close()
--
-- Callbacks always run later from the main loop, never inside the call.
-- Messages given to `error`: "Connection refused", "timeout" (opts.timeout, in
-- ms, covers connect and each read), "closed" (the peer closed the connection,
-- or the socket was closed), "Not connected", or the system's text.
-- The end of the stream is the error "closed", never empty data.
-- readUntil's data does not include the delimiter (the original plua's did);
-- bytes after the delimiter stay for the next read.

local core = require("plua.tcp")
local util = require("net.util")

-- One function for the C primitive: fn(value, nil) or fn(nil, message).
-- Called by the methods, so the check looks two calls up for the user's line.
local function reply(callbacks, method)
  callbacks = util.check_callbacks(callbacks, method, 2)
  return function(value, err)
    if err ~= nil then
      local on_error = callbacks.error
      if on_error then on_error(err) end
    else
      local on_success = callbacks.success
      if on_success then
        if value == true then on_success() else on_success(value) end
      end
    end
  end
end

local TCPSocket = {}
TCPSocket.__index = TCPSocket

local function wrap(conn, opts)
  local self = setmetatable({ opts = opts or {}, _conn = conn }, TCPSocket)
  conn:set_owner(self)   -- a busy socket keeps its wrapper alive too
  return self
end

setmetatable(TCPSocket, {
  __call = function(_, opts)
    opts = util.check_options(opts, "TCPSocket")
    return wrap(core.socket(opts.timeout, opts.readSize), opts)
  end,
})

function TCPSocket:connect(host, port, callbacks)
  self._conn:connect(host, port, reply(callbacks, "connect"))
end

function TCPSocket:read(callbacks)
  self._conn:read(reply(callbacks, "read"))
end

function TCPSocket:readUntil(delimiter, callbacks)
  self._conn:read_until(delimiter, reply(callbacks, "readUntil"))
end

function TCPSocket:write(data, callbacks)
  self._conn:write(data, reply(callbacks, "write"))
end
TCPSocket.send = TCPSocket.write

function TCPSocket:close()
  self._conn:close()
end

-- "connected", "connecting", "not connected", "closed by peer", "closing", "closed"
function TCPSocket:state()
  return self._conn:state()
end

function TCPSocket:__tostring()
  return tostring(self._conn)
end

TCPSocket.__close = TCPSocket.close

-- net.TCPServer(): server:start(host, port, fn(clientSocket, ip, port)).
-- start raises a Lua error when it cannot listen (port in use, bad address);
-- it never falls back to another address. Port 0 picks a free port, read it
-- with server:port(). A started server keeps the run alive until stop().
local TCPServer = {}
TCPServer.__index = TCPServer

setmetatable(TCPServer, {
  __call = function()
    local self = setmetatable({ _server = core.server() }, TCPServer)
    self._server:set_owner(self)
    return self
  end,
})

function TCPServer:start(host, port, handler)
  if type(handler) ~= "function" then
    error("bad argument #3 to 'start' (function expected, got " .. type(handler) .. ")", 2)
  end
  local ok, err = pcall(self._server.start, self._server, host, port, function(conn, ip, client_port)
    handler(wrap(conn), ip, client_port)
  end)
  if not ok then error(err, 2) end
end

function TCPServer:stop()
  self._server:stop()
end

function TCPServer:port()
  return self._server:port()
end

function TCPServer:__tostring()
  return tostring(self._server)
end

TCPServer.__close = TCPServer.stop

-- net.TCPEchoServer(host, port[, debug]): a started TCPServer (the TCP
-- sibling of WebSocketEchoServer) that writes back to each client exactly the
-- bytes it reads (RFC 862's echo: no prefix, a byte stream has no messages),
-- until the client closes. With debug, prints what happens as
-- "[EchTCP] port ...". Stop it with server:stop().
local function TCPEchoServer(host, port, debug)
  local server = TCPServer()
  local function log(...)
    if debug then print("[EchTCP] " .. tostring(server:port() or port), ...) end
  end
  server:start(host, port, function(client, ip, client_port)
    log("connected", ip, client_port)
    local loop
    loop = {
      success = function(data)
        log("received", #data .. " bytes")
        client:write(data, { success = function() client:read(loop) end,
          error = function(message) log("error", message); client:close() end })
      end,
      error = function(message)
        log(message == "closed" and "disconnected" or "error", message)
        client:close()
      end,
    }
    client:read(loop)
  end)
  log("started")
  return server
end

return { TCPSocket = TCPSocket, TCPServer = TCPServer, TCPEchoServer = TCPEchoServer }
