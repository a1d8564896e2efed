#!/usr/bin/python3
"""The D-Bus service, as other programs and `plua --remote` meet it.

usage: test-dbus.py PLUA BUILD_ROOT
Installs the build into a temporary prefix (meson install --destdir), starts a
private session bus (dbus-daemon) whose XDG_DATA_DIRS points there, and lets
the bus start plua through the installed activation file. The installed Exec
line is checked, then relocated into the temporary prefix (the files were
installed with DESTDIR) with --api-port 0 added so the service's REST server
never takes the default port from other tests. The service's time limit and
idle timeout are shortened through PLUA_EXECUTE_TIMEOUT and
PLUA_SERVICE_IDLE_TIMEOUT; PLUA_BROWSER records the URL the desktop launch
would open instead of starting a browser.
One "ok - NAME" / "not ok - NAME" line per check; exits 1 on any failure.
"""
import ast
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from apitest import check, failed

PLUA = os.path.abspath(sys.argv[1])
BUILD_ROOT = os.path.abspath(sys.argv[2])
APP_ID = "io.github.plua.Plua"
PATH = "/io/github/plua/Plua"
IFACE = APP_ID + ".Runtime1"
EXECUTE_TIMEOUT = 2
IDLE_TIMEOUT = 3


def parse_gvariant(text):
    """gdbus' GVariant text (booleans, strings, numbers, dicts, variants) as Python values."""
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c in "'\"":
            j = i + 1
            while text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("true", i):
            out.append("True")
            i += 4
        elif text.startswith("false", i):
            out.append("False")
            i += 5
        elif c in "<>":
            i += 1
        else:
            m = re.match(r"(u?int(16|32|64)|byte|double|objectpath|@\w+) ", text[i:])
            if m:
                i += len(m.group(0))
            else:
                out.append(c)
                i += 1
    return ast.literal_eval("".join(out))


class Bus:
    """A private session bus; the services it starts inherit env."""

    def __init__(self, env):
        self.env = env
        self.log = []
        self.proc = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.address = self.proc.stdout.readline().strip()
        threading.Thread(target=self._read, args=(self.proc.stderr,), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()
        self.client_env = dict(env, DBUS_SESSION_BUS_ADDRESS=self.address)

    def _read(self, stream):
        for line in stream:
            self.log.append(line)

    def call(self, method, *args, iface=IFACE, timeout=30):
        p = subprocess.run(["gdbus", "call", "--session", "--dest", APP_ID, "--object-path", PATH,
                            "--timeout", str(timeout), "--method", f"{iface}.{method}", *args],
                           capture_output=True, text=True, env=self.client_env, timeout=timeout + 10)
        if p.returncode != 0:
            raise RuntimeError(p.stderr.strip())
        return parse_gvariant(p.stdout.strip())

    def execute(self, code):
        return self.call("Execute", code)

    def has_owner(self):
        p = subprocess.run(["gdbus", "call", "--session", "--dest", "org.freedesktop.DBus", "--object-path",
                            "/org/freedesktop/DBus", "--method", "org.freedesktop.DBus.NameHasOwner", APP_ID],
                           capture_output=True, text=True, env=self.client_env, timeout=10)
        return p.stdout.strip() == "(true,)"

    def plua(self, *args, timeout=30):
        return subprocess.run([self.plua_path, *args], capture_output=True, text=True, env=self.client_env,
                              timeout=timeout)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie of dbus-daemon's is gone for our purpose.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def install(dest):
    p = subprocess.run(["meson", "install", "-C", BUILD_ROOT, "--no-rebuild", "--quiet", "--destdir", dest],
                       capture_output=True, text=True, timeout=120)
    check("meson install into a temporary prefix", p.returncode == 0, p.stderr[-2000:])
    intro = subprocess.run(["meson", "introspect", "--buildoptions", BUILD_ROOT], capture_output=True,
                           text=True, timeout=30)
    options = {o["name"]: o["value"] for o in json.loads(intro.stdout)}
    prefix = options["prefix"]
    root = dest + prefix
    bindir = os.path.join(prefix, options["bindir"])
    service = os.path.join(root, options["datadir"], "dbus-1", "services", APP_ID + ".service")
    text = open(service).read() if os.path.exists(service) else ""
    check("the activation file is installed with the binary's path",
          f"Name={APP_ID}\n" in text and f"Exec={bindir}/plua --gapplication-service\n" in text, text)
    # Relocated: DESTDIR moved the binary.
    with open(service, "w") as f:
        f.write(text.replace(f"Exec={bindir}/plua", f"Exec={dest}{bindir}/plua --api-port 0"))
    return os.path.join(root, options["datadir"]), dest + bindir + "/plua"


def test_service(bus, tmp):
    # Activation: the first call starts plua.
    check("no service before the first call", not bus.has_owner(), "")
    r = bus.execute("return 1+1")
    check("Execute activates the service and answers", r == (True, "2", "", ""), r)
    status = bus.call("GetStatus")[0]
    pid = status.get("pid")
    cmdline = open(f"/proc/{pid}/cmdline").read().split("\0") if pid else []
    check("the bus started the installed plua with --gapplication-service",
          cmdline[:1] == [bus.plua_path] and "--gapplication-service" in cmdline, cmdline)
    version = subprocess.run([PLUA, "--version"], capture_output=True, text=True, timeout=10).stdout.split()[1]
    check("GetStatus: the version of meson's project()", status.get("version") == version, status)
    check("GetStatus: uptime, counters, Lua memory, API port",
          status.get("uptime", 0) > 0 and status.get("timers") == 0 and "sockets" in status and
          "servers" in status and status.get("lua_memory", 0) > 1000 and status.get("api_port", 0) > 0, status)

    # Execute: the rules of POST /plua/execute.
    r = bus.execute('print("one") print("two") return 6*7, "x"')
    check("Execute: output captured, several results as a JSON array", r == (True, '[42,"x"]', "one\ntwo", ""), r)
    r = bus.execute("counter = (counter or 0) + 1")
    r2 = bus.execute("counter")
    check("Execute: a statement runs once, an expression is returned", r == (True, "null", "", "") and
          r2 == (True, "1", "", ""), (r, r2))
    r = bus.execute('error("boom")')
    check("Execute: a Lua error", r[0] is False and r[1] == "null" and "boom" in r[3], r)
    r = bus.execute("this is not lua")
    check("Execute: a syntax error", r[0] is False and "dbus:1:" in r[3], r)
    r = bus.execute("local t0 = os.time() sleep(0.3) return {slept = true}")
    check("Execute: code may sleep", r == (True, '{"slept":true}', "", ""), r)
    r = bus.execute('return "caf" .. string.char(233)')
    check("Execute: stray bytes arrive as U+FFFD", r[0] is True and "\ufffd" in r[1], r)

    # RunFile.
    script = os.path.join(tmp, "job.lua")
    with open(script, "w") as f:
        f.write('print("job ran")\nfrom_file = 7\n')
    r = bus.call("RunFile", script)
    r2 = bus.execute("from_file * 6")
    check("RunFile runs the file in the service's runtime", r == (True, "") and r2 == (True, "42", "", ""),
          (r, r2))
    bad = os.path.join(tmp, "bad.lua")
    with open(bad, "w") as f:
        f.write('sleep(0.1)\nerror("file failed")\n')
    r = bus.call("RunFile", bad)
    check("RunFile reports the script's error", r[0] is False and "file failed" in r[1], r)
    r = bus.call("RunFile", os.path.join(tmp, "missing.lua"))
    check("RunFile of a missing file", r[0] is False and "missing.lua" in r[1], r)

    # The Output signal: everything the runtime prints.
    monitor = subprocess.Popen(["gdbus", "monitor", "--session", "--dest", APP_ID, "--object-path", PATH],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=bus.client_env)
    lines = []
    threading.Thread(target=lambda: [lines.append(line) for line in monitor.stdout], daemon=True).start()
    time.sleep(0.5)
    bus.execute('print("signal-one") setTimeout(function() print("signal-from-timer") end, 100)')
    got = wait_for(lambda: any("signal-from-timer" in line for line in lines), 5)
    monitor.terminate()
    monitor.wait(10)
    text = "".join(lines)
    check("Output signal for printed lines, also from timers",
          got and f"{IFACE}.Output ('signal-one',)" in text and "signal-from-timer" in text, text[-500:])

    # Two clients at once: both sleeping calls run side by side.
    results = [None, None]

    def client(i):
        results[i] = bus.execute(f'sleep(1) return "client{i}"')

    t = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    elapsed = time.monotonic() - t
    check("two clients at once", results == [(True, '"client0"', "", ""), (True, '"client1"', "", "")] and
          elapsed < 1.9, (results, elapsed))

    # A runaway call is stopped by the time limit; the service goes on.
    t = time.monotonic()
    r = bus.execute("while true do end")
    elapsed = time.monotonic() - t
    check("a runaway Execute ends at the time limit", r[0] is False and "timed out" in r[3] and
          EXECUTE_TIMEOUT - 0.2 < elapsed < EXECUTE_TIMEOUT + 3, (r, elapsed))
    r = bus.execute("pcall(function() while true do end end) return 'swallowed'")
    check("a runaway Execute cannot swallow the limit with pcall", r[0] is False and "timed out" in r[3], r)
    t = time.monotonic()
    r = bus.execute("return 'still here'")
    check("the service keeps answering after a runaway call", r == (True, '"still here"', "", "") and
          time.monotonic() - t < 2, r)

    # plua --remote.
    p = bus.plua("--remote", "-e", 'print("remote out") return 6*7')
    check("--remote -e prints output and result", p.returncode == 0 and p.stdout == "remote out\n42\n",
          (p.returncode, p.stdout, p.stderr))
    p = bus.plua("--remote", "-e", "from_remote = 5", "-e", "return from_remote + 1")
    check("--remote runs several fragments in order", p.returncode == 0 and p.stdout == "6\n", (p.stdout, p.stderr))
    p = bus.plua("--remote", "-e", 'error("remote boom")')
    check("--remote: exit status 1 and the error on stderr", p.returncode == 1 and "remote boom" in p.stderr and
          p.stdout == "", (p.returncode, p.stdout, p.stderr))
    remote_script = os.path.join(tmp, "remote.lua")
    with open(remote_script, "w") as f:
        f.write('#!/usr/bin/env plua\nprint("from a script")\nlocal n = 0\nfor i = 1, 10 do n = n + i end\nreturn n\n')
    p = bus.plua("--remote", remote_script)
    check("--remote script.lua runs the script in the service", p.returncode == 0 and
          p.stdout == "from a script\n55\n", (p.returncode, p.stdout, p.stderr))
    p = bus.plua("--remote", os.path.join(tmp, "nope.lua"))
    check("--remote with a missing script", p.returncode == 1 and "nope.lua" in p.stderr, (p.returncode, p.stderr))
    p = bus.plua("--remote")
    check("--remote without code is a usage error", p.returncode == 2, (p.returncode, p.stderr))

    # Uniqueness, and script runs stay independent processes.
    p = bus.plua("--service", timeout=20)
    check("a second --service refuses to start", p.returncode == 1 and "already running" in p.stderr,
          (p.returncode, p.stderr))
    p = subprocess.run([bus.plua_path, "--service"], capture_output=True, text=True, timeout=20,
                       env=dict(bus.client_env, DBUS_SESSION_BUS_ADDRESS="unix:path=/nonexistent/bus"))
    check("--service without a session bus fails", p.returncode == 1 and "D-Bus" in p.stderr,
          (p.returncode, p.stderr))
    p = bus.plua("--noapi", "-e", "print(counter == nil)")
    check("a plain run is its own process, not the service", p.returncode == 0 and p.stdout == "true\n",
          (p.stdout, p.stderr))

    # The desktop launch (DBusActivatable): the desktop file's Exec line (what a
    # launcher without D-Bus activation runs) sends Activate, which opens the web REPL.
    desktop = open(os.path.join(bus.datadir, "applications", APP_ID + ".desktop")).read()
    exec_line = re.search(r"^Exec=(.*)$", desktop, re.M).group(1)
    check("the desktop file is DBusActivatable", "DBusActivatable=true" in desktop, desktop)
    p = subprocess.run(shlex.split(exec_line), capture_output=True, text=True, env=bus.client_env, timeout=30)
    check("the desktop file's Exec line activates plua", p.returncode == 0, (exec_line, p.stderr))
    url_file = os.path.join(tmp, "browser-url")
    got = wait_for(lambda: os.path.exists(url_file) and os.path.getsize(url_file) > 0, 5)
    url = open(url_file).read().strip() if got else ""
    page = ""
    if re.match(r"http://127\.0\.0\.1:\d+/web$", url):
        with urllib.request.urlopen(url, timeout=10) as response:
            page = response.read().decode("utf-8", "replace")
    check("Activate opens the web REPL of the service in the browser",
          url.endswith(f":{status['api_port']}/web") and "<html" in page.lower(), (url, page[:100]))

    # Idle: nothing pending and no call for IDLE_TIMEOUT seconds ends an activated service.
    bus.execute("setTimeout(function() print('late') end, 4000)")
    time.sleep(IDLE_TIMEOUT + 1)
    check("an activated service with a pending timer stays", pid_alive(pid) and bus_has(bus), "")
    gone = wait_for(lambda: not pid_alive(pid), 4 + IDLE_TIMEOUT + 3)
    check("an activated service quits after its idle timeout", gone and not bus.has_owner(), "")
    r = bus.execute("return counter")
    pid2 = bus.call("GetStatus")[0].get("pid")
    check("the next call activates a fresh service", r == (True, "null", "", "") and pid2 != pid, (r, pid2))


def bus_has(bus):
    return bus.has_owner()


def main():
    for tool in ("dbus-daemon", "gdbus"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode != 0:
            print(f"1..0 # SKIP {tool} not installed")
            return 77
    with tempfile.TemporaryDirectory() as tmp:
        datadir, plua_path = install(os.path.join(tmp, "dest"))
        browser = os.path.join(tmp, "browser")
        with open(browser, "w") as f:
            f.write(f'#!/bin/sh\necho "$1" > {tmp}/browser-url\n')
        os.chmod(browser, 0o755)
        env = dict(os.environ, XDG_DATA_DIRS=datadir, PLUA_EXECUTE_TIMEOUT=str(EXECUTE_TIMEOUT),
                   PLUA_SERVICE_IDLE_TIMEOUT=str(IDLE_TIMEOUT), PLUA_BROWSER=browser)
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        bus = Bus(env)
        bus.plua_path = plua_path
        bus.datadir = datadir
        try:
            test_service(bus, tmp)
        except Exception as e:  # a crash in a check is a failure, not a pass
            check("test_service", False, repr(e))
        finally:
            if bus.has_owner():
                try:
                    pid = bus.call("GetStatus")[0]["pid"]
                    os.kill(pid, signal.SIGTERM)
                    wait_for(lambda: not pid_alive(pid), 10)
                except Exception:
                    pass
            bus.close()
        log = "".join(bus.log)
        check("the service ran clean (no sanitizer report, no critical)",
              "Sanitizer" not in log and "CRITICAL" not in log and "WARNING" not in log, log[-3000:])
    print(f"{len(failed)} failure(s)")
    return 1 if failed else 0


sys.exit(main())
