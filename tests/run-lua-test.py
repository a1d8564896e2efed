#!/usr/bin/env python3
"""Runs one Lua script test through the built plua and checks what a user sees.

usage: run-lua-test.py PLUA tests/lua/NAME.lua

The script's stdout must equal tests/lua/NAME.expected exactly. Header comment
lines at the top of the script set the rest:
  -- args: OPTIONS          plua options placed before the script (shell quoting)
  -- script-args: ARGS      arguments after the script
  -- no-script              run only the options (e.g. -e fragments), not the file
  -- exit: N                expected exit status (default 0)
  -- stderr: TEXT           TEXT must appear in stderr (repeatable)
  -- no-stderr              stderr must be empty
  -- env: KEY=VALUE         extra environment (repeatable)
  -- max-seconds: S         the run must finish within S seconds (default 20)
  -- min-seconds: S         ... and take at least S seconds
The run happens in a fresh temporary directory (the script may write files there).
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time


def parse_header(path):
    opts = {"args": [], "script_args": [], "exit": 0, "stderr": [], "env": {},
            "no_stderr": False, "no_script": False, "max": 20.0, "min": 0.0}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("--"):
                break
            body = line[2:].strip()
            key, _, value = body.partition(":")
            key, value = key.strip(), value.strip()
            if key == "args":
                opts["args"] += shlex.split(value)
            elif key == "script-args":
                opts["script_args"] += shlex.split(value)
            elif key == "exit":
                opts["exit"] = int(value)
            elif key == "stderr":
                opts["stderr"].append(value)
            elif key == "no-stderr":
                opts["no_stderr"] = True
            elif key == "no-script":
                opts["no_script"] = True
            elif key == "env":
                k, _, v = value.partition("=")
                opts["env"][k] = v
            elif key == "max-seconds":
                opts["max"] = float(value)
            elif key == "min-seconds":
                opts["min"] = float(value)
    return opts


def strip_test_dir(text, test_dir):
    """Chunks are named by absolute path: error messages name
    /abs/tests/lua/NAME.lua, or ...tail-of-it when Lua shortens a long one.
    The expected files say NAME.lua, wherever the checkout is."""
    prefix = test_dir + "/"
    text = text.replace(prefix, "")

    def shorten(m):
        return m.group(2) if prefix.endswith(m.group(1)) else m.group(0)
    return re.sub(r"\.\.\.(\S*/)([\w.-]+\.lua:)", shorten, text)


def main():
    plua, script = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    expected_path = script[:-4] + ".expected"
    opts = parse_header(script)
    with open(expected_path, encoding="utf-8") as f:
        expected = f.read()

    cmd = [plua, "--noapi"] + opts["args"]
    if not opts["no_script"]:
        cmd += [script] + opts["script_args"]
    env = dict(os.environ)
    env.update(opts["env"])
    env["PLUA_TEST_DIR"] = os.path.dirname(script)
    with tempfile.TemporaryDirectory(prefix="plua-lua-test-") as cwd:
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                  capture_output=True, timeout=opts["max"] + 10)
        except subprocess.TimeoutExpired:
            print(f"FAIL: {' '.join(cmd)} did not finish within {opts['max'] + 10} s")
            return 1
        elapsed = time.monotonic() - start

    test_dir = os.path.dirname(script)
    out = strip_test_dir(proc.stdout.decode("utf-8", "replace"), test_dir)
    err = strip_test_dir(proc.stderr.decode("utf-8", "replace"), test_dir)
    failures = []
    if out != expected:
        import difflib
        diff = "".join(difflib.unified_diff(expected.splitlines(True), out.splitlines(True),
                                            "expected", "got"))
        failures.append("stdout differs:\n" + diff)
    if proc.returncode != opts["exit"]:
        failures.append(f"exit status {proc.returncode}, expected {opts['exit']}")
    for text in opts["stderr"]:
        if text not in err:
            failures.append(f"stderr lacks {text!r}")
    if opts["no_stderr"] and err:
        failures.append("stderr should be empty")
    if elapsed > opts["max"]:
        failures.append(f"took {elapsed:.2f} s, more than {opts['max']} s")
    if elapsed < opts["min"]:
        failures.append(f"took {elapsed:.2f} s, less than {opts['min']} s")

    print("command:", shlex.join(cmd))
    print(f"elapsed: {elapsed:.3f} s, exit status {proc.returncode}")
    if failures:
        print("FAIL")
        for f in failures:
            print(" -", f)
        print("--- stderr ---")
        print(err)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
