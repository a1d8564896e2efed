-- max-seconds: 10
-- no-stderr
-- net.WebSocketClient against net.WebSocketServer in one script, on a port
-- chosen by the system (start(host, 0, ...) then getPort()): text, binary
-- with NUL bytes, a 256 KiB message, server-side send, close() firing
-- "disconnected" on both sides, stop(), and the run ending by itself.
local server = net.WebSocketServer()
local log = {}   -- server events, printed at the end (their order against
                 -- the client's events is up to the loop, not to the API)
local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end

local client = net.WebSocketClient()
local done = 0
local function finish()
  done = done + 1
  if done < 2 then return end
  for _, line in ipairs(log) do print(line) end
  print("server running", server:isRunning(), "clients", #server:getClients())
end

print(server:start("127.0.0.1", 0, {
  started = function() print("started", server:isRunning()) end,
  connected = function(id)
    log[#log + 1] = "server connected " .. id .. " clients " .. table.concat(server:getClients(), ",")
    server:send(id, "welcome " .. id)
  end,
  receive = function(id, data, binary)
    log[#log + 1] = string.format("server receive %d %s %d", id, tostring(binary), #data)
    server:send(id, data, { binary = binary })
  end,
  disconnected = function(id)
    log[#log + 1] = "server disconnected " .. id
    server:stop()
    finish()
  end,
  error = function(message) print("server error", message) end,
}))
print("port chosen", math.type(server:getPort()) == "integer" and server:getPort() > 0)
print((tostring(server):gsub("%d+", "N")))

local big = string.rep("\0\1\2\255", 64 * 1024)
local steps = {
  function() client:send("hello") end,
  function() client:send("a\0b\255", { binary = true }) end,
  function() client:send(big) end,
  function() client:close() end,
}
client:addEventListener("connected", function()
  print("client connected", client:isOpen())
end)
client:addEventListener("dataReceived", function(data, binary)
  if #data > 64 then
    print("client got big", data == big, binary)
  else
    print("client got", hex(data), binary)
  end
  table.remove(steps, 1)()
end)
client:addEventListener("error", function(message) print("client error", message) end)
client:addEventListener("disconnected", function(code)
  print("client disconnected", code, client:isOpen())
  finish()
end)
client:connect("ws://127.0.0.1:" .. server:getPort() .. "/any/path")
print("send before open", client:isOpen())
