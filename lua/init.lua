-- init.lua: the Lua half of the runtime's start-up, bundled in the binary.
-- The C side has already installed print, the timers, json, os.getenv and the
-- C helpers of _PY; this file adds the hooks and their defaults.

local PY = _PY

-- Aliases kept from the original plua, where the timers lived under _PY.
PY.setTimeout = setTimeout
PY.clearTimeout = clearTimeout
PY.setInterval = setInterval
PY.clearInterval = clearInterval
PY.sleep = sleep

-- json.util as the HC3 has it, for scripts shared with QuickApps:
-- InitArray(t) marks t to encode as an array even when empty (returns t).
json.util = {
  InitArray = function(t)
    if type(t) ~= "table" then error("json.util.InitArray: table expected, got " .. type(t), 2) end
    return json.array(t)
  end,
  null = json.null,
}

-- HC3 REST calls (/api/...) arrive here: method, path with query string, body
-- as JSON text, and the request table {route, params, query, headers,
-- unknown}. Returns data, status[, headers]. The Fibaro emulator replaces
-- this. Default: "no emulator", nil with 503 (the server answers
-- {"error": "..."}).
function PY.fibaro_api_hook(method, path, data, request) -- luacheck: no unused args
  return nil, 503
end

-- The web UI's QuickApps panel asks these; the emulator replaces them.
function PY.get_quickapps() return {} end
function PY.get_quickapp(id) return nil end -- luacheck: no unused args

-- The environment that code typed at the REPL, sent to /plua/execute or to
-- D-Bus Execute runs in: nil means the global one. target is nil (the
-- default) or the text after `:qa` / the "qa" field; returns env, or nil and
-- a message. The emulator replaces it (a QuickApp's environment).
function PY.code_env(target)
  if target ~= nil then return nil, "no QuickApp " .. target .. " (not running under --fibaro)" end
  return nil
end

-- The terminal REPL shows a table result with this: nested (at most `depth`
-- levels, 4 by default), keys sorted (numbers first), cycles marked, a short
-- table on one line. A table with a __tostring metamethod shows that.
local function prettyKey(k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") then return k end
  return "[" .. (type(k) == "string" and string.format("%q", k) or tostring(k)) .. "]"
end

local function keyBefore(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then
    if ta == "number" or tb == "number" then return ta == "number" end
    return ta < tb
  end
  if ta == "number" or ta == "string" then return a < b end
  return tostring(a) < tostring(b)
end

function PY.pretty(value, depth)
  depth = depth or 4
  local seen = {}
  local function walk(v, indent, level)
    if type(v) == "string" then return (string.format("%q", v):gsub("\\\n", "\\n")) end
    if type(v) ~= "table" then return tostring(v) end
    local mt = getmetatable(v)
    if mt and mt.__tostring then return tostring(v) end
    if seen[v] then return "(cycle)" end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    if #keys == 0 then return "{}" end
    if level >= depth then return "{...}" end
    seen[v] = true
    table.sort(keys, keyBefore)
    local n, parts, width = #v, {}, 0
    for i, k in ipairs(keys) do
      local item = walk(v[k], indent .. "  ", level + 1)
      if not (math.type(k) == "integer" and k >= 1 and k <= n) then item = prettyKey(k) .. " = " .. item end
      parts[i] = item
      width = width + #item + 2
    end
    seen[v] = nil
    local flat = table.concat(parts, ", ")
    if width + #indent < 72 and not flat:find("\n") then return "{ " .. flat .. " }" end
    return "{\n" .. indent .. "  " .. table.concat(parts, ",\n" .. indent .. "  ") .. "\n" .. indent .. "}"
  end
  return walk(value, "", 0)
end

-- Runs the main script. Replaceable (by a -e fragment, or by the emulator,
-- which preprocesses QuickApp headers): it is looked up after the fragments ran.
function PY.main_file_hook(filename)
  local chunk, err
  if filename == "-" then
    chunk, err = load(io.read("a"), "=stdin")   -- `plua -`, as lua5.4
  else
    chunk, err = loadfile(filename)
  end
  if not chunk then error(err, 0) end
  local args = arg or {}
  return chunk(table.unpack(args, 1, #args))
end

-- LUA_INIT_5_4, else LUA_INIT, runs before the fragments and the script,
-- as lua5.4 does: "@file" runs the file, anything else is Lua code.
local function run_lua_init()
  local name, init = "LUA_INIT_5_4", os.getenv("LUA_INIT_5_4")
  if init == nil then name, init = "LUA_INIT", os.getenv("LUA_INIT") end
  if init == nil then return end
  local chunk, err
  if init:sub(1, 1) == "@" then
    chunk, err = loadfile(init:sub(2))
  else
    chunk, err = load(init, "=" .. name)
  end
  if not chunk then error(err, 0) end
  chunk()
end

-- The main sequence: each -e fragment as its own chunk (globals persist,
-- locals do not), then the script. It runs in one coroutine, so a fragment
-- that sleeps delays what follows it, in command-line order.
function PY._run_main(fragments, script)
  -- --fibaro: the QuickApp emulator replaces the hooks before anything runs.
  local rc = PY.config and PY.config.runtime_config
  if rc and rc.fibaro then require("fibaro") end
  run_lua_init()
  for _, code in ipairs(fragments) do
    local chunk, err = load(code, "=(command line)")
    if not chunk then error(err, 0) end
    chunk()
  end
  if script == "-" then
    PY.main_file_hook(script)
  elseif script then
    -- Every chunk is named @<absolute path> (the script, its modules, the
    -- QuickApp files), so a debugger's breakpoints map to files.
    script = PY.abspath(script)
    local cwd = PY.abspath(".")
    package.path = (";" .. package.path):gsub(";%./", function() return ";" .. cwd .. "/" end):sub(2)
    -- User modules next to the script come first, then the usual paths.
    local dir = script:match("^(.*)/[^/]*$")
    package.path = dir .. "/?.lua;" .. dir .. "/?/init.lua;" .. package.path
    PY.main_file_hook(script)
  end
end

-- The global `net` loads lua/net*.lua on first use: a script that never
-- touches the network does not pay for it at start-up.
net = setmetatable({}, {
  __index = function(proxy, key)
    local module = require("net")
    setmetatable(proxy, nil)
    for name, value in pairs(module) do rawset(proxy, name, value) end
    return module[key]
  end,
})
