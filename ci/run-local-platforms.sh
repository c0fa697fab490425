#!/usr/bin/env bash
# Every column this Linux x86_64 machine can run, merged into one report: each
# column ci/columns.toml gives a `local` run (native in release, musl, aarch64
# and s390x under qemu-user, i686, Linux VMs of four kernels, Wine; --list
# prints them with their commands), in the list's order, each script with
# `--out target/ipc-sets/<set>`,
# then ci/merge.sh (`cargo ipc-report --results ... --expect-platform ...`, every
# local column expected: --expect-columns local) into the report directory, a
# check that every column holds observations (`ipcconf summary`), and the
# headless Chromium check of index.html (ci/check-report-page.sh).
#
#   ci/run-local-platforms.sh [--out DIR] [--only NAME]... [--allow-test-failures] [--no-page-check]
#   ci/run-local-platforms.sh --list
#
# --out DIR               report directory (default target/ipc-report)
# --only NAME             run only these columns, by their name in ci/columns.toml
#                         (native, musl, ..., vm for every kernel, vm-6.1 for one)
# --list                  print the local runs (name, column, result set, command)
# --allow-test-failures   a column whose checks missed expectations still counts,
#                         as long as it recorded observations (they are in the report)
# --no-page-check         skip the Chromium check
#
# Result sets go to target/ipc-sets/<set>/ (each emptied first; the set is named
# by ci/columns.py); only the sets produced by this invocation are merged.
# Installs what each column needs (ci/setup-qemu.sh, ci/setup-wine.sh;
# idempotent). Prints each step's duration. Exit status 0 only when every column
# ran with observations (and, without --allow-test-failures, met its
# expectations), the merge succeeded and the page passed.
set -euo pipefail
CI_NAME=local-platforms
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="$TARGET_DIR/ipc-report" only=() allow_fail=0 page_check=1 list=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --only) only+=("$2"); shift 2 ;;
    --allow-test-failures) allow_fail=1; shift ;;
    --no-page-check) page_check=0; shift ;;
    --list) list=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
out="$(abspath "$out")"
[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || die "the local columns need an x86_64 Linux host"
cd "$ROOT"

# The local runs, one a line: NAME GROUP ID SET COMMAND ARGS..., tab-separated.
runs="$(python3 "$CI_DIR/columns.py" local)" || die "ci/columns.py could not read ci/columns.toml"
if [ "$list" -eq 1 ]; then
  printf '%s\n' "$runs" | while IFS=$'\t' read -r name _ id set cmd; do
    printf '%-14s %-32s %-34s %s\n' "$name" "$id" "ipc-sets/$set" "${cmd//$'\t'/ }"
  done
  exit 0
fi

# wanted NAME GROUP: whether --only names this run (by its name or its group).
wanted() {
  [ ${#only[@]} -eq 0 ] && return 0
  local o
  for o in "${only[@]}"; do
    [ "$o" = "$1" ] || [ "$o" = "$2" ] && return 0
  done
  return 1
}
for o in ${only[@]+"${only[@]}"}; do
  printf '%s\n' "$runs" | cut -f1,2 | tr '\t' '\n' | grep -qx -- "$o" ||
    die "--only $o: no such local column in ci/columns.toml (names: $(printf '%s\n' "$runs" | cut -f1,2 | tr '\t' '\n' | sort -u | tr '\n' ' '))"
done

TOTAL_START=$SECONDS
timings=() sets=() problems=()

# column NAME ID SET_DIR CMD...: runs one column, records its duration and outcome.
column() {
  local name="$1" expect="$2" dir="$3" t0=$SECONDS rc=0
  shift 3
  log "=== column $expect ($name)"
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

# Read first: the column scripts get this script's standard input, not the list.
lines=()
while IFS= read -r line; do lines+=("$line"); done <<EOF
$runs
EOF
for line in "${lines[@]}"; do
  IFS=$'\t' read -r -a run <<<"$line"
  wanted "${run[0]}" "${run[1]}" || continue
  dir="$SETS_DIR/${run[3]}"
  column "${run[0]}" "${run[2]}" "$dir" "$ROOT/${run[4]}" "${run[@]:5}" --out "$dir"
done

if [ ${#sets[@]} -eq 0 ]; then
  log "no column recorded anything: nothing to merge"
  exit 1
fi

t0=$SECONDS
rc=0
"$CI_DIR/merge.sh" --out "$out" --expect-columns local "${sets[@]}" || rc=$?
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
