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

-- Runs the main script. Replaceable (by a -e fragment, or by the emulator,
-- which preprocesses QuickApp headers): it is looked up after the fragments ran.
function PY.main_file_hook(filename)
  local chunk, err = loadfile(filename)
  if not chunk then error(err, 0) end
  local args = arg or {}
  return chunk(table.unpack(args, 1, #args))
end

-- The main sequence: each -e fragment as its own chunk (globals persist,
-- locals do not), then the script. It runs in one coroutine, so a fragment
-- that sleeps delays what follows it, in command-line order.
function PY._run_main(fragments, script)
  -- --fibaro: the QuickApp emulator replaces the hooks before anything runs.
  local rc = PY.config and PY.config.runtime_config
  if rc and rc.fibaro then require("fibaro") end
  for _, code in ipairs(fragments) do
    local chunk, err = load(code, "=(command line)")
    if not chunk then error(err, 0) end
    chunk()
  end
  if script then
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
