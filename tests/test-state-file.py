#!/usr/bin/env python3
"""The emulator's --state file never loses what it holds.

usage: test-state-file.py PLUA

- A file that does not load (truncated, not JSON, the wrong shape) is kept as
  FILE.bad byte for byte, plua says so, and the run goes on from a fresh store
  that is saved to FILE; a second bad file goes to FILE.bad.1.
- A state path in a directory that does not exist is an error at the start
  (exit 1), not a run whose state silently goes nowhere.
- A symlinked state file stays a symlink: the save writes through to its target.
- Disk full while saving: a warning naming the file, and the old contents stay
  (a 64 KiB tmpfs when this runs as root, else RLIMIT_FSIZE, which fails the
  write the same way: the temporary file cannot grow).
"""
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading

from apitest import check, run_tests

PLUA = os.path.abspath(sys.argv[1])

QA = """--%%name:Keeper
--%%id:5100
function QuickApp:onInit()
  api.post("/globalVariables", { name = "Kept", value = "one" })
  self:debug("keeper ready")
end
"""

# Saves a small state first, then (after 0.8 s) a global far bigger than the disk.
BIG_QA = """--%%name:Big
--%%id:5101
function QuickApp:onInit()
  api.post("/globalVariables", { name = "Small", value = "first" })
  setTimeout(function()
    api.post("/globalVariables", { name = "Huge", value = string.rep("x", 300000) })
    self:debug("huge set")
  end, 800)
end
"""

BAD_FILES = {
    "empty": b"",
    "truncated": b'{"globals": [{"name": "A", "value": "1"',
    "garbage": b"\x00\x01\x02not json at all",
    "null": b"null",
    "number": b"42",
    "string": b'"state"',
    "array": b"[1, 2, 3]",
    "devices-number": b'{"devices": 5}',
    "devices-items": b'{"devices": [5, 6]}',
    "devices-no-id": b'{"devices": [{"name": "x"}]}',
    "rooms-string-id": b'{"rooms": [{"id": "219", "name": "x"}]}',
    "globals-string": b'{"globals": "nope"}',
    "nextIds-number": b'{"nextIds": 3}',
    "vars-no-device": b'{"vars": [{"variables": []}]}',
    "info-list-of-bool": b'{"info": true}',
    "trailing": b'{"globals": {}} }',
    "utf16": '{"globals": {}}'.encode("utf-16"),
}


def run(tmp, state, qa=QA, duration="1", preexec=None):
    path = os.path.join(tmp, "qa.lua")
    with open(path, "w") as f:
        f.write(qa)
    p = subprocess.run([PLUA, "--fibaro", "--api-port", "0", "--duration", duration,
                        "--state", state, path],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
                       preexec_fn=preexec)
    return p.returncode, p.stdout, p.stderr


def saved_globals(path):
    with open(path) as f:
        data = json.load(f)
    g = data.get("globals", {})
    return {v["name"]: v["value"] for v in (g.values() if isinstance(g, dict) else g)}


def check_bad_file(name, content):
    with tempfile.TemporaryDirectory(prefix="plua-state-") as tmp:
        state = os.path.join(tmp, "state.json")
        with open(state, "wb") as f:
            f.write(content)
        rc, out, err = run(tmp, state)
        kept = os.path.join(tmp, "state.json.bad")
        same = os.path.exists(kept) and open(kept, "rb").read() == content
        fresh = os.path.exists(state) and saved_globals(state).get("Kept") == "one"
        said = "kept as " + kept in err
        return name, rc == 0 and same and fresh and said, f"rc={rc} same={same} fresh={fresh} err={err!r}"


def test_bad_files_are_kept():
    results = []
    threads = [threading.Thread(target=lambda n=n, c=c: results.append(check_bad_file(n, c)))
               for n, c in BAD_FILES.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name, ok, detail in sorted(results):
        check(f"bad state file ({name}) kept as .bad, fresh store saved", ok, detail)


def test_second_bad_file():
    with tempfile.TemporaryDirectory(prefix="plua-state-") as tmp:
        state = os.path.join(tmp, "state.json")
        with open(state + ".bad", "wb") as f:
            f.write(b"older")
        with open(state, "wb") as f:
            f.write(b"{")
        rc, _, err = run(tmp, state)
        check("an older .bad is not overwritten: the new one is .bad.1",
              open(state + ".bad", "rb").read() == b"older"
              and open(state + ".bad.1", "rb").read() == b"{" and rc == 0, err)


def test_good_file_loads():
    with tempfile.TemporaryDirectory(prefix="plua-state-") as tmp:
        state = os.path.join(tmp, "state.json")
        rc, _, err = run(tmp, state)
        rc2, _, err2 = run(tmp, state)
        check("a state file plua wrote loads again without complaint",
              rc == 0 and rc2 == 0 and "could not be loaded" not in err2
              and not os.path.exists(state + ".bad"), err + err2)


def test_missing_directory():
    with tempfile.TemporaryDirectory(prefix="plua-state-") as tmp:
        state = os.path.join(tmp, "no-such-dir", "state.json")
        rc, out, err = run(tmp, state)
        check("a state file in a missing directory: exit 1 at the start, saying why",
              rc == 1 and "does not exist" in err and "keeper ready" not in out, f"{rc} {err!r}")


def test_symlink_written_through():
    with tempfile.TemporaryDirectory(prefix="plua-state-") as tmp:
        os.mkdir(os.path.join(tmp, "real"))
        target = os.path.join(tmp, "real", "target.json")
        link = os.path.join(tmp, "state.json")
        os.symlink("real/target.json", link)
        rc, _, err = run(tmp, link)
        check("a symlinked state file stays a symlink", os.path.islink(link), err)
        check("the save went through to the link's target",
              os.path.isfile(target) and saved_globals(target).get("Kept") == "one", err)


def small_disk(tmp):
    """A 64 KiB directory and a preexec function for the run: a tmpfs when
    mounting works (root), else the run's file size limit (RLIMIT_FSIZE)."""
    disk = os.path.join(tmp, "disk")
    os.mkdir(disk)
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", disk], capture_output=True)
    if m.returncode == 0:
        return disk, None, "tmpfs"

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
    return disk, limit, "RLIMIT_FSIZE"


def test_disk_full():
    with tempfile.TemporaryDirectory(prefix="plua-state-") as tmp:
        disk, preexec, how = small_disk(tmp)
        try:
            state = os.path.join(disk, "state.json")
            rc, out, err = run(tmp, state, qa=BIG_QA, duration="2", preexec=preexec)
            warned = [line for line in err.splitlines() if "not saved" in line]
            check(f"disk full ({how}): the save failure is reported once, naming the file",
                  "huge set" in out and len(warned) == 1 and state in warned[0], err)
            kept = saved_globals(state)
            check(f"disk full ({how}): the old state is intact",
                  kept.get("Small") == "first" and "Huge" not in kept, kept)
            check(f"disk full ({how}): no temporary file left behind",
                  os.listdir(disk) == ["state.json"], os.listdir(disk))
        finally:
            if preexec is None:
                subprocess.run(["umount", disk])


run_tests(test_bad_files_are_kept, test_second_bad_file, test_good_file_loads,
          test_missing_directory, test_symlink_written_through, test_disk_full)
