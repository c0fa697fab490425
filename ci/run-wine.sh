#!/usr/bin/env bash
# The Wine column: builds every suite for x86_64-pc-windows-gnu and runs it on
# this Linux machine under Wine (Debian's wine64, the mingw-w64 linker, a cargo
# runner and the small bcryptprimitives.dll shim; ci/setup-wine.sh installs and
# builds all of that). The harness detects Wine itself (ntdll's wine_get_version)
# and records the run with runtime "wine", so the report shows it as its own
# column, "windows-x86_64-gnu (wine)", never as Windows. Expectations resolve
# through platforms/windows-wine.toml (Wine's own departures, each with a Wine
# source) before platforms/windows.toml (Windows, from Microsoft's documents).
#
#   ci/run-wine.sh [--out DIR] [--release] [-- CARGO_TEST_ARGS...]
#
# --out DIR   the result set (default target/ipc-sets/windows-x86_64-gnu-wine);
#             emptied first, so it holds exactly this run
# --release   build the suites with optimisations
#
# Merge with other runs: cargo ipc-report -- --results DIR [DIR...]
# Exit status: cargo test's (0 when every check met its expectation), or 1 when
# no result was recorded or the run does not say it ran under Wine. The last
# lines summarise the run and list every claim whose expectation came from
# Wine's own file: where Wine differs from Windows.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
TARGET=x86_64-pc-windows-gnu

log() { printf '[run-wine] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

out="$TARGET_DIR/ipc-sets/windows-x86_64-gnu-wine" profile=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --release) profile=(--release); shift ;;
    --) shift; break ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ "$(uname -s)" = Linux ] || die "needs a Linux host (Wine runs the Windows build here)"
case "$out" in /*) ;; *) out="$(pwd)/$out" ;; esac
case "$out" in "" | / | "$ROOT" | "$HOME") die "refusing to use '$out' as the result set" ;; esac

cd "$ROOT"
SECONDS=0
# Install what is missing, build the shim, create the prefix; take the env it prints.
env_file="$(mktemp)"
trap 'rm -f "$env_file"' EXIT
"$ROOT/ci/setup-wine.sh" >"$env_file"
# shellcheck disable=SC1090
. "$env_file"
log "setup done in ${SECONDS}s; Wine: $(/usr/lib/wine/wine64 --version 2>/dev/null || echo unknown)"

rm -rf "$out"
mkdir -p "$out"
log "recording into $out (target $TARGET, runtime detected by the harness)"
t0=$SECONDS
rc=0
# --no-fail-fast: a failing suite must not keep the others from being observed.
# Z: is Wine's mapping of /, so the Linux path names the same directory there.
IPC_RESULTS_DIR="$out" cargo test --locked --no-fail-fast --target "$TARGET" \
  ${profile[@]+"${profile[@]}"} "$@" || rc=$?
log "cargo test exited $rc after $((SECONDS - t0))s (total ${SECONDS}s)"

# --- summary ------------------------------------------------------------------
if [ ! -f "$out/run.json" ]; then
  log "NO RESULTS: $out/run.json is missing (the suites did not run)"
  exit 1
fi
field() { sed -n "s/^ *\"$1\": *\"\\(.*\\)\",\\{0,1\\} *\$/\\1/p" "$out/run.json" | head -n 1; }
runtime="$(field runtime)"
n=$(find "$out/results" -name '*.json' -type f 2>/dev/null | wc -l | tr -d ' ')
count() { grep -l "\"status\": *\"$1\"" "$out"/results/*.json 2>/dev/null | wc -l | tr -d ' '; }
log "result set $out: platform $(field platform), runtime $runtime ($(field runtime_detail)), $(field os_version): $n results ($(count pass) pass, $(count fail) fail, $(count skipped) skipped)"
wine_departures=$(grep -l '"origin": *"platforms/windows-wine.toml"' "$out"/results/*.json 2>/dev/null || true)
if [ -n "$wine_departures" ]; then
  log "where Wine departs from Windows (expectation from platforms/windows-wine.toml):"
  for f in $wine_departures; do
    log "  $(basename "$f" .json): observed $(sed -n 's/^ *"observed": *"\(.*\)",*$/\1/p' "$f" | head -n 1)"
  done
fi
if [ "$runtime" != wine ]; then
  log "WRONG RUNTIME: the run was recorded as '$runtime', not 'wine'; it must not stand for Windows"
  exit 1
fi
if [ "$n" -eq 0 ]; then
  log "NO RESULTS: $out has a run but no observation"
  exit 1
fi
exit "$rc"
