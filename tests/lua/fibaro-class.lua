-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- env: TZ=UTC
-- class 'Name' (Base): constructors, inheritance, tostring, metamethods; the
-- classes are globals of this QuickApp only.
--%%id:5300
class 'Animal'
function Animal:__init(name) self.name = name end
function Animal:speak() return self.name .. " makes a sound" end
class 'Dog' (Animal)
function Dog:__init(name) Animal.__init(self, name) self.tricks = 1 end
function Dog:speak() return self.name .. " barks" end
class 'Point'
function Point:__init(x) self.x = x end
function Point.__tostring(p) return "Point(" .. p.x .. ")" end
function Point.__eq(a, b) return a.x == b.x end
class 'Point3' (Point)

function QuickApp:onInit()
  local a, d = Animal("cat"), Dog("Rex")
  print(a:speak(), d:speak(), d.tricks)
  print(tostring(Dog), tostring(d), tostring(self))
  print(tostring(Point(1)), Point(2) == Point(2), tostring(Point3(3)))
  print(rawget(_G, "Dog") == Dog, _G == _ENV)
  local ok, err = pcall(class, 42)
  print(ok, err)
end
