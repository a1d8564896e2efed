#!/bin/sh
# Installs what is missing (Debian 12), builds plua, and runs it with your arguments:
#   ./run.sh                      the REPL
#   ./run.sh script.lua args...   a script
#   ./run.sh --install [PREFIX]   builds and installs plua (default prefix ~/.local)
#
# Once built it is quick: the dependency check runs only when build/ is new or
# meson.build changed (build/.deps-ok is the stamp), and meson compile only
# when a source is newer than the binary.
set -eu
root=$(cd "$(dirname "$0")" && pwd)
build="$root/build"
stamp="$build/.deps-ok"
plua="$build/src/plua"

if [ ! -f "$stamp" ] || [ "$root/meson.build" -nt "$stamp" ]; then
  "$root/tools/install-deps.sh"
  if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root" --buildtype=release >&2
  fi
  touch "$stamp"
fi

# Sources newer than the binary (or no binary yet): let meson decide the rest.
sources="$root/src $root/lua $root/resources $root/data $root/po $root/api-descriptions $root/meson.build $root/meson_options.txt"
# shellcheck disable=SC2086
if [ ! -x "$plua" ] || [ -n "$(find $sources -newer "$plua" -print -quit 2>/dev/null)" ]; then
  meson compile -C "$build" >/dev/null || meson compile -C "$build" >&2
fi

if [ "${1:-}" = "--install" ]; then
  prefix=${2:-$HOME/.local}
  meson configure "$build" --prefix="$prefix" >/dev/null
  meson install -C "$build" >&2
  case ":$PATH:" in
    *":$prefix/bin:"*) ;;
    *) echo "plua: installed into $prefix/bin, which is not on your PATH" >&2 ;;
  esac
  exit 0
fi
exec "$plua" "$@"
