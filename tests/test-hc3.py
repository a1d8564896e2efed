#!/usr/bin/env python3
"""plua against a Home Center 3: a second plua stands in for the box.

usage: test-hc3.py PLUA [GROUP...]   (groups: online, tools, proxy, templates)

"The box" is `plua --fibaro` guarded by HC3_USER/HC3_PASSWORD, with
QuickApps of its own on pinned ids, a global variable, and its real
quickApp import/files/export and refreshStates routes. The plua under test
runs local QuickApps with HC3_URL naming it. Everything is on 127.0.0.1.
"""
import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from apitest import check, failed

PLUA = os.path.abspath(sys.argv[1])
GROUPS = sys.argv[2:] or ["online", "tools", "proxy", "templates"]
STAMP = re.compile(r"^\[\d\d\.\d\d\.\d{4}\] \[\d\d:\d\d:\d\d\] ")
USER, PASSWORD = "admin", "s3cret"
TMP = tempfile.mkdtemp(prefix="plua-hc3-")

BOX_QA = """--%%name:BoxSwitch
--%%id:100
--%%type:com.fibaro.binarySwitch
function QuickApp:onInit() self:debug("box switch up") end
function QuickApp:turnOn() self:updateProperty("value", true) end
function QuickApp:turnOff() self:updateProperty("value", false) end
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def base_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HC3_")}
    env["HOME"] = TMP
    env.update(extra)
    return env


class Proc:
    """A running plua; stdout lines (timestamps masked) and stderr collected."""

    def __init__(self, args, env, cwd=TMP):
        self.proc = subprocess.Popen([PLUA, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, env=env, cwd=cwd)
        self.out, self.err = [], []
        self.lock = threading.Lock()

        def pump(stream, into, mask):
            for raw in stream:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                with self.lock:
                    into.append(STAMP.sub("", line) if mask else line)

        threading.Thread(target=pump, args=(self.proc.stdout, self.out, True), daemon=True).start()
        threading.Thread(target=pump, args=(self.proc.stderr, self.err, False), daemon=True).start()

    def wait(self, text, timeout=8, stream="out", start=0):
        """The first line (from index start) containing text, or None."""
        deadline = time.monotonic() + timeout
        lines = self.out if stream == "out" else self.err
        while time.monotonic() < deadline:
            with self.lock:
                for line in lines[start:]:
                    if text in line:
                        return line
            if self.proc.poll() is not None and time.monotonic() > deadline - timeout + 0.5:
                with self.lock:
                    found = [line for line in lines[start:] if text in line]
                return found[0] if found else None
            time.sleep(0.02)
        return None

    def text(self):
        with self.lock:
            return "\n".join(self.out) + "\n--- stderr\n" + "\n".join(self.err)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Box(Proc):
    """The stand-in HC3 on a fixed port (so it can be restarted there)."""

    def __init__(self, port, files=(BOX_QA,)):
        paths = [write(os.path.join(TMP, "box", f"box{i}.lua"), text) for i, text in enumerate(files)]
        super().__init__(["--fibaro", "--api-port", str(port), *paths],
                         base_env(HC3_USER=USER, HC3_PASSWORD=PASSWORD), cwd=os.path.join(TMP, "box"))
        self.port = port
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not self.wait("web REPL at", 0.1, "err"):
            pass

    def request(self, method, path, body=None, auth=(USER, PASSWORD)):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                text = r.read().decode()
                return r.status, json.loads(text) if text.strip() else None
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, text


def local(box_port, files, extra=(), password=PASSWORD, cwd=TMP):
    env = base_env(HC3_URL=f"http://127.0.0.1:{box_port}", HC3_USER=USER, HC3_PASSWORD=password)
    return Proc(["--fibaro", "--api-port", "0", *extra, *files], env, cwd=cwd)


################################################################## online

LOCAL_QA = """--%%name:Local
--%%type:com.fibaro.multilevelSwitch
function QuickApp:onInit()
  self:debug("local up")
  local d, status = api.get("/devices/100")
  self:debug("box device:", status, d and d.name)
  self:debug("own device:", fibaro.getName(self.id), fibaro.getType(self.id))
  self:debug("value before:", tostring(fibaro.getValue(100, "value")))
  fibaro.call(100, "turnOn")
  self:debug("global:", fibaro.getGlobalVariable("OnlyOnBox"))
  fibaro.setGlobalVariable("OnlyOnBox", "set by local")
  local _, missing = api.get("/devices/4242")
  self:debug("missing device status:", missing)
  local hc3info, s2 = api.hc3.get("/settings/info")
  self:debug("api.hc3:", s2, type(hc3info))
  self:updateProperty("value", 42)
  self:debug("own value:", fibaro.getValue(self.id, "value"))
  local last = select(1, api.get("/refreshStates")).last
  setInterval(function()
    local r = api.get("/refreshStates?last=" .. last .. "&wait=0")
    last = r.last
    for _, e in ipairs(r.events) do
      if e.type == "GlobalVariableChangedEvent" then
        self:debug("event:", e.data.variableName, e.data.newValue)
      end
    end
  end, 50)
end
function QuickApp:later()
  self:debug("value after:", tostring(fibaro.getValue(100, "value")))
end
"""


def test_online():
    port = free_port()
    box = Box(port)
    try:
        check("online: the box is up", box.wait("box switch up"), box.text())
        status, _ = box.request("POST", "/api/globalVariables", {"name": "OnlyOnBox", "value": "from box"})
        check("online: a global variable on the box", status in (200, 201), status)
        status, _ = box.request("GET", "/api/devices/100", auth=(USER, "wrong"))
        check("online: the box refuses a wrong password", status == 401, status)

        qa = write(os.path.join(TMP, "online", "local.lua"), LOCAL_QA)
        # a .env next to the QuickApp with a wrong password: the environment wins
        write(os.path.join(TMP, "online", ".env"), "HC3_PASSWORD=not-this-one\nHC3_PIN=1234\n")
        p = local(port, [qa], cwd=os.path.join(TMP, "online"))
        try:
            line = p.wait("QuickApp 'Local'", stream="err")
            check("online: first line names the mode and the box",
                  line is not None and f"online → http://127.0.0.1:{port}" in line
                  and PASSWORD not in p.text(), p.text())
            check("online: api.get of a box device", p.wait("box device: 200 BoxSwitch"), p.text())
            check("online: own device is local", p.wait("own device: Local com.fibaro.multilevelSwitch"),
                  p.text())
            check("online: fibaro.getValue from the box", p.wait("value before: false"), p.text())
            check("online: fibaro.getGlobalVariable from the box", p.wait("global: from box"), p.text())
            check("online: a missing box device is the box's 404", p.wait("missing device status: 404"),
                  p.text())
            check("online: api.hc3.get", p.wait("api.hc3: 200 table"), p.text())
            check("online: own updateProperty stays local", p.wait("own value: 42"), p.text())
            status, dev = box.request("GET", "/api/devices/100")
            check("online: fibaro.call changed the box's device",
                  status == 200 and dev["properties"]["value"] is True, dev)
            status, var = box.request("GET", "/api/globalVariables/OnlyOnBox")
            check("online: fibaro.setGlobalVariable changed the box's variable",
                  status == 200 and var["value"] == "set by local", var)
            status, _ = box.request("GET", "/api/devices/5000")
            check("online: the local QuickApp is not on the box", status == 404, status)

            box.request("PUT", "/api/globalVariables/OnlyOnBox", {"value": "changed on box"})
            check("online: the box's event reaches the local QuickApp",
                  p.wait("event: OnlyOnBox changed on box"), p.text())

            # the box goes away: calls fail with the socket's error, plua stays
            box.stop()
            mark = len(p.out)
            check("online: box gone → the event poll reports it",
                  p.wait("event poll failed", 6, "err"), p.text())
            local_action(p, 5000, "later")
            check("online: a call to the gone box is an error on the console",
                  p.wait("HC3 at http://127.0.0.1", 5, start=mark) and p.proc.poll() is None, p.text())
            box = Box(port)
            check("online: the box back → the poll reconnects",
                  p.wait("event poll reconnected", 25, "err"), p.text())
            local_action(p, 5000, "later")
            check("online: calls work again", p.wait("value after: false", 5), p.text())
            box.request("PUT", "/api/globalVariables/OnlyOnBox", {"value": "after restart"})
            # the restarted box has no such variable: it is created anew
            box.request("POST", "/api/globalVariables", {"name": "OnlyOnBox", "value": "after restart"})
            box.request("PUT", "/api/globalVariables/OnlyOnBox", {"value": "again"})
            check("online: events flow after the reconnect", p.wait("event: OnlyOnBox again", 8), p.text())
            # plua's own /api/refreshStates has the box's events merged in
            lport = local_port(p)
            with urllib.request.urlopen(f"http://127.0.0.1:{lport}/api/refreshStates?last=1&wait=0") as r:
                events = json.loads(r.read())["events"]
            check("online: plua's /api/refreshStates has the box's events",
                  any(e.get("data", {}).get("newValue") == "again" for e in events), events[-3:])
        finally:
            p.stop()

        # wrong password: a clear error and exit status 1, no fall back
        p = local(port, [qa], password="wrong")
        code = p.proc.wait(15)
        p.stop()
        check("online: wrong password → exit 1", code == 1, code)
        check("online: wrong password → the clear error",
              p.wait(f"HC3 at http://127.0.0.1:{port} refused user 'admin': wrong user or password", 1, "err"),
              p.text())
        # -o: offline even with a box configured
        p = local(port, [qa], extra=["-o", "-d", "3"])
        p.proc.wait(15)
        check("online: -o runs offline", p.wait("QuickApp 'Local' (5000): offline", 1, "err")
              and p.wait("box device: 404", 1) and p.wait("api.hc3: 200 table", 1), p.text())
    finally:
        box.stop()
    # a box that is not there
    p = local(free_port(), [qa])
    code = p.proc.wait(15)
    check("online: unreachable box → exit 1 and the reason",
          code == 1 and p.wait("cannot be reached", 1, "err"), p.text())


def local_port(p):
    line = p.wait("listening on", 5, "err")
    return int(re.search(r":(\d+)/", line).group(1))


def local_action(p, device, action):
    """Calls an action of a local QuickApp through the local plua's REST API."""
    req = urllib.request.Request(f"http://127.0.0.1:{local_port(p)}/api/devices/{device}/action/{action}",
                                 data=json.dumps({"args": []}).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def main():
    tests = {"online": [test_online]}
    for group in GROUPS:
        for test in tests.get(group, []):
            try:
                test()
            except Exception as e:  # a crash in a check is a failure, not a pass
                check(test.__name__, False, repr(e))
    print(f"{len(failed)} failure(s)")
    sys.exit(1 if failed else 0)


main()
