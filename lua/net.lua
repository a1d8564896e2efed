-- net.lua: the `net` module (also the global `net`). Each area lives in its
-- own file under lua/net/ and returns a table of classes, merged here:
-- net.HTTPClient, net.HTTPServer, net.TCPSocket, net.TCPServer, net.UDPSocket,
-- net.TCPEchoServer, net.WebSocketClient, net.WebSocketServer, net.MQTTClient, ...
local net = {}
for _, area in ipairs({ "tcp", "udp", "http", "websocket", "mqtt" }) do
  for name, value in pairs(require("net." .. area)) do
    net[name] = value
  end
end
return net
