#!/usr/bin/env bash
# Cargo runner for the Linux targets of ci/qemu/arch.sh (aarch64, s390x): runs a
# foreign ELF under qemu-user, picking qemu-<cpu> from the program's ELF header.
#
#   CARGO_TARGET_<TRIPLE>_RUNNER=/path/to/ci/qemu/runner.sh
#
# -L points qemu at the cross sysroot from Debian's libc6-<cpu>-cross, where
# the target's loader and libc live. QEMU_LD_PREFIX is exported too, so children
# that reach qemu through some other binfmt_misc entry (e.g. Debian's
# qemu-user-binfmt) find it as well.
#
# Child processes: qemu-user emulates one process; when it execs a foreign
# ELF (Command::spawn of CARGO_BIN_EXE_x) the host kernel runs it only if
# binfmt_misc has an entry for that CPU. Without one the child exits 127 (glibc's
# posix_spawn cannot report the exec error through qemu, so spawn() itself
# succeeds). Two ways to get an entry:
#   - ci/setup-qemu.sh registers one machine-wide (needs root, once per boot);
#   - QEMU_RUNNER_USERNS=1: no root needed on Linux >= 6.7 with unprivileged
#     user namespaces: the runner re-runs itself in a new user+mount namespace,
#     mounts a private binfmt_misc there and registers itself as the
#     interpreter. Caveat: the program then runs as uid 0 of that namespace.
# Exit codes pass through; a guest killed by a signal kills qemu with the same
# signal, so the parent sees it like a native one.
#
# Env: QEMU (default qemu-<cpu>), QEMU_LD_PREFIX (default /usr/<cpu>-linux-gnu),
# QEMU_RUNNER_USERNS (=1 for the rootless namespace mode above).
set -euo pipefail
BINFMT_DIR=/proc/sys/fs/binfmt_misc
SELF="$(readlink -f "${BASH_SOURCE[0]}")"
# shellcheck source=ci/qemu/arch.sh
. "$(dirname "$SELF")/arch.sh"

log() { printf '[qemu-runner] %s\n' "$*" >&2; }

if [[ $# -eq 0 ]]; then
  log "usage: $0 program [args...]"
  exit 2
fi
cpu="$(elf_qarch "$1")"
triple=""
for t in $QEMU_TRIPLES; do
  qemu_arch "$t"
  if [[ "$QARCH" == "$cpu" ]]; then
    triple="$t"
    break
  fi
done
if [[ -z "$triple" ]]; then
  log "$1: not an ELF executable of a CPU this runner knows ($QEMU_TRIPLES)"
  exit 126
fi
QEMU="${QEMU:-qemu-$QARCH}"
# A QEMU_LD_PREFIX left by another CPU's run does not hold this CPU's loader.
case "${QEMU_LD_PREFIX:-}" in
  */"$QARCH"-linux-*) ;;
  *) QEMU_LD_PREFIX="$SYSROOT" ;;
esac
export QEMU_LD_PREFIX

if ! command -v "$QEMU" >/dev/null; then
  log "$QEMU not found: run ci/setup-qemu.sh --target $triple"
  exit 127
fi

# Is some enabled binfmt_misc entry claiming this CPU's ELF executables?
cpu_binfmt() {
  local f
  [[ -e "$BINFMT_DIR/status" ]] || return 2 # not mounted here: cannot tell
  for f in "$BINFMT_DIR"/*; do
    case "${f##*/}" in register | status) continue ;; esac
    if grep -qx enabled "$f" 2>/dev/null && grep -q "^magic $MAGIC_HEX" "$f" 2>/dev/null; then
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
if [[ -n "${_QEMU_RUNNER_IN_USERNS:-}" ]] && ! cpu_binfmt; then
  mount -t binfmt_misc binfmt_misc "$BINFMT_DIR"
  # This script is the interpreter: the kernel runs `runner.sh /path/elf args`.
  printf ':ipcconf-%s:M::%s:%s:%s:F\n' "$QARCH" "$MAGIC" "$MASK" "$SELF" >"$BINFMT_DIR/register"
fi

rc=0
cpu_binfmt || rc=$?
if [[ $rc -eq 1 ]]; then
  log "warning: no $QARCH binfmt_misc entry: child processes it spawns will exit 127 (run ci/setup-qemu.sh --target $triple as root, or set QEMU_RUNNER_USERNS=1)"
fi
exec "$QEMU" -L "$QEMU_LD_PREFIX" "$@"
