# shellcheck shell=bash
# tests/bench/lib.sh: what the wrk benchmarks (api.sh, http.sh) share. Sourced
# after `set -euo pipefail`; messages name the script that sources it.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/../.." && pwd)
OUT=$BENCH_DIR/out

die() { echo "${0##*/}: $*" >&2; exit 1; }

# bench_setup PLUA_ARG TOOL...: sets PLUA (absolute; build/src/plua under the
# repo root when PLUA_ARG is empty), checks it and the tools, makes out/.
bench_setup() {
  PLUA=${1:-$ROOT/build/src/plua}; shift
  case $PLUA in
    /*) ;;
    *) PLUA=$PWD/$PLUA ;;
  esac
  [[ -x $PLUA ]] || die "no plua binary at $PLUA (build it, or pass its path)"
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool not found"
  done
  mkdir -p "$OUT"
}

# build_minimal_server NAME: the minimal C libsoup server as out/NAME.
build_minimal_server() {
  # shellcheck disable=SC2046
  cc -O2 -Wall -o "$OUT/$1" "$BENCH_DIR/http-minimal-server.c" \
     $(pkg-config --cflags --libs libsoup-3.0)
}

# check_buildtype: sets BUILDTYPE to $PLUA's meson build type (or "unknown")
# and warns unless it is release.
check_buildtype() {
  BUILDTYPE=unknown
  local opts
  opts=$(dirname "$PLUA")/../meson-info/intro-buildoptions.json
  if [[ -f $opts ]]; then
    BUILDTYPE=$(python3 -c 'import json,sys; print(next(o["value"] for o in json.load(open(sys.argv[1])) if o["name"] == "buildtype"))' "$opts")
  fi
  [[ $BUILDTYPE == release ]] || echo "${0##*/}: warning: $PLUA is a '$BUILDTYPE' build; only release numbers count" >&2
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The server start_server (in each script) runs in the background.
SERVER_PID=
stop_server() {
  if [[ -n $SERVER_PID ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}

# wrk_warm_up [wrk options...] URL: one second of wrk, its report dropped.
wrk_warm_up() { timeout 30 wrk -t2 -c32 -d1s "$@" >/dev/null; }

# wrk_measure [wrk options...] URL: wrk -t2 -c32 for SECONDS_WRK seconds; its report.
wrk_measure() { timeout $((SECONDS_WRK + 30)) wrk -t2 -c32 -d"${SECONDS_WRK}s" "$@"; }

# requests_per_second: the Requests/sec of the wrk report on stdin.
requests_per_second() { awk '/^Requests\/sec:/ { print $2 }'; }

# median NUMBER...: rounded to an integer.
median() { python3 -c 'import statistics, sys; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.0f}")' "$@"; }
