#!/usr/bin/env python3
"""QuickApps written for the other emulators, run as their authors run them.

usage: test-fibaro-compat.py PLUA

Each check writes a QuickApp (and the files it names) into a fresh directory
with its own HOME, runs `plua --fibaro --noapi` there and looks at what a user
sees: stdout, stderr, the exit status and the files written. Covers --%%var
values read from `env` and `config` (~/.plua/config.lua, ./.plua/config.lua),
--%%file with a colon, --%%state:true, --%%save into a missing directory,
--%%conceal, and a QuickApp without --%%id keeping its device, variables and
internal storage across runs. Then, over the REST API of a running emulator,
the routes QuickApps call that answered 501 (/energy/devices, /diagnostics,
/mobile/push, /proxy?url= against a Python http.server on 127.0.0.1) and
PUT /weather refused with 405.
"""
import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request

from apitest import ApiPlua, check, failed

PLUA = os.path.abspath(sys.argv[1])
STAMP = re.compile(r"^\[\d\d\.\d\d\.\d{4}\] \[\d\d:\d\d:\d\d\] \[[A-Z]+\] \[[A-Z0-9]+\]: ", re.M)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def run(cwd, home, *args, env=None):
    e = dict(os.environ, HOME=home, NO_COLOR="1")
    e.pop("PLUA_FIBARO_STATE", None)
    e.update(env or {})
    p = subprocess.run([PLUA, "--fibaro", "--noapi", *args], cwd=cwd, env=e, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=20)
    return p.returncode, STAMP.sub("", p.stdout.decode()), p.stderr.decode()


def fresh():
    d = tempfile.mkdtemp(prefix="plua-compat-")
    home = os.path.join(d, "home")
    work = os.path.join(d, "work")
    os.makedirs(home)
    os.makedirs(work)
    return work, home


def test_var_env_config():
    work, home = fresh()
    write(os.path.join(home, ".plua", "config.lua"),
          'return { user = "home-user", password = "home-pw", port = 80 }\n')
    write(os.path.join(work, ".plua", "config.lua"), 'return { password = "project-pw" }\n')
    write(os.path.join(work, "qa.lua"), """--%%name:Secrets
--%%var:user=config.user
--%%var:password=config.password
--%%var:port=config.port + 1
--%%var:token=env.PLUA_COMPAT_TOKEN
--%%var:missing=config.nothing or "default"
function QuickApp:onInit()
  for _, n in ipairs({"user", "password", "port", "token", "missing"}) do
    print(n, self:getVariable(n), type(self:getVariable(n)))
  end
end
""")
    rc, out, err = run(work, home, "qa.lua", env={"PLUA_COMPAT_TOKEN": "t0k3n"})
    check("var: config from ~/.plua then ./.plua, env from the environment",
          rc == 0 and out == "user home-user string\npassword project-pw string\nport 81 number\n"
          "token t0k3n string\nmissing default string\n", f"rc={rc} out={out!r} err={err!r}")
    # a broken config file stops the run naming the file and the reason
    write(os.path.join(work, ".plua", "config.lua"), 'return "not a table"\n')
    rc, out, err = run(work, home, "qa.lua")
    check("var: a config file not returning a table is one clear error",
          rc != 0 and "qa.lua:2: bad value: config file .plua/config.lua: must return a table" in err
          and "resource://" not in err and out == "", f"rc={rc} err={err!r}")


def test_file_colon_and_conceal():
    work, home = fresh()
    write(os.path.join(work, "lib", "util.lua"), "function helper() return 'from util' end\n")
    write(os.path.join(work, "qa.lua"), """--%%name:Files
--%%file:lib/util.lua:util
--%%var:password="s3cret"
--%%var:host="10.0.0.2"
--%%conceal:password="<your password here>"
--%%save:dist/files.fqa
function QuickApp:onInit() print(helper(), self:getVariable("password")) end
""")
    os.makedirs(os.path.join(work, "dist"))
    rc, out, err = run(work, home, "qa.lua")
    check("file: --%%file:path:name loads the file under that name", rc == 0 and out == "from util s3cret\n",
          f"rc={rc} out={out!r} err={err!r}")
    try:
        with open(os.path.join(work, "dist", "files.fqa"), encoding="utf-8") as f:
            fqa = json.load(f)
    except (OSError, ValueError) as e:
        fqa = {"error": str(e)}
    names = [f.get("name") for f in fqa.get("files", [])]
    qvars = {v["name"]: v["value"] for v in fqa.get("initialProperties", {}).get("quickAppVariables", [])}
    check("conceal: the saved .fqa has the concealed value, the others as they are",
          names == ["util", "main"] and qvars == {"password": "<your password here>", "host": "10.0.0.2"},
          json.dumps(fqa)[:400])


def test_save_missing_dir():
    work, home = fresh()
    write(os.path.join(work, "qa.lua"), "--%%name:Saver\n--%%save:nowhere/qa.fqa\n"
          "function QuickApp:onInit() print('must not run') end\n")
    rc, out, err = run(work, home, "qa.lua")
    lines = [l for l in err.splitlines() if l.strip()]
    check("save: a missing directory is one error line naming the directive",
          rc != 0 and out == "" and len(lines) == 1
          and "qa.lua:2: cannot save nowhere/qa.fqa: directory nowhere does not exist" in lines[0],
          f"rc={rc} out={out!r} err={err!r}")


def test_header_error_one_line():
    work, home = fresh()
    write(os.path.join(work, "qa.lua"), "--%%name:Bad\n--%%var:x=\n--%%id:12\n"
          "function QuickApp:onInit() print('must not run') end\n")
    write(os.path.join(work, "qa2.lua"), "--%%name:Bad\n--%%u:{button='b', text=}\n"
          "function QuickApp:onInit() print('must not run') end\n")
    for name, want in (("qa.lua", "qa.lua:2: "), ("qa2.lua", "qa2.lua:2: malformed value")):
        rc, out, err = run(work, home, name)
        lines = [l for l in err.splitlines() if l.strip()]
        check(f"header: an error in {name}'s header is one line without plua's frames",
              rc != 0 and out == "" and len(lines) == 1 and want in lines[0] and "resource://" not in err,
              f"rc={rc} out={out!r} err={err!r}")


QA_STATEFUL = """--%%name:Counter
--%%type:com.fibaro.multilevelSensor
--%%var:runs=0
--%%state:{state}
function QuickApp:onInit()
  local n = tonumber(self:getVariable("runs")) + 1
  self:setVariable("runs", tostring(n))
  local seen = (self:internalStorageGet("seen") or 0) + 1
  self:internalStorageSet("seen", seen)
  print("id", self.id, "runs", n, "seen", seen)
end
"""


def test_state_across_runs():
    work, home = fresh()
    write(os.path.join(work, "counter.lua"), QA_STATEFUL.format(state="true"))
    outs = [run(work, home, "counter.lua") for _ in range(3)]
    ids = [re.search(r"id (\d+)", o[1]) for o in outs]
    check("state:true uses the default state file .plua/state.json (not a file named 'true')",
          os.path.exists(os.path.join(work, ".plua", "state.json"))
          and not os.path.exists(os.path.join(work, "true")), str(os.listdir(work)))
    check("state: without --%%id the QuickApp keeps its device, variables and internal storage",
          all(o[0] == 0 for o in outs) and all(ids) and len({m.group(1) for m in ids}) == 1
          and [o[1].split("runs ")[1].strip() for o in outs] == ["1 seen 1", "2 seen 2", "3 seen 3"],
          repr(outs))
    # a second QuickApp of another file in the same state gets its own device
    write(os.path.join(work, "other.lua"), QA_STATEFUL.format(state="true").replace("Counter", "Other"))
    rc, out, err = run(work, home, "other.lua")
    check("state: another QuickApp file gets a device of its own",
          rc == 0 and "runs 1 seen 1" in out and ids[0] and ("id " + ids[0].group(1) + " ") not in out,
          f"{out!r} {err!r}")


def test_seed_not_rewritten():
    work, home = fresh()
    seed = {"globals": [], "devices": []}
    seed_text = json.dumps(seed)
    write(os.path.join(work, "seed.json"), seed_text)
    write(os.path.join(work, "counter.lua"), QA_STATEFUL.format(state="seed.json"))
    rc, out, err = run(work, home, "--state", "real.json", "counter.lua")
    with open(os.path.join(work, "seed.json"), encoding="utf-8") as f:
        after = f.read()
    check("state: a --%%state file beside --state FILE is a seed, never rewritten",
          rc == 0 and after == seed_text and os.path.exists(os.path.join(work, "real.json")),
          f"rc={rc} err={err!r} seed={after[:200]!r}")
    # an untouched state file is not rewritten at exit either
    write(os.path.join(work, "idle.lua"), "--%%name:Idle\nfunction QuickApp:onInit() end\n")
    rc, out, err = run(work, home, "--state", "real.json", "idle.lua")
    before = os.path.getmtime(os.path.join(work, "real.json"))
    with open(os.path.join(work, "real.json"), encoding="utf-8") as f:
        text1 = f.read()
    rc, out, err = run(work, home, "--state", "real.json", "idle.lua")
    with open(os.path.join(work, "real.json"), encoding="utf-8") as f:
        text2 = f.read()
    check("state: a run that changes nothing leaves the state file as it was",
          rc == 0 and text1 == text2 and os.path.getmtime(os.path.join(work, "real.json")) == before,
          err)


class LanPeer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"peer": "lan", "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def rest(port, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            text = r.read().decode()
            return r.status, r.headers.get("Content-Type", ""), text
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def test_routes():
    work, home = fresh()
    write(os.path.join(work, "meter.lua"), "--%%name:Meter\n--%%type:com.fibaro.energyMeter\n"
          "--%%interfaces:{'energy'}\nfunction QuickApp:onInit() self:updateProperty('energy', 4.5) end\n")
    peer = http.server.ThreadingHTTPServer(("127.0.0.1", 0), LanPeer)
    threading.Thread(target=peer.serve_forever, daemon=True).start()
    env = dict(os.environ, HOME=home, NO_COLOR="1")
    env.pop("PLUA_FIBARO_PROXY", None)
    p = ApiPlua(PLUA, ["--fibaro", "--duration", "30", "meter.lua"], env, cwd=work)
    try:
        check("routes: the emulator's REST API is up", p.port is not None, "".join(p.stderr))
        if p.port is None:
            return
        status, _, text = rest(p.port, "GET", "/api/energy/devices")
        devs = json.loads(text) if status == 200 else []
        check("GET /api/energy/devices lists the devices measuring energy",
              status == 200 and [(d["name"], d["energy"]) for d in devs] == [("Meter", 4.5)], f"{status} {text}")
        status, _, text = rest(p.port, "GET", "/api/diagnostics")
        diag = json.loads(text) if status == 200 else {}
        check("GET /api/diagnostics answers memory, storage and CPU load",
              status == 200 and set(diag.get("memory", {})) == {"free", "cache", "buffers", "used"}
              and "internal" in diag.get("storage", {}) and isinstance(diag.get("cpuLoad"), list), f"{status} {text}")
        status, _, text = rest(p.port, "POST", "/api/mobile/push",
                               {"mobileDevices": [3], "title": "Door", "message": "left open"})
        check("POST /api/mobile/push is accepted", status == 200 and "id" in json.loads(text or "{}"),
              f"{status} {text}")
        status, _, text = rest(p.port, "PUT", "/api/weather", {"Temperature": 99})
        status2, _, text2 = rest(p.port, "GET", "/api/weather")
        check("PUT /api/weather is 405, the weather unchanged",
              status == 405 and status2 == 200 and json.loads(text2).get("Temperature") != 99, f"{status} {text}")
        lan = f"http://127.0.0.1:{peer.server_address[1]}/thing?x=1"
        status, ctype, text = rest(p.port, "GET", "/api/proxy?url=" + urllib.request.quote(lan, safe=""))
        check("GET /api/proxy?url= fetches from a loopback/LAN address, body and type as they came",
              status == 200 and "application/json" in ctype
              and json.loads(text or "{}") == {"peer": "lan", "path": "/thing?x=1"}, f"{status} {ctype} {text}")
        status, _, text = rest(p.port, "GET", "/api/proxy?url=" + urllib.request.quote("http://93.184.215.14/", safe=""))
        check("GET /api/proxy refuses a public address by default (403)", status == 403 and "LAN" in text,
              f"{status} {text}")
        status, _, text = rest(p.port, "GET", "/api/proxy")
        check("GET /api/proxy without url is 400", status == 400, f"{status} {text}")
    finally:
        p.stop()
        peer.shutdown()


def main():
    for t in (test_var_env_config, test_file_colon_and_conceal, test_save_missing_dir, test_header_error_one_line,
              test_state_across_runs, test_seed_not_rewritten, test_routes):
        t()
    print(f"{len(failed)} failed" if failed else "all passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
