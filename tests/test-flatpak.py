#!/usr/bin/python3
"""The Flatpak manifest, checked for structure (no runtimes offline to build it).

usage: test-flatpak.py SOURCE_ROOT
One "ok - NAME" / "not ok - NAME" line per check; exits 1 on any failure.
"""
import json
import os
import re
import subprocess
import sys

from apitest import check, run_tests

SOURCE_ROOT = os.path.abspath(sys.argv[1])
FLATPAK_DIR = os.path.join(SOURCE_ROOT, "build-aux", "flatpak")


def app_id_from_meson():
    text = open(os.path.join(SOURCE_ROOT, "meson.build")).read()
    m = re.search(r"^app_id = '([^']+)'", text, re.M)
    return m.group(1) if m else None


def check_source(module, source):
    kind = source.get("type")
    name = f"{module}: {kind} source"
    if kind == "archive":
        check(f"{name} has an https URL and a sha256",
              source.get("url", "").startswith("https://") and re.fullmatch(r"[0-9a-f]{64}", source.get("sha256", "")),
              source)
    elif kind in ("dir", "file", "patch"):
        path = os.path.normpath(os.path.join(FLATPAK_DIR, source.get("path", "")))
        check(f"{name} {source.get('path')} exists", os.path.exists(path), path)
    elif kind == "git":
        check(f"{name} is pinned", "commit" in source or "tag" in source, source)
    else:
        check(f"{name} is a known type", False, source)


def main():
    app_id = app_id_from_meson()
    path = os.path.join(FLATPAK_DIR, f"{app_id}.json")
    check("the manifest is named after meson's app_id", os.path.exists(path), path)
    try:
        manifest = json.load(open(path))
    except Exception as e:
        check("the manifest is valid JSON", False, repr(e))
        return
    check("the manifest is valid JSON", True)
    check("app-id", manifest.get("app-id") == app_id, manifest.get("app-id"))
    check("command is plua", manifest.get("command") == "plua", manifest.get("command"))
    check("GNOME runtime and SDK", manifest.get("runtime") == "org.gnome.Platform" and
          manifest.get("sdk") == "org.gnome.Sdk" and str(manifest.get("runtime-version", "")).strip() != "",
          manifest)
    args = manifest.get("finish-args", [])
    check("finish-args: network", "--share=network" in args, args)
    check("finish-args: owns its name on the session bus", f"--own-name={app_id}" in args, args)
    check("finish-args: reads the user's files", any(re.fullmatch(r"--filesystem=(home|host)(:ro)?", a)
                                                       for a in args), args)
    check("finish-args: no write access to all files", not any(re.fullmatch(r"--filesystem=(home|host)(:rw)?", a)
                                                             for a in args), args)
    modules = manifest.get("modules", [])
    check("modules: lua then plua", [m.get("name") for m in modules if isinstance(m, dict)] == ["lua", "plua"],
          [m.get("name") for m in modules])
    for module in modules:
        check(f"module {module.get('name')} is well formed",
              isinstance(module.get("sources"), list) and module["sources"] and
              module.get("buildsystem") in ("simple", "meson", "autotools", "cmake", "cmake-ninja", None), module)
        if module.get("buildsystem") == "simple":
            check(f"module {module.get('name')} has build-commands", bool(module.get("build-commands")), module)
        for source in module.get("sources", []):
            check_source(module.get("name"), source)
    lua = next((m for m in modules if m.get("name") == "lua"), {})
    check("Lua 5.4 from its release tarball", any(re.search(r"lua\.org/ftp/lua-5\.4\.\d+\.tar\.gz$", s.get("url", ""))
                                                  for s in lua.get("sources", [])), lua)
    plua = next((m for m in modules if m.get("name") == "plua"), {})
    check("plua built with meson from this repository", plua.get("buildsystem") == "meson" and
          any(s.get("type") == "dir" and os.path.normpath(os.path.join(FLATPAK_DIR, s.get("path", ""))) == SOURCE_ROOT
              for s in plua.get("sources", [])), plua)
    # In the repository (and so in `meson dist`): not hidden by .gitignore.
    if os.path.exists(os.path.join(SOURCE_ROOT, ".git")):
        p = subprocess.run(["git", "-C", SOURCE_ROOT, "check-ignore", "-q", path], timeout=30)
        check("the manifest is not ignored by git", p.returncode == 1, p.returncode)
    # The files the app exports are the ones meson installs under the app id.
    for name in (f"{app_id}.desktop.in", f"{app_id}.metainfo.xml.in", f"{app_id}.service.in",
                 f"icons/hicolor/scalable/apps/{app_id}.svg"):
        check(f"data/{name} exists for the Flatpak export", os.path.exists(os.path.join(SOURCE_ROOT, "data", name)))


run_tests(main)
