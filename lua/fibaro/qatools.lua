-- fibaro/qatools.lua: the QuickApp project tools of `plua -t`: pack and
-- unpack .fqa files (offline), uploadQA, updateQA, updateFile and downloadQA
-- (the box of fibaro/hc3.lua).
--
-- A project is a main file with header directives (--%%name, --%%type,
-- --%%var, --%%file, --%%u, --%%interfaces ...) and the files it names; its
-- directory holds `.project` (JSON: {"id": <QuickApp id on the box>,
-- "name": ..., "files": {<QA file name>: <path>}}) once it was uploaded or
-- downloaded.

local E = require("fibaro")
local H = require("fibaro.hc3")

local Q = {}
local array = json.array

local function basename(path) return path:match("([^/]*)$") end
local function dirname(path) return path:match("^(.*)/[^/]*$") or "." end
local function join(dir, name) return dir == "." and name or (dir .. "/" .. name) end

------------------------------------------------------------------ Lua literals

-- A value as Lua source on one line (directive values).
local function literal(v)
  local t = type(v)
  if t == "string" then
    return '"' .. v:gsub('[\\"\n\r%z]', { ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n",
      ["\r"] = "\\r", ["\0"] = "\\0" }) .. '"'
  elseif t == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    if v ~= v or v == math.huge or v == -math.huge then return "nil" end
    return string.format("%.17g", v)
  elseif t == "boolean" then
    return tostring(v)
  elseif t == "table" then
    local parts = {}
    local n = #v
    for i = 1, n do parts[#parts + 1] = literal(v[i]) end
    local keys = {}
    for k in pairs(v) do
      if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
    end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(keys) do
      local key = type(k) == "string" and k:match("^[%a_][%w_]*$") and k or ("[" .. literal(k) .. "]")
      parts[#parts + 1] = key .. "=" .. literal(v[k])
    end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return "nil"
end
Q.literal = literal

------------------------------------------------------------------ directives from an .fqa

-- The interfaces a QuickApp adds to its type's own (an exported .fqa lists
-- them all; --%%interfaces names the additions).
local function extraInterfaces(doc)
  local S = require("fibaro.store")
  local def = type(doc.type) == "string" and S.deviceTypes()[doc.type]
  local own = { quickApp = true }
  for _, i in ipairs(def and def.interfaces or {}) do own[i] = true end
  local list = {}
  for _, i in ipairs(type(doc.initialInterfaces) == "table" and doc.initialInterfaces or {}) do
    if not own[i] then list[#list + 1] = i end
  end
  table.sort(list)
  return list
end

-- The --%%u rows of a viewLayout and its uiCallbacks.
local function uiRows(props)
  local rows = {}
  local vl = props.viewLayout
  local items = type(vl) == "table" and vl["$jason"] and vl["$jason"].body and vl["$jason"].body.sections
    and vl["$jason"].body.sections.items or {}
  local callbacks = {}
  for _, cb in ipairs(props.uiCallbacks or {}) do
    if type(cb) == "table" and cb.callback and cb.callback ~= "" then
      callbacks[cb.name] = callbacks[cb.name] or {}
      callbacks[cb.name][cb.eventType] = cb.callback
    end
  end
  for _, item in ipairs(items) do
    local row = {}
    for _, c in ipairs(item.components or {}) do
      local kind = c.type == "select" and c.selectionType == "multi" and "multi" or c.type
      if kind and c.name then
        local e = { [kind] = c.name }
        if c.text and c.text ~= "" then e.text = c.text end
        if kind == "slider" then
          e.min, e.max, e.step, e.value = tonumber(c.min), tonumber(c.max), tonumber(c.step), tonumber(c.value)
        elseif kind == "select" or kind == "multi" then
          e.options = c.options
        elseif kind == "switch" and c.value == "true" then
          e.value = true
        end
        for ev, fn in pairs(callbacks[c.name] or {}) do e[ev] = fn end
        row[#row + 1] = e
      end
    end
    if #row == 1 then rows[#rows + 1] = row[1] elseif #row > 1 then rows[#rows + 1] = row end
  end
  return rows
end

-- Header lines describing `doc` (an .fqa), with `paths` naming the file of
-- each non-main QA file.
local function headerLines(doc, paths)
  local props = doc.initialProperties or {}
  local lines = { "--%%name:" .. tostring(doc.name), "--%%type:" .. tostring(doc.type) }
  local extra = extraInterfaces(doc)
  if #extra > 0 then lines[#lines + 1] = "--%%interfaces:" .. literal(extra) end
  if type(props.userDescription) == "string" and props.userDescription ~= "" then
    lines[#lines + 1] = "--%%description:" .. props.userDescription:gsub("\n", " ")
  end
  for _, v in ipairs(props.quickAppVariables or {}) do
    lines[#lines + 1] = "--%%var:" .. v.name .. "=" .. literal(v.value)
  end
  for _, f in ipairs(doc.files or {}) do
    if not (f.isMain or f.name == "main") then lines[#lines + 1] = "--%%file:" .. paths[f.name] .. "," .. f.name end
  end
  for _, row in ipairs(uiRows(props)) do lines[#lines + 1] = "--%%u:" .. literal(row) end
  return lines
end

-- main's code without its directive lines (the header up to the first
-- line of code).
local function stripHeaders(src)
  local out, inHeader = {}, true
  for line in (src .. "\n"):gmatch("([^\n]*)\n") do
    if inHeader and not (line:match("^%s*$") or line:match("^%-%-")) then inHeader = false end
    if not (inHeader and line:match("^%-%-%%%%")) then out[#out + 1] = line end
  end
  while out[1] == "" do table.remove(out, 1) end
  return table.concat(out, "\n"):gsub("\n*$", "\n")
end

------------------------------------------------------------------ pack / unpack

local function readJson(path)
  local ok, text = pcall(_PY.readFile, path)
  if not ok then return nil, "cannot read " .. path end
  local ok2, doc = pcall(json.decode, text)
  if not ok2 or type(doc) ~= "table" then return nil, path .. ": not valid JSON" end
  return doc
end

local function writeJson(path, value)
  _PY.writeFile(path, json.encode(value, { indent = true }) .. "\n")
end

-- What an .fqa says about a QuickApp, in a comparable form.
local function essence(doc)
  local props = doc.initialProperties or {}
  local vl = props.viewLayout
  local files = {}
  for _, f in ipairs(doc.files or {}) do
    if not (f.isMain or f.name == "main") then files[#files + 1] = { f.name, f.content } end
  end
  table.sort(files, function(a, b) return a[1] < b[1] end)
  return json.encode({ doc.name, doc.type, extraInterfaces(doc), props.quickAppVariables or {},
    props.uiCallbacks or {}, type(vl) == "table" and vl["$jason"] and vl["$jason"].body.sections.items or {},
    props.userDescription or "", files })
end

-- Where the main file's --%%file lines put each QA file (relative paths
-- inside the project only), else <name>.lua.
local function filePaths(doc, main)
  local paths = {}
  for path, name in (main or ""):gmatch("%-%-%%%%file:%s*([^,\n]+),%s*([%w_%.%-]+)") do
    path = path:gsub("%s+$", "")
    if not path:match("^/") and not path:match("%.%.") and not path:match("^%$") then paths[name] = path end
  end
  for _, f in ipairs(doc.files or {}) do
    if not (f.isMain or f.name == "main") then paths[f.name] = paths[f.name] or (f.name .. ".lua") end
  end
  return paths
end

local function mkdirs(path)
  local dir = dirname(path)
  if dir ~= "." and not _PY.fileExist(dir) then os.execute("mkdir -p '" .. dir:gsub("'", "'\\''") .. "'") end
end

-- Writes `doc` as a project in dir: main.lua, one file per QA file. main
-- keeps its code as it is when its directives describe the .fqa (so pack →
-- unpack → pack gives the same .fqa); otherwise its header is regenerated.
-- Returns the main file's path and the files map of .project.
function Q.unpack(doc, dir)
  if type(doc.files) ~= "table" then error("not an .fqa: no files", 0) end
  local main
  for _, f in ipairs(doc.files) do if f.isMain or f.name == "main" then main = f end end
  if not main then error("not an .fqa: no main file", 0) end
  local paths = filePaths(doc, main.content)
  local map = { main = "main.lua" }
  mkdirs(join(dir, "main.lua"))
  for _, f in ipairs(doc.files) do
    if f ~= main then
      local path = join(dir, paths[f.name])
      mkdirs(path)
      _PY.writeFile(path, f.content or "")
      map[f.name] = paths[f.name]
    end
  end
  local mainPath = join(dir, "main.lua")
  _PY.writeFile(mainPath, main.content or "")
  local ok, again = pcall(E.projectFqa, mainPath)
  if not ok or essence(again) ~= essence(doc) then
    local text = table.concat(headerLines(doc, paths), "\n") .. "\n\n" .. stripHeaders(main.content or "")
    _PY.writeFile(mainPath, text)
  end
  return mainPath, map
end

local function projectFile(dir) return join(dir, ".project") end

local function writeProject(dir, id, name, map)
  writeJson(projectFile(dir), { id = id, name = name, files = map })
end

-- The box's id of the project of `file`: --%%project, else the .project
-- of its directory or the nearest one above (a file in lib/ of a
-- project). Returns the id, the .project document and its directory.
local function projectId(file, h)
  local dir = dirname(file)
  for _ = 1, 4 do
    local doc = _PY.fileExist(projectFile(dir)) and readJson(projectFile(dir))
    if doc then return (h and h.project) or math.tointeger(doc.id), doc, dir end
    if dir == "." or dir == "/" or not dir:find("/") then break end
    dir = dirname(dir)
  end
  return h and h.project, nil, dirname(file)
end

------------------------------------------------------------------ the box

local function needBox(file, T)
  if not H.configure(file and dirname(file) or ".") then
    T.fail("no HC3 configured: set HC3_URL, HC3_USER and HC3_PASSWORD (environment or .env)")
  end
  local problem = H.check()
  if problem then T.fail(problem) end
end

local function boxCall(T, what, method, path, body)
  local data, status, e = H.raw(method, path, body)
  if status == nil then T.fail(string.format("HC3 at %s: %s: %s", H.url, what, e)) end
  if status >= 300 then
    T.fail(string.format("HC3 at %s refused %s: %d %s", H.url, what, status, H.said(data)))
  end
  return data, status
end

-- The project's files as the box takes them in /api/quickApp/{id}/files.
local function boxFiles(doc)
  local list = array()
  for _, f in ipairs(doc.files) do
    list[#list + 1] = { name = f.name, isMain = f.isMain, isOpen = false, type = "lua", content = f.content }
  end
  return list
end

local function fileMap(file, h)
  local map = { main = basename(file) }
  for _, f in ipairs(h.files) do map[f.name] = f.path:sub(#dirname(file) + 2) end
  return map
end

function Q.register(T)
  T.add("pack", "pack FILE [-o OUT.fqa]", "write the QuickApp project FILE as an .fqa (default NAME.fqa)",
    function(args)
      local file, out = args[1], nil
      for i = 2, #args do if args[i] == "-o" or args[i] == "--output" then out = args[i + 1] end end
      if not file then T.usage("pack: FILE expected (plua -t pack main.lua -o out.fqa)") end
      local doc = E.projectFqa(file)
      out = out or (doc.name:gsub("[^%w_%-]", "_") .. ".fqa")
      writeJson(out, doc)
      print(string.format("packed %s (%d files) into %s", doc.name, #doc.files, out))
    end)

  T.add("unpack", "unpack IN.fqa [DIR]", "write an .fqa as a project: main.lua and one file per QA file",
    function(args)
      local file, dir = args[1], args[2] or "."
      if not file then T.usage("unpack: IN.fqa expected") end
      local doc, e = readJson(file)
      if not doc then T.fail(e) end
      local main, map = Q.unpack(doc, dir)
      local n = 0
      for _ in pairs(map) do n = n + 1 end
      print(string.format("unpacked %s into %s (%d files)", tostring(doc.name), main, n))
    end)

  T.add("uploadQA", "uploadQA FILE", "create the project FILE as a new QuickApp on the box; its id goes to .project",
    function(args)
      local file = args[1]
      if not file then T.usage("uploadQA: FILE expected") end
      needBox(file, T)
      local doc, h = E.projectFqa(file)
      local dev = boxCall(T, "the upload of " .. doc.name, "POST", "/api/quickApp", doc)
      local id = type(dev) == "table" and math.tointeger(dev.id)
      if not id then T.fail("HC3 at " .. H.url .. " answered the upload without an id") end
      writeProject(dirname(file), id, doc.name, fileMap(file, h))
      print(string.format("uploaded %s: QuickApp %d on %s", doc.name, id, H.url))
    end)

  T.add("updateQA", "updateQA FILE", "replace the files, UI and variables of the project's QuickApp on the box",
    function(args)
      local file = args[1]
      if not file then T.usage("updateQA: FILE expected") end
      needBox(file, T)
      local doc, h = E.projectFqa(file)
      local id = projectId(file, h)
      if not id then T.fail(file .. ": no QuickApp id: no --%%project:ID and no .project (run uploadQA first)") end
      -- UI and variables first: changing the files restarts the QuickApp
      local p = doc.initialProperties
      boxCall(T, "the UI and variables of QuickApp " .. id, "PUT", "/api/devices/" .. id, { name = doc.name,
        properties = { viewLayout = p.viewLayout, uiView = p.uiView, uiCallbacks = p.uiCallbacks,
          quickAppVariables = p.quickAppVariables } })
      if #doc.initialInterfaces > 0 then
        boxCall(T, "the interfaces of QuickApp " .. id, "POST", "/api/plugins/interfaces",
          { action = "add", deviceId = id, interfaces = doc.initialInterfaces })
      end
      local onBox = boxCall(T, "the files of QuickApp " .. id, "GET", "/api/quickApp/" .. id .. "/files")
      local have, want = {}, {}
      for _, f in ipairs(onBox) do have[f.name] = f end
      local existing = array()
      for _, f in ipairs(boxFiles(doc)) do
        want[f.name] = true
        if have[f.name] then existing[#existing + 1] = f
        else boxCall(T, "the new file " .. f.name, "POST", "/api/quickApp/" .. id .. "/files", f) end
      end
      for name, f in pairs(have) do
        if not want[name] and not f.isMain then
          boxCall(T, "the removal of " .. name, "DELETE", "/api/quickApp/" .. id .. "/files/" .. name)
        end
      end
      boxCall(T, "the files of QuickApp " .. id, "PUT", "/api/quickApp/" .. id .. "/files", existing)
      writeProject(dirname(file), id, doc.name, fileMap(file, h))
      print(string.format("updated QuickApp %d (%s) on %s: %d files", id, doc.name, H.url, #doc.files))
    end)

  T.add("updateFile", "updateFile FILE", "replace one file of the project's QuickApp on the box",
    function(args)
      local file = args[1]
      if not file then T.usage("updateFile: FILE expected") end
      needBox(file, T)
      local id, project, pdir = projectId(file)
      if not id then T.fail(file .. ": no QuickApp id: no .project next to it or above (run uploadQA first)") end
      local name = basename(file):gsub("%.lua$", "")
      for qaName, path in pairs(project and project.files or {}) do
        if join(pdir, path) == file then name = qaName end
      end
      boxCall(T, "the file " .. name, "PUT", "/api/quickApp/" .. id .. "/files/" .. name,
        { name = name, isMain = name == "main", type = "lua", isOpen = false, content = _PY.readFile(file) })
      print(string.format("updated file %s of QuickApp %d on %s", name, id, H.url))
    end)

  T.add("removeProxy", "removeProxy NAME", "delete the QuickApp(s) named NAME on the box (a proxy)",
    function(args)
      local name = args[1]
      if not name then T.usage("removeProxy: the proxy's NAME expected") end
      needBox(nil, T)
      local list = boxCall(T, "the device list", "GET", "/api/devices?interface=quickApp")
      local n = 0
      for _, d in ipairs(type(list) == "table" and list or {}) do
        -- only QuickApps of exactly that name: never another kind of device
        if type(d) == "table" and d.name == name and d.isPlugin ~= false
          and (d.type or ""):match("^com%.fibaro%.") and math.tointeger(d.id) then
          boxCall(T, "the removal of QuickApp " .. d.id, "DELETE", "/api/devices/" .. d.id)
          print(string.format("removed QuickApp %d (%s) from %s", d.id, name, H.url))
          n = n + 1
        end
      end
      if n == 0 then T.fail(string.format("HC3 at %s has no QuickApp named '%s'", H.url, name)) end
    end)

  T.add("downloadQA", "downloadQA ID [DIR]", "the box's QuickApp ID as a project in DIR (default: its name)",
    function(args)
      local id = math.tointeger(tonumber(args[1]))
      if not id then T.usage("downloadQA: a QuickApp id expected") end
      needBox(nil, T)
      local doc = boxCall(T, "the export of QuickApp " .. id, "GET", "/api/quickApp/export/" .. id)
      if type(doc) ~= "table" then T.fail("HC3 at " .. H.url .. " sent no .fqa for QuickApp " .. id) end
      local dir = args[2] or tostring(doc.name):gsub("[^%w_%-]", "_")
      local main, map = Q.unpack(doc, dir)
      writeProject(dir, id, doc.name, map)
      print(string.format("downloaded QuickApp %d (%s) into %s", id, tostring(doc.name), main))
    end)
end

return Q
