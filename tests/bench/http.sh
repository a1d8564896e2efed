#!/usr/bin/env bash
# tests/bench/http.sh: the HTTP benchmarks of the net module, each next to its
# references in the same run. Not part of `meson test`.
#
#   tests/bench/http.sh [PLUA]
#
# PLUA is the plua binary (default: build/src/plua under the repo root); use a
# --buildtype=release build.
#
# 1. Server: wrk -t2 -c32 -d${BENCH_HTTP_SECONDS:-10}s on loopback against
#    net.HTTPServer answering a fixed body from a Lua handler (http-server.lua),
#    a minimal C libsoup server answering the same body (http-minimal-server.c)
#    and Node's http module (http-node-server.js). Target: plua >= 70 % of C.
# 2. Client: ${BENCH_HTTP_N:-10000} sequential GETs to the C server from Lua
#    (http-client.lua, each request issued from the previous one's callback),
#    from Node's fetch (http-client-node.js), from one curl process given all
#    the URLs in a config file (sequential, connection reused), and from a
#    shell loop starting one curl per request (1000 requests, scaled).
#
# Needs: wrk, curl, node, cc, pkg-config with libsoup-3.0, python3, timeout.
# Builds the C server into tests/bench/out/ and writes out/http-results.md.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SECONDS_WRK=${BENCH_HTTP_SECONDS:-10}
N=${BENCH_HTTP_N:-10000}
LOOP_N=1000

bench_setup "${1:-}" wrk curl node cc pkg-config python3 timeout
build_minimal_server http-minimal-server
check_buildtype

trap stop_server EXIT

# start_server PORT COMMAND...: starts it in the background (bounded to 5
# minutes) and waits until it answers the fixed body.
start_server() {
  local port=$1; shift
  timeout 300 "$@" >>"$OUT/http-stderr.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    if [[ $(curl -s --max-time 1 "http://127.0.0.1:$port/" 2>/dev/null) == "Hello, World!" ]]; then
      return 0
    fi
    sleep 0.05
  done
  die "server did not answer: $*"
}

# wrk_rps PORT → requests/s
wrk_rps() {
  wrk_measure "http://127.0.0.1:$1/" | tee -a "$OUT/http-wrk.log" | requests_per_second
}

: >"$OUT/http-wrk.log"
: >"$OUT/http-stderr.log"

echo "== server: wrk -t2 -c32 -d${SECONDS_WRK}s" >&2
declare -A RPS
for name in c plua node; do
  port=$(free_port)
  case $name in
    c) start_server "$port" "$OUT/http-minimal-server" "$port" ;;
    plua) start_server "$port" "$PLUA" --noapi "$BENCH_DIR/http-server.lua" "$port" ;;
    node) start_server "$port" node "$BENCH_DIR/http-node-server.js" "$port" ;;
  esac
  echo "-- $name" >>"$OUT/http-wrk.log"
  # A short warm-up, then the measured run.
  wrk_warm_up "http://127.0.0.1:$port/"
  RPS[$name]=$(wrk_rps "$port")
  stop_server
  echo "$name: ${RPS[$name]} requests/s" >&2
done

echo "== client: $N sequential GETs" >&2
port=$(free_port)
start_server "$port" "$OUT/http-minimal-server" "$port"
url="http://127.0.0.1:$port/"

client_rps() {  # command... → rps from its "requests N seconds S rps R" line
  timeout 300 "$@" | awk '/^requests/ { print $6 }'
}
CLIENT_PLUA=$(client_rps "$PLUA" --noapi "$BENCH_DIR/http-client.lua" "$url" "$N")
CLIENT_NODE=$(client_rps node "$BENCH_DIR/http-client-node.js" "$url" "$N")

cfg=$OUT/http-curl.cfg
python3 -c 'import sys; n, url = int(sys.argv[1]), sys.argv[2]; print("\n".join(f"url = \"{url}\"\noutput = \"/dev/null\"" for _ in range(n)))' "$N" "$url" >"$cfg"
t0=$(date +%s.%N)
timeout 300 curl -s -K "$cfg"
t1=$(date +%s.%N)
CLIENT_CURL=$(python3 -c "print(round($N / ($t1 - $t0)))")

t0=$(date +%s.%N)
for _ in $(seq "$LOOP_N"); do
  timeout 10 curl -s -o /dev/null "$url"
done
t1=$(date +%s.%N)
CLIENT_CURL_LOOP=$(python3 -c "print(round($LOOP_N / ($t1 - $t0)))")
stop_server

ratio=$(python3 -c "print(f'{100 * ${RPS[plua]} / ${RPS[c]}:.0f}')")
{
  echo "# HTTP benchmarks ($BUILDTYPE build, $(date -u +%Y-%m-%d))"
  echo
  echo "| server (wrk -t2 -c32 -d${SECONDS_WRK}s, loopback) | requests/s |"
  echo "|---|---:|"
  echo "| net.HTTPServer, Lua handler (plua) | ${RPS[plua]} (${ratio} % of C; target ≥ 70 %) |"
  echo "| minimal C libsoup server | ${RPS[c]} |"
  echo "| Node.js http | ${RPS[node]} |"
  echo
  echo "| client ($N sequential GETs to the C server) | requests/s |"
  echo "|---|---:|"
  echo "| net.HTTPClient (plua) | $CLIENT_PLUA |"
  echo "| Node.js fetch | $CLIENT_NODE |"
  echo "| curl, one process, all URLs in a -K config (connection reused) | $CLIENT_CURL |"
  echo "| curl, one process per request (shell loop, $LOOP_N requests) | $CLIENT_CURL_LOOP |"
} | tee "$OUT/http-results.md"
