#!/usr/bin/env bash
# Drafts platform-file entries from result sets: every platform file whose runs
# departed from what the suite expected gets the entries that would make it
# expect what was observed, merged into platforms/*.toml as they stand in this
# checkout, all in one patch (`ipcconf expectations --from-results ... --patch`;
# README, "From a first run to a platform file").
#
#   ci/draft-platforms.sh [--out DIR] [--summary FILE] SETS...
#
# SETS            result sets, or directories whose subdirectories are result sets
#                 (as actions/download-artifact lays them out)
# --out DIR       where platforms-draft.patch goes (default target/platforms-draft);
#                 no patch is left there when platforms/ needs no change
# --summary FILE  append the drafted entries as Markdown (the GitHub job summary)
#
# The patch is checked with `git apply --check` against this checkout where git
# is at hand. Exit status: 0 when a patch was written or none was needed.
set -euo pipefail
CI_NAME=draft-platforms
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="$TARGET_DIR/platforms-draft" summary="" inputs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out="$2"; shift 2 ;;
    --summary) [ $# -ge 2 ] || die "--summary needs a file"; summary="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown argument $1 (see --help)" ;;
    *) inputs+=(--from-results "$(abspath "$1")"); shift ;;
  esac
done
[ ${#inputs[@]} -gt 0 ] || die "no result set given (see --help)"
out="$(abspath "$out")"
mkdir -p "$out"
patch="$out/platforms-draft.patch"
extra=()
[ -n "$summary" ] && extra=(--summary "$(abspath "$summary")")

cd "$ROOT"
# The release profile: the one ci/merge.sh builds ipcconf with.
step "ipcconf expectations --patch" cargo run --release --quiet --locked --bin ipcconf -- \
  expectations "${inputs[@]}" --patch "$patch" --force ${extra[@]+"${extra[@]}"}
if [ ! -f "$patch" ]; then
  log "no change to platforms/: no patch"
  exit 0
fi
if command -v git >/dev/null 2>&1; then
  step "git apply --check (this checkout)" git apply --check "$patch"
  git apply --stat "$patch" >&2
else
  log "no git here: the patch was not checked against this checkout"
fi
log "patch: $patch"
