#!/usr/bin/env bash
# Type-checks and lints every target the suites must compile on but this machine
# cannot run natively: `cargo clippy --all-targets --target T -- -D warnings`
# (clippy runs cargo check's full type-check plus the lints) for
#   x86_64-apple-darwin aarch64-apple-darwin x86_64-unknown-freebsd
#   x86_64-pc-windows-msvc x86_64-pc-windows-gnu aarch64-linux-android
# and the 32-bit targets, where C long (and on Linux off_t and rlim_t) is 32 bits:
#   i686-unknown-linux-gnu armv7-unknown-linux-gnueabihf i686-unknown-freebsd
# No linker or SDK is needed: nothing is linked.
#
#   ci/check-targets.sh [TARGET...]
#
# Adds missing rustup targets (idempotent). A target that cannot be added
# (offline, no rustup) is reported on a loud SKIPPED line and does not fail the
# script; a type or lint error does. Set CHECK_TARGETS_STRICT=1 to fail on SKIPPED too.
set -euo pipefail
CI_NAME=check-targets
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in -h | --help) usage; exit 0 ;; esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x86_64-apple-darwin aarch64-apple-darwin x86_64-unknown-freebsd
  x86_64-pc-windows-msvc x86_64-pc-windows-gnu aarch64-linux-android
  i686-unknown-linux-gnu armv7-unknown-linux-gnueabihf i686-unknown-freebsd)

cd "$ROOT"
failed=() skipped=() passed=()
for t in "${targets[@]}"; do
  if ! rustup_target "$t" 2>&1; then
    log "SKIPPED: $t: rustup target add failed; its check did not run"
    skipped+=("$t")
    continue
  fi
  if step "check+clippy $t" cargo clippy --locked --all-targets --target "$t" -- -D warnings; then
    passed+=("$t")
  else
    failed+=("$t")
  fi
done

log "passed: ${passed[*]:-none}"
[ ${#skipped[@]} -eq 0 ] || log "SKIPPED (not checked): ${skipped[*]}"
if [ ${#failed[@]} -gt 0 ]; then
  log "FAILED: ${failed[*]}"
  exit 1
fi
if [ ${#skipped[@]} -gt 0 ] && [ "${CHECK_TARGETS_STRICT:-0}" = 1 ]; then
  exit 1
fi
