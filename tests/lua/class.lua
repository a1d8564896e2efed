-- require("class") comes from the binary (GResource), not from disk.
local class, where = require("class")
class "Animal"
function Animal:__init(name) self.name = name end
function Animal:speak() return self.name .. " makes a sound" end
class "Dog" (Animal)
function Dog:__init(name) Animal.__init(self, name) self.tricks = 0 end
function Dog:speak() return self.name .. " barks" end
local a, d = Animal("generic"), Dog("Rex")
print(a:speak())
print(d:speak(), d.tricks)
print(tostring(Dog), tostring(d))
print(where)
