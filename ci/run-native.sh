#!/usr/bin/env bash
# Runs every suite on this machine and keeps the run as one result set.
#
#   ci/run-native.sh [--out DIR] [--target TRIPLE] [--release] [-- CARGO_TEST_ARGS...]
#
# --out DIR        the result set (default target/ipc-sets/<TRIPLE or host>); emptied first
# --target TRIPLE  build for TRIPLE and run it here (x86_64-unknown-linux-musl on
#                  Linux, x86_64-pc-windows-gnu on Windows, or any target with a
#                  cargo runner configured: that is how the qemu and Wine scripts use it)
# --release        build the suites with optimisations
#
# Environment read by the harness and passed through: IPC_RUNTIME (native,
# qemu-user, wine, vm) and IPC_PLATFORM override what the run says it is, e.g.
# IPC_RUNTIME=vm in the FreeBSD VM. IPC_EXPECT_RUNTIME=R makes the script fail
# when the recorded run's runtime is not R. Works on Linux, macOS, FreeBSD and Windows
# (Git Bash). Exit status: cargo test's, or 1 when no result was recorded.
set -euo pipefail
CI_NAME=run-native
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="" target="" profile=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --target) target="$2"; shift 2 ;;
    --release) profile=(--release); shift ;;
    --) shift; break ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
out="$(abspath "${out:-$SETS_DIR/${target:-host}}")"
target_args=()
[ -n "$target" ] && target_args=(--target "$target")

fresh_dir "$out"
results_env="$out"
# Native Windows programs need a Windows path (Git Bash passes env values as is).
if command -v cygpath >/dev/null 2>&1; then
  results_env="$(cygpath -w "$out")"
fi

SECONDS=0
log "recording into $out (target ${target:-host}${IPC_RUNTIME:+, IPC_RUNTIME=$IPC_RUNTIME}${IPC_PLATFORM:+, IPC_PLATFORM=$IPC_PLATFORM})"
rc=0
# --no-fail-fast: a failing suite must not keep the others from being observed.
IPC_RESULTS_DIR="$results_env" cargo test --locked --no-fail-fast \
  ${target_args[@]+"${target_args[@]}"} ${profile[@]+"${profile[@]}"} "$@" || rc=$?
log "cargo test exited $rc after ${SECONDS}s"

if ! summarize_set "$out" "${IPC_EXPECT_RUNTIME:-${IPC_RUNTIME:-}}"; then
  [ "$rc" -ne 0 ] || rc=1
fi
exit "$rc"
