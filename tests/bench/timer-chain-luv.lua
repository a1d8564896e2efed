-- timer-chain-luv.lua: the reference for timer-chain.lua in lua5.4 + luv:
-- a chain of N one-shot libuv timers (new_timer():start(0, 0, cb)), each
-- callback closing its timer and starting the next; the last prints the
-- elapsed time.
--   lua5.4 timer-chain-luv.lua [N]    (default N = 200000)
local uv = require "luv"

local N = math.tointeger(tonumber(arg and arg[1])) or 200000

local n = 0
local start
local current

local function hop()
  current:close()   -- one-shot: release the handle, as plua frees its timer
  n = n + 1
  if n < N then
    current = uv.new_timer()
    current:start(0, 0, hop)
  else
    local dt = (uv.hrtime() - start) / 1e9
    print(string.format("RESULT bench=chain impl=luv hops=%d total_ms=%.3f us_per_hop=%.4f clock=monotonic",
                        N, dt * 1e3, dt * 1e6 / N))
  end
end

start = uv.hrtime()
current = uv.new_timer()
current:start(0, 0, hop)
uv.run()
