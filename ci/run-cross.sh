#!/usr/bin/env bash
# Runs the suites for another Linux target with `cross` (Docker images with the
# target's toolchain and qemu-user), or only builds them where cross cannot run
# the target. Needs Docker (or Podman) and cross; GitHub Actions has both.
#
#   ci/run-cross.sh --target TRIPLE [--platform ID] [--out DIR]   # test: a result set
#   ci/run-cross.sh --target TRIPLE --build-only                  # link every test binary
#
# --platform ID  the run's platform id (IPC_PLATFORM), for targets whose detected
#                id would hide what they are (powerpc64le reports arch "powerpc64")
# --out DIR      the result set (default target/ipc-sets/<TRIPLE>)
#
# Peer programs the suites spawn are target binaries too: the host needs
# binfmt_misc entries for the target's CPU with the F flag (on GitHub:
# docker/setup-qemu-action) so that they run under qemu inside the container.
# Dynamically linked glibc peers would still miss their loader there (the suites
# clear a peer's environment, QEMU_LD_PREFIX included), so *-linux-gnu targets
# are linked statically (+crt-static); musl is static already; Android's loader
# lives at /system/bin in cross's image, where the kernel finds it.
set -euo pipefail
CI_NAME=run-cross
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

target="" platform="" out="" build_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target="$2"; shift 2 ;;
    --platform) platform="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --build-only) build_only=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ -n "$target" ] || die "--target is required"
command -v cross >/dev/null 2>&1 || die "cross is not installed (cargo install cross --locked --git https://github.com/cross-rs/cross)"
cd "$ROOT"

case "$target" in
  *-linux-gnu*) export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" ;;
esac
# Cross.toml passes these through into the container.
export IPCCONF_REVISION="${IPCCONF_REVISION:-$(git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)}"
[ -n "$platform" ] && export IPC_PLATFORM="$platform"

if [ "$build_only" -eq 1 ]; then
  step "cross build $target" cross build --locked --all-targets --target "$target"
  log "built (not run: cross has no runner for $target)"
  exit 0
fi

out="$(abspath "${out:-$SETS_DIR/$target}")"
# Inside the container the target directory is mounted elsewhere, so the suites
# record into their default, <target dir>/ipc-results, which is this one.
results="$TARGET_DIR/ipc-results"
fresh_dir "$results"
rc=0
step "cross test $target" cross test --locked --no-fail-fast --target "$target" || rc=$?
fresh_dir "$out"
if [ -f "$results/run.json" ]; then
  cp -R "$results/." "$out/"
fi
# cross's build of ipcconf reads the result set where binfmt_misc runs it here.
ipcconf_built_by "$target" debug
summarize_set "$out" || { [ "$rc" -ne 0 ] || rc=1; }
exit "$rc"
