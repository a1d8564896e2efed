-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- env: TZ=UTC
-- A --%%file of fibaro-headers.lua, loaded before its main file in the same
-- environment; run alone it is a QuickApp without onInit.
LIB_LOADED = "lib loaded"
function libFunction() return "from lib" end
print("lib runs first", type(QuickApp))
