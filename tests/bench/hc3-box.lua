--%%name:BenchBox
--%%id:100
-- The stand-in box's device for tests/bench/hc3.sh.
function QuickApp:onInit() self:debug("bench box up") end
