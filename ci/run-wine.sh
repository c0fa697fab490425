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
CI_NAME=run-wine
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TARGET=x86_64-pc-windows-gnu

out="$SETS_DIR/windows-x86_64-gnu-wine" profile=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --release) profile=(--release); shift ;;
    --) shift; break ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ "$(uname -s)" = Linux ] || die "needs a Linux host (Wine runs the Windows build here)"
out="$(abspath "$out")"

cd "$ROOT"
SECONDS=0
# Install what is missing, build the shim, create the prefix; take the env it prints.
env_file="$(mktemp)"
trap 'rm -f "$env_file"' EXIT
"$ROOT/ci/setup-wine.sh" >"$env_file"
# shellcheck disable=SC1090
. "$env_file"
log "setup done in ${SECONDS}s; Wine: $(/usr/lib/wine/wine64 --version 2>/dev/null || echo unknown)"

fresh_dir "$out"
log "recording into $out (target $TARGET, runtime detected by the harness)"
t0=$SECONDS
rc=0
# --no-fail-fast: a failing suite must not keep the others from being observed.
# Z: is Wine's mapping of /, so the Linux path names the same directory there.
IPC_RESULTS_DIR="$out" cargo test --locked --no-fail-fast --target "$TARGET" \
  ${profile[@]+"${profile[@]}"} "$@" || rc=$?
log "cargo test exited $rc after $((SECONDS - t0))s (total ${SECONDS}s)"

# --- summary ------------------------------------------------------------------
# Read by this host's ipcconf (`ipcconf summary`; the Windows build's is a
# Windows program): fails when no result was recorded or the run does not say
# it ran under Wine, which must never stand for Windows.
summarize_set "$out" wine || exit 1
if wine_departures="$(ipcconf summary "$out" --claims --format '{origin}\t{claim}\t{observed}' |
  awk -F '\t' '$1 == "platforms/windows-wine.toml" { print "  " $2 ": observed " $3 }')" &&
  [ -n "$wine_departures" ]; then
  log "where Wine departs from Windows (expectation from platforms/windows-wine.toml):"
  printf '%s\n' "$wine_departures" | while IFS= read -r line; do log "$line"; done
fi
exit "$rc"
