"""What the test-net-*.py drivers share: running plua on scripts (to the end or
in the background), reporting "ok - name" / "not ok - name: detail" lines, and
the peers they start on 127.0.0.1 (free ports, a scripted one-connection TCP
server). Imported from the drivers' own directory."""
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"


class Checks:
    def __init__(self, plua, prefix="plua-net-"):
        self.plua = plua
        self.failed = 0
        self.failures = []
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        self.procs = []

    def check(self, name, ok, detail=""):
        if ok:
            print(f"ok - {name}", flush=True)
        else:
            self.failed += 1
            self.failures.append(name)
            print(f"not ok - {name}: {detail}", flush=True)
        return ok

    def script(self, name, text):
        path = os.path.join(self.tmp, name + ".lua")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def run(self, name, text, *args, timeout=20, options=()):
        """Runs plua --noapi on the script; returns (status, stdout, stderr, seconds)."""
        path = self.script(name, text)
        start = time.monotonic()
        try:
            proc = subprocess.run([self.plua, "--noapi", *options, path, *map(str, args)],
                                  capture_output=True, timeout=timeout, cwd=self.tmp)
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode("utf-8", "replace")
            err = (e.stderr or b"").decode("utf-8", "replace")
            return None, out, err + "\n[timed out]", time.monotonic() - start
        return (proc.returncode, proc.stdout.decode("utf-8", "replace"),
                proc.stderr.decode("utf-8", "replace"), time.monotonic() - start)

    def start(self, name, text, *args, options=()):
        """Starts plua on the script in the background; stdout is read with Reader."""
        path = self.script(name, text)
        proc = subprocess.Popen([self.plua, "--noapi", *options, path, *map(str, args)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.tmp)
        self.procs.append(proc)
        return proc

    def spawn(self, argv):
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        return proc

    def finish(self):
        # SIGTERM first: `timeout` passes it on to the socat it runs.
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        shutil.rmtree(self.tmp, ignore_errors=True)
        print(f"# {self.failed} failed" if self.failed else "# all passed", flush=True)
        sys.exit(1 if self.failed else 0)


class Reader:
    """Reads a child's stdout line by line with a deadline."""

    def __init__(self, proc):
        self.proc = proc
        self.buf = b""
        self.lines = []

    def line(self, timeout=10):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        text = line.decode("utf-8", "replace")
        self.lines.append(text)
        return text

    def wait_for(self, prefix, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            line = self.line(max(deadline - time.monotonic(), 0))
            if line is None or line.startswith(prefix):
                return line

    def rest(self, timeout=10):
        """Waits for the end of the run: (status, remaining stdout, stderr)."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            return None, (self.buf + out).decode("utf-8", "replace"), err.decode("utf-8", "replace")
        return (self.proc.returncode, (self.buf + out).decode("utf-8", "replace"),
                err.decode("utf-8", "replace"))


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_listening(port, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def scripted_server(actions, accept_timeout=10):
    """A one-connection Python TCP server that plays `actions` on the accepted
    socket: ("send", bytes), ("sleep", s), ("recv",) (one read), ("recvall",)
    (read until the client closes), ("close",).
    Returns (port, list of the bytes received, thread)."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((HOST, 0))
    srv.listen(8)
    srv.settimeout(accept_timeout)
    received = []

    def run():
        try:
            conn, _ = srv.accept()
        except OSError:
            srv.close()
            return
        conn.settimeout(accept_timeout)
        try:
            for action in actions:
                if action[0] == "send":
                    conn.sendall(action[1])
                elif action[0] == "sleep":
                    time.sleep(action[1])
                elif action[0] == "recv":
                    received.append(conn.recv(65536))
                elif action[0] == "recvall":
                    while True:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        received.append(chunk)
                elif action[0] == "close":
                    break
        except OSError:
            pass
        finally:
            conn.close()
            srv.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return srv.getsockname()[1], received, thread
