#!/usr/bin/env bash
# Set up this Debian 12 machine to build x86_64-pc-windows-gnu and run it under Wine.
#
#   ci/setup-wine.sh                    # install + build shim + init prefix, log on stderr
#   eval "$(ci/setup-wine.sh)"          # same, and export the env it prints on stdout
# On GitHub Actions ($GITHUB_ENV set) the env is also appended there.
#
# Idempotent: installs only what is missing, rebuilds the shim only when its
# source changed, initialises the Wine prefix only once.
#
# Knobs (all optional):
#   WINE_SHIM_DIR          where bcryptprimitives.dll goes   (default <target>/wine-shim)
#   WINEPREFIX             the Wine prefix                   (default <target>/wine-prefix)
#   WINE_SKIP_PREFIX_INIT  =1: do not run wineboot now (runner.sh does it on first use)
# <target> is $CARGO_TARGET_DIR if set, else <repo>/target.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
SHIM_DIR="${WINE_SHIM_DIR:-$TARGET_DIR/wine-shim}"
PREFIX="${WINEPREFIX:-$TARGET_DIR/wine-prefix}"
RUST_TARGET=x86_64-pc-windows-gnu
# wine64 alone is enough to run 64-bit exes; `wine` adds /usr/bin/wine and the
# man pages, wine64-preloader reserves the low address space the way Windows
# does. --no-install-recommends keeps wine32/i386 and ~80 desktop libs out.
APT_PACKAGES=(wine64 wine wine64-preloader gcc-mingw-w64-x86-64)

CI_NAME=setup-wine
. "$ROOT/ci/lib.sh"
SECONDS=0
# phase MSG ... phase_done: logs a multi-command phase and its duration
# (lib.sh's `step NAME CMD...` times a single command).
phase_start=0
phase() { phase_start=$SECONDS; log "$*"; }
phase_done() { log "  done in $((SECONDS - phase_start))s"; }

# --- Debian packages ---------------------------------------------------------
step "Debian packages" apt_install "${APT_PACKAGES[@]}"
for p in "${APT_PACKAGES[@]}"; do
  log "  $(dpkg-query -W -f='${Package} ${Version}' "$p")"
done

# --- rustup target -------------------------------------------------------------
step "rustup target $RUST_TARGET" rustup_target "$RUST_TARGET"

# --- bcryptprimitives.dll shim --------------------------------------------------
SRC="$ROOT/ci/wine/bcryptprimitives.c"
DEF="$ROOT/ci/wine/bcryptprimitives.def"
DLL="$SHIM_DIR/bcryptprimitives.dll"
if [[ -f "$DLL" && "$DLL" -nt "$SRC" && "$DLL" -nt "$DEF" ]]; then
  log "shim up to date: $DLL"
else
  phase "building $DLL"
  mkdir -p "$SHIM_DIR"
  x86_64-w64-mingw32-gcc -shared -O2 -s -Wall -o "$DLL.tmp" "$SRC" "$DEF" -ladvapi32
  mv -f "$DLL.tmp" "$DLL"
  phase_done
fi

# --- Wine prefix ----------------------------------------------------------------
export WINE_SHIM_DIR="$SHIM_DIR" WINEPREFIX="$PREFIX"
if [[ "${WINE_SKIP_PREFIX_INIT:-0}" == 1 ]]; then
  log "WINE_SKIP_PREFIX_INIT=1: prefix $PREFIX will be created on first use by runner.sh"
elif [[ -f "$PREFIX/.ipc-conformance-ready" ]]; then
  log "Wine prefix $PREFIX already initialised; refreshing the shim in it if needed"
  "$ROOT/ci/wine/runner.sh" --init
else
  phase "initialising Wine prefix $PREFIX (first time takes a while)"
  "$ROOT/ci/wine/runner.sh" --init
  phase_done
fi

log "total ${SECONDS}s"

# --- the environment a caller needs (stdout, for eval) ---------------------------
print_env() {
cat <<EOF
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=$ROOT/ci/wine/runner.sh
export WINEPREFIX=$PREFIX
export WINE_SHIM_DIR=$SHIM_DIR
export WINEDEBUG=-all
export WINEDLLOVERRIDES=mscoree,mshtml=
EOF
}
print_env
# On GitHub Actions also persist it for later steps (KEY=VALUE lines).
if [[ -n "${GITHUB_ENV:-}" ]]; then
  print_env | sed 's/^export //' >>"$GITHUB_ENV"
  log "appended the environment to \$GITHUB_ENV"
fi
