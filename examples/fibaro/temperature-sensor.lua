--%%name:Outdoor Temperature
--%%type:com.fibaro.temperatureSensor
--%%var:url="http://127.0.0.1:8080/temperature"
--%%var:interval=1000
--%%description:Polls a JSON API ({"temperature": 21.5}) and reports the value
-- Run: plua --fibaro examples/fibaro/temperature-sensor.lua
-- (the environment variable TEMPERATURE_URL, when set, replaces the url
-- variable: the tests serve the API on a free port)

function QuickApp:poll()
  self.http:request(self.url, {
    options = { method = "GET", timeout = 2000 },
    success = function(response)
      if response.status ~= 200 then
        return self:warning("HTTP status", response.status)
      end
      local ok, data = pcall(json.decode, response.data)
      if not ok or type(data.temperature) ~= "number" then
        return self:error("bad answer:", response.data)
      end
      self:updateProperty("value", data.temperature)
      self:debug(string.format("temperature %.1f °C", data.temperature))
    end,
    error = function(message) self:warning("request failed:", message) end,
  })
end

function QuickApp:onInit()
  self.url = os.getenv("TEMPERATURE_URL") or self:getVariable("url")
  self.http = net.HTTPClient({ timeout = 2000 })
  self:debug("polling", self.url)
  self:poll()
  setInterval(function() self:poll() end, tonumber(self:getVariable("interval")) or 60000)
end
