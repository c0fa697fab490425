#!/usr/bin/env bash
# Compares the suite's round-trip figures with the minimal C program for each
# mechanism on the same machine (the aim: every ratio within 1.2), outside
# the suite; both time batches of round trips the same way. (`cargo
# ipc-report` measures the same C program beside each latency figure in its
# own run and reports suite/C per mechanism.)
#
#   bash ci/perf-baseline.sh [rounds] [batches] [warmup] [mechanism...]
#
# Builds ci/perf/ipc_rtt.c with cc -O2 and the release ipcconf-peer, then for
# each mechanism (default: every mechanism) alternates the two `rounds`
# times (default 5) and prints each median, the median of the medians and
# the ratio suite/C. Both get a time budget large enough never to cut them
# short, so both make the same count. Run it on an otherwise idle machine:
# other load makes both figures noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
iters=${2:-5000}
warm=${3:-500}
shift $(($# < 3 ? $# : 3))
mechs=("$@")
[ ${#mechs[@]} -gt 0 ] || mechs=(pipe fifo unix_stream unix_dgram unix_seqpacket tcp udp posix_mq sysv_mq eventfd shm_spin shm_futex shm_condvar shm_ring)
out=target/perf-baseline
mkdir -p "$out"
libs=()
[ "$(uname -s)" = Linux ] && libs=(-lrt)
"${CC:-cc}" -O2 -pthread -o "$out/ipc_rtt" ci/perf/ipc_rtt.c "${libs[@]}"
cargo build --release --quiet --bin ipcconf-peer
peer=target/release/ipcconf-peer
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
summary=()
for m in "${mechs[@]}"; do
    c_meds=(); r_meds=()
    for i in $(seq "$rounds"); do
        c=$("$out/ipc_rtt" "$m" "$iters" "$warm" 600000)
        r=$("$peer" perf-latency "$m" "$iters" "$warm" 600000)
        case "$c$r" in *unsupported*) echo "$m: unsupported here"; continue 2 ;; esac
        cm=$(field median_ns <<<"$c"); rm_=$(field median_ns <<<"$r")
        echo "$m round $i: C median ${cm} ns p99 $(field p99_ns <<<"$c") ns | suite median ${rm_} ns p99 $(field p99_ns <<<"$r") ns"
        c_meds+=("$cm"); r_meds+=("$rm_")
    done
    cmed=$(median "${c_meds[@]}"); rmed=$(median "${r_meds[@]}")
    summary+=("$(printf '%-15s C %9s ns  suite %9s ns  suite/C = %s' "$m" "$cmed" "$rmed" \
        "$(awk -v a="$rmed" -v b="$cmed" 'BEGIN {printf "%.3f", a / b}')")")
done
printf '%s\n' "median of medians:" "${summary[@]}"
