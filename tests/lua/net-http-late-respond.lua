-- A handler answers after its client gave up and the server stopped:
-- request:respond returns false, sends nothing and logs nothing.
-- max-seconds: 10
-- no-stderr

local server = net.HTTPServer()
local late = {}
server:start("127.0.0.1", 0, function(_, _, _, request)
  late[#late + 1] = request
  return   -- answered later, by the timer below
end)

local client = net.HTTPClient({ timeout = 100 })
client:request("http://127.0.0.1:" .. server:port() .. "/slow", {
  success = function(r) print("unexpected answer", r.status) end,
  error = function(e)
    print("client gave up:", e)
    setTimeout(function()
      print("stop", server:stop())
      print("respond after the stop:", late[1]:respond("too late", 200))
      print("respond twice:", pcall(late[1].respond, late[1], "again"))
    end, 100)
  end,
})
