#!/usr/bin/python3
"""The HC3 routes under /api, on a live plua.

Walks every (method, path) of api-descriptions/hc3/*.json (read here, at test
time: no hand list), fills the path parameters with valid values of their
types, and calls the route on plua --api-port 0 whose -e fragment installs a
hook that echoes what it received. Checks the hook got the method, the full
path (a query string on some), the body and the typed parameters, and that the
status (200/201/404, chosen by the test) and the body came back as the hook
returned them. Then every route again without a hook: 503. Then the errors
(bad parameter types, bad JSON, unknown routes, 405, a hook that raises), a
5 MB response, HEAD, response headers, and HTTP Basic credentials on and off.
Usage: test-hc3-routes.py PATH/TO/plua
"""
import base64
import glob
import http.client
import json
import os
import re
import sys
import tempfile
import time
import urllib.parse

import apitest
from apitest import ApiPlua, failed, read_response, skip

PLUA = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PLUA", "plua")
# plua runs in a temporary directory (its own .env): a relative path must not break.
if os.sep in PLUA:
    PLUA = os.path.abspath(PLUA)
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
HC3 = os.path.join(ROOT, "api-descriptions", "hc3")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

ECHO_HOOK = r"""
_PY.fibaro_api_hook = function(method, path, data, request)
  local status = tonumber(request.headers["x-want-status"]) or 200
  return {method = method, path = path, data = data, route = request.route,
          params = request.params, query = request.query, unknown = request.unknown,
          operationId = request.operationId}, status
end
"""


def check(name, condition, detail=""):
    apitest.check(name, condition, str(detail)[:2000])


class Plua(ApiPlua):
    """plua --api-port 0 with -e fragments, run in an empty directory."""

    def __init__(self, *fragments, env=None, host="127.0.0.1"):
        self.dir = tempfile.TemporaryDirectory(prefix="plua-hc3-")
        args = ["--api-host", host]
        for code in fragments:
            args += ["-e", code]
        clean = {k: v for k, v in os.environ.items() if k not in ("HC3_USER", "HC3_PASSWORD")}
        clean.update(env or {})
        super().__init__(PLUA, args, clean, host=host, cwd=self.dir.name, wait=20)
        self.conn = None

    def request(self, method, path, body=None, headers=None, timeout=30):
        """One request on a kept-alive connection: (status, parsed JSON or None, headers, raw)."""
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                return read_response(self.conn.getresponse())
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise

    def execute(self, code):
        status, body, _, _ = self.request("POST", "/plua/execute", json.dumps({"code": code}),
                                          {"Content-Type": "application/json", **self.auth()})
        return status, body

    def stop(self):
        if self.conn is not None:
            self.conn.close()
        rc = super().stop(15)
        self.dir.cleanup()
        return rc


# --- the descriptions ---------------------------------------------------------

def deref(doc, node):
    for _ in range(16):
        if not isinstance(node, dict) or "$ref" not in node:
            return node
        target = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def operations():
    """[(METHOD, route, {param: type}, query names, has body)] of every HC3 file."""
    ops = []
    for path in sorted(glob.glob(os.path.join(HC3, "*.json"))):
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        prefix = doc["servers"][0]["url"]
        for route, item in doc["paths"].items():
            shared = [deref(doc, p) for p in item.get("parameters", [])]
            for method in METHODS:
                op = item.get(method)
                if op is None:
                    continue
                params = shared + [deref(doc, p) for p in op.get("parameters", [])]
                types = {p["name"]: deref(doc, p.get("schema", {})).get("type", "string")
                         for p in params if p["in"] == "path"}
                queries = [p["name"] for p in params if p["in"] == "query"]
                ops.append((method.upper(), prefix + route, types, queries, "requestBody" in op))
    return ops


def appendix_count():
    with open(os.path.join(HC3, "appendix-a.txt"), encoding="utf-8") as f:
        text = f.read()
    block = text.split("```", 2)[1]
    ops = set()
    for line in block.splitlines():
        m = re.fullmatch(r"\s*([A-Z]+(?:,[A-Z]+)*)\s+(/api/\S*)\s*", line)
        if m:
            ops.update((method, m.group(2)) for method in m.group(1).split(","))
    return len(ops)


def broken_count():
    """The Appendix A paths the README lists as fixed (a query string in the path)."""
    with open(os.path.join(HC3, "README.md"), encoding="utf-8") as f:
        return sum(1 for line in f if re.match(r"\|\s*`[A-Z]+ /api/[^`]*\?[^`]*`", line))


def fill(route, types, index):
    """(request path, expected params): values of each parameter's type."""
    path, expected = route, {}
    for k, (name, kind) in enumerate(types.items()):
        if kind == "integer":
            value, text = 100 + index + k, str(100 + index + k)
        elif kind == "number":
            value, text = 2.5, "2.5"
        elif kind == "boolean":
            value, text = True, "true"
        elif index % 4 == 0:
            # Percent-encoded: the hook gets the decoded text.
            value = f"a b%é{index}"
            text = urllib.parse.quote(value, safe="")
        else:
            value, text = f"v{index}x{k}", f"v{index}x{k}"
        path = path.replace("{" + name + "}", text)
        expected[name] = value
    return path, expected


# --- checks ---------------------------------------------------------------------

def walk_routes(p, ops):
    tested = 0
    wrong = []
    for i, (method, route, types, queries, has_body) in enumerate(ops):
        path, params = fill(route, types, i)
        query = {}
        if i % 3 == 0:
            names = queries or ["q"]
            query = {name: f"{name} {i}&" for name in names[:2]}
            path += "?" + urllib.parse.urlencode(query)
        body = ""
        if method in ("POST", "PUT", "PATCH") or (method == "DELETE" and i % 2 == 0):
            body = json.dumps({"n": i, "text": "é\"x", "list": [1, 2]})
        want = (200, 201, 404)[i % 3]
        headers = {"X-Want-Status": str(want)}
        if body:
            headers["Content-Type"] = "application/json"
        status, got, _, raw = p.request(method, path, body.encode() if body else None, headers)
        # The hook's path: percent-decoded (libsoup decodes it), the query as sent.
        path_part, _, query_part = path.partition("?")
        full = urllib.parse.unquote(path_part) + ("?" + query_part if query_part else "")
        expected = {"method": method, "path": full, "data": body, "route": route,
                    "params": params, "query": query, "unknown": False}
        problems = []
        if status != want:
            problems.append(f"status {status}, wanted {want}")
        if not isinstance(got, dict):
            problems.append(f"body not a JSON object: {raw[:200]!r}")
        else:
            for key, value in expected.items():
                if got.get(key) != value:
                    problems.append(f"{key}: {got.get(key)!r} != {value!r}")
            if not got.get("operationId"):
                problems.append("no operationId")
        if problems:
            wrong.append(f"{method} {path}: " + "; ".join(problems))
        tested += 1
    check(f"every route reaches the hook with method, full path, body, typed params; status and body as returned "
          f"({tested - len(wrong)}/{tested})", not wrong, "\n  ".join([""] + wrong[:20]))
    return tested


def walk_without_hook(p, ops):
    wrong = []
    for i, (method, route, types, _, _) in enumerate(ops):
        path, _ = fill(route, types, i)
        body = b"{}" if method in ("POST", "PUT", "PATCH") else None
        status, got, headers, _ = p.request(method, path, body)
        if status != 503 or not isinstance(got, dict) or "error" not in got or \
                not headers.get("content-type", "").startswith("application/json"):
            wrong.append(f"{method} {path}: {status} {got}")
    check(f"without a hook: 503 with a JSON error on every route ({len(ops) - len(wrong)}/{len(ops)})",
          not wrong, "\n  ".join([""] + wrong[:20]))


def test_errors(p):
    status, body, _, _ = p.request("GET", "/api/devices/abc")
    check("integer parameter given text: 400 naming the parameter",
          status == 400 and "deviceID" in body.get("error", ""), (status, body))
    status, body, _, _ = p.request("GET", "/api/devices/1.5")
    check("integer parameter given 1.5: 400", status == 400 and "deviceID" in body.get("error", ""), (status, body))
    status, body, _, _ = p.request("GET", "/api/globalVariables/%FF")
    check("bad percent-encoding in a parameter: 400", status == 400 and "error" in body, (status, body))
    status, body, _, _ = p.request("PUT", "/api/devices/5", b'{"name": ', {"Content-Type": "application/json"})
    check("bad JSON body: 400 with a message", status == 400 and "JSON" in body.get("error", ""), (status, body))
    status, body, _, _ = p.request("PUT", "/api/devices/5", b"[" * 100000, {"Content-Type": "application/json"})
    check("deeply nested JSON body: 400", status == 400, (status, body))
    status, body, _, _ = p.request("GET", "/api/no/such/route")
    check("unknown route: 404 with JSON error", status == 404 and "error" in body, (status, body))
    status, body, _, _ = p.request("GET", "/api")
    check("/api alone: 404", status == 404 and "error" in body, (status, body))
    status, body, headers, _ = p.request("PATCH", "/api/devices/5")
    allow = headers.get("allow", "")
    check("method not allowed: 405 with Allow",
          status == 405 and all(m in allow for m in ("GET", "PUT", "DELETE", "HEAD")) and "error" in body,
          (status, headers, body))
    status, _, headers, raw = p.request("HEAD", "/api/devices/7")
    check("HEAD on a GET route: the GET's status and headers, no body",
          status == 200 and raw == b"" and int(headers.get("content-length", "0")) > 0, (status, headers, raw))


def test_hook_behaviour(p):
    status, _ = p.execute("_PY.fibaro_api_unknown_routes = true")
    status, body, _, _ = p.request("GET", "/api/custom/thing?x=1")
    check("unknown routes go to the hook when _PY.fibaro_api_unknown_routes is true",
          status == 200 and body["unknown"] is True and body.get("route") is None and body["params"] == {} and
          body["path"] == "/api/custom/thing?x=1" and body["query"] == {"x": "1"}, (status, body))
    status, body, _, _ = p.request("GET", "/api/devices/3")
    check("known routes still say unknown = false", status == 200 and body["unknown"] is False, body)
    status, body, _, _ = p.request("GET", "/api/devices/x")
    check("bad parameters still 400 with the flag", status == 400, status)
    p.execute("_PY.fibaro_api_unknown_routes = nil")
    status, _, _, _ = p.request("GET", "/api/custom/thing")
    check("flag off again: 404", status == 404, status)

    p.execute("_saved_hook = _PY.fibaro_api_hook; _PY.fibaro_api_hook = function() error('hook broke here') end")
    status, body, _, _ = p.request("GET", "/api/rooms")
    check("a hook that raises: 500 with the message",
          status == 500 and "hook broke here" in json.dumps(body), (status, body))
    for _ in range(50):   # stderr is read by a thread: give it a moment
        if any("hook broke here" in line for line in p.stderr):
            break
        time.sleep(0.1)
    check("the hook's error is reported on stderr", any("hook broke here" in line for line in p.stderr),
          "".join(p.stderr[-5:]))
    p.execute("_PY.fibaro_api_hook = _saved_hook")
    status, body, _, _ = p.request("GET", "/api/rooms")
    check("the next request after a raising hook is fine", status == 200 and body["route"] == "/api/rooms",
          (status, body))

    p.execute("_PY.fibaro_api_hook = function() return {1, 2, {a = 'x'}}, nil, "
              "{['X-Hc3-Test'] = 'yes', ['Bad Name'] = 'no', ['X-Number'] = 7} end")
    status, body, headers, _ = p.request("GET", "/api/rooms")
    check("Lua arrays as JSON arrays, default status 200, headers from the hook",
          status == 200 and body == [1, 2, {"a": "x"}] and headers.get("x-hc3-test") == "yes" and
          headers.get("x-number") == "7" and "bad name" not in headers, (status, body, headers))
    p.execute("_PY.fibaro_api_hook = function() return nil, 404 end")
    status, body, _, _ = p.request("GET", "/api/rooms/4")
    check("nil, 404: 404 with a JSON error", status == 404 and "error" in body, (status, body))
    p.execute("_PY.fibaro_api_hook = function() return nil, 204 end")
    status, _, _, raw = p.request("DELETE", "/api/rooms/4")
    check("nil, 204: no content", status == 204 and raw == b"", (status, raw))
    p.execute("_PY.fibaro_api_hook = function() return 'plain text', 200, {['Content-Type'] = 'text/plain'} end")
    status, _, headers, raw = p.request("GET", "/api/rooms")
    check("a string with a text Content-Type goes out as it is",
          status == 200 and raw == b"plain text" and headers["content-type"].startswith("text/plain"),
          (status, raw, headers))
    p.execute("_PY.fibaro_api_hook = function() return '[1,2]', 200, {['Content-Type'] = 'application/json'} end")
    status, body, headers, raw = p.request("GET", "/api/rooms")
    check("a string with a JSON Content-Type goes out as it is (JSON encoded by the hook)",
          status == 200 and raw == b"[1,2]" and headers["content-type"] == "application/json", (status, raw))
    p.execute("_PY.fibaro_api_hook = function() return '[1,2]' end")
    status, body, headers, raw = p.request("GET", "/api/rooms")
    check("a string without a Content-Type is a JSON string", status == 200 and body == "[1,2]", (status, raw))
    p.execute("_PY.fibaro_api_hook = function() return {}, 'abc' end")
    status, _, _, _ = p.request("GET", "/api/rooms")
    check("an invalid status from the hook: 500", status == 500, status)
    p.execute("_PY.fibaro_api_hook = function(m, path, d, r) sleep(0.05) return {slept = r.params.roomID} end")
    status, body, _, _ = p.request("GET", "/api/rooms/12")
    check("a hook may sleep before answering", status == 200 and body == {"slept": 12}, (status, body))

    # Over 5 MB: 60,000 devices of ~100 bytes.
    p.execute("local list = {} for i = 1, 60000 do list[i] = {id = i, name = 'device number ' .. i, "
              "roomID = i % 10, enabled = true, properties = {value = i * 2}} end "
              "_PY.fibaro_api_hook = function() return list end")
    status, body, _, raw = p.request("GET", "/api/devices")
    check(f"a huge body from the hook ({len(raw) // 1024} KiB) arrives whole",
          status == 200 and len(raw) > 5 * 1024 * 1024 and isinstance(body, list) and len(body) == 60000 and
          body[59999]["id"] == 60000, (status, len(raw)))
    status, body, _, _ = p.request("GET", "/plua/status")
    check("the server answers after the huge body", status == 200, status)
    p.execute("_PY.fibaro_api_hook = _saved_hook")


def test_basic_auth():
    p = Plua(ECHO_HOOK)
    try:
        status, _, _, _ = p.request("GET", "/api/devices")
        check("Basic auth off: no credentials accepted", status == 200, status)
        creds = base64.b64encode(b"anyone:anything").decode()
        status, body, _, _ = p.request("GET", "/api/devices", headers={"Authorization": "Basic " + creds})
        check("Basic auth off: any credentials accepted (and shown to the hook)",
              status == 200 and body["route"] == "/api/devices", status)
    finally:
        p.stop()

    p = Plua(ECHO_HOOK, env={"HC3_USER": "admin", "HC3_PASSWORD": "pa:ss wörd"})
    try:
        status, body, headers, _ = p.request("GET", "/api/devices")
        check("Basic auth on: no credentials, 401 with WWW-Authenticate Basic",
              status == 401 and headers.get("www-authenticate", "").startswith("Basic") and "error" in body,
              (status, headers))
        wrong = base64.b64encode(b"admin:nope").decode()
        status, _, _, _ = p.request("GET", "/api/devices", headers={"Authorization": "Basic " + wrong})
        check("Basic auth on: wrong password, 401", status == 401, status)
        right = base64.b64encode("admin:pa:ss wörd".encode()).decode()
        status, body, _, _ = p.request("GET", "/api/devices/9", headers={"Authorization": "Basic " + right})
        check("Basic auth on: right credentials, 200", status == 200 and body["params"] == {"deviceID": 9},
              (status, body))
        status, _, _, _ = p.request("GET", "/plua/status")
        check("Basic auth on: plua's own routes do not ask for it", status == 200, status)
    finally:
        rc = p.stop()
        check("plua with HC3 credentials exits cleanly", rc == 0, (rc, "".join(p.stderr[-10:])))

    # Off loopback (127.0.0.2 stands for it, as in test-api.py): the server's
    # access token first (X-Plua-Token, since Authorization carries Basic),
    # then the HC3 credentials.
    p = Plua(ECHO_HOOK, env={"HC3_USER": "admin", "HC3_PASSWORD": "secret"}, host="127.0.0.2")
    try:
        if p.port is None or p.token is None:
            skip("Basic auth with the access token", "cannot listen on 127.0.0.2")
        else:
            basic = "Basic " + base64.b64encode(b"admin:secret").decode()
            status, _, _, _ = p.request("GET", "/api/devices", headers={"Authorization": basic})
            check("off loopback: Basic credentials without the token, 401", status == 401, status)
            status, _, _, _ = p.request("GET", "/api/devices", headers={"Authorization": "Bearer " + p.token})
            check("off loopback: the token without Basic credentials, 401", status == 401, status)
            status, body, _, _ = p.request("GET", "/api/devices",
                                           headers={"Authorization": basic, "X-Plua-Token": p.token})
            check("off loopback: X-Plua-Token and Basic credentials, 200", status == 200, (status, body))
    finally:
        p.stop()

    # The same credentials from a .env file in the working directory.
    tmp = tempfile.TemporaryDirectory(prefix="plua-hc3-env-")
    with open(os.path.join(tmp.name, ".env"), "w") as f:
        f.write("HC3_USER=envuser\nHC3_PASSWORD=envpass\n")
    env = {k: v for k, v in os.environ.items() if k not in ("HC3_USER", "HC3_PASSWORD")}
    proc = ApiPlua(PLUA, ["-e", ECHO_HOOK], env, cwd=tmp.name)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", proc.port, timeout=15)
        conn.request("GET", "/api/devices")
        r = conn.getresponse()
        r.read()
        first = r.status
        conn.request("GET", "/api/devices",
                     headers={"Authorization": "Basic " + base64.b64encode(b"envuser:envpass").decode()})
        r = conn.getresponse()
        r.read()
        conn.close()
        check("HC3_USER/HC3_PASSWORD from ./.env: 401 without, 200 with", (first, r.status) == (401, 200),
              (first, r.status))
    finally:
        proc.stop(15)
        tmp.cleanup()


def main():
    ops = operations()
    n_appendix = appendix_count()
    n_broken = broken_count()
    p = Plua(ECHO_HOOK)
    if p.port is None:
        check("plua starts with its API server", False, "".join(p.stderr))
        p.stop()
        return 1
    try:
        tested = walk_routes(p, ops)
        print(f"# routes tested: {tested}; in the descriptions: {len(ops)}; "
              f"Appendix A: {n_appendix} operations, {n_broken} broken (api-descriptions/hc3/README.md)")
        check("routes tested = operations described", tested == len(ops) and len(ops) > 0, (tested, len(ops)))
        check("operations described >= Appendix A minus the broken ones",
              len(ops) >= n_appendix - n_broken, (len(ops), n_appendix, n_broken))
        test_errors(p)
        test_hook_behaviour(p)
    finally:
        rc = p.stop()
        check("plua exits cleanly after all that (a raising hook is not the script's error)", rc == 0,
              (rc, "".join(p.stderr[-10:])))
    p = Plua()
    try:
        walk_without_hook(p, ops)
    finally:
        rc = p.stop()
        check("plua without a hook exits cleanly", rc == 0, (rc, "".join(p.stderr[-10:])))
    test_basic_auth()
    print(f"# {len(failed)} failed" if failed else "# all passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
