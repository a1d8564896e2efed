#!/usr/bin/python3
"""`meson dist`: the release tarball builds and passes a quick subset of tests from scratch.

usage: test-dist.py SOURCE_ROOT BUILD_ROOT
Skipped (exit 77) outside a git checkout: inside the check `meson dist` itself
runs on an unpacked tarball, there is nothing to pack.
meson dist packs the committed tree (git HEAD; uncommitted changes are not
in it), so this checks what a release cut now would contain. The tarball is
unpacked, configured, built and tested (suites cli and docs, the runtime's
GTest program) in a temporary directory.
One "ok - NAME" / "not ok - NAME" line per check; exits 1 on any failure.
"""
import glob
import os
import subprocess
import sys
import tarfile
import tempfile

from apitest import check, run_tests

SOURCE_ROOT = os.path.abspath(sys.argv[1])
BUILD_ROOT = os.path.abspath(sys.argv[2])


def run(args, cwd=None, timeout=300):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        # A private copy of the build's dist output: parallel runs don't collide.
        p = run(["meson", "dist", "-C", BUILD_ROOT, "--no-tests", "--allow-dirty", "--formats", "gztar"])
        tarballs = sorted(glob.glob(os.path.join(BUILD_ROOT, "meson-dist", "*.tar.gz")), key=os.path.getmtime)
        check("meson dist makes a tarball", p.returncode == 0 and tarballs, p.stdout[-1000:] + p.stderr[-1000:])
        if not tarballs:
            return
        version = run(["meson", "introspect", "--projectinfo", BUILD_ROOT]).stdout
        name = os.path.basename(tarballs[-1])
        check("the tarball is named after the project's version", name.startswith("plua-") and
              f'"version": "{name[5:-7]}"' in version, (name, version[:200]))
        with tarfile.open(tarballs[-1]) as tar:
            tar.extractall(tmp)
        src = os.path.join(tmp, name[:-7])
        build = os.path.join(tmp, "build")
        p = run(["meson", "setup", build, src], timeout=120)
        check("the tarball configures", p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:])
        if p.returncode != 0:
            return
        p = run(["meson", "compile", "-C", build], timeout=600)
        check("the tarball builds", p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:])
        if p.returncode != 0:
            return
        p = run(["meson", "test", "-C", build, "--suite", "cli", "--suite", "docs", "runtime"], timeout=600)
        check("its cli, docs and runtime tests pass", p.returncode == 0, p.stdout[-3000:])


if not os.path.exists(os.path.join(SOURCE_ROOT, ".git")):
    print("1..0 # SKIP not a git checkout")
    sys.exit(77)
run_tests(main)
