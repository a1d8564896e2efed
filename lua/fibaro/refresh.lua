-- fibaro/refresh.lua: what feeds the HC3 SDK's RefreshStateSubscriber. The
-- box's class polls /api/refreshStates and hands each new event to the
-- subscriptions whose filter accepts it; here the events come from one
-- place, M.feed(event), called by the store for each event it reports (and,
-- once the emulator talks to a real box, for the box's events).

local M = {}

local running = {}   -- subscriber -> true, while it runs

-- A subscriber: {deliver = fn(event), alive = fn() -> boolean}.
function M.start(sub) running[sub] = true end
function M.stop(sub) running[sub] = nil end
function M.isRunning(sub) return running[sub] == true end

-- One event ({type, created, data}) to every running subscriber; one whose
-- QuickApp is gone (restarted or deleted) is dropped.
function M.feed(event)
  if next(running) == nil then return end
  for sub in pairs(running) do
    if sub.alive() then sub.deliver(event) else running[sub] = nil end
  end
end

return M
