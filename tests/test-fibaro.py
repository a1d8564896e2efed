#!/usr/bin/env python3
"""The Fibaro emulator driven from outside, as a developer's tools would.

usage: test-fibaro.py PLUA

Starts `plua --fibaro --api-port 0` with QuickApps written to a temp dir (and
the examples under examples/fibaro), then uses the REST API: actions change
properties, events appear on /api/refreshStates (long poll), global variables
set over REST are seen by fibaro.getGlobalVariable, UI events reach callbacks,
two QuickApps call each other, state survives a restart. Console lines are
compared with their timestamp masked.
"""
import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from apitest import check, failed

PLUA = os.path.abspath(sys.argv[1])
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples", "fibaro")
STAMP = re.compile(r"^\[\d\d\.\d\d\.\d{4}\] \[\d\d:\d\d:\d\d\] ")


class Plua:
    """A running plua --fibaro; stdout lines collected with timestamps masked."""

    def __init__(self, files, duration=20, extra=(), env=None, cwd=None):
        cmd = [PLUA, "--fibaro", "--api-port", "0", "--duration", str(duration), *extra, *files]
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, env=e, cwd=cwd)
        self.lines = []
        self.err = []
        self.lock = threading.Lock()
        self.port = None
        self.token = None   # printed on stderr: /ws needs it (?token=, as a page's URL)
        got_port = threading.Event()

        def read_err():
            for raw in self.proc.stderr:
                line = raw.decode("utf-8", "replace")
                self.err.append(line)
                m = re.search(r"web REPL at \S+\?token=([0-9a-f]+)", line)
                if m:
                    self.token = m.group(1)
                m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", line)
                if m:
                    self.port = int(m.group(1))
                    got_port.set()
            got_port.set()

        def read_out():
            for raw in self.proc.stdout:
                with self.lock:
                    self.lines.append(STAMP.sub("[DATE] [TIME] ", raw.decode("utf-8", "replace").rstrip("\n")))

        threading.Thread(target=read_err, daemon=True).start()
        threading.Thread(target=read_out, daemon=True).start()
        got_port.wait(10)
        if self.port is None:
            raise RuntimeError("plua did not report its port: " + "".join(self.err))

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def request(self, method, path, body=None, timeout=10):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.url(path), data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                text = r.read().decode()
                return r.status, (json.loads(text) if text.strip() else None)
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, text

    def wait_line(self, text, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for line in self.lines:
                    if text in line:
                        return line
            time.sleep(0.02)
        return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


SWITCH = """--%%name:Switch
--%%type:com.fibaro.binarySwitch
--%%id:5010
function QuickApp:turnOn() self:updateProperty("value", true) self:debug("turned on") end
function QuickApp:turnOff() self:updateProperty("value", false) self:debug("turned off") end
function QuickApp:setLevel(a, b) self:debug("setLevel", a, b, math.type(a)) end
function QuickApp:report() self:debug("global G is", (fibaro.getGlobalVariable("G"))) end
function QuickApp:relay(target) fibaro.call(target, "turnOn") end
function QuickApp:clicked(ev) self:debug("clicked", ev.elementName, json.encode(ev.values)) end
function QuickApp:label(text) self:updateView("lbl", "text", text) end
function QuickApp:onInit()
  self:registerUICallback("btn", "onReleased", "clicked")
  self:debug("switch ready")
end
"""

OTHER = """--%%name:Other
--%%type:com.fibaro.binarySwitch
--%%id:5011
function QuickApp:turnOn() self:updateProperty("value", true) self:debug("other on")
  fibaro.call(5010, "turnOff") end
function QuickApp:onInit() self:debug("other ready") end
"""


def view_update_over_ws(p):
    """What a web page on /ws sees when a QuickApp calls updateView."""
    import asyncio
    import websockets

    async def run():
        async with websockets.connect(f"ws://127.0.0.1:{p.port}/ws?token={p.token}") as ws:
            p.request("POST", "/api/devices/5010/action/label", {"args": ["hello <b>"]})
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                msg = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
                if msg.get("type") == "view_update":
                    return msg
        return None
    return asyncio.run(run())


def test_rest(tmp):
    a = os.path.join(tmp, "switch.lua")
    b = os.path.join(tmp, "other.lua")
    with open(a, "w") as f:
        f.write(SWITCH)
    with open(b, "w") as f:
        f.write(OTHER)
    p = Plua([a, b])
    try:
        check("both QuickApps started", p.wait_line("switch ready") and p.wait_line("other ready"),
              "\n".join(p.lines) + "".join(p.err))
        msg = view_update_over_ws(p)
        check("updateView reaches /ws pages as view_update",
              msg == {"type": "view_update", "qa_id": 5010, "element_id": "lbl", "property": "text",
                      "value": "hello <b>"}, msg)
        status, dev = p.request("GET", "/api/devices/5010")
        check("GET /api/devices/{id}", status == 200 and dev["type"] == "com.fibaro.binarySwitch"
              and dev["properties"]["value"] is False, f"{status} {dev}")
        # /api/devices from the texts the store keeps: the same as the devices
        # one by one, and a change made without REST (no cache-wide flush) is
        # in the very next answer.
        status, house = p.request("GET", "/api/devices")
        singles = [p.request("GET", f"/api/devices/{d['id']}")[1] for d in house]
        check("GET /api/devices: every device, as GET /api/devices/{id} gives it",
              status == 200 and [d["id"] for d in house] == sorted(d["id"] for d in house) and
              {5010, 5011} <= {d["id"] for d in house} and house == singles, (status, house))
        check("GET /api/devices again: the same", p.request("GET", "/api/devices")[:2] == (200, house))
        req = urllib.request.Request(p.url("/plua/execute"), method="POST", data=json.dumps(
            {"code": "require('fibaro.store').updateProperty(5010, 'log', 'cached?')"}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {p.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            check("the change made through /plua/execute", r.status == 200, r.status)
        status, again = p.request("GET", "/api/devices")
        changed = {d["id"]: d for d in again}
        check("a device changed outside REST: visible in the next /api/devices",
              status == 200 and changed[5010]["properties"]["log"] == "cached?" and
              [d for d in again if d["id"] != 5010] == [d for d in house if d["id"] != 5010], again)
        status, rs = p.request("GET", "/api/refreshStates?last=0")
        last = rs["last"]
        status, body = p.request("POST", "/api/devices/5010/action/turnOn", {"args": []})
        check("action answers 202", status == 202 and body.get("message") == "Accepted", f"{status} {body}")
        check("action reached the QuickApp", p.wait_line("[DEBUG] [QUICKAPP5010]: turned on"), p.lines)
        status, dev = p.request("GET", "/api/devices/5010")
        check("updateProperty seen over REST", dev["properties"]["value"] is True, dev["properties"].get("value"))
        status, rs = p.request("GET", f"/api/refreshStates?last={last}")
        evs = [e for e in rs["events"] if e["type"] == "DevicePropertyUpdatedEvent"]
        check("refreshStates has the property event",
              status == 200 and evs and evs[0]["data"] == {"id": 5010, "property": "value",
                                                            "newValue": True, "oldValue": False}
              and {"id": 5010, "value": True} in rs["changes"] and rs["last"] > last, rs)
        # long poll: nothing new, an action arrives 0.5 s later
        last = rs["last"]
        threading.Timer(0.5, lambda: p.request("POST", "/api/devices/5010/action/turnOff", {"args": []})).start()
        t0 = time.monotonic()
        status, rs = p.request("GET", f"/api/refreshStates?last={last}&wait=5")
        dt = time.monotonic() - t0
        check("refreshStates long-polls until an event", status == 200 and rs["events"] and 0.3 < dt < 3,
              f"{dt:.2f}s {rs}")
        t0 = time.monotonic()
        status, rs = p.request("GET", f"/api/refreshStates?last={rs['last']}&wait=0.3")
        dt = time.monotonic() - t0
        check("refreshStates gives up after its wait", status == 200 and rs["events"] == [] and dt < 2,
              f"{dt:.2f}s {rs}")
        # arguments arrive as given
        p.request("POST", "/api/devices/5010/action/setLevel", {"args": [42, "x"]})
        check("action arguments", p.wait_line("setLevel 42 x integer"), p.lines)
        status, body = p.request("GET", "/api/callAction?deviceID=5010&name=setLevel&arg1=5&arg2=y")
        check("GET /api/callAction", status == 202 and p.wait_line("setLevel 5 y nil"), f"{status} {p.lines}")
        status, body = p.request("POST", "/api/devices/5010/action/noSuchAction", {"args": []})
        check("unknown action: 202 and a warning", status == 202 and p.wait_line(
            "[WARNING] [QUICKAPP5010]: Class does not have noSuchAction function defined - action ignored"),
            f"{status} {p.lines}")
        status, body = p.request("POST", "/api/devices/4242/action/turnOn", {"args": []})
        check("action on a missing device: 404", status == 404, f"{status} {body}")
        # global variables set over REST, read with fibaro.getGlobalVariable
        status, body = p.request("POST", "/api/globalVariables", {"name": "G", "value": "first"})
        check("create global variable: 201", status == 201 and body["name"] == "G", f"{status} {body}")
        status, body = p.request("POST", "/api/globalVariables", {"name": "G", "value": "again"})
        check("duplicate global variable: 409", status == 409, f"{status} {body}")
        status, body = p.request("PUT", "/api/globalVariables/G", {"value": "from REST"})
        check("update global variable", status == 200 and body["value"] == "from REST", f"{status} {body}")
        p.request("POST", "/api/devices/5010/action/report", {"args": []})
        check("fibaro.getGlobalVariable sees it", p.wait_line("global G is from REST"), p.lines)
        status, rs = p.request("GET", f"/api/refreshStates?last={last}&wait=0")
        gv = [e for e in rs["events"] if e["type"] == "GlobalVariableChangedEvent"]
        check("GlobalVariableChangedEvent", gv and gv[0]["data"] == {"variableName": "G", "newValue": "from REST",
                                                                     "oldValue": "first"}, rs)
        status, body = p.request("GET", "/api/globalVariables/missing")
        check("missing global variable: 404", status == 404, f"{status} {body}")
        # two QuickApps: 5010 relays to 5011, which turns 5010 off again
        p.request("POST", "/api/devices/5010/action/turnOn", {"args": []})
        p.wait_line("turned on")
        p.request("POST", "/api/devices/5010/action/relay", {"args": [5011]})
        check("QuickApp calls QuickApp", p.wait_line("[DEBUG] [QUICKAPP5011]: other on"), p.lines)
        check("... and is called back", p.wait_line("[DEBUG] [QUICKAPP5010]: turned off"), p.lines)
        status, dev = p.request("GET", "/api/devices/5011")
        check("the other QuickApp's property", dev["properties"]["value"] is True, dev["properties"]["value"])
        # UI events
        status, body = p.request("POST", "/api/plugins/callUIEvent",
                                 {"deviceID": 5010, "elementName": "btn", "eventType": "onReleased",
                                  "values": [7]})
        check("callUIEvent: 204 and the callback", status == 204 and p.wait_line("clicked btn [7]"),
              f"{status} {p.lines}")
        status, body = p.request("GET", "/api/plugins/callUIEvent?deviceID=5010&elementName=btn"
                                        "&eventType=onReleased&value=8")
        check("callUIEvent by GET", status == 204 and p.wait_line("clicked btn [8]"), f"{status} {p.lines}")
        # group action: the filters pick the devices, each gets the arguments
        status, body = p.request("POST", "/api/devices/groupAction/setLevel",
                                 {"filters": [{"filter": "interface", "value": ["quickApp"]},
                                              {"filter": "type", "value": ["com.fibaro.binarySwitch"]}],
                                  "args": [3, "g"]})
        check("groupAction: 202 and the ids", status == 202 and body == {"devices": [5010, 5011]},
              f"{status} {body}")
        check("groupAction reached both", p.wait_line("[DEBUG] [QUICKAPP5010]: setLevel 3 g integer") and p.wait_line(
            "[WARNING] [QUICKAPP5011]: Class does not have setLevel function defined - action ignored"), p.lines)
        status, body = p.request("POST", "/api/devices/groupAction/setLevel",
                                 {"filters": [{"filter": "deviceID", "value": [5010, 4242]},
                                              {"filter": "hasProperty", "value": ["value"]}],
                                  "args": [4, "d"]})
        check("groupAction by deviceID", status == 202 and body == {"devices": [5010]}
              and p.wait_line("[DEBUG] [QUICKAPP5010]: setLevel 4 d integer"), f"{status} {body}")
        status, body = p.request("POST", "/api/devices/groupAction/turnOn",
                                 {"filters": [{"filter": "colour", "value": ["red"]}]})
        check("groupAction unknown filter: 400", status == 400 and "colour" in body["message"], f"{status} {body}")
        # bad bodies and unknown resources
        status, body = p.request("PUT", "/api/globalVariables/G", {"nothing": 1})
        check("bad body: 400", status == 400, f"{status} {body}")
        status, body = p.request("GET", "/api/settings/info")
        check("settings/info", status == 200 and body["serialNumber"].startswith("HC3"), body)
        status, body = p.request("GET", "/api/settings/location")
        check("settings/location has sunrise/sunset", status == 200 and re.match(r"\d\d:\d\d$", body["sunriseHour"])
              and re.match(r"\d\d:\d\d$", body["sunsetHour"]), body)
        status, body = p.request("GET", "/api/devices?interface=quickApp")
        check("device list filter", status == 200 and sorted(d["id"] for d in body) == [5010, 5011], body)
        status, rooms = p.request("POST", "/api/rooms", {"name": "Lab"})
        check("create room: 201", status == 201 and rooms["name"] == "Lab", f"{status} {rooms}")
        status, _ = p.request("DELETE", f"/api/rooms/{rooms['id']}")
        check("delete room: 204", status == 204, status)
    finally:
        p.stop()


def test_state(tmp):
    state = os.path.join(tmp, "state.json")
    qa = os.path.join(tmp, "stateful.lua")
    with open(qa, "w") as f:
        f.write(f"""--%%name:Stateful
--%%id:5020
--%%state:{state}
function QuickApp:store(v) self:internalStorageSet("k", v) end
function QuickApp:onInit()
  self:debug("G is", tostring((fibaro.getGlobalVariable("Saved"))))
  self:debug("stored", tostring(self:internalStorageGet("k")))
end
""")
    p = Plua([qa], duration=20)
    try:
        p.wait_line("stored")
        p.request("POST", "/api/globalVariables", {"name": "Saved", "value": "kept"})
        p.request("POST", "/api/devices/5020/action/store", {"args": ["v1"]})
        time.sleep(0.6)
    finally:
        p.stop()
    check("state file written", os.path.exists(state), os.listdir(tmp))
    p = Plua([qa], duration=20)
    try:
        check("state restored: global", p.wait_line("G is kept"), p.lines)
        check("state restored: internal storage", p.wait_line("stored v1"), p.lines)
    finally:
        p.stop()


def test_cli_state(tmp):
    """--state FILE: the store starts from FILE and is written back to it."""
    state = os.path.join(tmp, "cli-state.json")
    with open(state, "w") as f:
        json.dump({"globals": {"Seeded": {"name": "Seeded", "value": "from file", "readOnly": False,
                                          "isEnum": False, "enumValues": [], "created": 0, "modified": 0}},
                   "rooms": [{"id": 300, "name": "Attic", "sectionID": 219}]}, f)
    qa = os.path.join(tmp, "cli-state.lua")
    with open(qa, "w") as f:
        f.write("""--%%name:CliState
--%%id:5030
function QuickApp:onInit()
  self:debug("seeded", (fibaro.getGlobalVariable("Seeded")), fibaro.getRoomName(300))
end
""")
    p = Plua([qa], extra=["--state", state])
    try:
        check("--state seeds the store", p.wait_line("seeded from file Attic"), p.lines + p.err)
        status, _ = p.request("PUT", "/api/globalVariables/Seeded", {"value": "changed"})
        p.request("POST", "/api/rooms", {"name": "Cellar"})
        time.sleep(0.6)
    finally:
        p.stop()
    with open(state) as f:
        saved = json.load(f)
    check("--state file written back", status == 200
          and saved["globals"]["Seeded"]["value"] == "changed"
          and "Cellar" in [r["name"] for r in saved["rooms"]]
          and 5030 in [d["id"] for d in saved["devices"]], saved.get("globals"))


SCENE_QA = """--%%name:SceneWatcher
--%%id:5040
function QuickApp:onInit() self:debug("watcher ready") end
"""


def test_scenes(tmp):
    qa = os.path.join(tmp, "scene-watcher.lua")
    with open(qa, "w") as f:
        f.write(SCENE_QA)
    p = Plua([qa])
    try:
        p.wait_line("watcher ready")
        actions = ('print("scene runs", sourceTrigger.type)\n'
                   'fibaro.call(5040, "turnOn")\n'
                   'fibaro.sleep(3000)\n'
                   'print("scene survived the kill")\n')
        status, scene = p.request("POST", "/api/scenes", {
            "name": "Rest scene", "type": "lua",
            "content": json.dumps({"conditions": "{}", "actions": actions})})
        check("POST /api/scenes: 201", status == 201 and scene["type"] == "lua", f"{status} {scene}")
        sid = scene["id"]
        status, _ = p.request("POST", f"/api/scenes/{sid}/execute", {})
        check("POST /api/scenes/{id}/execute: 202 and the scene runs", status == 202
              and p.wait_line(f"[DEBUG] [SCENE{sid}]: scene runs user"), f"{status} {p.lines}")
        check("the scene calls a QuickApp action", p.wait_line(
            "[WARNING] [QUICKAPP5040]: Class does not have turnOn function defined"), p.lines)
        status, running = p.request("GET", f"/api/scenes/{sid}")
        check("a sleeping scene isRunning", running["isRunning"] is True, running)
        status, _ = p.request("POST", f"/api/scenes/{sid}/kill", {})
        status2, after = p.request("GET", f"/api/scenes/{sid}")
        check("POST /api/scenes/{id}/kill stops it", status == 200 and after["isRunning"] is False,
              f"{status} {after}")
        bad = p.request("POST", "/api/scenes", {"name": "Oops", "type": "lua", "content": json.dumps(
            {"conditions": "{}", "actions": "error('scene failed on purpose')"})})[1]
        status, _ = p.request("GET", f"/api/scenes/{bad['id']}/executeSync")
        check("an error in a scene is logged, the run goes on", status == 200 and p.wait_line(
            f"[ERROR] [SCENE{bad['id']}]: SCENE{bad['id']}:1: scene failed on purpose"), f"{status} {p.lines}")
        status, _ = p.request("GET", "/api/devices/5040")
        check("... and the emulator still answers", status == 200, status)
        time.sleep(3.2)
        check("a killed scene does not resume", not p.wait_line("scene survived the kill", timeout=0.1),
              p.lines)
    finally:
        p.stop()


FQA_QA = """--%%name:Exported
--%%id:5050
--%%type:com.fibaro.multilevelSwitch
--%%var:greeting="hi"
--%%u:{button="b1",text="Press",onReleased="pressed"}
--%%file:helper.lua,helper
function QuickApp:pressed() self:debug("pressed") end
function QuickApp:onInit()
  self:debug("onInit", self.id, self:getVariable("greeting"), helperValue())
end
"""


def test_fqa(tmp):
    with open(os.path.join(tmp, "helper.lua"), "w") as f:
        f.write("function helperValue() return 'from helper' end\n")
    qa = os.path.join(tmp, "exported.lua")
    with open(qa, "w") as f:
        f.write(FQA_QA)
    p = Plua([qa])
    try:
        check("QuickApp to export started", p.wait_line("onInit 5050 hi from helper"), p.lines + p.err)
        status, fqa = p.request("GET", "/api/quickApp/export/5050")
        ip = fqa.get("initialProperties", {}) if isinstance(fqa, dict) else {}
        check("export: .fqa shape", status == 200 and fqa["name"] == "Exported"
              and fqa["type"] == "com.fibaro.multilevelSwitch" and fqa["apiVersion"] == "1.3"
              and ip["quickAppVariables"] == [{"name": "greeting", "value": "hi"}]
              and ip["uiCallbacks"] == [{"name": "b1", "eventType": "onReleased", "callback": "pressed"}]
              and ip["typeTemplateInitialized"] is True and isinstance(ip["uiView"], list)
              and [(f["name"], f["isMain"], f["type"]) for f in fqa["files"]]
              == [("helper", False, "lua"), ("main", True, "lua")], fqa)
        status, raw = p.request("GET", "/api/quickApp/export/4242")
        check("export of a missing QuickApp: 404", status == 404, status)
        fqa["name"] = "Imported"
        status, dev = p.request("POST", "/api/quickApp/import", fqa)
        check("import: 201 with the new device", status == 201 and dev["id"] != 5050
              and dev["name"] == "Imported" and dev["type"] == "com.fibaro.multilevelSwitch", f"{status} {dev}")
        new = dev["id"]
        check("the imported QuickApp runs onInit", p.wait_line(f"[DEBUG] [QUICKAPP{new}]: onInit {new} hi from helper"),
              p.lines)
        status, dev2 = p.request("GET", f"/api/devices/{new}")
        check("the imported device over REST", status == 200 and dev2["properties"]["quickAppVariables"]
              == [{"name": "greeting", "value": "hi"}], dev2)
        p.request("POST", "/api/plugins/callUIEvent", {"deviceID": new, "elementName": "b1",
                                                       "eventType": "onReleased", "values": []})
        check("UI callbacks of the imported QuickApp", p.wait_line(f"[DEBUG] [QUICKAPP{new}]: pressed"), p.lines)
        status, body = p.request("POST", "/api/quickApp/import", {"name": "x", "type": "no.such.type",
                                                                 "files": []})
        check("import of a bad .fqa: 400", status == 400, f"{status} {body}")
        # The HC3's own upload form: multipart/form-data with the .fqa as a file part (curl -F).
        fqa["name"] = "Uploaded"
        fqa_path = os.path.join(tmp, "uploaded.fqa")
        with open(fqa_path, "w") as f:
            json.dump(fqa, f)
        out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", "-F", f"file=@{fqa_path}",
                              p.url("/api/quickApp/import")], capture_output=True, text=True, timeout=20)
        text, _, code = out.stdout.rpartition("\n")
        uploaded = json.loads(text) if code == "201" else {}
        check("import as multipart/form-data (curl -F file=@qa.fqa): 201",
              code == "201" and uploaded.get("name") == "Uploaded", out.stdout + out.stderr)
        check("the uploaded QuickApp runs onInit",
              uploaded and p.wait_line(f"[DEBUG] [QUICKAPP{uploaded['id']}]: onInit"), p.lines)
        out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-F", "file=@/dev/null;filename=x.fqa",
                              p.url("/api/quickApp/import")], capture_output=True, text=True, timeout=20)
        check("an empty upload: 400", out.stdout == "400", out.stdout + out.stderr)
        # the files of a running QuickApp
        status, files = p.request("GET", f"/api/quickApp/{new}/files")
        check("files: list without content", status == 200 and files == [
            {"name": "helper", "type": "lua", "isMain": False, "isOpen": False},
            {"name": "main", "type": "lua", "isMain": True, "isOpen": False}], files)
        status, body = p.request("POST", f"/api/quickApp/{new}/files",
                                 {"name": "extra", "type": "lua", "isMain": False, "isOpen": False,
                                  "content": "EXTRA = 'extra file'"})
        check("files: POST adds one (201)", status == 201 and body["name"] == "extra", f"{status} {body}")
        status, body = p.request("POST", f"/api/quickApp/{new}/files", {"name": "extra", "content": ""})
        check("files: POST of an existing name: 409", status == 409, status)
        main = p.request("GET", f"/api/quickApp/{new}/files/main")[1]
        main["content"] = main["content"].replace('helperValue())', 'helperValue(), EXTRA)')
        status, _ = p.request("PUT", f"/api/quickApp/{new}/files/main", main)
        check("files: PUT restarts the QuickApp with the new code", status == 200 and p.wait_line(
            f"[DEBUG] [QUICKAPP{new}]: onInit {new} hi from helper extra file"), f"{status} {p.lines}")
        status, _ = p.request("DELETE", f"/api/quickApp/{new}/files/extra")
        status2, files = p.request("GET", f"/api/quickApp/{new}/files")
        check("files: DELETE", status == 200 and [f["name"] for f in files] == ["helper", "main"], files)
        status, _ = p.request("DELETE", f"/api/quickApp/{new}/files/main")
        check("files: the main file cannot be deleted (400)", status == 400, status)
        status, _ = p.request("GET", f"/api/quickApp/{new}/files/nope")
        check("files: missing file 404", status == 404, status)
    finally:
        p.stop()


class TempHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"temperature": 21.5}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def run_example(name, lines_wanted, env=None, actions=()):
    """Runs an example until it printed lines_wanted lines (and a little
    longer, to see that nothing more comes), then stops it with SIGTERM."""
    p = Plua([os.path.join(EXAMPLES, name)], duration=60, env=env)
    try:
        deadline = time.monotonic() + 15
        while not p.lines and time.monotonic() < deadline:
            time.sleep(0.02)
        for delay, method, path, body in actions:
            time.sleep(delay)
            p.request(method, path, body)
        deadline = time.monotonic() + 15
        while len(p.lines) < lines_wanted and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.4)
    finally:
        p.stop()
    return p.lines, "".join(p.err), p.proc.returncode


def test_examples():
    lines, err, rc = run_example("binary-switch.lua", 4, actions=[
        (0.3, "POST", "/api/devices/5000/action/turnOn", {"args": []}),
        (0.2, "POST", "/api/devices/5000/action/toggle", {"args": []}),
        (0.2, "POST", "/api/plugins/callUIEvent", {"deviceID": 5000, "elementName": "on",
                                                   "eventType": "onReleased", "values": []})])
    check("example binary-switch", rc == 0 and lines == [
        "[DATE] [TIME] [DEBUG] [QUICKAPP5000]: Binary switch 5000 ready",
        "[DATE] [TIME] [DEBUG] [QUICKAPP5000]: switched on",
        "[DATE] [TIME] [DEBUG] [QUICKAPP5000]: switched off",
        "[DATE] [TIME] [DEBUG] [QUICKAPP5000]: switched on"], f"{rc} {lines} {err}")

    lines, err, rc = run_example("dimmer-children.lua", 6, actions=[
        (0.3, "POST", "/api/devices/5001/action/setValue", {"args": [40]}),
        (0.2, "POST", "/api/devices/5000/action/setValue", {"args": [120]})])
    check("example dimmer-children", rc == 0 and lines[:4] == [
        "[DATE] [TIME] [DEBUG] [QUICKAPP5000]: dimmer 5001 Lamp 1 attached",
        "[DATE] [TIME] [DEBUG] [QUICKAPP5000]: dimmer 5002 Lamp 2 attached",
        "[DATE] [TIME] [DEBUG] [QUICKAPP5000]: children 5001,5002",
        "[DATE] [TIME] [DEBUG] [QUICKAPP5000]: Lamp 1 level 40"]
        and sorted(lines[4:]) == ["[DATE] [TIME] [DEBUG] [QUICKAPP5000]: Lamp 1 level 99",
                                  "[DATE] [TIME] [DEBUG] [QUICKAPP5000]: Lamp 2 level 99"],
        f"{rc} {lines} {err}")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TempHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/temperature"
        lines, err, rc = run_example("temperature-sensor.lua", 3, env={"TEMPERATURE_URL": url})
    finally:
        server.shutdown()
    check("example temperature-sensor", rc == 0 and lines[:3] == [
        f"[DATE] [TIME] [DEBUG] [QUICKAPP5000]: polling {url}",
        "[DATE] [TIME] [DEBUG] [QUICKAPP5000]: temperature 21.5 °C",
        "[DATE] [TIME] [DEBUG] [QUICKAPP5000]: temperature 21.5 °C"], f"{rc} {lines} {err}")

    lines, err, rc = run_example("globals-events.lua", 7)
    expected = ["[DATE] [TIME] [DEBUG] [QUICKAPP5000]: Counter is 0"]
    for i in range(3):
        expected += [f"[DATE] [TIME] [DEBUG] [QUICKAPP5000]: Counter changed {i} -> {i + 1}",
                     "[DATE] [TIME] [DEBUG] [QUICKAPP5000]: custom event CounterTick"]
    check("example globals-events", rc == 0 and lines == expected, f"{rc} {lines} {err}")

    ui = "/api/plugins/callUIEvent"
    lines, err, rc = run_example("ui.lua", 7, actions=[
        (0.3, "POST", ui, {"deviceID": 5000, "elementName": "up", "eventType": "onReleased", "values": []}),
        (0.1, "POST", ui, {"deviceID": 5000, "elementName": "up", "eventType": "onReleased", "values": []}),
        (0.1, "POST", ui, {"deviceID": 5000, "elementName": "down", "eventType": "onReleased", "values": []}),
        (0.1, "POST", ui, {"deviceID": 5000, "elementName": "level", "eventType": "onChanged", "values": [77]}),
        (0.1, "POST", ui, {"deviceID": 5000, "elementName": "power", "eventType": "onReleased", "values": [True]}),
        (0.1, "POST", ui, {"deviceID": 5000, "elementName": "mode", "eventType": "onToggled", "values": ["eco"]})])
    check("example ui", rc == 0 and lines == [
        "[DATE] [TIME] [DEBUG] [QUICKAPP5000]: UI ready",
        "[DATE] [TIME] [DEBUG] [QUICKAPP5000]: level 10",
        "[DATE] [TIME] [DEBUG] [QUICKAPP5000]: level 20",
        "[DATE] [TIME] [DEBUG] [QUICKAPP5000]: level 10",
        "[DATE] [TIME] [DEBUG] [QUICKAPP5000]: level 77",
        "[DATE] [TIME] [DEBUG] [QUICKAPP5000]: power true",
        "[DATE] [TIME] [DEBUG] [QUICKAPP5000]: mode eco"], f"{rc} {lines} {err}")


def main():
    with tempfile.TemporaryDirectory(prefix="plua-fibaro-") as tmp:
        test_rest(tmp)
        test_state(tmp)
        test_cli_state(tmp)
        test_scenes(tmp)
        test_fqa(tmp)
        test_examples()
    if failed:
        print(f"{len(failed)} failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
