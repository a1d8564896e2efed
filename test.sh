#!/bin/sh
# Builds plua three times (normal; AddressSanitizer + UndefinedBehaviorSanitizer;
# without line editing, for the REPL tests),
# runs the whole test suite in each, and ends with "N passed, N failed".
set -eu
root=$(cd "$(dirname "$0")" && pwd)
"$root/tools/install-deps.sh" --tests

# variant: meson options, and which tests (all when empty)
setup_options () {
  case "$1" in
    asan) echo "-Db_sanitize=address,undefined -Db_lundef=false" ;;
    noedit) echo "-Dline_editing=disabled" ;;   # the REPL without readline
    *) echo "" ;;
  esac
}

status=0
for variant in test asan noedit; do
  dir="$root/build-$variant"
  if [ ! -f "$dir/build.ninja" ]; then
    # shellcheck disable=SC2046
    meson setup "$dir" "$root" $(setup_options "$variant") >/dev/null
  fi
  echo "== $variant build ==" >&2
  meson compile -C "$dir" >/dev/null || { meson compile -C "$dir"; exit 1; }
  if [ "$variant" = noedit ]; then
    meson test -C "$dir" --print-errorlogs --suite repl || status=1
  else
    meson test -C "$dir" --print-errorlogs || status=1
  fi
done

python3 "$root/tests/summarize.py" "$root/build-test" "$root/build-asan" "$root/build-noedit"
exit $status
