# shellcheck shell=bash
# Shared helpers for the ci/ scripts (sourced, not run).
#
# Conventions every ci/run-*.sh follows:
#   --out DIR      where the result set goes (default: target/ipc-sets/<column>);
#                  the directory is emptied first, so a result set is one run.
#   exit status    the test run's: 0 when every check met its expectation.
#   last lines     a summary: platform, runtime, how many results by status.
# A result set is a directory with run.json and results/<claim>.json, written
# by the harness into $IPC_RESULTS_DIR.
# Portable to bash 3.2 (macOS) and FreeBSD's bash; no GNU-only tools.

CI_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$CI_DIR/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
# shellcheck disable=SC2034 # used by the scripts that source this file
SETS_DIR="$TARGET_DIR/ipc-sets"

log() { printf '[%s] %s\n' "${CI_NAME:-ci}" "$*" >&2; }
die() { log "error: $*"; exit 2; }

# step NAME CMD...: runs CMD, logs its duration; returns CMD's status.
step() {
  local name="$1" t0=$SECONDS rc=0
  shift
  log "--- $name"
  "$@" || rc=$?
  log "--- $name: $((SECONDS - t0))s (exit $rc)"
  return "$rc"
}

# rustup_target T: adds a Rust target once.
rustup_target() {
  if rustup target list --installed | grep -qx "$1"; then
    return 0
  fi
  log "rustup target add $1"
  rustup target add "$1" >&2
}

# apt_install PKG...: installs the Debian/Ubuntu packages that are missing.
apt_install() {
  local missing=() p sudo=()
  for p in "$@"; do
    if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]; then
      missing+=("$p")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  log "apt-get install ${missing[*]}"
  "${sudo[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# fresh_dir DIR: creates DIR empty (a result set holds exactly one run).
fresh_dir() {
  case "$1" in
    "" | / | "$ROOT" | "$HOME") die "refusing to empty '$1'" ;;
  esac
  rm -rf "$1"
  mkdir -p "$1"
}

# abspath P: an absolute path (the directory need not exist yet).
abspath() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$(pwd)" "$1" ;;
  esac
}

# The ipcconf program the scripts read result sets with (`ipcconf summary`,
# src/bin/ipcconf.rs), found in this order:
#   1. $IPCCONF, when set: the path of a built ipcconf;
#   2. the one the script's own build made, named by `ipcconf_built_by TARGET
#      PROFILE` ($TARGET_DIR[/TARGET]/PROFILE/ipcconf[.exe]: `cargo test`
#      builds every program), when it runs on this machine: a build for this
#      host, or for a target this host runs (musl and i686 on x86_64 Linux,
#      the GNU target on Windows; qemu-user where binfmt_misc runs it), never
#      a Windows program elsewhere;
#   3. this host's debug build, `cargo build --bin ipcconf` (nothing to do
#      when cargo test built it already).
# $TARGET_DIR follows CARGO_TARGET_DIR. Portable to bash 3.2 and Git Bash.
IPCCONF_CANDIDATE=""
ipcconf_built_by() {
  local exe=""
  case "$(uname -s)" in MINGW* | MSYS* | CYGWIN*) exe=.exe ;; esac
  case "$exe:${1:-}" in
    :*windows*) IPCCONF_CANDIDATE="" ;; # a Windows program, on another OS
    *) IPCCONF_CANDIDATE="$TARGET_DIR/${1:+$1/}${2:-debug}/ipcconf$exe" ;;
  esac
}

# ipcconf_find: sets IPCCONF to the ipcconf to run (see above); fails when
# none runs and none can be built.
ipcconf_find() {
  local exe=""
  [ -n "${IPCCONF:-}" ] && return 0
  if [ -n "$IPCCONF_CANDIDATE" ] && [ -x "$IPCCONF_CANDIDATE" ] &&
    "$IPCCONF_CANDIDATE" --help >/dev/null 2>&1; then
    IPCCONF="$IPCCONF_CANDIDATE"
    return 0
  fi
  case "$(uname -s)" in MINGW* | MSYS* | CYGWIN*) exe=.exe ;; esac
  log "building this host's ipcconf to read result sets (cargo build --bin ipcconf)"
  (cd "$ROOT" && cargo build --quiet --locked --bin ipcconf >&2) || return 1
  IPCCONF="$TARGET_DIR/debug/ipcconf$exe"
}

# ipcconf ARGS...: runs ipcconf (see above); an argument naming an existing
# path is handed over in Windows' form where cygpath exists (Git Bash).
ipcconf() {
  local a args=()
  ipcconf_find || { log "no ipcconf to run"; return 2; }
  for a in "$@"; do
    if [ -e "$a" ] && command -v cygpath >/dev/null 2>&1; then a="$(cygpath -w "$a")"; fi
    args+=("$a")
  done
  "$IPCCONF" ${args[@]+"${args[@]}"}
}

# summarize_set DIR [RUNTIME]: prints what a result set holds (`ipcconf
# summary`); fails when it holds no run, no observation, or (with RUNTIME) a
# run of another runtime.
summarize_set() {
  local dir="$1" want_runtime="${2:-}" line platform runtime n pass fail skipped detail
  if [ ! -f "$dir/run.json" ]; then
    log "NO RESULTS: $dir/run.json is missing (the suites did not run)"
    return 1
  fi
  ipcconf_find || return 1
  if ! line="$(ipcconf summary "$dir" --format \
    '{run.platform}\t{run.runtime}\t{results}\t{status.pass}\t{status.fail}\t{status.skipped}\t{run.runtime_detail}; {run.os_version}')"; then
    log "NO RESULTS: ipcconf summary could not read $dir (see above)"
    return 1
  fi
  IFS=$'\t' read -r platform runtime n pass fail skipped detail <<EOF
$line
EOF
  log "result set $dir: platform $platform, runtime $runtime ($detail): $n results ($pass pass, $fail fail, $skipped skipped)"
  if [ "$n" -eq 0 ]; then
    log "NO RESULTS: $dir has a run but no observation"
    return 1
  fi
  if [ -n "$want_runtime" ] && [ "$runtime" != "$want_runtime" ]; then
    log "WRONG RUNTIME: $dir was recorded as '$runtime', expected '$want_runtime'"
    return 1
  fi
  return 0
}

# out_release_args DEFAULT_OUT ARGS...: parses the options of a run script that
# takes only `--out DIR`, `--release` and `-- CARGO_TEST_ARGS...` (and --help);
# sets `out` (DEFAULT_OUT unless given) and `extra` (the --release and the
# `-- ...` to hand on to run-native.sh, or nothing).
# shellcheck disable=SC2034 # out and extra are read by the calling script
out_release_args() {
  out="$1" extra=()
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --out) [ $# -ge 2 ] || die "--out needs a directory"; out="$2"; shift 2 ;;
      --release) extra+=(--release); shift ;;
      --) extra+=("$@"); break ;;
      -h | --help) usage; exit 0 ;;
      *) die "unknown argument $1 (see --help)" ;;
    esac
  done
}

# require_x86_64_linux: dies unless this host is x86_64 Linux.
require_x86_64_linux() {
  [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || die "needs an x86_64 Linux host"
}

# exec_native_target TARGET: on an x86_64 Linux host, adds the rustup target
# and hands over to run-native.sh with the parsed `out` and `extra`: the
# target's programs run on this kernel, no emulator.
exec_native_target() {
  require_x86_64_linux
  step "rustup target $1" rustup_target "$1"
  exec "$CI_DIR/run-native.sh" --out "$out" --target "$1" ${extra[@]+"${extra[@]}"}
}

# usage: prints the calling script's header comment.
usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

# only_out_option DEFAULT ARGS...: the arguments of a script whose one option
# is --out DIR (and -h/--help): sets $out, made absolute (DEFAULT when absent).
only_out_option() {
  out="$1"
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --out) [ $# -ge 2 ] || die "--out needs a directory"; out="$2"; shift 2 ;;
      -h | --help) usage; exit 0 ;;
      *) die "unknown argument $1 (see --help)" ;;
    esac
  done
  out="$(abspath "$out")"
}
