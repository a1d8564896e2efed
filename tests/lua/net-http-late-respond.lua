-- A handler answers after its client gave up and the server stopped:
-- request:respond returns false, sends nothing and logs nothing.
-- The check runs once both events happened (the server holds the request
-- and the client gave up), in whichever order a loaded machine delivers them;
-- the client's timeout is long enough for the request to reach the server.
-- max-seconds: 10
-- no-stderr

local server = net.HTTPServer()
local late, gave_up = {}, false

local function check_late_respond()
  if not gave_up or late[1] == nil then return end
  print("stop", server:stop())
  print("respond after the stop:", late[1]:respond("too late", 200))
  print("respond twice:", pcall(late[1].respond, late[1], "again"))
end

server:start("127.0.0.1", 0, function(_, _, _, request)
  late[#late + 1] = request
  check_late_respond()
  return   -- answered later, by check_late_respond
end)

local client = net.HTTPClient({ timeout = 1000 })
client:request("http://127.0.0.1:" .. server:port() .. "/slow", {
  success = function(r) print("unexpected answer", r.status) end,
  error = function(e)
    print("client gave up:", e)
    gave_up = true
    check_late_respond()
  end,
})
