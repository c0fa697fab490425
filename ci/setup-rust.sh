#!/usr/bin/env bash
# Installs the stable Rust toolchain with rustup (rustup itself first when the
# machine has none), plus the components and targets asked for. Idempotent.
#
#   ci/setup-rust.sh [--component NAME]... [--target TRIPLE]...
#
# On GitHub Actions the cargo bin directory is added to $GITHUB_PATH. The
# toolchain is `stable` unless RUST_TOOLCHAIN says otherwise. A released version
# (RUST_TOOLCHAIN=1.95.0) that is installed already only gets the components
# and targets it lacks: rustup would otherwise reinstall it in place.
# The toolchain becomes rustup's default unless RUSTUP_TOOLCHAIN is set, which
# chooses the toolchain for every later command without changing the default.
set -euo pipefail
CI_NAME=setup-rust
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

toolchain="${RUST_TOOLCHAIN:-stable}" components=() targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --component) components+=("$2"); shift 2 ;;
    --target) targets+=("$2"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
if ! command -v rustup >/dev/null 2>&1 && [ -x "$cargo_bin/rustup" ]; then
  export PATH="$cargo_bin:$PATH"
fi
if ! command -v rustup >/dev/null 2>&1; then
  log "installing rustup (minimal profile, no toolchain yet)"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
    sh -s -- -y --profile minimal --default-toolchain none --no-modify-path >&2
  export PATH="$cargo_bin:$PATH"
fi
# A released version (never a channel, which moves) that is installed already
# only gets what it lacks: `rustup toolchain install` would reinstall all of it
# in place, under the feet of whatever else uses it.
released_and_installed() {
  case "$toolchain" in [0-9]*.[0-9]*) ;; *) return 1 ;; esac
  rustup toolchain list | grep -Eq "^$toolchain(-| |\$)"
}
if released_and_installed; then
  have_c="$(rustup component list --installed --toolchain "$toolchain")"
  for c in ${components[@]+"${components[@]}"}; do
    printf '%s\n' "$have_c" | grep -Eq "^$c(-|\$)" ||
      step "rustup component add $c" rustup component add --toolchain "$toolchain" "$c" >&2
  done
  have_t="$(rustup target list --installed --toolchain "$toolchain")"
  for t in ${targets[@]+"${targets[@]}"}; do
    printf '%s\n' "$have_t" | grep -qx "$t" ||
      step "rustup target add $t" rustup target add --toolchain "$toolchain" "$t" >&2
  done
  log "$toolchain: installed, with what was asked for"
else
  args=(--profile minimal --no-self-update)
  for c in ${components[@]+"${components[@]}"}; do args+=(--component "$c"); done
  for t in ${targets[@]+"${targets[@]}"}; do args+=(--target "$t"); done
  step "rustup toolchain install $toolchain" rustup toolchain install "$toolchain" "${args[@]}" >&2
fi
if [ -n "${RUSTUP_TOOLCHAIN:-}" ]; then
  log "RUSTUP_TOOLCHAIN=$RUSTUP_TOOLCHAIN chooses the toolchain; rustup's default stays as it is"
else
  rustup default "$toolchain" >&2
fi
# Later workflow steps find cargo too (runner images usually have it on PATH already).
if [ -n "${GITHUB_PATH:-}" ]; then
  if command -v cygpath >/dev/null 2>&1; then
    cygpath -w "$cargo_bin" >>"$GITHUB_PATH"
  else
    echo "$cargo_bin" >>"$GITHUB_PATH"
  fi
fi
rustc -V >&2
cargo -V >&2
