#!/usr/bin/env bash
# Cargo runner for x86_64-pc-windows-gnu: runs a Windows .exe under Wine.
#
#   CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=/path/to/ci/wine/runner.sh
#   ci/wine/runner.sh prog.exe args...   # run one program
#   ci/wine/runner.sh --init             # only create/refresh the prefix
#
# On first use it creates the Wine prefix quietly (wineboot -i, no display, no
# Mono/Gecko prompts) and installs the bcryptprimitives.dll shim (built by
# ci/setup-wine.sh) into the prefix's system32. system32 rather than WINEPATH so
# that children spawned with a cleared or rewritten PATH still find it.
# The program's exit code is passed through (Windows exit codes modulo 256).
#
# Env: WINEPREFIX (default <target>/wine-prefix), WINE_SHIM_DIR (default
# <target>/wine-shim), WINEDEBUG (default -all), WINEDLLOVERRIDES (default
# "mscoree,mshtml="), WINE (the wine binary; default found below).
# <target> is $CARGO_TARGET_DIR if set, else <repo>/target.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export WINEPREFIX="${WINEPREFIX:-$TARGET_DIR/wine-prefix}"
SHIM_DLL="${WINE_SHIM_DIR:-$TARGET_DIR/wine-shim}/bcryptprimitives.dll"
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"
# No X server here and none needed for console programs: keep Wine off any
# stray DISPLAY so wineboot cannot pop up (or hang on) dialogs.
unset DISPLAY WAYLAND_DISPLAY

log() { printf '[wine-runner] %s\n' "$*" >&2; }

if [[ -z "${WINE:-}" ]]; then
  for c in /usr/lib/wine/wine64 "$(command -v wine64 || true)" "$(command -v wine || true)"; do
    if [[ -n "$c" && -x "$c" ]]; then WINE="$c"; break; fi
  done
fi
if [[ -z "${WINE:-}" ]]; then
  log "no wine binary found (looked for /usr/lib/wine/wine64, wine64, wine): run ci/setup-wine.sh"
  exit 127
fi

SYS32="$WINEPREFIX/drive_c/windows/system32"
READY="$WINEPREFIX/.ipc-conformance-ready"

prepare_prefix() {
  if [[ ! -f "$SHIM_DLL" ]]; then
    log "missing $SHIM_DLL (Rust std needs bcryptprimitives.dll, Wine 8 lacks it): run ci/setup-wine.sh"
    exit 127
  fi
  if [[ -f "$READY" ]] && cmp -s "$SHIM_DLL" "$SYS32/bcryptprimitives.dll"; then
    return 0
  fi
  mkdir -p "$(dirname "$WINEPREFIX")"
  # Serialise first-time setup between concurrent runners (cargo/nextest).
  exec 9>"$WINEPREFIX.lock"
  flock 9
  if [[ ! -f "$READY" ]]; then
    log "creating Wine prefix $WINEPREFIX (one-time, ~10-30s)"
    local t0=$SECONDS
    "$WINE" wineboot -i >&2
    # wineboot returns before the prefix is fully written: wait for the server.
    WINEPREFIX="$WINEPREFIX" "$(dirname "$WINE")/wineserver" -w 2>/dev/null ||
      "$(command -v wineserver)" -w
    touch "$READY"
    log "prefix ready in $((SECONDS - t0))s"
  fi
  if ! cmp -s "$SHIM_DLL" "$SYS32/bcryptprimitives.dll"; then
    log "installing $SHIM_DLL into $SYS32"
    cp -f "$SHIM_DLL" "$SYS32/bcryptprimitives.dll"
  fi
  flock -u 9
  exec 9>&-
}

prepare_prefix

if [[ "${1:-}" == "--init" ]]; then
  exit 0
fi
if [[ $# -eq 0 ]]; then
  log "usage: $0 program.exe [args...] | --init"
  exit 2
fi
exec "$WINE" "$@"
