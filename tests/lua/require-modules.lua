-- User modules: next to the script, in the current directory, Debian's C modules.
print(require("lib.greeting").hello("module next to the script"))
local f = assert(io.open("cwdmod.lua", "w"))
f:write("return 'module in the current directory'")
f:close()
print((require("cwdmod")))
local lfs = require("lfs")
print("lfs", type(lfs.currentdir()), lfs.attributes("cwdmod.lua", "mode"))
os.remove("cwdmod.lua")  -- written into the caller's directory: leave nothing behind
local lpeg = require("lpeg")
print("lpeg", lpeg.match(lpeg.C(lpeg.R("az")^1), "abc123"))
local cjson = require("cjson")
print("cjson", cjson.encode({1, 2, 3}))
print("missing", pcall(require, "no_such_module_xyz") == false)
