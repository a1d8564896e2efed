-- args: --fibaro --instant
-- env: TZ=UTC
-- max-seconds: 2
-- Virtual time: a QuickApp schedules something 24 hours ahead and at
-- tomorrow's sunset; with --instant both fire, in order, at once. Timers,
-- os.time/os.date, console timestamps, fibaro.sleep and the sunset on
-- device 1 all follow the virtual clock; relative order is kept.
--%%name:Sun
--%%id:5900
--%%time:2026-03-20 12:00:00
function QuickApp:onInit()
  local today = fibaro.getValue(1, "sunsetHour")
  self:debug("today's sunset", today, os.date("%Y-%m-%d %H:%M"))
  local t0 = os.time()
  -- tomorrow's sunset: tomorrow at today's HH:MM (re-read when it fires)
  local h, m = today:match("(%d+):(%d+)")
  local d = os.date("*t")
  local sunset = os.time({ year = d.year, month = d.month, day = d.day + 1, hour = tonumber(h), min = tonumber(m) })
  setTimeout(function()
    self:debug("sunset timer", os.date("%Y-%m-%d %H:%M"), "device 1 says", fibaro.getValue(1, "sunsetHour"))
  end, (sunset - t0) * 1000)
  setTimeout(function()
    self:debug("24 hours later", os.date("%Y-%m-%d %H:%M:%S"), os.time() - t0)
  end, 24 * 3600 * 1000)
  setTimeout(function() self:debug("one minute") end, 60 * 1000)
  setTimeout(function()
    fibaro.sleep(3600 * 1000)
    self:debug("slept an hour", os.date("%H:%M"))
  end, 0)
end
