-- _PY: config, file helpers, base64, time, runtime state, default hooks.
local c = _PY.config
print("platform", c.platform, c.fileseparator, c.pathseparator)
print("versions", c.lua_version, type(c.plua_version), c.plua_version:match("^%d+%.%d+") ~= nil)
print("tempdir is the real one", c.tempdir == (os.getenv("TMPDIR") or "/tmp"))
print("cwd exists", _PY.fileExist(c.cwd), c.homedir ~= nil)
print("runtime_config", type(c.runtime_config), c.runtime_config.debug, c.runtime_config.source_name:match("[^/]+$"))

local bytes = "bin\0ary\255\254data"
_PY.writeFile("f.bin", bytes)
print("binary-safe file", _PY.readFile("f.bin") == bytes)
print("fileExist", _PY.fileExist("f.bin"), _PY.fileExist("missing"), _PY.fileExist(nil))
_PY.writeFile("a.txt", "a")
local names = _PY.listdir(".")
print("listdir", table.concat(names, ","))
print("listdir error", _PY.listdir("no-such-dir"))
print("readFile error", pcall(_PY.readFile, "missing") == false)

print("base64", _PY.base64_encode("hello"), _PY.base64_decode("aGVsbG8="))
print("base64 binary", _PY.base64_decode(_PY.base64_encode(bytes)) == bytes)
print("millitime", math.abs(_PY.millitime() - os.time()) < 2, math.type(_PY.millitime()))

print("fibaro hook", _PY.fibaro_api_hook("GET", "/api/devices", ""))
print("aliases", _PY.setTimeout == setTimeout, _PY.clearTimeout == clearTimeout)
print("isRunning unset", _PY.isRunning)
setTimeout(function() end, 10)
local s = _PY.getRuntimeState()
print("state", s.active_timers, s.pending, s.sockets, s.servers)
print("getcwd", _PY.getcwd() == c.cwd)
