#!/usr/bin/env python3
"""net.HTTPClient, net.HTTPServer and _PY.http_call_sync against real peers.

usage: test-net-http.py PLUA

Peers: Python's http.server (plain and TLS with a self-signed certificate
made by the openssl CLI) for the client, curl for the server, a listening
socket that never answers for timeouts. Everything on 127.0.0.1, every run
bounded in time. Prints one "ok - name" / "not ok - name: detail" line per
check and exits 1 on any failure.
"""
import http.server
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

from netpeers import Checks, free_port

PLUA = os.path.abspath(sys.argv[1])
CHECKS = Checks(PLUA, prefix="plua-net-http-")
TMP = CHECKS.tmp
FAILURES = CHECKS.failures
check = CHECKS.check

BINARY = bytes(range(256)) * 16          # 4 KiB, NUL bytes included
BIG = bytes((i * 7 + 3) % 256 for i in range(1 << 20))   # 1 MiB


def run_lua(code, timeout=30, name="script.lua"):
    path = os.path.join(TMP, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(code)
    try:
        p = subprocess.run([PLUA, "--noapi", path], capture_output=True,
                           timeout=timeout, cwd=TMP)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        return -1, (e.stdout or b"").decode("utf-8", "replace"), "TIMEOUT " + (e.stderr or b"").decode("utf-8", "replace")


# ---------------------------------------------------------------- peers

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/echo":
            self.send(200, body, {
                "X-Method": self.command, "X-Path": self.path,
                "X-Foo": self.headers.get("X-Foo", "-"),
                "X-Content-Type": self.headers.get("Content-Type", "-"),
                "Content-Type": "application/octet-stream"})
        elif url.path.startswith("/status/"):
            self.send(int(url.path[8:]), b"status body")
        elif url.path == "/slow":
            time.sleep(float(query.get("ms", "1000")) / 1000)
            self.send(200, b"slow")
        elif url.path == "/redirect":
            self.send(302, b"", {"Location": "/final"})
        elif url.path == "/final":
            self.send(200, b"final")
        elif url.path == "/binary":
            self.send(200, BINARY, {"Content-Type": "application/octet-stream"})
        elif url.path == "/big":
            self.send(200, BIG)
        elif url.path == "/conn":
            self.send(200, str(self.client_address[1]).encode())
        elif url.path == "/multi":
            self.send_response(200)
            self.send_header("Set-Thing", "a")
            self.send_header("Set-Thing", "b")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send(404, b"no such path")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def start_python_server(tls_context=None):
    srv = Server(("127.0.0.1", 0), Handler)
    if tls_context is not None:
        srv.socket = tls_context.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, srv.server_address[1]


def start_silent_server():
    """Accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held = []

    def loop():
        while True:
            try:
                conn, _ = sock.accept()
                held.append(conn)
            except OSError:
                return
    threading.Thread(target=loop, daemon=True).start()
    return sock, sock.getsockname()[1]


# ---------------------------------------------------------------- client

def lua_request(url, options="{}", extra=""):
    """A script making one request and printing what came back."""
    return f"""
local client = net.HTTPClient()
local started = _PY.millitime()
client:request({json.dumps(url)}, {{
  options = {options},
  success = function(r)
    print("status", r.status)
    print("len", #r.data)
    print("data", r.data)
    {extra}
  end,
  error = function(e)
    print("error", e)
    print("elapsed", string.format("%.1f", _PY.millitime() - started))
  end,
}})
"""


def test_client(port):
    base = f"http://127.0.0.1:{port}"

    rc, out, err = run_lua(lua_request(base + "/echo?x=1") + 'print(tostring(client))')
    check("client: GET 200", rc == 0 and "status\t200" in out and "len\t0" in out, out + err)
    check("client: tostring", "HTTPClient" in out, out)

    rc, out, err = run_lua(lua_request(base + "/echo",
        '{method = "post", headers = {["X-Foo"] = "bar", ["Content-Type"] = "text/plain"}, data = "a\\0b\\0\\255end"}',
        'print("method", r.headers["x-method"]); print("foo", r.headers["X-Foo"]);'
        'print("ctype", r.headers["x-content-type"]); print("same", r.data == "a\\0b\\0\\255end")'))
    check("client: POST body, headers, method upper-cased",
          "method\tPOST" in out and "foo\tbar" in out and "same\ttrue" in out
          and "ctype\ttext/plain" in out, out + err)

    for code in (404, 500):
        rc, out, err = run_lua(lua_request(f"{base}/status/{code}"))
        check(f"client: HTTP {code} goes to success",
              f"status\t{code}" in out and "data\tstatus body" in out, out + err)

    rc, out, err = run_lua(lua_request(base + "/redirect"))
    check("client: redirect followed", "status\t200" in out and "data\tfinal" in out, out + err)

    expected_binary = "".join(f"\\{b}" for b in BINARY[:256])
    rc, out, err = run_lua(lua_request(base + "/binary", "{}",
        f'local one = "{expected_binary}"; print("binary", r.data == one:rep(16))'))
    check("client: binary body with NUL bytes", "binary\ttrue" in out and "len\t4096" in out, out + err)

    rc, out, err = run_lua(lua_request(base + "/big", "{}",
        'local ok = true; for i = 1, #r.data, 4099 do if r.data:byte(i) ~= ((i - 1) * 7 + 3) % 256 then ok = false end end;'
        'print("bigok", ok)'))
    check("client: 1 MiB body", "len\t1048576" in out and "bigok\ttrue" in out, out[:200] + err)

    # 1 MiB upload, echoed back.
    rc, out, err = run_lua(f"""
local body = {{}}
for i = 0, 1048575 do body[#body + 1] = string.char((i * 7 + 3) % 256) end
body = table.concat(body)
net.HTTPClient():request("{base}/echo", {{
  options = {{ method = "PUT", data = body }},
  success = function(r) print("upload", r.status, #r.data, r.data == body) end,
  error = function(e) print("error", e) end,
}})
""")
    check("client: 1 MiB upload", "upload\t200\t1048576\ttrue" in out, out + err)

    # Keep-alive: sequential requests reuse the connection (same client port).
    rc, out, err = run_lua(f"""
local client = net.HTTPClient()
local ports = {{}}
local function next_one(n)
  if n == 0 then print("distinct", #ports, ports[1] == ports[2] and ports[2] == ports[3]) return end
  client:request("{base}/conn", {{ success = function(r) ports[#ports + 1] = r.data; next_one(n - 1) end,
                                   error = function(e) print("error", e) end }})
end
next_one(3)
""")
    check("client: connection reused (keep-alive)", "distinct\t3\ttrue" in out, out + err)

    rc, out, err = run_lua(lua_request(base + "/multi", "{}",
        'print("multi", r.headers["set-thing"])'))
    check("client: repeated response headers joined", "multi\ta, b" in out, out + err)

    # 50 simultaneous requests.
    t0 = time.monotonic()
    rc, out, err = run_lua(f"""
local client = net.HTTPClient()
local done, ok = 0, 0
for i = 1, 50 do
  client:request("{base}/slow?ms=300&i=" .. i, {{
    success = function(r) done = done + 1; if r.status == 200 then ok = ok + 1 end
                          if done == 50 then print("all", done, ok) end end,
    error = function(e) done = done + 1; print("error", e) end,
  }})
end
print("issued")
""")
    elapsed = time.monotonic() - t0
    check("client: 50 simultaneous requests complete",
          rc == 0 and "all\t50\t50" in out and out.index("issued") < out.index("all"), out + err)
    check("client: 50 simultaneous requests run concurrently", elapsed < 8, f"{elapsed:.1f} s")

    # Transport failures.
    sock, silent = start_silent_server()
    t0 = time.monotonic()
    rc, out, err = run_lua(lua_request(f"http://127.0.0.1:{silent}/", "{timeout = 700}"))
    elapsed = time.monotonic() - t0
    check("client: silent server gives exactly \"timeout\"", "error\ttimeout\n" in out, out + err)
    check("client: timeout is in milliseconds", 0.6 < elapsed < 5, f"{elapsed:.2f} s")
    rc, out, err = run_lua(lua_request(f"http://127.0.0.1:{silent}/", "{}",
        "") .replace("net.HTTPClient()", "net.HTTPClient({timeout = 400})"))
    check("client: constructor timeout option", "error\ttimeout\n" in out, out + err)
    sock.close()

    refused = free_port()
    rc, out, err = run_lua(lua_request(f"http://127.0.0.1:{refused}/"))
    check("client: connection refused", re.search(r"error\t.*refused", out, re.I) is not None
          and rc == 0, out + err)

    rc, out, err = run_lua(lua_request("http://plua-test.invalid/", "{timeout = 8000}"))
    m = re.search(r"error\t(.*)", out)
    check("client: DNS failure for an unresolvable name",
          m is not None and (re.search(r"resolv|name|not known|timeout", m.group(1), re.I) is not None),
          out + err)

    rc, out, err = run_lua(lua_request("ftp://127.0.0.1/x") + 'print("after")')
    check("client: bad scheme reported later to error",
          re.search(r"after\nerror\tunsupported URL scheme", out) is not None, out + err)

    # An error in a success callback is reported; the run goes on.
    rc, out, err = run_lua(f"""
net.HTTPClient():request("{base}/echo", {{ success = function() error("oops in success") end }})
setTimeout(function() print("still running") end, 300)
""")
    check("client: error in callback reported, run goes on",
          "still running" in out and "oops in success" in err and "traceback" in err and rc == 1,
          out + err)

    rc, out, err = run_lua(f"""
local ok, e = pcall(function() net.HTTPClient():request("{base}/", {{ options = {{ data = {{}} }} }}) end)
print(ok, e)
local ok2, e2 = pcall(function() net.HTTPClient():request("{base}/", {{ options = {{ headers = {{ ["Bad Name"] = "x" }} }} }}) end)
print(ok2, e2)
""")
    check("client: bad data and header arguments raise",
          "false" in out and "must be a string" in out and "invalid header name" in out, out + err)

    # Callbacks may sleep (they run in a coroutine).
    rc, out, err = run_lua(lua_request(base + "/echo", "{}", 'sleep(50); print("slept")'))
    check("client: callback may sleep", "slept" in out and rc == 0, out + err)


def test_http_call_sync(port):
    base = f"http://127.0.0.1:{port}"
    rc, out, err = run_lua(f"""
local fired = false
setTimeout(function() fired = true end, 0)
local r = _PY.http_call_sync("post", "{base}/echo", "x\\0y", {{ ["X-Foo"] = "sync" }})
print(r.success, r.status_code, #r.data, r.data == "x\\0y", r.headers["x-foo"], r.headers["x-method"])
print("blocked", fired)
local t = _PY.http_call_sync("PUT", "{base}/echo", {{ a = 1 }})
print(t.data, t.headers["x-content-type"])
local n = _PY.http_call_sync("GET", "{base}/status/404")
print(n.success, n.status_code)
local f = _PY.http_call_sync("GET", "http://127.0.0.1:{free_port()}/")
print(f.success, f.error)
""")
    check("http_call_sync: POST with body and headers",
          "true\t200\t3\ttrue\tsync\tPOST" in out, out + err)
    check("http_call_sync: blocks the loop", "blocked\tfalse" in out, out + err)
    check("http_call_sync: table data sent as JSON", '{"a":1}\tapplication/json' in out, out + err)
    check("http_call_sync: 404 is success", "true\t404" in out, out + err)
    check("http_call_sync: refused → success=false with message",
          re.search(r"false\t.*refused", out, re.I) is not None, out + err)


def test_tls():
    d = os.path.join(TMP, "tls")
    os.makedirs(d, exist_ok=True)
    key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       capture_output=True, timeout=60)
    if p.returncode != 0:
        check("tls: openssl made a certificate", False, p.stderr.decode())
        return
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv, port = start_python_server(ctx)
    url = f"https://127.0.0.1:{port}/echo"
    rc, out, err = run_lua(lua_request(url, "{timeout = 10000}"))
    check("tls: self-signed certificate rejected by default",
          re.search(r"error\t.*certificate", out, re.I) is not None, out + err)
    rc, out, err = run_lua(lua_request(url, "{checkCertificate = false, timeout = 10000}"))
    check("tls: accepted with checkCertificate = false", "status\t200" in out, out + err)
    srv.shutdown()


# ---------------------------------------------------------------- server

SERVER_SCRIPT = r"""
local server = net.HTTPServer()
server:start("127.0.0.1", 0, function(method, path, body, req)
  local p = req.path
  if p == "/query" then
    return { method = method, path = path, q = req.query }, 200
  elseif p == "/echo" then
    return body, 200, { ["Content-Type"] = "application/octet-stream", ["X-Len"] = #body }
  elseif p == "/sniff" then
    return body
  elseif p == "/json" then
    return { a = 1, list = { 1, 2, 3 } }
  elseif p == "/text" then
    return "hello"
  elseif p == "/jsontext" then
    return '{"x": [1, 2]}'
  elseif p == "/info" then
    return { ua = req.headers["User-Agent"], x = req.headers["x-test"], ip = req.client_ip,
             port = math.type(req.client_port), tostr = tostring(req) }
  elseif p == "/headers" then
    -- the original plua's handler(method, path, body, headers): the 4th
    -- argument as a headers table
    local names = {}
    for k, v in pairs(req) do names[#names + 1] = k end
    table.sort(names)
    return { ua = req["User-Agent"], x = req["x-test"], X = req["X-TEST"], names = names,
             encoded = json.decode(json.encode(req)), nested = json.decode(json.encode({ h = req })).h,
             method = req.method }
  elseif p == "/defer" then
    setTimeout(function() req:respond("later", 201, { ["X-Deferred"] = "yes" }) end, 200)
    return
  elseif p == "/sleep" then
    sleep(100)
    return "slept"
  elseif p == "/error" then
    error("boom in handler")
  elseif p == "/big" then
    return string.rep("x", 1048576)
  elseif p == "/created" then
    return nil, 204
  elseif p == "/quit" then
    setTimeout(function() server:stop(); print("stopped") end, 50)
    return "bye"
  end
  return "not found: " .. path, 404
end)
print("PORT " .. server:port())
print(tostring(server))
"""


def curl(*args, timeout=20):
    p = subprocess.run(["curl", "-s", "--max-time", "15", *args], capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def curl_status(url, *args):
    rc, out, err = curl("-o", "/dev/null", "-w", "%{http_code}", url, *args)
    return out.decode()


def head_raw(port, path):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


def test_server():
    path = os.path.join(TMP, "server.lua")
    with open(path, "w") as f:
        f.write(SERVER_SCRIPT)
    proc = subprocess.Popen([PLUA, "--noapi", "--duration", "60", path],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=TMP)
    line = proc.stdout.readline().decode()
    m = re.match(r"PORT (\d+)", line)
    if not m:
        proc.kill()
        check("server: started on port 0", False, line + proc.stderr.read().decode())
        return
    port = int(m.group(1))
    base = f"http://127.0.0.1:{port}"
    line2 = proc.stdout.readline().decode()
    check("server: tostring", f"HTTPServer http://127.0.0.1:{port}" in line2, line2)

    rc, out, err = curl(base + "/query?a=1&b=hello%20world&c=")
    try:
        j = json.loads(out)
    except ValueError:
        j = {}
    check("server: GET with a query string",
          j.get("method") == "GET" and j.get("path") == "/query?a=1&b=hello%20world&c="
          and j.get("q") == {"a": "1", "b": "hello world", "c": ""}, out)

    rc, out, err = curl("-D", "-", base + "/json")
    check("server: table body sent as JSON with application/json",
          b"application/json" in out.split(b"\r\n\r\n")[0]
          and json.loads(out.split(b"\r\n\r\n", 1)[1]) == {"a": 1, "list": [1, 2, 3]}, out)

    rc, out, err = curl("-D", "-", base + "/text")
    check("server: string body sniffed as text/plain",
          re.search(rb"content-type: text/plain", out, re.I) is not None and out.endswith(b"hello"), out)
    rc, out, err = curl("-D", "-", base + "/jsontext")
    check("server: JSON-looking string sniffed as application/json",
          re.search(rb"content-type: application/json", out, re.I) is not None, out)

    rc, out, err = curl("-X", "POST", "--data-binary", "some body", base + "/echo")
    check("server: POST with a body", out == b"some body", out)

    # Content sniffing reads the body with json.decode's reader and its limit:
    # 200,000 levels used to run json-glib's recursive parser off the stack.
    deep_file = os.path.join(TMP, "deep.json")
    with open(deep_file, "w") as f:
        f.write("[" * 200000 + "]" * 200000)
    rc, out, err = curl("-D", "-", "--data-binary", "@" + deep_file, base + "/sniff")
    check("server: a 200k-level body echoed back as text, no crash",
          re.search(rb"content-type: text/plain", out, re.I) is not None and
          out.split(b"\r\n\r\n", 1)[-1] == b"[" * 200000 + b"]" * 200000, out[:200])
    rc, out, err = curl("-D", "-", "--data-binary", '{"a": [1, 2]}', base + "/sniff")
    check("server: an echoed JSON body is sniffed as application/json",
          re.search(rb"content-type: application/json", out, re.I) is not None, out[:200])

    rc, out, err = curl("-H", "X-Test: hi", "-A", "plua-test/1", base + "/info")
    j = json.loads(out or b"{}")
    check("server: request headers, client ip/port, tostring",
          j.get("ua") == "plua-test/1" and j.get("x") == "hi" and j.get("ip") == "127.0.0.1"
          and j.get("port") == "integer" and j.get("tostr") == "HTTPRequest GET /info", out)

    rc, out, err = curl("-H", "X-Test: hi", "-A", "plua-test/1", base + "/headers")
    j = json.loads(out or b"{}")
    sent = {"accept": "*/*", "host": f"127.0.0.1:{port}", "user-agent": "plua-test/1", "x-test": "hi"}
    check("server: the 4th handler argument is the headers table too (index, pairs, json.encode)",
          j.get("ua") == "plua-test/1" and j.get("x") == "hi" and j.get("X") == "hi"
          and j.get("names") == sorted(sent) and j.get("encoded") == sent and j.get("nested") == sent
          and j.get("method") == "GET", out)

    rc, out, err = curl("-v", base + "/text", base + "/json")
    check("server: keep-alive (connection reused by curl)",
          re.search(r"Re-?using existing connection", err) is not None and out.startswith(b"hello"), err[-500:])

    chunk_file = os.path.join(TMP, "chunked.bin")
    data = os.urandom(300_000)
    with open(chunk_file, "wb") as f:
        f.write(data)
    rc, out, err = curl("-H", "Transfer-Encoding: chunked", "--data-binary", "@" + chunk_file,
                        base + "/echo")
    check("server: chunked upload", out == data, f"{len(out)} bytes back")

    big_file = os.path.join(TMP, "big.bin")
    with open(big_file, "wb") as f:
        f.write(BIG)
    rc, out, err = curl("--data-binary", "@" + big_file, base + "/echo")
    check("server: 1 MiB request body round-trip", out == BIG, f"{len(out)} bytes back")
    rc, out, err = curl(base + "/big")
    check("server: 1 MiB response body", out == b"x" * 1048576, f"{len(out)} bytes")

    bin_file = os.path.join(TMP, "binary.bin")
    with open(bin_file, "wb") as f:
        f.write(BINARY)
    rc, out, err = curl("--data-binary", "@" + bin_file, base + "/echo")
    check("server: binary body with NUL bytes round-trip", out == BINARY, repr(out[:40]))

    raw = head_raw(port, "/text")
    head, _, rest = raw.partition(b"\r\n\r\n")
    check("server: HEAD sends headers and no body",
          head.startswith(b"HTTP/1.1 200") and b"Content-Length: 5" in head and rest == b"", raw)

    t0 = time.monotonic()
    rc, out, err = curl("-D", "-", base + "/defer")
    elapsed = time.monotonic() - t0
    check("server: deferred respond from a timer",
          out.startswith(b"HTTP/1.1 201") and b"X-Deferred: yes" in out and out.endswith(b"later")
          and elapsed >= 0.15, out)

    rc, out, err = curl(base + "/sleep")
    check("server: handler may sleep", out == b"slept", out)

    check("server: handler error → 500", curl_status(base + "/error") == "500")
    check("server: next request after an error is OK", curl_status(base + "/text") == "200")
    check("server: nil body with status", curl_status(base + "/created") == "204")
    check("server: unknown path → handler's 404", curl_status(base + "/nope") == "404")

    # Port already in use: a second plua on the same port.
    rc, out2, err2 = run_lua(f"""
local s = net.HTTPServer()
local ok, e = pcall(s.start, s, "127.0.0.1", {port}, function() return "x" end)
print(ok, e)
print(tostring(s))
""")
    check("server: port already in use raises a clear error",
          re.search(rf"false\tHTTPServer: cannot listen on 127.0.0.1:{port}: .*in use", out2) is not None
          and "not listening" in out2 and rc == 0, out2 + err2)

    # Handler's stderr report, then stop from a request: the script ends by itself.
    curl(base + "/quit")
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    out, err = out.decode(), err.decode()
    check("server: stop() ends the run", "stopped" in out and proc.returncode == 1, f"rc={proc.returncode} {out}")
    check("server: handler error reported with traceback",
          "boom in handler" in err and "traceback" in err, err)


def test_server_misc():
    rc, out, err = run_lua("""
local s = net.HTTPServer()
print(tostring(s))
local ok, e = pcall(s.start, s, "127.0.0.1", 0, "not a function")
print(ok, e)
s:start("127.0.0.1", 0, function() return "x" end)
local ok2, e2 = pcall(s.start, s, "127.0.0.1", 0, function() end)
print(ok2, e2)
print(s:stop(), s:stop())
""")
    check("server: argument errors, double start, stop twice",
          "HTTPServer (not listening)" in out and "handler must be a function" in out
          and "already listening" in out and "true\tfalse" in out and rc == 0, out + err)


def main():
    srv, port = start_python_server()
    try:
        test_client(port)
        test_http_call_sync(port)
        test_tls()
        test_server()
        test_server_misc()
    finally:
        srv.shutdown()
    if FAILURES:
        print(f"# {len(FAILURES)} failed: {', '.join(FAILURES)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
