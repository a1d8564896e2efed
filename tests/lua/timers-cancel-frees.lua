-- A cancelled timer lets go of its function and arguments at once.
local weak = setmetatable({}, { __mode = "k" })
local ids = {}
for i = 1, 1000 do
  local arg = {}
  local fn = function() print("never", arg) end
  weak[arg] = true
  weak[fn] = true
  ids[i] = setTimeout(fn, 10000, arg)
end
print("pending before", _PY.getRuntimeState().active_timers)
for _, id in ipairs(ids) do clearTimeout(id) end
collectgarbage()
collectgarbage()
local left = 0
for _ in pairs(weak) do left = left + 1 end
print("pending after", _PY.getRuntimeState().active_timers)
print("objects still held", left)
