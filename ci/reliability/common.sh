# shellcheck shell=bash
# shellcheck disable=SC2153,SC2317 # names set by ci/reliability.sh; functions called by name
# ci/reliability.sh's common part (sourced): output, the figures file,
# leftovers, result summaries, the run ceiling, namespaces.

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
    [ "$s" = load ] && [ "${1#load-}" != "$1" ] && return 0
  done
  return 1
}

# figure SCENARIO RUNS PASSED FAILED LEFTOVERS NOTE
figure() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$FIG"; }

# Whether this machine can give a scenario its own IPC and mount namespace.
can_isolate() {
  is_root && command -v unshare >/dev/null && unshare --ipc --mount --propagation private true 2>/dev/null
}

# One line per leftover object of the suite: POSIX names, temporary entries
# (the suite's names, `ipcconf-<pid>-...`: another file that only starts with
# the prefix is not one), System V objects with the suite's key mark,
# processes of this checkout.
# LEFT_UID (default: this user) and LEFT_TMP (another temporary directory)
# widen it for a run as another user.
leftovers() {
  local me d tmp
  me=${LEFT_UID:-$(id -u)}
  for d in /dev/mqueue /dev/shm; do
    [ -d "$d" ] && find "$d" -maxdepth 1 -name '*ipcconf-[0-9]*' -user "$me" 2>/dev/null | sed 's/^/posix /'
  done
  for tmp in "${TMPDIR:-/tmp}" /tmp ${LEFT_TMP:-}; do
    [ -d "$tmp" ] && find "$tmp" -maxdepth 1 -name 'ipcconf-[0-9]*' -user "$me" 2>/dev/null | sed 's/^/temp /'
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
  compgen -G '/dev/mqueue/ipcconf-[0-9]*' >/dev/null ||
    compgen -G '/dev/shm/*ipcconf-[0-9]*' >/dev/null ||
    compgen -G "${TMPDIR:-/tmp}/ipcconf-[0-9]*" >/dev/null ||
    awk 'FNR > 1 && $1 >= 469762048 && $1 < 486539264 { f = 1 } END { exit !f }' \
      /proc/sysvipc/msg /proc/sysvipc/shm /proc/sysvipc/sem 2>/dev/null
}

# Leftovers that were not there at the baseline (host namespaces).
new_leftovers() { leftovers | sort | comm -13 "$1" -; }

# The suite binaries (suites/*.rs), built, one path per line (from the
# "Executable suites/NAME.rs (PATH)" lines cargo prints).
suite_binaries() {
  cargo test --no-run 2>&1 |
    sed -n 's/^ *Executable suites\/[^ ]* (\(.*\))$/\1/p' |
    while read -r b; do case "$b" in /*) echo "$b" ;; *) echo "$ROOT/$b" ;; esac; done
}

# The claims of a result set, one line each, sorted: claim, observed, status,
# duration_ms, evidence, separated by tabs. Read by the project's own reader,
# `ipcconf summary --format ... --claims` (ci/lib.sh: ipcconf_find), never by
# parsing its files here.
claim_lines() {
  ipcconf summary "$1" --format '{claim}\t{observed}\t{status}\t{duration_ms}\t{evidence}' --claims | sort
}

# Results of a run: "results N: observed-counts" and the claims that were
# skipped, error or timeout, or failed their expectation, grouped by observed
# and status: how many, their mechanisms, the first with its evidence.
summarize_results() {
  local lines
  lines=$(claim_lines "$1") || { echo "results 0: ipcconf summary could not read $1"; return 1; }
  printf 'results %s: %s\n' "$(printf '%s\n' "$lines" | grep -c .)" \
    "$(printf '%s\n' "$lines" | cut -f2 | grep . | sort | uniq -c | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')"
  printf '%s\n' "$lines" | awk -F'\t' '
    NF < 5 { next }
    $2 == "skipped" || $2 == "error" || $2 == "timeout" || $3 == "fail" {
      k = $2 " (" $3 ")"
      if (!(k in count)) { groups[++ng] = k; first[k] = $1 ": " substr($5, 1, 300) }
      count[k]++
      m = $1; sub(/\..*/, "", m)
      if (mechs[k] !~ ("(^|,)" m "$")) mechs[k] = mechs[k] (mechs[k] == "" ? "" : ",") m
    }
    END {
      for (i = 1; i <= ng; i++) { k = groups[i]; print k " " count[k] " [" mechs[k] "]: e.g. " first[k] }
    }'
}

# The reason of the first skipped claim, shortened (for the figures table): from
# the named setting on, where the evidence names one; the performance claims,
# skipped in every debug run, come last.
first_skip_reason() {
  claim_lines "$1" 2>/dev/null | awk -F'\t' '$2 == "skipped" { print ($1 ~ /^perf\./ ? 1 : 0) "\t" $5 }' |
    sort -s -t "$(printf '\t')" -k1,1 | head -1 | cut -f2- |
    sed -E 's/ipcconf-[^ "/)]*/ipcconf-.../g' |
    { IFS= read -r d || exit 0
      m=$(printf '%s\n' "$d" | grep -oE 'RLIMIT_[A-Z_]+ too small \([0-9]+\)|fs\.mqueue\.[^;]*|/dev/shm is [^:;]*|cannot create a private directory under [^(]*\([^)]*\)' | head -1)
      printf '%s\n' "${m:-$d}" | cut -c1-160; }
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

# Counts leftovers now (baseline-relative outside a private namespace).
count_leftovers() {
  if [ "$ISOLATE" = 1 ] || [ "${INNER_NS:-0}" = 1 ]; then leftovers; else new_leftovers "${BASELINE:-$WORK/baseline}"; fi
}
