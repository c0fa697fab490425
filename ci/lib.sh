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

# json_field FILE KEY: the string value of "KEY" in a flat JSON object (run.json).
json_field() {
  sed -n "s/^ *\"$2\": *\"\\(.*\\)\",\\{0,1\\} *\$/\\1/p" "$1" | head -n 1
}

# summarize_set DIR [RUNTIME]: prints what a result set holds; fails when it holds
# no run, no observation, or (with RUNTIME) a run of another runtime.
summarize_set() {
  local dir="$1" want_runtime="${2:-}" n pass fail skipped platform runtime
  if [ ! -f "$dir/run.json" ]; then
    log "NO RESULTS: $dir/run.json is missing (the suites did not run)"
    return 1
  fi
  platform="$(json_field "$dir/run.json" platform)"
  runtime="$(json_field "$dir/run.json" runtime)"
  n=0 pass=0 fail=0 skipped=0
  if [ -d "$dir/results" ]; then
    n=$(find "$dir/results" -name '*.json' -type f | wc -l | tr -d ' ')
    pass=$(grep -l '"status": *"pass"' "$dir"/results/*.json 2>/dev/null | wc -l | tr -d ' ')
    fail=$(grep -l '"status": *"fail"' "$dir"/results/*.json 2>/dev/null | wc -l | tr -d ' ')
    skipped=$(grep -l '"status": *"skipped"' "$dir"/results/*.json 2>/dev/null | wc -l | tr -d ' ')
  fi
  log "result set $dir: platform $platform, runtime $runtime: $n results ($pass pass, $fail fail, $skipped skipped)"
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
# takes only `--out DIR` and `--release` (and --help); sets `out` (DEFAULT_OUT
# unless given) and `extra` (the --release to hand on, or nothing).
# shellcheck disable=SC2034 # out and extra are read by the calling script
out_release_args() {
  out="$1" extra=()
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --out) [ $# -ge 2 ] || die "--out needs a directory"; out="$2"; shift 2 ;;
      --release) extra+=(--release); shift ;;
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
