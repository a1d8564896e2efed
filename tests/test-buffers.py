#!/usr/bin/env python3
"""Buffers that a peer could grow without bound stay bounded.

usage: test-buffers.py PLUA

- A /ws client that never reads while plua prints 100 MB: plua's RSS grows by
  less than 40 MB, and once the client reads it is told how many lines were
  dropped (the oldest go first), and gets the newest.
- net.HTTPClient: a body over maxResponseSize (default 64 MiB; here set lower)
  is an error naming the limit, a gzip answer is capped after inflation (a
  1 MiB gzip of 1 GiB of zeros). (A chunked answer cut between two chunks is
  still a success: libsoup 3.2.3 reads that as a clean end of the body.)
"""
import base64
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import zlib

from apitest import ApiPlua, check, run_tests

PLUA = os.path.abspath(sys.argv[1])
HERE = os.path.dirname(os.path.abspath(__file__))


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def ws_connect(port, token):
    s = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /ws?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    return s, head


def test_ws_slow_reader():
    env = dict(os.environ)
    if "ASAN_OPTIONS" in env:
        # ASan holds freed blocks in a 256 MB quarantine, which would count as growth
        env["ASAN_OPTIONS"] += ":quarantine_size_mb=4:thread_local_quarantine_size_kb=64"
    p = ApiPlua(PLUA, ["-e", "setTimeout(function() end, 120000)"], env)
    try:
        # plua's stdout gets the 100 MB too: drained here
        threading.Thread(target=lambda: [None for _ in iter(lambda: p.proc.stdout.read(1 << 16), "")],
                         daemon=True).start()
        s, head = ws_connect(p.port, p.token)
        check("/ws handshake", head.startswith(b"HTTP/1.1 101"), head)
        before = rss_kib(p.proc.pid)
        import http.client
        import json
        for _ in range(10):
            c = http.client.HTTPConnection("127.0.0.1", p.port, timeout=60)
            c.request("POST", "/plua/execute",
                      json.dumps({"code": "local l = string.rep('x', 1000) for i = 1, 10000 do print(l) end",
                                  "timeout": 60}), p.auth())
            c.getresponse().read()
            c.close()
        c = http.client.HTTPConnection("127.0.0.1", p.port, timeout=60)
        c.request("POST", "/plua/execute", json.dumps({"code": "print('the last line')"}), p.auth())
        c.getresponse().read()
        grown = (rss_kib(p.proc.pid) - before) / 1024
        check("a /ws client that never reads: 100 MB printed, RSS grows < 40 MB", grown < 40, f"{grown:.1f} MB")
        s.settimeout(10)
        data = b""
        deadline = time.monotonic() + 20
        while b"the last line" not in data and time.monotonic() < deadline:
            try:
                chunk = s.recv(1 << 20)
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
            data = data[-(4 << 20):]
        check("...once it reads, it is told lines were dropped", b"lines dropped" in data, data[-300:])
        check("...and gets the newest line", b"the last line" in data, data[-300:])
        c = http.client.HTTPConnection("127.0.0.1", p.port, timeout=10)
        c.request("GET", "/plua/status")
        check("the server is still answering", c.getresponse().status == 200)
    finally:
        p.stop()

# A peer answering by path: /big (2 MB plain), /gzip (a 1 MiB gzip of 1 GiB
# of zeros), /cut (chunked, closed before the last chunk), /ok.
class Peer(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    GZ = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/big":
            body = b"y" * 2_000_000
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/gzip":
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(Peer.GZ)))
            self.end_headers()
            self.wfile.write(Peer.GZ)
        elif self.path == "/cut":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"5\r\nhello\r\n")
            self.wfile.flush()
            self.close_connection = True
        else:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")


def gzip_bomb():
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    return b"".join(z.compress(block) for _ in range(1024)) + z.flush()


CLIENT = """
local base = "http://127.0.0.1:" .. os.getenv("PEER_PORT")
local function get(path, client, done)
  client:request(base .. path, {
    success = function(r) print(path, "success", r.status, #r.data) done() end,
    error = function(e) print(path, "error", e) done() end,
  })
end
local small = net.HTTPClient({ maxResponseSize = 1000000 })
local default = net.HTTPClient()
local steps = {
  function(d) get("/big", small, d) end,
  function(d) get("/ok", small, d) end,
  function(d) get("/gzip", default, d) end,
  function(d) get("/cut", default, d) end,
  function(d) get("/ok", default, d) end,
}
local i = 0
local function next_step() i = i + 1 if steps[i] then steps[i](next_step) end end
next_step()
"""


def test_http_client_caps():
    Peer.GZ = gzip_bomb()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Peer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        t0 = time.monotonic()
        r = subprocess.run([PLUA, "--noapi", "-e", CLIENT], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, PEER_PORT=str(server.server_address[1])))
        lines = r.stdout.splitlines()
        out = dict((line.split("\t")[0] + str(i), line) for i, line in enumerate(lines))
        check("a body over maxResponseSize is an error naming the limit",
              len(lines) > 0 and "error\tresponse body larger than maxResponseSize (1000000 bytes)" in lines[0],
              (lines, r.stderr))
        check("the client still works after", len(lines) > 1 and lines[1] == "/ok\tsuccess\t200\t2", lines)
        check("a 1 MiB gzip of 1 GiB is capped at the default 64 MiB, after inflation",
              len(lines) > 2 and "maxResponseSize (67108864 bytes)" in lines[2], lines)
        check("after a chunked answer cut short, the next request succeeds",
              len(lines) > 4 and lines[4] == "/ok\tsuccess\t200\t2", lines)
        check("done in seconds, RSS never held the inflated body", r.returncode == 0 and time.monotonic() - t0 < 30,
              (r.returncode, r.stderr))
    finally:
        server.shutdown()


run_tests(test_ws_slow_reader, test_http_client_caps)
