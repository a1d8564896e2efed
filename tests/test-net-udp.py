#!/usr/bin/env python3
"""net.UDPSocket against real peers: a socat UDP echo, a Python UDP echo (1000
datagrams) and Python senders/receivers, all on 127.0.0.1.
usage: test-net-udp.py PLUA"""
import os
import socket
import sys
import threading
import time

from netpeers import HOST, Checks, Reader, free_port


def python_udp_echo(stop):
    """A Python UDP echo on 127.0.0.1: each datagram goes back to its sender."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((HOST, 0))
    s.settimeout(0.2)

    def run():
        while not stop.is_set():
            try:
                data, peer = s.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            s.sendto(data, peer)
        s.close()

    threading.Thread(target=run, daemon=True).start()
    return s.getsockname()[1]


def test_socat(checks):
    port = free_port(socket.SOCK_DGRAM)
    checks.spawn(["timeout", "60", "socat", f"UDP-RECVFROM:{port},bind={HOST},fork", "EXEC:cat"])
    time.sleep(0.3)
    status, out, err, _ = checks.run("socat", r'''
local port = tonumber(arg[1])
local sock = net.UDPSocket({ timeout = 3000 })
print(tostring(sock))
-- right after construction: no "Not connected" race
sock:sendTo("ping\0\255", "127.0.0.1", port, {
  success = function(n) print("sent", n, tostring(sock):match("^UDPSocket 0%.0%.0%.0:%d+$") ~= nil) end,
  error = function(msg) print("send error", msg) end,
})
sock:receive({
  success = function(data, ip, from)
    print("received", data == "ping\0\255", ip, from == port)
    sock:close()
    print(tostring(sock))
  end,
  error = function(msg) print("receive error", msg) end,
})
''', port)
    lines = out.splitlines()
    checks.check("tostring of a fresh socket", lines[:1] == ["UDPSocket (not bound)"], f"{out!r} {err!r}")
    checks.check("sendTo right after construction works", "sent\t6\ttrue" in lines, out)
    checks.check("receive from a socat UDP echo: data, ip, port", "received\ttrue\t127.0.0.1\ttrue" in lines, out)
    checks.check("closed socket: tostring, run ends", "UDPSocket (closed)" in lines and status == 0, f"{status} {err!r}")


def test_thousand(checks):
    stop = threading.Event()
    port = python_udp_echo(stop)
    status, out, err, secs = checks.run("thousand", r'''
local port = tonumber(arg[1])
local sock = net.UDPSocket({ timeout = 3000 })
local N, WINDOW = 1000, 50
local seen, count, next_seq = {}, 0, 1
local function send_next()
  if next_seq > N then return end
  local payload = ("%d:"):format(next_seq) .. ("\0x"):rep(next_seq % 50)
  next_seq = next_seq + 1
  sock:sendTo(payload, "127.0.0.1", port, { error = function(m) print("send error", m) end })
end
local function receive()
  sock:receive({
    success = function(data)
      local seq = tonumber(data:match("^(%d+):"))
      if seq and not seen[seq] and data == ("%d:"):format(seq) .. ("\0x"):rep(seq % 50) then
        seen[seq] = true
        count = count + 1
      end
      if count == N then print("received", count) sock:close() return end
      send_next()
      receive()
    end,
    error = function(msg) print("lost after", count, msg) sock:close() end,
  })
end
for _ = 1, WINDOW do send_next() end
receive()
''', port, timeout=60)
    stop.set()
    checks.check("1000 datagrams round-trip, none lost", status == 0 and out == "received\t1000\n",
                 f"{status} {out!r} {err!r}")


def test_bind_receive(checks):
    proc = checks.start("bind", r'''
local sock = net.UDPSocket()
local bound = sock:bind("127.0.0.1", 0)
print("PORT", sock:port(), bound == "127.0.0.1:" .. sock:port(), tostring(sock) == "UDPSocket " .. bound)
local n = 0
local function receive()
  sock:receive({
    success = function(data, ip, port)
      n = n + 1
      print("got", n, #data, (data:gsub("%z", "\\0")), ip)
      sock:sendTo("ack:" .. data, ip, port)
      if n < 3 then receive() else sock:close() end
    end,
    error = function(msg) print("error", msg) end,
  })
end
receive()
''')
    reader = Reader(proc)
    first = reader.wait_for("PORT", timeout=10)
    if not checks.check("bind to 127.0.0.1 port 0: port() and tostring", first is not None
                        and first.endswith("\ttrue\ttrue"), repr(first)):
        proc.kill()
        return
    port = int(first.split("\t")[1])
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.bind((HOST, 0))
    sender.settimeout(5)
    acks = []
    for payload in (b"one", b"a\0b", b"x" * 60000):
        sender.sendto(payload, (HOST, port))
        try:
            data, _ = sender.recvfrom(65536)
            acks.append(data == b"ack:" + payload)
        except socket.timeout:
            acks.append(False)
    sender.close()
    status, out, err = reader.rest(timeout=10)
    lines = reader.lines + out.splitlines()
    checks.check("bind + receive datagrams from a Python sender (NUL bytes, 60000 bytes)",
                 "got\t1\t3\tone\t127.0.0.1" in lines and "got\t2\t3\ta\\0b\t127.0.0.1" in lines
                 and "got\t3\t60000\t" + "x" * 60000 + "\t127.0.0.1" in lines, f"{lines[:4]!r} {err!r}")
    checks.check("replies reach the sender's ip/port", acks == [True, True, True], repr(acks))
    checks.check("closing the last receiving socket ends the run", status == 0, f"{status} {err!r}")


def test_failures(checks):
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind((HOST, 0))
    busy = holder.getsockname()[1]
    bcast = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    bcast.bind(("127.255.255.255", 0))   # loopback broadcast: never leaves the host
    bcast.settimeout(5)
    bport = bcast.getsockname()[1]
    status, out, err, secs = checks.run("udpfail", r'''
local busy, bport = tonumber(arg[1]), tonumber(arg[2])
local t0 = _PY.millitime()
local a = net.UDPSocket()
print("in use", pcall(a.bind, a, "127.0.0.1", busy))
print("bad ip", pcall(a.bind, a, "not an ip", 0))

local b = net.UDPSocket({ timeout = 400 })
b:bind("127.0.0.1", 0)
b:receive({ success = function() print("data?!") end,
            error = function(msg)
              print("timeout", msg, string.format("%.1f", _PY.millitime() - t0))
              b:close()
              b:receive({ error = function(m) print("receive after close", m) end })
              b:sendTo("x", "127.0.0.1", busy, { error = function(m) print("send after close", m) end })
            end })

local c = net.UDPSocket()
c:sendTo("no", "127.255.255.255", bport, { success = function() print("no broadcast: sent?!") end,
                                           error = function(m) print("no broadcast", m) end })
local d = net.UDPSocket({ broadcast = true })
d:sendTo("yes", "127.255.255.255", bport, { success = function(n) print("broadcast", n) end,
                                            error = function(m) print("broadcast error", m) end })
local e = net.UDPSocket()
e:sendTo("x", "localhost", busy, { success = function(n) print("localhost", n) end })
local f = net.UDPSocket()
f:sendTo("x", "nosuchhost.invalid", busy, { error = function(m) print("dns", #m > 0) end })
''', busy, bport)
    try:
        got = bcast.recvfrom(100)[0]
    except socket.timeout:
        got = None
    try:
        local = holder.recvfrom(100)[0]
    except OSError:
        local = None
    holder.close()
    bcast.close()
    lines = out.splitlines()
    checks.check("bind to a port in use -> Lua error with the reason",
                 any(l.startswith("in use\tfalse\t") and "in use" in l.lower().split("\t", 2)[2] for l in lines), f"{out!r} {err!r}")
    checks.check("bind to a bad address -> Lua error", any(l.startswith("bad ip\tfalse\t") for l in lines), out)
    t = [l for l in lines if l.startswith("timeout\t")]
    checks.check("receive with opts.timeout -> 'timeout'", len(t) == 1 and t[0].split("\t")[1] == "timeout"
                 and 0.3 <= float(t[0].split("\t")[2]) <= 1.0, out)
    checks.check("receive / sendTo after close -> 'closed'",
                 "receive after close\tclosed" in lines and "send after close\tclosed" in lines, out)
    checks.check("broadcast address without opts.broadcast -> error", "no broadcast\tPermission denied" in lines, out)
    checks.check("opts.broadcast sends to a broadcast address", "broadcast\t3" in lines and got == b"yes", f"{out!r} {got!r}")
    checks.check("sendTo 'localhost'", "localhost\t1" in lines and local == b"x", f"{out!r} {local!r}")
    checks.check("sendTo an unresolvable host -> error", "dns\ttrue" in lines, out)
    checks.check("udp failures: run ends by itself, status 0", status == 0 and not err.strip(), f"{status} {err!r}")


def test_pending(checks):
    status, out, err, secs = checks.run("sendonly", r'''
local s = net.UDPSocket()
s:sendTo("x", "127.0.0.1", 9, { success = function() print("sent") end })
''')
    checks.check("a script that only sends ends by itself", status == 0 and out == "sent\n" and secs < 5,
                 f"{status} {out!r} {secs:.2f}")
    status, out, err, secs = checks.run("waiting", r'''
local s = net.UDPSocket()
s:bind("127.0.0.1", 0)
s:receive({ success = function() print("data?!") end })
print("waiting", _PY.getRuntimeState().sockets)
''', options=("--duration", "1"))
    checks.check("an outstanding receive keeps the run alive", status == 0 and out == "waiting\t1\n" and 0.9 <= secs < 5,
                 f"{status} {out!r} {secs:.2f}")


def test_dropped(checks):
    status, out, err, secs = checks.run("dropped", r'''
local weak = setmetatable({}, { __mode = "v" })
do
  local s = net.UDPSocket({ timeout = 300 })
  weak[1] = s
  s:bind("127.0.0.1", 0)
  s:receive({ error = function(msg)
    collectgarbage() collectgarbage()
    print(msg, weak[1] ~= nil)
  end })
end
collectgarbage() collectgarbage()
''')
    checks.check("an unreferenced socket with a receive outstanding is kept until it completes",
                 status == 0 and out == "timeout\ttrue\n", f"{status} {out!r} {err!r}")


def main():
    checks = Checks(os.path.abspath(sys.argv[1]))
    try:
        test_socat(checks)
        test_thousand(checks)
        test_bind_receive(checks)
        test_failures(checks)
        test_pending(checks)
        test_dropped(checks)
    finally:
        checks.finish()


if __name__ == "__main__":
    main()
