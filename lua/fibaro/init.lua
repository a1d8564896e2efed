-- fibaro/init.lua: plua's Fibaro HC3 QuickApp emulator (`plua --fibaro`).
-- Loaded before the script; replaces _PY.main_file_hook (the main file and
-- every further .lua script argument become QuickApps), _PY.fibaro_api_hook
-- (/api/* answered by the offline store) and _PY.get_quickapps/get_quickapp.

local S = require("fibaro.store")
local R = require("fibaro.rest")
local sdk = require("fibaro.sdk")
local log = require("fibaro.log")
local qajson = require("fibaro.json")
local SC = require("fibaro.scene")

local E = { store = S, rest = R, sdk = sdk, quickApps = {} }
local array = json.array

-- Seconds between two restarts for the second one not to back off.
local RESTART_QUIET = 10

local function basename(path) return path:match("([^/]*)$") end
local function dirname(path) return path:match("^(.*)/[^/]*$") or "." end
local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

------------------------------------------------------------------ directives

local KNOWN = {
  name = "text", type = "text", id = "integer", var = "var", file = "file", u = "lua",
  interfaces = "lua", description = "text", debug = "flags", offline = "boolean",
  proxy = "text", proxy_port = "number", proxyupdate = "text", save = "text", state = "text",
  time = "text", project = "integer", latitude = "number", longitude = "number", uid = "text",
  manufacturer = "text", model = "text", role = "text", breakonload = "boolean", nop = "text",
  scene = "boolean", speed = "number", property = "var", conceal = "var",
  merge = "note", webui = "note", desktop = "note",
}

-- Directives of the other emulators that plua accepts without acting on
-- them: one line on stderr says what plua does instead.
local NOTES = {
  merge = "plua does not concatenate files; list each one with --%%file",
  webui = "the QuickApp's UI is on the REST server's web page (/web), without a directive",
  desktop = "plua opens no desktop window; the QuickApp's UI is on the REST server's web page (/web)",
}

-- `env` (the process environment, .env files included, as os.getenv) and
-- `config` (the user's config files, fibaro/userconfig.lua) are what a
-- --%%var value may read besides the standard library: the way to keep
-- secrets out of the QuickApp's source.
local envProxy = setmetatable({}, { __index = function(_, k) return os.getenv(k) end })
local valueEnv = setmetatable({ env = envProxy }, { __index = function(t, k)
  if k == "config" then
    local c = require("fibaro.userconfig").get()
    rawset(t, "config", c)
    return c
  end
  return _G[k]
end })

local function luaValue(expr, where)
  local chunk, err = load("return " .. expr, "=" .. where, "t", valueEnv)
  if not chunk then error(where .. ": malformed value: " .. err:gsub("^[^:]*:%d+: ", ""), 0) end
  local ok, v = pcall(chunk)
  if not ok then error(where .. ": bad value: " .. tostring(v):gsub("^[^:]*:%d+: ", ""), 0) end
  return v
end

-- YYYY-MM-DD HH:MM[:SS] (or YYYY/MM/DD), MM/DD HH:MM[:SS] (this year), or
-- HH:MM[:SS] (today).
local function parseTime(text, where)
  local today = os.date("*t")
  local y, mo, d, h, mi, s = text:match("^(%d%d%d%d)[-/](%d%d?)[-/](%d%d?)[ T/](%d%d?):(%d%d):?(%d*)$")
  if not y then
    mo, d, h, mi, s = text:match("^(%d%d?)/(%d%d?)[ T/](%d%d?):(%d%d):?(%d*)$")
    y = mo and today.year
  end
  if not y then
    h, mi, s = text:match("^(%d%d?):(%d%d):?(%d*)$")
    if not h then
      error(where .. ": malformed time '" .. text
        .. "' (YYYY-MM-DD HH:MM[:SS], MM/DD HH:MM[:SS] or HH:MM[:SS])", 0)
    end
    y, mo, d = today.year, today.month, today.day
  end
  return os.time({ year = tonumber(y), month = tonumber(mo), day = tonumber(d),
    hour = tonumber(h), min = tonumber(mi), sec = tonumber(s) or 0 })
end

-- --%%var:name=<Lua value> (current), --%%var:name:<value> or --%%var=name:<value> (old).
local function nameAndValue(value, sep, key, where)
  local name, expr = value:match("^([%a_][%w_]*)%s*=%s*(.+)$")
  if not name or sep == "=" then
    local n2, e2 = value:match("^([%a_][%w_]*)%s*:%s*(.+)$")
    if n2 then name, expr = n2, e2 end
  end
  if not name then error(where .. ": malformed " .. key .. " (expected --%%" .. key .. ":name=<Lua value>)", 0) end
  return name, luaValue(expr, where)
end

-- --%%file:path,name or --%%file:path:name (the name defaults to the file's).
local function fileSpec(value, qadir, where)
  local path, name = value:match("^([^,]+),%s*([%w_%.%-]+)$")
  if not path then path, name = value:match("^(.+):([%a_][%w_%.%-]*)$") end
  path = trim(path or value)
  if path:sub(1, 1) == "$" then
    local found = package.searchpath(path:sub(2), package.path)
    if not found then error(where .. ": module " .. path:sub(2) .. " not found on package.path", 0) end
    path = found
  elseif not _PY.fileExist(path) and _PY.fileExist(qadir .. "/" .. path) then
    path = qadir .. "/" .. path
  end
  if not _PY.fileExist(path) then error(where .. ": file " .. path .. " not found", 0) end
  return { path = path, name = name or basename(path):gsub("%.lua$", "") }
end

-- The state file --%%state:true names: .plua/state.json in the current directory.
E.DEFAULT_STATE = ".plua/state.json"

-- Reads the header directives of `src` (file name `fname` for messages).
-- `--%% key:value` (a space after the %%) is how people switch a directive
-- off: a comment, as in the other emulators.
function E.parseHeaders(src, fname, qadir)
  local h = { vars = {}, files = {}, ui = {}, interfaces = {}, debug = {}, props = {}, conceal = {} }
  local lineno = 0
  for line in (src .. "\n"):gmatch("([^\n]*)\n") do
    lineno = lineno + 1
    line = line:gsub("\r$", "")
    if line:match("^%-%-ENDOFHEADERS") or line:match("^%-%-%s*%-+%s*EOH%s*%-+") then break end
    if line:match("^%-%-%%%%[^%s]") then
      local where = fname .. ":" .. lineno
      local key, sep, value = line:match("^%-%-%%%%([%w_]+)%s*([:=])(.*)$")
      if not key then error(where .. ": malformed directive (expected --%%key:value)", 0) end
      value = trim(value)
      local kind = KNOWN[key]
      if kind == nil then
        log.warn("%s: unknown header key '%s' - ignored", where, key)
      elseif kind == "note" then
        log.warn("%s: --%%%%%s is accepted and ignored: %s", where, key, NOTES[key])
      else
        if kind == "text" or kind == "integer" or kind == "number" or kind == "boolean" or kind == "file" then
          value = trim(value:gsub("%s+%-%-.*$", ""))
        end
        if value == "" and kind ~= "text" then error(where .. ": missing value for '" .. key .. "'", 0) end
        if kind == "text" then
          h[key] = value
        elseif kind == "integer" or kind == "number" then
          local n = tonumber(value)
          if not n or (kind == "integer" and (not math.tointeger(n) or n <= 0)) then
            error(where .. ": " .. key .. " must be a " .. (kind == "integer" and "positive integer" or "number")
              .. ", got '" .. value .. "'", 0)
          end
          h[key] = kind == "integer" and math.tointeger(n) or n
        elseif kind == "boolean" then
          if value ~= "true" and value ~= "false" then
            error(where .. ": " .. key .. " must be true or false, got '" .. value .. "'", 0)
          end
          h[key] = value == "true"
        elseif kind == "var" then
          local name, v = nameAndValue(value, sep, key, where)
          if key == "var" then h.vars[#h.vars + 1] = { name = name, value = v }
          elseif key == "property" then h.props[name] = v
          else h.conceal[name] = v end
        elseif kind == "file" then
          h.files[#h.files + 1] = fileSpec(value, qadir, where)
        elseif kind == "flags" then
          if value == "true" or value == "false" then h.debug.all = value == "true"
          else
            for k, v in value:gmatch("([%w_]+)%s*=%s*([%w_]+)") do h.debug[k] = v == "true" end
          end
        elseif key == "u" then
          local row = luaValue(value, where)
          if type(row) ~= "table" then error(where .. ": a UI row must be a Lua table", 0) end
          h.ui[#h.ui + 1] = row
        elseif key == "interfaces" then
          local list = luaValue(value, where)
          if type(list) ~= "table" then error(where .. ": interfaces must be a Lua list of names", 0) end
          for _, i in ipairs(list) do h.interfaces[#h.interfaces + 1] = tostring(i) end
        end
        if key == "type" and not S.deviceTypes()[value] then
          error(where .. ": unknown device type '" .. value .. "'", 0)
        end
        if key == "time" then h.timeValue = parseTime(value, where) end
        if key == "state" then
          -- true: the default state file; false: none
          if value == "true" then h.state = E.DEFAULT_STATE elseif value == "false" then h.state = nil end
        end
        if key == "save" then
          local dir = dirname(value)
          if not _PY.isDir(dir) then
            error(where .. ": cannot save " .. value .. ": directory " .. dir .. " does not exist", 0)
          end
          h.saveWhere = where
        end
      end
    end
  end
  return h
end

------------------------------------------------------------------ UI rows

-- --%%u rows → viewLayout, uiView and uiCallbacks. Event types per element:
-- button onReleased (also onLongPressDown/onLongPressReleased), switch
-- onReleased, slider onChanged, select/multi onToggled. A callback is named
-- in the row (onReleased='turnOn'); without one the element has none.
local ELEMENTS = { button = { "onReleased", "onLongPressDown", "onLongPressReleased" },
  switch = { "onReleased" }, slider = { "onChanged" }, select = { "onToggled" },
  multi = { "onToggled" }, label = {} }

local function buildUI(rows)
  local items, callbacks, uiView = array(), array(), array()
  for _, row in ipairs(rows) do
    local elements = row[1] and row or { row }
    local comps = array()
    for _, e in ipairs(elements) do
      local kind, name
      for k in pairs(ELEMENTS) do if e[k] then kind, name = k, e[k] end end
      if kind then
        local c = { name = name, type = kind == "multi" and "select" or kind, visible = true,
          style = { weight = string.format("%.2f", 1 / #elements) }, text = e.text or "" }
        if kind == "slider" then c.min, c.max, c.step, c.value = tostring(e.min or 0), tostring(e.max or 100), tostring(e.step or 1), tostring(e.value or 0) end
        if kind == "select" or kind == "multi" then
          c.options = e.options or array()
          c.selectionType = kind == "multi" and "multi" or "single"
        end
        if kind == "switch" then c.value = tostring(e.value == true) end
        comps[#comps + 1] = c
        for _, ev in ipairs(ELEMENTS[kind]) do
          if e[ev] or ev == ELEMENTS[kind][1] then
            callbacks[#callbacks + 1] = { name = name, eventType = ev, callback = e[ev] or "" }
          end
        end
      end
    end
    items[#items + 1] = { type = "horizontal", components = comps, style = { weight = "1.2" } }
    uiView[#uiView + 1] = { type = "horizontal", components = S.deepcopy(comps) }
  end
  return items, callbacks, uiView
end

------------------------------------------------------------------ state file

-- Never lose the user's state: a file that does not load is moved aside (never
-- overwritten), saves go to a temporary file renamed over the old one (so a
-- full disk leaves the old state intact), a symlinked state file is written
-- through to its target (_PY.writeFile follows links), and a save that fails
-- says why on stderr (once per distinct reason, so a full disk does not
-- flood the log every 300 ms). A run that changed nothing leaves the file
-- untouched.
local statePath, lastSaveError
local savedText -- the snapshot the state file holds (as plua read or wrote it)
local function saveState()
  if not statePath then return end
  local ok, text = pcall(json.encode, S.snapshot(), { indent = true })
  if ok and text == savedText then return end
  local err
  if ok then ok, err = pcall(_PY.writeFile, statePath, text .. "\n") else err = text end
  -- the reason without the temporary file's random name
  local reason = not ok and tostring(err):match("([^:]*)$")
  if ok then
    savedText = text
    if lastSaveError then log.warn("state file %s: saved again", statePath) end
    lastSaveError = nil
  elseif reason ~= lastSaveError then
    lastSaveError = reason
    log.warn("state file %s: not saved: %s (the previous contents are unchanged)", statePath, tostring(err))
  end
end
E.saveState = saveState

local saveTimer
local function scheduleSave()
  if statePath and not saveTimer then
    saveTimer = setTimeout(function() saveTimer = nil; saveState() end, 300)
  end
end

-- Saved once more when the Lua state closes at the end of the run; a run
-- that changed nothing leaves the file untouched.
E.finalizer = setmetatable({}, { __gc = function() saveState() end })

-- nil when `state` has the shape S.snapshot writes, else what is wrong.
local function stateShapeError(state)
  if type(state) ~= "table" then return "not a JSON object" end
  if state[1] ~= nil then return "a JSON array, not an object" end
  for _, k in ipairs(S.PERSIST) do
    local v = state[k]
    if v ~= nil then
      if type(v) ~= "table" then return string.format("\"%s\" is not a list or object", k) end
      if S.KEYED[k] then
        for i, item in ipairs(v) do
          if type(item) ~= "table" or (k == "vars" and item.deviceId == nil)
            or (k ~= "vars" and type(item.id) ~= "number") then
            return string.format("\"%s\" item %d has no numeric id", k, i)
          end
        end
      end
    end
  end
end

-- The first free name of FILE.bad, FILE.bad.1, FILE.bad.2 ...
local function badName(path)
  local name = path .. ".bad"
  local n = 0
  while _PY.fileExist(name) do n = n + 1; name = path .. ".bad." .. n end
  return name
end

-- A state file that cannot be loaded is renamed FILE.bad and the run starts
-- from a fresh store (saved to FILE). If it cannot be moved aside it is left
-- alone and nothing is saved this run.
local function setAside(path, why)
  local bad = badName(path)
  local ok, err = os.rename(path, bad)
  if ok then
    log.warn("state file %s could not be loaded (%s): kept as %s; starting from a fresh store", path, why, bad)
    return true
  end
  log.warn("state file %s could not be loaded (%s) nor renamed (%s): left as it is; this run's state will not be saved",
    path, why, tostring(err))
  return false
end

-- Loads a state file into the store; nil, or why it could not. A seed
-- (below) that fails leaves the store as it was; the state file resets it.
local function loadStateFile(path, seed)
  local okRead, text = pcall(_PY.readFile, path)
  if not okRead then error("state file " .. path .. ": " .. tostring(text), 0) end
  local ok, state = pcall(json.decode, text)
  local why = not ok and "not valid JSON" or stateShapeError(state)
  if not why then
    local loaded, err = pcall(S.load, state)
    if not loaded then
      if not seed then S.reset() end
      why = tostring(err)
    end
  end
  return why
end

-- The state file is the first one named (--state, PLUA_FIBARO_STATE, then
-- --%%state). A --%%state file named after another one is a seed: it fills
-- the store when the state file does not exist yet and is never written.
local function useState(path)
  if statePath then
    if path ~= statePath and not E.stateExisted and _PY.fileExist(path) then
      local why = loadStateFile(path, true)
      if why then log.warn("seed state file %s not loaded (%s): left as it is", path, why) end
    end
    return
  end
  if _PY.fileExist(path) then
    local why = loadStateFile(path)
    if why and not setAside(path, why) then return end
    E.stateExisted = not why
    if not why then savedText = json.encode(S.snapshot(), { indent = true }) end
  elseif path == E.DEFAULT_STATE and not _PY.isDir(dirname(path)) then
    -- --%%state:true: the default file's directory is made
    local ok, err = _PY.makeDirs(dirname(path))
    if not ok then error("state file " .. path .. ": " .. tostring(err), 0) end
  elseif not _PY.fileExist(dirname(path)) then
    -- caught at the start: a typo in the path would otherwise lose the whole run
    error("state file " .. path .. ": directory " .. dirname(path) .. " does not exist", 0)
  end
  statePath = path
  S.onDirty = scheduleSave
end

------------------------------------------------------------------ QuickApps

local function fqa(qa)
  local dev = S.devices[qa.id]
  local p = dev.properties
  local files = array()
  for _, f in ipairs(qa.files) do
    files[#files + 1] = { name = f.name, isMain = f.isMain, isOpen = false, type = "lua", content = f.content }
  end
  return { name = dev.name, type = dev.type, apiVersion = "1.3",
    initialProperties = { viewLayout = p.viewLayout, uiView = p.uiView, uiCallbacks = p.uiCallbacks,
      quickAppVariables = p.quickAppVariables, typeTemplateInitialized = true,
      userDescription = p.userDescription or "", deviceRole = p.deviceRole },
    initialInterfaces = dev.interfaces, files = files }
end

-- Runs the QuickApp's files in a fresh environment, then constructs it.
local function stopClients(qa)
  for client in pairs(qa.mqtt or {}) do client:disconnect() end
  qa.mqtt = {}
end

local function start(qa)
  for ref in pairs(qa.timers or {}) do clearTimeout(ref) end
  stopClients(qa)
  qa.obj = nil
  local env = sdk.newEnv(qa)
  env.json = qajson.new()
  qa.env = env
  for _, f in ipairs(qa.files) do
    local chunk, err = load(f.content, f.chunkname, "t", env)
    if not chunk then
      log.fail(env.__TAG, err)
      return false
    end
    if not qa.protect(chunk) then return false end
  end
  local QuickApp = rawget(env, "QuickApp")
  local ok, obj = qa.protect(function() return QuickApp(S.devices[qa.id]) end)
  if ok then
    env.quickApp = obj
    qa.obj = obj
  end
  qa.started = true
  return ok
end

-- Reads a QuickApp file, creates (or re-uses) its device and queues its start.
function E.loadQuickApp(path, src, h)
  src = src or _PY.readFile(path)
  local fname = basename(path)
  h = h or E.parseHeaders(src, fname, dirname(path))
  if h.state then useState(h.state) end
  if h.timeValue then
    S.offset = h.timeValue - os.time()
    S.updateSun()
  end
  -- --%%speed:N: virtual time, unless the command line chose the clock
  local rc = _PY.config.runtime_config
  if h.speed then
    if h.speed <= 0 then error(fname .. ": --%%speed must be more than 0", 0) end
    if rc.speed == 1 and not rc.instant then _PY.set_time_speed(h.speed) end
  end
  if h.latitude or h.longitude then
    S.location.latitude = h.latitude or S.location.latitude
    S.location.longitude = h.longitude or S.location.longitude
    S.updateSun()
  end
  local id = h.id
  if id and E.quickApps[id] then error(fname .. ": QuickApp id " .. id .. " is already used by " .. E.quickApps[id].file, 0) end
  local items, callbacks, uiView = buildUI(h.ui)
  local name = h.name or fname:gsub("%.lua$", "")
  local dtype = h.type or "com.fibaro.binarySwitch"
  local key = _PY.abspath(path)
  id = id or E.knownDevice(key, name, dtype)
  local dev = id and S.devices[id]
  if dev and dev.type ~= dtype then S.removeDevice(id); dev = nil end
  local vars
  if not dev then
    local err
    dev, err = S.newDevice({ id = id, name = name, type = dtype, interfaces = h.interfaces })
    if not dev then error(fname .. ": " .. err, 0) end
    vars = array()
  else
    -- a device kept from an earlier run keeps its variables; the header's
    -- ones it does not have yet are added
    dev.name = name
    if #h.interfaces > 0 then R.interfaces("add", id, h.interfaces) end
    vars = S.jsoncopy(dev.properties.quickAppVariables or array())
  end
  local have = {}
  for _, v in ipairs(vars) do have[v.name] = true end
  for _, v in ipairs(h.vars) do
    if not have[v.name] then vars[#vars + 1] = { name = v.name, value = v.value } end
  end
  id = dev.id
  S.qaFiles[key] = id
  local p = dev.properties
  for k, v in pairs(h.props) do p[k] = v end
  p.quickAppVariables = vars
  p.uiCallbacks = callbacks
  p.uiView = uiView
  p.viewLayout["$jason"].body.sections.items = items
  if h.description then p.userDescription = h.description end
  for _, k in ipairs({ "manufacturer", "model" }) do if h[k] then p[k] = h[k] end end
  if h.role then p.deviceRole = h.role end
  if h.uid then p.quickAppUuid = h.uid end
  S.dirty()
  S.deviceChanged(id)

  local qa = { id = id, file = path, name = name, headers = h, files = {}, timers = {}, mode = h.mode }
  for _, f in ipairs(h.files) do
    qa.files[#qa.files + 1] = { name = f.name, content = _PY.readFile(f.path),
      chunkname = "@" .. _PY.abspath(f.path), isMain = false }
  end
  qa.files[#qa.files + 1] = { name = "main", content = src, chunkname = "@" .. _PY.abspath(path), isMain = true }
  E.register(qa)
  if h.save then E.saveFqa(qa, h.save, h.saveWhere or fname) end
  return qa
end

-- The .fqa document of a QuickApp project file (its directives, --%%file
-- files and main), without running it: what -t pack and -t uploadQA send.
-- Returns the document and the parsed headers.
function E.projectFqa(path)
  local src = _PY.readFile(path)
  local h = E.parseHeaders(src, basename(path), dirname(path))
  local items, callbacks, uiView = buildUI(h.ui)
  local vars = array()
  for _, v in ipairs(h.vars) do vars[#vars + 1] = { name = v.name, value = v.value } end
  local files = array()
  files[1] = { name = "main", isMain = true, isOpen = false, type = "lua", content = src }
  for _, f in ipairs(h.files) do
    files[#files + 1] = { name = f.name, isMain = false, isOpen = false, type = "lua", content = _PY.readFile(f.path) }
  end
  local ifs = array()
  for _, i in ipairs(h.interfaces) do ifs[#ifs + 1] = i end
  local title = "quickApp_device_"
  return { name = h.name or basename(path):gsub("%.lua$", ""), type = h.type or "com.fibaro.binarySwitch",
    apiVersion = "1.3",
    initialProperties = {
      viewLayout = { ["$jason"] = { body = { header = { style = { height = "0" }, title = title },
        sections = { items = items } }, head = { title = title } } },
      uiView = uiView, uiCallbacks = callbacks, quickAppVariables = vars,
      typeTemplateInitialized = true, userDescription = h.description or "" },
    initialInterfaces = ifs, files = files }, h
end

-- --%%save: the .fqa with the --%%conceal values in place of the variables'
-- (so a secret read from config or env does not end up in a shared file).
function E.saveFqa(qa, path, where)
  local doc = fqa(qa)
  local vars = S.jsoncopy(doc.initialProperties.quickAppVariables)
  for _, v in ipairs(vars) do
    if qa.headers.conceal[v.name] ~= nil then v.value = qa.headers.conceal[v.name] end
  end
  doc.initialProperties.quickAppVariables = vars
  local ok, text = pcall(json.encode, doc, { indent = true })
  if ok then ok, text = pcall(_PY.writeFile, path, text .. "\n") end
  if not ok then error(where .. ": cannot save " .. path .. ": " .. tostring(text):gsub("^writeFile: ", ""), 0) end
end

-- A QuickApp without --%%id keeps its device across runs (with a state
-- file): the device made for the same file, else one of the same name and
-- type that no other QuickApp of this run owns.
function E.knownDevice(key, name, dtype)
  local id = S.qaFiles[key]
  local d = id and S.devices[id]
  if d and d.type == dtype and not E.quickApps[id] then return id end
  local ids = {}
  for did, dev in pairs(S.devices) do
    if dev.name == name and dev.type == dtype and dev.parentId == 0 and dev.isPlugin
      and not E.quickApps[did] then ids[#ids + 1] = did end
  end
  table.sort(ids)
  return ids[1]
end

-- Makes `qa` ({id, file, name, files = {{name, content, chunkname, isMain}}};
-- chunkname as load() takes it: "@/abs/path" for a file, "=name" otherwise)
-- the owner of its device and queues its start.
function E.register(qa)
  local id = qa.id
  qa.timers = qa.timers or {}
  qa.fqa = function() return fqa(qa) end
  qa.deliverAction = function(did, action, args)
    sdk.post(function()
      local obj = qa.obj
      if not obj then return log.line("WARNING", "QUICKAPP" .. id, "QuickApp not running - action " .. action .. " ignored") end
      qa.protect(obj.onAction, obj, did, { deviceId = did, actionName = action, args = args })
    end)
  end
  qa.deliverUIEvent = function(did, event)
    sdk.post(function()
      local obj = qa.obj
      if obj then qa.protect(obj.onUIEvent, obj, did, event) end
    end)
  end
  -- A restart takes seconds on the box; here a QuickApp restarting over
  -- and over (plugin.restart() in onInit) backs off: the first restart is
  -- at once, each one within RESTART_QUIET seconds of the previous one
  -- waits twice as long (0.5 s, 1 s ... up to 4 s).
  qa.restart = function()
    local now = os.time()
    if qa.lastRestart and now - qa.lastRestart < RESTART_QUIET then
      qa.restartDelay = math.min((qa.restartDelay or 0.25) * 2, 4)
    else
      qa.restartDelay = nil
    end
    qa.lastRestart = now
    local ref
    ref = setTimeout(function()
      qa.timers[ref] = nil
      sdk.post(function() start(qa) end)
    end, (qa.restartDelay or 0) * 1000)
    qa.timers[ref] = true
  end
  qa.fileList = function() return E.filesOf(qa) end
  S.owners[id] = qa
  for cid, d in pairs(S.devices) do if d.parentId == id then S.owners[cid] = qa end end
  E.quickApps[id] = qa
  sdk.post(function() start(qa) end)
  return qa
end

-- Every event the store reports reaches the RefreshStateSubscribers.
S.onEvent = require("fibaro.refresh").feed

S.onRemoved = function(id)
  S.owners[id] = nil
  local qa = E.quickApps[id]
  if qa then
    for ref in pairs(qa.timers) do clearTimeout(ref) end
    stopClients(qa)
    qa.obj = nil
    E.quickApps[id] = nil
  end
end

-- The files list of /api/quickApp/{id}/files.
function E.filesOf(qa)
  local list = array()
  for _, f in ipairs(qa.files) do
    list[#list + 1] = { name = f.name, type = "lua", isMain = f.isMain, isOpen = false, content = f.content }
  end
  return list
end

------------------------------------------------------------------ .fqa import

-- Keys of initialProperties an .fqa may set on the new device.
local FQA_PROPS = { "viewLayout", "uiView", "uiCallbacks", "quickAppVariables",
  "userDescription", "deviceRole", "manufacturer", "model", "quickAppUuid" }

-- Creates and starts a QuickApp from an .fqa document (a Lua table), as
-- POST /api/quickApp/import does. Returns the device, or nil, status, message.
function E.importFqa(doc, roomId)
  if type(doc) ~= "table" then return nil, 400, ".fqa JSON object expected" end
  if type(doc.type) ~= "string" then return nil, 400, ".fqa without a type" end
  if not S.deviceTypes()[doc.type] then return nil, 400, "unknown device type '" .. doc.type .. "'" end
  if type(doc.files) ~= "table" or #doc.files == 0 then return nil, 400, ".fqa without files" end
  local files, main = {}, nil
  for i, f in ipairs(doc.files) do
    if type(f) ~= "table" or type(f.name) ~= "string" or type(f.content) ~= "string" then
      return nil, 400, "file " .. i .. " needs a name and a content"
    end
    local entry = { name = f.name, content = f.content, isMain = f.isMain == true or f.name == "main" }
    if entry.isMain then main = main or entry else files[#files + 1] = entry end
  end
  if not main then return nil, 400, ".fqa without a main file" end
  files[#files + 1] = main -- as the box: the other files first, main last
  local init = type(doc.initialProperties) == "table" and doc.initialProperties or {}
  local dev, msg = S.newDevice({ name = type(doc.name) == "string" and doc.name or nil, type = doc.type,
    interfaces = type(doc.initialInterfaces) == "table" and doc.initialInterfaces or nil,
    roomID = tonumber(roomId) })
  if not dev then return nil, 400, msg end
  for _, k in ipairs(FQA_PROPS) do
    if init[k] ~= nil then dev.properties[k] = S.jsoncopy(init[k]) end
  end
  S.deviceChanged(dev.id)
  local qa = { id = dev.id, file = "<import " .. dev.name .. ">", name = dev.name, files = {} }
  for _, f in ipairs(files) do
    qa.files[#qa.files + 1] = { name = f.name, content = f.content, isMain = f.isMain,
      chunkname = "=" .. dev.name .. (f.isMain and "" or ":" .. f.name) }
  end
  E.register(qa)
  return dev
end
R.importQuickApp = E.importFqa

-- An .fqa given on the command line (plua --fibaro X.fqa): its document,
-- and the directives of its main file for the mode (offline, proxy ...).
function E.readFqa(path, text)
  local ok, doc = pcall(json.decode, text)
  if not ok or type(doc) ~= "table" then error(basename(path) .. ": not an .fqa (JSON object expected)", 0) end
  local main = ""
  for _, f in ipairs(type(doc.files) == "table" and doc.files or {}) do
    if type(f) == "table" and (f.isMain or f.name == "main") then main = f.content or "" end
  end
  -- only the mode directives matter here: --%%file paths are not on disk
  local mode = {}
  for key, value in main:gmatch("%-%-%%%%(%a+):%s*([^\n]-)%s*\n") do
    if key == "offline" then mode.offline = value == "true" elseif key == "proxy" then mode.proxy = value end
  end
  return { fqa = doc, headers = mode }
end

------------------------------------------------------------------ scenes from files

-- A file with --%%scene:true is a Lua scene: its code becomes the actions of
-- a scene (id from --%%id, name from --%%name), which runs once at start.
function E.loadScene(path, src, h)
  local fname = basename(path)
  local id = h.id or S.nextIds.scene
  if id >= S.nextIds.scene then S.nextIds.scene = id + 1 end
  local scene = S.scenes[id] or SC.defaults()
  scene.id = id
  scene.name = h.name or fname:gsub("%.lua$", "")
  scene.type = "lua"
  scene.content = json.encode({ conditions = "{}", actions = src })
  scene.created = scene.created or S.now()
  scene.updated = S.now()
  S.scenes[id] = scene
  S.dirty()
  SC.execute(id, { type = "user", property = "execute", id = 2 })
  return scene
end

------------------------------------------------------------------ modes

-- offline, online or proxy: the command line (-o/--offline, --online) wins
-- over --%%offline and --%%proxy; without either, online when HC3_URL names
-- a box. --online keeps a --%%proxy QuickApp a proxy.
local function modeOf(h, boxConfigured)
  local rc = _PY.config and _PY.config.runtime_config or {}
  local proxy = h.proxy ~= nil and h.proxy ~= "false"
  if rc.hc3_mode == "offline" then return "offline" end
  if rc.hc3_mode == "online" then return proxy and "proxy" or "online" end
  if h.offline == true then return "offline" end
  if proxy then return "proxy" end
  if h.offline == false then return "online" end
  return boxConfigured and "online" or "offline"
end

-- Stops the run at start with a message (an unusable box, a missing URL).
local function fail(message)
  io.stderr:write("plua: ", message, "\n")
  os.exit(1)
end

-- Decides each QuickApp's mode; with any online, checks the box (a clear
-- error and exit 1 when it cannot be used) and starts its event poll.
local function setModes(list, parsed)
  local H = require("fibaro.hc3")
  local configured = H.configure(dirname(list[1]))
  local online = false
  for i in ipairs(list) do
    local h = parsed[i].headers
    if not h.scene then
      h.mode = modeOf(h, configured)
      online = online or h.mode ~= "offline"
    end
  end
  if not online then return end
  if not configured then
    fail("online mode needs a box: set HC3_URL (and HC3_USER, HC3_PASSWORD) in the environment or a .env file")
  end
  local problem = H.check()
  if problem then fail(problem) end
  E.online = true
  _PY.config.offline = false -- the original's key: a box is reached
  require("fibaro.online").startEvents()
end

-- The first line for a QuickApp: its mode and box (never the password).
local function announce(qa)
  local H = require("fibaro.hc3")
  if qa.mode == "offline" and not H.url then return end
  local where = qa.mode == "offline" and "offline" or (qa.mode .. " → " .. H.url)
  log.warn("QuickApp '%s' (%d): %s", qa.name, qa.id, where)
  if qa.mode == "proxy" then
    log.warn("QuickApp '%s': the proxy QuickApp on the box is not implemented yet: running online without one",
      qa.name)
  end
end

------------------------------------------------------------------ hooks

function E.install()
  local PY = _PY
  -- the state file: --state FILE first, then PLUA_FIBARO_STATE, then the
  -- --%%state directive (the first one given wins)
  local rc = PY.config and PY.config.runtime_config
  local env = PY.getenv and PY.getenv("PLUA_FIBARO_STATE")
  if rc and type(rc.state) == "string" and rc.state ~= "" then useState(rc.state)
  elseif env and env ~= "" then useState(env) end
  PY.main_file_hook = function(filename)
    -- further QuickApps: script arguments naming .lua files (found as given
    -- or next to the main file)
    local list = { filename }
    for _, a in ipairs(arg or {}) do
      if type(a) == "string" and a:match("%.lua$") then
        if not _PY.fileExist(a) and _PY.fileExist(dirname(filename) .. "/" .. a) then
          a = dirname(filename) .. "/" .. a
        end
        list[#list + 1] = a
      end
    end
    -- check every header first: an error stops the run before any QA starts
    local parsed = {}
    for i, f in ipairs(list) do
      local src = _PY.readFile(f)
      if f:match("%.fqa$") then
        parsed[i] = E.readFqa(f, src)
      else
        parsed[i] = { src = src, headers = E.parseHeaders(src, basename(f), dirname(f)) }
      end
    end
    setModes(list, parsed)
    for i, f in ipairs(list) do
      local h = parsed[i].headers
      if parsed[i].fqa then
        local dev, _, msg = E.importFqa(parsed[i].fqa)
        if not dev then error(basename(f) .. ": " .. msg, 0) end
        local qa = E.quickApps[dev.id]
        qa.file, qa.mode = f, h.mode
        announce(qa)
      elseif h.scene then
        if h.state then useState(h.state) end
        E.loadScene(f, parsed[i].src, h)
      else
        local qa = E.loadQuickApp(f, parsed[i].src, h)
        E.mainId = E.mainId or qa.id
        announce(qa)
      end
    end
  end
  PY.fibaro_api_hook = function(method, path, data)
    return R.rest(method, path, data)
  end
  -- routes the HC3 has but its published descriptions lack (/api/callAction,
  -- /api/plugins/{id}/variables ...) reach the hook instead of a 404; the
  -- store answers what it does not emulate with 501.
  PY.fibaro_api_unknown_routes = true
  PY.get_quickapps = function()
    local list = {}
    for id, qa in pairs(E.quickApps) do
      local d = S.devices[id]
      list[#list + 1] = { id = id, name = d and d.name or qa.name, type = d and d.type, file = qa.file }
    end
    table.sort(list, function(a, b) return a.id < b.id end)
    return list
  end
  -- REPL lines, /plua/execute and D-Bus Execute run in a QuickApp's
  -- environment: `fibaro`, `api`, `quickApp` and its globals are there. The
  -- default is the main QuickApp (the first one loaded); `:qa ID` or the
  -- "qa" field choose another (a child id means its parent's QuickApp).
  PY.code_env = function(target)
    local id = E.mainId
    if target ~= nil then
      id = math.tointeger(tonumber(target))
      if not id then return nil, "bad QuickApp id '" .. tostring(target) .. "'" end
      local owner = S.owners[id]
      if owner then id = owner.id end
    end
    local qa = id and E.quickApps[id]
    if not qa then
      if target == nil then return nil end -- no QuickApp (scenes only): the global one
      return nil, "no QuickApp " .. tostring(target)
    end
    if not qa.env then return nil, "QuickApp " .. id .. " has not started yet" end
    return qa.env
  end
  PY.get_quickapp = function(id)
    local qa = E.quickApps[tonumber(id)]
    if not qa then return nil end
    return { device = S.devices[qa.id], view = S.views[qa.id] or {}, file = qa.file }
  end
  E.installed = true
end

E.install()
return E
