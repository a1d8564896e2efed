#!/usr/bin/env python3
"""The blocking LuaSocket-compatible `socket` module against Python TCP servers
(line/"*a"/n receives, send(data, i, j), settimeout, gettime, sleep).
usage: test-net-sync.py PLUA"""
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"


class Checks:
    def __init__(self, plua):
        self.plua = plua
        self.failed = 0
        self.tmp = tempfile.mkdtemp(prefix="plua-net-")
        self.procs = []

    def check(self, name, ok, detail=""):
        if ok:
            print(f"ok - {name}", flush=True)
        else:
            self.failed += 1
            print(f"not ok - {name}: {detail}", flush=True)
        return ok

    def script(self, name, text):
        path = os.path.join(self.tmp, name + ".lua")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def run(self, name, text, *args, timeout=20, options=()):
        """Runs plua --noapi on the script; returns (status, stdout, stderr, seconds)."""
        path = self.script(name, text)
        start = time.monotonic()
        try:
            proc = subprocess.run([self.plua, "--noapi", *options, path, *map(str, args)],
                                  capture_output=True, timeout=timeout, cwd=self.tmp)
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode("utf-8", "replace")
            err = (e.stderr or b"").decode("utf-8", "replace")
            return None, out, err + "\n[timed out]", time.monotonic() - start
        return (proc.returncode, proc.stdout.decode("utf-8", "replace"),
                proc.stderr.decode("utf-8", "replace"), time.monotonic() - start)

    def start(self, name, text, *args, options=()):
        """Starts plua on the script in the background; stdout is read with Reader."""
        path = self.script(name, text)
        proc = subprocess.Popen([self.plua, "--noapi", *options, path, *map(str, args)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.tmp)
        self.procs.append(proc)
        return proc

    def spawn(self, argv):
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        return proc

    def finish(self):
        # SIGTERM first: `timeout` passes it on to the socat it runs.
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        shutil.rmtree(self.tmp, ignore_errors=True)
        print(f"# {self.failed} failed" if self.failed else "# all passed", flush=True)
        sys.exit(1 if self.failed else 0)


class Reader:
    """Reads a child's stdout line by line with a deadline."""

    def __init__(self, proc):
        self.proc = proc
        self.buf = b""
        self.lines = []

    def line(self, timeout=10):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        text = line.decode("utf-8", "replace")
        self.lines.append(text)
        return text

    def wait_for(self, prefix, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            line = self.line(max(deadline - time.monotonic(), 0))
            if line is None or line.startswith(prefix):
                return line

    def rest(self, timeout=10):
        """Waits for the end of the run: (status, remaining stdout, stderr)."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            return None, (self.buf + out).decode("utf-8", "replace"), err.decode("utf-8", "replace")
        return (self.proc.returncode, (self.buf + out).decode("utf-8", "replace"),
                err.decode("utf-8", "replace"))


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_listening(port, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False

import threading


def scripted_server(actions, accept_timeout=10):
    """A one-connection Python TCP server playing `actions`: ("send", bytes),
    ("sleep", s), ("recvall",) (read until the client closes), ("close",)."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((HOST, 0))
    srv.listen(8)
    srv.settimeout(accept_timeout)
    received = []

    def run():
        try:
            conn, _ = srv.accept()
        except OSError:
            srv.close()
            return
        conn.settimeout(accept_timeout)
        try:
            for action in actions:
                if action[0] == "send":
                    conn.sendall(action[1])
                elif action[0] == "sleep":
                    time.sleep(action[1])
                elif action[0] == "recvall":
                    while True:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        received.append(chunk)
                elif action[0] == "close":
                    break
        except OSError:
            pass
        finally:
            conn.close()
            srv.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return srv.getsockname()[1], received, thread


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
