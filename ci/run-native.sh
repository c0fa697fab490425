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
# On a native run, every executable the build made is launched once before the
# suites (test binaries with --list, ipcconf-peer in its warm-up role, ipcconf
# --help), and the log says how long that took: macOS scans a freshly linked
# executable on its first launch, one at a time (rust-lang/cargo#15908), and a
# launch queued behind those scans must not fall inside a check's 2 s step
# bound. (The harness also pays the peer's first launch once per test process:
# src/peer/first_launch.rs.)
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

# first_launches ARGS...: builds the suites (cargo test --no-run ARGS) and
# launches each executable the build lists once, each bounded by its own exit:
# a test binary only lists its tests, ipcconf-peer answers `ready` and exits,
# ipcconf prints its usage. A failed launch is logged, not fatal: the suites
# then run and show it.
first_launches() {
  local exes exe n=0 slowest="" slowest_ms=0 t0 a b ms rc
  exes="$(cargo test --locked --no-run --message-format=json-render-diagnostics "$@" |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | sort -u)" || true
  t0=$SECONDS
  while IFS= read -r exe; do
    [ -n "$exe" ] || continue
    # JSON escapes backslashes (Windows paths; Git Bash takes them in its own form).
    exe="$(printf '%s\n' "$exe" | sed 's/\\\\/\\/g')"
    if command -v cygpath >/dev/null 2>&1; then
      exe="$(cygpath -u "$exe")"
    fi
    a="${EPOCHREALTIME:-}"
    rc=0
    case "$(basename "$exe")" in
      ipcconf-peer | ipcconf-peer.exe) "$exe" warm-up >/dev/null 2>&1 || rc=$? ;;
      ipcconf | ipcconf.exe) "$exe" --help >/dev/null 2>&1 || rc=$? ;;
      *) "$exe" --list >/dev/null 2>&1 || rc=$? ;;
    esac
    [ "$rc" -eq 0 ] || log "first launch of $exe: exit $rc"
    b="${EPOCHREALTIME:-}"
    if [ -n "$a" ] && [ -n "$b" ]; then
      ms=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%d", (b - a) * 1000 }')
      if [ "$ms" -gt "$slowest_ms" ]; then
        slowest_ms=$ms
        slowest="$(basename "$exe")"
      fi
    fi
    n=$((n + 1))
  done <<EOF
$exes
EOF
  log "first launches: $n executables in $((SECONDS - t0))s${slowest:+ (slowest: $slowest, $slowest_ms ms)}"
}

# The cargo arguments among CARGO_TEST_ARGS (those before a `--`), for the build.
build_args=()
for a in "$@"; do
  [ "$a" = "--" ] && break
  build_args+=("$a")
done
host="$(rustc -vV | sed -n 's/^host: //p')"

SECONDS=0
if [ -z "$target" ] || [ "$target" = "$host" ]; then
  first_launches ${target_args[@]+"${target_args[@]}"} ${profile[@]+"${profile[@]}"} \
    ${build_args[@]+"${build_args[@]}"}
else
  log "no first launches: $target runs through its cargo runner"
fi
log "recording into $out (target ${target:-host}${IPC_RUNTIME:+, IPC_RUNTIME=$IPC_RUNTIME}${IPC_PLATFORM:+, IPC_PLATFORM=$IPC_PLATFORM})"
rc=0
# --no-fail-fast: a failing suite must not keep the others from being observed.
IPC_RESULTS_DIR="$results_env" cargo test --locked --no-fail-fast \
  ${target_args[@]+"${target_args[@]}"} ${profile[@]+"${profile[@]}"} "$@" || rc=$?
log "cargo test exited $rc after ${SECONDS}s"

# The ipcconf this build made reads the result set, where it runs here.
if [ ${#profile[@]} -gt 0 ]; then ipcconf_built_by "$target" release; else ipcconf_built_by "$target" debug; fi
if ! summarize_set "$out" "${IPC_EXPECT_RUNTIME:-${IPC_RUNTIME:-}}"; then
  [ "$rc" -ne 0 ] || rc=1
fi
exit "$rc"
