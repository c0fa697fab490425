#!/usr/bin/env bash
# Fuzzes every reader of input that comes from elsewhere (fuzz/: result sets,
# single result files, run.json and report.json, claims and platform files,
# every peer-protocol line), each target for a bounded time, with libFuzzer
# through cargo-fuzz. Fails on a crash, a panic, an input slower than 10 s, an
# allocation over 512 MiB or a process over 2 GiB; the input is saved under
# target/fuzz/artifacts/<target>/ and its path printed (replay: run the
# target's binary, printed too, with that file as its argument).
#
#   ci/fuzz.sh [--seconds N] [TARGET...]
#
# N: seconds per target (default 55). TARGETs: default all of fuzz/Cargo.toml's.
# Installs cargo-fuzz (pinned) under target/cargo-fuzz/ when missing. The
# corpus grows in target/fuzz/corpus/<target>/ (kept between runs), seeded by
# the committed fuzz/seeds/<target>/ (real files; regress-* are inputs that
# crashed a reader once). cargo-fuzz builds with nightly's -Z flags (the
# address sanitizer): the toolchain FUZZ_TOOLCHAIN (default nightly) is
# installed with rustup when missing, and used as it is when present. Linux
# only.
set -euo pipefail
CI_NAME=fuzz
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CARGO_FUZZ_VERSION=0.13.2
seconds=55 targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) [ $# -ge 2 ] || die "--seconds needs a number"; seconds="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown argument $1 (see --help)" ;;
    *) targets+=("$1"); shift ;;
  esac
done
case "$seconds" in '' | *[!0-9]*) die "--seconds takes a whole number, not '$seconds'" ;; esac
[ "$(uname -s)" = Linux ] || die "fuzzing runs on Linux (libFuzzer, the address sanitizer)"
if [ ${#targets[@]} -eq 0 ]; then
  while IFS= read -r t; do targets+=("$t"); done < <(sed -n 's/^name = "\([a-z_]*\)"$/\1/p' "$ROOT/fuzz/Cargo.toml" | grep -vx 'ipc-conformance-fuzz')
fi

# cargo-fuzz, from crates.io, under target/ (its build directory removed after).
fuzz_root="$TARGET_DIR/cargo-fuzz"
if [ "$("$fuzz_root/bin/cargo-fuzz" --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
  step "cargo install cargo-fuzz $CARGO_FUZZ_VERSION" env CARGO_TARGET_DIR="$fuzz_root/build" \
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$fuzz_root" >&2
  rm -rf "$fuzz_root/build"
fi
export PATH="$fuzz_root/bin:$PATH"

# The nightly toolchain cargo-fuzz's flags need, installed once (an installed
# one is not updated: the build stays the same between runs).
toolchain="${FUZZ_TOOLCHAIN:-nightly}"
if ! rustup run "$toolchain" rustc -V >/dev/null 2>&1; then
  step "rustup toolchain install $toolchain" rustup toolchain install "$toolchain" --profile minimal >&2
fi
log "toolchain: $(rustup run "$toolchain" rustc -V)"

work="$TARGET_DIR/fuzz"
export CARGO_TARGET_DIR="$work/build"
# Debug assertions on (overflow checks too), the address sanitizer, release.
(cd "$ROOT/fuzz" && step "cargo fuzz build" cargo "+$toolchain" fuzz build -a --release >&2)
bin_dir="$CARGO_TARGET_DIR/$(rustup run "$toolchain" rustc -vV | sed -n 's/^host: //p')/release"

failed=() summary=()
for t in "${targets[@]}"; do
  [ -x "$bin_dir/$t" ] || die "no fuzz target $t (fuzz/Cargo.toml lists them)"
  corpus="$work/corpus/$t" artifacts="$work/artifacts/$t" out="$work/logs/$t.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$out")"
  rc=0
  step "fuzz $t for ${seconds}s" "$bin_dir/$t" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpus" "$ROOT/fuzz/seeds/$t" >"$out" 2>&1 || rc=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -n 1)"
  secs="$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$out" | tail -n 1)"
  if [ "$rc" -eq 0 ]; then
    summary+=("$t: ${runs:-?} executions in ${secs:-?} s, corpus $(find "$corpus" -type f | wc -l | tr -d ' ') inputs: no finding")
  else
    failed+=("$t")
    saved="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$out" | tail -n 1)"
    summary+=("$t: FINDING after ${runs:-?} executions (exit $rc): input saved as ${saved:-?}")
    log "$t: the fuzzer's last lines ($out):"
    grep -E -A12 "panicked|ERROR: libFuzzer|ERROR: AddressSanitizer|==ERROR" "$out" | head -n 40 >&2 || tail -n 40 "$out" >&2
    [ -z "$saved" ] || log "replay: $bin_dir/$t $saved"
  fi
done

for line in "${summary[@]}"; do log "$line"; done
if [ ${#failed[@]} -gt 0 ]; then
  log "FAILED: ${failed[*]}"
  exit 1
fi
log "every target ran ${seconds}s without a finding"
