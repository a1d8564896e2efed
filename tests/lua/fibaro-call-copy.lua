-- args: --fibaro --noapi -e "require('fibaro.log').clock = function() return 1767268800 end"
-- env: TZ=UTC
-- stderr: QUICKAPP5320: fibaro.callGroupAction: unknown filter 'nope'
-- Action arguments travel as JSON, as on the box: fibaro.call and
-- /api/devices/groupAction give each target its own copy (changing it does
-- not change the caller's table nor another target's), keep integers and
-- floats apart, carry a nil in between as a hole, and a value JSON cannot
-- carry is an error at the caller's line. groupAction picks its devices with
-- the same filters as fibaro.callGroupAction.
--%%name:Caller
--%%type:com.fibaro.genericDevice
--%%id:5320

local function err(f, ...)
  local ok, e = pcall(f, ...)
  return ok and "no error" or tostring(e)
end

class 'Target' (QuickAppChild)
function Target:mutate(t)
  self:debug("got", t.n, #t.list, t.list[1], math.type(t.i), math.type(t.f))
  t.n = 99
  t.list[#t.list + 1] = "added by " .. self.id
  received = received or {}
  received[#received + 1] = t
end
function Target:show(a, b, c) self:debug("show", a, b, json.encode(c)) end
function Target:setLevel(v) self:debug("setLevel", v, self.id) end

function QuickApp:onInit()
  self:initChildDevices({ ["com.fibaro.binarySwitch"] = Target })
  local a = self:createChildDevice({ name = "A", type = "com.fibaro.binarySwitch" }, Target)
  local b = self:createChildDevice({ name = "B", type = "com.fibaro.binarySwitch" }, Target)
  local c = self:createChildDevice({ name = "C", type = "com.fibaro.multilevelSwitch" }, Target)

  local t = { n = 1, list = { "x" }, i = 3, f = 3.0 }
  fibaro.call({ a.id, b.id }, "mutate", t)
  fibaro.call(a.id, "show", 1, nil, json.util.InitArray({}))
  print("function argument", err(function() fibaro.call(a.id, "show", print) end))
  print("NaN argument", err(function() fibaro.call(a.id, "show", 0 / 0) end))
  print("bad UTF-8 argument", err(function() fibaro.call(a.id, "show", "caf\xe9") end))
  fibaro.call(b.id, "show", "café", 2.5, true)

  -- group actions over the REST route: 202 and the ids; a bad filter is a 400
  local res, status = api.post("/devices/groupAction/setLevel", { filters = {
    { filter = "type", value = { "com.fibaro.binarySwitch" } }, { filter = "parentId", value = { self.id } } },
    args = { 5 } })
  print("groupAction", status, json.encode(res))
  res, status = api.post("/devices/groupAction/setLevel", { filters = {
    { filter = "isTypeOf", value = { "com.fibaro.multilevelSwitch" } },
    { filter = "parentId", value = self.id } }, args = { 6 } })
  print("groupAction isTypeOf", status, json.encode(res))
  res, status = api.post("/devices/groupAction/setLevel", { filters = { { filter = "nope", value = {} } } })
  print("groupAction bad filter", status, res.message)
  -- fibaro.callGroupAction returns nil then, as on the box (plus a note on stderr)
  print("callGroupAction bad filter", fibaro.callGroupAction("setLevel", { filters = { { filter = "nope" } } }))
  print("callGroupAction", json.encode(fibaro.callGroupAction("setLevel",
    { filters = { { filter = "deviceID", value = { c.id } } }, args = { 7 } })))

  setTimeout(function()
    print("caller's table", t.n, #t.list, t.list[2])
    print("two copies", #received, received[1] ~= t, received[1] ~= received[2], #received[2].list)
  end, 20)
end
