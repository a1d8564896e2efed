--%%name:Start
--%%type:com.fibaro.binarySwitch
--%%var:x=1
-- Benchmark: process start to onInit done; tests/bench/fibaro.sh passes the
-- start time (ms since the epoch) in FIBARO_T0 and this prints the difference.
function QuickApp:onInit()
  local t0 = tonumber(os.getenv("FIBARO_T0") or "")
  if t0 then
    print(string.format("fibaro-start: onInit done %.1f ms after exec", _PY.millitime() * 1000 - t0))
  end
end
