#!/usr/bin/env bash
# The linux-i686-gnu column: builds the suites for i686-unknown-linux-gnu and
# runs them natively on this x86_64 Linux: 32-bit processes on the 64-bit
# kernel (its compat syscall layer), no emulator. The run's runtime is native,
# and its runtime detail says "32-bit x86 process on a 64-bit x86_64 kernel".
#
#   ci/run-i686.sh [--out DIR] [--release]     (default DIR: target/ipc-sets/linux-i686-gnu)
#
# Installs what it needs once (Debian/Ubuntu): gcc-i686-linux-gnu and
# libc6-dev-i386-cross to link, libc6-i386 (/lib/ld-linux.so.2, glibc in
# /usr/lib32) and lib32gcc-s1 to run the dynamically linked programs, and the
# rustup target. The run names its platform linux-i686-gnu itself
# (src/platform.rs). Exit status: the test run's.
set -euo pipefail
CI_NAME=run-i686
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out_release_args "$SETS_DIR/linux-i686-gnu" "$@"
require_x86_64_linux
step "Debian packages" apt_install gcc-i686-linux-gnu libc6-dev-i386-cross libc6-i386 lib32gcc-s1
export CARGO_TARGET_I686_UNKNOWN_LINUX_GNU_LINKER=i686-linux-gnu-gcc
# A 32-bit process on this kernel is native: the result set is rejected otherwise.
export IPC_EXPECT_RUNTIME=native
exec_native_target i686-unknown-linux-gnu
