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

# Each run's claims as plain lines, read by the release ipcconf built above
# (`ipcconf summary --claims`): every claim's run number, load, seconds, id,
# observation, duration, and a verdict's statistic with its interval (`null`
# for any other claim).
ipcconf_built_by "" release
ipcconf_find || die "no ipcconf to read the reports"
claims="$out/claims.tsv"
: >"$claims"
for ((r = 1; r <= runs; r++)); do
    dir="$out/run-$r"
    ipcconf summary "$dir/report.json" --claims --format \
        "$r\t$(cat "$dir/loaded")\t$(cat "$dir/seconds")\t{claim}\t{observed}\t{duration_ms}\t{interval.statistic}\t{interval.estimate}\t{interval.low}\t{interval.high}\t{interval.rounds}" \
        >>"$claims" || die "ipcconf summary could not read $dir/report.json"
done

# The table (run x verdict: value, estimate [interval] n=rounds), then the
# flips: every verdict of every run against run 1 (under --load, only the
# opposite value counts in a loaded run).
awk -F '\t' -v runs="$runs" -v load="$load" '
function cell(r, v) { return (r SUBSEP v) in value ? value[r, v] : "missing" }
{
    r = $1; loaded[r] = $2; seconds[r] = $3
    if ($4 ~ /^perf\./) perf_ms[r] += $6
    if ($7 == "null") next
    if (!($4 in known)) { known[$4] = 1; verdicts[++nv] = $4 }
    value[r, $4] = $5
    shown[r, $4] = $5
    if ($8 != "null")
        shown[r, $4] = sprintf("%s %.3g [%.3g, %.3g] n=%d", $5, $8, $9, $10, $11)
}
END {
    head = "| run | load | run s | perf s |"; rule = "|---|---|---:|---:|"
    for (i = 1; i <= nv; i++) { v = verdicts[i]; sub(/^perf\./, "", v); head = head " " v " |"; rule = rule "---|" }
    print head; print rule
    for (r = 1; r <= runs; r++) {
        line = sprintf("| %d | %s | %s | %.1f |", r, loaded[r] == 1 ? "busy" : "idle", seconds[r], perf_ms[r] / 1000)
        for (i = 1; i <= nv; i++) {
            v = verdicts[i]
            line = line " " ((r SUBSEP v) in shown ? shown[r, v] : "missing") " |"
        }
        print line
    }
    bad = 0
    for (r = 2; r <= runs; r++) for (i = 1; i <= nv; i++) {
        v = verdicts[i]; a = cell(1, v); b = cell(r, v)
        if (load == 1 && loaded[r] == 1) {
            if ((a == "yes" && b == "no") || (a == "no" && b == "yes")) {
                bad++; printf "OPPOSITE: run %d %s: %s (idle run: %s)\n", r, v, b, a
            }
        } else if (a != b) {
            bad++; printf "FLIP: run %d %s: %s (run 1: %s)\n", r, v, b, a
        }
    }
    printf "%s: %d over %d runs x %d verdicts\n", load == 1 ? "opposites" : "flips", bad, runs, nv
    exit bad ? 1 : 0
}' "$claims"
