-- lua/net/udp.lua: net.UDPSocket, the HC3 / original plua callback-table API
-- over the primitives of src/plua-net-udp.c.
--
--   local sock = net.UDPSocket({broadcast = true, timeout = 2000})
--   sock:sendTo(data, ip, port, {success = fn(nbytes), error = fn(msg)})
--   sock:bind(ip, port)           -- raises on failure; ip nil/"*" = every interface
--   sock:receive({success = fn(data, ip, port), error = fn(msg)})
--   sock:close()
--
-- The socket exists as soon as the constructor returns: sendTo right away
-- works. receive gets one datagram per call (call it again from `success`
-- for the next one); opts.timeout (ms) limits each receive ("timeout").
-- Only outstanding sends and receives keep the run alive, so a script that
-- just sends ends by itself, and one waiting for a datagram does not.

local core = require("plua.udp")
local util = require("net.util")

local UDPSocket = {}
UDPSocket.__index = UDPSocket

setmetatable(UDPSocket, {
  __call = function(_, opts)
    opts = util.check_options(opts, "UDPSocket")
    local self = setmetatable({ opts = opts, _sock = core.socket(opts.broadcast, opts.timeout) }, UDPSocket)
    self._sock:set_owner(self)   -- a busy socket keeps its wrapper alive too
    return self
  end,
})

function UDPSocket:sendTo(data, ip, port, callbacks)
  callbacks = util.check_callbacks(callbacks, "sendTo")
  self._sock:send_to(data, ip, port, function(nbytes, err)
    if err ~= nil then
      if callbacks.error then callbacks.error(err) end
    elseif callbacks.success then
      callbacks.success(nbytes)
    end
  end)
end

-- The original plua's argument order, kept for its scripts.
function UDPSocket:send(ip, port, data, callbacks)
  return self:sendTo(data, ip, port, callbacks)
end

function UDPSocket:bind(ip, port)
  local ok, result = pcall(self._sock.bind, self._sock, ip, port)
  if not ok then error(result, 2) end
  return result
end

function UDPSocket:receive(callbacks)
  callbacks = util.check_callbacks(callbacks, "receive")
  self._sock:receive(function(data, ip, port)
    if data == nil then
      if callbacks.error then callbacks.error(ip) end
    elseif callbacks.success then
      callbacks.success(data, ip, port)
    end
  end)
end

function UDPSocket:close()
  self._sock:close()
end

-- The local port once bound (or after the first send), else nil.
function UDPSocket:port()
  return self._sock:port()
end

function UDPSocket:__tostring()
  return tostring(self._sock)
end

UDPSocket.__close = UDPSocket.close

return { UDPSocket = UDPSocket }
