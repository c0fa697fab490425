#!/usr/bin/env bash
# Every platform this Linux x86_64 machine can run, merged into one report:
#
#   linux-x86_64-gnu               native (release)        ci/run-native.sh --release
#   linux-x86_64-musl              native (static musl)    ci/run-musl.sh
#   linux-aarch64-gnu (qemu-user)  emulated CPU            ci/run-qemu.sh --target aarch64-unknown-linux-gnu
#   linux-i686-gnu                 native: a 32-bit process on the 64-bit kernel   ci/run-i686.sh
#   linux-s390x-gnu (qemu-user)    emulated big-endian CPU ci/run-qemu.sh --target s390x-unknown-linux-gnu
#   windows-x86_64-gnu (wine)      Wine, not Windows       ci/run-wine.sh
#   linux-x86_64-musl (vm)         Linux VMs (TCG), one run per kernel: Debian's
#                                  5.10, 6.1, 6.12 and 7.x  ci/run-vm.sh --debian-kernel S
#
# then ci/merge.sh (`cargo ipc-report --results ... --expect-platform ...`) into
# the report directory, a check that every column holds observations (`ipcconf
# summary`), and the headless Chromium check of index.html (ci/check-report-page.sh).
#
#   ci/run-local-platforms.sh [--out DIR] [--only NAME]... [--allow-test-failures] [--no-page-check]
#
# --out DIR               report directory (default target/ipc-report)
# --only NAME             run only these columns: native, musl, qemu-aarch64, i686,
#                         qemu-s390x, wine, vm (every kernel), vm-5.10, vm-6.1,
#                         vm-6.12, vm-7
# --allow-test-failures   a column whose checks missed expectations still counts,
#                         as long as it recorded observations (they are in the report)
# --no-page-check         skip the Chromium check
#
# Result sets go to target/ipc-sets/<column>/ (each emptied first); only the
# sets produced by this invocation are merged. Installs what each column needs
# (ci/setup-qemu.sh, ci/setup-wine.sh; idempotent). Prints each step's duration.
# Exit status 0 only when every column ran with observations (and, without
# --allow-test-failures, met its expectations), the merge succeeded and the page
# passed.
set -euo pipefail
CI_NAME=local-platforms
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="$TARGET_DIR/ipc-report" only=() allow_fail=0 page_check=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --only) only+=("$2"); shift 2 ;;
    --allow-test-failures) allow_fail=1; shift ;;
    --no-page-check) page_check=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
out="$(abspath "$out")"
[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || die "the local columns need an x86_64 Linux host"
cd "$ROOT"

wanted() {
  [ ${#only[@]} -eq 0 ] && return 0
  local o
  for o in "${only[@]}"; do
    [ "$o" = "$1" ] && return 0
    # --only vm: every kernel's vm column.
    case "$1" in vm-*) [ "$o" = vm ] && return 0 ;; esac
  done
  return 1
}

TOTAL_START=$SECONDS
timings=() sets=() expected=() problems=()

# column NAME EXPECT_ID SET_DIR CMD...: runs one column, records its duration and outcome.
column() {
  local name="$1" expect="$2" dir="$3" t0=$SECONDS rc=0
  shift 3
  case " ${expected[*]} " in *" $expect "*) ;; *) expected+=(--expect "$expect") ;; esac
  if ! wanted "$name"; then
    return 0
  fi
  log "=== column $expect"
  "$@" || rc=$?
  timings+=("$(printf '%-14s %-32s %4ss  exit %s' "$name" "$expect" $((SECONDS - t0)) "$rc")")
  if [ -f "$dir/run.json" ] && [ -d "$dir/results" ] && [ -n "$(ls "$dir/results")" ]; then
    sets+=("$dir")
    if [ "$rc" -ne 0 ] && [ "$allow_fail" -eq 0 ]; then
      problems+=("$expect: checks missed their expectations (exit $rc; see above)")
    fi
  else
    problems+=("$expect: no observations recorded (exit $rc)")
  fi
}

# The native column is a release run, as `cargo ipc-report` makes it, so the
# report carries real performance figures (a debug run only smoke-tests them).
column native "linux-x86_64-gnu (native)" "$SETS_DIR/linux-x86_64-gnu" \
  "$CI_DIR/run-native.sh" --release --out "$SETS_DIR/linux-x86_64-gnu"
column musl "linux-x86_64-musl (native)" "$SETS_DIR/linux-x86_64-musl" \
  "$CI_DIR/run-musl.sh" --out "$SETS_DIR/linux-x86_64-musl"
column qemu-aarch64 "linux-aarch64-gnu (qemu-user)" "$SETS_DIR/linux-aarch64-gnu-qemu-user" \
  "$CI_DIR/run-qemu.sh" --target aarch64-unknown-linux-gnu --out "$SETS_DIR/linux-aarch64-gnu-qemu-user"

# 32-bit x86: runs natively on this kernel (runtime native; its runtime detail
# says 32-bit process on a 64-bit kernel).
column i686 "linux-i686-gnu (native)" "$SETS_DIR/linux-i686-gnu" \
  "$CI_DIR/run-i686.sh" --out "$SETS_DIR/linux-i686-gnu"

# Big-endian: s390x under qemu-user.
column qemu-s390x "linux-s390x-gnu (qemu-user)" "$SETS_DIR/linux-s390x-gnu-qemu-user" \
  "$CI_DIR/run-qemu.sh" --target s390x-unknown-linux-gnu --out "$SETS_DIR/linux-s390x-gnu-qemu-user"

# The vm column: Debian's cloud kernels in qemu-system-x86_64 (TCG), the suites
# built static for musl in its initramfs (ci/run-vm.sh). Each kernel is its own
# result set of the one platform and runtime, so the report shows them as
# versions of the column "linux-x86_64-musl (vm)" (Linux 5.10, 6.1, ...) and its
# Since section compares them with each other and with this machine's kernel.
for series in 5.10 6.1 6.12 7; do
  column "vm-$series" "linux-x86_64-musl (vm)" "$SETS_DIR/linux-x86_64-musl-vm-$series" \
    "$CI_DIR/run-vm.sh" --debian-kernel "$series" --out "$SETS_DIR/linux-x86_64-musl-vm-$series"
done

# Wine: ci/run-wine.sh empties its result set and fails unless the run says
# it ran under Wine.
column wine "windows-x86_64-gnu (wine)" "$SETS_DIR/windows-x86_64-gnu-wine" \
  "$CI_DIR/run-wine.sh" --out "$SETS_DIR/windows-x86_64-gnu-wine"

if [ ${#sets[@]} -eq 0 ]; then
  log "no column recorded anything: nothing to merge"
  exit 1
fi

t0=$SECONDS
rc=0
"$CI_DIR/merge.sh" --out "$out" "${expected[@]}" "${sets[@]}" || rc=$?
timings+=("$(printf '%-14s %-32s %4ss  exit %s' "" "merge (ci/merge.sh)" $((SECONDS - t0)) "$rc")")
[ "$rc" -eq 0 ] || problems+=("merge: ci/merge.sh exited $rc")

# Every column that ran must be in report.json with observations: read with
# `ipcconf summary` (merge.sh built it, in release).
if [ -f "$out/report.json" ]; then
  ipcconf_built_by "" release
  ipcconf_find || problems+=("no ipcconf to read report.json")
  printf '%-34s %7s %5s %5s %5s  %s\n' column results pass fail skip "runtime; libc; kernel"
  summary="$(ipcconf summary "$out/report.json" --format \
    '{column}\t{results}\t{status.pass}\t{status.fail}\t{status.skipped}\t{run.runtime} {run.runtime_detail}; {run.libc}; {run.kernel}')" ||
    problems+=("report.json: ipcconf summary could not read it")
  while IFS=$'\t' read -r col n pass fail skip detail; do
    [ -n "$col" ] || continue
    printf '%-34s %7s %5s %5s %5s  %s\n' "$col" "$n" "$pass" "$fail" "$skip" "$detail"
    [ "$n" -gt 0 ] || problems+=("report.json: $col has no observations")
  done <<EOF
$summary
EOF
  while IFS= read -r col; do
    [ -n "$col" ] && printf '%-34s %7s\n' "$col" "not measured"
  done <<EOF
$(ipcconf summary "$out/report.json" --not-measured)
EOF
fi

if [ "$page_check" -eq 1 ] && [ -f "$out/index.html" ]; then
  t0=$SECONDS
  rc=0
  "$CI_DIR/check-report-page.sh" "$out/index.html" --screenshot "$out/index.png" || rc=$?
  timings+=("$(printf '%-14s %-32s %4ss  exit %s' "" "page check (chromium)" $((SECONDS - t0)) "$rc")")
  [ "$rc" -eq 0 ] || problems+=("page check: $out/index.html failed in Chromium")
fi

log "=== durations"
for t in "${timings[@]}"; do log "  $t"; done
log "  total                            $((SECONDS - TOTAL_START))s"
log "report: $out/index.html, $out/PORTABILITY.md, $out/report.json"
if [ ${#problems[@]} -gt 0 ]; then
  for p in "${problems[@]}"; do log "FAILED: $p"; done
  exit 1
fi
log "all local columns recorded and merged"
