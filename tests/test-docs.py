#!/usr/bin/env python3
"""The man page, the bash completion and `meson install`, as a user meets them.

usage: test-docs.py PLUA MAN_PAGE SOURCE_ROOT BUILD_ROOT
One "ok - NAME" / "not ok - NAME" line per check; exits 1 on any failure.
"""
import os
import re
import subprocess
import sys
import tempfile

from apitest import check, run_tests

PLUA, MAN_PAGE, SOURCE_ROOT, BUILD_ROOT = (os.path.abspath(a) for a in sys.argv[1:5])
COMPLETION = os.path.join(SOURCE_ROOT, "data", "completions", "plua")


def long_options():
    """Every long option `plua --help` lists: the truth the docs must match."""
    out = subprocess.run([PLUA, "--help"], capture_output=True, text=True, timeout=10).stdout
    return sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", out)))


def test_man_page():
    p = subprocess.run(["groff", "-man", "-ww", "-z", MAN_PAGE], capture_output=True, text=True, timeout=30)
    check("man page renders without warnings", p.returncode == 0 and p.stderr == "", p.stderr)
    env = dict(os.environ, MANWIDTH="200", MAN_KEEP_FORMATTING="0")
    text = subprocess.run(["man", "-l", MAN_PAGE], capture_output=True, text=True, env=env, timeout=30).stdout
    text = re.sub(r".\x08", "", text).replace("\u2010", "-").replace("\u2212", "-")
    missing = [o for o in long_options() if o not in text]
    check("man page covers every option of --help", not missing, f"missing {missing}")
    for section in ("EXIT STATUS", "ENVIRONMENT", "FILES"):
        check(f"man page has {section}", section in text, "")
    version = subprocess.run([PLUA, "--version"], capture_output=True, text=True, timeout=10).stdout.split()[1]
    check("man page carries the version", f"plua {version}" in text, version)
    metainfo = os.path.join(BUILD_ROOT, "data", "io.github.plua.Plua.metainfo.xml")
    text = open(metainfo).read() if os.path.exists(metainfo) else ""
    check("the metainfo's release is the version", f'<release version="{version}"' in text, metainfo)


def complete(words, cwd=None):
    """What bash offers after `words` (the last word being completed)."""
    script = (f"source {COMPLETION}\n"
              f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
              "_plua\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True,
                       cwd=cwd, timeout=10)
    return sorted(line for line in p.stdout.splitlines() if line)


def test_completion():
    offered = complete(["plua", "--"])
    missing = [o for o in long_options() if o not in offered and o != "--help-all" and o != "--help"]
    check("completion offers every long option", not missing, f"missing {missing}")
    check("completion narrows a prefix", complete(["plua", "--api-p"]) == ["--api-port"], complete(["plua", "--api-p"]))
    with tempfile.TemporaryDirectory() as d:
        for name in ("a.lua", "b.txt"):
            open(os.path.join(d, name), "w").close()
        os.mkdir(os.path.join(d, "lib"))
        check("completion offers Lua scripts and directories", complete(["plua", ""], d) == ["a.lua", "lib"],
              complete(["plua", ""], d))
        check("after the script, any file is an argument", "b.txt" in complete(["plua", "a.lua", ""], d),
              complete(["plua", "a.lua", ""], d))
        check("an option's value is not a file", complete(["plua", "-e", ""], d) == [], complete(["plua", "-e", ""], d))


def test_install():
    with tempfile.TemporaryDirectory() as dest:
        p = subprocess.run(["meson", "install", "-C", BUILD_ROOT, "--no-rebuild", "--quiet", "--destdir", dest],
                           capture_output=True, text=True, timeout=120)
        check("meson install into a temporary prefix", p.returncode == 0, p.stderr[-2000:])
        files = set()
        for root, _, names in os.walk(dest):
            files.update(os.path.relpath(os.path.join(root, n), dest) for n in names)
        app_id = "io.github.plua.Plua"
        for suffix in ("/bin/plua", "/share/man/man1/plua.1", "/bash-completion/completions/plua",
                       f"/share/applications/{app_id}.desktop", f"/share/metainfo/{app_id}.metainfo.xml",
                       f"/share/dbus-1/services/{app_id}.service", f"/share/dbus-1/interfaces/{app_id}.Runtime1.xml",
                       f"/share/icons/hicolor/scalable/apps/{app_id}.svg",
                       "/share/locale/sv/LC_MESSAGES/plua.mo", "/share/locale/pl/LC_MESSAGES/plua.mo",
                       "/plua/plua-soup.so"):
            check(f"installs ...{suffix}", any(f.endswith(suffix) for f in files), sorted(files))
        binary = next((os.path.join(dest, f) for f in files if f.endswith("/bin/plua")), None)
        if binary:
            p = subprocess.run([binary, "--noapi", "-e", "print(require('class') ~= nil)"],
                               capture_output=True, text=True, timeout=10)
            check("the installed binary runs with its bundled Lua", p.stdout == "true\n", p.stdout + p.stderr)
            # Moved by DESTDIR: plua-soup.so is found relative to the binary.
            env = dict(os.environ)
            env.pop("PLUA_MODULE_DIR", None)
            p = subprocess.run([binary, "--noapi", "-e", "print(type(require('plua.http.client').request))"],
                               capture_output=True, text=True, timeout=10, env=env)
            check("the installed binary loads its installed plua-soup.so", p.stdout == "function\n",
                  p.stdout + p.stderr)


run_tests(test_man_page, test_completion, test_install)
