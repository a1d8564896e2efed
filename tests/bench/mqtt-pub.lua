-- tests/bench/mqtt-pub.lua PORT N SIZE: publishes N QoS 0 messages of SIZE
-- bytes to bench/mqtt as fast as plua's MQTT client takes them (when publish
-- says the send queue is full, it lets the loop run for a millisecond), then
-- disconnects. Prints one RESULT line (sent, refusals).
local port, n, size = tonumber(arg[1]), tonumber(arg[2]), tonumber(arg[3])
local body = string.rep("m", size - 8)
local client = net.MQTTClient.connect("mqtt://127.0.0.1:" .. port, { clientId = "bench-pub" })
local sent, refused = 0, 0
local function pump()
  while sent < n do
    if not client:publish("bench/mqtt", ("%08d"):format(sent) .. body) then
      refused = refused + 1
      return setTimeout(pump, 1)
    end
    sent = sent + 1
  end
  print(("RESULT sent=%d refused=%d"):format(sent, refused))
  client:disconnect()
end
client:addEventListener("connected", pump)
client:addEventListener("error", function(e)
  if not e.message:match("^send queue full") then print("error", e.message); os.exit(1) end
end)
