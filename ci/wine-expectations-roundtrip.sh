#!/usr/bin/env bash
# The Wine round trip of `ipcconf expectations --from-results`: runs the Wine
# column as a first run would (from a copy of this checkout without
# platforms/windows-wine.toml, so the suite expects Windows' behaviour of Wine),
# drafts the platform file back from that run's departures, and compares the
# draft's claims and values with the hand-written platforms/windows-wine.toml.
# The hand-written file (with its sources) stays as it is; nothing in the
# checkout changes.
#
#   ci/wine-expectations-roundtrip.sh [--out DIR]
#
# --out DIR   where the result set (DIR/set) and the draft
#             (DIR/windows-wine.draft.toml) go (default target/wine-roundtrip)
#
# Needs what ci/run-wine.sh needs (Debian/Ubuntu; it installs Wine, MinGW-w64
# and the shim). The copy builds in DIR/target (its own: the two trees must not
# share uplifted binaries); the Wine prefix and shim are this checkout's.
# Exit status: 0 when the draft holds the same claims with the same values as
# the hand-written file, 1 when they differ, 2 when the run or the draft failed.
set -euo pipefail

CI_NAME=wine-roundtrip
# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="$TARGET_DIR/wine-roundtrip"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
case "$out" in /*) ;; *) out="$(pwd)/$out" ;; esac
case "$out" in "" | / | "$ROOT" | "$HOME") die "refusing to use '$out'" ;; esac
hand="$ROOT/platforms/windows-wine.toml"
[ -f "$hand" ] || die "$hand is missing: nothing to compare the draft with"
command -v git >/dev/null || die "needs git (it lists the files to copy)"

mkdir -p "$out"
tree="$(mktemp -d "$out/tree.XXXXXX")"
trap 'rm -rf "$tree"' EXIT
# The files of this checkout as they are (tracked, and untracked ones git does
# not ignore), without the Wine file.
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | tar -xf - -C "$tree"
rm "$tree/platforms/windows-wine.toml"
rev="$(git -C "$ROOT" describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)"

set_dir="$out/set"
rc=0
step "the Wine column without platforms/windows-wine.toml" \
  env CARGO_TARGET_DIR="$out/target" \
  WINEPREFIX="${WINEPREFIX:-$TARGET_DIR/wine-prefix}" \
  WINE_SHIM_DIR="${WINE_SHIM_DIR:-$TARGET_DIR/wine-shim}" \
  IPCCONF_REVISION="$rev-without-windows-wine" IPC_EXPECT_RUNTIME=wine \
  "$tree/ci/run-wine.sh" --out "$set_dir" || rc=$?
# cargo test fails (101) where Wine departs from Windows: that is the point.
case "$rc" in 0 | 101) ;; *) die "ci/run-wine.sh exited $rc: no usable first run" ;; esac

draft="$out/windows-wine.draft.toml"
step "draft the platform file from the run" \
  cargo run --quiet --locked --manifest-path "$ROOT/Cargo.toml" --bin ipcconf -- \
  expectations --from-results "$set_dir" --out "$draft" --force ||
  die "drafting failed"

# claim<TAB>expect of every entry of a platform file.
pairs() {
  awk '/^\[claims\."/ { c = $0; sub(/^\[claims\."/, "", c); sub(/"\]$/, "", c) }
       /^expect *= *"/ && c != "" { v = $0; sub(/^expect *= *"/, "", v); sub(/".*$/, "", v); print c "\t" v; c = "" }' "$1" | sort
}
log "hand-written $hand:"
pairs "$hand" | sed 's/^/    /' >&2
log "drafted $draft:"
pairs "$draft" | sed 's/^/    /' >&2
if diff <(pairs "$hand") <(pairs "$draft") >&2; then
  log "SAME: $(pairs "$hand" | wc -l | tr -d ' ') claims, same values"
  exit 0
fi
log "DIFFERENT claims or values (< hand-written, > drafted)"
exit 1
