#!/usr/bin/env python3
"""The blocking LuaSocket-compatible `socket` module against Python TCP servers
(line/"*a"/n receives, send(data, i, j), settimeout, gettime, sleep).
usage: test-net-sync.py PLUA"""
import os
import sys

from netpeers import Checks, free_port, scripted_server


def test_receive(checks):
    port, _, _ = scripted_server([("send", b"hello\r\nwor\r\x00ld\nno end"), ("sleep", 0.2),
                                  ("send", b" yet\n12345"), ("sleep", 0.2), ("send", b"67890tail"), ("close",)])
    status, out, err, _ = checks.run("receive", r'''
local socket = require("socket")
local c = socket.tcp()
print(tostring(c))
print("connect", c:connect("127.0.0.1", tonumber(arg[1])))
print(tostring(c) == "tcp{client}: 127.0.0.1:" .. arg[1])
local function show(...)
  local t = table.pack(...)
  for i = 1, t.n do if type(t[i]) == "string" then t[i] = (t[i]:gsub("%z", "\\0"):gsub("\r", "\\r")) end end
  print(table.unpack(t, 1, t.n))
end
show("*l", c:receive("*l"))
show("l", c:receive("l"))
show("*l", c:receive())
show("n", c:receive(7))
show("prefix", c:receive(3, ">>"))
show("*a", c:receive("*a"))
show("after", c:receive("*l"))
c:close()
print(tostring(c), c:receive("*l"))
''', port)
    lines = out.splitlines()
    checks.check("socket.tcp(): tostring, connect returns 1", lines[:3] == ["tcp{master}", "connect\t1", "true"],
                 f"{out!r} {err!r}")
    checks.check('receive "*l": line without CR LF', "*l\thello" in lines, out)
    checks.check('receive "l": CR inside a line kept, NUL bytes', "l\twor\\r\\0ld" in lines, out)
    checks.check("receive default pattern is a line, across packets", "*l\tno end yet" in lines, out)
    checks.check("receive(n): exactly n bytes across packets", "n\t1234567" in lines, out)
    checks.check("receive(n, prefix)", "prefix\t>>890" in lines, out)
    checks.check('receive "*a": everything until the peer closes', "*a\ttail" in lines, out)
    checks.check("receive after the end: nil, 'closed'", "after\tnil\tclosed\t" in lines, out)
    checks.check("closed object: tostring, receive -> nil, 'closed'", "tcp{closed}\tnil\tclosed" in lines and status == 0,
                 f"{status} {out!r}")


def test_send(checks):
    port, received, thread = scripted_server([("recvall",)])
    status, out, err, _ = checks.run("send", r'''
local socket = require("socket")
local c = assert(socket.connect("127.0.0.1", tonumber(arg[1])))
print("i..j", c:send("0123456789", 3, 6))
print("all", c:send("abc"))
print("negative i", c:send("uvwxyz", -2))
print("empty", c:send("abc", 3, 2))
local big = ("\0z"):rep(300000)
print("big", c:send(big))
c:close()
print("closed", c:send("x"))
''', port)
    thread.join(timeout=10)
    data = b"".join(received)
    lines = out.splitlines()
    checks.check("send(data, i, j) returns the last index sent", "i..j\t6" in lines and "all\t3" in lines
                 and "negative i\t6" in lines and "empty\t2" in lines, f"{out!r} {err!r}")
    checks.check("send: the peer got exactly data[i..j] (600 KB with NUL bytes too)",
                 data == b"2345abcyz" + b"\0z" * 300000 and "big\t600000" in lines, repr(data[:20]))
    checks.check("send on a closed socket: nil, 'closed'", "closed\tnil\tclosed" in lines and status == 0, out)


def test_timeout(checks):
    port, _, _ = scripted_server([("send", b"part"), ("sleep", 3), ("close",)])
    refused = free_port()
    status, out, err, _ = checks.run("timeout", r'''
local socket = require("socket")
local c = socket.tcp()
print("settimeout", c:settimeout(0.5))
assert(c:connect("127.0.0.1", tonumber(arg[1])))
local t = socket.gettime()
local r = table.pack(c:receive("*l"))
print("line", r[1], r[2], r[3], string.format("%.2f", socket.gettime() - t))
t = socket.gettime()
r = table.pack(c:receive(10))
print("n", r[1], r[2], r[3] == "", string.format("%.2f", socket.gettime() - t))
c:settimeout(0)
t = socket.gettime()
r = table.pack(c:receive("*a"))
print("zero", r[1], r[2], string.format("%.2f", socket.gettime() - t))
c:settimeout(nil)
c:close()
print("refused", socket.tcp():connect("127.0.0.1", tonumber(arg[2])))
''', port, refused)
    lines = out.splitlines()
    line = next((l.split("\t") for l in lines if l.startswith("line\t")), None)
    checks.check("settimeout returns 1", "settimeout\t1" in lines, f"{out!r} {err!r}")
    checks.check("settimeout honoured: '*l' on a silent server -> nil, 'timeout', partial",
                 line is not None and line[1:4] == ["nil", "timeout", "part"] and 0.45 <= float(line[4]) <= 1.0,
                 repr(line))
    n = next((l.split("\t") for l in lines if l.startswith("n\t")), None)
    checks.check("receive(n) times out too", n is not None and n[1:4] == ["nil", "timeout", "true"]
                 and 0.45 <= float(n[4]) <= 1.0, repr(n))
    z = next((l.split("\t") for l in lines if l.startswith("zero\t")), None)
    checks.check("settimeout(0) never waits", z is not None and z[1:3] == ["nil", "timeout"] and float(z[3]) < 0.2, repr(z))
    checks.check("connect refused -> nil, 'connection refused'", "refused\tnil\tconnection refused" in lines
                 and status == 0, out)


def test_time(checks):
    status, out, err, _ = checks.run("time", r'''
local socket = require("socket")
local now = socket.gettime()
print("gettime", math.type(now), math.abs(now - os.time()) < 2)
local fired = false
setTimeout(function() fired = true end, 0)
local t = socket.gettime()
socket.sleep(0.3)
local slept = socket.gettime() - t
print("sleep", slept >= 0.29 and slept < 1, fired)
setTimeout(function() print("timer after sleep", fired) end, 0)
''')
    lines = out.splitlines()
    checks.check("socket.gettime() is float seconds since the epoch", "gettime\tfloat\ttrue" in lines, f"{out!r} {err!r}")
    checks.check("socket.sleep blocks the loop (a due timer waits)", "sleep\ttrue\tfalse" in lines
                 and "timer after sleep\ttrue" in lines and status == 0, out)


def main():
    checks = Checks(os.path.abspath(sys.argv[1]))
    try:
        test_receive(checks)
        test_send(checks)
        test_timeout(checks)
        test_time(checks)
    finally:
        checks.finish()


if __name__ == "__main__":
    main()
