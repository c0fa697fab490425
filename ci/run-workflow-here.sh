#!/usr/bin/env bash
# Runs the Linux half of the portability workflow on this machine through
# wrkflw's emulation runtime: the Linux x86_64 legs of the `native` job, then
# the `report` job (download, merge, job summary, drafted platform-file patch,
# page check), from a copy of .github/workflows/portability.yml that
# ci/wrkflw_copy.py generates with only what the emulator needs changed (the
# copy's header lists each change and every leg and job left out).
#
#   ci/run-workflow-here.sh [--out DIR]
#
# --out DIR   where the outcome goes (default target/run-workflow-here/out):
#             site/ (report.json, PORTABILITY.md, index.html), platforms-draft/
#             (the drafted patch, when one was needed), ipc-sets/ (the result
#             sets as the report job downloaded them), step-summary.md
#
# What it runs is HEAD of this checkout, cloned into target/run-workflow-here/src
# (uncommitted changes are not part of it; the script says so). Everything it
# installs or builds stays under target/: wrkflw $WRKFLW_VERSION from crates.io
# (cargo install --root target/wrkflw), PyYAML in a virtualenv when python3 lacks
# it, the suites' build (CARGO_TARGET_DIR). It changes nothing of the machine's
# own configuration: the Rust toolchain is the one in use here, named by its
# version (RUST_TOOLCHAIN, RUSTUP_TOOLCHAIN: ci/setup-rust.sh then installs
# nothing and leaves rustup's default alone), a leg whose Rust target is not
# installed is left out, and without a Chromium on PATH (or $CHROMIUM) the page
# check prints SKIPPED instead of installing one. The emulation runtime runs
# every step as this user, on this machine, without containers.
# Exit status: wrkflw's (0 when every job it ran succeeded).
set -euo pipefail
CI_NAME=run-workflow-here
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WRKFLW_VERSION=0.8.0
PYYAML_VERSION=6.0.3
work="$TARGET_DIR/run-workflow-here"
only_out_option "$work/out" "$@"
require_x86_64_linux
command -v git >/dev/null 2>&1 || die "needs git (the run is of a clone of HEAD)"
SECONDS=0
mkdir -p "$work"

# wrkflw, from crates.io, under target/.
wrkflw="$TARGET_DIR/wrkflw/bin/wrkflw"
if [ "$("$wrkflw" --version 2>/dev/null)" != "wrkflw $WRKFLW_VERSION" ]; then
  step "cargo install wrkflw $WRKFLW_VERSION" env CARGO_TARGET_DIR="$TARGET_DIR/wrkflw/build" \
    cargo install wrkflw --version "$WRKFLW_VERSION" --locked --root "$TARGET_DIR/wrkflw" >&2
fi

# PyYAML for the generator: python3's own, else a virtualenv under target/.
python=python3
if ! python3 -c 'import yaml' 2>/dev/null; then
  python="$work/venv/bin/python"
  [ -x "$python" ] || step "virtualenv" python3 -m venv "$work/venv"
  "$python" -c 'import yaml' 2>/dev/null ||
    step "pip install PyYAML==$PYYAML_VERSION" "$python" -m pip install -q --disable-pip-version-check "PyYAML==$PYYAML_VERSION"
fi

# The toolchain in use here, by its version.
version="$(rustc -V | awk '{ print $2 }')"
rustup toolchain list | grep -Eq "^$version(-| |\$)" ||
  die "no rustup toolchain named $version (the one in use here): 'rustup toolchain link $version <its directory>' names it, or install it"
targets=()
for t in $(rustup target list --installed --toolchain "$version"); do targets+=(--with-target "$t"); done
skip=()
if [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1 && ! command -v google-chrome >/dev/null 2>&1 &&
  ! command -v google-chrome-stable >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  log "no Chromium here: the page check will print SKIPPED (ci/check-report-page.sh would install one with apt)"
  skip=(--skip-step "Check the page in headless Chromium=no Chromium on this machine; ci/check-report-page.sh would install one with apt")
fi

# HEAD, cloned: what a clean clone holds, nothing else.
src="$work/src"
head="$(git -C "$ROOT" rev-parse HEAD)"
if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no)" ]; then
  log "NOTE: uncommitted changes in $ROOT are not part of this run (it runs $head)"
fi
rm -rf "$src"
step "clone HEAD ($head)" git clone --quiet --no-checkout "$ROOT" "$src"
git -C "$src" checkout --quiet --detach "$head"

copy="$work/portability.wrkflw.yml"
step "generate the wrkflw copy" "$python" "$CI_DIR/wrkflw_copy.py" "$src/.github/workflows/portability.yml" "$copy" \
  ${targets[@]+"${targets[@]}"} ${skip[@]+"${skip[@]}"} >&2
step "wrkflw validate" "$wrkflw" validate "$copy" >&2

rm -rf "$out"
mkdir -p "$out"
log="$work/wrkflw.log"
rc=0
log "wrkflw run --runtime emulation (log: $log)"
(
  cd "$src"
  env RUST_TOOLCHAIN="$version" RUSTUP_TOOLCHAIN="$version" CARGO_TARGET_DIR="$work/cargo" \
    WRKFLW_OUT="$out" "$wrkflw" --verbose run --runtime emulation "$copy"
) >"$log" 2>&1 || rc=$?
grep -E '^(✅|❌|⏭|⚠)|Job succeeded|Job failed|Step (failed|succeeded)|SKIPPED' "$log" | head -n 60 >&2 || true
log "wrkflw exited $rc after ${SECONDS}s"

for f in site/index.html site/PORTABILITY.md platforms-draft/platforms-draft.patch step-summary.md; do
  if [ -e "$out/$f" ]; then log "  $out/$f"; else log "  (no $f)"; fi
done
exit "$rc"
