#!/usr/bin/env bash
# tests/bench/runsh.sh: what ./run.sh costs once built, against the binary it
# runs. Not part of `meson test`. Target: under 100 ms more than
# build/src/plua -e 'print(1)' (issue 17).
#
#   tests/bench/runsh.sh
#
# Needs hyperfine. Builds build/ through ./run.sh first if needed; writes
# out/runsh.json and prints the two means and their difference.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/../.." && pwd)
OUT=$BENCH_DIR/out
mkdir -p "$OUT"
cd "$ROOT"
./run.sh -e 'print(1)' >/dev/null   # built, stamped
timeout 300 hyperfine -N --warmup 3 --runs 30 --export-json "$OUT/runsh.json" \
  "$ROOT/build/src/plua -e print(1)" "$ROOT/run.sh -e print(1)" >/dev/null
python3 - "$OUT/runsh.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
plua, runsh = (x["mean"] * 1000 for x in r)
print(f"build/src/plua -e 'print(1)': {plua:.1f} ms; ./run.sh -e 'print(1)': {runsh:.1f} ms; "
      f"run.sh costs {runsh - plua:.1f} ms more (target < 100 ms)")
PY
