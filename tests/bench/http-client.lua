-- http-client.lua: N sequential GETs with net.HTTPClient, each issued from
-- the previous one's success callback.   plua --noapi http-client.lua URL N
-- Prints "requests N seconds S rps R".
local url, n = arg[1], math.tointeger(tonumber(arg[2]))
local client = net.HTTPClient()
local started = _PY.millitime()
local done = 0

local function next_request()
  client:request(url, {
    success = function(r)
      if r.status ~= 200 then error("unexpected status " .. r.status) end
      done = done + 1
      if done < n then
        next_request()
      else
        local s = _PY.millitime() - started
        print(string.format("requests %d seconds %.3f rps %.0f", n, s, n / s))
      end
    end,
    error = function(e) error("request failed: " .. e) end,
  })
end

next_request()
