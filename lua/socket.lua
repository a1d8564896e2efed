-- socket.lua: a small LuaSocket-compatible `socket` module (require "socket"),
-- enough for MobDebug and scripts that want plain blocking sockets.
--
-- Every call here BLOCKS the whole plua main loop while it waits (no timer,
-- no other socket runs meanwhile). Prefer net.TCPSocket in ordinary code.
--
--   local socket = require("socket")
--   local c = socket.tcp()
--   c:settimeout(2)                      -- seconds; nil or negative: wait forever
--   assert(c:connect("127.0.0.1", 8172))
--   c:send("hello\n")                    -- → index of the last byte sent
--   local line, err, partial = c:receive("*l")   -- or "*a", "l", "a", n
--   c:close()
--   socket.gettime(), socket.sleep(0.5)
--
-- Differences from LuaSocket: the timeout limits each whole send/receive/
-- connect call (not each system call); "*l" strips the CR of a CRLF ending
-- only, not CRs inside the line; TCP clients only (no bind/listen/select/udp).

local core = require("plua.sync")

local socket = { _VERSION = "LuaSocket 3.0 (plua subset)" }

local tcp = {}
tcp.__index = tcp

function socket.tcp()
  return setmetatable({ _timeout = -1, _buf = "" }, tcp)
end
socket.tcp4 = socket.tcp

function socket.connect(host, port)
  local c = socket.tcp()
  local ok, err = c:connect(host, port)
  if not ok then return nil, err end
  return c
end

socket.gettime = core.gettime

function socket.sleep(seconds)
  core.sleep(seconds)
end

function tcp:__tostring()
  if not self._h then
    return self._closed and "tcp{closed}" or "tcp{master}"
  end
  local ip, port = self._h:peer()
  return ("tcp{client}: %s:%s"):format(ip or "?", port or "?")
end

function tcp:settimeout(value, mode) -- luacheck: no unused args
  if value == nil or value < 0 then value = -1 end
  self._timeout = value
  return 1
end

function tcp:connect(host, port)
  if self._h then return nil, "already connected" end
  if self._closed then return nil, "closed" end
  local h, err = core.connect(host, port, self._timeout)
  if not h then return nil, err end
  self._h = h
  return 1
end

-- send(data [, i [, j]]) → last index sent | nil, err, last index sent
function tcp:send(data, i, j)
  if not self._h then return nil, "closed" end
  local len = #data
  i, j = i or 1, j or len
  if i < 0 then i = math.max(len + i + 1, 1) elseif i == 0 then i = 1 end
  if j < 0 then j = len + j + 1 elseif j > len then j = len end
  if i > j then return i - 1 end
  local sent, err = self._h:send(data:sub(i, j), self._timeout)
  if err then return nil, err, i + sent - 1 end
  return i + sent - 1
end

-- The deadline of one call, or nil for none.
function tcp:_deadline()
  if self._timeout < 0 then return nil end
  return core.gettime() + self._timeout
end

local function left(deadline)
  if not deadline then return -1 end
  return math.max(deadline - core.gettime(), 0)
end

-- Reads more into the buffer; returns nil, err on timeout or close.
function tcp:_fill(deadline, size)
  local data, err = self._h:recv(size or 65536, left(deadline))
  if not data then return nil, err end
  self._buf = self._buf .. data
  return true
end

-- receive([pattern [, prefix]]): "*l"/"l" a line without its end of line,
-- "*a"/"a" everything until the peer closes, n exactly n bytes.
-- → data | nil, err, partial (err "timeout" or "closed")
function tcp:receive(pattern, prefix)
  if not self._h then return nil, "closed" end
  pattern = pattern or "*l"
  prefix = prefix or ""
  local deadline = self:_deadline()

  local function fail(err)
    local partial = prefix .. self._buf
    self._buf = ""
    return nil, err, partial
  end

  if type(pattern) == "number" then
    local n = math.floor(pattern)
    while #self._buf < n do
      local ok, err = self:_fill(deadline, n - #self._buf)
      if not ok then return fail(err) end
    end
    local data = self._buf:sub(1, n)
    self._buf = self._buf:sub(n + 1)
    return prefix .. data
  elseif pattern == "*l" or pattern == "l" then
    local from = 1
    while true do
      local nl = self._buf:find("\n", from, true)
      if nl then
        local line = self._buf:sub(1, nl - 1)
        self._buf = self._buf:sub(nl + 1)
        if line:sub(-1) == "\r" then line = line:sub(1, -2) end
        return prefix .. line
      end
      from = #self._buf + 1
      local ok, err = self:_fill(deadline)
      if not ok then return fail(err) end
    end
  elseif pattern == "*a" or pattern == "a" then
    local parts = { prefix, self._buf }
    self._buf = ""
    while true do
      local data, err = self._h:recv(65536, left(deadline))
      if not data then
        if err == "closed" then return table.concat(parts) end
        return nil, err, table.concat(parts)
      end
      parts[#parts + 1] = data
    end
  end
  error("bad argument #1 to 'receive' (invalid pattern)", 2)
end

function tcp:close()
  if self._h then
    self._h:close()
    self._h = nil
  end
  self._closed = true
  self._buf = ""
  return 1
end

function tcp:shutdown(how)
  if self._h then self._h:shutdown(how or "both") end
  return 1
end

function tcp:getpeername()
  if not self._h then return nil, "closed" end
  return self._h:peer()
end

function tcp:getsockname()
  if not self._h then return nil, "closed" end
  return self._h:sockname()
end

function tcp.setoption() return 1 end
function tcp:dirty() return #self._buf > 0 end

tcp.__close = tcp.close

return socket
