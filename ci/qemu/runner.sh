#!/usr/bin/env bash
# Cargo runner for aarch64-unknown-linux-gnu: runs an aarch64 ELF under qemu-user.
#
#   CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER=/path/to/ci/qemu/runner.sh
#
# -L points qemu at the cross sysroot from Debian's libc6-arm64-cross, where
# the aarch64 loader and libc live. QEMU_LD_PREFIX is exported too, so children
# that reach qemu through some other binfmt_misc entry (e.g. Debian's
# qemu-user-binfmt) find it as well.
#
# Child processes: qemu-user emulates one process; when it execs an aarch64
# ELF (Command::spawn of CARGO_BIN_EXE_x) the host kernel runs it only if
# binfmt_misc has an aarch64 entry. Without one the child exits 127 (glibc's
# posix_spawn cannot report the exec error through qemu, so spawn() itself
# succeeds). Two ways to get an entry:
#   - ci/setup-qemu.sh registers one machine-wide (needs root, once per boot);
#   - QEMU_RUNNER_USERNS=1: no root needed on Linux >= 6.7 with unprivileged
#     user namespaces: the runner re-runs itself in a new user+mount namespace,
#     mounts a private binfmt_misc there and registers itself as the aarch64
#     interpreter. Caveat: the program then runs as uid 0 of that namespace.
# Exit codes pass through; a guest killed by a signal kills qemu with the same
# signal, so the parent sees it like a native one.
#
# Env: QEMU (default qemu-aarch64), QEMU_LD_PREFIX (default /usr/aarch64-linux-gnu),
# QEMU_RUNNER_USERNS (=1 for the rootless namespace mode above).
set -euo pipefail
QEMU="${QEMU:-qemu-aarch64}"
export QEMU_LD_PREFIX="${QEMU_LD_PREFIX:-/usr/aarch64-linux-gnu}"
BINFMT_DIR=/proc/sys/fs/binfmt_misc
SELF="$(readlink -f "${BASH_SOURCE[0]}")"

log() { printf '[qemu-runner] %s\n' "$*" >&2; }

if ! command -v "$QEMU" >/dev/null; then
  log "$QEMU not found: run ci/setup-qemu.sh"
  exit 127
fi
if [[ $# -eq 0 ]]; then
  log "usage: $0 program [args...]"
  exit 2
fi

# Is some enabled binfmt_misc entry claiming aarch64 ELF (e_machine 0xb7)?
aarch64_binfmt() {
  local f
  [[ -e "$BINFMT_DIR/status" ]] || return 2 # not mounted here: cannot tell
  for f in "$BINFMT_DIR"/*; do
    case "${f##*/}" in register | status) continue ;; esac
    if grep -qx enabled "$f" 2>/dev/null && grep -q '^magic .*0200b700' "$f" 2>/dev/null; then
      return 0
    fi
  done
  return 1
}

if [[ "${QEMU_RUNNER_USERNS:-0}" == 1 && -z "${_QEMU_RUNNER_IN_USERNS:-}" ]]; then
  export _QEMU_RUNNER_IN_USERNS=1
  exec unshare --user --map-root-user --mount -- "$SELF" "$@"
fi
# (_QEMU_RUNNER_IN_USERNS stays exported so that children, which reach this
# script again as their binfmt interpreter, do not nest another namespace.)
if [[ -n "${_QEMU_RUNNER_IN_USERNS:-}" ]] && ! aarch64_binfmt; then
  mount -t binfmt_misc binfmt_misc "$BINFMT_DIR"
  # This script is the interpreter: the kernel runs `runner.sh /path/elf args`.
  printf ':ipcconf-aarch64:M::%s:%s:%s:F\n' \
    '\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00' \
    '\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff' \
    "$SELF" >"$BINFMT_DIR/register"
fi

rc=0
aarch64_binfmt || rc=$?
if [[ $rc -eq 1 ]]; then
  log "warning: no aarch64 binfmt_misc entry: child processes it spawns will exit 127 (run ci/setup-qemu.sh as root, or set QEMU_RUNNER_USERNS=1)"
fi
exec "$QEMU" -L "$QEMU_LD_PREFIX" "$@"
