-- class.lua: single-inheritance classes as the HC3 spells them (its class
-- library is LuaBind's):  class 'Dog' (Animal)  then  function Dog:__init(name)
-- ... end.  require("class") returns the `class` function; classes become
-- globals. The class table is its instances' metatable, so a class may define
-- metamethods (__tostring, __eq, ...) as ordinary methods; a subclass gets
-- its parent's metamethods (Lua looks them up raw, not through __index).
--
-- Loading this module also defines the global `property(get, set)`: a class
-- that declares  Name.field = property(getter, setter)  has obj.field call
-- getter(obj) and  obj.field = v  call setter(obj, v); without a setter the
-- field is read-only. A class only pays for that once it (or an ancestor)
-- declares a property: until then instances index the class table directly.

local METAMETHODS = { "__tostring", "__eq", "__lt", "__le", "__add", "__sub", "__mul", "__div",
  "__mod", "__idiv", "__pow", "__unm", "__concat", "__len", "__call", "__close",
  "__band", "__bor", "__bxor", "__bnot", "__shl", "__shr" }

-- The default tostring functions: not copied to a subclass, which keeps its
-- own default (a parent's custom __tostring is copied).
local defaultToString = setmetatable({}, { __mode = "k" })

local PROPERTY = { __name = "property" }   -- metatable marking property values
local props = setmetatable({}, { __mode = "k" })     -- class -> its properties (chained to the parent's)
local subclasses = setmetatable({}, { __mode = "k" }) -- class -> set of direct subclasses
local withProps = setmetatable({}, { __mode = "k" })  -- classes switched to property lookups

local function property(get, set)
  if type(get) ~= "function" then error("property: getter function expected", 2) end
  if set ~= nil and type(set) ~= "function" then error("property: setter must be a function", 2) end
  return setmetatable({ get = get, set = set }, PROPERTY)
end

-- Switches a class (and its subclasses) from the plain `__index = class` to
-- functions that look the key up among the properties first.
local function enableProperties(cls)
  if withProps[cls] then return end
  withProps[cls] = true
  local p = props[cls]
  rawset(cls, "__index", function(obj, k)
    local pr = p[k]
    if pr then return pr.get(obj) end
    return cls[k]
  end)
  rawset(cls, "__newindex", function(obj, k, v)
    local pr = p[k]
    if not pr then return rawset(obj, k, v) end
    if not pr.set then error("property '" .. tostring(k) .. "' is read-only", 2) end
    pr.set(obj, v)
  end)
  for sub in pairs(subclasses[cls]) do enableProperties(sub) end
end

-- class(name [, env]): env is the table the class is stored in (default _G;
-- the Fibaro emulator passes the QuickApp's environment).
local function class(name, env)
  if type(name) ~= "string" then error("class name must be a string", 2) end
  local cls = {}
  cls.__index = cls
  local dts = function() return "object " .. name end
  defaultToString[dts] = true
  cls.__tostring = dts
  props[cls] = {}
  subclasses[cls] = setmetatable({}, { __mode = "k" })
  local meta = {
    __call = function(c, ...)
      local obj = setmetatable({}, c)
      local init = c.__init
      if init then init(obj, ...) end
      return obj
    end,
    __tostring = function() return "class " .. name end,
    -- Name.field = property(...) is kept aside; any other field is stored.
    __newindex = function(c, k, v)
      if getmetatable(v) == PROPERTY then
        props[c][k] = v
        enableProperties(c)
      else
        rawset(c, k, v)
      end
    end,
  }
  setmetatable(cls, meta)
  rawset(env or _G, name, cls)
  -- class 'Name' (Parent): missing fields are looked up in Parent.
  return function(parent)
    if type(parent) ~= "table" then error("class " .. name .. ": base class expected", 2) end
    meta.__index = parent
    for _, mm in ipairs(METAMETHODS) do
      local pm = rawget(parent, mm)
      if pm ~= nil and not defaultToString[pm] then rawset(cls, mm, pm) end
    end
    if props[parent] then
      setmetatable(props[cls], { __index = props[parent] })
      subclasses[parent][cls] = true
      if withProps[parent] then enableProperties(cls) end
    end
    return cls
  end
end

_G.property = property
return class
