-- class.lua: single-inheritance classes, as the HC3 and the original plua
-- spell them:  class 'Dog' (Animal)  then  function Dog:__init(name) ... end
-- require("class") returns the `class` function; classes become globals.
-- The class table is its instances' metatable, so a class may define
-- metamethods (__tostring, __eq, ...) as ordinary methods.

local function class(name)
  assert(type(name) == "string", "class name must be a string")
  local cls = {}
  cls.__index = cls
  cls.__tostring = function() return "object " .. name end
  local meta = {
    __call = function(c, ...)
      local obj = setmetatable({}, c)
      if c.__init then c.__init(obj, ...) end
      return obj
    end,
    __tostring = function() return "class " .. name end,
  }
  setmetatable(cls, meta)
  _G[name] = cls
  -- class 'Name' (Parent): missing fields are looked up in Parent.
  return function(parent)
    meta.__index = parent
    return cls
  end
end

return class
