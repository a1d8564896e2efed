#!/usr/bin/python3
"""The REST API server: routes, /plua/execute rules, safety, port handling, /ws.

Every plua started here listens on --api-port 0 (a free port) except the one
check of the default-port warning, which occupies 8888 itself and is skipped
(not counted as passed) when 8888 is already taken on this machine.
Usage: test-api.py PATH/TO/plua
"""
import asyncio
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

from apitest import ApiPlua, check, failed, read_response, skip

PLUA = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PLUA", "plua")


class Plua(ApiPlua):
    """A plua process with its API server; stderr is collected by a thread."""

    def __init__(self, *args, env=None, host="127.0.0.1"):
        super().__init__(PLUA, args, dict(os.environ, **(env or {})), host=host)

    def request(self, method, path, body=None, headers=None, timeout=15, auth=True):
        """auth: send the printed token, as a user's client would (headers
        given here win over it)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            conn.request(method, path, body=body, headers={**(self.auth() if auth else {}), **(headers or {})})
            return read_response(conn.getresponse())
        finally:
            conn.close()

    def execute(self, code, timeout=None, headers=None, auth=True, path="/plua/execute"):
        body = {"code": code}
        if timeout is not None:
            body["timeout"] = timeout
        status, parsed, _, _ = self.request("POST", path, body, headers, auth=auth)
        return status, parsed


def test_routes(p):
    status, body, headers, _ = p.request("GET", "/")
    check("GET / lists the routes", status == 200 and any(r["path"] == "/plua/execute" for r in body["routes"]),
          body)
    check("no permissive CORS header", "access-control-allow-origin" not in headers, headers)
    status, body, _, _ = p.request("GET", "/openapi.json")
    check("GET /openapi.json is OpenAPI 3 with the routes",
          status == 200 and body["openapi"].startswith("3.") and "/plua/execute" in body["paths"], status)
    check("GET /openapi.json merges the HC3 routes under /api with their schemas",
          "/api/devices/{deviceID}" in body["paths"] and "/api/{path}" not in body["paths"] and
          "Device" in body.get("components", {}).get("schemas", {}) and
          any(t.get("name") == "devices" for t in body.get("tags", [])), sorted(body["paths"])[:5])
    status, _, headers, raw = p.request("GET", "/docs")
    check("GET /docs: the docs page from the bundle",
          status == 200 and headers["content-type"].startswith("text/html") and b"docs.js" in raw and
          "content-security-policy" in headers, (status, headers))
    status, _, headers, raw = p.request("GET", "/static/docs.js")
    check("GET /static/docs.js", status == 200 and b"openapi.json" in raw and b"innerHTML" not in raw, status)
    status, body, _, _ = p.request("GET", "/plua/status")
    check("GET /plua/status", status == 200 and body["status"] == "running" and
          body["lua_memory_bytes"] > 0 and body["uptime"] >= 0 and
          all(k in body for k in ("active_timers", "timers", "sockets", "servers", "total_tasks")), body)
    status, body, _, _ = p.request("GET", "/plua/info")
    check("GET /plua/info", status == 200 and body["api_version"] == "1.0.0" and body["runtime_active"] and
          "active_timers" in body["runtime_state"] and body["api"]["port"] == p.port, body)
    status, body, _, _ = p.request("GET", "/plua/state")
    check("GET /plua/state works (200, task_info, active_timers)",
          status == 200 and "task_info" in body and "active_timers" in body and
          body["runtime_info"]["initialized"] is True, body)
    status, body, _, _ = p.request("GET", "/no/such/route")
    check("unknown route: 404 with JSON", status == 404 and "error" in body, (status, body))
    status, body, headers, _ = p.request("GET", "/plua/execute")
    check("GET /plua/execute: 405", status == 405 and headers.get("allow") == "POST", (status, headers))


def test_execute(p):
    status, body = p.execute("return 2 + 3")
    check("execute: statement with return", status == 200 and body["success"] and body["result"] == 5, body)
    check("execute: response shape", set(body) == {"success", "result", "output", "error",
                                                   "execution_time_ms", "request_id"}, body)
    status, body = p.execute("2 + 3")
    check("execute: expression", status == 200 and body["result"] == 5, body)
    p.execute("shared_value = 42")
    status, body = p.execute("return shared_value")
    check("execute: globals persist between calls", body["result"] == 42, body)
    status, body = p.execute("return start_value")
    check("execute: shares globals with the script", body["result"] == "from script", body)
    p.execute("function bump() bumps = (bumps or 0) + 1 error('bump failed') end")
    status, body = p.execute("bump()")
    check("execute: runtime error is 200 with success false",
          status == 200 and body["success"] is False and "bump failed" in body["error"], body)
    status, body = p.execute("return bumps")
    check("execute: an expression that raises runs once, not twice", body["result"] == 1, body)
    status, body = p.execute("return {1, 2, {a = 1}}")
    check("execute: tables as JSON", body["result"] == [1, 2, {"a": 1}], body)
    status, body = p.execute("return 1, 'two', nil")
    check("execute: several values as an array", body["result"] == [1, "two", None], body)
    status, body = p.execute("return print")
    check("execute: a function as its tostring",
          body["success"] and str(body["result"]).startswith("function"), body)
    status, body = p.execute("print('hello') print('a', 'b') return 7")
    check("execute: output captured", body["output"] == "hello\na\tb" and body["result"] == 7, body)
    status, body = p.execute("invalid lua !!")
    check("execute: syntax error is 400 with the message",
          status == 400 and body["success"] is False and body["error"].startswith("web:1:"), (status, body))
    status, body = p.execute("error('boom')")
    check("execute: error() message with position", status == 200 and "web:1: boom" in body["error"], body)
    status, body = p.execute("sleep(100) return 'woke'")
    check("execute: code may sleep", status == 200 and body["result"] == "woke", body)
    status, body = p.execute("return #('a\u0000b') .. '|' .. 'after the NUL'")
    check("execute: code with \\u0000 is run whole, not cut at the NUL",
          status == 200 and body["result"] == "3|after the NUL", (status, body))
    status, body = p.execute("return 'caf\\xe9'")
    check("execute: invalid UTF-8 in a result does not break the JSON", status == 200, (status, body))


def test_bad_requests(p):
    cases = [
        ("bad JSON", "{bad"),
        ("missing code", "{}"),
        ("code not a string", '{"code": 1}'),
        ("not an object", "[1]"),
        ("timeout not a number", '{"code": "return 1", "timeout": "x"}'),
        ("negative timeout", '{"code": "return 1", "timeout": -1}'),
        ("empty body", ""),
        ("deeply nested JSON", "[" * 100000),
        # json-glib reads comments and single-quoted strings: a depth check that
        # did not know them let these through to its recursive parser (SIGSEGV).
        ("nesting after a comment with a quote", '/*"*/' + "[" * 100000),
        ("nesting after a single-quoted quote", "['\"'," + "[" * 100000),
        ("65 levels", '{"code": "return 1", "x": ' + "[" * 65 + "]" * 65 + "}"),
    ]
    for name, body in cases:
        status, parsed, _, _ = p.request("POST", "/plua/execute", body, {"Content-Type": "application/json"})
        check(f"400 for {name}", status == 400 and isinstance(parsed, dict) and parsed.get("error"),
              (status, parsed))
    status, parsed, _, _ = p.request("POST", "/plua/execute", '/*"*/' + "[" * 100000)
    check("the nesting error says where", status == 400 and
          parsed["error"] == "invalid JSON: line 1 column 70: nesting deeper than 64 levels", parsed)
    status, body, _, _ = p.request("POST", "/plua/execute",
                                   '/* c */ {"code": "return 2", "x": ' + "[" * 63 + "]" * 63 + "}")
    check("64 levels of nesting and a comment are accepted", status == 200 and body["result"] == 2,
          (status, body))
    # Garbage on the socket: the server survives and answers the next request.
    with socket.create_connection(("127.0.0.1", p.port), timeout=5) as s:
        s.sendall(b"\x00\xffGARBAGE / HTTP/9.9\r\nFoo\r\n\r\n")
        try:
            s.recv(1000)
        except OSError:
            pass
    status, _, _, _ = p.request("GET", "/plua/status")
    check("malformed request does not bring the server down", status == 200, status)


def test_timeout(p):
    t = time.monotonic()
    status, body = p.execute("while true do end", timeout=0.5)
    elapsed = time.monotonic() - t
    check("timeout interrupts `while true do end` with 408",
          status == 408 and body["success"] is False and "timed out" in body["error"] and elapsed < 5,
          (status, body, elapsed))
    status, body = p.execute("return 1")
    check("the server answers the next request after a timeout", status == 200 and body["result"] == 1, body)
    status, body = p.execute("while true do pcall(function() while true do end end) end", timeout=0.3)
    check("timeout cannot be swallowed by pcall", status == 408, (status, body))
    status, body = p.execute("coroutine.wrap(function() while true do end end)()", timeout=0.3)
    check("timeout applies to coroutines the code creates", status == 408, (status, body))
    t = time.monotonic()
    status, body = p.execute("sleep(5000) slept_through = true", timeout=0.3)
    check("code sleeping past its timeout: 408", status == 408 and time.monotonic() - t < 3,
          (status, body))
    time.sleep(0.2)
    status, body = p.execute("return slept_through")
    check("...and it is closed, not resumed later", status == 200 and body["result"] is None, body)

    # A sleeping request does not block the others.
    result = {}
    th = threading.Thread(target=lambda: result.update(r=p.execute("sleep(800) return 'late'")))
    th.start()
    time.sleep(0.2)
    t = time.monotonic()
    status, body, _, _ = p.request("GET", "/plua/status")
    check("other requests are answered while one sleeps",
          status == 200 and time.monotonic() - t < 0.5 and body["api_requests_pending"] == 1, body)
    th.join(10)
    check("...and the sleeping one gets its answer", result.get("r", (0, {}))[1].get("result") == "late", result)


def test_fibaro_hook(p):
    status, body, _, _ = p.request("GET", "/api/devices?x=1")
    check("/api/... without the emulator: 503 with error", status == 503 and "error" in body, (status, body))
    p.execute("_PY.fibaro_api_hook = function(m, p, b) return {method = m, path = p, body = b}, 201 end")
    status, body, _, _ = p.request("put", "/api/devices/5?x=1", '{"a":1}')
    check("/api/... goes to _PY.fibaro_api_hook(method, path, body)",
          status == 201 and body == {"method": "PUT", "path": "/api/devices/5?x=1", "body": '{"a":1}'},
          (status, body))
    status, body, _, _ = p.request("GET", "/api/rooms")
    check("/api/...: GET body is \"\"", status == 201 and body["body"] == "", body)
    for name, bad in (("a comment", '/*"*/'), ("a single-quoted string", "['\"',")):
        status, body, _, _ = p.request("PUT", "/api/devices/5", bad + "[" * 100000)
        check(f"/api/...: deep nesting after {name} is a 400, not a crash",
              status == 400 and "nesting deeper than 64 levels" in body["error"], (status, body))
    status, body, _, _ = p.request("PUT", "/api/devices/5", "{'a': /* ok */ 1}")
    check("/api/...: the body goes to the hook as sent", status == 201 and body["body"] == "{'a': /* ok */ 1}",
          (status, body))
    p.execute("_PY.fibaro_api_hook = function() error('hook broke') end")
    status, body, _, _ = p.request("GET", "/api/rooms")
    check("/api/...: a failing hook gives 500 with the message",
          status == 500 and "hook broke" in body["message"], (status, body))
    p.execute("_PY.fibaro_api_hook = function() return nil, 404 end")
    status, body, _, _ = p.request("GET", "/api/rooms/99")
    check("/api/...: nil with 404 gives 404 with error", status == 404 and "error" in body, (status, body))


def test_origin_and_host(p):
    p.execute("cross_ran = false")
    status, body = p.execute("cross_ran = true", headers={"Origin": "http://evil.example"})
    check("cross-origin POST refused with 403", status == 403, (status, body))
    status, body = p.execute("return cross_ran")
    check("...and the code did not run", body["result"] is False, body)
    status, body = p.execute("return 'same'", headers={"Origin": f"http://127.0.0.1:{p.port}"})
    check("same-origin POST allowed", status == 200 and body["result"] == "same", (status, body))
    status, _, headers, _ = p.request("OPTIONS", "/plua/execute", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    check("cross-origin preflight refused, no CORS headers",
          status == 403 and not any(h.startswith("access-control") for h in headers), (status, headers))
    status, _, _, _ = p.request("GET", "/plua/status", headers={"Host": f"evil.example:{p.port}"})
    check("foreign Host refused on loopback (DNS rebinding)", status == 403, status)
    status, _, _, _ = p.request("GET", "/plua/status", headers={"Host": f"localhost:{p.port}"})
    check("Host localhost accepted", status == 200, status)


def test_body_limit():
    p = Plua("--api-max-body", "1000")
    try:
        status, body, _, _ = p.request("POST", "/plua/execute", json.dumps({"code": "return 1", "pad": "x" * 2000}))
        check("body over --api-max-body: 413", status == 413 and "error" in body, (status, body))
        status, body, _, _ = p.request("POST", "/plua/execute", json.dumps({"code": "return 1", "pad": "x" * 800}))
        check("body under --api-max-body: 200", status == 200 and body["result"] == 1, (status, body))
        conn = http.client.HTTPConnection("127.0.0.1", p.port, timeout=15)
        conn.putrequest("POST", "/plua/execute")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for _ in range(4):
            conn.send(b"200\r\n" + b"x" * 512 + b"\r\n")
        conn.send(b"0\r\n\r\n")
        r = conn.getresponse()
        r.read()
        conn.close()
        check("chunked body over the limit: 413", r.status == 413, r.status)
        status, _, _, _ = p.request("GET", "/plua/status")
        check("server fine after oversized bodies", status == 200, status)
    finally:
        p.stop()
    p = Plua()
    try:
        status, _, _, _ = p.request("POST", "/plua/execute", "x" * (1024 * 1024 + 10))
        check("default limit 1 MiB: 413", status == 413, status)
    finally:
        p.stop()


def test_token():
    # 127.0.0.2 is a loopback address too, but plua treats every address
    # other than 127.0.0.1, ::1 and localhost as "not loopback": it stands
    # for a LAN address here, which the test sandbox may not have.
    p = Plua("--api-host", "127.0.0.2", host="127.0.0.2")
    try:
        if p.port is None:
            skip("token on a non-loopback address", "cannot listen on 127.0.0.2: " + "".join(p.stderr))
            return
        check("non-loopback: a token is generated and printed on stderr", p.token is not None and
              len(p.token) >= 32, "".join(p.stderr))
        status, body, headers, _ = p.request("GET", "/plua/status", auth=False)
        check("non-loopback: no token, 401", status == 401 and "bearer" in headers.get("www-authenticate", "").lower(),
              (status, body))
        status, _, _, _ = p.request("GET", "/plua/status", headers={"Authorization": "Bearer wrong"})
        check("non-loopback: wrong token, 401", status == 401, status)
        status, body = p.execute("return 1", headers={"Authorization": f"Bearer {p.token}"})
        check("non-loopback: right token, 200", status == 200 and body["result"] == 1, (status, body))
        status, _ = p.execute("return 1", auth=False)
        check("non-loopback: execute without token, 401", status == 401, status)
        status, _, _, _ = p.request("GET", "/web", auth=False)
        check("non-loopback: the page needs no token", status != 401, status)
        status, _, _, _ = p.request("GET", "/api/devices", auth=False)
        check("non-loopback: /api needs the token", status == 401, status)
        status, _, _, _ = p.request("GET", "/plua/status", headers={"X-Plua-Token": p.token}, auth=False)
        check("non-loopback: the token in X-Plua-Token, 200", status == 200, status)
        status, _, _, _ = p.request("GET", "/docs", auth=False)
        check("non-loopback: the docs page needs no token", status == 200, status)
        url = f"ws://127.0.0.2:{p.port}/ws"
        check("non-loopback: /ws without token refused", ws_refused(url), url)
        check("non-loopback: /ws?token= accepted", not ws_refused(url + "?token=" + p.token), url)
    finally:
        p.stop()
    p = Plua(env={"PLUA_API_TOKEN": "s3cret-token"})
    try:
        status, _, _, _ = p.request("GET", "/plua/status", auth=False)
        check("PLUA_API_TOKEN: required on loopback too", status == 401, status)
        status, _, _, _ = p.request("GET", "/plua/status", headers={"Authorization": "Bearer s3cret-token"})
        check("PLUA_API_TOKEN: accepted", status == 200, status)
        check("PLUA_API_TOKEN: not printed", "s3cret-token" not in "".join(p.stderr), p.stderr)
    finally:
        p.stop()


def test_code_token(p):
    """Jupyter-style: the routes that run code need the printed token on loopback too."""
    check("loopback: a token is printed, and the web REPL URL carries it",
          p.token is not None and len(p.token) >= 32 and p.web_url == f"http://127.0.0.1:{p.port}/web?token={p.token}",
          "".join(p.stderr))
    status, body = p.execute("return 1", auth=False)
    check("loopback: /plua/execute without the token, 401", status == 401, (status, body))
    status, body = p.execute("return 1", headers={"Authorization": "Bearer wrong"})
    check("loopback: /plua/execute with a wrong token, 401", status == 401, (status, body))
    status, body = p.execute("return 1", headers={"X-Plua-Token": p.token}, auth=False)
    check("loopback: the token in X-Plua-Token", status == 200 and body["result"] == 1, (status, body))
    status, body = p.execute("return 1", auth=False, path="/plua/execute?token=" + p.token)
    check("loopback: ?token= is not taken on /plua/execute (only /ws and page loads)", status == 401, status)
    status, _, _, _ = p.request("GET", "/plua/status", auth=False)
    check("loopback: the other routes keep today's rules (no token)", status == 200, status)
    status, _, _, _ = p.request("GET", "/api/devices", auth=False)
    check("loopback: /api keeps today's rules (no token)", status != 401, status)
    status, _, headers, _ = p.request("GET", f"/web?token={p.token}", auth=False)
    cookie = headers.get("set-cookie", "")
    check("opening the printed URL sets the token as a cookie and drops it from the address bar",
          status == 302 and headers.get("location", "").endswith(f":{p.port}/web") and cookie.startswith(f"plua-token-{p.port}={p.token}")
          and "HttpOnly" in cookie and "SameSite=Strict" in cookie, (status, headers))
    jar = cookie.split(";")[0]
    status, body = p.execute("return 'cookie'", headers={"Cookie": jar}, auth=False)
    check("the cookie authorizes /plua/execute", status == 200 and body["result"] == "cookie", (status, body))
    status, _, headers, _ = p.request("GET", "/web?token=wrong", auth=False)
    check("a wrong ?token= sets no cookie", status == 302 and "set-cookie" not in headers, headers)
    status, _, _, _ = p.request("GET", "/web", auth=False)
    check("the page itself needs no token", status == 200, status)
    url = f"ws://127.0.0.1:{p.port}/ws"
    check("/ws: the cookie is accepted", not ws_refused(url, cookie=jar), url)
    check("/ws: another port's cookie is not", ws_refused(url, cookie=f"plua-token-1={p.token}"), url)


def test_csrf(p):
    """No web page can change state through plua, whatever the method."""
    p.execute("csrf_calls = 0 _PY.fibaro_api_unknown_routes = true "
              "_PY.fibaro_api_hook = function() csrf_calls = csrf_calls + 1 return {}, 202 end")
    foreign = [{"Origin": "http://evil.example"}, {"Origin": "null"},
               {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
               {"Referer": "http://evil.example/page"},
               {"Referer": f"http://127.0.0.1:{p.port}.evil.example/"}]
    routes = ["/api/callAction?deviceID=5&name=turnOn", "/api/plugins/callUIEvent?deviceID=5&elementName=b",
              "/api/scenes/10/execute", "/api/devices/5/action/turnOn"]
    refused = []
    for route in routes:
        for method in ("GET", "HEAD", "POST"):
            for h in foreign:
                status, _, _, _ = p.request(method, route, "{}" if method == "POST" else None, headers=h)
                if status != 403:
                    refused.append((method, route, h, status))
    check("cross-site requests refused on state-changing routes whatever the method", not refused, refused)
    status, body = p.execute("return csrf_calls")
    check("...and none of them reached the emulator", body["result"] == 0, body)
    status, _, _, _ = p.request("GET", routes[0])
    check("an HC3 client sending no Origin/Referer/Sec-Fetch-Site still works", status == 202, status)
    status, _, _, _ = p.request("GET", routes[0], headers={"Sec-Fetch-Site": "same-origin",
                                                          "Referer": f"http://127.0.0.1:{p.port}/docs"})
    check("a same-origin page (Sec-Fetch-Site, Referer) is allowed", status == 202, status)
    status, _, _, _ = p.request("GET", "/web", headers={"Sec-Fetch-Site": "cross-site"}, auth=False)
    check("the page may be opened from a link elsewhere", status == 200, status)
    status, _, _, _ = p.request("GET", "/api/devices/5/action/turnOn?arg1=1")
    check("GET on a device action reaches the emulator (not 405)", status == 202, status)
    before = len(p.stderr)
    status, body, _, _ = p.request("POST", "/api/no/such/route", "{bad json")
    check("unknown /api route with bad JSON: 400 naming the JSON error",
          status == 400 and "invalid JSON body" in body.get("error", ""), (status, body))
    time.sleep(0.1)
    check("...and no GError warning", not any("GError" in line for line in p.stderr[before:]), p.stderr[before:])
    p.execute("_PY.fibaro_api_unknown_routes = nil")


def test_token_file(tmp):
    path = os.path.join(tmp, "token")
    with open(path, "w") as f:
        f.write("  from-a-file  \nsecond line ignored\n")
    p = Plua("--api-token-file", path)
    try:
        status, _, _, _ = p.request("GET", "/plua/status", headers={"Authorization": "Bearer from-a-file"})
        check("--api-token-file: the token is the file's first line", status == 200, status)
        status, _, _, _ = p.request("GET", "/plua/status", auth=False)
        check("--api-token-file: required on every route", status == 401, status)
        check("--api-token-file: not printed", "from-a-file" not in "".join(p.stderr), p.stderr)
    finally:
        p.stop()
    open(path, "w").close()
    r = subprocess.run([PLUA, "--api-token-file", path, "-e", "print(1)"], capture_output=True, text=True,
                       timeout=20, stdin=subprocess.DEVNULL)
    check("--api-token-file: an empty file is an error", r.returncode == 1 and "holds no token" in r.stderr,
          (r.returncode, r.stderr))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_port_in_use():
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        p = subprocess.run([PLUA, "--api-port", str(port), "-e", "print('should not run')"],
                           capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
        check("explicit port in use: exit status 1", p.returncode == 1, (p.returncode, p.stderr))
        check("explicit port in use: the error names the port", str(port) in p.stderr and "in use" in p.stderr,
              p.stderr)
        check("explicit port in use: names the holder process", "python" in p.stderr, p.stderr)
        check("explicit port in use: the script does not run", p.stdout == "", p.stdout)
    finally:
        holder.close()

    try:
        holder = socket.socket()
        holder.bind(("127.0.0.1", 8888))
        holder.listen()
    except OSError:
        skip("default port in use: warning and the run goes on", "port 8888 is already in use on this machine")
        return
    try:
        p = subprocess.run([PLUA, "-e", "setTimeout(function() print('ran') end, 50)"],
                           capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
        check("default port in use: the run goes on", p.returncode == 0 and p.stdout == "ran\n",
              (p.returncode, p.stdout, p.stderr))
        check("default port in use: one-line warning naming 8888",
              "warning" in p.stderr and "8888" in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr)
    finally:
        holder.close()


def test_banner():
    """A script that starts the server: one line on stderr, a URL a browser opens."""
    for host in ("127.0.0.1", "0.0.0.0"):
        p = subprocess.run([PLUA, "--api-port", "0", "--api-host", host, "-e", "setTimeout(function() os.exit(0) end, 50)"],
                           capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
        lines = p.stderr.strip().splitlines()
        check(f"--api-host {host}: one banner line on stderr", p.returncode == 0 and len(lines) == 1, p.stderr)
        check(f"--api-host {host}: the URLs are http://127.0.0.1:PORT, never 0.0.0.0",
              re.search(r"listening on http://127\.0\.0\.1:\d+/, web REPL at http://127\.0\.0\.1:\d+/web\?token=[0-9a-f]{32}$",
                        p.stderr.strip()) is not None and "0.0.0.0" not in p.stderr, p.stderr)


def test_lifetime():
    t = time.monotonic()
    p = subprocess.run([PLUA, "-e", "print(1)"], capture_output=True, text=True, timeout=20,
                       stdin=subprocess.DEVNULL)
    check("plain `plua -e 'print(1)'` exits at once without binding a port",
          p.returncode == 0 and p.stdout == "1\n" and "listening" not in p.stderr and time.monotonic() - t < 5,
          (p.returncode, p.stderr))
    p = subprocess.run([PLUA, "-e", "setTimeout(function() print('t') end, 300)"], capture_output=True,
                       text=True, timeout=20, stdin=subprocess.DEVNULL)
    check("a script with a timer: server up meanwhile, run still ends when idle",
          p.returncode == 0 and p.stdout == "t\n", (p.returncode, p.stdout, p.stderr))
    proc = Plua("-e", "print('up')")
    try:
        time.sleep(1.0)
        check("--api-port given: the server keeps the run alive", proc.proc.poll() is None, proc.stderr)
    finally:
        check("...until SIGTERM (status 0)", proc.stop() == 0, proc.stderr)
    t = time.monotonic()
    p = subprocess.run([PLUA, "--api-port", "0", "--duration", "0.5", "-e", "print(1)"], capture_output=True,
                       text=True, timeout=20, stdin=subprocess.DEVNULL)
    check("--api-port with --duration ends the run", p.returncode == 0 and time.monotonic() - t < 5,
          (p.returncode, p.stderr))


def ws_refused(url, origin=None, cookie=None):
    """True when the server refuses the WebSocket handshake (checked over
    plain HTTP: a refused handshake leaves the connection open)."""
    m = re.match(r"ws://([^:/]+):(\d+)(/.*)", url)
    conn = http.client.HTTPConnection(m.group(1), int(m.group(2)), timeout=10)
    headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    if origin:
        headers["Origin"] = origin
    if cookie:
        headers["Cookie"] = cookie
    try:
        conn.request("GET", m.group(3), headers=headers)
        status = conn.getresponse().status
    finally:
        conn.close()
    return status != 101


def test_ws():
    try:
        import websockets
    except ImportError:
        skip("/ws", "python3-websockets is not installed")
        return
    p = Plua("-e", "n = 0 setInterval(function() n = n + 1 print('tick ' .. n) end, 100)")
    try:
        url = f"ws://127.0.0.1:{p.port}/ws?token={p.token}"

        async def receive():
            async with websockets.connect(url, open_timeout=5) as ws:
                timer_line = json.loads(await asyncio.wait_for(ws.recv(), 5))
                status, body = await asyncio.to_thread(p.execute, "print('from the web')")
                for _ in range(50):
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    if msg["text"] == "from the web":
                        return timer_line, msg
                return timer_line, None
        timer_line, web_line = asyncio.run(asyncio.wait_for(receive(), 20))
        check("/ws receives a line printed by a timer",
              timer_line["type"] == "output" and timer_line["text"].startswith("tick "), timer_line)
        check("/ws receives what web requests print", web_line is not None, web_line)
        check("/ws from another origin refused", ws_refused(url, origin="http://evil.example"), url)
        check("/ws from the same origin accepted", not ws_refused(url, origin=f"http://127.0.0.1:{p.port}"), url)
        check("/ws without the token refused on loopback too", ws_refused(url.split("?")[0]), url)
    finally:
        p.stop()


def main():
    p = Plua("-e", "start_value = 'from script'")
    if p.port is None:
        check("server starts on --api-port 0 and prints where", False, "".join(p.stderr))
        p.stop()
        return 1
    check("server prints its address and the web REPL URL on stderr",
          any("/web" in line for line in p.stderr), p.stderr)
    try:
        test_routes(p)
        test_execute(p)
        test_bad_requests(p)
        test_timeout(p)
        test_fibaro_hook(p)
        test_origin_and_host(p)
        test_code_token(p)
        test_csrf(p)
    finally:
        rc = p.stop()
        check("SIGTERM ends a run with the server cleanly", rc == 0, (rc, "".join(p.stderr)))
    test_body_limit()
    test_token()
    with tempfile.TemporaryDirectory(prefix="plua-api-") as tmp:
        test_token_file(tmp)
    test_port_in_use()
    test_banner()
    test_lifetime()
    test_ws()
    print(f"# {len(failed)} failed" if failed else "# all passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
