-- fibaro/templates.lua: `plua --init-qa [TYPE] [DIR]`, a QuickApp project to
-- start from: main.lua for a standard device type (its type's actions as
-- methods that update the device's properties, and a UI to try them),
-- .vscode/tasks.json (run, upload, update, download ... with the -t tool
-- names), .vscode/launch.json, .env.example (no secrets) and .gitignore.
-- The actions come from the device-type table (fibaro/devicetypes.lua).

local S = require("fibaro.store")

local M = {}

-- Short name → HC3 type. "thermostat" is the HC3's hvacSystemAuto.
local TYPES = {
  binarySwitch = "com.fibaro.binarySwitch", multilevelSwitch = "com.fibaro.multilevelSwitch",
  colorController = "com.fibaro.colorController", rollerShutter = "com.fibaro.rollerShutter",
  baseShutter = "com.fibaro.baseShutter", multiPositionSwitch = "com.fibaro.multiPositionSwitch",
  doorLock = "com.fibaro.doorLock", soundSwitch = "com.fibaro.soundSwitch", player = "com.fibaro.player",
  multimedia = "com.fibaro.multimedia", avController = "com.fibaro.avController",
  thermostat = "com.fibaro.hvacSystemAuto", hvacSystemHeat = "com.fibaro.hvacSystemHeat",
  hvacSystemCool = "com.fibaro.hvacSystemCool", humidifier = "com.fibaro.humidifier",
  alarmPartition = "com.fibaro.alarmPartition", temperatureSensor = "com.fibaro.temperatureSensor",
  humiditySensor = "com.fibaro.humiditySensor", lightSensor = "com.fibaro.lightSensor",
  multilevelSensor = "com.fibaro.multilevelSensor", binarySensor = "com.fibaro.binarySensor",
  motionSensor = "com.fibaro.motionSensor", doorSensor = "com.fibaro.doorSensor",
  windowSensor = "com.fibaro.windowSensor", floodSensor = "com.fibaro.floodSensor",
  smokeSensor = "com.fibaro.smokeSensor", fireDetector = "com.fibaro.fireDetector",
  coDetector = "com.fibaro.coDetector", gasDetector = "com.fibaro.gasDetector",
  powerMeter = "com.fibaro.powerMeter", energyMeter = "com.fibaro.energyMeter",
  windSensor = "com.fibaro.windSensor", rainSensor = "com.fibaro.rainSensor",
  genericDevice = "com.fibaro.genericDevice",
}
M.TYPES = TYPES

function M.names()
  local list = {}
  for name in pairs(TYPES) do list[#list + 1] = name end
  table.sort(list)
  return list
end

------------------------------------------------------------------ main.lua

local ON_OFF = { turnOn = true, turnOff = true, toggle = true }
local PLAYER = { play = "playing", pause = "paused", stop = "stopped" }

-- The body of action `name` for a device whose properties are `props`.
local function actionBody(name, props)
  local value = props.value
  local numeric = type(value) == "number"
  if name == "turnOn" then
    return "  self:updateProperty(\"value\", " .. (numeric and "99" or "true") .. ")\n"
      .. (props.state ~= nil and "  self:updateProperty(\"state\", true)\n" or ""), ""
  elseif name == "turnOff" then
    return "  self:updateProperty(\"value\", " .. (numeric and "0" or "false") .. ")\n"
      .. (props.state ~= nil and "  self:updateProperty(\"state\", false)\n" or ""), ""
  elseif name == "toggle" then
    local on = numeric and "(fibaro.getValue(self.id, \"value\") or 0) > 0" or "fibaro.getValue(self.id, \"value\")"
    return "  if " .. on .. " then self:turnOff() else self:turnOn() end\n", ""
  elseif name == "setValue" then
    return "  self:updateProperty(\"value\", tonumber(value) or value)\n", "value"
  elseif name == "open" or name == "close" then
    return "  self:updateProperty(\"value\", " .. (name == "open" and "99" or "0") .. ")\n", ""
  elseif name == "secure" or name == "unsecure" then
    return "  self:updateProperty(\"secured\", " .. (name == "secure" and "255" or "0") .. ")\n", ""
  elseif name == "arm" or name == "disarm" then
    return "  self:updateProperty(\"armed\", " .. tostring(name == "arm") .. ")\n", ""
  elseif PLAYER[name] and props.state ~= nil then
    return "  self:updateProperty(\"state\", \"" .. PLAYER[name] .. "\")\n", ""
  elseif name == "reset" and numeric then
    return "  self:updateProperty(\"value\", 0)\n", ""
  end
  local prop = name:match("^set(%u.*)$")
  prop = prop and prop:sub(1, 1):lower() .. prop:sub(2)
  if prop and props[prop] ~= nil then
    return "  self:updateProperty(\"" .. prop .. "\", value)\n", "value, ..."
  end
  return "  self:debug(\"" .. name .. "\", ...)\n", "..."
end

-- --%%u rows and the UI handlers they call.
local function ui(props, actions)
  local rows, handlers = { '--%%u:{label="status",text="-"}' }, {}
  local numeric = type(props.value) == "number"
  if actions.turnOn and actions.turnOff then
    rows[#rows + 1] = '--%%u:{{button="on",text="On",onReleased="turnOn"},{button="off",text="Off",onReleased="turnOff"}}'
  end
  if actions.open and actions.close then
    rows[#rows + 1] = '--%%u:{{button="open",text="Open",onReleased="open"},{button="close",text="Close",onReleased="close"}}'
  end
  if actions.setValue or (not next(actions) and numeric) then
    rows[#rows + 1] = '--%%u:{slider="level",text="Level",min=0,max=99,onChanged="onLevel"}'
    handlers[#handlers + 1] = "function QuickApp:onLevel(event)\n"
      .. "  self:updateProperty(\"value\", tonumber(event.values[1]))\nend\n"
  end
  if not next(actions) and type(props.value) == "boolean" then
    rows[#rows + 1] = '--%%u:{button="trip",text="Trip / restore",onReleased="trip"}'
    handlers[#handlers + 1] = "function QuickApp:trip()\n"
      .. "  self:updateProperty(\"value\", not fibaro.getValue(self.id, \"value\"))\nend\n"
  end
  return rows, handlers
end

function M.mainLua(short)
  local dtype = TYPES[short]
  local def = S.deviceTypes()[dtype]
  local props, actions = def.properties or {}, def.actions or {}
  local rows, handlers = ui(props, actions)
  local out = {
    "--%%name:My " .. short,
    "--%%type:" .. dtype,
    "--%%var:pollSeconds=60",
  }
  for _, r in ipairs(rows) do out[#out + 1] = r end
  out[#out + 1] = ""
  out[#out + 1] = "-- A " .. short .. " QuickApp (" .. dtype .. "). Run it with `plua --fibaro main.lua`"
  out[#out + 1] = "-- (offline, or online against the HC3 in .env); upload it with `plua -t uploadQA main.lua`."
  out[#out + 1] = ""
  out[#out + 1] = "function QuickApp:onInit()"
  out[#out + 1] = "  self:debug(\"onInit\", self.name, self.type, \"value:\", tostring(fibaro.getValue(self.id, \"value\")))"
  out[#out + 1] = "  self:updateView(\"status\", \"text\", \"Started\")"
  out[#out + 1] = "end"
  out[#out + 1] = ""
  local names = {}
  for name in pairs(actions) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local body, params = actionBody(name, props)
    out[#out + 1] = "function QuickApp:" .. name .. "(" .. params .. ")"
    if not body:match("^  self:debug%(") then
      out[#out + 1] = "  self:debug(\"" .. name .. "\"" .. (params ~= "" and ", " .. params or "") .. ")"
    end
    out[#out + 1] = (body:gsub("\n$", ""))
    out[#out + 1] = "end"
    out[#out + 1] = ""
  end
  for _, h in ipairs(handlers) do out[#out + 1] = h end
  return table.concat(out, "\n"):gsub("\n*$", "\n")
end

------------------------------------------------------------------ the project files

local function task(label, args, group)
  return { label = label, type = "shell", command = "plua", args = args,
    options = { cwd = "${workspaceFolder}" }, problemMatcher = json.array({}), group = group }
end

local function tasks(short)
  local fqa = "My_" .. short .. ".fqa"
  return { version = "2.0.0", tasks = json.array({
    task("QA: run", { "--fibaro", "main.lua" }, { kind = "build", isDefault = true }),
    task("QA: run offline", { "--fibaro", "-o", "main.lua" }),
    task("QA: upload (new QuickApp on the HC3)", { "-t", "uploadQA", "main.lua" }),
    task("QA: update (files, UI, variables)", { "-t", "updateQA", "main.lua" }),
    task("QA: update current file", { "-t", "updateFile", "${file}" }),
    task("QA: download", { "-t", "downloadQA", "${input:quickAppId}", "${workspaceFolder}" }),
    task("QA: pack .fqa", { "-t", "pack", "main.lua", "-o", fqa }),
    task("QA: unpack .fqa", { "-t", "unpack", fqa, "${workspaceFolder}" }),
  }), inputs = json.array({
    { id = "quickAppId", type = "promptString", description = "QuickApp id on the HC3" },
  }) }
end

local function launch()
  -- Runs the QuickApp in VS Code's terminal; a debug configuration comes
  -- with plua's debugger support.
  return { version = "0.2.0", configurations = json.array({
    { name = "plua: run QuickApp", type = "node-terminal", request = "launch",
      command = "plua --fibaro main.lua", cwd = "${workspaceFolder}" },
  }) }
end

local ENV_EXAMPLE = [[
# Copy to .env and fill in: the Home Center 3 plua talks to in online mode
# and that the upload/update/download tasks use. .env is in .gitignore.
# A variable set in the environment wins over this file.
HC3_URL=http://192.168.1.57
HC3_USER=admin
HC3_PASSWORD=
# PIN for restricted calls (api.hc3.restricted.*)
HC3_PIN=
]]

local GITIGNORE = [[
# credentials: never commit them
.env
# packed QuickApps (plua -t pack)
*.fqa
]]

-- Writes the project; refuses to overwrite a file that exists.
function M.create(short, dir)
  local files = {
    { "main.lua", M.mainLua(short) },
    { ".vscode/tasks.json", json.encode(tasks(short), { indent = true }) .. "\n" },
    { ".vscode/launch.json", json.encode(launch(), { indent = true }) .. "\n" },
    { ".env.example", ENV_EXAMPLE },
    { ".gitignore", GITIGNORE },
  }
  for _, f in ipairs(files) do
    if _PY.fileExist(dir .. "/" .. f[1]) then return nil, dir .. "/" .. f[1] .. " exists: not overwritten" end
  end
  os.execute("mkdir -p '" .. (dir .. "/.vscode"):gsub("'", "'\\''") .. "'")
  for _, f in ipairs(files) do _PY.writeFile(dir .. "/" .. f[1], f[2]) end
  return files
end

function M.register(T)
  T.add("init-qa", "init-qa [TYPE] [DIR]", "as plua --init-qa", function(args)
    local short, dir = args[1], args[2] or "."
    if not short then
      print("QuickApp templates (plua --init-qa TYPE [DIR]):")
      for _, name in ipairs(M.names()) do print(string.format("  %-20s %s", name, TYPES[name])) end
      return
    end
    if not TYPES[short] then
      T.usage("unknown QuickApp template '" .. short .. "' (plua --init-qa lists them)")
    end
    local files, e = M.create(short, dir)
    if not files then T.fail(e) end
    for _, f in ipairs(files) do print("created " .. dir .. "/" .. f[1]) end
  end)
end

return M
