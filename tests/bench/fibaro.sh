#!/bin/sh
# Fibaro emulator benchmarks: start to onInit (best of 10 runs), and
# fibaro.call round trips between two QuickApps.
# usage: tests/bench/fibaro.sh [path/to/plua]
PLUA=${1:-build/src/plua}
DIR=$(dirname "$0")
best=""
for i in 1 2 3 4 5 6 7 8 9 10; do
  t=$(FIBARO_T0=$(date +%s%3N) "$PLUA" --noapi --fibaro "$DIR/fibaro-start.lua" | sed -n 's/.*onInit done \([0-9.]*\) ms.*/\1/p')
  if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
done
echo "fibaro-start: best of 10: onInit done ${best} ms after exec"
"$PLUA" --noapi --fibaro "$DIR/fibaro-call.lua" fibaro-call-peer.lua | sed 's/^.*\]: //'
