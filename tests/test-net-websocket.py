#!/usr/bin/env python3
"""net.WebSocketClient / net.WebSocketServer / net.WebSocketEchoServer against
an independent peer: Python's `websockets` (Debian's python3-websockets),
run as separate processes on 127.0.0.1.

usage: test-net-websocket.py PLUA

Prints one line per check ("ok - name" / "not ok - name: detail"); exits 1 on
any failure. Every process has a timeout; everything stops by itself.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time

from netpeers import Checks, free_port

PLUA = os.path.abspath(sys.argv[1])
PYTHON = "/usr/bin/python3"   # Debian's, with python3-websockets
CHECKS = Checks(PLUA, prefix="plua-ws-test-")
TMP = CHECKS.tmp
FAILURES = CHECKS.failures
check = CHECKS.check

# ---------------------------------------------------------------------------
# Peers (Python websockets 10.x, asyncio API)

ECHO_SERVER = r'''
import asyncio, http, ssl, sys, websockets

async def handler(ws, path):
    async for message in ws:
        if message == "close-me":
            await ws.close(code=1000, reason="asked")
            return
        await ws.send(message)          # str stays text, bytes stay binary

async def reject(path, headers):
    if path.startswith("/reject"):
        return (http.HTTPStatus.NOT_FOUND, [], b"no\n")
    if path.startswith("/headers") and headers.get("X-Test") != "42":
        return (http.HTTPStatus.FORBIDDEN, [], b"missing header\n")
    return None

async def main():
    context = None
    if len(sys.argv) > 2:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[1], sys.argv[2])
    async with websockets.serve(handler, "127.0.0.1", 0, process_request=reject,
                                ssl=context, max_size=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.sleep(60)

asyncio.run(main())
'''

# Runs a list of steps against a plua server; prints one JSON line per result.
CLIENT = r'''
import asyncio, json, sys, websockets

def out(*values):
    print(json.dumps(values), flush=True)

def show(message):
    return {"binary": message.hex()} if isinstance(message, bytes) else {"text": message}

async def main(port, steps):
    conns = {}
    for step in steps:
        op, name = step[0], step[1]
        try:
            if op == "open":
                conns[name] = await websockets.connect("ws://127.0.0.1:%d%s" % (port, step[2]),
                                                       max_size=None)
                out("open", name)
            elif op == "send":
                await conns[name].send(step[2])
            elif op == "sendhex":
                await conns[name].send(bytes.fromhex(step[2]))
            elif op == "recv":
                out("recv", name, show(await asyncio.wait_for(conns[name].recv(), 10)))
            elif op == "close":
                await conns[name].close()
                out("closed", name)
            elif op == "wait_closed":
                try:
                    message = await asyncio.wait_for(conns[name].recv(), 10)
                    out("unexpected", name, show(message))
                except websockets.ConnectionClosed as e:
                    out("server_closed", name, e.rcvd.code if e.rcvd else None)
            elif op == "sleep":
                await asyncio.sleep(step[2])
        except Exception as e:
            out("exception", name, type(e).__name__, str(e))

asyncio.run(main(int(sys.argv[1]), json.loads(sys.argv[2])))
'''


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(textwrap.dedent(text))
    return path


ECHO_SERVER_PY = write("echo_server.py", ECHO_SERVER)
CLIENT_PY = write("client.py", CLIENT)


def start_echo_server(*args):
    proc = subprocess.Popen([PYTHON, ECHO_SERVER_PY, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=TMP)
    line = proc.stdout.readline()
    if not line.strip().isdigit():
        proc.kill()
        raise RuntimeError("echo server did not start: " + proc.stderr.read())
    return proc, int(line)


def stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
    for stream in (proc.stdout, proc.stderr):
        if stream:
            stream.close()


def run_plua(script, timeout=20, args=(), env=None):
    """Runs a Lua script to its end; returns (status, stdout, stderr, seconds)."""
    path = write("script.lua", script)
    start = time.monotonic()
    try:
        done = subprocess.run([PLUA, "--noapi", path, *args], capture_output=True, text=True,
                              timeout=timeout, cwd=TMP, env=env)
    except subprocess.TimeoutExpired as e:
        return None, e.stdout or "", e.stderr or "", timeout
    return done.returncode, done.stdout, done.stderr, time.monotonic() - start


def wait_for(proc, timeout):
    """Waits for a process whose stdout was read line by line (so not with
    communicate(), which would skip what the line reader buffered); kills it
    after timeout. Returns its status, None if it had to be killed."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def lines_of(out):
    return [line for line in out.splitlines() if line]


# ---------------------------------------------------------------------------
# plua client → Python echo server

def test_client_round_trips():
    server, port = start_echo_server()
    try:
        status, out, err, _ = run_plua('''
            local c = net.WebSocketClient()
            print(tostring(c))
            local got = 0
            c:addEventListener("connected", function()
              print("connected", c:isOpen())
              print(tostring(c))
              c:send("hello wörld")
              c:send("a\\0b\\0\\255\\254", { binary = true })
              c:send("\\255\\0not utf8")   -- sent as a binary frame
            end)
            c:addEventListener("dataReceived", function(data, binary)
              print("data", binary, (data:gsub(".", function(ch) return string.format("%%02x", ch:byte()) end)))
              got = got + 1
              if got == 3 then c:close() end
            end)
            c:addEventListener("error", function(m) print("error", m) end)
            c:addEventListener("disconnected", function(code) print("disconnected", code, c:isOpen()) end)
            c:connect("ws://127.0.0.1:%d/echo")
        ''' % port)
        lines = lines_of(out)
        check("client: tostring before connect", lines[:1] == ["WebSocketClient object: not connected"], out)
        check("client: connected fires", "connected\ttrue" in lines, out + err)
        check("client: tostring when open",
              "WebSocketClient object: ws://127.0.0.1:%d/echo (open)" % port in lines, out)
        check("client: text round trip", "data\tfalse\t" + "hello wörld".encode().hex() in lines, out)
        check("client: binary round trip with NUL bytes",
              "data\ttrue\t" + b"a\0b\0\xff\xfe".hex() in lines, out)
        check("client: non-UTF-8 data goes as a binary frame",
              "data\ttrue\t" + b"\xff\0not utf8".hex() in lines, out)
        check("client: close() fires disconnected", "disconnected\t1000\tfalse" in lines, out)
        check("client: no error", not any(l.startswith("error") for l in lines), out)
        check("client: exits by itself when closed", status == 0, "status %s, stderr %s" % (status, err))
    finally:
        stop(server)


def test_client_server_closes():
    server, port = start_echo_server()
    try:
        status, out, err, _ = run_plua('''
            local c = net.WebSocketClient()
            c:addEventListener("connected", function() c:send("close-me") end)
            c:addEventListener("disconnected", function(code, reason)
              print("disconnected", code, reason, c:isOpen())
            end)
            c:addEventListener("error", function(m) print("error", m) end)
            c:connect("ws://127.0.0.1:%d/")
        ''' % port)
        check("client: server closing fires disconnected", "disconnected\t1000\tasked\tfalse" in out,
              out + err)
        check("client: exits after the server closed", status == 0, "status %s %s" % (status, err))
    finally:
        stop(server)


def test_client_refused():
    port = free_port()
    status, out, err, seconds = run_plua('''
        local c = net.WebSocketClient()
        c:addEventListener("connected", function() print("connected?!") end)
        c:addEventListener("disconnected", function() print("disconnected?!") end)
        c:addEventListener("error", function(m) print("error", m, c:isOpen()) end)
        c:connect("ws://127.0.0.1:%d/")
        print("connect returned")
    ''' % port)
    lines = lines_of(out)
    check("client: connect returns before any event", lines[:1] == ["connect returned"], out)
    check("client: connection refused fires error",
          len(lines) == 2 and lines[1].startswith("error") and "refused" in lines[1].lower()
          and lines[1].endswith("false"), out + err)
    check("client: refused connect exits by itself", status == 0 and seconds < 10,
          "status %s after %.1fs: %s" % (status, seconds, err))


def test_client_timeout():
    with socket.socket() as silent:   # accepts (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        status, out, err, seconds = run_plua('''
            local c = net.WebSocketClient({ timeout = 300 })
            c:addEventListener("error", function(m) print("error", m, c:isOpen()) end)
            c:addEventListener("connected", function() print("connected?!") end)
            c:addEventListener("disconnected", function() print("disconnected?!") end)
            c:connect("ws://127.0.0.1:%d/")
        ''' % silent.getsockname()[1])
        check("client: handshake timeout gives exactly 'timeout'", out == "error\ttimeout\tfalse\n",
              out + err)
        check("client: timed-out run exits by itself", status == 0 and seconds < 5,
              "status %s after %.1fs" % (status, seconds))


def test_client_handshake_rejected():
    server, port = start_echo_server()
    try:
        status, out, err, _ = run_plua('''
            local c = net.WebSocketClient()
            c:addEventListener("error", function(m) print("error", m) end)
            c:addEventListener("connected", function() print("connected?!") end)
            c:connect("ws://127.0.0.1:%d/reject")
            local h = net.WebSocketClient({ headers = { ["X-Test"] = "42" } })
            h:addEventListener("connected", function() print("headers accepted") h:close() end)
            h:addEventListener("error", function(m) print("headers error", m) end)
            h:connect("ws://127.0.0.1:%d/headers")
        ''' % (port, port))
        check("client: rejected handshake reports the HTTP status",
              "error\tWebSocket handshake failed: HTTP 404 Not Found" in out, out + err)
        check("client: handshake headers are sent", "headers accepted" in out, out + err)
        check("client: exits after a rejected handshake", status == 0, err)
    finally:
        stop(server)


def test_client_listener_errors_and_misuse():
    server, port = start_echo_server()
    try:
        status, out, err, _ = run_plua('''
            local c = net.WebSocketClient()
            c:addEventListener("error", function(m) print("error", m) end)
            print("send before connect", c:send("x"))
            c:addEventListener("dataReceived", function(d) error("listener failed on " .. d) end)
            c:addEventListener("dataReceived", function(d)
              print("second listener", d)
              if d == "two" then c:close() end
            end)
            c:addEventListener("connected", function()
              c:connect("ws://127.0.0.1:%d/")   -- already connected
              c:send("one")
              c:send("two")
            end)
            c:connect("ws://127.0.0.1:%d/")
        ''' % (port, port))
        lines = lines_of(out)
        check("client: send while not connected fires error",
              "send before connect\tfalse" in lines and "error\tNot connected" in lines, out)
        check("client: connect twice fires 'Already connected'", "error\tAlready connected" in lines, out)
        check("client: a failing listener does not stop the others or the connection",
              "second listener\tone" in lines and "second listener\ttwo" in lines, out + err)
        check("client: listener errors are reported with a traceback",
              "listener failed on one" in err and "traceback" in err.lower(), err)
        check("client: listener errors give exit status 1", status == 1, "status %s" % status)
    finally:
        stop(server)


def test_client_large_message():
    server, port = start_echo_server()
    try:
        status, out, err, _ = run_plua('''
            local parts = {}
            for i = 0, 1024 * 1024 - 1 do parts[#parts + 1] = string.char(i %% 256) end
            local big = table.concat(parts)
            local c = net.WebSocketClient({ binary = true })
            c:addEventListener("connected", function() c:send(big) end)
            c:addEventListener("dataReceived", function(d, binary)
              print("same", d == big, #d, binary)
              c:close()
            end)
            c:addEventListener("error", function(m) print("error", m) end)
            c:connect("ws://127.0.0.1:%d/")
        ''' % port)
        check("client: 1 MiB binary message round trip", "same\ttrue\t1048576\ttrue" in out, out + err)
        check("client: exits after the large message", status == 0, err)
    finally:
        stop(server)


def test_client_tls():
    cert, key = os.path.join(TMP, "cert.pem"), os.path.join(TMP, "key.pem")
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                           "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"],
                          capture_output=True, timeout=60)
    if made.returncode != 0:
        check("client: wss test certificate", False, made.stderr.decode())
        return
    # GCC 12's LeakSanitizer crashes at exit ("Tracer caught signal 11" on a
    # DTLS range) once GnuTLS threads of glib-networking used dynamic TLS;
    # not tracking __tls_get_addr avoids it and leak checking stays on.
    env = dict(os.environ)
    if "ASAN_OPTIONS" in env:
        env["ASAN_OPTIONS"] += ":intercept_tls_get_addr=0"
    server, port = start_echo_server(cert, key)
    try:
        status, out, err, _ = run_plua(env=env, script='''
            local strict = net.WebSocketClientTls()
            strict:addEventListener("connected", function() print("strict connected?!") end)
            strict:addEventListener("error", function(m) print("strict error") end)
            strict:connect("wss://127.0.0.1:%d/")
            local lax = net.WebSocketClientTls({ checkCertificate = false })
            lax:addEventListener("connected", function() print(tostring(lax)) lax:send("secure") end)
            lax:addEventListener("dataReceived", function(d) print("lax got", d) lax:close() end)
            lax:addEventListener("error", function(m) print("lax error", m) end)
            lax:connect("wss://127.0.0.1:%d/")
        ''' % (port, port))
        check("client: wss with a self-signed certificate fails by default", "strict error" in out,
              out + err)
        check("client: wss with checkCertificate = false works", "lax got\tsecure" in out, out + err)
        check("client: WebSocketClientTls tostring",
              "WebSocketClientTls object: wss://127.0.0.1:%d/ (open)" % port in out, out)
        check("client: wss run exits by itself", status == 0, err)
    finally:
        stop(server)


# ---------------------------------------------------------------------------
# Python client → plua WebSocketServer

SERVER_SCRIPT = '''
local server = net.WebSocketServer(%s)
local ok = server:start("127.0.0.1", 0, {
  started = function() print("started", server:isRunning()) end,
  connected = function(id) print("connected", id) end,
  receive = function(id, data, binary)
    print("receive", id, binary, #data)
    if data == "clients" then
      server:send(id, table.concat(server:getClients(), ","))
    elseif data == "stop" then
      server:stop()
      print("running after stop", server:isRunning())
    else
      server:send(id, "reply:" .. data, { binary = binary })
    end
  end,
  disconnected = function(id) print("disconnected", id) end,
  error = function(m) print("error", m) end,
})
print("port", server:getPort())
print((tostring(server):gsub("%%d+", "N")))
'''


def run_server_with_clients(steps, options="", timeout=30):
    """Starts SERVER_SCRIPT in plua, runs the Python client steps against it."""
    path = write("server.lua", SERVER_SCRIPT % options)
    plua = subprocess.Popen([PLUA, "--noapi", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=TMP)
    try:
        port = None
        head = []
        for _ in range(3):
            line = plua.stdout.readline()
            head.append(line)
            if line.startswith("port\t"):
                port = int(line.split("\t")[1])
                break
        if port is None:
            plua.kill()
            return None, "".join(head) + plua.stdout.read(), plua.stderr.read(), []
        client = subprocess.run([PYTHON, CLIENT_PY, str(port), json.dumps(steps)],
                                capture_output=True, text=True, timeout=timeout, cwd=TMP)
        results = [json.loads(l) for l in client.stdout.splitlines() if l]
        if client.stderr:
            results.append(["stderr", client.stderr])
        status = wait_for(plua, timeout)
        return status, "".join(head) + plua.stdout.read(), plua.stderr.read(), results
    finally:
        if plua.poll() is None:
            plua.kill()
            plua.wait()


def test_server_two_clients():
    steps = [
        ["open", "a", "/"],
        ["open", "b", "/some/path"],
        ["send", "a", "hello"],
        ["recv", "a"],
        ["sendhex", "b", "00ff0001"],
        ["recv", "b"],
        ["send", "b", "clients"],
        ["recv", "b"],
        ["close", "a"],
        ["sleep", "", 0.3],
        ["send", "b", "clients"],
        ["recv", "b"],
        ["send", "b", "stop"],
        ["wait_closed", "b"],
    ]
    status, out, err, results = run_server_with_clients(steps)
    lines = lines_of(out)
    check("server: started fires", "started\ttrue" in lines, out + err)
    check("server: tostring", "WebSocketServer object: N.N.N.N:N (running, N clients)" in lines, out)
    check("server: connected with ids", "connected\t1" in lines and "connected\t2" in lines, out)
    check("server: any path accepted", ["open", "b"] in results, results)
    check("server: receive text", "receive\t1\tfalse\t5" in lines, out)
    check("server: send reaches the client", ["recv", "a", {"text": "reply:hello"}] in results, results)
    check("server: binary message exact", "receive\t2\ttrue\t4" in lines and
          ["recv", "b", {"binary": ("reply:".encode().hex() + "00ff0001")}] in results, results)
    check("server: getClients with two clients", ["recv", "b", {"text": "1,2"}] in results, results)
    check("server: disconnected on client close", "disconnected\t1" in lines, out)
    check("server: getClients after a close", ["recv", "b", {"text": "2"}] in results, results)
    check("server: stop() closes clients", ["server_closed", "b", 1001] in results, results)
    check("server: disconnected after stop", "disconnected\t2" in lines, out)
    check("server: isRunning false after stop", "running after stop\tfalse" in lines, out)
    check("server: exits by itself after stop", status == 0, "status %s: %s" % (status, err))
    check("server: no errors", "error" not in out and "exception" not in json.dumps(results),
          out + json.dumps(results))


def test_server_path_option():
    steps = [
        ["open", "other", "/other"],
        ["open", "ws", "/ws/deeper"],
        ["send", "ws", "stop"],
        ["wait_closed", "ws"],
    ]
    status, out, err, results = run_server_with_clients(steps, options='{ path = "/ws" }')
    rejected = [r for r in results if r[:2] == ["exception", "other"]]
    check("server: path option rejects other paths", rejected and "404" in rejected[0][3], results)
    check("server: path option accepts its path", ["open", "ws"] in results, results)
    check("server: path option run exits", status == 0, err)


def test_server_port_in_use():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        status, out, err, _ = run_plua('''
            local s = net.WebSocketServer()
            print("start", s:start("127.0.0.1", %d, {
              started = function() print("started?!") end,
              error = function(m) print("error", m) end,
            }))
            print("running", s:isRunning())
        ''' % port)
        lines = lines_of(out)
        check("server: port in use goes to the error callback",
              any(l.startswith("error\tFailed to start server:") and "in use" in l for l in lines),
              out + err)
        check("server: port in use never falls back", "start\tfalse" in lines and "running\tfalse" in lines
              and "started?!" not in out, out)
        check("server: port in use run exits", status == 0, err)
        status, out, err, _ = run_plua('''
            local s = net.WebSocketServer()
            s:start("127.0.0.1", %d, {})
            print("not reached")
        ''' % port)
        check("server: port in use raises without an error callback",
              status == 1 and "not reached" not in out and "in use" in err, "%s %s %s" % (status, out, err))


def test_echo_server():
    path = write("echo.lua", '''
        local server = net.WebSocketEchoServer("127.0.0.1", 0, true)
        print("port", server:getPort())
        local seen = false
        local watch
        watch = setInterval(function()
          local n = #server:getClients()
          if n > 0 then seen = true end
          if seen and n == 0 then clearInterval(watch) server:stop() end
        end, 50)
    ''')
    # The debug lines show the binary message as it is: not UTF-8.
    plua = subprocess.Popen([PLUA, "--noapi", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, errors="backslashreplace", cwd=TMP)
    try:
        line = plua.stdout.readline()
        port = int(line.split("\t")[1]) if line.startswith("port\t") else None
        check("echo: getPort after port 0", port is not None and port > 0, line)
        if port is None:
            return
        steps = [["open", "e", "/echo"], ["send", "e", "hi"], ["recv", "e"],
                 ["sendhex", "e", "0001ff"], ["recv", "e"], ["sleep", "", 0.3], ["close", "e"]]
        client = subprocess.run([PYTHON, CLIENT_PY, str(port), json.dumps(steps)],
                                capture_output=True, text=True, timeout=30, cwd=TMP)
        results = [json.loads(l) for l in client.stdout.splitlines() if l]
        check("echo: text echoed with 'Echo: '", ["recv", "e", {"text": "Echo: hi"}] in results,
              results + [client.stderr])
        check("echo: binary echoed exactly", ["recv", "e", {"binary": b"Echo: \x00\x01\xff".hex()}]
              in results, results)
        status = wait_for(plua, 20)
        out, err = plua.stdout.read(), plua.stderr.read()
        check("echo: debug lines", "[EchWS] %d\tconnected\t1" % port in out and
              "[EchWS] %d\tdisconnected\t1" % port in out, out + err)
        check("echo: exits after stop", status == 0, "status %s: %s" % (status, err))
    finally:
        if plua.poll() is None:
            plua.kill()
            plua.wait()


def main():
    tests = [
        test_client_round_trips,
        test_client_server_closes,
        test_client_refused,
        test_client_timeout,
        test_client_handshake_rejected,
        test_client_listener_errors_and_misuse,
        test_client_large_message,
        test_client_tls,
        test_server_two_clients,
        test_server_path_option,
        test_server_port_in_use,
        test_echo_server,
    ]
    for test in tests:
        try:
            test()
        except Exception as e:   # a broken test is a failure, not a crash
            check(test.__name__, False, "%s: %s" % (type(e).__name__, e))
    shutil.rmtree(TMP, ignore_errors=True)
    if FAILURES:
        print("%d failure(s): %s" % (len(FAILURES), ", ".join(FAILURES)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
