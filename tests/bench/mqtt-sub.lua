-- tests/bench/mqtt-sub.lua PORT N READY: subscribes to bench/mqtt, creates
-- the file READY once subscribed, and exits after N messages. Prints one
-- RESULT line (received, bytes).
local port, n, ready = tonumber(arg[1]), tonumber(arg[2]), arg[3]
local client = net.MQTTClient.connect("mqtt://127.0.0.1:" .. port, { clientId = "bench-sub" })
local got, bytes = 0, 0
client:addEventListener("connected", function() client:subscribe("bench/mqtt") end)
client:addEventListener("subscribed", function() assert(io.open(ready, "w")):close() end)
client:addEventListener("message", function(e)
  got = got + 1
  bytes = bytes + #e.payload
  if got == n then
    print(("RESULT received=%d bytes=%d"):format(got, bytes))
    client:disconnect()
  end
end)
client:addEventListener("error", function(e) print("error", e.message); os.exit(1) end)
