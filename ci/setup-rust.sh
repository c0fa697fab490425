#!/usr/bin/env bash
# Installs the stable Rust toolchain with rustup (rustup itself first when the
# machine has none), plus the components and targets asked for. Idempotent.
#
#   ci/setup-rust.sh [--component NAME]... [--target TRIPLE]...
#
# On GitHub Actions the cargo bin directory is added to $GITHUB_PATH. The
# toolchain is `stable` unless RUST_TOOLCHAIN says otherwise.
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
args=(--profile minimal --no-self-update)
for c in ${components[@]+"${components[@]}"}; do args+=(--component "$c"); done
for t in ${targets[@]+"${targets[@]}"}; do args+=(--target "$t"); done
step "rustup toolchain install $toolchain" rustup toolchain install "$toolchain" "${args[@]}" >&2
rustup default "$toolchain" >&2
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
