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

TARGET=x86_64-unknown-linux-musl
out="$SETS_DIR/linux-x86_64-musl" extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --release) extra+=(--release); shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || die "needs an x86_64 Linux host"

step "rustup target $TARGET" rustup_target "$TARGET"
exec "$CI_DIR/run-native.sh" --out "$out" --target "$TARGET" ${extra[@]+"${extra[@]}"}
