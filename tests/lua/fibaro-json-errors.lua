-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- env: TZ=UTC
-- exit: 1
-- stderr: plua: 3 QuickApp errors
-- A json error raised inside a QuickApp's callbacks (a timer, an HTTP
-- answer, a function that tail-calls json.decode) names the user's file and
-- line, not plua's: the line that called json.*, or for a tail call the line
-- that called the function.
--%%name:JsonErrors
--%%id:7340
local function parse(s) return json.decode(s) end
function QuickApp:onInit()
  setTimeout(function() local x = json.decode("{bad") end, 0)
  setTimeout(function() parse("[1,") end, 0)
  local s = net.HTTPServer()
  s:start("127.0.0.1", 0, function() return "x" end)
  net.HTTPClient():request("http://127.0.0.1:" .. s:port() .. "/", { success = function()
    s:stop()
    json.encode({ f = print })
  end })
  print(pcall(json.decode, "nope"))
end
