#!/usr/bin/env bash
# tests/bench/api.sh: the REST API server's benchmarks, each next to its
# reference in the same run. Not part of `meson test`.
#
#   tests/bench/api.sh [PLUA]
#
# PLUA is the plua binary (default: build/src/plua under the repo root); use a
# --buildtype=release build.
#
# wrk -t2 -c32 -d${BENCH_API_SECONDS:-10}s on loopback, one target at a time:
#   minimal   the minimal C libsoup server (http-minimal-server.c), fixed body
#   status    GET /plua/status                       target >= 85 % of minimal
#   execute   POST /plua/execute {"code":"return 1"} target >= 60 % of minimal
#   devices   GET /api/devices answered by a Lua hook returning a table of 50
#             devices (about 26 KB of JSON)           target >= 50 % of status
#   cached    the same JSON encoded once by the hook and returned as a string
#             with its Content-Type: the server's cost without json.encode
# and the resident memory (VmRSS) of an idle plua with the server up (target
# under 12 MiB).
#
# Needs: wrk, curl, cc, pkg-config with libsoup-3.0, python3, timeout.
# Builds the C server into tests/bench/out/ and writes out/api-results.md.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SECONDS_WRK=${BENCH_API_SECONDS:-10}

bench_setup "${1:-}" wrk curl cc pkg-config python3 timeout
build_minimal_server api-minimal-server
check_buildtype

trap 'stop_server; rm -f "$OUT/api-post.lua"' EXIT

# start_server PORT URL COMMAND...: starts it in the background (bounded to 5
# minutes) and waits until URL answers 200.
start_server() {
  local port=$1 url=$2; shift 2
  timeout 300 "$@" </dev/null >>"$OUT/api-stderr.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 200); do
    if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port$url" 2>/dev/null) == 200 ]]; then
      return 0
    fi
    sleep 0.05
  done
  die "server did not answer on $url: $*"
}

# The hook of the /api/devices run: 50 devices with HC3 fields, built once.
HOOK='
local devices = dofile("'"$BENCH_DIR"'/api-devices.lua")()
-- The same list encoded once: what a hook that caches its JSON can send.
local cached = json.encode(devices)
local as_json = {["Content-Type"] = "application/json"}
_PY.fibaro_api_hook = function(method, path, data, request)
  if request.route == "/api/devices" then return devices, 200 end
  if request.route == "/api/rooms" then return cached, 200, as_json end
  return nil, 404
end'

cat >"$OUT/api-post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"code":"return 1"}'
wrk.headers["Content-Type"] = "application/json"
LUA

: >"$OUT/api-wrk.log"
: >"$OUT/api-stderr.log"

# wrk_run NAME URL [wrk args...]: one measured run, appended to RUNS[NAME];
# errors (non-2xx answers, socket errors) added to ERRORS[NAME].
declare -A RUNS ERRORS RPS
wrk_run() {
  local name=$1 url=$2; shift 2
  local log rps errors
  log=$(wrk_measure "$@" "$url")
  { echo "-- $name $url"; echo "$log"; } >>"$OUT/api-wrk.log"
  rps=$(requests_per_second <<<"$log")
  errors=$(awk '/Non-2xx/ { n += $NF } /Socket errors/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' <<<"$log")
  RUNS[$name]="${RUNS[$name]:-} $rps"
  ERRORS[$name]=$(( ${ERRORS[$name]:-0} + errors ))
  echo "$name: $rps requests/s, $errors errors" >&2
}

# Both servers stay up; the targets take turns, round after round, so that
# whatever else runs on the machine weighs on all of them alike. Medians count.
ROUNDS=${BENCH_API_ROUNDS:-3}
PIDS=()
trap 'stop_server; kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -f "$OUT/api-post.lua"' EXIT
cport=$(free_port)
start_server "$cport" / "$OUT/api-minimal-server" "$cport"
PIDS+=("$SERVER_PID"); SERVER_PID=
pport=$(free_port)
start_server "$pport" /plua/status "$PLUA" --api-port "$pport" -e "$HOOK"
PIDS+=("$SERVER_PID"); SERVER_PID=
# /plua/execute needs the run's token, printed on stderr as for a user.
TOKEN=$(grep -o 'web?token=[0-9a-f]*' "$OUT/api-stderr.log" | tail -1 | cut -d= -f2)
echo "wrk.headers[\"Authorization\"] = \"Bearer $TOKEN\"" >>"$OUT/api-post.lua"
P=http://127.0.0.1:$pport
# Warm-up, one second each.
for url in "http://127.0.0.1:$cport/" "$P/plua/status" "$P/api/devices" "$P/api/rooms"; do
  wrk_warm_up "$url"
done
wrk_warm_up -s "$OUT/api-post.lua" "$P/plua/execute"

echo "== wrk -t2 -c32 -d${SECONDS_WRK}s, $ROUNDS rounds" >&2
for round in $(seq "$ROUNDS"); do
  echo "-- round $round" >&2
  wrk_run minimal "http://127.0.0.1:$cport/"
  wrk_run status "$P/plua/status"
  wrk_run execute "$P/plua/execute" -s "$OUT/api-post.lua"
  wrk_run devices "$P/api/devices"
  wrk_run cached "$P/api/rooms"
done
DEVICES_BYTES=$(curl -s "$P/api/devices" | wc -c)
kill "${PIDS[@]}" 2>/dev/null || true
wait 2>/dev/null || true
PIDS=()
for name in minimal status execute devices cached; do
  # shellcheck disable=SC2086
  RPS[$name]=$(median ${RUNS[$name]})
done

echo "== idle memory" >&2
port=$(free_port)
start_server "$port" /plua/status "$PLUA" --api-port "$port"
sleep 1
RSS_KB=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status" 2>/dev/null || true)
# SERVER_PID is timeout's; the plua process is its child.
child=$(pgrep -P "$SERVER_PID" | head -1 || true)
[[ -n $child ]] && RSS_KB=$(awk '/^VmRSS:/ { print $2 }' "/proc/$child/status")
stop_server

pct() { python3 -c "print(f'{100 * $1 / $2:.0f}')"; }
{
  echo "# REST API benchmarks ($BUILDTYPE build, $(date -u +%Y-%m-%d))"
  echo
  echo "wrk -t2 -c32 -d${SECONDS_WRK}s on 127.0.0.1, one target at a time, $ROUNDS rounds taking turns;"
  echo "medians of the rounds (every run is in out/api-wrk.log)."
  echo
  echo "| target | requests/s | errors | ratio | goal |"
  echo "|---|---:|---:|---:|---|"
  echo "| minimal C libsoup server (fixed body) | ${RPS[minimal]} | ${ERRORS[minimal]} | 100 % | reference |"
  echo "| GET /plua/status | ${RPS[status]} | ${ERRORS[status]} | $(pct "${RPS[status]}" "${RPS[minimal]}") % of minimal | >= 85 % |"
  echo "| POST /plua/execute {\"code\":\"return 1\"} | ${RPS[execute]} | ${ERRORS[execute]} | $(pct "${RPS[execute]}" "${RPS[minimal]}") % of minimal | >= 60 % |"
  echo "| GET /api/devices (Lua hook, 50 devices, $DEVICES_BYTES bytes) | ${RPS[devices]} | ${ERRORS[devices]} | $(pct "${RPS[devices]}" "${RPS[status]}") % of status | >= 50 % |"
  echo "| the same 50 devices as JSON the hook encoded once (GET /api/rooms) | ${RPS[cached]} | ${ERRORS[cached]} | $(pct "${RPS[cached]}" "${RPS[status]}") % of status | (the server's own cost) |"
  echo
  echo "Idle plua with the API server up: VmRSS $((RSS_KB / 1024)).$(( (RSS_KB % 1024) * 10 / 1024 )) MiB (goal < 12 MiB)."
} | tee "$OUT/api-results.md"
