#!/bin/sh
# Installs the Debian 12 packages plua needs, only those that are missing.
#   tools/install-deps.sh          build and run
#   tools/install-deps.sh --tests  also what the test suite and benchmarks use
set -eu

packages="meson ninja-build pkg-config gcc libc6-dev gettext
  liblua5.4-dev lua5.4 libglib2.0-dev libglib2.0-bin libsoup-3.0-dev libjson-glib-dev libreadline-dev
  libmosquitto-dev"
if [ "${1:-}" = "--tests" ]; then
  # python3 drives the script/REPL/CLI tests; the Lua C modules prove Debian's
  # modules load; lua-luv and hyperfine are for tests/bench; chromium and npm
  # (playwright-core) for the web REPL browser test; dbus (a private bus for
  # the D-Bus service test), desktop-file-utils and appstream validate data/;
  # mosquitto (the broker) and mosquitto-clients for the MQTT tests and bench.
  packages="$packages python3 lua-filesystem lua-lpeg lua-cjson lua-luv hyperfine time
    socat curl openssl python3-websockets wrk nodejs npm chromium groff-base man-db bash
    dbus desktop-file-utils appstream mosquitto mosquitto-clients"
fi

# Off Debian (no dpkg-query/apt-get): nothing is installed for you. Build when
# pkg-config and PATH have what meson.build needs, otherwise name what is
# missing with the package names of the common systems and exit 1.
# Each row: what to check | Fedora | Arch | Homebrew.
check_elsewhere () {
  rows="cmd:meson|meson|meson|meson
cmd:ninja|ninja-build|ninja|ninja
cmd:pkg-config|pkgconf|pkgconf|pkg-config
cmd:cc|gcc|gcc|(Xcode command line tools)
cmd:msgfmt|gettext|gettext|gettext
cmd:glib-compile-resources|glib2-devel|glib2|glib
pc:lua5.4 lua-5.4 lua|lua-devel|lua|lua
pc:glib-2.0|glib2-devel|glib2|glib
pc:gio-2.0|glib2-devel|glib2|glib
pc:libsoup-3.0|libsoup3-devel|libsoup3|libsoup
pc:json-glib-1.0|json-glib-devel|json-glib|json-glib"
  absent=$(echo "$rows" | while IFS= read -r row; do
    what=${row%%|*}
    names=${row#*|}
    if ! present "$what"; then
      printf '\n  %s: Fedora %s, Arch %s, Homebrew %s' "${what#*:}" \
        "$(echo "$names" | cut -d'|' -f1)" "$(echo "$names" | cut -d'|' -f2)" "$(echo "$names" | cut -d'|' -f3)"
    fi
  done)
  if [ -n "$absent" ]; then
    echo "plua: cannot build, missing (no apt-get here to install them):$absent" >&2
    exit 1
  fi
  exit 0
}

# present cmd:NAME | present pc:"MOD [ALTERNATIVE...]"
present () {
  case "$1" in
    cmd:*) command -v "${1#cmd:}" >/dev/null 2>&1 ;;
    pc:*)
      command -v pkg-config >/dev/null 2>&1 || return 1
      for m in ${1#pc:}; do
        pkg-config --exists "$m" && return 0
      done
      return 1 ;;
  esac
}

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  check_elsewhere
fi

missing=""
for p in $packages; do
  # A Node.js from elsewhere (nodesource) brings its own npm and conflicts
  # with Debian's npm package: the command is what the tests need.
  if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then
    continue
  fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

echo "plua: installing missing packages:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >&2
