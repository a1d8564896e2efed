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


################################################################## tools

PROJECT_MAIN = """--%%name:Tool QA
--%%type:com.fibaro.multilevelSwitch
--%%var:threshold=42
--%%var:label="a \\"quoted\\" text"
--%%file:lib/util.lua,util
--%%interfaces:{"power"}
--%%u:{label="lbl",text="Hello"}
--%%u:{{button="b1",text="On",onReleased="turnOn"},{button="b2",text="Off",onReleased="turnOff"}}
--%%u:{slider="s1",min=0,max=99,onChanged="setLevel"}

function QuickApp:onInit() self:debug("tool qa", helper(), self:getVariable("threshold")) end
function QuickApp:turnOn() self:updateProperty("value", 99) end
"""


def tool(args, env=None, cwd=TMP):
    return subprocess.run([PLUA, "-t", *args], capture_output=True, text=True, cwd=cwd,
                          env=env or base_env(), timeout=60)


def test_tools():
    proj = os.path.join(TMP, "proj")
    main = write(os.path.join(proj, "main.lua"), PROJECT_MAIN)
    write(os.path.join(proj, "lib", "util.lua"), 'function helper() return "helped" end\n')
    r = tool(["help"])
    check("tools: help lists the original's names",
          r.returncode == 0 and all(n in r.stdout for n in
                                    ["uploadQA", "updateQA", "updateFile", "downloadQA", "pack", "unpack"]),
          r.stdout + r.stderr)
    r = tool(["nope"])
    check("tools: an unknown tool is a usage error", r.returncode == 2 and "unknown tool" in r.stderr, r.stderr)

    # pack → unpack → pack: the same .fqa
    a, b = os.path.join(TMP, "a.fqa"), os.path.join(TMP, "b.fqa")
    r = tool(["pack", main, "-o", a])
    check("tools: pack", r.returncode == 0 and os.path.exists(a), r.stdout + r.stderr)
    doc = json.load(open(a))
    check("tools: the .fqa has type, files, UI and variables",
          doc["type"] == "com.fibaro.multilevelSwitch" and [f["name"] for f in doc["files"]] == ["main", "util"]
          and doc["initialInterfaces"] == ["power"]
          and {v["name"]: v["value"] for v in doc["initialProperties"]["quickAppVariables"]}
          == {"threshold": 42, "label": 'a "quoted" text'}
          and len(doc["initialProperties"]["viewLayout"]["$jason"]["body"]["sections"]["items"]) == 3
          and {"name": "b1", "eventType": "onReleased", "callback": "turnOn"}
          in doc["initialProperties"]["uiCallbacks"], json.dumps(doc)[:400])
    un = os.path.join(TMP, "unpacked")
    r = tool(["unpack", a, un])
    check("tools: unpack", r.returncode == 0 and os.path.exists(os.path.join(un, "lib", "util.lua")),
          r.stdout + r.stderr)
    tool(["pack", os.path.join(un, "main.lua"), "-o", b])
    check("tools: pack → unpack → pack gives the same .fqa", open(a).read() == open(b).read())

    # an .fqa whose main has no directives (made on the box): unpack writes them
    bare = dict(doc)
    bare["files"] = [dict(f) for f in doc["files"]]
    bare["files"][0]["content"] = "function QuickApp:onInit() self:debug('bare', helper()) end\n"
    bare_path = os.path.join(TMP, "bare.fqa")
    json.dump(bare, open(bare_path, "w"))
    un2 = os.path.join(TMP, "unpacked-bare")
    tool(["unpack", bare_path, un2])
    text = open(os.path.join(un2, "main.lua")).read()
    check("tools: unpack regenerates the header directives",
          "--%%name:Tool QA" in text and "--%%type:com.fibaro.multilevelSwitch" in text
          and "--%%var:threshold=42" in text and "--%%file:util.lua,util" in text
          and '--%%u:{{button="b1",onReleased="turnOn",text="On"}' in text, text)
    c = os.path.join(TMP, "c.fqa")
    tool(["pack", os.path.join(un2, "main.lua"), "-o", c])
    again = json.load(open(c))
    same = lambda d: (d["name"], d["type"], d["initialInterfaces"], d["initialProperties"]["quickAppVariables"],
                      d["initialProperties"]["uiCallbacks"],
                      d["initialProperties"]["viewLayout"]["$jason"]["body"]["sections"]["items"])
    check("tools: the regenerated header packs to the same QuickApp", same(again) == same(doc),
          json.dumps(again)[:300])

    # plua --fibaro X.fqa runs it
    r = subprocess.run([PLUA, "--fibaro", "--noapi", "-d", "1", a], capture_output=True, text=True,
                       env=base_env(), cwd=TMP, timeout=30)
    check("tools: plua --fibaro X.fqa runs the QuickApp", "tool qa helped 42" in r.stdout, r.stdout + r.stderr)

    # against the box: upload, update, updateFile, download
    port = free_port()
    box = Box(port)
    env = base_env(HC3_URL=f"http://127.0.0.1:{port}", HC3_USER=USER, HC3_PASSWORD=PASSWORD)
    try:
        r = tool(["uploadQA", main], env)
        m = re.search(r"QuickApp (\d+) on", r.stdout)
        check("tools: uploadQA prints the new id", r.returncode == 0 and m, r.stdout + r.stderr)
        qa_id = int(m.group(1)) if m else 0
        project = json.load(open(os.path.join(proj, ".project")))
        check("tools: uploadQA writes .project", project.get("id") == qa_id, project)
        check("tools: the uploaded QuickApp runs on the box", box.wait("tool qa helped 42"), box.text())
        status, dev = box.request("GET", f"/api/devices/{qa_id}")
        check("tools: the box's device has the type, name, variables and UI",
              status == 200 and dev["type"] == "com.fibaro.multilevelSwitch" and dev["name"] == "Tool QA"
              and "power" in dev["interfaces"]
              and len(dev["properties"]["uiCallbacks"]) >= 3, dev)

        write(main, PROJECT_MAIN.replace("threshold=42", "threshold=7").replace('"tool qa"', '"tool qa v2"'))
        r = tool(["updateQA", main], env)
        check("tools: updateQA", r.returncode == 0, r.stdout + r.stderr)
        check("tools: the updated QuickApp restarts with the new code and variable",
              box.wait("tool qa v2 helped 7"), box.text())
        write(os.path.join(proj, "lib", "util.lua"), 'function helper() return "helped again" end\n')
        r = tool(["updateFile", os.path.join(proj, "lib", "util.lua")], env)
        check("tools: updateFile", r.returncode == 0 and "updated file util" in r.stdout, r.stdout + r.stderr)
        check("tools: the box runs the new file", box.wait("tool qa v2 helped again 7"), box.text())

        dl = os.path.join(TMP, "downloaded")
        r = tool(["downloadQA", str(qa_id), dl], env)
        check("tools: downloadQA", r.returncode == 0, r.stdout + r.stderr)
        got_main = open(os.path.join(dl, "main.lua")).read()
        check("tools: the download has main.lua with its directives, the files and .project",
              "--%%name:Tool QA" in got_main and '"tool qa v2"' in got_main
              and "helped again" in open(os.path.join(dl, "lib", "util.lua")).read()
              and json.load(open(os.path.join(dl, ".project")))["id"] == qa_id, got_main)

        r = tool(["removeProxy", "Tool QA"], env)
        status, _ = box.request("GET", f"/api/devices/{qa_id}")
        check("tools: removeProxy deletes the QuickApp of that name",
              r.returncode == 0 and f"removed QuickApp {qa_id}" in r.stdout and status == 404,
              r.stdout + r.stderr)
        status, _ = box.request("GET", "/api/devices/100")
        r = tool(["removeProxy", "No Such QA"], env)
        check("tools: removeProxy of an unknown name is an error, other devices stay",
              r.returncode == 1 and "no QuickApp named" in r.stderr and status == 200, r.stderr)

        bad = base_env(HC3_URL=f"http://127.0.0.1:{port}", HC3_USER=USER, HC3_PASSWORD="wrong")
        r = tool(["uploadQA", main], bad)
        check("tools: a wrong password is a clear error, exit 1",
              r.returncode == 1 and "wrong user or password" in r.stderr, r.stderr)
    finally:
        box.stop()


################################################################## templates

def test_templates():
    r = subprocess.run([PLUA, "--init-qa"], capture_output=True, text=True, timeout=30)
    names = [line.split()[0] for line in r.stdout.splitlines()[1:] if line.strip()]
    check("templates: --init-qa lists at least 25 types", r.returncode == 0 and len(names) >= 25, r.stdout)
    root = os.path.join(TMP, "templates")
    mains = []
    for name in names:
        d = os.path.join(root, name)
        r = subprocess.run([PLUA, "--init-qa", name, d], capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            check(f"templates: {name} created", False, r.stderr)
        mains.append(os.path.join(d, "main.lua"))
    d = os.path.join(root, "binarySwitch")
    tasks = json.load(open(os.path.join(d, ".vscode", "tasks.json")))
    commands = [" ".join(t["args"]) for t in tasks["tasks"]]
    check("templates: tasks.json runs, uploads, updates and downloads with the tool names",
          any(c.startswith("--fibaro") for c in commands)
          and all(any(f"-t {n}" in c for c in commands) for n in ["uploadQA", "updateQA", "downloadQA"]),
          commands)
    launch = json.load(open(os.path.join(d, ".vscode", "launch.json")))
    check("templates: launch.json runs the QuickApp", "plua --fibaro main.lua" in json.dumps(launch), launch)
    env_example = open(os.path.join(d, ".env.example")).read()
    check("templates: .env.example names the variables, no secrets",
          "HC3_URL=" in env_example and "HC3_PASSWORD=\n" in env_example, env_example)
    check("templates: .gitignore ignores .env", ".env" in open(os.path.join(d, ".gitignore")).read().split())
    r = subprocess.run([PLUA, "--init-qa", "binarySwitch", d], capture_output=True, text=True, timeout=30)
    check("templates: an existing project is not overwritten", r.returncode == 1 and "exists" in r.stderr,
          r.stderr)
    main = open(os.path.join(root, "thermostat", "main.lua")).read()
    check("templates: the thermostat has its type's actions",
          "function QuickApp:setHeatingThermostatSetpoint" in main and "function QuickApp:setThermostatMode" in main,
          main)
    # every template under --fibaro -d 1, all in one run: no error, each onInit ran
    r = subprocess.run([PLUA, "--fibaro", "--api-port", "0", "-d", "1", *mains], capture_output=True,
                       text=True, env=base_env(), cwd=TMP, timeout=60)
    inits = [line for line in r.stdout.splitlines() if "onInit" in line]
    check("templates: every template runs under --fibaro -d 1 without an error",
          r.returncode == 0 and len(inits) == len(names) and "ERROR" not in r.stdout,
          r.stdout[-2000:] + r.stderr[-1000:])


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
    tests = {"online": [test_online], "tools": [test_tools], "templates": [test_templates]}
    for group in GROUPS:
        for test in tests.get(group, []):
            try:
                test()
            except Exception as e:  # a crash in a check is a failure, not a pass
                check(test.__name__, False, repr(e))
    print(f"{len(failed)} failure(s)")
    sys.exit(1 if failed else 0)


main()
