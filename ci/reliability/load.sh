# shellcheck shell=bash
# shellcheck disable=SC2153,SC2317 # names set by ci/reliability.sh; functions called by name
# Scenarios of ci/reliability.sh (sourced): the whole suite on a slow or busy
# machine. Each loaded run is compared claim by claim with an unloaded run of
# the same build made first (load-baseline): every claim but the performance
# ones keeps its observation, none records timeout or error, and a performance
# verdict may become inconclusive but never its opposite.
#
#   load-1cpu           taskset to one CPU, and a CPU quota of half of it
#                       (cgroup v2 cpu.max, else v1 cpu.cfs_quota_us) where a
#                       group can be made
#   load-oversubscribed four busy processes per CPU beside the suite
#   load-memory         most of the available memory held (touched, mlocked where
#                       permitted) by another process
#   load-build          a fresh debug build of the crate compiling beside the suite
#
# Every run records how long each bounded wait took (IPCCONF_STEP_TIMES,
# src/watchdog.rs) and the figures give the slowest step and its claim.

# The quota of load-1cpu, in microseconds per 100 ms period (half a CPU).
LOAD_QUOTA_US=${LOAD_QUOTA_US:-50000}
# The share of MemAvailable load-memory holds, in percent, and what it always
# leaves available, in MiB (the machine is never at risk: what the others can
# still allocate never falls below it, and the holder is the first process the
# OOM killer would take).
LOAD_MEMORY_PCT=${LOAD_MEMORY_PCT:-85}
LOAD_MEMORY_RESERVE_MIB=${LOAD_MEMORY_RESERVE_MIB:-2048}

# Runs of each load scenario: --load-runs, else 10 of load-1cpu (it runs in
# .ci/run's quick pass) and 3 of the others; 1 in quick mode.
load_runs() {
  if [ -n "${LOAD_RUNS:-}" ]; then echo "$LOAD_RUNS"
  elif [ "$QUICK" = 1 ]; then echo 1
  elif [ "$1" = load-1cpu ]; then echo 10
  else echo 3
  fi
}

# load_suite DIR [PREFIX...]: one whole-suite run, `cargo test --tests` (the
# suites, the harness tests and the unit tests; not the documentation's
# examples, which observe nothing), under PREFIX, into DIR.
load_suite() {
  local dir=$1 start rc
  shift
  rm -rf "$dir" && mkdir -p "$dir"
  start=$(now)
  "$@" env IPC_RESULTS_DIR="$dir/results" IPCCONF_STEP_TIMES="$dir/steps" \
    timeout --kill-after=10 "$CEILING" cargo test --no-fail-fast --tests >"$dir/run.log" 2>&1
  rc=$?
  elapsed "$start" >"$dir/seconds"
  echo "$rc" >"$dir/rc"
  failed_tests "$dir/run.log" >"$dir/failed"
}

# load_judge BASELINE DIR: one line on a loaded run against the baseline; its
# status says whether the run kept to the rules (the test exit status included).
# Fields, by tabs: ok or bad; "N results, T timeout, E error, C changed"; the
# slowest step; the slowest check; what broke the rules. The claims are read
# with `ipcconf summary` (claim_lines); the steps from IPCCONF_STEP_TIMES's
# files (claim, file:line, what, took ms, bound ms).
load_judge() {
  local base=$1 dir=$2 steps
  [ -s "$base/claims" ] || claim_lines "$base/results" >"$base/claims"
  claim_lines "$dir/results" >"$dir/claims"
  steps=$(find "$dir/steps" -name '*.tsv' 2>/dev/null)
  # shellcheck disable=SC2086 # one path a line, none with spaces (target/)
  cat /dev/null $steps | awk -F'\t' -v basef="$base/claims" -v runf="$dir/claims" \
    -v rc="$(cat "$dir/rc")" -v failed="$(head -5 "$dir/failed" | paste -sd, - | sed 's/,/, /g')" '
    function cut(t) { return length(t) > 300 ? substr(t, 1, 300) "..." : t }
    function note(t) { bad = bad (bad == "" ? "" : "; ") t }
    BEGIN {
      while ((getline l < basef) > 0) { split(l, a, "\t"); base[a[1]] = a[2] }
      close(basef) # the baseline judged against itself reads the file again
      while ((getline l < runf) > 0) {
        split(l, a, "\t")
        if (a[1] == "") continue
        run[a[1]] = a[2]; ev[a[1]] = a[5]; n++; count[a[2]]++
        if (a[4] + 0 > check_ms || check == "") { check_ms = a[4] + 0; check = a[1] }
      }
    }
    # The checks own steps (a harness test deliberate timeout, a peer that
    # never answers, is not one): the slowest of those the 2 s bound holds,
    # and the one nearest its bound among those bounded longer (a whole
    # measurement, a peer that waits on purpose).
    NF == 5 && ($1 in run) && $2 !~ /^tests\// {
      took = $4 + 0; bound = $5 + 0
      if (bound <= 2000) {
        if (slow == "" || took > slow_ms) { slow_ms = took; slow = sprintf("%.0f ms of its %.0f ms bound, %s (%s, %s)", took, bound, $1, $2, $3) }
      } else if (longer == "" || took / bound > longer_r) {
        longer_r = took / bound; longer = sprintf("%.0f ms of %.0f ms, %s (%s)", took, bound, $1, $3)
      }
    }
    END {
      for (c in base) if (!(c in run)) note(c " missing")
      for (c in run) {
        was = base[c]; now = run[c]
        if (now == "timeout" || now == "error") { note(c " " now ": " cut(ev[c])); continue }
        if (!(c in base) || was == now) continue
        changed++
        # A performance verdict may become inconclusive, never its opposite;
        # on one CPU the checks that need two are skipped, saying so.
        if (c ~ /^perf\./ && now == "inconclusive" && (was == "yes" || was == "no")) continue
        if (c ~ /^perf\./ && now == "skipped" && ev[c] ~ /^one CPU/) continue
        note(c " " was " -> " now ": " cut(ev[c]))
      }
      if (rc != "0") note("cargo test exit " rc (failed != "" ? ": failed " failed : ""))
      if (slow == "") slow = "no step timed"
      if (longer != "") slow = slow "; longer-bounded: " longer
      printf "%s\t%d results, %d timeout, %d error, %d changed\t%s\t%s\t%s\n", (bad == "" ? "ok" : "bad"),
        n, count["timeout"], count["error"], changed, slow, (check == "" ? "-" : sprintf("%.0f ms, %s", check_ms, check)), bad
      exit (bad == "" ? 0 : 1)
    }'
}

# load_scenario NAME NOTE RUNS [PREFIX...]: RUNS whole-suite runs under PREFIX
# (set up before and taken down after by the scenario), each judged against
# the baseline; one figure. LOAD_BEFORE_RUN and LOAD_AFTER_RUN name functions
# called before and after each run with its number (they may print a line),
# LOAD_NOTE_AFTER one whose output ends the figure's note.
load_scenario() {
  local name=$1 note=$2 runs=$3 i dir line ok=0 bad=0
  shift 3
  local base="$WORK/load-baseline"
  mkdir -p "$WORK/$name"
  : >"$WORK/$name/judged"
  for i in $(seq 1 "$runs"); do
    dir="$WORK/$name/run-$i"
    [ -n "${LOAD_BEFORE_RUN:-}" ] && "$LOAD_BEFORE_RUN" "$i"
    load_suite "$dir" "$@"
    [ -n "${LOAD_AFTER_RUN:-}" ] && "$LOAD_AFTER_RUN" "$i"
    if line=$(load_judge "$base" "$dir"); then ok=$((ok + 1)); else bad=$((bad + 1)); fi
    printf '%s\t%s\n' "$i" "$line" >>"$WORK/$name/judged"
    printf '  run %d/%d: %s s; %s; slowest step %s; slowest check %s%s\n' "$i" "$runs" "$(cat "$dir/seconds")" \
      "$(echo "$line" | cut -f2)" "$(echo "$line" | cut -f3)" "$(echo "$line" | cut -f4)" \
      "$(echo "$line" | cut -f5 | sed 's/^./; BROKEN: &/')"
  done
  # The slowest step and check over all runs, the time per run, what broke.
  local summary
  summary=$(sort -n "$WORK/$name"/run-*/seconds | awk -v judged="$WORK/$name/judged" '
    function ms(t) { return match(t, /^[0-9]+ ms/) ? substr(t, 1, RLENGTH - 3) + 0 : -1 }
    { t[++nt] = $1 }
    END {
      while ((getline l < judged) > 0) {
        split(l, r, "\t")
        # "N results, T timeout, E error, C changed"
        split(r[3], c, /[^0-9]+/); to += c[2]; er += c[3]; ch += c[4]
        if (step == "" || ms(r[4]) > ms(step)) step = r[4]
        if (check == "" || ms(r[5]) > ms(check)) check = r[5]
        if (r[6] != "") broken = broken (broken == "" ? "" : "; ") "run " r[1] ": " r[6]
      }
      printf "per run: min %.1f s, median %.1f s, max %.1f s; %d timeout, %d error, %d changed observations in all; slowest step %s; slowest check %s%s",
        t[1], t[int((nt + 1) / 2)], t[nt], to, er, ch, step, check, (broken == "" ? "" : "; broken: " substr(broken, 1, 600))
    }')
  figure "$name" "$runs" "$ok" "$bad" "-" "$note; $summary$([ -n "${LOAD_NOTE_AFTER:-}" ] && "$LOAD_NOTE_AFTER")"
  [ "$bad" = 0 ]
}

# load-baseline: the unloaded run every loaded run is compared with; in quick
# mode the last green run of repeat-test, when there is one.
load_baseline() {
  local dir="$WORK/load-baseline" line kept="$WORK/repeat-test/kept"
  if [ "$QUICK" = 1 ] && [ -d "$kept/results" ]; then
    rm -rf "$dir" && mkdir -p "$dir" && cp -r "$kept/results" "$dir/results"
    cp "$kept/seconds" "$dir/seconds" && echo 0 >"$dir/rc" && : >"$dir/failed"
    echo "  the last green run of repeat-test (quick mode)"
  else
    load_suite "$dir"
  fi
  line=$(load_judge "$dir" "$dir")
  local rc=$?
  printf '  %s s; %s; slowest step %s; slowest check %s\n' "$(cat "$dir/seconds")" \
    "$(echo "$line" | cut -f2)" "$(echo "$line" | cut -f3)" "$(echo "$line" | cut -f4)"
  figure load-baseline 1 "$([ "$rc" = 0 ] && echo 1 || echo 0)" "$([ "$rc" = 0 ] && echo 0 || echo 1)" - \
    "unloaded, the comparison for every load-* run: $(cat "$dir/seconds") s; $(echo "$line" | cut -f2); slowest step $(echo "$line" | cut -f3); slowest check $(echo "$line" | cut -f4)$(echo "$line" | cut -f5 | sed 's/^./; BROKEN: &/')"
  [ "$rc" = 0 ]
}

# ------------------------------------------------------------------ one CPU

# A CPU this process may run on (the last of its affinity list).
one_cpu() {
  taskset -pc $$ | sed 's/.*: //' | tr ',' '\n' | tail -1 | sed 's/.*-//'
}

# Makes a CPU-limited control group for the suite: CPU_GROUP (its
# cgroup.procs) and CPU_GROUP_HOW (what it is), or CPU_GROUP_WHY (why none).
# cgroup v2 first: a child of the root with the cpu controller enabled for it
# and cpu.max; else the v1 cpu hierarchy's cpu.cfs_quota_us (the same CFS
# bandwidth control); else none.
cpu_group_make() {
  CPU_GROUP="" CPU_GROUP_HOW="" CPU_GROUP_WHY=""
  local v2="" g mnt
  if [ "$(uname -s)" != Linux ]; then CPU_GROUP_WHY="not Linux"; return 1; fi
  if ! is_root; then CPU_GROUP_WHY="not root (making a control group needs root or a delegated subtree)"; return 1; fi
  for mnt in /sys/fs/cgroup /sys/fs/cgroup/unified; do
    [ "$(stat -fc %T "$mnt" 2>/dev/null)" = cgroup2fs ] && { v2=$mnt; break; }
  done
  if [ -n "$v2" ] && grep -qw cpu "$v2/cgroup.controllers" 2>/dev/null; then
    g="$v2/ipcconf-reliability-$$"
    if grep -qw cpu "$v2/cgroup.subtree_control" || echo +cpu >"$v2/cgroup.subtree_control" 2>/dev/null; then
      if mkdir -p "$g" && echo "$LOAD_QUOTA_US 100000" >"$g/cpu.max"; then
        CPU_GROUP="$g" CPU_GROUP_HOW="cgroup v2 cpu.max \"$LOAD_QUOTA_US 100000\""
        return 0
      fi
      rmdir "$g" 2>/dev/null
    fi
  fi
  local why_v2
  if [ -z "$v2" ]; then why_v2="no cgroup v2 hierarchy is mounted"
  else why_v2="the cgroup v2 hierarchy at $v2 has no cpu controller (it has: $(tr -d '\n' <"$v2/cgroup.controllers" 2>/dev/null | sed 's/^$/none/'); cpu is bound to a v1 hierarchy)"
  fi
  mnt=$(awk '$3 == "cgroup" && $4 ~ /(^|,)cpu(,|$)/ { print $2; exit }' /proc/mounts)
  if [ -n "$mnt" ] && [ -e "$mnt/cpu.cfs_quota_us" ]; then
    g="$mnt/ipcconf-reliability-$$"
    if mkdir -p "$g" && echo 100000 >"$g/cpu.cfs_period_us" && echo "$LOAD_QUOTA_US" >"$g/cpu.cfs_quota_us"; then
      CPU_GROUP="$g" CPU_GROUP_HOW="cgroup v1 cpu.cfs_quota_us $LOAD_QUOTA_US per 100000 ($why_v2)"
      return 0
    fi
    rmdir "$g" 2>/dev/null
  fi
  CPU_GROUP_WHY="$why_v2, and no v1 cpu hierarchy could take a group"
  return 1
}

# Removes the group once its processes are gone (bounded: 10 s).
cpu_group_remove() {
  [ -n "${CPU_GROUP:-}" ] || return 0
  local until=$(($(date +%s) + 10))
  while [ -s "$CPU_GROUP/cgroup.procs" ] && [ "$(date +%s)" -lt "$until" ]; do sleep 0.1; done
  rmdir "$CPU_GROUP" 2>/dev/null || echo "  could not remove $CPU_GROUP"
}

# in_cpu_group COMMAND...: COMMAND in the group (this shell's child joins it).
in_cpu_group() {
  if [ -n "${CPU_GROUP:-}" ]; then
    sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ "$CPU_GROUP" "$@"
  else
    "$@"
  fi
}

load_1cpu() {
  local cpu note rc
  if ! command -v taskset >/dev/null; then
    figure load-1cpu 0 - - - "SKIPPED: taskset (util-linux) is not installed"
    return 0
  fi
  cpu=$(one_cpu)
  note="taskset -c $cpu (one of $(nproc) CPUs)"
  if cpu_group_make; then
    note="$note and $CPU_GROUP_HOW: half a CPU"
  else
    note="$note; no CPU quota: $CPU_GROUP_WHY"
  fi
  echo "  $note"
  load_scenario load-1cpu "$note" "$(load_runs load-1cpu)" in_cpu_group taskset -c "$cpu"
  rc=$?
  cpu_group_remove
  return "$rc"
}

# ------------------------------------------------------- oversubscription

load_oversubscribed() {
  local n=$(($(nproc) * 4)) pids=() i rc
  for i in $(seq 1 "$n"); do
    sh -c 'while :; do :; done' &
    pids+=($!)
  done
  load_scenario load-oversubscribed "$n busy processes (sh -c 'while :; do :; done', nice 0) beside the suite on $(nproc) CPUs: four per CPU" \
    "$(load_runs load-oversubscribed)"
  rc=$?
  kill "${pids[@]}" 2>/dev/null
  wait "${pids[@]}" 2>/dev/null
  return "$rc"
}

# ----------------------------------------------------------- memory pressure

# A process that holds PCT percent of MemAvailable (but never so much that less
# than RESERVE MiB stays available), every page touched
# (MAP_POPULATE) and locked where permitted (mlock: root, or RLIMIT_MEMLOCK),
# first in line for the OOM killer (oom_score_adj 1000), for at most HOLD
# seconds. It prints one line once it holds the memory.
MEMORY_HOG='
import ctypes, mmap, sys, time
pct, hold, reserve = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]) << 20
avail = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemAvailable:")) * 1024
n = int(min(avail * pct / 100, avail - reserve)) // 4096 * 4096
if n <= 0:
    sys.exit("MemAvailable is %d MiB: nothing can be held and still leave %d MiB" % (avail >> 20, reserve >> 20))
try:
    open("/proc/self/oom_score_adj", "w").write("1000")
except OSError:
    pass
t = time.time()
populate = getattr(mmap, "MAP_POPULATE", 0)
m = mmap.mmap(-1, n, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | populate)
if not populate:
    for i in range(0, n, 4096):
        m[i] = 1
libc = ctypes.CDLL(None, use_errno=True)
addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
locked = libc.mlock(ctypes.c_void_p(addr), ctypes.c_size_t(n)) == 0
print("holds %d MiB of the %d MiB available, every page touched, %s, in %.1f s" % (
    n >> 20, avail >> 20, "mlocked" if locked else "not mlocked (errno %d)" % ctypes.get_errno(),
    time.time() - t), flush=True)
time.sleep(hold)
'

# Before each run: the memory still held, and what is left.
memory_before_run() {
  if ! kill -0 "$HOG_PID" 2>/dev/null; then
    echo "  the memory-holding process is gone (the OOM killer?): this run is not under pressure"
  fi
  echo "  run $1: MemAvailable $(awk '/^MemAvailable:/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo)"
}

load_memory() {
  if [ "$(uname -s)" != Linux ]; then
    figure load-memory 0 - - - "SKIPPED: reads /proc/meminfo (Linux)"
    return 0
  fi
  local fifo="$WORK/load-memory/hog" line rc
  mkdir -p "$WORK/load-memory"
  rm -f "$fifo" && mkfifo "$fifo"
  timeout "$CEILING" python3 -c "$MEMORY_HOG" "$LOAD_MEMORY_PCT" "$CEILING" "$LOAD_MEMORY_RESERVE_MIB" >"$fifo" 2>"$WORK/load-memory/hog.err" &
  HOG_PID=$!
  exec 7<>"$fifo"
  # Bounded: touching many GiB takes seconds (here about 1 s per GiB).
  if ! read -r -t 300 -u 7 line; then
    exec 7<&-
    kill "$HOG_PID" 2>/dev/null
    figure load-memory 0 - - - "SKIPPED: the memory-holding process did not say it held the memory: $(tail -1 "$WORK/load-memory/hog.err")"
    return 0
  fi
  exec 7<&-
  echo "  another process $line"
  LOAD_BEFORE_RUN=memory_before_run load_scenario load-memory \
    "another process (python3, oom_score_adj 1000) $line, held through every run" "$(load_runs load-memory)"
  rc=$?
  kill "$HOG_PID" 2>/dev/null
  wait "$HOG_PID" 2>/dev/null
  return "$rc"
}

# ----------------------------------------------------------- a build beside

# Before each run: a fresh debug build of the crate (every dependency too) into
# a scratch target directory, in its own session; the run starts once it
# compiles (bounded: 60 s).
build_before_run() {
  local dir="$WORK/load-build" until
  rm -rf "$dir/target"
  CARGO_TARGET_DIR="$dir/target" setsid cargo build --all-targets --offline >"$dir/build-$1.log" 2>&1 &
  BUILD_PID=$!
  until=$(($(date +%s) + 60))
  while ! grep -q Compiling "$dir/build-$1.log" && kill -0 "$BUILD_PID" 2>/dev/null && [ "$(date +%s)" -lt "$until" ]; do
    sleep 0.1
  done
}

# After each run: how far the build got, and the build ended (its whole
# session) if it still runs.
build_after_run() {
  local crates
  crates=$(grep -c Compiling "$WORK/load-build/build-$1.log")
  if kill -0 "$BUILD_PID" 2>/dev/null; then
    kill -- "-$BUILD_PID" 2>/dev/null
    BUILD_STILL=$((BUILD_STILL + 1))
    echo "  run $1: the build was still compiling when the suite ended ($crates crates started)"
  else
    echo "  run $1: the build ended before the suite did ($crates crates)"
  fi
  wait "$BUILD_PID" 2>/dev/null
  BUILD_CRATES="$BUILD_CRATES${BUILD_CRATES:+, }$crates"
}

build_note() { echo "; the build was still compiling when the suite ended in $BUILD_STILL of the runs (crates started per run: $BUILD_CRATES)"; }

load_build() {
  local rc
  mkdir -p "$WORK/load-build"
  BUILD_STILL=0 BUILD_CRATES=""
  LOAD_BEFORE_RUN=build_before_run LOAD_AFTER_RUN=build_after_run LOAD_NOTE_AFTER=build_note load_scenario load-build \
    "a fresh cargo build --all-targets of the crate (every dependency, -j $(nproc), its own target directory) compiling beside the suite on the same $(nproc) CPUs, started anew before each run" \
    "$(load_runs load-build)"
  rc=$?
  rm -rf "$WORK/load-build/target"
  return "$rc"
}
