#!/usr/bin/env bash
# tests/bench/http-soak.sh: net.HTTPServer over about a million requests,
# next to the minimal C libsoup server, rounds interleaved. Not part of
# `meson test`.
#
#   tests/bench/http-soak.sh [PLUA]
#
# ${BENCH_SOAK_ROUNDS:-10} rounds; in each, wrk -t2 -c32 for
# ${BENCH_SOAK_SECONDS:-5} s against plua (http-server.lua, no
# collectgarbage in the script) and then against the C server, both started
# once and kept running. After each round: requests so far, req/s and RSS
# (/proc/PID/status) of both servers. Target: plua's req/s steady and its RSS
# flat from the first round to the last.
#
# Needs: wrk, curl, cc, pkg-config with libsoup-3.0, python3, timeout.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROUNDS=${BENCH_SOAK_ROUNDS:-10}
SECONDS_WRK=${BENCH_SOAK_SECONDS:-5}

bench_setup "${1:-}" wrk curl cc pkg-config python3 timeout
build_minimal_server http-minimal-server
check_buildtype

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

start() {  # PORT COMMAND... → pid in LAST_PID once it answers
  local port=$1; shift
  timeout 900 "$@" >>"$OUT/soak-stderr.log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
  for _ in $(seq 100); do
    [[ $(curl -s --max-time 1 "http://127.0.0.1:$port/" 2>/dev/null) == "Hello, World!" ]] && return 0
    sleep 0.05
  done
  die "server did not answer: $*"
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

: >"$OUT/soak-stderr.log"
PLUA_PORT=$(free_port)
start "$PLUA_PORT" "$PLUA" --noapi "$BENCH_DIR/http-server.lua" "$PLUA_PORT"
PLUA_PID=$LAST_PID
C_PORT=$(free_port)
start "$C_PORT" "$OUT/http-minimal-server" "$C_PORT"
C_PID=$LAST_PID
# timeout(1) runs the server as its child: read the server's own RSS.
PLUA_PID=$(pgrep -P "$PLUA_PID" || echo "$PLUA_PID")
C_PID=$(pgrep -P "$C_PID" || echo "$C_PID")

total=0
{
  echo "# net.HTTPServer soak ($BUILDTYPE build, $(date -u +%Y-%m-%d), wrk -t2 -c32, ${SECONDS_WRK}s rounds)"
  echo
  echo "| round | plua requests so far | plua req/s | plua RSS (MiB) | C req/s | C RSS (MiB) |"
  echo "|---:|---:|---:|---:|---:|---:|"
  echo "| start | 0 | | $(python3 -c "print(f'{$(rss_kib "$PLUA_PID") / 1024:.1f}')") | | $(python3 -c "print(f'{$(rss_kib "$C_PID") / 1024:.1f}')") |"
} | tee "$OUT/soak-results.md"
for round in $(seq "$ROUNDS"); do
  report=$(wrk_measure "http://127.0.0.1:$PLUA_PORT/")
  n=$(awk '/requests in/ { print $1 }' <<<"$report")
  total=$((total + n))
  plua_rps=$(requests_per_second <<<"$report")
  c_rps=$(wrk_measure "http://127.0.0.1:$C_PORT/" | requests_per_second)
  printf '| %d | %d | %.0f | %.1f | %.0f | %.1f |\n' "$round" "$total" "$plua_rps" \
    "$(python3 -c "print($(rss_kib "$PLUA_PID") / 1024)")" "$c_rps" \
    "$(python3 -c "print($(rss_kib "$C_PID") / 1024)")" | tee -a "$OUT/soak-results.md"
done
