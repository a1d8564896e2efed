-- lua/net/util.lua: argument checks shared by the callback-table classes of
-- lua/net/tcp.lua and lua/net/udp.lua.

local util = {}

-- A method's table of callbacks: nil is an empty one. The error blames the
-- user's line: `depth` is how many calls of ours stand between the user and
-- this check (1: the method calls it directly; the default).
function util.check_callbacks(callbacks, method, depth)
  if callbacks == nil then return {} end
  if type(callbacks) ~= "table" then
    error(("bad argument to '%s' (table of callbacks expected, got %s)")
      :format(method, type(callbacks)), 2 + (depth or 1))
  end
  return callbacks
end

-- A constructor's options: nil is an empty table. Call it directly from the
-- constructor: the error blames the constructor's caller.
function util.check_options(opts, class)
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #1 to '" .. class .. "' (table expected, got " .. type(opts) .. ")", 3)
  end
  return opts or {}
end

return util
