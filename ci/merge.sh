#!/usr/bin/env bash
# Merges result sets into one report (report.json, PORTABILITY.md, index.html)
# without running anything: `cargo ipc-report --results ...` with the list of
# platforms that should have a run, so that a job that produced nothing shows as
# "not measured" instead of vanishing.
#
#   ci/merge.sh [--out DIR] [--expect ID]... [--expect-columns ci|local] [--summary FILE] SETS...
#
# SETS            result sets, or directories whose subdirectories are result sets
#                 (as actions/download-artifact lays them out); a directory with no
#                 result set in it is reported and left out
# --out DIR       report directory (default target/ipc-report)
# --expect ID     an expected column: `platform-id (runtime)`, e.g.
#                 "linux-aarch64-gnu (qemu-user)", or a bare platform id (any runtime)
# --expect-columns ci|local
#                 every column ci/columns.toml lists as run by the portability
#                 workflow (ci) or by ci/run-local-platforms.sh (local)
# --summary FILE  append PORTABILITY.md to FILE (the GitHub job summary)
set -euo pipefail
CI_NAME=merge
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="$TARGET_DIR/ipc-report" summary="" expect=() inputs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --expect) expect+=(--expect-platform "$2"); shift 2 ;;
    --expect-columns)
      case "${2:-}" in ci | local) ;; *) die "--expect-columns takes ci or local" ;; esac
      ids="$(python3 "$CI_DIR/columns.py" ids "--$2")" || die "ci/columns.py could not read the list"
      while IFS= read -r line; do
        [ -n "$line" ] && expect+=(--expect-platform "$line")
      done <<EOF
$ids
EOF
      shift 2
      ;;
    --summary) summary="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown argument $1 (see --help)" ;;
    *) inputs+=("$(abspath "$1")"); shift ;;
  esac
done
out="$(abspath "$out")"

# Keep only result sets that hold a run; say what is left out and why.
sets=()
for d in ${inputs[@]+"${inputs[@]}"}; do
  if [ -f "$d/run.json" ]; then
    sets+=(--results "$d")
    continue
  fi
  found=0
  for sub in "$d"/*/; do
    sub="${sub%/}"
    if [ -f "$sub/run.json" ]; then
      sets+=(--results "$sub")
      found=1
    elif [ -d "$sub" ]; then
      log "left out $sub: no run.json (that job recorded nothing)"
    fi
  done
  [ "$found" -eq 1 ] || log "no result set in $d"
done
if [ ${#sets[@]} -eq 0 ]; then
  log "no result set to merge"
  exit 1
fi

cd "$ROOT"
step "cargo ipc-report" cargo ipc-report "${sets[@]}" ${expect[@]+"${expect[@]}"} --out "$out"

if [ -n "$summary" ]; then
  # GitHub caps a job summary at 1 MiB.
  size=$(wc -c <"$out/PORTABILITY.md" | tr -d ' ')
  if [ "$size" -lt 1000000 ]; then
    cat "$out/PORTABILITY.md" >>"$summary"
  else
    head -c 990000 "$out/PORTABILITY.md" >>"$summary"
    printf '\n\n_(truncated: the full PORTABILITY.md is in the report artifact)_\n' >>"$summary"
  fi
fi
log "report: $out/index.html"
