-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- env: TZ=UTC
-- no-stderr
-- plugin.*: mainDeviceId, getDevice, getChildDevices, getProperty,
-- createChildDevice, deleteDevice, restart; hub is fibaro. After a restart
-- whose onInit does not call initChildDevices, the box makes the child
-- objects itself (QuickAppChild, with an error line per unmapped type).
--%%name:Plug
--%%type:com.fibaro.genericDevice
--%%id:7030

function QuickApp:onInit()
  local run = (self:internalStorageGet("run") or 0) + 1
  self:internalStorageSet("run", run)
  print("run", run, "mainDeviceId", plugin.mainDeviceId, plugin.mainDeviceId == self.id)
  if run == 1 then return self:firstRun() end
  -- second run: onInit leaves the children alone
  setTimeout(function()
    local ids = {}
    for id, c in pairs(self.childDevices) do ids[#ids + 1] = id .. "=" .. tostring(c) end
    table.sort(ids)
    print("children after restart", table.concat(ids, " "))
    fibaro.call(5000, "turnOn")
  end, 10)
end

function QuickApp:firstRun()
  print("hub is fibaro", hub == fibaro, hub.getValue == fibaro.getValue)
  -- getDevice: the device as /api/devices/{id} has it, and the status
  local d, status = plugin.getDevice(self.id)
  local e, estatus = plugin.getDevice(4242)
  print("getDevice", status, d.id, d.name, d.type, estatus, e.type, e.message)
  -- createChildDevice: returns the new device (no object is made)
  local c, cstatus = plugin.createChildDevice({ parentId = self.id, name = "Kid", type = "com.fibaro.binarySwitch",
    initialProperties = { userDescription = "kid" } })
  print("createChildDevice", cstatus, c.id, c.parentId, c.name, self.childDevices[c.id])
  local c2 = plugin.createChildDevice({ parentId = self.id, name = "Kid 2", type = "com.fibaro.binarySwitch" })
  print("bad type", select(2, plugin.createChildDevice({ parentId = self.id, name = "x", type = "no.such.type" })))
  -- getChildDevices: the devices whose parent is the given one (default: this QA)
  local kids = plugin.getChildDevices(self.id)
  print("getChildDevices", #kids, kids[1].name, kids[2].name, #plugin.getChildDevices(), #plugin.getChildDevices(c.id))
  -- getProperty: one property of any device
  print("getProperty", plugin.getProperty(c.id, "userDescription"), plugin.getProperty(c.id, "value"),
    plugin.getProperty(c.id, "nope"), plugin.getProperty(1, "sunriseHour"):match("^%d%d:%d%d$") ~= nil)
  -- deleteDevice: data, status as api.delete
  print("deleteDevice", plugin.deleteDevice(c2.id))
  print("deleted", select(2, plugin.getDevice(c2.id)), select(2, plugin.deleteDevice(c2.id)))
  -- restart: a new environment runs onInit again; the old timers are gone
  setTimeout(function() print("timer of the first run") end, 30)
  rawset(_ENV, "FIRST_RUN_GLOBAL", true)
  plugin.restart()
  print("restart is queued: this line still runs")
end

function QuickAppChild:turnOn() self:debug("QuickAppChild turnOn", self.id, FIRST_RUN_GLOBAL) end
