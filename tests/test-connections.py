#!/usr/bin/env python3
"""plua's HTTP servers keep their file descriptors: hang-ups, slow clients,
the connection cap, running out of descriptors.

usage: test-connections.py PLUA

- Connections a client closes after its keep-alive requests are closed by
  plua too (libsoup 3.2.3 left each in CLOSE-WAIT): 200 curl runs, fds flat.
- A client that half-closes right after its request gets its answer.
- An idle keep-alive connection, and one sending its headers a byte at a time
  (slowloris), are closed after the header timeout (PLUA_HEADER_TIMEOUT=1 here).
- At the cap on connections (16 with RLIMIT_NOFILE 64) plua says so once, the
  next connection waits, and is answered when one closes.
- Out of file descriptors (the script holds them all): accepting backs off
  (plua does not spin), an open keep-alive connection is still answered, and
  the waiting connection is answered once descriptors are free again.
- The same guard covers a Lua net.HTTPServer.
"""
import http.client
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time

from apitest import ApiPlua, check, run_tests

PLUA = os.path.abspath(sys.argv[1])
ENV = dict(os.environ, PLUA_HEADER_TIMEOUT="1")
IDLE = ["-e", "setTimeout(function() end, 60000)"]


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def close_wait(port):
    out = subprocess.run(["ss", "-tanH", "state", "close-wait", f"( sport = :{port} )"],
                         capture_output=True, text=True).stdout
    return len([line for line in out.splitlines() if line.strip()])


def get(port, path="/plua/status", timeout=5):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request("GET", path)
    r = c.getresponse()
    r.read()
    c.close()
    return r.status


def closed_within(sock, seconds):
    """True when the server closes sock (recv gives EOF or a reset) in time."""
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
        return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_close_wait():
    p = ApiPlua(PLUA, IDLE, ENV)
    try:
        before = fds(p.proc.pid)
        url = f"http://127.0.0.1:{p.port}/plua/status"
        for _ in range(200):
            subprocess.run(["curl", "-s", "-o", "/dev/null", url], check=True)
        time.sleep(0.3)
        check("200 curl runs leave no connection in CLOSE-WAIT", close_wait(p.port) == 0, close_wait(p.port))
        check("200 curl runs: open fds flat", fds(p.proc.pid) <= before + 2, (before, fds(p.proc.pid)))
        check("still answering after 200 curl runs", get(p.port) == 200)
    finally:
        p.stop()


def test_half_close():
    p = ApiPlua(PLUA, IDLE, ENV)
    try:
        req = b"GET /plua/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        s = socket.create_connection(("127.0.0.1", p.port))
        s.sendall(req)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(5)
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        check("a request followed by a half-close is answered", data.count(b"HTTP/1.1 200") == 1, data[:200])
    finally:
        p.stop()


def test_timeouts():
    p = ApiPlua(PLUA, IDLE, ENV)
    try:
        idle = socket.create_connection(("127.0.0.1", p.port))
        idle.sendall(b"GET /plua/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        idle.settimeout(5)
        first = idle.recv(4096)
        t0 = time.monotonic()
        check("an idle keep-alive connection is closed after the header timeout",
              first.startswith(b"HTTP/1.1 200") and closed_within(idle, 4) and time.monotonic() - t0 > 0.8)
        slow = socket.create_connection(("127.0.0.1", p.port))
        stop = threading.Event()

        def dribble():
            for ch in b"GET /plua/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100:
                if stop.wait(0.2):
                    return
                try:
                    slow.send(bytes([ch]))
                except OSError:
                    return
        threading.Thread(target=dribble, daemon=True).start()
        t0 = time.monotonic()
        check("headers sent a byte at a time (slowloris) are cut off", closed_within(slow, 5),
              time.monotonic() - t0)
        stop.set()
        body = socket.create_connection(("127.0.0.1", p.port))
        body.sendall(b"POST /plua/execute HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{")
        check("a body that never finishes arriving is cut off", closed_within(body, 8))
        check("still answering after the slow clients", get(p.port) == 200)
    finally:
        p.stop()


def limit_fds(n):
    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
    return limit


def wait_port(err):
    for _ in range(200):
        text = "".join(err)
        if "listening on" in text:
            return int(text.split("127.0.0.1:")[1].split("/")[0])
        time.sleep(0.05)
    raise RuntimeError("plua did not listen: " + "".join(err))


def test_cap():
    env = dict(os.environ, PLUA_HEADER_TIMEOUT="30")
    proc = subprocess.Popen([PLUA, "--api-port", "0", *IDLE], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=env, preexec_fn=limit_fds(64))
    err = []
    threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True).start()
    try:
        port = wait_port(err)
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]
        time.sleep(0.3)
        waiting = socket.create_connection(("127.0.0.1", port))
        waiting.sendall(b"GET /plua/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        waiting.settimeout(1)
        try:
            early = waiting.recv(100)
        except socket.timeout:
            early = b""
        said = [line for line in err if "connections open" in line]
        check("at the cap, the next connection waits", early == b"", early)
        check("at the cap, plua says so once", len(said) == 1 and "16" in said[0], err)
        held.pop().close()
        waiting.settimeout(5)
        check("a slot freed: the waiting connection is answered", waiting.recv(100).startswith(b"HTTP/1.1 200"))
        # plua answers and logs in the same main-loop turn; the stderr reader
        # thread may see the line a little after the answer arrives.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any("accepting connections again" in line for line in err):
            time.sleep(0.02)
        check("accepting again is said", any("accepting connections again" in line for line in err), err)
        for s in held:
            s.close()
    finally:
        proc.terminate()
        proc.wait(10)


# Holds every free descriptor once the trigger file exists, for 2.5 s.
HOG = """
local trigger = os.getenv("HOG_TRIGGER")
local poll
poll = setInterval(function()
  if not _PY.fileExist(trigger) then return end
  clearInterval(poll)
  local held = {}
  while true do
    local f = io.open("/dev/null")
    if not f then break end
    held[#held + 1] = f
  end
  print("holding " .. #held)
  io.stdout:flush()
  setTimeout(function() for _, f in ipairs(held) do f:close() end print("released") end, 2500)
end, 50)
"""


def test_emfile():
    with tempfile.TemporaryDirectory(prefix="plua-conn-") as tmp:
        trigger = os.path.join(tmp, "go")
        proc = subprocess.Popen([PLUA, "--api-port", "0", "-e", HOG], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, HOG_TRIGGER=trigger), preexec_fn=limit_fds(256))
        err = []
        threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True).start()
        try:
            port = wait_port(err)
            keep = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            keep.request("GET", "/plua/status")
            keep.getresponse().read()
            open(trigger, "w").close()
            line = proc.stdout.readline()
            check("the script holds every free descriptor", line.startswith("holding"), line)
            waiting = socket.create_connection(("127.0.0.1", port))
            waiting.sendall(b"GET /plua/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            c0 = cpu_seconds(proc.pid)
            time.sleep(1.0)
            used = cpu_seconds(proc.pid) - c0
            check("out of fds: accepting backs off instead of spinning", used < 0.2, f"{used:.2f} s CPU in 1 s")
            keep.request("GET", "/plua/status")
            r = keep.getresponse()
            r.read()
            check("out of fds: an open keep-alive connection is still answered", r.status == 200)
            waiting.settimeout(5)
            check("fds free again: the waiting connection is answered",
                  waiting.recv(100).startswith(b"HTTP/1.1 200"))
            text = "".join(err)
            check("out of fds is said, and the recovery", "out of file descriptors" in text
                  and "accepting connections again" in text, text)
        finally:
            proc.terminate()
            proc.wait(10)


SERVER = """
local server = net.HTTPServer()
server:start("127.0.0.1", 0, function() return "hi", 200 end)
print("port " .. server:port())
setTimeout(function() end, 60000)
"""


def test_lua_server():
    proc = subprocess.Popen([PLUA, "-e", SERVER], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        line = proc.stdout.readline()
        port = int(line.split()[1])
        before = fds(proc.pid)
        for _ in range(100):
            subprocess.run(["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{port}/"], check=True)
        time.sleep(0.3)
        check("net.HTTPServer: 100 curl runs, no CLOSE-WAIT, fds flat",
              close_wait(port) == 0 and fds(proc.pid) <= before + 2, (close_wait(port), before, fds(proc.pid)))
    finally:
        proc.terminate()
        proc.wait(10)


run_tests(test_close_wait, test_half_close, test_timeouts, test_cap, test_emfile, test_lua_server)
