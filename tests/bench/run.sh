#!/usr/bin/env bash
# tests/bench/run.sh: plua's benchmarks, each measured against its reference in
# the same run. Not part of `meson test`.
#
#   tests/bench/run.sh [PLUA]
#
# PLUA is the plua binary (default: build/src/plua under the repo root); use a
# --buildtype=release build, the numbers of any other build do not count.
# Environment: BENCH_REPS (rounds of the timer benchmarks, default 7),
# BENCH_N (timers per chain/burst, default 200000).
#
# Needs: hyperfine, lua5.4, lua-luv, GNU time (/usr/bin/time, Debian package
# "time"), cc, pkg-config with glib-2.0 and lua5.4, python3, coreutils timeout.
# Builds the C reference into tests/bench/out/ (git-ignored) and writes the
# raw data and the summary table (out/results.md) there. Every command runs
# under `timeout`; a whole run takes about a minute.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/../.." && pwd)
OUT=$BENCH_DIR/out
REPS=${BENCH_REPS:-7}
N=${BENCH_N:-200000}

PLUA=${1:-$ROOT/build/src/plua}
case $PLUA in
  /*) ;;
  *) PLUA=$PWD/$PLUA ;;
esac

die() { echo "run.sh: $*" >&2; exit 1; }

[[ -x $PLUA ]] || die "no plua binary at $PLUA (build it, or pass its path)"
for tool in hyperfine lua5.4 cc pkg-config python3 timeout; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install time)"
lua5.4 -e 'require "luv"' 2>/dev/null || die "lua5.4 cannot load luv (apt-get install lua-luv)"
[[ $PLUA == *"'"* ]] && die "the plua path must not contain a single quote"

mkdir -p "$OUT"
rm -f "$OUT"/startup.json "$OUT"/fib*.json "$OUT"/timers.txt "$OUT"/stderr.log "$OUT"/results.md

# --- the helpers built here -------------------------------------------------
# (pkg-config's flags are meant to be split into words)
# shellcheck disable=SC2046
cc -O2 -Wall -o "$OUT/glib-timers" "$BENCH_DIR/glib-timers.c" \
   $(pkg-config --cflags --libs glib-2.0)
# shellcheck disable=SC2046
cc -O2 -Wall -shared -fPIC -o "$OUT/benchclock.so" "$BENCH_DIR/benchclock.c" \
   $(pkg-config --cflags lua5.4)
# benchclock (a CLOCK_MONOTONIC clock for the plua scripts) comes first, the
# default search path after it (";;").
export LUA_CPATH="$OUT/?.so;;"

# Which build is this? meson leaves its options next to the binary.
BUILDTYPE=unknown
opts=$(dirname "$PLUA")/../meson-info/intro-buildoptions.json
if [[ -f $opts ]]; then
  BUILDTYPE=$(python3 -c 'import json,sys; print(next(o["value"] for o in json.load(open(sys.argv[1])) if o["name"] == "buildtype"))' "$opts")
fi
if [[ $BUILDTYPE != release ]]; then
  echo "run.sh: warning: $PLUA is a '$BUILDTYPE' build; only --buildtype=release numbers count" >&2
fi

echo "plua:   $PLUA ($BUILDTYPE)"
echo "rounds: $REPS, timers: $N"
echo

# --- 1. startup and exit ------------------------------------------------------
echo "== 1. startup: plua -e 'print(1)' vs lua5.4 -e 'print(1)'"
timeout 120 hyperfine -N --style basic --warmup 10 --runs 100 \
  --export-json "$OUT/startup.json" \
  -n plua "'$PLUA' -e 'print(1)'" \
  -n lua5.4 "lua5.4 -e 'print(1)'"
echo

# --- 2. and 3. timers -----------------------------------------------------------
# One measurement: the RESULT line the program prints plus its peak RSS from
# GNU time (KiB), appended to out/timers.txt. Failures are recorded, not fatal.
measure() {
  local record=$1; shift
  local output status
  set +e
  output=$(cd "$BENCH_DIR" && timeout 60 /usr/bin/time -f '%M' -o "$OUT/time.tmp" "$@" 2>>"$OUT/stderr.log")
  status=$?
  set -e
  local line
  line=$(grep '^RESULT ' <<<"$output" || true)
  if [[ $status -ne 0 || -z $line ]]; then
    echo "run.sh: '$*' failed (status $status), see $OUT/stderr.log" >&2
    return 0
  fi
  if [[ $record == yes ]]; then
    echo "$line rss_kb=$(tail -n 1 "$OUT/time.tmp")" >>"$OUT/timers.txt"
  fi
  printf '  %s rss_kb=%s\n' "${line#RESULT }" "$(tail -n 1 "$OUT/time.tmp")"
}

timer_round() {
  local record=$1
  measure "$record" "$PLUA" timer-chain.lua "$N"
  measure "$record" lua5.4 timer-chain-luv.lua "$N"
  measure "$record" "$OUT/glib-timers" chain "$N"
  measure "$record" "$PLUA" timer-burst.lua "$N"
  measure "$record" lua5.4 timer-burst-luv.lua "$N"
  measure "$record" "$OUT/glib-timers" burst "$N"
}

echo "== 2./3. timer chain and burst ($N timers; one warm-up round, then $REPS rounds, interleaved)"
echo " warm-up:"
timer_round no
for ((r = 1; r <= REPS; r++)); do
  echo " round $r:"
  timer_round yes
done
echo

# --- 4. fib(32) -------------------------------------------------------------------
# hyperfine runs all of one command, then all of the other; on a shared machine a
# load change in between would land on one side only. So: 5 short hyperfine
# blocks of 5 runs each, pooled in the summary.
echo "== 4. fib(32): plua fib.lua vs lua5.4 fib.lua (5 hyperfine blocks of 5 runs, pooled)"
for b in 1 2 3 4 5; do
  (cd "$BENCH_DIR" && timeout 120 hyperfine -N --style basic --warmup 1 --runs 5 \
    --export-json "$OUT/fib-$b.json" \
    -n plua "'$PLUA' fib.lua" \
    -n lua5.4 "lua5.4 fib.lua") | grep -E '^Benchmark|Time \(mean'
done
echo

# --- summary ------------------------------------------------------------------------
export PLUA BUILDTYPE REPS N OUT
python3 - <<'EOF'
import json, os, platform, statistics, subprocess, time

out = os.environ["OUT"]
n_timers = int(os.environ["N"])


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except Exception:
        return "?"


LUV_VERSION = """lua5.4 -e 'print(require("luv").version_string())'"""


def hyperfine(name):
    with open(os.path.join(out, name)) as f:
        return {r["command"]: r for r in json.load(f)["results"]}


def mean_sd(values):
    if not values:
        return float("nan"), float("nan")
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def median(values):
    return statistics.median(values) if values else float("nan")


def cell(values, fmt, unit):
    """median first (what the targets are judged on), then mean ± σ."""
    m, s = mean_sd(values)
    f = fmt.format
    return f"{f(median(values))} {unit} (mean {f(m)} ± {f(s)})"


def hcell(r, scale, fmt, unit):
    f = fmt.format
    return f"{f(r['median']*scale)} {unit} (mean {f(r['mean']*scale)} ± {f(r['stddev']*scale)})"


def yes(ok):
    return "yes" if ok else "**no**"


# timers.txt: "RESULT bench=chain impl=plua ... rss_kb=..."
runs = {}
try:
    with open(os.path.join(out, "timers.txt")) as f:
        for line in f:
            kv = dict(w.split("=", 1) for w in line.split()[1:])
            runs.setdefault((kv["bench"], kv["impl"]), []).append(kv)
except FileNotFoundError:
    pass


def col(bench, impl, key, scale=1.0):
    return [float(r[key]) * scale for r in runs.get((bench, impl), [])]


rows = []

# 1. startup
st = hyperfine("startup.json")
sp, sl = st["plua"], st["lua5.4"]
rows.append(("1. Startup + exit, `-e 'print(1)'`",
             hcell(sp, 1e3, "{:.2f}", "ms"),
             "lua5.4: " + hcell(sl, 1e3, "{:.2f}", "ms"),
             "plua < 10 ms", yes(sp["median"] < 0.010 and sp["mean"] < 0.010)))

# 2. chain
pc, lc, gc = (col("chain", i, "us_per_hop") for i in ("plua", "luv", "glib"))
rows.append((f"2. setTimeout(fn, 0) chain, {n_timers:,} hops, per hop",
             cell(pc, "{:.3f}", "µs"),
             f"luv: {cell(lc, '{:.3f}', 'µs')}; GLib C: {cell(gc, '{:.3f}', 'µs')}",
             "plua ≤ 1 µs/hop", yes(median(pc) <= 1.0)))

# 3. burst
pb, lb, gb = (col("burst", i, "total_ms") for i in ("plua", "luv", "glib"))
ratio = median(pb) / median(gb)
rows.append((f"3a. {n_timers:,} timers at once (0–100 ms), creation to last callback",
             cell(pb, "{:.1f}", "ms"),
             f"GLib C: {cell(gb, '{:.1f}', 'ms')}; luv: {cell(lb, '{:.1f}', 'ms')}",
             f"plua ≤ 1.5× GLib (is {ratio:.2f}×)", yes(ratio <= 1.5)))
pr, lr, gr = (col("burst", i, "rss_kb", 1 / 1024) for i in ("plua", "luv", "glib"))
rows.append((f"3b. {n_timers:,} timers at once: peak RSS",
             cell(pr, "{:.1f}", "MiB"),
             f"luv: {cell(lr, '{:.1f}', 'MiB')}; GLib C: {cell(gr, '{:.1f}', 'MiB')}",
             f"plua ≤ luv (is {median(pr) / median(lr):.2f}×)", yes(median(pr) <= median(lr))))

# 4. fib
def pooled(names):
    """hyperfine blocks merged: the same fields, computed over all the runs."""
    times = {}
    for name in names:
        for cmd, r in hyperfine(name).items():
            times.setdefault(cmd, []).extend(r["times"])
    return {cmd: {"mean": statistics.mean(t), "stddev": statistics.stdev(t),
                  "median": statistics.median(t), "runs": len(t)}
            for cmd, t in times.items()}


fb = pooled(sorted(n for n in os.listdir(out) if n.startswith("fib-") and n.endswith(".json")))
p, l = fb["plua"], fb["lua5.4"]
fr = p["median"] / l["median"]
fr_mean = p["mean"] / l["mean"]
# the same ratio without each program's own startup time (benchmark 1)
fr_net = (p["median"] - sp["median"]) / (l["median"] - sl["median"])
rows.append((f"4. fib(32), recursive, whole process ({p['runs']} runs each)",
             hcell(p, 1e3, "{:.1f}", "ms"),
             "lua5.4: " + hcell(l, 1e3, "{:.1f}", "ms"),
             f"plua ≤ 1.03× lua5.4 (is {fr:.3f}×; means {fr_mean:.3f}×; "
             f"without startup {fr_net:.3f}×)",
             yes(fr <= 1.03)))

table = ["| benchmark | plua | reference(s) | target | met? |",
         "|---|---|---|---|---|"]
table += ["| " + " | ".join(r) + " |" for r in rows]

cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
info = [
    f"- date: {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
    f"- host: {cpu}, {os.cpu_count()} CPUs, Linux {platform.release()}",
    f"- plua: `{os.environ['PLUA']}` (buildtype {os.environ['BUILDTYPE']})",
    f"- {sh('lua5.4 -v')}; luv {sh(LUV_VERSION)}; "
    f"GLib {sh('pkg-config --modversion glib-2.0')}; {sh('hyperfine --version')}",
    f"- timer benchmarks: {os.environ['REPS']} interleaved rounds after one warm-up round; "
    f"peak RSS by GNU time `%M`; wall times from CLOCK_MONOTONIC inside each program",
    "- targets are judged on medians (robust against other processes on the machine); "
    "means ± σ are shown alongside",
]

text = "\n".join(table) + "\n\n" + "\n".join(info) + "\n"
print(text)
with open(os.path.join(out, "results.md"), "w") as f:
    f.write(text)
EOF
echo "written: $OUT/results.md"
