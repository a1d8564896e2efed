#!/usr/bin/python3
"""The web REPL and the API docs page in a real browser: headless Chromium (Debian's chromium)
driven by playwright-core from npm, which this script installs into the
build directory on first use (never committed).

Without Chromium, node/npm or network access for the first install, the test
is skipped (exit status 77, which meson shows as SKIP, not as a pass) with a
message saying why.
Usage: test-web.py PATH/TO/plua PATH/TO/browser-test.js
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import threading

PLUA, SCRIPT = sys.argv[1], sys.argv[2]
BUILD = os.environ.get("G_TEST_BUILDDIR", os.path.dirname(os.path.abspath(PLUA)))
NODE_DIR = os.path.join(BUILD, "web-test-node")


def skip(why):
    print(f"skip - web REPL browser test: {why}")
    sys.exit(77)


def main():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        skip("Chromium is not installed (Debian: apt-get install chromium; tools/install-deps.sh --tests)")
    if not shutil.which("node") or not shutil.which("npm"):
        skip("node and npm are needed to drive Chromium")
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "playwright-core")):
        os.makedirs(NODE_DIR, exist_ok=True)
        try:
            p = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", NODE_DIR,
                                "playwright-core@1"], capture_output=True, text=True, timeout=240)
        except subprocess.TimeoutExpired:
            skip("npm install playwright-core timed out")
        if p.returncode != 0:
            skip("npm install playwright-core failed: " + p.stderr.strip().splitlines()[-1:][0]
                 if p.stderr.strip() else "npm install playwright-core failed")

    # The hook answers the docs page's "try it" with what it received.
    hook = ("_PY.fibaro_api_hook = function(method, path, data, request) "
            "return {method = method, path = path, params = request.params}, 200 end")
    proc = subprocess.Popen([PLUA, "--api-port", "0", "-e", "web_test = true", "-e", hook], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = None
    web_url = None
    ready = threading.Event()
    lines = []

    def read():
        nonlocal url, web_url
        for line in proc.stderr:
            lines.append(line)
            m = re.search(r"listening on (http://[^/]+)/", line)
            if m:
                url = m.group(1)
            # the URL a user opens: it carries the run's token into the page
            m = re.search(r"web REPL at (\S+)", line)
            if m:
                web_url = m.group(1)
                ready.set()
        ready.set()
    threading.Thread(target=read, daemon=True).start()
    ready.wait(15)
    try:
        if url is None:
            print("not ok - plua API server starts: " + "".join(lines))
            return 1
        env = dict(os.environ, PLUA_URL=url, PLUA_WEB_URL=web_url or url + "/web", CHROMIUM=chromium, SCREENSHOT_DIR=BUILD,
                   NODE_PATH=os.path.join(NODE_DIR, "node_modules"))
        # ASan options of the test environment are not for Chromium.
        env.pop("ASAN_OPTIONS", None)
        env.pop("UBSAN_OPTIONS", None)
        try:
            p = subprocess.run(["node", SCRIPT], env=env, timeout=150)
        except subprocess.TimeoutExpired:
            print("not ok - browser test finished within 150 s")
            return 1
        print(f"# screenshots: {BUILD}/web-repl.png, {BUILD}/web-repl-phone-dark.png, {BUILD}/docs.png")
        return p.returncode
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.returncode != 0:
            print(f"not ok - plua ended cleanly: status {proc.returncode}: " + "".join(lines))
            sys.exit(1)


if __name__ == "__main__":
    sys.exit(main())
