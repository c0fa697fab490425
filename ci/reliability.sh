#!/usr/bin/env bash
# Functions are called indirectly (scenarios by name, inner mode):
# shellcheck disable=SC2317
# Reliability of the suite, measured: no flakes, no leftovers, bounded runs,
# hostile environments, slow and busy machines. Prints a figures table at the
# end (also written to target/reliability/figures.md) and exits non-zero when a
# scenario fails.
#
#   ci/reliability.sh [--runs N] [--quick] [--only LIST] [--load-runs N]
#                     [--ceiling SECONDS] [--no-isolate]
#
#   --runs N        repetitions of the whole suite with cargo test and with
#                   cargo nextest (default 30)
#   --quick         the pass .ci/run makes: 3 + 3 repetitions, one concurrent
#                   pair, one kill, the hostile scenarios, of the container
#                   scenarios container-all and container-nonroot, of the load
#                   scenarios one run of load-1cpu (compared with the last
#                   green repetition); --only and --load-runs still apply
#   --only LIST     comma-separated scenarios: repeat-test, repeat-nextest,
#                   concurrent, full, panic, sigkill, hostile (all five) or
#                   hostile-nonroot, hostile-sigpending, hostile-mqueue,
#                   hostile-tmpdir, hostile-noshm, container (all six) or
#                   container-seccomp, container-shm, container-userns,
#                   container-rootfs, container-all, container-nonroot, load
#                   (all four) or load-1cpu, load-oversubscribed, load-memory,
#                   load-build (each after the unloaded load-baseline run)
#   --load-runs N   runs of each load scenario (default 10 of load-1cpu and 3
#                   of the others; 1 in quick mode)
#   --ceiling S     the ceiling of one whole-suite run (default 900 s): a run
#                   still going then is killed and counted as a failure
#   --no-isolate    run every scenario in the host's namespaces even as root
#   -h, --help      this text
#
# Environment: LOAD_QUOTA_US (load-1cpu's CPU quota per 100 ms period, default
# 50000: half a CPU), LOAD_MEMORY_PCT (the share of MemAvailable load-memory
# holds, default 85), LOAD_MEMORY_RESERVE_MIB (what it always leaves
# available, default 2048), IPCCONF (the ipcconf that reads result sets;
# default this checkout's debug build, ci/lib.sh).
#
# Scenarios
#   repeat-test     N x `cargo test --no-fail-fast`; every failing test is listed
#   repeat-nextest  N x `cargo nextest run --no-fail-fast`
#   concurrent      two complete `cargo test` runs started at once, each with
#                   its own IPC_RESULTS_DIR: both green, both complete
#   full            leftovers after a full run
#   panic           a full run with IPCCONF_INJECT_PANIC=all (every check
#                   panics at its second step, its first objects alive; the tests
#                   fail by design): leftovers must be 0
#   sigkill         the suite in its own session, the whole process group killed
#                   with SIGKILL part way; leftovers counted, `cargo ipc-sweep`
#                   run, leftovers counted again (must be 0)
#   hostile-*       the built suite binaries run directly as uid 65534, under
#                   RLIMIT_SIGPENDING=1, with lowered fs.mqueue limits, with an
#                   unusable TMPDIR, with a read-only empty /dev/shm: every test
#                   green, the affected checks `skipped` with the reason
#   container-*     the suite binaries run in a bubblewrap sandbox that does
#                   what a CI container (Docker, cross) does to a process:
#     -seccomp      Docker's default seccomp profile: io_uring, keyrings,
#                   userfaultfd, namespaces, mounts, bpf, perf, NUMA policy, ...
#                   refused with EPERM, clone3 with ENOSYS (built with libseccomp)
#     -shm          a 64 MiB /dev/shm, no /dev/mqueue, a private IPC namespace
#     -userns       a user namespace where the caller is root but only its own
#                   uid is mapped (chown or setuid to any other uid fails)
#     -rootfs       the root filesystem read-only (`docker run --read-only`),
#                   TMPDIR the only writable directory
#     -all          all four at once
#     -nonroot      all at once but userns-root, as uid 65534 (cross runs its
#                   container as the invoking user)
#                   every test green, no check `error`, the affected checks
#                   `skipped`/`unsupported` with the cause; leftovers counted
#                   inside the sandbox before its namespaces go. Needs bwrap
#                   (bubblewrap) and libseccomp's Python bindings: installed with
#                   apt-get when missing (as ci/lib.sh's apt_install does).
#   load-*          `cargo test --tests` (debug, as a contributor runs it) on a
#                   slow or busy machine, compared claim by claim with an
#                   unloaded run made first (load-baseline): every claim but the
#                   performance ones keeps its observation, none records
#                   timeout or error, a performance verdict may become
#                   inconclusive, never its opposite (the verdicts need a
#                   release build: in these debug runs they are skipped, the
#                   figures smoke-tested). Every run records how long each
#                   bounded wait took (IPCCONF_STEP_TIMES); the slowest step
#                   and its claim are reported
#     -1cpu         taskset to one CPU and, as root, a CPU quota of half of it
#                   (cgroup v2 cpu.max, else v1 cpu.cfs_quota_us); without
#                   root no group can be made (no delegated cgroup subtree, no
#                   systemd user manager) and the note says why
#     -oversubscribed  four busy processes per CPU beside the suite
#     -memory       another process holds 85% of MemAvailable, always leaving
#                   2 GiB (every page touched, mlocked where permitted, first in
#                   line for the OOM killer), through every run
#     -build        the suite while a fresh debug build of the crate (every
#                   dependency, its own target directory) compiles beside it
#
# Leftovers: /dev/mqueue/ipcconf-<pid>-*, /dev/shm/*ipcconf-<pid>-*, ipcconf-<pid>-* in the
# temporary directory, System V objects with the suite's key mark (0x1c......)
# and processes still running from this checkout's target/ directory.
#
# Isolation: as root (with unshare), the leftover and hostile scenarios run in
# a private IPC and mount namespace with a fresh mqueue mount, a fresh tmpfs on
# /dev/shm and on /tmp, so that what is counted is this run's and nothing else's
# (other users of the machine keep their own objects, and a lowered fs.mqueue
# limit, which is per IPC namespace, touches nobody else). Without root the
# scenarios run in the host namespaces and count only objects that were not
# there before; the fs.mqueue and /dev/shm scenarios are then skipped.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
SELF="$ROOT/ci/reliability.sh"
WORK="$ROOT/target/reliability"
FIG="$WORK/figures.tsv"

RUNS=30
QUICK=0
ONLY=""
LOAD_RUNS=""
CEILING=900
INNER=""
SANDBOXED=""
NO_ISOLATE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --only) ONLY="$2"; shift 2 ;;
    --ceiling) CEILING="$2"; shift 2 ;;
    --load-runs) LOAD_RUNS="$2"; shift 2 ;;
    --no-isolate) NO_ISOLATE=1; shift ;;
    --inner) INNER="$2"; shift 2 ;;
    --sandboxed) SANDBOXED="$2"; shift 2 ;;
    -h|--help) sed -n '4,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$QUICK" = 1 ]; then RUNS=3; fi
export RUNS QUICK CEILING ROOT WORK FIG LOAD_RUNS

# The ci/ helpers: ipcconf, the project's reader of result sets (ipcconf_find).
# shellcheck source=lib.sh
. "$ROOT/ci/lib.sh"
CI_NAME=reliability
# What the scenarios share, and the scenarios.
# shellcheck source=reliability/common.sh
. "$ROOT/ci/reliability/common.sh"
# shellcheck source=reliability/runs.sh
. "$ROOT/ci/reliability/runs.sh"
# shellcheck source=reliability/hostile.sh
. "$ROOT/ci/reliability/hostile.sh"
# shellcheck source=reliability/container.sh
. "$ROOT/ci/reliability/container.sh"
# shellcheck source=reliability/load.sh
. "$ROOT/ci/reliability/load.sh"

# Sandboxed mode: a container scenario's suite run, inside its sandbox.
if [ -n "$SANDBOXED" ]; then
  ISOLATE=0
  INNER_NS=0
  FIG="$WORK/$SANDBOXED/figure.tsv"
  : >"$FIG"
  BASELINE="$WORK/$SANDBOXED/baseline"
  leftovers | sort >"$BASELINE"
  SCENARIO="$SANDBOXED" hostile_run "$SANDBOXED" env
  exit $?
fi

# Inner mode: one scenario inside its own namespaces.
if [ -n "$INNER" ]; then
  export INNER_NS=1
  ISOLATE=0
  case "$INNER" in
    hostile_noshm) ns_setup ro-shm || exit 1 ;;
    *) ns_setup || exit 1 ;;
  esac
  "$INNER"
  exit $?
fi

# ------------------------------------------------------------------- main

start_all=$(now)
rm -rf "$WORK"
mkdir -p "$WORK"
: >"$FIG"
ISOLATE=0
[ "$NO_ISOLATE" = 0 ] && can_isolate && ISOLATE=1
export ISOLATE

say "setup"
echo "runs: $RUNS per runner; ceiling per whole-suite run: ${CEILING}s; isolated namespaces: $([ "$ISOLATE" = 1 ] && echo yes || echo "no (not root or no unshare)")"
if [ "$(uname -s)" = Linux ] && ! mountpoint -q /dev/mqueue 2>/dev/null && is_root; then
  mkdir -p /dev/mqueue && mount -t mqueue none /dev/mqueue && echo "mounted /dev/mqueue"
fi
cargo test --no-run -q 2>&1 | grep -v '^$' | tail -3
# Result sets are read with this build's ipcconf (`ipcconf summary`), also by
# the scenarios that run this script again in a namespace or a sandbox.
ipcconf_built_by "" debug
ipcconf_find || { echo "no ipcconf to read result sets with" >&2; exit 2; }
export IPCCONF
suite_binaries >"$WORK/binaries"
echo "$(wc -l <"$WORK/binaries") suite binaries"
HAVE_NEXTEST=0
cargo nextest --version >/dev/null 2>&1 && HAVE_NEXTEST=1
leftovers | sort >"$WORK/baseline"
echo "objects of ours present before the run (not counted): $(wc -l <"$WORK/baseline")"
CONTAINER_WHY=""
for s in container-seccomp container-shm container-userns container-rootfs container-all container-nonroot; do
  if wanted "$s"; then
    container_setup
    echo "container scenarios: ${CONTAINER_WHY:-bwrap $(bwrap --version | awk '{ print $2 }'), seccomp program $(wc -c <"$WORK/docker-default.bpf") bytes}"
    break
  fi
done
export CONTAINER_WHY

status=0
# run_scenario NAME FUNCTION [isolated]
run_scenario() {
  local name=$1 fn=$2 t
  wanted "$name" || return 0
  say "$name"
  t=$(now)
  if [ "${3:-}" = isolated ]; then
    isolated "$fn" || { status=1; echo "  FAILED: $name"; }
  else
    "$fn" || { status=1; echo "  FAILED: $name"; }
  fi
  echo "  ($(elapsed "$t") s)"
}
repeat_test() { repeat_runs test; }
repeat_nextest() { repeat_runs nextest; }
needs_isolation() {
  # NAME REASON-FOR-ROOT: skipped (with a figure) when no private namespace.
  if [ "$ISOLATE" = 1 ]; then return 0; fi
  wanted "$1" && figure "$1" 0 - - - "SKIPPED: $2"
  return 1
}

run_scenario repeat-test repeat_test
if [ "$HAVE_NEXTEST" = 1 ]; then
  run_scenario repeat-nextest repeat_nextest
elif wanted repeat-nextest; then
  figure repeat-nextest 0 - - - "SKIPPED: cargo-nextest is not installed"
fi
run_scenario concurrent concurrent
run_scenario full full isolated
run_scenario panic panic_run isolated
run_scenario sigkill sigkill isolated
run_scenario hostile-nonroot hostile_nonroot isolated
run_scenario hostile-sigpending hostile_sigpending isolated
if needs_isolation hostile-mqueue "lowering fs.mqueue limits needs root and a private IPC namespace"; then
  run_scenario hostile-mqueue hostile_mqueue isolated
fi
run_scenario hostile-tmpdir hostile_tmpdir isolated
if needs_isolation hostile-noshm "replacing /dev/shm needs root and a private mount namespace"; then
  run_scenario hostile-noshm hostile_noshm isolated
fi
# Quick mode: the two that put every restriction together (unless asked by name).
if [ "$QUICK" = 0 ] || [ -n "$ONLY" ]; then
  run_scenario container-seccomp container_seccomp isolated
  run_scenario container-shm container_shm isolated
  run_scenario container-userns container_userns isolated
  run_scenario container-rootfs container_rootfs isolated
fi
run_scenario container-all container_all isolated
run_scenario container-nonroot container_nonroot isolated
# The load scenarios, after the unloaded run they are compared with; quick
# mode: one run of load-1cpu (unless asked by name).
load_wanted=""
for s in load-1cpu load-oversubscribed load-memory load-build; do
  [ "$s" != load-1cpu ] && [ "$QUICK" = 1 ] && [ -z "$ONLY" ] && continue
  wanted "$s" && load_wanted="$load_wanted $s"
done
if [ -n "$load_wanted" ]; then
  ONLY=load-baseline run_scenario load-baseline load_baseline
  for s in $load_wanted; do
    run_scenario "$s" "$(echo "$s" | tr - _)"
  done
fi

# ---------------------------------------------------------------- figures

total=$(elapsed "$start_all")
say "figures (whole script: ${total} s)"
awk -F'\t' -v total="$total" -v runs="$RUNS" -v iso="$([ "$ISOLATE" = 1 ] && echo yes || echo no)" '
  BEGIN { print "| scenario | runs | passed | failed | leftovers | notes |"; print "|---|---|---|---|---|---|" }
  NF { line = "|"; for (i = 1; i <= 6; i++) { c = $i; gsub(/\|/, "\\|", c); line = line " " c " |" }; print line }
  END { print ""; printf "Whole script: %s s; %s repetitions per runner; isolated namespaces: %s.\n", total, runs, iso }
' "$FIG" | tee "$WORK/figures.md"
echo "logs and results: $WORK"
exit $status
