-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- env: TZ=UTC
-- Every chunk is named @<absolute path>, so a debugger's breakpoints map to
-- files: the main file, a --%%file file, a require'd module (found through
-- package.path's "./?.lua" in the working directory, and next to the
-- script). The runner strips the test directory; the temporary working
-- directory shows as CWD.
--%%name:Names
--%%file:fibaro-headers-lib.lua,lib
local cwd = _PY.abspath(".") .. "/"
local function short(s)
  local i = s:find(cwd, 1, true)
  return i and s:sub(1, i - 1) .. "CWD/" .. s:sub(i + #cwd) or s
end
local function where(f) return short(debug.getinfo(f, "S").source) end
_PY.writeFile("cwdmod.lua", "return function() return debug.getinfo(1, 'S').source end")
print("cwd module", short(require("cwdmod")()))
os.remove("cwdmod.lua")  -- written into the caller's directory: leave nothing behind
print("module", where(require("lib.greeting").hello))
function QuickApp:onInit()
  print("main", where(1))
  print("file", where(libFunction))
end
