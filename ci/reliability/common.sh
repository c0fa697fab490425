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

# Counts leftovers now (baseline-relative outside a private namespace).
count_leftovers() {
  if [ "$ISOLATE" = 1 ] || [ "${INNER_NS:-0}" = 1 ]; then leftovers; else new_leftovers "${BASELINE:-$WORK/baseline}"; fi
}
