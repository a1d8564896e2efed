#!/usr/bin/env python3
"""The QuickApp workbench from the command line, as a developer's editor or CI
runs it: exit status after QuickApp errors (and --fail-fast), the REPL inside
the QuickApp, virtual time (--speed, --instant, --max-time), --check and --watch.

usage: test-workbench.py PLUA
"""
import os
import re
import subprocess
import sys
import tempfile
import time

from apitest import check, failed

PLUA = os.path.abspath(sys.argv[1])
STAMP = re.compile(r"^\[\d\d\.\d\d\.\d{4}\] \[\d\d:\d\d:\d\d\] ", re.M)


def run(args, cwd, stdin=None, timeout=20, env=None):
    e = dict(os.environ, TZ="UTC")
    e.update(env or {})
    start = time.monotonic()
    p = subprocess.run([PLUA, *args], cwd=cwd, input=stdin, capture_output=True, text=True,
                       timeout=timeout, env=e)
    return p.returncode, STAMP.sub("", p.stdout), p.stderr, time.monotonic() - start


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


ERRORS = """--%%name:Errs
--%%id:5001
--%%u:{button='b1', text='B', onReleased='pressed'}
function QuickApp:pressed() error("boom in button") end
function QuickApp:onInit()
  setTimeout(function() error("boom in timer") end, 10)
  setTimeout(function() self:debug("still running") end, 50)
  fibaro.call(self.id, "UIEvent", {})
  api.post("/plugins/callUIEvent", {deviceID = self.id, elementName = "b1", eventType = "onReleased", values = {}})
  error("boom in onInit")
end
"""

SYNTAX = """--%%name:Broken
--%%id:5002
function QuickApp:onInit() self:debug("never" end
"""


def test_exit_status(tmp):
    qa = write(tmp, "errs.lua", ERRORS)
    rc, out, err, _ = run(["--fibaro", "--noapi", qa], tmp)
    check("exit: QuickApp errors give status 1", rc == 1, f"{rc} {err}")
    check("exit: the run goes on after an error", "[DEBUG] [QUICKAPP5001]: still running" in out, out)
    for what in ("boom in onInit", "boom in timer", "boom in button"):
        check(f"exit: '{what}' is an ERROR console line on stdout",
              re.search(r"\[ERROR\] \[QUICKAPP5001\]: \S*errs\.lua:\d+: " + what, out) is not None, out)
    check("exit: one-line summary on stderr", err.strip().endswith("plua: 3 QuickApp errors"), err)
    check("exit: console lines are not on stderr", "boom" not in err, err)

    rc, out, err, _ = run(["--fibaro", "--noapi", "--fail-fast", qa], tmp)
    check("fail-fast: status 1", rc == 1, f"{rc} {err}")
    check("fail-fast: the run ends at the first error", "still running" not in out and "boom in onInit" in out, out)
    check("fail-fast: summary counts one", "plua: 1 QuickApp error\n" in err, err)

    bad = write(tmp, "broken.lua", SYNTAX)
    good = write(tmp, "good.lua", "--%%id:5003\nfunction QuickApp:onInit() self:debug('good one') end\n")
    rc, out, err, _ = run(["--fibaro", "--noapi", bad, good], tmp)
    check("exit: a syntax error in a QuickApp gives status 1", rc == 1, f"{rc} {err}")
    check("exit: the syntax error names the line", re.search(r"\[ERROR\] \[QUICKAPP5002\]: \S*broken\.lua:3:", out) is not None, out)
    check("exit: the other QuickApp still runs", "good one" in out, out)
    check("exit: summary for the syntax error", "plua: 1 QuickApp error" in err, err)

    rc, out, err, _ = run(["--fibaro", "--noapi", good], tmp)
    check("exit: no error, status 0 and no summary", rc == 0 and "QuickApp error" not in err, f"{rc} {err}")


ORDER = """
local out, t0 = {}, os.time()
local function at(ms, name) setTimeout(function() out[#out + 1] = name .. "@" .. (os.time() - t0) end, ms) end
at(3600e3, "c") at(1000, "a") at(86400e3, "d") at(60e3, "b")
setInterval(function() end, 0)
local n = 0
local id; id = setInterval(function() n = n + 1 if n == 3 then clearInterval(id) end end, 7200e3)
setTimeout(function() sleep(1800e3) out[#out + 1] = "slept@" .. (os.time() - t0) end, 0)
setTimeout(function() print(table.concat(out, " "), n) os.exit(0) end, 90000e3)
"""


def test_virtual_time(tmp):
    script = write(tmp, "order.lua", ORDER.replace("setInterval(function() end, 0)\n", ""))
    rc, out, err, secs = run(["--noapi", "--instant", script], tmp)
    check("instant: 25 virtual hours of timers in order, at their virtual times",
          out.strip() == "a@1 b@60 slept@1800 c@3600 d@86400\t3", f"{rc} {out!r} {err}")
    check("instant: well under 2 s real", secs < 2, f"{secs:.2f} s")

    rc, out, err, secs = run(["--noapi", "--speed", "20", "-e",
                              "local t, c = os.time(), _PY.millitime() setTimeout(function() "
                              "print(os.time() - t >= 20, _PY.millitime() - c >= 20) end, 20000)"], tmp)
    check("speed 20: 20 virtual seconds of os.time and millitime in about 1 s",
          out.strip() == "true\ttrue" and 0.9 < secs < 5, f"{rc} {out!r} {secs:.2f} s {err}")

    rc, out, err, secs = run(["--noapi", "--instant", "--max-time", "7200", "-e",
                              "setInterval(function() print(os.date('!%H:%M', os.time())) end, 1000e3)"], tmp)
    check("max-time: the run ends after 2 virtual hours", rc == 0 and len(out.split()) == 7 and secs < 2,
          f"{rc} {out!r} {secs:.2f} s")
    rc, out, err, secs = run(["--speed", "0"], tmp)
    check("speed 0 is a bad command line", rc == 2 and "--speed" in err, f"{rc} {err}")
    rc, out, err, secs = run(["--max-time", "-1"], tmp)
    check("negative max-time is a bad command line", rc == 2 and "--max-time" in err, f"{rc} {err}")

    qa = write(tmp, "speed.lua", "--%%speed:3600\n--%%id:5004\nfunction QuickApp:onInit()\n"
               "  setTimeout(function() self:debug('an hour later') end, 3600e3)\nend\n")
    rc, out, err, secs = run(["--fibaro", "--noapi", qa], tmp)
    check("--%%speed:3600: an hour of QuickApp time in about a second",
          "[DEBUG] [QUICKAPP5004]: an hour later" in out and secs < 5, f"{rc} {out!r} {secs:.2f} s {err}")


MAIN_QA = """--%%name:Main
--%%id:5001
myGlobal = 42
function QuickApp:hello() return "hello from " .. self.name end
function QuickApp:onInit() self:debug("up") end
"""
SECOND_QA = """--%%name:Second
--%%id:5002
other = "second"
function QuickApp:onInit() end
"""
TOKEN = "0123456789abcdef0123456789abcdef"


def execute(port, body):
    import json
    import urllib.error
    import urllib.request
    req = urllib.request.Request(f"http://127.0.0.1:{port}/plua/execute", data=json.dumps(body).encode(),
                                 method="POST", headers={"Content-Type": "application/json",
                                                         "Authorization": "Bearer " + TOKEN})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def test_repl_in_quickapp(tmp):
    from apitest import ApiPlua
    main = write(tmp, "main.lua", MAIN_QA)
    second = write(tmp, "second.lua", SECOND_QA)
    lines = ["myGlobal", "quickApp:hello()", "=fibaro.getName(5001)", ":qa 5002", "other, myGlobal",
             ":qa 9999", ":qa", "=myGlobal", "{b={2,3}, a=1, [1]='x'}", "=api.get('/devices/5002').name",
             "x = 7", "=quickApp.id, x"]
    rc, out, err, _ = run(["--fibaro", "--noapi", "-i", main, second], tmp, stdin="\n".join(lines) + "\n")
    want = ["[DEBUG] [QUICKAPP5001]: up", "42", "hello from Main", "Main", "code runs in QuickApp 5002",
            "second\tnil", "code runs in the main QuickApp", "42", '{ "x", a = 1, b = { 2, 3 } }', "Second",
            "5001\t7"]
    check("repl: terminal REPL runs in the main QuickApp's environment, :qa switches, =expr, tables pretty",
          out.splitlines() == want, f"{out!r} {err!r}")
    check("repl: :qa with an unknown id says so", "no QuickApp 9999" in err, err)

    p = ApiPlua(PLUA, ["--fibaro", "--api-token", TOKEN, main, second], env=dict(os.environ), cwd=tmp)
    try:
        check("execute: server up", p.port is not None, "".join(p.stderr))
        status, body = execute(p.port, {"code": "return myGlobal, quickApp.id, fibaro.getName(5002)"})
        check("execute: runs in the main QuickApp by default", status == 200 and body["result"] == [42, 5001, "Second"],
              (status, body))
        status, body = execute(p.port, {"code": "return other, quickApp.id", "qa": 5002})
        check("execute: the qa field chooses the QuickApp", status == 200 and body["result"] == ["second", 5002],
              (status, body))
        status, body = execute(p.port, {"code": "return 1", "qa": 4711})
        check("execute: an unknown qa is a 400 that names it", status == 400 and "4711" in body.get("error", ""),
              (status, body))
        status, body = execute(p.port, {"code": "return 1", "qa": {}})
        check("execute: a qa that is not an id is a 400", status == 400, (status, body))
    finally:
        p.stop()


def main():
    with tempfile.TemporaryDirectory(prefix="plua-workbench-") as tmp:
        test_exit_status(tmp)
        test_virtual_time(tmp)
        test_repl_in_quickapp(tmp)
    if failed:
        print(f"{len(failed)} failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
