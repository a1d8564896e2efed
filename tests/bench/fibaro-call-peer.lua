--%%name:Pong
--%%id:5901
-- The peer of fibaro-call.lua: answers ping with pong.
function QuickApp:ping(n) fibaro.call(5900, "pong", n) end
function QuickApp:onInit() end
