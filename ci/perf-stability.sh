#!/usr/bin/env bash
# Are the performance verdicts stable? Runs `cargo ipc-report` N times in a
# row and compares the five verdicts of every run with the first run's.
#
#   ci/perf-stability.sh [--runs N] [--load] [--out DIR]
#
# Idle (default): every run must give the same value for every verdict
# (0 flips; an `inconclusive` that differs from another run's value counts
# as a flip too). With --load, both CPUs are kept busy by a bounded busy
# loop (one process per CPU, each ending on its own after an hour, all killed
# at the end) and the first run is made idle first: a loaded run may turn a
# verdict `inconclusive`, but never into the opposite of the idle value.
# Prints a table, run x verdict (value and interval), then the number of
# flips (or opposites); exits non-zero when there is any. Each run's report
# and log are kept in DIR (default target/perf-stability/).
set -euo pipefail
cd "$(dirname "$0")/.."
export CI_NAME=perf-stability
# shellcheck source=ci/lib.sh
. ci/lib.sh

runs=10 load=0 out=target/perf-stability
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) [ $# -ge 2 ] || die "--runs needs a number"; runs=$2; shift 2 ;;
        --load) load=1; shift ;;
        --out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
done
case "$runs" in ''|*[!0-9]*) die "--runs must be a positive number, not '$runs'" ;; esac
[ "$runs" -ge 1 ] || die "--runs must be at least 1"
if [ "$load" = 1 ] && [ "$runs" -lt 2 ]; then die "--load needs --runs 2 or more (one idle run, then loaded ones)"; fi
command -v python3 >/dev/null || die "python3 is needed to read report.json"

mkdir -p "$out"
busy_pids=()
stop_load() {
    local p
    for p in "${busy_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${busy_pids[@]}"; do wait "$p" 2>/dev/null || true; done
    busy_pids=()
}
trap stop_load EXIT
start_load() {
    local n i
    n=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
    for ((i = 0; i < n; i++)); do
        # Bounded: each loop ends by itself after an hour if never killed.
        timeout 3600 sh -c 'while :; do :; done' &
        busy_pids+=("$!")
    done
    log "busy loops on $n CPUs: pids ${busy_pids[*]}"
}

# Build once, outside the timed runs.
cargo build --release --quiet --bins --tests 2>&1 | tail -n 20 >&2 || die "release build failed"

for ((r = 1; r <= runs; r++)); do
    loaded=0
    if [ "$load" = 1 ] && [ "$r" -gt 1 ]; then
        loaded=1
        [ "${#busy_pids[@]}" -gt 0 ] || start_load
    fi
    dir="$out/run-$r"
    rm -rf "$dir"
    mkdir -p "$dir"
    echo "$loaded" >"$dir/loaded"
    log "run $r of $runs$([ "$loaded" = 1 ] && echo ' (under load)')"
    start=$(date +%s)
    # A run whose checks missed an expectation still writes its report.
    cargo ipc-report -- --out "$dir" >"$dir/log.txt" 2>&1 || true
    echo $(($(date +%s) - start)) >"$dir/seconds"
    [ -f "$dir/report.json" ] || { tail -n 30 "$dir/log.txt" >&2; die "run $r wrote no report.json (log: $dir/log.txt)"; }
done
stop_load

python3 - "$out" "$runs" "$load" <<'PY'
import json, os, sys
out, runs, load = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
verdicts = ["perf.shm_spin_sub_microsecond", "perf.unix_faster_than_tcp",
            "perf.shm_ring_over_1gbps", "perf.spsc_lock_free_predictable",
            "perf.mpmc_contention"]
table = []
for r in range(1, runs + 1):
    d = os.path.join(out, f"run-{r}")
    rep = json.load(open(os.path.join(d, "report.json")))
    results = {x["claim"]: x for run in rep["runs"] for x in run["results"]}
    row = {"run": r, "loaded": open(os.path.join(d, "loaded")).read().strip() == "1",
           "seconds": open(os.path.join(d, "seconds")).read().strip()}
    perf_ms = sum(x.get("duration_ms", 0) for c, x in results.items() if c.startswith("perf."))
    row["perf_s"] = perf_ms / 1000
    for v in verdicts:
        x = results.get(v)
        if x is None:
            row[v] = ("missing", "")
            continue
        q = {m["name"]: m["value"] for m in x.get("measured", [])}
        low = next((k for k in q if k.endswith("_low") and not k.startswith("lead_1x1")), None)
        iv = ""
        if low:
            base = low[:-4]
            iv = f"{q[base]:.3g} [{q[low]:.3g}, {q[base + '_high']:.3g}] n={int(q.get('rounds', 0))}"
        row[v] = (x["observed"], iv)
    table.append(row)
short = [v.split(".", 1)[1] for v in verdicts]
print("| run | load | run s | perf s | " + " | ".join(short) + " |")
print("|---|---|---:|---:|" + "---|" * len(short))
for row in table:
    cells = [f"{row[v][0]} {row[v][1]}".strip() for v in verdicts]
    print(f"| {row['run']} | {'busy' if row['loaded'] else 'idle'} | {row['seconds']} | {row['perf_s']:.1f} | " + " | ".join(cells) + " |")
bad = 0
ref = table[0]
for row in table[1:]:
    for v in verdicts:
        a, b = ref[v][0], row[v][0]
        if load and row["loaded"]:
            # Under load only the opposite value counts.
            if {a, b} == {"yes", "no"}:
                bad += 1
                print(f"OPPOSITE: run {row['run']} {v}: {b} (idle run: {a})")
        elif a != b:
            bad += 1
            print(f"FLIP: run {row['run']} {v}: {b} (run 1: {a})")
word = "opposites" if load else "flips"
print(f"{word}: {bad} over {runs} runs x {len(verdicts)} verdicts")
sys.exit(1 if bad else 0)
PY
