#!/bin/sh
# Builds plua twice (normal, and with AddressSanitizer + UndefinedBehaviorSanitizer),
# runs the whole test suite in each, and ends with "N passed, N failed".
set -eu
root=$(cd "$(dirname "$0")" && pwd)
"$root/tools/install-deps.sh" --tests

status=0
for variant in test asan; do
  dir="$root/build-$variant"
  if [ ! -f "$dir/build.ninja" ]; then
    if [ "$variant" = asan ]; then
      meson setup "$dir" "$root" -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
    else
      meson setup "$dir" "$root" >/dev/null
    fi
  fi
  echo "== $variant build ==" >&2
  meson compile -C "$dir" >/dev/null || { meson compile -C "$dir"; exit 1; }
  meson test -C "$dir" --print-errorlogs || status=1
done

python3 "$root/tests/summarize.py" "$root/build-test" "$root/build-asan"
exit $status
