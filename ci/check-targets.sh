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
# Adds missing rustup targets (idempotent). A target for which the stable
# channel ships no standard library (i686-unknown-freebsd: `available = false`
# in the 1.95 channel manifest) is type-checked with the nightly toolchain
# building std from source (`cargo +nightly check -Zbuild-std`, installed with
# rust-src when missing): a type-check, not clippy, since nightly's lints run
# ahead of stable's. A target that can be checked neither way (offline, no
# rustup) is reported on a loud SKIPPED line and does not fail the script; a
# type or lint error does. Set CHECK_TARGETS_STRICT=1 to fail on SKIPPED too.
set -euo pipefail
CI_NAME=check-targets
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in -h | --help) usage; exit 0 ;; esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x86_64-apple-darwin aarch64-apple-darwin x86_64-unknown-freebsd
  x86_64-pc-windows-msvc x86_64-pc-windows-gnu aarch64-linux-android
  i686-unknown-linux-gnu armv7-unknown-linux-gnueabihf i686-unknown-freebsd)

# nightly_build_std: a nightly toolchain with rust-src, for targets whose
# standard library rustup does not ship (installed once).
nightly_build_std() {
  if rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^rust-src'; then
    return 0
  fi
  log "rustup toolchain install nightly --profile minimal -c rust-src"
  rustup toolchain install nightly --profile minimal -c rust-src >&2
}

cd "$ROOT"
failed=() skipped=() passed=()
for t in "${targets[@]}"; do
  if ! rustup_target "$t" 2>&1; then
    if ! nightly_build_std; then
      log "SKIPPED: $t: no standard library from rustup and no nightly toolchain with rust-src; its check did not run"
      skipped+=("$t")
      continue
    fi
    if step "check (nightly, std built from source) $t" \
      cargo +nightly check --locked --all-targets -Zbuild-std --target "$t"; then
      passed+=("$t (nightly build-std)")
    else
      failed+=("$t")
    fi
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
