-- fibaro/userconfig.lua: the user's config table that --%%var values read as
-- `config` (--%%var:password=config.hc3_password): ~/.plua/config.lua, then
-- ./.plua/config.lua, each a Lua file returning a table. Keys of the second
-- replace those of the first, so a project can override the user's defaults;
-- a missing file counts as an empty table. Read once, on first use.

local M = {}

local cached

local function readOne(path, into)
  if not _PY.fileExist(path) then return end
  local chunk, err = loadfile(path, "t", setmetatable({}, { __index = _G }))
  if not chunk then error("config file " .. err, 0) end
  local ok, t = pcall(chunk)
  if not ok then error("config file " .. path .. ": " .. tostring(t), 0) end
  if type(t) ~= "table" then
    error("config file " .. path .. ": must return a table (return { key = value, ... }), got " .. type(t), 0)
  end
  for k, v in pairs(t) do into[k] = v end
end

-- The files, in the order they are read.
function M.paths()
  local home = _PY.config.homedir or os.getenv("HOME") or "."
  return { home .. "/.plua/config.lua", ".plua/config.lua" }
end

function M.get()
  if not cached then
    local t = {}
    local seen = {}
    for _, path in ipairs(M.paths()) do
      local key = _PY.fileExist(path) and _PY.abspath(path)
      if key and not seen[key] then seen[key] = true; readOne(path, t) end
    end
    cached = t
  end
  return cached
end

return M
