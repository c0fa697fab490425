#!/usr/bin/env bash
# Makes x86_64-pc-windows-gnu link with a MinGW-w64 gcc whose C runtime is
# msvcrt.dll, the one Rust's windows-gnu standard library is built against.
#
#   ci/use-mingw-msvcrt.sh MSYS2_ROOT      (Git Bash on Windows)
#
# MSYS2_ROOT is an MSYS2 installation with mingw-w64-x86_64-gcc installed (the
# MINGW64 environment, msvcrt-based). The script checks that this gcc's
# headers default to msvcrt.dll (__MSVCRT_VERSION__ 0x700; UCRT is 0xE00),
# says which C runtime the gcc first on PATH uses (on GitHub's Windows images
# C:\mingw64\bin, UCRT), then puts MSYS2_ROOT\mingw64\bin first on the PATH of
# later steps and names its gcc as the target's linker
# (CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER), through $GITHUB_PATH and
# $GITHUB_ENV; outside GitHub Actions it prints the two settings instead.
#
# Why: Rust builds its windows-gnu toolchains with an msvcrt MinGW
# (rust-lang/rust src/ci/scripts/install-mingw.sh:
# x86_64-14.1.0-release-posix-seh-msvcrt-rt_v12-rev0), while the MinGW on the
# runner images' PATH is UCRT-based (actions/runner-images
# images/windows/toolsets/toolset-2022.json and toolset-2025.json, "mingw":
# "runtime": "ucrt"); rustup's own CI hit this mismatch (rust-lang/rustup pull
# request 3849) and links with an msvcrt MinGW since.
set -euo pipefail
CI_NAME=use-mingw-msvcrt
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "") die "give the root of the MSYS2 installation (see --help)" ;;
esac
command -v cygpath >/dev/null 2>&1 || die "needs cygpath (Git Bash or MSYS2 on Windows)"
bin="$(cygpath -u "$1")/mingw64/bin"
gcc="$bin/x86_64-w64-mingw32-gcc.exe"
[ -x "$gcc" ] || die "$gcc is missing: install mingw-w64-x86_64-gcc into $1 first"

# crt GCC: the C runtime GCC's mingw-w64 headers default to.
crt() {
  local v
  v="$(printf '#include <_mingw.h>\n__MSVCRT_VERSION__\n' | "$1" -E -P -x c - 2>/dev/null | tail -n 1 | tr -d ' \r')"
  case "$v" in
    0x700 | 0x0700) echo "msvcrt ($v)" ;;
    0xE00 | 0xe00 | 0x0E00) echo "ucrt ($v)" ;;
    *) echo "unknown (__MSVCRT_VERSION__ '$v')" ;;
  esac
}
if command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; then
  first="$(command -v x86_64-w64-mingw32-gcc)"
  log "first on PATH: $first, C runtime $(crt "$first")"
fi
mine="$(crt "$gcc")"
log "$gcc: $("$gcc" -dumpfullversion 2>/dev/null || echo '?'), C runtime $mine"
case "$mine" in
  msvcrt*) ;;
  *) die "$gcc does not default to msvcrt.dll ($mine): x86_64-pc-windows-gnu needs an msvcrt MinGW (MSYS2's MINGW64 environment)" ;;
esac

win_bin="$(cygpath -w "$bin")" win_gcc="$(cygpath -w "$gcc")"
if [ -n "${GITHUB_PATH:-}" ] && [ -n "${GITHUB_ENV:-}" ]; then
  printf '%s\n' "$win_bin" >>"$GITHUB_PATH"
  printf 'CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=%s\n' "$win_gcc" >>"$GITHUB_ENV"
  log "later steps: $win_bin first on PATH, linker $win_gcc"
else
  # shellcheck disable=SC2016 # $PATH is printed for the reader's shell to expand
  printf 'export PATH="%s:$PATH"\n' "$bin"
  printf 'export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER="%s"\n' "$win_gcc"
fi
