#!/usr/bin/env bash
# The linux-aarch64-gnu (qemu-user) column: `ci/run-qemu.sh --target
# aarch64-unknown-linux-gnu`, kept under this name for the callers that use it.
#
#   ci/run-qemu-aarch64.sh [--out DIR] [--release]   (default DIR: target/ipc-sets/linux-aarch64-gnu-qemu-user)
set -euo pipefail
case "${1:-}" in
  -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
esac
exec "$(dirname "${BASH_SOURCE[0]}")/run-qemu.sh" --target aarch64-unknown-linux-gnu "$@"
