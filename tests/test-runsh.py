#!/usr/bin/python3
"""./run.sh as a newcomer meets it: quick once built, an install that puts plua
on PATH, and a clear list of what is missing off Debian.

usage: test-runsh.py SOURCE_ROOT
Works on a copy of the source tree (the files git knows, as they are now) in a
temporary directory, so the checkout's own build/ is left alone. `meson`,
`dpkg-query` and `apt-get` are seen through logging wrappers put first on PATH:
that is how the test knows which steps a run took.
One "ok - NAME" / "not ok - NAME" line per check; exits 1 on any failure.
"""
import os
import shutil
import subprocess
import sys
import tempfile

from apitest import check, run_tests

SOURCE_ROOT = os.path.abspath(sys.argv[1])
WRAPPED = ("meson", "dpkg-query", "apt-get")


def copy_tree(dest):
    files = subprocess.run(["git", "-C", SOURCE_ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"], capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = os.path.join(SOURCE_ROOT, name)
        if not os.path.lexists(src):
            continue
        os.makedirs(os.path.dirname(os.path.join(dest, name)), exist_ok=True)
        shutil.copy2(src, os.path.join(dest, name), follow_symlinks=False)


def wrappers(bindir, log):
    """meson, dpkg-query and apt-get that log their arguments, then run the real one."""
    os.makedirs(bindir)
    for name in WRAPPED:
        real = shutil.which(name)
        path = os.path.join(bindir, name)
        with open(path, "w") as f:
            f.write(f'#!/bin/sh\necho "{name} $*" >> "{log}"\n')
            f.write(f'exec "{real}" "$@"\n' if real else "exit 127\n")
        os.chmod(path, 0o755)


def calls(log):
    try:
        with open(log) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def run(cmd, env, cwd, timeout=900):
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_runs(tmp):
    src = os.path.join(tmp, "plua")
    copy_tree(src)
    log = os.path.join(tmp, "calls.log")
    wrappers(os.path.join(tmp, "bin"), log)
    env = dict(os.environ, PATH=os.path.join(tmp, "bin") + os.pathsep + os.environ["PATH"])
    env.pop("MESON_BUILD_ROOT", None)

    p = run(["./run.sh", "-e", "print(6 * 7)"], env, src)
    check("first ./run.sh builds and runs the fragment", p.returncode == 0 and p.stdout == "42\n",
          (p.returncode, p.stdout, p.stderr[-2000:]))
    first = calls(log)
    check("the first run checks the dependencies and sets up the build",
          any(c.startswith("dpkg-query") for c in first) and any(c.startswith("meson setup") for c in first),
          first[:5])

    open(log, "w").close()
    p = run(["./run.sh", "-e", "print(6 * 7)"], env, src)
    check("a second ./run.sh runs the fragment", p.returncode == 0 and p.stdout == "42\n", (p.returncode, p.stderr))
    check("a second ./run.sh neither checks dependencies nor calls meson", calls(log) == [], calls(log))

    os.utime(os.path.join(src, "src", "main.c"))
    p = run(["./run.sh", "-e", "print(6 * 7)"], env, src)
    check("after a source changed, ./run.sh compiles (and only that)",
          p.returncode == 0 and [c.split()[:2] for c in calls(log)] == [["meson", "compile"]], calls(log))

    prefix = os.path.join(tmp, "prefix")
    p = run(["./run.sh", "--install", prefix], env, src)
    check("./run.sh --install PREFIX installs", p.returncode == 0, p.stderr[-2000:])
    env_path = dict(os.environ, PATH=os.path.join(prefix, "bin") + os.pathsep + os.environ["PATH"])
    p = run(["plua", "--version"], env_path, "/")
    check("the installed plua runs from any directory", p.returncode == 0 and p.stdout.startswith("plua "),
          (p.returncode, p.stdout, p.stderr))
    p = run(["plua", "-e", "print(json.encode({a = 1}))"], env_path, "/")
    check("the installed plua has its modules", p.returncode == 0 and p.stdout == '{"a":1}\n', (p.stdout, p.stderr))
    check("the man page and the completion are installed",
          os.path.exists(os.path.join(prefix, "share", "man", "man1", "plua.1")) and
          os.path.exists(os.path.join(prefix, "share", "bash-completion", "completions", "plua")), prefix)


def off_debian_path(tmp, without):
    """A PATH holding the commands install-deps.sh may use, minus dpkg-query, apt-get and WITHOUT."""
    bindir = os.path.join(tmp, "path-" + "-".join(without or ["all"]))
    os.makedirs(bindir)
    for name in ("sh", "cat", "cut", "printf", "echo", "meson", "ninja", "pkg-config", "cc", "msgfmt",
                 "glib-compile-resources"):
        real = shutil.which(name)
        if real and name not in without:
            os.symlink(real, os.path.join(bindir, name))
    return bindir


def test_off_debian(tmp):
    script = os.path.join(SOURCE_ROOT, "tools", "install-deps.sh")
    env = dict(os.environ, PATH=off_debian_path(tmp, []))
    p = run(["/bin/sh", script], env, tmp, timeout=60)
    check("off Debian with everything present: install-deps succeeds without apt-get",
          p.returncode == 0 and "apt-get" not in p.stderr, (p.returncode, p.stderr))
    env = dict(os.environ, PATH=off_debian_path(tmp, ["pkg-config", "msgfmt"]))
    p = run(["/bin/sh", script], env, tmp, timeout=60)
    check("off Debian with something missing: exit 1", p.returncode == 1, (p.returncode, p.stderr))
    check("off Debian: the missing things named with Fedora, Arch and Homebrew packages",
          "msgfmt: Fedora gettext, Arch gettext, Homebrew gettext" in p.stderr and
          "libsoup-3.0: Fedora libsoup3-devel" in p.stderr and "command not found" not in p.stderr, p.stderr)


def main():
    with tempfile.TemporaryDirectory(prefix="plua-runsh-") as tmp:
        test_off_debian(tmp)
        test_runs(tmp)


if not os.path.exists(os.path.join(SOURCE_ROOT, ".git")):
    print("1..0 # SKIP not a git checkout")
    sys.exit(77)
run_tests(main)
