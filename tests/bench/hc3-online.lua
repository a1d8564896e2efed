--%%name:BenchLocal
-- tests/bench/hc3.sh, the local side: N sequential api.get of a box device
-- (keep-alive), then box events timed from the box's change to their
-- arrival in the local store (where QuickApps' event feeds start).
local N = tonumber(os.getenv("BENCH_N")) or 500
local S = require("fibaro.store")

function QuickApp:onInit()
  api.get("/devices/100") -- connection warm
  local t0 = _PY.millitime()
  for _ = 1, N do
    local _, status = api.get("/devices/100")
    assert(status == 200)
  end
  local per = (_PY.millitime() - t0) / N * 1e6
  print(string.format("online api.get: %d calls, %.0f us per call", N, per))

  -- events: the box's variable is set to the send time; its event reaches
  -- S.emit here through the long poll
  local lat, pending = {}, nil
  local chain = S.onEvent
  S.onEvent = function(ev)
    if chain then chain(ev) end
    if ev.type == "GlobalVariableChangedEvent" and ev.data.variableName == "BenchT" and pending then
      lat[#lat + 1] = (_PY.millitime() - pending) * 1000
      pending = nil
    end
  end
  api.hc3.post("/globalVariables", { name = "BenchT", value = "0" })
  local rounds = 20
  local function round(i)
    if i > rounds then
      table.sort(lat)
      print(string.format("box event -> local: %d events, median %.1f ms, max %.1f ms",
        #lat, lat[(#lat + 1) // 2] or -1, lat[#lat] or -1))
      os.exit(0)
    end
    pending = _PY.millitime()
    api.hc3.put("/globalVariables/BenchT", { value = tostring(i) })
    setTimeout(function() round(i + 1) end, 150)
  end
  setTimeout(function() round(1) end, 300)
end
