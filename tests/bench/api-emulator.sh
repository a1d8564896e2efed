#!/usr/bin/env bash
# tests/bench/api-emulator.sh: GET /api/devices answered by the emulator
# (--fibaro) with 50 QuickApp devices in its store, next to GET /plua/status
# of the same process. Not part of `meson test`.
#
#   tests/bench/api-emulator.sh [PLUA]
#
# ${BENCH_EMU_ROUNDS:-5} rounds, each wrk -t2 -c32 for ${BENCH_EMU_SECONDS:-3} s
# on /plua/status and then on /api/devices (the order alternating), one plua
# for all of them; medians. The house does not change during the run: the
# store sends each device's kept JSON text. Target: devices >= 70 % of status.
#
# Needs: wrk, curl, python3, timeout. Writes out/api-emulator-results.md.
set -euo pipefail

# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROUNDS=${BENCH_EMU_ROUNDS:-5}
SECONDS_WRK=${BENCH_EMU_SECONDS:-3}

bench_setup "${1:-}" wrk curl python3 timeout
check_buildtype

QA_DIR=$OUT/emulator-qas
rm -rf "$QA_DIR"
mkdir -p "$QA_DIR"
for i in $(seq 50); do
  cat >"$QA_DIR/qa$i.lua" <<EOF
--%%name:Lamp $i
--%%id:$((5000 + i))
--%%type:com.fibaro.binarySwitch
function QuickApp:onInit() self:updateProperty("value", $((i % 2)) == 1) end
function QuickApp:turnOn() self:updateProperty("value", true) end
EOF
done

PORT=$(free_port)
trap stop_server EXIT
: >"$OUT/api-emulator-stderr.log"
timeout 600 "$PLUA" --fibaro --api-port "$PORT" "$QA_DIR"/qa*.lua </dev/null \
  >>"$OUT/api-emulator-stderr.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 200); do
  n=$(curl -s --max-time 1 "http://127.0.0.1:$PORT/api/devices" 2>/dev/null |
      python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null || echo 0)
  [[ $n -ge 51 ]] && break
  sleep 0.1
done
[[ $n -ge 51 ]] || die "the emulator did not list the 50 QuickApps (saw $n devices)"
BYTES=$(curl -s "http://127.0.0.1:$PORT/api/devices" | wc -c)

STATUS=()
DEVICES=()
wrk_warm_up "http://127.0.0.1:$PORT/api/devices"
for round in $(seq "$ROUNDS"); do
  if (( round % 2 )); then order="status devices"; else order="devices status"; fi
  for what in $order; do
    case $what in
      status) STATUS+=("$(wrk_measure "http://127.0.0.1:$PORT/plua/status" | requests_per_second)") ;;
      devices) DEVICES+=("$(wrk_measure "http://127.0.0.1:$PORT/api/devices" | requests_per_second)") ;;
    esac
  done
done
st=$(median "${STATUS[@]}")
dv=$(median "${DEVICES[@]}")
{
  echo "# /api/devices from the emulator ($BUILDTYPE build, $(date -u +%Y-%m-%d), wrk -t2 -c32, $ROUNDS rounds of ${SECONDS_WRK}s, medians)"
  echo
  echo "| route | requests/s (median) | rounds | vs status |"
  echo "|---|---:|---|---:|"
  echo "| GET /plua/status | $st | ${STATUS[*]} | |"
  echo "| GET /api/devices (50 QuickApps + root, $BYTES bytes) | $dv | ${DEVICES[*]} | $(python3 -c "print(f'{$dv / $st:.2f}x')") (target >= 0.7x) |"
} | tee "$OUT/api-emulator-results.md"
