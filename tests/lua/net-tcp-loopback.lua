-- max-seconds: 10
-- no-stderr
-- A TCPServer and TCPSockets in one script: echo with a twist, several
-- clients at once, binary data, readUntil across writes, EOF as "closed",
-- and the run ends by itself once the server is stopped and all closed.
local server = net.TCPServer()
print(tostring(server):match("^TCPServer") ~= nil, server:port())
server:start("127.0.0.1", 0, function(client, ip, port)
  assert(ip == "127.0.0.1" and math.type(port) == "integer")
  local function serve()
    client:readUntil("\r\n", {
      success = function(line)
        if line == "quit" then client:close() return end
        client:write("<" .. line .. ">\n", {})
        serve()
      end,
      error = function(msg) print("server side:", msg) client:close() end,
    })
  end
  serve()
end)
local port = server:port()
print("listening", math.type(port), port > 0, tostring(server) == "TCPServer 127.0.0.1:" .. port .. " (listening)")

local done = 0
local function client(n)
  local sock = net.TCPSocket({ timeout = 3000 })
  sock:connect("127.0.0.1", port, {
    success = function()
      -- the delimiter arrives split over two writes
      sock:write("a\0b" .. n .. "\r", {})
      sock:write("\nquit\r\n", {
        success = function(bytes) assert(bytes == 7) end,
      })
      sock:readUntil("\n", {
        success = function(line)
          assert(line == "<a\0b" .. n .. ">", line)
          sock:read({
            success = function(data) print("unexpected", data) end,
            error = function(msg)
              done = done + 1
              if msg ~= "closed" then print(n, msg) end
              sock:close()
              if done == 5 then
                print("all clients done")
                server:stop()
                print(server, server:port())
              end
            end,
          })
        end,
        error = function(msg) print("client error", msg) end,
      })
    end,
    error = function(msg) print("connect error", msg) end,
  })
end
for n = 1, 5 do client(n) end
