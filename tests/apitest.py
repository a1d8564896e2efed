"""What the Python test drivers share: the "ok - name" / "not ok - name: detail"
lines with the names of the checks that failed, and a plua started on
--api-port 0 whose stderr tells where its REST API listens. Imported from the
drivers' own directory."""
import json
import re
import signal
import subprocess
import sys
import threading

# The names of the checks that failed, in order.
failed = []


def check(name, condition, detail=""):
    if condition:
        print(f"ok - {name}")
    else:
        failed.append(name)
        print(f"not ok - {name}: {detail}")
    sys.stdout.flush()


def skip(name, why):
    print(f"skip - {name}: {why}")


def read_response(r):
    """An http.client response as (status, parsed JSON or None, lower-case headers, raw body)."""
    data = r.read()
    try:
        parsed = json.loads(data) if data else None
    except ValueError:
        parsed = None
    return r.status, parsed, {k.lower(): v for k, v in r.getheaders()}, data


class ApiPlua:
    """plua --api-port 0 ARGS; its stderr is collected by a thread, and the port,
    the access token and the web REPL URL it prints there are read once the web
    REPL line (or a failure to listen) shows up. port is None when it never
    listened. The token is printed on every run (random unless configured):
    send auth() with every request to /plua/execute and /ws."""

    def __init__(self, plua, args, env, host="127.0.0.1", cwd=None, wait=15):
        self.proc = subprocess.Popen([plua, "--api-port", "0", *args], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     cwd=cwd, env=env)
        self.host = host
        self.stderr = []
        self.ready = threading.Event()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        self.ready.wait(wait)
        text = "".join(self.stderr)
        m = re.search(r"listening on http://[^/]+:(\d+)/", text)
        self.port = int(m.group(1)) if m else None
        m = re.search(r"web REPL at \S+\?token=([0-9a-f]+)", text)
        self.token = m.group(1) if m else None
        m = re.search(r"web REPL at (\S+)", text)
        self.web_url = m.group(1) if m else None

    def auth(self, token=None):
        """The header a client sends with the token plua printed (or the one
        given): /plua/execute and /ws need it, on loopback too."""
        token = token or self.token
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr.append(line)
            if "web REPL at" in line or "cannot listen" in line:
                self.ready.set()
        self.ready.set()

    def stop(self, wait=10):
        """SIGTERM (SIGKILL after wait seconds); returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        return self.proc.returncode


def run_tests(*tests):
    """Runs each test function (one that raises counts as a failed check named
    after it), prints the number of failures and exits 1 on any."""
    for test in tests:
        try:
            test()
        except Exception as e:  # a crash in a check is a failure, not a pass
            check(test.__name__, False, repr(e))
    print(f"{len(failed)} failure(s)")
    sys.exit(1 if failed else 0)
