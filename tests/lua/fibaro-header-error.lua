-- args: --fibaro
-- exit: 1
-- stderr: fibaro-header-error.lua:7: malformed var (expected --%%var:name=<Lua value>)
-- A malformed directive stops the run before any QuickApp starts, naming the line.
--%%name:Broken
--%%type:com.fibaro.binarySwitch
--%%var:no value here
function QuickApp:onInit() print("must not run") end
