#!/usr/bin/env bash
# The linux-aarch64-gnu (qemu-user) column: builds the suites for
# aarch64-unknown-linux-gnu and runs them on this x86_64 Linux under qemu-user,
# the way `cross` does it in its containers. The run records runtime qemu-user,
# so it never stands for real aarch64 hardware.
#
#   ci/run-qemu-aarch64.sh [--out DIR] [--release]   (default DIR: target/ipc-sets/linux-aarch64-gnu-qemu-user)
#
# ci/setup-qemu.sh installs qemu-user and the cross linker/sysroot once, and
# registers binfmt_misc (as root) so that the peer programs the suites spawn run
# under qemu too. Without that registration (not root, no binfmt_misc) it sets
# QEMU_RUNNER_USERNS=1 when unprivileged user namespaces allow the runner to
# register one privately. Exit status: the test run's.
set -euo pipefail
CI_NAME=run-qemu-aarch64
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TARGET=aarch64-unknown-linux-gnu
out="$SETS_DIR/linux-aarch64-gnu-qemu-user" extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --release) extra+=(--release); shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ "$(uname -s)" = Linux ] || die "needs a Linux host"

env_file="$(mktemp)"
trap 'rm -f "$env_file"' EXIT
step "setup qemu-user" "$CI_DIR/setup-qemu.sh" >"$env_file"
# shellcheck disable=SC1090
. "$env_file"
if ! grep -qs '^magic .*0200b700' /proc/sys/fs/binfmt_misc/* 2>/dev/null; then
  log "no aarch64 binfmt_misc entry: trying the runner's private user-namespace registration"
  export QEMU_RUNNER_USERNS=1
fi
# One test at a time, as cross's images do (RUST_TEST_THREADS=1): emulated peers
# start several times slower, and parallel tests on a small machine would push
# them past the suites' bounded waits.
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-1}"
# The harness detects qemu-user itself (/proc/thread-self/exe); the result set
# is rejected if it does not say so.
export IPC_EXPECT_RUNTIME=qemu-user
exec "$CI_DIR/run-native.sh" --out "$out" --target "$TARGET" ${extra[@]+"${extra[@]}"}
