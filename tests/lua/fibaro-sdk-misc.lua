-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- exit: 1
-- stderr: plua: 1 QuickApp error
-- env: TZ=UTC
-- max-seconds: 10
-- The rest of a QuickApp's world: class (constructor, inheritance, tostring),
-- os.time/os.date on the emulated clock (--%%time), os.clock,
-- net.HTTPClient with the HC3 option shapes against a local net.HTTPServer
-- (ms timeouts, errors in callbacks logged), setInterval/clearInterval, and
-- mqtt.Client's constants and argument checks (tests/test-net-mqtt.py has a broker).
--%%name:Misc
--%%id:7050
--%%time:2030-06-15 08:30:00

class 'Shape'
function Shape:__init(name) self.name = name end
function Shape:area() return 0 end
function Shape:describe() return self.name .. " with area " .. self:area() end
class 'Square' (Shape)
function Square:__init(side) Shape.__init(self, "square") self.side = side end
function Square:area() return self.side * self.side end
class 'Named'
function Named:__init(n) self.n = n end
function Named:__tostring() return "Named(" .. self.n .. ")" end

function QuickApp:onInit()
  -- class
  local sq = Square(3)
  print("class", sq:describe(), Shape("blob"):describe(), sq.name, rawget(sq, "area"))
  print("tostring", tostring(sq), tostring(Square), tostring(self), tostring(Named(1)))
  print("class is a global of this QuickApp", rawget(_ENV, "Square") == Square, type(QuickAppChild))

  -- the emulated clock: --%%time set it; it runs on from there
  local now = os.time()
  print("os.date", os.date("%Y-%m-%d %H:%M", now), os.date("%Y-%m-%d %H:%M"))
  local t = os.date("*t")
  print("os.date *t", t.year, t.month, t.day, t.hour, t.min)
  print("os.time(table)", os.time({ year = 2030, month = 6, day = 15, hour = 8, min = 30, sec = 0 }) <= now,
    now - os.time({ year = 2030, month = 6, day = 15, hour = 8, min = 30, sec = 0 }) < 5)
  print("device modified follows the clock", api.get("/devices/" .. self.id).modified - now < 5)
  local c0 = os.clock()
  print("os.clock", type(c0), c0 >= 0)

  -- setInterval / clearInterval (also from inside the callback)
  local n = 0
  local ref
  ref = setInterval(function()
    n = n + 1
    print("interval", n)
    if n == 3 then clearInterval(ref) end
  end, 10)
  local never = setInterval(function() print("cleared interval ran") end, 5)
  clearInterval(never)
  setTimeout(function() print("interval stopped at", n) self:http() end, 100)

  -- mqtt.Client: the HC3's constants; a bad URI or option is the caller's error
  print("mqtt", mqtt.QoS.AT_MOST_ONCE, mqtt.QoS.AT_LEAST_ONCE, mqtt.QoS.EXACTLY_ONCE,
    mqtt.ConnectReturnCode.CONNECTION_ACCEPTED, mqtt.ConnectReturnCode.NOT_AUTHORIZED)
  print("mqtt", pcall(function() local c = mqtt.Client.connect("http://127.0.0.1"); return c end))
  print("mqtt", pcall(function() local c = mqtt.Client.connect("mqtt://127.0.0.1", { keepalive = 5 }); return c end))
end

function QuickApp:http()
  local server = net.HTTPServer()
  server:start("127.0.0.1", 0, function(method, _, body, request)
    if request.path == "/echo" then
      return json.encode({ method = method, body = body, ctype = request.headers["content-type"],
        q = request.query.q }), 200, { ["Content-Type"] = "application/json" }
    elseif request.path == "/slow" then
      setTimeout(function() request:respond("late", 200) end, 500)
      return
    end
    return "no such page", 404
  end)
  local base = "http://127.0.0.1:" .. server:port()
  local http = net.HTTPClient()
  local steps
  local function next_step()
    local s = table.remove(steps, 1)
    if s then s() return end
    -- after the slow page answered its (gone) client
    setTimeout(function() server:stop() print("server stopped") end, 600)
  end
  steps = {
    function()
      http:request(base .. "/echo?q=1", {
        success = function(r) print("GET", r.status, r.data) next_step() end,
        error = function(e) print("GET error", e) end })
    end,
    function()
      http:request(base .. "/echo", {
        options = { method = "POST", headers = { ["Content-Type"] = "text/plain" }, data = "hello", timeout = 2000 },
        success = function(r)
          local d = json.decode(r.data)
          print("POST", r.status, d.method, d.body, d.ctype, r.headers["content-type"])
          next_step()
        end,
        error = function(e) print("POST error", e) end })
    end,
    function()
      http:request(base .. "/missing", { options = { method = "GET" },
        success = function(r) print("404 goes to success", r.status, r.data) next_step() end })
    end,
    function()
      -- the timeout is in milliseconds, as on the HC3
      local t0 = _PY.millitime()
      http:request(base .. "/slow", { options = { timeout = 100 },
        success = function(r) print("slow answered", r.status) end,
        error = function(e) print("timeout error", e, _PY.millitime() - t0 < 0.4) next_step() end })
    end,
    function()
      -- an error in a callback is logged with the QuickApp's tag; it goes on
      http:request(base .. "/echo", {
        success = function() next_step() error("success callback failed") end })
    end,
  }
  next_step()
end
