#!/usr/bin/env bash
# tests/bench/mqtt.sh [PLUA]: MQTT throughput through a local Mosquitto, QoS 0.
# Not part of `meson test`.
#
# Three ways of moving BENCH_MQTT_N (default 100,000) messages of
# BENCH_MQTT_SIZE (default 64) bytes through one broker on 127.0.0.1, each
# BENCH_MQTT_REPS (default 5) times, interleaved, one warm-up round first:
#   reference  mosquitto_pub -l (one message per stdin line) → mosquitto_sub -C N
#   publish    plua (mqtt-pub.lua)                           → mosquitto_sub -C N
#   subscribe  mosquitto_pub -l                               → plua (mqtt-sub.lua)
# Time: from starting the publisher to the subscriber's exit after the Nth
# message (the subscriber is connected and subscribed before). Reported:
# messages/s, median and min–max, and the median CPU time (user + system, GNU
# time) of each side, which a loaded machine disturbs less than wall time:
# plua's against the mosquitto client it stands in for. Needs mosquitto,
# mosquitto-clients, python3, GNU time.
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${BENCH_MQTT_N:-100000}
SIZE=${BENCH_MQTT_SIZE:-64}
REPS=${BENCH_MQTT_REPS:-5}
bench_setup "${1:-}" mosquitto mosquitto_pub mosquitto_sub python3 timeout
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install time)"
check_buildtype

PORT=$(free_port)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/plua-bench-mqtt-XXXXXX")
BROKER=
cleanup() {
  [[ -n $BROKER ]] && kill "$BROKER" 2>/dev/null && wait "$BROKER" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# No limit on what the broker queues for a subscriber: every run must see N.
cat > "$WORK/mosquitto.conf" <<CONF
listener $PORT 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 0
max_inflight_messages 0
user $(id -un)
CONF
timeout 600 mosquitto -c "$WORK/mosquitto.conf" 2>"$WORK/broker.log" &
BROKER=$!
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.1
done

# The reference's input: one line per message, SIZE bytes each.
python3 -c 'import sys; n, size = int(sys.argv[1]), int(sys.argv[2])
sys.stdout.write("".join("%08d%s\n" % (i, "m" * (size - 8)) for i in range(n)))' "$N" "$SIZE" > "$WORK/lines"

now() { date +%s%N; }
# cpu FILE CMD...: runs CMD, its user + system seconds into FILE.
cpu() { local f=$1; shift; /usr/bin/time -f "%U %S" -o "$f" "$@"; }
cpu_of() { awk '{ printf "%.3f", $1 + $2 }' "$1"; }

# start_sub: mosquitto_sub for N messages in the background; waits until the
# broker has its subscription.
start_sub() {
  local before
  before=$(grep -c "New client connected" "$WORK/broker.log" || true)
  cpu "$WORK/sub.cpu" timeout 120 mosquitto_sub -h 127.0.0.1 -p "$PORT" -t bench/mqtt -C "$N" > "$WORK/sub.out" &
  SUB=$!
  for _ in $(seq 100); do
    [[ $(grep -c "New client connected" "$WORK/broker.log" || true) -gt $before ]] && break
    sleep 0.05
  done
  sleep 0.2   # its SUBSCRIBE follows the CONNECT
}

check_count() {
  local got
  got=$(wc -l < "$WORK/sub.out")
  [[ $got -eq $N ]] || die "$1: mosquitto_sub got $got of $N messages"
}

run_reference() {
  start_sub
  local t0
  t0=$(now)
  cpu "$WORK/pub.cpu" timeout 120 mosquitto_pub -h 127.0.0.1 -p "$PORT" -t bench/mqtt -l < "$WORK/lines"
  wait "$SUB"
  echo "$(( $(now) - t0 )) $(cpu_of "$WORK/pub.cpu") $(cpu_of "$WORK/sub.cpu")"
  check_count reference
}

run_publish() {
  start_sub
  local t0
  t0=$(now)
  cpu "$WORK/pub.cpu" timeout 120 "$PLUA" --noapi "$BENCH_DIR/mqtt-pub.lua" "$PORT" "$N" "$SIZE" > "$WORK/plua.out"
  wait "$SUB"
  echo "$(( $(now) - t0 )) $(cpu_of "$WORK/pub.cpu") $(cpu_of "$WORK/sub.cpu")"
  check_count publish
  grep -q "^RESULT sent=$N " "$WORK/plua.out" || die "publish: $(cat "$WORK/plua.out")"
}

run_subscribe() {
  rm -f "$WORK/ready"
  cpu "$WORK/sub.cpu" timeout 120 "$PLUA" --noapi "$BENCH_DIR/mqtt-sub.lua" "$PORT" "$N" "$WORK/ready" > "$WORK/plua.out" &
  local sub=$! t0
  for _ in $(seq 200); do [[ -e $WORK/ready ]] && break; sleep 0.05; done
  [[ -e $WORK/ready ]] || die "subscribe: plua did not subscribe"
  t0=$(now)
  cpu "$WORK/pub.cpu" timeout 120 mosquitto_pub -h 127.0.0.1 -p "$PORT" -t bench/mqtt -l < "$WORK/lines"
  wait "$sub"
  echo "$(( $(now) - t0 )) $(cpu_of "$WORK/pub.cpu") $(cpu_of "$WORK/sub.cpu")"
  grep -q "^RESULT received=$N bytes=$(( N * SIZE ))$" "$WORK/plua.out" || die "subscribe: $(cat "$WORK/plua.out")"
}

declare -A times=([reference]="" [publish]="" [subscribe]="")
for round in $(seq 0 "$REPS"); do
  for kind in reference publish subscribe; do
    result=$("run_$kind")
    (( round > 0 )) && times[$kind]+="$result,"
  done
done

echo "| $N QoS 0 messages of $SIZE bytes via mosquitto ($REPS rounds, $BUILDTYPE build) | msg/s median | min–max | CPU s publisher | CPU s subscriber |"
echo "|---|---:|---:|---:|---:|"
for kind in reference publish subscribe; do
  case $kind in
    reference) label="mosquitto_pub → mosquitto_sub (reference)" ;;
    publish) label="plua → mosquitto_sub" ;;
    subscribe) label="mosquitto_pub → plua" ;;
  esac
  python3 - "$N" "$label" "${times[$kind]}" <<'PY'
import statistics, sys
n, label = int(sys.argv[1]), sys.argv[2]
runs = [r.split() for r in sys.argv[3].split(",") if r]
rates = sorted(n / (int(r[0]) / 1e9) for r in runs)
pub = statistics.median(float(r[1]) for r in runs)
sub = statistics.median(float(r[2]) for r in runs)
print(f"| {label} | {statistics.median(rates):,.0f} | {rates[0]:,.0f}–{rates[-1]:,.0f} | {pub:.2f} | {sub:.2f} |")
PY
done
