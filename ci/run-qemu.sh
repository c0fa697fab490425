#!/usr/bin/env bash
# A linux-<cpu>-gnu (qemu-user) column: builds the suites for a Linux target of
# another CPU and runs them on this x86_64 Linux under qemu-user, the way
# `cross` does it in its containers. The run records runtime qemu-user, so it
# never stands for real hardware of that CPU.
#
#   ci/run-qemu.sh --target TRIPLE [--out DIR] [--release]
#
# TRIPLE: aarch64-unknown-linux-gnu, or s390x-unknown-linux-gnu (the big-endian
# column); the table is ci/qemu/arch.sh. Default DIR:
# target/ipc-sets/linux-<cpu>-gnu-qemu-user.
#
# ci/setup-qemu.sh installs qemu-user and the cross linker/sysroot once, and
# registers binfmt_misc (as root) so that the peer programs the suites spawn run
# under qemu too. Without that registration (not root, no binfmt_misc) it sets
# QEMU_RUNNER_USERNS=1 when unprivileged user namespaces allow the runner to
# register one privately. Exit status: the test run's.
set -euo pipefail
CI_NAME=run-qemu
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$CI_DIR/qemu/arch.sh"

target="" out="" extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --target) [ $# -ge 2 ] || die "--target needs a triple"; target="$2"; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out="$2"; shift 2 ;;
    --release) extra+=(--release); shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ -n "$target" ] || die "--target TRIPLE is required (one of: $QEMU_TRIPLES)"
qemu_arch "$target" || die "unknown target '$target' (one of: $QEMU_TRIPLES)"
[ "$(uname -s)" = Linux ] || die "needs a Linux host"
CI_NAME="run-qemu-$QARCH"
out="${out:-$SETS_DIR/linux-$QARCH-gnu-qemu-user}"

env_file="$(mktemp)"
trap 'rm -f "$env_file"' EXIT
step "setup qemu-user ($target)" "$CI_DIR/setup-qemu.sh" --target "$target" >"$env_file"
# shellcheck disable=SC1090
. "$env_file"
if ! grep -qs "^magic $MAGIC_HEX" /proc/sys/fs/binfmt_misc/* 2>/dev/null; then
  log "no $QARCH binfmt_misc entry: trying the runner's private user-namespace registration"
  export QEMU_RUNNER_USERNS=1
fi
# One test at a time, as cross's images do (RUST_TEST_THREADS=1): emulated peers
# start several times slower, and parallel tests on a small machine would push
# them past the suites' bounded waits.
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-1}"
# The harness detects qemu-user itself (/proc/thread-self/exe); the result set
# is rejected if it does not say so.
export IPC_EXPECT_RUNTIME=qemu-user
exec "$CI_DIR/run-native.sh" --out "$out" --target "$target" ${extra[@]+"${extra[@]}"}
