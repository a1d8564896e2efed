-- fibaro/rest/quickapp.lua: /api/quickApp: import/create (via
-- R.importQuickApp, set by fibaro/init.lua and passed in by fibaro/rest.lua),
-- export, availableTypes, and the files of a running QuickApp. Changing
-- files restarts the QuickApp, as saving does on the box.

local S = require("fibaro.store")
local U = require("fibaro.rest.util")

local QA = {}
local err, num, array = U.err, U.num, U.array

local function fileInfo(f)
  return { name = f.name, type = "lua", isMain = f.isMain, isOpen = false }
end

local function quickAppFiles(m, owner, name, body)
  local files = owner.files
  local function find(n)
    for i, f in ipairs(files) do if f.name == n then return f, i end end
  end
  local function changed()
    S.emit("QuickAppFilesChangedEvent", { id = owner.id })
    owner.restart()
  end
  local function valid(f)
    return type(f) == "table" and type(f.name) == "string" and f.name:match("^[%w_%-%.]+$")
      and (f.content == nil or type(f.content) == "string")
  end
  if not name then
    if m == "GET" then
      local list = array()
      for _, f in ipairs(files) do list[#list + 1] = fileInfo(f) end
      return list
    elseif m == "POST" then
      if not valid(body) then return err(400, "file with a name (letters, digits, _ - .) expected") end
      if find(body.name) then return err(409, "File " .. body.name .. " already exists") end
      local f = { name = body.name, content = body.content or "", isMain = false,
        chunkname = "=" .. owner.name .. ":" .. body.name }
      table.insert(files, #files, f) -- before main: main is loaded last
      changed()
      return fileInfo(f), 201
    elseif m == "PUT" then
      if type(body) ~= "table" or #body == 0 then return err(400, "list of files expected") end
      for _, nf in ipairs(body) do
        if not valid(nf) or not find(nf.name) then return err(404, "File " .. tostring(type(nf) == "table" and nf.name) .. " not found") end
      end
      for _, nf in ipairs(body) do
        local f = find(nf.name)
        if nf.content then f.content = nf.content end
      end
      changed()
      return nil, 200
    end
    return err(501, "not emulated")
  end
  local f, i = find(name)
  if not f then return err(404, "File " .. name .. " not found") end
  if m == "GET" then
    local info = fileInfo(f)
    info.content = f.content
    return info
  elseif m == "PUT" then
    if type(body) ~= "table" or type(body.content) ~= "string" then return err(400, "content expected") end
    f.content = body.content
    changed()
    return nil, 200
  elseif m == "DELETE" then
    if f.isMain then return err(400, "the main file cannot be deleted") end
    table.remove(files, i)
    changed()
    return nil, 200
  end
  return err(501, "not emulated")
end

function QA.quickApp(m, seg, q, b, importQuickApp)
  if seg[2] == "availableTypes" then
    local list = array()
    for _, t in ipairs(S.deviceTypeNames()) do list[#list + 1] = { type = t } end
    return list
  end
  if (seg[2] == "import" or not seg[2]) and m == "POST" then
    if not importQuickApp then return err(501, "no QuickApp loader") end
    -- import takes the .fqa document; create takes {name, type,
    -- initialProperties, initialInterfaces} and an optional files list
    local doc = type(b) == "table" and (b.file or b) or b
    if not seg[2] and type(doc) == "table" and doc.files == nil then
      doc.files = array({ { name = "main", isMain = true, content = "" } })
    end
    local dev, status, msg = importQuickApp(doc, type(b) == "table" and (b.roomId or q.roomId) or q.roomId)
    if not dev then return err(status, msg) end
    return dev, 201
  end
  local id = num(seg[2] == "export" and seg[3] or seg[2])
  if not id then return err(400, "bad device id") end
  local owner = S.owners[id]
  if not owner or owner.id ~= id then return err(404, "QuickApp " .. id .. " not found") end
  if seg[2] == "export" and m == "GET" then return owner.fqa() end
  if seg[3] == "files" then return quickAppFiles(m, owner, seg[4], b) end
  return err(501, "not emulated")
end

return QA
