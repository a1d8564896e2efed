-- A callbacks argument that is not a table is an error that names the
-- user's own line, for TCP and UDP alike.
local tcp = net.TCPSocket()
local ok, err = pcall(function() tcp:read("nope") end)
print(ok, (err:gsub("^.*/", "")))
local udp = net.UDPSocket()
ok, err = pcall(function() udp:receive(42) end)
print(ok, (err:gsub("^.*/", "")))
udp:close()
tcp:close()
