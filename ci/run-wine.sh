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

out_release_args "$SETS_DIR/windows-x86_64-gnu-wine" "$@"
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

# The suites through the target's cargo runner (Wine), into a fresh result set
# (Z: is Wine's mapping of /, so the Linux path names the same directory
# there); run-native.sh ends with the summary (this host's ipcconf reads it:
# the Windows build's is a Windows program) and fails unless the run says it
# ran under Wine, which must never stand for Windows.
rc=0
IPC_EXPECT_RUNTIME=wine "$CI_DIR/run-native.sh" --out "$out" --target "$TARGET" \
  ${extra[@]+"${extra[@]}"} || rc=$?
log "run-native.sh exited $rc (total ${SECONDS}s)"

# Where Wine departs from Windows: the claims whose expectation comes from
# Wine's own file.
if [ -f "$out/run.json" ] && wine_departures="$(ipcconf summary "$out" --claims --format '{origin}\t{claim}\t{observed}' |
  awk -F '\t' '$1 == "platforms/windows-wine.toml" { print "  " $2 ": observed " $3 }')" &&
  [ -n "$wine_departures" ]; then
  log "where Wine departs from Windows (expectation from platforms/windows-wine.toml):"
  printf '%s\n' "$wine_departures" | while IFS= read -r line; do log "$line"; done
fi
exit "$rc"
