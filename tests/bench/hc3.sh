#!/bin/sh
# Online-mode benchmarks against a second plua standing in for the HC3:
# api.get from a QuickApp vs curl of the same URL (keep-alive: one curl for
# N URLs), interleaved; and box event → local store latency.
# usage: tests/bench/hc3.sh [path/to/plua]
set -eu
PLUA=${1:-build/src/plua}
DIR=$(cd "$(dirname "$0")" && pwd)
N=${BENCH_N:-500}
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT/api/devices/100"
HC3_USER=admin HC3_PASSWORD=bench "$PLUA" --fibaro --api-port "$PORT" "$DIR/hc3-box.lua" >/dev/null 2>&1 &
BOX=$!
trap 'kill $BOX 2>/dev/null' EXIT
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
  curl -s -o /dev/null -u admin:bench "$URL" && break
  sleep 0.25
done
urls=$(for _ in $(seq "$N"); do printf -- '-o /dev/null %s ' "$URL"; done)
for run in 1 2 3; do
  t0=$(date +%s%N)
  # shellcheck disable=SC2086
  curl -s -u admin:bench $urls
  t1=$(date +%s%N)
  echo "run $run: curl keep-alive: $N GETs, $(( (t1 - t0) / 1000 / N )) us per GET"
  HC3_URL="http://127.0.0.1:$PORT" HC3_USER=admin HC3_PASSWORD=bench BENCH_N=$N \
    "$PLUA" --fibaro --noapi "$DIR/hc3-online.lua" 2>/dev/null | sed "s/^/run $run: /"
done
