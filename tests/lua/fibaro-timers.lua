-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- exit: 1
-- stderr: plua: 1 QuickApp error
-- env: TZ=UTC
-- Timers inside a QuickApp: errors logged HC3-style and the QuickApp goes on;
-- setInterval/clearInterval; sleep suspends only this coroutine; os.time
-- follows the emulated clock (--%%time).
--%%id:5800
--%%time:2030-06-15 08:30:00

function QuickApp:onInit()
  print("year", os.date("%Y-%m-%d %H:%M", os.time()):sub(1, 13))
  local n = 0
  local ref
  ref = setInterval(function()
    n = n + 1
    print("tick", n)
    if n == 2 then error("tick failed") end
    if n == 3 then clearInterval(ref) end
  end, 10)
  setTimeout(function() print("timer sees n", n) end, 100)
  setTimeout(function()
    print("sleeping")
    sleep(60)
    print("woke up")
  end, 5)
  setTimeout(function() print("ran while the other slept") end, 15)
  print("bad timer", pcall(setTimeout, "x", 10))
end
