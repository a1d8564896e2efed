#!/usr/bin/env python3
"""net.TCPSocket and net.TCPServer against real peers: socat (echo server and
client), scripted Python servers (silent, closing mid-read, split packets) and
Python clients (20 at once); net.TCPEchoServer with a Python and a socat client. usage: test-net-tcp.py PLUA"""
import os
import socket
import subprocess
import sys
import time

from netpeers import HOST, Checks, Reader, free_port, scripted_server, wait_listening


def socat_echo(checks):
    port = free_port()
    checks.spawn(["timeout", "120", "socat", f"TCP-LISTEN:{port},bind={HOST},reuseaddr,fork", "EXEC:cat"])
    if not wait_listening(port):
        checks.check("socat echo server starts", False, f"port {port}")
    return port


def socat_client(port, data):
    """What socat, as a client sending data, gets back (b"[timeout]" if it hangs)."""
    try:
        res = subprocess.run(["socat", "-t", "2", "-", f"TCP:{HOST}:{port}"], input=data,
                             capture_output=True, timeout=10)
        return res.stdout
    except subprocess.TimeoutExpired:
        return b"[timeout]"


def test_echo(checks):
    port = socat_echo(checks)
    status, out, err, _ = checks.run("echo", r'''
local port = tonumber(arg[1])
local all = {}
for i = 0, 255 do all[#all + 1] = string.char(i) end
local binary = table.concat(all):rep(4)               -- 1 KiB, NUL bytes included
local big = ("\0\1\2plua\255"):rep(131072) .. "x"      -- 1 MiB + 1
assert(#big == 1048577)
local sock = net.TCPSocket({ timeout = 5000 })
print(tostring(sock))

local function read_exactly(n, k)
  local parts, got = {}, 0
  local function more()
    sock:read({
      success = function(data)
        parts[#parts + 1] = data
        got = got + #data
        if got < n then more() else k(table.concat(parts)) end
      end,
      error = function(msg) print("read error", msg) sock:close() end,
    })
  end
  more()
end

sock:connect("127.0.0.1", port, {
  success = function(...)
    print("connected", select("#", ...), tostring(sock) == "TCPSocket 127.0.0.1:" .. port .. " (connected)")
    sock:write(binary, { success = function(n) print("wrote binary", n) end })
    read_exactly(#binary, function(data)
      print("binary round trip", data == binary)
      sock:send(big, { success = function(n) print("wrote big", n) end,
                       error = function(msg) print("big write error", msg) end })
      read_exactly(#big, function(back)
        print("1 MiB round trip", back == big)
        sock:close()
        print(tostring(sock))
      end)
    end)
  end,
  error = function(msg) print("connect error", msg) end,
})
''', port)
    lines = out.splitlines()
    checks.check("echo: script ran", status == 0, f"status {status}, stderr {err!r}")
    checks.check("tostring before connect", "TCPSocket (not connected)" in lines, out)
    checks.check("connect success() without arguments, tostring connected", "connected\t0\ttrue" in lines, out)
    checks.check("binary data with NUL bytes round trip (socat)", "binary round trip\ttrue" in lines, out)
    checks.check("write success gets the byte count", "wrote binary\t1024" in lines and "wrote big\t1048577" in lines, out)
    checks.check("1 MiB write and read back (socat)", "1 MiB round trip\ttrue" in lines, out)
    checks.check("tostring after close", f"TCPSocket 127.0.0.1:{port} (closed)" in lines, out)

    # readSize: read() delivers at most opts.readSize bytes
    status, out, err, _ = checks.run("readsize", r'''
local sock = net.TCPSocket({ readSize = 10 })
sock:connect("127.0.0.1", tonumber(arg[1]), { success = function()
  sock:write(("z"):rep(100))
  local sizes, total = {}, 0
  local function more()
    sock:read({ success = function(d)
      sizes[#sizes + 1] = #d
      total = total + #d
      if total < 100 then more() else print("max", math.max(table.unpack(sizes)), total) sock:close() end
    end })
  end
  more()
end })
''', port)
    checks.check("opts.readSize caps each read", "max\t10\t100" in out.splitlines(), f"{out!r} {err!r}")


def test_read_until(checks):
    port, _, _ = scripted_server([("send", b"first\r"), ("sleep", 0.3), ("send", b"\nsecond\r\nthi"),
                               ("sleep", 0.3), ("send", b"rd\r\nrest"), ("sleep", 0.3), ("close",)])
    status, out, err, _ = checks.run("until", r'''
local sock = net.TCPSocket({ timeout = 5000 })
local function line()
  sock:readUntil("\r\n", {
    success = function(data) print("line", data) line() end,
    error = function(msg)
      print("error", msg)
      sock:read({ success = function(d) print("left", d) end })
      sock:read({ error = function(m) print("then", m) sock:close() end })
    end,
  })
end
sock:connect("127.0.0.1", tonumber(arg[1]), { success = line })
''', port)
    lines = out.splitlines()
    checks.check("readUntil: delimiter split across packets, delimiter dropped",
                 lines[:3] == ["line\tfirst", "line\tsecond", "line\tthird"], f"{out!r} {err!r}")
    checks.check("readUntil at end of stream: error 'closed'", "error\tclosed" in lines, out)
    checks.check("bytes after the last delimiter stay for read()", "left\trest" in lines, out)
    checks.check("read after the end: 'closed', never empty data", "then\tclosed" in lines and status == 0, out)


def test_failures(checks):
    refused = free_port()
    silent, _, _ = scripted_server([("sleep", 0.8), ("send", b"late"), ("sleep", 2), ("close",)])
    midread, _, _ = scripted_server([("sleep", 0.3), ("send", b"partial"), ("sleep", 0.3), ("close",)])
    peerclose, _, _ = scripted_server([("close",)])
    status, out, err, secs = checks.run("failures", r'''
local refused, silent, midread, peerclose = tonumber(arg[1]), tonumber(arg[2]), tonumber(arg[3]), tonumber(arg[4])
local t0 = _PY.millitime()

local a = net.TCPSocket()
a:connect("127.0.0.1", refused, { success = function() print("refused: connected?!") end,
                                  error = function(msg) print("refused", msg) end })

local b = net.TCPSocket({ timeout = 500 })
b:connect("127.0.0.1", silent, { success = function()
  b:read({ success = function(d) print("silent: data?!", d) end,
           error = function(msg)
             print("silent", msg, string.format("%.1f", _PY.millitime() - t0))
             b:read({ success = function(d) print("after timeout", d) b:close() end,
                      error = function(m) print("after timeout error", m) b:close() end })
           end })
end, error = function(msg) print("silent connect", msg) end })

local c = net.TCPSocket()
c:connect("127.0.0.1", midread, { success = function()
  c:read({ success = function(d)
    print("midread data", d)
    c:read({ success = function(x) print("midread: data?!", x) end,
             error = function(msg) print("midread", msg) c:close() end })
  end })
end })

local d = net.TCPSocket()
d:write("x", { error = function(msg) print("never connected", msg) end })
d:read({ error = function(msg) print("never connected read", msg) end })

local e = net.TCPSocket()
e:connect("127.0.0.1", peerclose, { success = function()
  e:read({ error = function(msg)
    print("peer closed", msg)
    local n = 0
    local function again()
      n = n + 1
      e:write(("y"):rep(1000), {
        success = function() if n < 50 then setTimeout(again, 20) else print("writes never failed") e:close() end end,
        error = function(m) print("write to closed peer", m) e:close()
          e:write("z", { error = function(m2) print("write after close", m2) end })
        end })
    end
    again()
  end })
end })

local f = net.TCPSocket({ timeout = 3000 })
f:connect("nosuchhost.invalid", 80, { success = function() print("dns: connected?!") end,
                                        error = function(msg) print("dns error", #msg > 0, msg) end })
''', refused, silent, midread, peerclose)
    lines = out.splitlines()
    checks.check("connection refused -> error 'Connection refused'", "refused\tConnection refused" in lines, f"{out!r} {err!r}")
    timeouts = [l for l in lines if l.startswith("silent\t")]
    checks.check("read timeout against a silent server -> 'timeout' after opts.timeout",
                 len(timeouts) == 1 and timeouts[0].split("\t")[1] == "timeout"
                 and 0.4 <= float(timeouts[0].split("\t")[2]) <= 1.1, out)
    checks.check("socket usable after a read timeout", "after timeout\tlate" in lines, out)
    checks.check("peer closing mid-read -> data, then 'closed'",
                 "midread data\tpartial" in lines and "midread\tclosed" in lines, out)
    checks.check("write/read on a never-connected socket -> 'Not connected'",
                 "never connected\tNot connected" in lines and "never connected read\tNot connected" in lines, out)
    checks.check("write to a peer that closed -> error 'closed'", "write to closed peer\tclosed" in lines, out)
    checks.check("write after close() -> error 'closed'", "write after close\tclosed" in lines, out)
    checks.check("unresolvable host -> error callback", any(l.startswith("dns error\ttrue") for l in lines), out)
    checks.check("failures: run goes on and ends by itself, status 0", status == 0 and not err.strip(), f"{status} {err!r}")


def test_server(checks):
    proc = checks.start("server", r'''
local server = net.TCPServer()
local clients, open = 0, 0
server:start("127.0.0.1", 0, function(client, ip, port)
  clients = clients + 1
  open = open + 1
  local function serve()
    client:readUntil("\n", {
      success = function(line)
        if line == "stop" then
          server:stop()
          print("stopped", tostring(server), _PY.getRuntimeState().servers)
          client:close()
          open = open - 1
          return
        end
        client:write("echo:" .. line .. "\n")
        serve()
      end,
      error = function(msg) client:close() open = open - 1 end,
    })
  end
  serve()
end)
print("PORT", server:port(), tostring(server) == "TCPServer 127.0.0.1:" .. server:port() .. " (listening)",
      _PY.getRuntimeState().servers)
''')
    reader = Reader(proc)
    first = reader.wait_for("PORT", timeout=10)
    if not checks.check("server: started on port 0, port() known", first is not None and first.endswith("\ttrue\t1"),
                        repr(first)):
        proc.kill()
        return
    port = int(first.split("\t")[1])
    start = time.monotonic()

    # 20 clients connected at the same time, each answered while all are open
    socks = [socket.create_connection((HOST, port), timeout=10) for _ in range(20)]
    for i, s in enumerate(socks):
        s.sendall(f"client{i}\n".encode())
    answers = []
    for i, s in reversed(list(enumerate(socks))):
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(100)
            if not chunk:
                break
            data += chunk
        answers.append((i, data))
    ok = len(answers) == 20 and all(data == f"echo:client{i}\n".encode() for i, data in answers)
    checks.check("TCPServer serves 20 clients at once", ok, repr(answers[:3]))
    for s in socks:
        s.close()

    # an independent client: socat
    socat_out = socat_client(port, b"from socat\n")
    checks.check("TCPServer answers a socat client", socat_out == b"echo:from socat\n", repr(socat_out))

    time.sleep(0.3)
    checks.check("server keeps the run alive", proc.poll() is None)
    with socket.create_connection((HOST, port), timeout=5) as s:
        s.sendall(b"stop\n")
    status, out, err = reader.rest(timeout=10)
    checks.check("server:stop() releases it: run ends by itself",
                 status == 0 and "stopped\tTCPServer (stopped)\t0" in out, f"{status} {out!r} {err!r}")
    try:
        socket.create_connection((HOST, port), timeout=1).close()
        refused = False
    except OSError:
        refused = True
    checks.check("stopped server no longer listens", refused)


def test_echo_server(checks):
    proc = checks.start("echoserver", r'''
local server = net.TCPEchoServer("127.0.0.1", 0, true)
print("PORT", server:port())
setTimeout(function() server:stop() end, tonumber(arg[1]))
''', 4000)
    reader = Reader(proc)
    first = reader.wait_for("PORT", timeout=10)
    if not checks.check("TCPEchoServer: a started server on port 0", first is not None, repr(first)):
        proc.kill()
        return
    port = int(first.split("\t")[1])
    payload = bytes(range(256)) * 64                     # 16 KiB, every byte value
    got = b""
    with socket.create_connection((HOST, port), timeout=5) as s:
        s.sendall(payload)
        while len(got) < len(payload):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    checks.check("TCPEchoServer writes back exactly the bytes a client sends", got == payload,
                 f"{len(got)} bytes back")
    socat_out = socat_client(port, b"line one\nline two\n")
    checks.check("TCPEchoServer answers a socat client", socat_out == b"line one\nline two\n", repr(socat_out))
    status, out, err = reader.rest(timeout=10)
    checks.check("TCPEchoServer: debug lines name the port; stop() ends the run",
                 status == 0 and f"[EchTCP] {port}\tconnected\t127.0.0.1" in out
                 and f"[EchTCP] {port}\tdisconnected" in out, f"{status} {out[-300:]!r} {err!r}")


def test_bind_errors(checks):
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind((HOST, 0))
    holder.listen(1)
    busy = holder.getsockname()[1]
    status, out, err, _ = checks.run("bind", r'''
local busy = tonumber(arg[1])
local s = net.TCPServer()
local ok, msg = pcall(s.start, s, "127.0.0.1", busy, function() end)
print("in use", ok, msg)
ok, msg = pcall(s.start, s, "192.0.2.1", 0, function() end)
print("foreign", ok, msg)
ok, msg = pcall(s.start, s, "not an address", 0, function() end)
print("bad", ok, msg)
print(tostring(s), _PY.getRuntimeState().servers)
''', busy)
    holder.close()
    lines = out.splitlines()
    in_use = next((l for l in lines if l.startswith("in use\t")), "")
    checks.check("port already in use -> Lua error naming the address and reason",
                 in_use.startswith("in use\tfalse\t") and f"127.0.0.1:{busy}" in in_use
                 and "in use" in in_use.split("\t", 2)[2].lower(), f"{out!r} {err!r}")
    foreign = next((l for l in lines if l.startswith("foreign\t")), "")
    checks.check("an address not on this host -> error, no fallback",
                 foreign.startswith("foreign\tfalse\t") and "192.0.2.1" in foreign, out)
    bad = next((l for l in lines if l.startswith("bad\t")), "")
    checks.check("a bad address -> error", bad.startswith("bad\tfalse\t") and "not an address" in bad, out)
    checks.check("failed start holds nothing; run ends", "TCPServer (stopped)\t0" in lines and status == 0, f"{status} {out!r}")


def test_lifetime(checks):
    status, out, err, secs = checks.run("alive", r'''
local s = net.TCPServer()
s:start("127.0.0.1", 0, function() end)
setTimeout(function() s:stop() print("stopped") end, 1000)
''')
    checks.check("a started server keeps the run alive until stop()", status == 0 and out == "stopped\n"
                 and 0.9 <= secs < 5, f"{status} {out!r} {secs:.2f}")
    status, out, err, secs = checks.run("forever", r'''
net.TCPServer():start("127.0.0.1", 0, function() end)
print("started")
''', options=("--duration", "1"))
    checks.check("a server never stopped runs until --duration", status == 0 and 0.9 <= secs < 5, f"{status} {secs:.2f} {err!r}")

    port = socat_echo(checks)
    status, out, err, secs = checks.run("idle", r'''
local sock = net.TCPSocket()
sock:connect("127.0.0.1", tonumber(arg[1]), { success = function()
  sock:write("bye\n", { success = function() sock:close() print("closed", _PY.getRuntimeState().sockets) end })
end })
''', port)
    checks.check("a script whose sockets are closed exits by itself", status == 0 and out == "closed\t0\n" and secs < 5,
                 f"{status} {out!r} {err!r} {secs:.2f}")

    status, out, err, secs = checks.run("cberror", r'''
local sock = net.TCPSocket()
sock:connect("127.0.0.1", tonumber(arg[1]), { success = function()
  sock:write("ping\n")
  error("boom in callback")
end })
setTimeout(function()
  sock:readUntil("\n", { success = function(l) print("still working", l) sock:close() end })
end, 200)
''', port)
    checks.check("error in a callback: traceback on stderr, socket keeps working, status 1",
                 status == 1 and "boom in callback" in err and "traceback" in err and out == "still working\tping\n",
                 f"{status} {out!r} {err!r}")

    # a dropped socket object still completes (anchored while it has work)
    status, out, err, secs = checks.run("dropped", r'''
local weak = setmetatable({}, { __mode = "v" })
do
  local sock = net.TCPSocket()
  weak[1] = sock
  sock:connect("127.0.0.1", tonumber(arg[1]), { success = function()
    collectgarbage() collectgarbage()
    print("connected", weak[1] ~= nil)
    weak[1]:close()
  end })
end
collectgarbage() collectgarbage()
''', port)
    checks.check("an unreferenced connecting socket is not collected mid-connect",
                 status == 0 and out == "connected\ttrue\n" and secs < 5, f"{status} {out!r} {err!r} {secs:.2f}")


def main():
    checks = Checks(os.path.abspath(sys.argv[1]))
    try:
        test_echo(checks)
        test_read_until(checks)
        test_failures(checks)
        test_server(checks)
        test_echo_server(checks)
        test_bind_errors(checks)
        test_lifetime(checks)
    finally:
        checks.finish()


if __name__ == "__main__":
    main()
