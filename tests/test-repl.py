#!/usr/bin/env python3
"""The terminal REPL, driven through a pipe and through a pseudo-terminal.

Usage: test-repl.py PATH-TO-PLUA

Prints one line per check ("ok - name" / "not ok - name: details") and a
summary; exits non-zero when a check failed. Standard library only; every
child process runs under a timeout.
"""

import os
import pty
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

PLUA = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PLUA", "plua")
TIMEOUT = 20          # seconds for one piped run
PTY_TIMEOUT = 10      # seconds to wait for one expected piece of terminal output

failures = 0
checks = 0


def report(name, ok, details=""):
    global failures, checks
    checks += 1
    if ok:
        print(f"ok - {name}", flush=True)
    else:
        failures += 1
        details = details.replace("\n", "\\n")
        if len(details) > 600:
            details = details[:600] + "..."
        print(f"not ok - {name}: {details}", flush=True)


def base_env(state_dir=None):
    env = dict(os.environ)
    env.setdefault("LC_ALL", "C.UTF-8")
    if state_dir is not None:
        env["XDG_STATE_HOME"] = state_dir
    env.pop("INPUTRC", None)
    return env


# ---------------------------------------------------------------------------
# Through a pipe
# ---------------------------------------------------------------------------

class Run:
    def __init__(self, stdout="", stderr="", status=None, elapsed=0.0, error=None):
        self.stdout = stdout
        self.stderr = stderr
        self.status = status
        self.elapsed = elapsed
        self.error = error

    def lines(self):
        return self.stdout.splitlines()

    def describe(self):
        if self.error:
            return self.error
        return f"status={self.status} stdout={self.stdout!r} stderr={self.stderr!r}"


def run_pipe(text, timeout=TIMEOUT):
    start = time.monotonic()
    try:
        p = subprocess.run([PLUA, "--noapi"], input=text, capture_output=True,
                           text=True, timeout=timeout, env=base_env())
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        return Run(out, err, None, timeout, f"timed out after {timeout} s; stdout={out!r} stderr={err!r}")
    return Run(p.stdout, p.stderr, p.returncode, time.monotonic() - start)


def check_pipe(name, text, predicate, timeout=TIMEOUT):
    r = run_pipe(text, timeout)
    try:
        ok = r.error is None and predicate(r)
    except Exception as e:  # a predicate that trips is a failed check
        ok = False
        r.error = f"{type(e).__name__}: {e}; {r.describe()}"
    report(name, ok, r.describe())
    return r


def read_until(proc, stream, needle, timeout):
    """Reads a child's pipe until needle shows up; returns what was read."""
    data = b""
    deadline = time.monotonic() + timeout
    fd = stream.fileno()
    while needle not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data


def pipe_tests():
    check_pipe("pipe/multi-line chunk", "for i=1,3 do\nprint(i)\nend\n",
               lambda r: r.lines() == ["1", "2", "3"] and r.status == 0)

    check_pipe("pipe/expression 1+1", "1+1\n", lambda r: r.lines() == ["2"])
    check_pipe("pipe/expression string", '"abc"\n', lambda r: r.lines() == ["abc"])
    check_pipe("pipe/expression nil", "nil\n", lambda r: r.lines() == ["nil"])
    check_pipe("pipe/several results tab separated", '1, "a", true\n',
               lambda r: r.lines() == ["1\ta\ttrue"])
    check_pipe("pipe/table result", "{}\n", lambda r: r.lines() == ["{}"])
    check_pipe("pipe/table pretty-printed: nested, sorted keys, bounded depth",
               "{z=1, 'first', a={b={c={d={e={}}}}}, [2]=true}\n",
               lambda r: r.lines() == ['{ "first", true, a = { b = { c = { d = {...} } } }, z = 1 }'])
    check_pipe("pipe/a long table one field a line",
               "t = {} for i = 1, 12 do t['key' .. i] = i * 1000 end\nt\n",
               lambda r: r.lines()[0] == "{" and r.lines()[1] == "  key1 = 1000," and r.lines()[-1] == "}")
    check_pipe("pipe/a table with __tostring shows it",
               "setmetatable({}, {__tostring = function() return 'custom' end})\n",
               lambda r: r.lines() == ["custom"])
    check_pipe("pipe/=expr", "=1+1\n", lambda r: r.lines() == ["2"])
    check_pipe("pipe/statement prints nothing", "y = 3\n",
               lambda r: r.stdout == "" and r.stderr == "")
    check_pipe("pipe/statement runs once", "n = (n or 0) + 1\nn\n",
               lambda r: r.lines() == ["1"])
    check_pipe("pipe/expression with side effect runs once",
               "count = 0\nfunction bump() count = count + 1 return count end\nbump()\ncount\n",
               lambda r: r.lines() == ["1", "1"])

    check_pipe("pipe/error recovery", 'foo()\nprint("after")\n',
               lambda r: "stdin:1: attempt to call a nil value (global 'foo')" in r.stderr
               and r.lines() == ["after"] and r.status == 0)
    check_pipe("pipe/error with traceback from a function",
               'function f() error("boom") end\nf()\nprint("still")\n',
               lambda r: "stdin:1: boom" in r.stderr and "traceback" in r.stderr
               and r.lines() == ["still"])
    check_pipe("pipe/syntax error position", "print(1 +* 2)\nprint(\"ok\")\n",
               lambda r: "stdin:1: unexpected symbol near '*'" in r.stderr
               and r.lines() == ["ok"] and r.status == 0)
    check_pipe("pipe/unfinished chunk at end of input",
               "for i=1,2 do\nprint(i)\n",
               lambda r: "'end' expected" in r.stderr and r.stdout == "")
    check_pipe("pipe/unfinished expression continues", "1 +\n2\n",
               lambda r: r.lines() == ["3"])
    check_pipe("pipe/each chunk its own scope", "local x = 5\nx\n",
               lambda r: r.lines() == ["nil"])
    check_pipe("pipe/last line without newline", 'print("last")',
               lambda r: r.lines() == ["last"])
    check_pipe("pipe/blank lines are ignored", "\n   \n1\n\n",
               lambda r: r.lines() == ["1"] and r.stderr == "")
    check_pipe("pipe/no prompt or banner",
               'print("x")\nfor i=1,2 do\nend\n1\n',
               lambda r: "plua>" not in r.stdout and ">>" not in r.stdout
               and "plua>" not in r.stderr and "help()" not in r.stderr
               and r.lines() == ["x", "1"])

    check_pipe("pipe/sleep at the prompt",
               'print("a")\nsleep(100)\nprint("b")\n',
               lambda r: r.lines() == ["a", "b"] and r.elapsed >= 0.1 and r.stderr == "")
    check_pipe("pipe/sleep then expression in one chunk",
               "sleep(50) return 7\n",
               lambda r: r.lines() == ["7"])
    check_pipe("pipe/chunk that yields for good does not block input",
               'coroutine.yield()\nprint("next")\n',
               lambda r: r.lines() == ["next"] and r.status == 0)
    check_pipe("pipe/pending timer ends the run by itself",
               'setTimeout(function() print("late") end, 200)\nprint("first")\n',
               lambda r: re.fullmatch(r"\d+", r.lines()[0]) is not None
               and r.lines()[1:] == ["first", "late"] and r.status == 0)

    check_pipe("pipe/help", "help()\n",
               lambda r: "exit()" in r.stdout and "setTimeout" in r.stdout
               and "json" in r.stdout and "_PY" in r.stdout and "Ctrl-C" in r.stdout)
    check_pipe("pipe/state", "t = setTimeout(function() end, 5000)\nstate()\nclearTimeout(t)\n",
               lambda r: r.lines()[:2] == ["Runtime state:", "  Timers: 1"]
               and "  Sockets: 0" in r.lines() and "  Servers: 0" in r.lines()
               and any(l.startswith("  Requests: ") for l in r.lines()))

    # A timer set at the prompt fires while more input is still to come.
    name = "pipe/timer fires while input keeps coming"
    try:
        p = subprocess.Popen([PLUA, "--noapi"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=base_env())
        try:
            p.stdin.write(b'setTimeout(function() print("tick") end, 50)\n')
            p.stdin.flush()
            time.sleep(0.3)
            early = read_until(p, p.stdout, b"tick", 5)
            rest, err = p.communicate(input=b'print("more")\n', timeout=TIMEOUT)
            out = (early + rest).decode(errors="replace")
            lines = out.splitlines()
            # The first line is the value of the expression: the timer's id.
            report(name, b"tick" in early and lines[1:] == ["tick", "more"]
                   and p.returncode == 0,
                   f"early={early!r} stdout={out!r} stderr={err!r} status={p.returncode}")
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=5)
    except Exception as e:
        report(name, False, f"{type(e).__name__}: {e}")

    # exit() ends the run at once, even with an interval running and stdin open.
    for command in ("exit()", "quit()", "exit"):
        name = f"pipe/{command} leaves at once"
        try:
            p = subprocess.Popen([PLUA, "--noapi"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=base_env())
            try:
                p.stdin.write(b"setInterval(function() end, 20)\n" + command.encode()
                              + b'\nprint("not reached")\n')
                p.stdin.flush()
                status = p.wait(timeout=5)
                out = p.stdout.read().decode(errors="replace")
                err = p.stderr.read().decode(errors="replace")
                report(name, status == 0 and "not reached" not in out,
                       f"status={status} stdout={out!r} stderr={err!r}")
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait(timeout=5)
                p.stdin.close()
                p.stdout.close()
                p.stderr.close()
        except subprocess.TimeoutExpired:
            report(name, False, "still running 5 s after exit")
        except Exception as e:
            report(name, False, f"{type(e).__name__}: {e}")


# ---------------------------------------------------------------------------
# Through a pseudo-terminal
# ---------------------------------------------------------------------------

class Terminal:
    """plua on a pseudo-terminal, in its own session (so ^C is a real SIGINT)."""

    def __init__(self, state_dir, term="dumb"):
        env = base_env(state_dir)
        env["TERM"] = term
        env["COLUMNS"] = "200"
        env["LINES"] = "50"
        self.buffer = b""
        self.pos = 0
        self.status = None
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execve(PLUA, [PLUA, "--noapi"], env)
            finally:
                os._exit(127)

    def _read(self, timeout):
        ready, _, _ = select.select([self.fd], [], [], max(timeout, 0))
        if not ready:
            return False
        try:
            chunk = os.read(self.fd, 4096)
        except OSError:   # EIO: the child closed the terminal
            chunk = b""
        if not chunk:
            return None
        self.buffer += chunk
        return True

    def expect(self, pattern, timeout=PTY_TIMEOUT):
        """Waits for a regular expression (bytes) after what was matched before."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = regex.search(self.buffer, self.pos)
            if m:
                self.pos = m.end()
                return m
            left = deadline - time.monotonic()
            if left <= 0 or self._read(left) is None:
                return None

    def send(self, data):
        os.write(self.fd, data)

    def alive(self):
        if self.status is not None:
            return False
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return True
        self.status = status
        return False

    def wait(self, timeout=PTY_TIMEOUT):
        """Exit status, or None when the child is still running after timeout."""
        deadline = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() > deadline:
                return None
            self._read(0.05)   # keep the terminal drained
        return os.waitstatus_to_exitcode(self.status)

    def tail(self):
        return repr(self.buffer[-400:])

    def close(self):
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        try:
            os.close(self.fd)
        except OSError:
            pass


PROMPT = rb"plua> "


def has_line_editing():
    """Reads the build's config.h next to src/plua; assumes yes when not found."""
    config = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(PLUA))), "config.h")
    try:
        with open(config, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return True
    m = re.search(r"^#\s*(define|undef)\s+HAVE_LINE_EDITING\b[ \t]*(\w*)", text, re.M)
    if m is None:
        return True
    return m.group(1) == "define" and m.group(2) != "0"


def pty_tests():
    with tempfile.TemporaryDirectory(prefix="plua-repl-test-") as state_dir:
        history = os.path.join(state_dir, "plua", "history")
        t = Terminal(state_dir)
        try:
            report("pty/banner", t.expect(rb"Type help\(\) for help") is not None, t.tail())
            report("pty/prompt", t.expect(PROMPT) is not None, t.tail())

            t.send(b"for i=1,2 do\r")
            report("pty/continuation prompt", t.expect(rb">> ") is not None, t.tail())
            t.send(b"print(i)\r")
            t.expect(rb">> ")
            t.send(b"end\r")
            report("pty/multi-line chunk runs",
                   t.expect(rb"1\r?\n2\r?\n") is not None and t.expect(PROMPT) is not None,
                   t.tail())

            t.send(b"40+2\r")
            report("pty/expression value", t.expect(rb"\r?\n42\r?\n") is not None, t.tail())
            t.expect(PROMPT)

            t.send(b"nosuch()\r")
            report("pty/error then new prompt",
                   t.expect(rb"attempt to call a nil value \(global 'nosuch'\)") is not None
                   and t.expect(PROMPT) is not None, t.tail())

            t.send(b'setTimeout(function() print("pong") end, 100)\r')
            t.expect(PROMPT)
            report("pty/timer fires at the prompt", t.expect(rb"pong") is not None, t.tail())

            # ^C: readline leaves ISIG on, so the terminal turns it into SIGINT.
            t.send(b"half typed")
            t.expect(rb"half typed")
            time.sleep(0.2)
            t.send(b"\x03")
            ok = t.expect(PROMPT) is not None
            time.sleep(0.2)
            ok = ok and t.alive()
            t.send(b'print("after" .. "-interrupt")\r')
            ok = ok and t.expect(rb"after-interrupt\r?\n") is not None
            report("pty/Ctrl-C clears the line", ok and b"half typedprint" not in t.buffer,
                   t.tail())
            t.expect(PROMPT)

            t.send(b"for i=1,2 do\r")
            t.expect(rb">> ")
            t.send(b"\x03")
            ok = t.expect(PROMPT) is not None
            t.send(b"1+2\r")
            report("pty/Ctrl-C drops continuation lines",
                   ok and t.expect(rb"\r?\n3\r?\n") is not None and t.expect(PROMPT) is not None,
                   t.tail())

            t.send(b'print("hist-" .. "marker-42")\r')
            report("pty/output", t.expect(rb"hist-marker-42") is not None, t.tail())
            t.expect(PROMPT)

            t.send(b"\x04")
            status = t.wait()
            report("pty/Ctrl-D exits with status 0", status == 0, f"status={status} {t.tail()}")
        finally:
            t.close()

        if not has_line_editing():
            print("# built without line editing: history checks skipped", flush=True)
            return

        try:
            with open(history, encoding="utf-8", errors="replace") as f:
                saved = f.read()
        except OSError as e:
            saved = f"<{e}>"
        report("pty/history saved", 'print("hist-" .. "marker-42")' in saved, repr(saved[-400:]))

        # A second session reads the history: Ctrl-P brings the last line back.
        t = Terminal(state_dir)
        try:
            t.expect(PROMPT)
            t.send(b"\x10\r")
            report("pty/history read at start", t.expect(rb"hist-marker-42") is not None,
                   t.tail())
            t.expect(PROMPT)
            t.send(b"exit()\r")
            status = t.wait()
            report("pty/exit() exits with status 0", status == 0, f"status={status} {t.tail()}")
        finally:
            t.close()


def main():
    if not os.access(PLUA, os.X_OK):
        print(f"not ok - plua not found: {PLUA}")
        return 1
    pipe_tests()
    pty_tests()
    print(f"{checks - failures}/{checks} checks passed" + (f", {failures} failed" if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
