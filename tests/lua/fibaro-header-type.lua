-- args: --fibaro
-- exit: 1
-- stderr: fibaro-header-type.lua:5: unknown device type 'com.fibaro.noSuchType'
-- An unknown --%%type is an error at start.
--%%type:com.fibaro.noSuchType
function QuickApp:onInit() print("must not run") end
