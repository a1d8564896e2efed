-- fibaro/json.lua: the `json` a QuickApp or a scene sees, with the HC3's
-- surface: json.encode(value), json.decode(text), json.util.InitArray(t) and
-- json.util.null. Built over plua's C json, whose defaults already follow the
-- rules the README lists under "json in QuickApps"; this module only fixes
-- the calling convention (the HC3 takes no options) and adds json.util.
-- Each QuickApp gets its own table, so a QuickApp that replaces json.encode
-- changes only its own.

local M = {}

local encode, decode, array, null = json.encode, json.decode, json.array, json.null

-- "file:line: " of the QuickApp code that called json.*: the first frame up
-- from `level` that is Lua code with a current line and not plua's own
-- (tail calls, C functions and the emulator's frames are skipped), so the
-- message names the user's line even from a callback or `return json.decode(s)`.
local function where(level)
  while true do
    local info = debug.getinfo(level, "Sl")
    if not info then return "" end
    if info.what ~= "C" and (info.currentline or 0) > 0 and not info.source:match("^[@=]?resource:") then
      return info.short_src .. ":" .. info.currentline .. ": "
    end
    level = level + 1
  end
end

local function rethrow(ok, result)
  if ok then return result end
  error(where(3) .. (tostring(result):gsub("^[^\n]-:%d+: ", "")), 0)
end

function M.new()
  local j = {}
  -- One argument each (the HC3 has no options); an error names the
  -- QuickApp's line, not this file's.
  function j.encode(value) return (rethrow(pcall(encode, value))) end
  function j.decode(text) return (rethrow(pcall(decode, text))) end
  -- The HC3's way to make an empty table encode as [] (returns the table).
  j.util = { InitArray = json.util.InitArray, null = null }
  j.null = null
  -- plua's names, kept for QuickApps written for the original emulator.
  j.array = array
  function j.encodeFormated(value) return encode(value, { indent = true }) end
  return j
end

return M
