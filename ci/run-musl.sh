#!/usr/bin/env bash
# The linux-x86_64-musl column: builds the suites for x86_64-unknown-linux-musl
# (statically linked, Rust's bundled musl) and runs them natively on this x86_64 Linux.
#
#   ci/run-musl.sh [--out DIR] [--release]      (default DIR: target/ipc-sets/linux-x86_64-musl)
#
# Installs what it needs once: the rustup target (the suites have no C code, so
# musl-gcc is not needed). Exit status: the test run's.
set -euo pipefail
CI_NAME=run-musl
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out_release_args "$SETS_DIR/linux-x86_64-musl" "$@"
exec_native_target x86_64-unknown-linux-musl
