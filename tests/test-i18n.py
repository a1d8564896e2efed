#!/usr/bin/python3
"""Translations: plua speaks Swedish and Polish when asked, and the catalogues are whole.

usage: test-i18n.py PLUA SOURCE_ROOT BUILD_ROOT
plua reads the build tree's compiled catalogues (BUILD_ROOT/po/LANG/LC_MESSAGES)
through PLUA_LOCALEDIR. LANGUAGE picks the language; gettext ignores it in
the "C" locale, so LC_ALL is C.UTF-8 (always present, unlike sv_SE).
One "ok - NAME" / "not ok - NAME" line per check; exits 1 on any failure.
"""
import os
import re
import subprocess
import sys

from apitest import check, run_tests

PLUA, SOURCE_ROOT, BUILD_ROOT = (os.path.abspath(a) for a in sys.argv[1:4])


def run(language, *args):
    env = dict(os.environ, LANGUAGE=language, LC_ALL="C.UTF-8", PLUA_LOCALEDIR=os.path.join(BUILD_ROOT, "po"))
    return subprocess.run([PLUA, *args], capture_output=True, text=True, env=env, timeout=10)


def test_swedish():
    p = run("sv", "--help")
    check("--help in Swedish", p.returncode == 0 and "Användning:" in p.stdout and
          "Kör Lua 5.4 med en händelseslinga" in p.stdout and "Visa versionen och avsluta" in p.stdout and
          "Avslutningsstatus: 0 normalt slut" in p.stdout, p.stdout[:600])
    p = run("sv", "--no-such-option")
    check("an unknown option in Swedish", p.returncode == 2 and
          "Försök med ”plua --help” för mer information." in p.stderr, p.stderr)
    p = run("sv", "/nonexistent/script.lua")
    check("a missing script in Swedish", p.returncode == 1 and
          p.stderr.startswith("plua: kan inte öppna /nonexistent/script.lua:"), p.stderr)
    p = run("sv", "--api-port", "70000")
    check("a bad port in Swedish", p.returncode == 2 and "ogiltig port 70000 för --api-port" in p.stderr, p.stderr)


def test_polish():
    p = run("pl", "--help")
    check("--help in Polish", p.returncode == 0 and "Użycie:" in p.stdout and
          "Uruchamia Lua 5.4 z pętlą zdarzeń" in p.stdout and "Wyświetla wersję i kończy działanie" in p.stdout,
          p.stdout[:600])
    p = run("pl", "--remote")
    check("a usage error in Polish", p.returncode == 2 and "--remote wymaga -e KOD albo skryptu" in p.stderr,
          p.stderr)


def test_untranslated_language():
    p = run("xx", "--help")
    check("an unknown language falls back to English", "Show the version and exit" in p.stdout, p.stdout[:300])


def test_catalogues():
    linguas = open(os.path.join(SOURCE_ROOT, "po", "LINGUAS")).read().split()
    check("LINGUAS lists sv and pl", {"sv", "pl"} <= set(linguas), linguas)
    for lang in linguas:
        po = os.path.join(SOURCE_ROOT, "po", lang + ".po")
        p = subprocess.run(["msgfmt", "-c", "--statistics", "-o", os.devnull, po], capture_output=True, text=True,
                           timeout=30)
        check(f"{lang}.po compiles with msgfmt -c", p.returncode == 0, p.stderr)
        check(f"{lang}.po is complete (nothing fuzzy or untranslated)",
              "fuzzy" not in p.stderr and "untranslated" not in p.stderr, p.stderr)
    # Every C file with a translatable string is in POTFILES.in.
    listed = {line.strip() for line in open(os.path.join(SOURCE_ROOT, "po", "POTFILES.in"))
              if line.strip() and not line.startswith("#")}
    src = os.path.join(SOURCE_ROOT, "src")
    marked = set()
    for name in os.listdir(src):
        if name.endswith(".c") and re.search(r"\b(N_|_) ?\(\"", open(os.path.join(src, name)).read()):
            marked.add("src/" + name)
    check("POTFILES.in lists every C file with _() or N_() strings", marked <= listed, sorted(marked - listed))
    missing = [f for f in listed if not os.path.exists(os.path.join(SOURCE_ROOT, f))]
    check("POTFILES.in names only existing files", not missing, missing)


run_tests(test_swedish, test_polish, test_untranslated_language, test_catalogues)
