#!/usr/bin/env bash
# Compares the suite's pipe round-trip figure with a minimal C program making
# the same exchange on the same machine (the aim: within 20%).
#
#   bash ci/perf-baseline.sh [rounds] [iterations] [warmup]
#
# Builds ci/perf/pipe_rtt.c with cc -O2 and the release ipcconf-peer, then
# alternates the two `rounds` times (default 5) and prints each median, the
# median of the medians and the ratio suite/C. The suite's run gets a time
# budget large enough never to cut it short, so both make the same count. Run it on an otherwise idle
# machine: other load makes both figures noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
iters=${2:-20000}
warm=${3:-2000}
out=target/perf-baseline
mkdir -p "$out"
cc -O2 -o "$out/pipe_rtt" ci/perf/pipe_rtt.c
cargo build --release --quiet --bin ipcconf-peer
peer=target/release/ipcconf-peer
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
c_meds=(); r_meds=()
for i in $(seq "$rounds"); do
    c=$("$out/pipe_rtt" "$iters" "$warm")
    r=$("$peer" perf-latency pipe "$iters" "$warm" 600000)
    cm=$(field median_ns <<<"$c"); rm_=$(field median_ns <<<"$r")
    cp=$(field p99_ns <<<"$c"); rp=$(field p99_ns <<<"$r")
    echo "round $i: C median ${cm} ns p99 ${cp} ns | suite median ${rm_} ns p99 ${rp} ns"
    c_meds+=("$cm"); r_meds+=("$rm_")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cmed=$(median "${c_meds[@]}"); rmed=$(median "${r_meds[@]}")
echo "median of medians: C ${cmed} ns, suite ${rmed} ns, suite/C = $(awk -v a="$rmed" -v b="$cmed" 'BEGIN {printf "%.3f", a / b}')"
