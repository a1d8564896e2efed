#!/bin/sh
# Installs what is missing (Debian 12), builds plua, and runs it with your arguments:
#   ./run.sh                      the REPL
#   ./run.sh script.lua args...   a script
set -eu
root=$(cd "$(dirname "$0")" && pwd)
"$root/tools/install-deps.sh"
if [ ! -f "$root/build/build.ninja" ]; then
  meson setup "$root/build" "$root" --buildtype=release >&2
fi
meson compile -C "$root/build" >/dev/null || meson compile -C "$root/build" >&2
exec "$root/build/src/plua" "$@"
