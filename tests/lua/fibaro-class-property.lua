-- args: --fibaro --noapi -e "require('fibaro.log').clock = function() return 1767268800 end"
-- env: TZ=UTC
-- no-stderr
-- property(getter, setter) in the HC3's class library: Name.field =
-- property(get, set) makes obj.field call get(obj) and obj.field = v call
-- set(obj, v); inherited by subclasses (also when declared on the parent
-- later); read-only without a setter; plain fields, methods and metamethods
-- work as before, and a class without properties indexes its table directly.
--%%id:5310

local function err(f, ...)
  local ok, e = pcall(f, ...)
  return ok and "no error" or tostring(e)
end

class 'Thermo'
function Thermo:__init(c, f)
  self.calls = 0
  self.celsius = c                      -- a plain field
  if f then self.fahrenheit = f end     -- the setter, even in __init
end
Thermo.fahrenheit = property(
  function(self) self.calls = self.calls + 1; return self.celsius * 9 / 5 + 32 end,
  function(self, f) self.celsius = (f - 32) * 5 / 9 end)
Thermo.kelvin = property(function(self) return self.celsius + 273.15 end)
function Thermo:describe() return string.format("%.1f C", self.celsius) end
function Thermo.__tostring(t) return "Thermo(" .. t:describe() .. ")" end

class 'Logged' (Thermo)
function Logged:__init(c)
  Thermo.__init(self, c)
  self.log = {}
end
Logged.celsiusText = property(function(self) return self:describe() end,
  function(self, v) self.log[#self.log + 1] = v end)

class 'Plain'
function Plain:__init(x) self.x = x end
function Plain:get() return self.x end

function QuickApp:onInit()
  local t = Thermo(0, 212)
  print("init via setter", t.celsius, rawget(t, "fahrenheit"))
  t.fahrenheit = 50
  print("set", t.celsius, "get", t.fahrenheit, "getter calls", t.calls)
  print("read-only", t.kelvin, err(function() t.kelvin = 1 end))
  print("plain field", rawget(t, "celsius"), t:describe(), tostring(t))
  t.extra = "x"
  print("new plain field", rawget(t, "extra"), t.extra)

  -- a subclass inherits the properties and adds its own
  local l = Logged(20)
  print("inherited", l.fahrenheit, l.kelvin, tostring(l))
  l.celsiusText = "ignored"
  l.fahrenheit = 32
  print("own property", l.celsiusText, #l.log, l.log[1], l.celsius)
  print("parent unaffected", t.celsiusText, t.log)

  -- declared on the parent after the subclass and its objects exist
  Thermo.rounded = property(function(self) return math.floor(self.celsius + 0.5) end)
  print("added later", Thermo(21.6).rounded, l.rounded)

  -- a class without properties stays a plain table lookup
  local p = Plain(7)
  print("plain class", p:get(), getmetatable(p).__index == Plain, rawget(Plain, "__newindex"))
  p.y = 8
  print("plain set", rawget(p, "y"), p.y)

  -- the QuickApp's own class takes properties too
  QuickApp.title = property(function(self) return self.name .. "#" .. self.id end,
    function(self, v) self:setName(v) end)
  self.title = "Renamed"
  print("QuickApp property", self.title, fibaro.getName(self.id))

  print("bad getter", err(property, nil, nil))
  print("bad setter", err(property, function() end, 42))
end
