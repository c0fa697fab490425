#!/usr/bin/env bash
# Shows that a slow first launch of the peer program costs no check a timeout.
#
#   ci/first-launch.sh [--delay MS] [--out DIR]
#
# macOS scans a freshly linked executable on its first launch, one at a time
# (rust-lang/cargo#15908); a check waits for its peer's `ready` line at most
# 2 s. The harness pays the first launch once per test process before any
# check starts a peer (src/peer/first_launch.rs). This script injects such a
# launch on any OS: IPCCONF_INJECT_FIRST_LAUNCH_DELAY_MS=MS (default 3000, above
# the 2 s bound) makes the first launch of the peer program, and every launch
# queued behind it, wait MS; each run gets a fresh marker directory
# (IPCCONF_INJECT_FIRST_LAUNCH_DIR), i.e. a freshly built program.
#
#   1. cargo test --test first_launch -- --ignored: one check, in a child
#      process, with and without the warm-up;
#   2. the whole suite with the injected delay and the warm-up: every test
#      green, 0 results `timeout`;
#   3. the whole suite with the injected delay and IPCCONF_PEER_WARM_UP=off:
#      some results `timeout` (their tests fail, by design): the injection bites.
#
# --out DIR   where the two result sets go (default target/first-launch):
#             DIR/warm and DIR/cold, each with the run's log
# Exit status 0 when all three hold. Prints a summary line per run.
set -euo pipefail
CI_NAME=first-launch
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

delay=3000 out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --delay) [ $# -ge 2 ] || die "--delay needs milliseconds"; delay="$2"; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ "$delay" -gt 2000 ] || die "--delay $delay: the point is a first launch above the 2 s step bound"
out="$(abspath "${out:-$TARGET_DIR/first-launch}")"
cd "$ROOT"

step "build" cargo test --locked --no-run -q
ipcconf_built_by "" debug

ok=1
if ! step "one check, with and without the warm-up" \
  cargo test --locked -q --test first_launch -- --ignored --nocapture; then
  ok=0
fi

# timeouts DIR: the claims a result set recorded `timeout`, one a line.
timeouts() {
  grep -l '"observed": *"timeout"' "$1"/results/*.json 2>/dev/null |
    sed 's|.*/||; s|\.json$||' || true
}

# suite NAME [VAR=VALUE...]: the whole suite with the injected first launch
# (and the extra environment), into $out/NAME; sets `rc`, `n_timeout`, `took`.
suite() {
  local name="$1" dir="$out/$1" t0=$SECONDS
  shift
  fresh_dir "$dir"
  mkdir "$dir/markers"
  rc=0
  env IPC_RESULTS_DIR="$dir" IPCCONF_INJECT_FIRST_LAUNCH_DELAY_MS="$delay" \
    IPCCONF_INJECT_FIRST_LAUNCH_DIR="$dir/markers" "$@" \
    cargo test --locked --no-fail-fast >"$dir/run.log" 2>&1 || rc=$?
  took=$((SECONDS - t0))
  timeouts "$dir" >"$dir/timeouts"
  n_timeout=$(wc -l <"$dir/timeouts" | tr -d ' ')
  summarize_set "$dir" >/dev/null 2>&1 || true
  log "$name: cargo test exited $rc after ${took}s; $(find "$dir/results" -name '*.json' | wc -l | tr -d ' ') results, $n_timeout timeout; scans injected: $(find "$dir/markers" -name '*.scan' | wc -l | tr -d ' ')"
}

suite warm IPCCONF_PEER_WARM_UP=on
warm_rc=$rc warm_timeouts=$n_timeout warm_took=$took
if [ "$warm_rc" -ne 0 ] || [ "$warm_timeouts" -ne 0 ]; then
  log "FAILED: with the warm-up, a ${delay} ms first launch still cost: exit $warm_rc, $warm_timeouts timeout: $(tr '\n' ' ' <"$out/warm/timeouts")"
  ok=0
fi

suite cold IPCCONF_PEER_WARM_UP=off
cold_timeouts=$n_timeout cold_took=$took
if [ "$cold_timeouts" -eq 0 ]; then
  log "FAILED: without the warm-up no check timed out: the injected ${delay} ms first launch did not bite"
  ok=0
fi

log "summary: first launch injected at ${delay} ms; with the warm-up: exit $warm_rc, $warm_timeouts timeout (${warm_took}s); without: $cold_timeouts timeout (${cold_took}s): $(tr '\n' ' ' <"$out/cold/timeouts")"
[ "$ok" = 1 ]
