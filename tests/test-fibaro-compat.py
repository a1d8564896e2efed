#!/usr/bin/env python3
"""QuickApps written for the other emulators, run as their authors run them.

usage: test-fibaro-compat.py PLUA

Each check writes a QuickApp (and the files it names) into a fresh directory
with its own HOME, runs `plua --fibaro --noapi` there and looks at what a user
sees: stdout, stderr, the exit status and the files written. Covers --%%var
values read from `env` and `config` (~/.plua/config.lua, ./.plua/config.lua),
--%%file with a colon, --%%state:true, --%%save into a missing directory,
--%%conceal, and a QuickApp without --%%id keeping its device, variables and
internal storage across runs.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

from apitest import check, failed

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


def main():
    for t in (test_var_env_config, test_file_colon_and_conceal, test_save_missing_dir,
              test_state_across_runs, test_seed_not_rewritten):
        t()
    print(f"{len(failed)} failed" if failed else "all passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
