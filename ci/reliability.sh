#!/usr/bin/env bash
# Functions are called indirectly (scenarios by name, inner mode):
# shellcheck disable=SC2317
# Reliability of the suite, measured: no flakes, no leftovers, bounded runs,
# hostile environments. Prints a figures table at the end (also written to
# target/reliability/figures.md) and exits non-zero when a scenario fails.
#
#   ci/reliability.sh [--runs N] [--quick] [--only LIST] [--ceiling SECONDS]
#
#   --runs N        repetitions of the whole suite with cargo test and with
#                   cargo nextest (default 30)
#   --quick         3 + 3 repetitions, one concurrent pair, one kill, of the
#                   container scenarios only container-all and container-nonroot
#                   (for .ci/run)
#   --only LIST     comma-separated scenarios: repeat-test, repeat-nextest,
#                   concurrent, full, panic, sigkill, hostile (all five) or
#                   hostile-nonroot, hostile-sigpending, hostile-mqueue,
#                   hostile-tmpdir, hostile-noshm, container (all six) or
#                   container-seccomp, container-shm, container-userns,
#                   container-rootfs, container-all, container-nonroot
#   --ceiling S     the ceiling of one whole-suite run (default 900 s): a run
#                   still going then is killed and counted as a failure
#   --no-isolate    run every scenario in the host's namespaces even as root
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
#
# Leftovers: /dev/mqueue/ipcconf-*, /dev/shm/*ipcconf-*, ipcconf-* in the
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
    --no-isolate) NO_ISOLATE=1; shift ;;
    --inner) INNER="$2"; shift 2 ;;
    --sandboxed) SANDBOXED="$2"; shift 2 ;;
    -h|--help) sed -n '4,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$QUICK" = 1 ]; then RUNS=3; fi
export RUNS QUICK CEILING ROOT WORK FIG

# ----------------------------------------------------------------- helpers

say() { printf '\n==> %s\n' "$*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
is_root() { [ "$(id -u)" = 0 ]; }

wanted() {
  [ -z "$ONLY" ] && return 0
  local s
  for s in ${ONLY//,/ }; do
    [ "$s" = "$1" ] && return 0
    [ "$s" = hostile ] && [ "${1#hostile-}" != "$1" ] && return 0
    [ "$s" = container ] && [ "${1#container-}" != "$1" ] && return 0
  done
  return 1
}

# figure SCENARIO RUNS PASSED FAILED LEFTOVERS NOTE
figure() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$FIG"; }

# Whether this machine can give a scenario its own IPC and mount namespace.
can_isolate() {
  is_root && command -v unshare >/dev/null && unshare --ipc --mount --propagation private true 2>/dev/null
}

# One line per leftover object of the suite: POSIX names, temporary entries,
# System V objects with the suite's key mark, processes of this checkout.
# LEFT_UID (default: this user) and LEFT_TMP (another temporary directory)
# widen it for a run as another user.
leftovers() {
  local me d tmp
  me=${LEFT_UID:-$(id -u)}
  for d in /dev/mqueue /dev/shm; do
    [ -d "$d" ] && find "$d" -maxdepth 1 -name '*ipcconf-*' -user "$me" 2>/dev/null | sed 's/^/posix /'
  done
  for tmp in "${TMPDIR:-/tmp}" /tmp ${LEFT_TMP:-}; do
    [ -d "$tmp" ] && find "$tmp" -maxdepth 1 -name 'ipcconf-*' -user "$me" 2>/dev/null | sed 's/^/temp /'
  done | sort -u
  if [ -r /proc/sysvipc/msg ]; then
    # key (decimal) in 0x1C000000..0x1CFFFFFF, owner uid = this user.
    for d in msg shm sem; do
      awk -v kind="$d" -v me="$me" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "uid") u = i; next }
        $1 >= 469762048 && $1 < 486539264 && $u == me { printf "sysv %s key 0x%x id %s\n", kind, $1, $2 }' "/proc/sysvipc/$d"
    done
  elif command -v ipcs >/dev/null; then
    ipcs 2>/dev/null | awk 'tolower($1) ~ /^0x1c/ { print "sysv " $1 " id " $2 }'
  fi
  local p exe
  for p in /proc/[0-9]*; do
    exe=$(readlink "$p/exe" 2>/dev/null) || continue
    case "$exe" in "$ROOT"/target/*) echo "process ${p#/proc/} $exe" ;; esac
  done
}

# Whether any object of the suite exists right now (cheap: for timing a kill).
objects_alive() {
  compgen -G '/dev/mqueue/ipcconf-*' >/dev/null ||
    compgen -G '/dev/shm/*ipcconf-*' >/dev/null ||
    compgen -G "${TMPDIR:-/tmp}/ipcconf-*" >/dev/null ||
    awk 'FNR > 1 && $1 >= 469762048 && $1 < 486539264 { f = 1 } END { exit !f }' \
      /proc/sysvipc/msg /proc/sysvipc/shm /proc/sysvipc/sem 2>/dev/null
}

# Leftovers that were not there at the baseline (host namespaces).
new_leftovers() { leftovers | sort | comm -13 "$1" -; }

# The suite binaries (suites/*.rs), built, one path per line.
suite_binaries() {
  cargo test --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") \
            and m["profile"]["test"] and "/suites/" in m["target"]["src_path"]:
        print(m["executable"])'
}

# Results of a run: "total observed-counts" and the claims that were skipped,
# unsupported, error or timeout, grouped by reason.
summarize_results() {
  python3 - "$1" <<'PY'
import collections, glob, json, re, sys
recs = []
for f in glob.glob(sys.argv[1] + "/results/*.json"):
    try:
        recs.append(json.load(open(f)))
    except ValueError:
        pass
count = collections.Counter(r["observed"] for r in recs)
print("results %d: %s" % (len(recs), ", ".join("%s %d" % kv for kv in sorted(count.items()))))
groups = collections.defaultdict(list)
for r in recs:
    if r["observed"] in ("skipped", "error", "timeout") or r["status"] == "fail":
        d = r["detail"]
        key = re.sub(r"\d+", "N", d.split(": ", 1)[-1])[:90] if r["observed"] == "skipped" else d[:90]
        groups[(r["observed"], r["status"])].append((r["claim"], d))
for (obs, status), items in sorted(groups.items()):
    mechs = sorted({c.split(".")[0] for c, _ in items})
    print("%s (%s) %d [%s]: e.g. %s: %s" % (obs, status, len(items), ",".join(mechs), items[0][0], items[0][1][:300]))
PY
}

# The reason of the first skipped claim, shortened (for the figures table); the
# performance claims, skipped in every debug run, come last.
first_skip_reason() {
  python3 - "$1" <<'PY'
import glob, json, re, sys
files = sorted(glob.glob(sys.argv[1] + "/results/*.json"), key=lambda f: ("/perf." in f, f))
for f in files:
    r = json.load(open(f))
    if r["observed"] == "skipped":
        d = re.sub(r'ipcconf-[^ "/)]*', "ipcconf-...", r["detail"])
        # from the named setting on, where the detail names one
        m = re.search(r"RLIMIT_\w+ too small \(\d+\)|fs\.mqueue\.[^;]*|/dev/shm is [^:;]*"
                      r"|cannot create a private directory under [^(]*\([^)]*\)", d)
        print((m.group(0) if m else d)[:160])
        break
PY
}

count_results() { find "$1/results" -name '*.json' 2>/dev/null | wc -l | tr -d ' '; }

# Names of the tests that failed in a cargo test / nextest log.
failed_tests() {
  grep -aE '^test .* \.\.\. FAILED$|^ +(FAIL|TIMEOUT|SIGKILL|SIGSEGV|SIGABRT|ABORT|LEAK-FAIL) \[' "$1" |
    sed -E 's/^test (.*) \.\.\. FAILED$/\1/; s/^ +[A-Z-]+ \[ *[0-9.]+s\] (\([0-9\/]+\) )?//'
}

# A whole-suite command under the run ceiling; its status (124 = ceiling).
ceiling_run() { timeout --kill-after=10 "$CEILING" "$@"; }

# ------------------------------------------------- namespace setup (inner)

# Inside `unshare --ipc --mount`: a fresh mqueue, a fresh (or read-only) /dev/shm
# and a fresh temporary directory, so what this scenario leaves is counted alone.
ns_setup() {
  local shm_opts="mode=1777,size=1g"
  [ "${1:-}" = ro-shm ] && shm_opts="ro,mode=1777,size=4k"
  mount --make-rprivate / 2>/dev/null || true
  [ -d /dev/mqueue ] || mkdir -p /dev/mqueue
  mount -t mqueue none /dev/mqueue || { echo "cannot mount mqueue" >&2; return 1; }
  mount -t tmpfs -o "$shm_opts" none /dev/shm || { echo "cannot mount /dev/shm" >&2; return 1; }
  # A fresh temporary directory of the namespace's own. Not over /tmp: the
  # checkout (and so this script) may live there. /mnt is mounted over privately,
  # so the host's /mnt is untouched, and every user can reach it.
  mount -t tmpfs -o mode=1777,size=2g none /mnt || { echo "cannot mount /mnt" >&2; return 1; }
  export TMPDIR=/mnt
}

# Runs scenario function $1 in its own namespaces (as root), else here.
isolated() {
  if [ "$ISOLATE" = 1 ]; then
    local quick=()
    [ "$QUICK" = 1 ] && quick=(--quick)
    unshare --ipc --mount --propagation private -- "$SELF" --inner "$1" --ceiling "$CEILING" --runs "$RUNS" "${quick[@]}"
  else
    "$1"
  fi
}

# --------------------------------------------------------------- scenarios

# repeat KIND: N whole runs with cargo test (KIND=test) or nextest.
repeat_runs() {
  local kind=$1 dir="$WORK/repeat-$1" i rc start t pass=0 fail=0 ceil=0
  mkdir -p "$dir"
  : >"$dir/times"
  : >"$dir/failed"
  for i in $(seq 1 "$RUNS"); do
    start=$(now)
    if [ "$kind" = test ]; then
      IPC_RESULTS_DIR="$dir/results-$i" ceiling_run cargo test --no-fail-fast >"$dir/run-$i.log" 2>&1
    else
      IPC_RESULTS_DIR="$dir/results-$i" ceiling_run cargo nextest run --no-fail-fast >"$dir/run-$i.log" 2>&1
    fi
    rc=$?
    t=$(elapsed "$start")
    echo "$t" >>"$dir/times"
    if [ "$rc" = 0 ]; then
      pass=$((pass + 1))
      rm -rf "$dir/results-$i"
    else
      fail=$((fail + 1))
      [ "$rc" = 124 ] && ceil=$((ceil + 1))
      failed_tests "$dir/run-$i.log" | sed "s/^/run $i: /" >>"$dir/failed"
    fi
    printf '  %s run %d/%d: exit %d in %ss\n' "$kind" "$i" "$RUNS" "$rc" "$t"
  done
  local times flaky
  times=$(sort -n "$dir/times" | awk '{ v[NR] = $1 } END { printf "min %.1f s, median %.1f s, max %.1f s", v[1], v[int((NR + 1) / 2)], v[NR] }')
  flaky=$(sed 's/^run [0-9]*: //' "$dir/failed" | sort | uniq -c | sort -rn | awk '{ printf "%s%s (%d)", sep, $2, $1; sep = ", " }')
  figure "repeat-$kind" "$RUNS" "$pass" "$fail" "-" "per run: $times$([ "$ceil" != 0 ] && echo "; ceiling hits $ceil")${flaky:+; failing tests: $flaky}"
  [ "$fail" = 0 ]
}

concurrent() {
  local dir="$WORK/concurrent" pairs=3 i ok=0 bad=0 ra rb na nb
  [ "$QUICK" = 1 ] && pairs=1
  mkdir -p "$dir"
  for i in $(seq 1 "$pairs"); do
    IPC_RESULTS_DIR="$dir/a-$i" ceiling_run cargo test --no-fail-fast >"$dir/a-$i.log" 2>&1 &
    local pa=$!
    IPC_RESULTS_DIR="$dir/b-$i" ceiling_run cargo test --no-fail-fast >"$dir/b-$i.log" 2>&1 &
    local pb=$!
    wait "$pa"; ra=$?
    wait "$pb"; rb=$?
    na=$(count_results "$dir/a-$i"); nb=$(count_results "$dir/b-$i")
    printf '  pair %d: exit %d and %d, %d and %d results\n' "$i" "$ra" "$rb" "$na" "$nb"
    if [ "$ra" = 0 ] && [ "$rb" = 0 ] && [ "$na" = "$nb" ] && [ "$na" -gt 0 ]; then
      ok=$((ok + 1))
    else
      bad=$((bad + 1))
      failed_tests "$dir/a-$i.log" | sed "s/^/pair $i a: /" >>"$dir/failed"
      failed_tests "$dir/b-$i.log" | sed "s/^/pair $i b: /" >>"$dir/failed"
    fi
  done
  figure concurrent "$pairs pairs" "$ok" "$bad" "-" "two cargo test runs at once, separate IPC_RESULTS_DIR; each recorded $na results$( [ -s "$dir/failed" ] && printf '; failing: %s' "$(tr '\n' ' ' <"$dir/failed")")"
  [ "$bad" = 0 ]
}

# Counts leftovers now (baseline-relative outside a private namespace).
count_leftovers() {
  if [ "$ISOLATE" = 1 ] || [ "${INNER_NS:-0}" = 1 ]; then leftovers; else new_leftovers "${BASELINE:-$WORK/baseline}"; fi
}

full() {
  local dir="$WORK/full" rc n
  mkdir -p "$dir"
  IPC_RESULTS_DIR="$dir/results" ceiling_run cargo test --no-fail-fast >"$dir/run.log" 2>&1
  rc=$?
  count_leftovers >"$dir/leftovers"
  n=$(wc -l <"$dir/leftovers")
  printf '  exit %d, %d results, %d leftovers\n' "$rc" "$(count_results "$dir/results")" "$n"
  count_results "$dir/results" >"$WORK/expected-results"
  figure full 1 "$([ "$rc" = 0 ] && echo 1 || echo 0)" "$([ "$rc" = 0 ] && echo 0 || echo 1)" "$n" "$(count_results "$dir/results") results$( [ "$n" != 0 ] && printf '; left: %s' "$(tr '\n' ' ' <"$dir/leftovers")")"
  [ "$rc" = 0 ] && [ "$n" = 0 ]
}

panic_run() {
  local dir="$WORK/panic" rc n injected total
  mkdir -p "$dir"
  IPCCONF_INJECT_PANIC=all IPC_RESULTS_DIR="$dir/results" ceiling_run cargo test --no-fail-fast >"$dir/run.log" 2>&1
  rc=$?
  count_leftovers >"$dir/leftovers"
  n=$(wc -l <"$dir/leftovers")
  injected=$(grep -l 'injected panic' "$dir"/results/results/*.json 2>/dev/null | wc -l | tr -d ' ')
  total=$(count_results "$dir/results")
  printf '  exit %d (failures expected), %d of %d checks panicked mid-check, %d leftovers\n' "$rc" "$injected" "$total" "$n"
  figure panic 1 "-" "-" "$n" "IPCCONF_INJECT_PANIC=all: $injected of $total checks panicked at their second step (tests fail by design; ceiling hit: $([ "$rc" = 124 ] && echo yes || echo no))$( [ "$n" != 0 ] && printf '; left: %s' "$(tr '\n' ' ' <"$dir/leftovers")")"
  [ "$n" = 0 ] && [ "$rc" != 124 ] && [ "$injected" -gt 0 ]
}

sigkill() {
  local dir="$WORK/sigkill" fracs="25 50 75" expected f pid n before strays after swept ok=1 i=0
  [ "$QUICK" = 1 ] && fracs="50"
  mkdir -p "$dir"
  expected=$(cat "$WORK/expected-results" 2>/dev/null || echo 180)
  local notes=""
  for f in $fracs; do
    i=$((i + 1))
    rm -rf "$dir/results-$f"
    IPC_RESULTS_DIR="$dir/results-$f" setsid cargo test --no-fail-fast >"$dir/run-$f.log" 2>&1 &
    pid=$!
    local start
    start=$(now)
    # Part way: once the run recorded f% of a full run's results, at the
    # first moment an object of the suite exists (for at most 5 s more).
    while kill -0 "$pid" 2>/dev/null; do
      n=$(count_results "$dir/results-$f")
      [ "$n" -ge $((expected * f / 100)) ] && break
      if awk -v s="$(elapsed "$start")" -v c="$CEILING" 'BEGIN { exit !(s > c) }'; then break; fi
      sleep 0.02
    done
    local until=$(($(date +%s) + 5))
    while kill -0 "$pid" 2>/dev/null && ! objects_alive && [ "$(date +%s)" -lt "$until" ]; do
      sleep 0.005
    done
    kill -KILL -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    n=$(count_results "$dir/results-$f")
    count_leftovers >"$dir/before-$f"
    before=$(grep -vc '^process' "$dir/before-$f")
    # Peers end on their own when their controller is gone (their stdin closes);
    # give them the watchdog's bound before counting them as strays.
    sleep 3
    count_leftovers | grep '^process' >"$dir/strays-$f"
    strays=$(wc -l <"$dir/strays-$f")
    cargo ipc-sweep >"$dir/sweep-$f.log" 2>&1
    swept=$(grep -c '^removed' "$dir/sweep-$f.log")
    count_leftovers >"$dir/after-$f"
    after=$(wc -l <"$dir/after-$f")
    printf '  killed at %d/%d results: %d leftovers (%s), %d stray processes after 3 s; sweep removed %d; %d left after\n' \
      "$n" "$expected" "$before" "$(awk '{ print $1 }' "$dir/before-$f" | sort | uniq -c | awk '{ printf "%s%s %s", s, $1, $2; s = ", " }')" "$strays" "$swept" "$after"
    sed 's/^/    sweep: /' "$dir/sweep-$f.log"
    notes="$notes${notes:+; }killed at $n/$expected results: $before left, sweep removed $swept, $after after, $strays stray processes"
    [ "$after" = 0 ] && [ "$strays" = 0 ] || ok=0
  done
  figure sigkill "$i" "-" "-" "$(cat "$dir"/after-* | wc -l | tr -d ' ') after sweep" "$notes"
  [ "$ok" = 1 ]
}

# hostile NAME [PREFIX...]: every suite binary run directly under PREFIX.
# BINARIES (default: the built ones) and RESULTS (default: under the scenario's
# directory) let a run as another user use copies it can reach; SCENARIO names
# the scenario otherwise than hostile-NAME (its directory is $WORK/SCENARIO).
hostile_run() {
  local scenario=${SCENARIO:-hostile-$1}
  local dir="$WORK/$scenario" b rc bad=0 nbin=0 n
  local list=${BINARIES:-$WORK/binaries} results=${RESULTS:-$WORK/$scenario/results}
  shift
  mkdir -p "$dir"
  while read -r b; do
    nbin=$((nbin + 1))
    "$@" env IPC_RESULTS_DIR="$results" timeout --kill-after=10 "$CEILING" "$b" >"$dir/$(basename "$b").log" 2>&1
    rc=$?
    if [ "$rc" != 0 ]; then
      bad=$((bad + 1))
      echo "  $(basename "$b"): exit $rc"
      grep -aE 'panicked|evidence' "$dir/$(basename "$b").log" | head -6 | sed 's/^/    /'
    fi
  done <"$list"
  if [ "$results" != "$dir/results" ] && [ -d "$results" ]; then
    rm -rf "$dir/results" && cp -r "$results" "$dir/results"
  fi
  count_leftovers >"$dir/leftovers"
  n=$(wc -l <"$dir/leftovers")
  summarize_results "$dir/results" | tee "$dir/summary" | sed 's/^/  /'
  local errors reason
  # No claim may record error or timeout, whatever its test said.
  errors=$(head -1 "$dir/summary" | grep -oE '(error|timeout) [0-9]+' | awk '{ s += $2 } END { print s + 0 }')
  reason=$(first_skip_reason "$dir/results")
  figure "$scenario" "$nbin binaries" "$((nbin - bad))" "$bad" "$n" "${HOSTILE_NOTE:-}; $(head -1 "$dir/summary")$([ "$errors" != 0 ] && echo "; $errors error/timeout")${reason:+; e.g. \"$reason\"}$([ "$n" != 0 ] && printf '; left: %s' "$(tr '\n' ' ' <"$dir/leftovers")")"
  [ "$bad" = 0 ] && [ "$n" = 0 ] && [ "$errors" = 0 ]
}

hostile_nonroot() {
  if is_root && ! command -v setpriv >/dev/null; then
    figure hostile-nonroot 0 - - - "SKIPPED: setpriv (util-linux) is not installed"
    return 0
  fi
  if is_root; then
    # The checkout may sit where uid 65534 cannot go (under /root): run copies of
    # the suite binaries and the peer from the namespace's own /mnt.
    local base="${TMPDIR:-/tmp}/ipcconf-reliability-nonroot" b
    local home="$base/home" bin="$base/bin" res="$base/results"
    mkdir -p "$home" "$bin" "$res" && chmod 0755 "$base" "$bin"
    chown 65534:65534 "$home" "$res" && chmod 0700 "$home"
    : >"$base/binaries"
    while read -r b; do
      cp "$b" "$bin/" && echo "$bin/$(basename "$b")" >>"$base/binaries"
    done <"$WORK/binaries"
    cp "$ROOT/target/debug/ipcconf-peer" "$bin/"
    chmod 0755 "$bin"/*
    BINARIES="$base/binaries" RESULTS="$res" LEFT_UID=65534 LEFT_TMP="$home" \
      HOSTILE_NOTE="as uid/gid 65534 (setpriv, no groups), TMPDIR its own 0700 directory, binaries copied where that uid can reach them" \
      hostile_run nonroot setpriv --reuid=65534 --regid=65534 --clear-groups \
      env TMPDIR="$home" HOME="$home" IPCCONF_PEER="$bin/ipcconf-peer"
  else
    HOSTILE_NOTE="as uid $(id -u) (already not root)" hostile_run nonroot env
  fi
}

hostile_sigpending() {
  if ! command -v prlimit >/dev/null || [ "$(uname -s)" != Linux ]; then
    figure hostile-sigpending 0 - - - "SKIPPED: needs Linux and prlimit (util-linux)"
    return 0
  fi
  HOSTILE_NOTE="prlimit --sigpending=1 (soft and hard), same uid as every other process" \
    hostile_run sigpending prlimit --sigpending=1 --
}

hostile_mqueue() {
  local keys="queues_max msg_max msgsize_max msg_default msgsize_default" k saved=""
  for k in $keys; do saved="$saved fs.mqueue.$k=$(cat "/proc/sys/fs/mqueue/$k")"; done
  # Restored even on failure (the values are this IPC namespace's own anyway).
  # shellcheck disable=SC2064
  trap "sysctl -q -w $saved >/dev/null" EXIT
  sysctl -q -w fs.mqueue.queues_max=1 fs.mqueue.msg_max=1 fs.mqueue.msgsize_max=128 \
    fs.mqueue.msg_default=1 fs.mqueue.msgsize_default=128 >/dev/null || return 1
  HOSTILE_NOTE="fs.mqueue: queues_max 1, msg_max 1, msgsize_max 128, msg_default 1, msgsize_default 128 (as root)" \
    hostile_run mqueue env
  local rc=$?
  # shellcheck disable=SC2086  # one word per setting
  sysctl -q -w $saved >/dev/null
  trap - EXIT
  return "$rc"
}

hostile_tmpdir() {
  # A path under a regular file cannot be created, not even by root (ENOTDIR);
  # permission bits would not stop root.
  : >"$WORK/not-a-directory"
  HOSTILE_NOTE="TMPDIR=$WORK/not-a-directory/tmp (under a regular file: ENOTDIR, also for root)" \
    hostile_run tmpdir env TMPDIR="$WORK/not-a-directory/tmp"
}

hostile_noshm() {
  HOSTILE_NOTE="an empty read-only tmpfs over /dev/shm in a private mount namespace (EROFS for everyone)" \
    hostile_run noshm env
}

# ------------------------------------------------------ container scenarios

# The Python with libseccomp's bindings (Debian's python3-seccomp is built for
# /usr/bin/python3, which another python3 earlier in PATH may not be).
seccomp_python() {
  local p
  for p in /usr/bin/python3 python3; do
    "$p" -c 'import seccomp' 2>/dev/null && { echo "$p"; return 0; }
  done
  return 1
}

# Writes to $1 a BPF program that refuses what Docker's default seccomp profile
# refuses and an IPC check might call. Docker's profile is an allowlist whose
# default action is EPERM (docs.docker.com/engine/security/seccomp, "Significant
# syscalls blocked by the default profile"; moby/profiles seccomp/default.json):
# the calls below are the ones it leaves out, or allows only with a capability
# its containers lack (CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_SYS_NICE, ...). io_uring
# has been out of it since moby PR 46762 (Docker 25); clone3 gets ENOSYS so that
# libc falls back to clone, whose namespace flags get EPERM. Everything else is
# allowed here (a blocklist: the allowlist's other omissions are calls no IPC
# check makes).
seccomp_bpf() {
  local py
  py=$(seccomp_python) || { echo "libseccomp's Python bindings (python3-seccomp) are missing" >&2; return 1; }
  "$py" - "$1" <<'PY'
import errno, sys
import seccomp
DENIED = """
io_uring_setup io_uring_enter io_uring_register
keyctl add_key request_key userfaultfd
unshare setns mount umount2 pivot_root fsopen fsmount fsconfig fspick move_mount
open_tree mount_setattr
bpf perf_event_open fanotify_init open_by_handle_at name_to_handle_at kcmp
mbind set_mempolicy get_mempolicy move_pages
acct swapon swapoff reboot settimeofday clock_settime clock_adjtime
init_module finit_module delete_module kexec_load kexec_file_load lookup_dcookie
quotactl sysfs _sysctl ustat uselib vm86 vm86old ioperm iopl nfsservctl
create_module get_kernel_syms query_module
""".split()
# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
NS_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
for name in DENIED:
    try:
        f.add_rule(seccomp.ERRNO(errno.EPERM), name)
    except (RuntimeError, ValueError):
        pass  # no such call on this architecture
for bit in NS_FLAGS:
    f.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, bit, bit))
f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
with open(sys.argv[1], "wb") as out:
    f.export_bpf(out)
PY
}

# Installs bubblewrap and libseccomp's Python bindings when missing (Debian and
# Ubuntu; as ci/lib.sh's apt_install), builds the seccomp program and tries a
# sandbox. CONTAINER_WHY says why the container scenarios cannot run, if so.
container_setup() {
  CONTAINER_WHY=""
  if [ "$(uname -s)" != Linux ]; then CONTAINER_WHY="needs Linux"; return; fi
  if ! command -v bwrap >/dev/null || ! seccomp_python >/dev/null; then
    if command -v dpkg-query >/dev/null && command -v apt-get >/dev/null; then
      # In a shell of its own: lib.sh sets ROOT and other names of its own.
      CI_NAME=reliability bash -c '. "$1" && shift && apt_install "$@"' _ "$ROOT/ci/lib.sh" bubblewrap python3-seccomp ||
        echo "could not install bubblewrap and python3-seccomp"
    fi
  fi
  if ! command -v bwrap >/dev/null; then CONTAINER_WHY="bwrap (bubblewrap) is not installed"; return; fi
  local err
  if ! err=$(seccomp_bpf "$WORK/docker-default.bpf" 2>&1); then
    CONTAINER_WHY="cannot build the seccomp program: $(echo "$err" | tail -1)"
    return
  fi
  if ! err=$(bwrap --die-with-parent --dev-bind / / --unshare-user --uid 0 --gid 0 --seccomp 9 -- true 9<"$WORK/docker-default.bpf" 2>&1); then
    CONTAINER_WHY="bwrap cannot make a sandbox here (unprivileged user namespaces off?): $(echo "$err" | tail -1)"
  fi
}

# container_run SCENARIO NOTE BWRAP-OPTION...: every suite binary run in a
# bubblewrap sandbox with those options, with TMPDIR a fresh tmpfs (/tmp; where
# the root is read-only, /var/tmp, as `docker run --read-only --tmpfs`, so that
# /tmp stays read-only) and the scenario's directory (the results) writable. The
# script itself runs inside, so the leftovers are counted before the sandbox's
# namespaces take them away.
# RUN_AS (a command prefix), CSELF (the script to run inside) and CWORK (its
# target/reliability) serve the run as another user.
container_run() {
  local scenario=$1 note=$2 self=${CSELF:-$SELF} work=${CWORK:-$WORK} rc
  shift 2
  if [ -n "$CONTAINER_WHY" ]; then
    figure "$scenario" 0 - - - "SKIPPED: $CONTAINER_WHY"
    return 0
  fi
  local dir="$work/$scenario" tmp=/tmp empty=()
  if [ "$1" = --ro-bind ]; then
    tmp=/var/tmp
    # /tmp read-only like the rest, and empty: what other processes of the
    # machine put in the host's /tmp is not counted as this run's.
    case "$self" in /tmp/*) ;; *) empty=(--tmpfs /tmp --remount-ro /tmp) ;; esac
  fi
  # Not over the checkout.
  case "$self" in "$tmp"/*) tmp=$([ "$tmp" = /tmp ] && echo /var/tmp || echo /tmp) ;; esac
  { rm -rf "$dir" && mkdir -p "$dir"; } || return 1
  [ -n "${CONTAINER_OWNER:-}" ] && chown -R "$CONTAINER_OWNER" "$dir"
  HOSTILE_NOTE="$note; TMPDIR=$tmp" ${RUN_AS:+"${RUN_AS[@]}"} bwrap --die-with-parent "$@" \
    ${empty[@]+"${empty[@]}"} --tmpfs "$tmp" --bind "$dir" "$dir" --setenv TMPDIR "$tmp" \
    -- "$self" --sandboxed "$scenario" --ceiling "$CEILING" 9<"$WORK/docker-default.bpf"
  rc=$?
  if [ -s "$dir/figure.tsv" ]; then
    cat "$dir/figure.tsv" >>"$FIG"
  else
    figure "$scenario" 0 0 1 - "the sandbox did not run (exit $rc)"
    rc=1
  fi
  return "$rc"
}

SECCOMP=(--seccomp 9)
# What `docker run` gives /dev: a fresh small /dev (no /dev/mqueue mounted), a
# 64 MiB tmpfs on /dev/shm (Docker's --shm-size default), a private IPC namespace.
DEV_SHM=(--dev /dev --size 67108864 --tmpfs /dev/shm --unshare-ipc)
USERNS_ROOT=(--unshare-user --uid 0 --gid 0)
# `docker run --read-only`: the root filesystem read-only, the kernel's
# filesystems (/dev, /dev/shm, /dev/mqueue, /proc) as they are.
RO_ROOT=(--ro-bind / / --dev-bind /dev /dev)
ALL=(--ro-bind / / "${DEV_SHM[@]}" "${SECCOMP[@]}")

container_seccomp() {
  container_run container-seccomp "Docker's default seccomp profile (libseccomp BPF via bwrap --seccomp)" \
    --dev-bind / / "${SECCOMP[@]}"
}
container_shm() {
  container_run container-shm "64 MiB /dev/shm, no /dev/mqueue, private IPC namespace (bwrap --dev, --tmpfs, --unshare-ipc)" \
    --dev-bind / / "${DEV_SHM[@]}"
}
container_userns() {
  container_run container-userns "root in a user namespace that maps only uid $(id -u) (bwrap --unshare-user --uid 0)" \
    --dev-bind / / "${USERNS_ROOT[@]}"
}
container_rootfs() {
  container_run container-rootfs "read-only root filesystem, only TMPDIR (a tmpfs) and the results writable (bwrap --ro-bind / /)" \
    "${RO_ROOT[@]}"
}
container_all() {
  container_run container-all "all at once: seccomp, 64 MiB /dev/shm, no /dev/mqueue, private IPC namespace, root in a user namespace, read-only root" \
    "${ALL[@]}" "${USERNS_ROOT[@]}"
}
# As root, as uid 65534 (cross runs `docker run --user $(id -u):$(id -g)`), from
# copies of the script and the binaries where that uid can reach them.
container_nonroot() {
  local note="seccomp, 64 MiB /dev/shm, no /dev/mqueue, private IPC namespace, read-only root"
  if ! is_root; then
    container_run container-nonroot "as uid $(id -u) (not root; no uid 0 in the namespace): $note" "${ALL[@]}"
    return
  fi
  if ! command -v setpriv >/dev/null; then
    figure container-nonroot 0 - - - "SKIPPED: setpriv (util-linux) is not installed"
    return 0
  fi
  local base="${TMPDIR:-/tmp}/reliability-container-nonroot" b rc
  rm -rf "$base" && mkdir -p "$base/ci" "$base/target/bin" "$base/target/debug" "$base/target/reliability" || return 1
  { cp "$SELF" "$base/ci/" && cp "$ROOT/target/debug/ipcconf-peer" "$base/target/debug/"; } || return 1
  : >"$base/binaries"
  while read -r b; do
    cp "$b" "$base/target/bin/" && echo "$base/target/bin/$(basename "$b")" >>"$base/binaries"
  done <"$WORK/binaries"
  chmod -R a+rX "$base"
  RUN_AS=(setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/nonexistent
    BINARIES="$base/binaries" IPCCONF_PEER="$base/target/debug/ipcconf-peer")
  CSELF="$base/ci/reliability.sh" CWORK="$base/target/reliability" CONTAINER_OWNER=65534:65534 \
    container_run container-nonroot "as uid/gid 65534 (setpriv, no groups; binaries copied): $note" "${ALL[@]}"
  rc=$?
  unset RUN_AS
  rm -rf "$WORK/container-nonroot" && cp -r "$base/target/reliability/container-nonroot" "$WORK/" && rm -rf "$base"
  return "$rc"
}

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

# ---------------------------------------------------------------- figures

total=$(elapsed "$start_all")
say "figures (whole script: ${total} s)"
python3 - "$FIG" "$WORK/figures.md" "$total" "$RUNS" "$ISOLATE" <<'PY'
import sys
fig, out, total, runs, iso = sys.argv[1:]
rows = [l.rstrip("\n").split("\t") for l in open(fig) if l.strip()]
head = ["scenario", "runs", "passed", "failed", "leftovers", "notes"]
lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
for r in rows:
    r = (r + [""] * 6)[:6]
    lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
lines.append("")
lines.append("Whole script: %s s; %s repetitions per runner; isolated namespaces: %s." % (total, runs, "yes" if iso == "1" else "no"))
text = "\n".join(lines) + "\n"
open(out, "w").write(text)
print(text)
PY
echo "logs and results: $WORK"
exit $status
