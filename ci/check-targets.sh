#!/usr/bin/env bash
# Checks every target the suites must build on but this machine cannot run
# natively, in two passes:
#
# 1. Type-check and lint: `cargo clippy --all-targets --target T -- -D warnings`
#    (cargo check's full type-check plus the lints) for
#      x86_64-apple-darwin aarch64-apple-darwin x86_64-unknown-freebsd
#      x86_64-pc-windows-msvc x86_64-pc-windows-gnu aarch64-linux-android
#    and the 32-bit targets, where C long (and on Linux off_t and rlim_t) is 32 bits:
#      i686-unknown-linux-gnu armv7-unknown-linux-gnueabihf i686-unknown-freebsd
# 2. Link: `--release --tests --bins`, every suite's test binary and both
#    programs, for the systems whose columns only CI runs:
#      x86_64-unknown-freebsd x86_64-apple-darwin aarch64-apple-darwin
#        with zig as the linker (cargo-zigbuild): zig carries FreeBSD 14.0's
#        libc and macOS's libSystem as stubs and refuses a symbol they lack
#        ("undefined symbol: _mq_open"), as the systems' own linkers would;
#      x86_64-pc-windows-gnu
#        with Debian's mingw-w64 gcc (msvcrt-based, like the Rust target).
#    For each it prints the shared libraries the binaries need; on a failure,
#    the target and every undefined symbol. The other targets are not linked
#    here, and the script says why (MSVC: Microsoft's linker and import
#    libraries cannot be fetched here; Android: no NDK here).
#
#   ci/check-targets.sh [--no-link] [TARGET...]
#   ci/check-targets.sh --prove-link-failure
#
# --no-link               pass 1 only
# --prove-link-failure    links a small probe program for every linked target,
#                         first as is (it must link), then calling one function
#                         that system lacks (macOS: FreeBSD's pdfork and POSIX
#                         mq_open; FreeBSD: Linux's signalfd; Windows: fork); it
#                         must fail naming exactly that symbol. Exit 0 when the
#                         link step tells both apart on every target.
#
# Tools, installed once and pinned: rustup targets; ziglang, cargo-zigbuild and
# LIEF (reads ELF, Mach-O and PE) in the virtualenv target/ci-venv; zig's and
# cargo-zigbuild's caches under target/zig; gcc-mingw-w64-x86-64 from apt. A
# target for which the stable channel ships no standard library
# (i686-unknown-freebsd: `available = false` in the 1.95 channel manifest) is
# type-checked with the nightly toolchain building std from source (`cargo
# +nightly check -Zbuild-std`), not clippy, since nightly's lints run ahead of
# stable's. A target that can be checked neither way (offline, no rustup) is
# reported on a loud SKIPPED line and does not fail the script; a type, lint or
# link error does. Set CHECK_TARGETS_STRICT=1 to fail on SKIPPED too.
set -euo pipefail
CI_NAME=check-targets
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ZIGLANG_VERSION=0.17.0
CARGO_ZIGBUILD_VERSION=0.24.1
LIEF_VERSION=1.0.0
LINKED=(x86_64-unknown-freebsd x86_64-apple-darwin aarch64-apple-darwin x86_64-pc-windows-gnu)

# why_not_linked T: why pass 2 leaves T type-checked only.
why_not_linked() {
  case "$1" in
    *-windows-msvc) echo "MSVC's link.exe and the Windows SDK's import libraries are Microsoft downloads this machine cannot fetch; the windows-x86_64-msvc CI legs link and run it" ;;
    *-android*) echo "linking needs the Android NDK's toolchain, which neither Debian nor PyPI carries; cross's image links and runs it in CI" ;;
    i686-unknown-freebsd) echo "rustup ships no standard library for it; it is type-checked with std built from source, and CI's cross job links it" ;;
    i686-unknown-linux-gnu) echo "a Linux target: ci/run-i686.sh links and runs it here (the linux-i686-gnu column)" ;;
    *-linux-*) echo "a Linux target: CI's cross job links it and runs it under qemu-user" ;;
    *) echo "no linker for it here" ;;
  esac
}

link=1 prove=0 targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-link) link=0 ;;
    --prove-link-failure) prove=1 ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) targets+=("$1") ;;
  esac
  shift
done
[ ${#targets[@]} -gt 0 ] || targets=(x86_64-apple-darwin aarch64-apple-darwin x86_64-unknown-freebsd
  x86_64-pc-windows-msvc x86_64-pc-windows-gnu aarch64-linux-android
  i686-unknown-linux-gnu armv7-unknown-linux-gnueabihf i686-unknown-freebsd)

cd "$ROOT"
venv="$TARGET_DIR/ci-venv"
link_dir="$TARGET_DIR/link-check"

# nightly_build_std: a nightly toolchain with rust-src, for targets whose
# standard library rustup does not ship (installed once).
nightly_build_std() {
  if rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^rust-src'; then
    return 0
  fi
  log "rustup toolchain install nightly --profile minimal -c rust-src"
  rustup toolchain install nightly --profile minimal -c rust-src >&2
}

# link_tools: zig, cargo-zigbuild and LIEF in the virtualenv, mingw-w64 from apt.
link_tools() {
  [ -x "$venv/bin/python" ] || step "virtualenv $venv" python3 -m venv "$venv"
  local want have
  want="ziglang==$ZIGLANG_VERSION cargo-zigbuild==$CARGO_ZIGBUILD_VERSION lief==$LIEF_VERSION"
  have=$("$venv/bin/python" -c '
import importlib.metadata as m, sys
for p in sys.argv[1:]:
    try: print(p + "==" + m.version(p), end=" ")
    except m.PackageNotFoundError: pass' ziglang cargo-zigbuild lief)
  if [ "${have% }" != "$want" ]; then
    # shellcheck disable=SC2086 # want is a list of requirements
    step "pip install $want" "$venv/bin/python" -m pip install -q --disable-pip-version-check $want
  fi
  if ! command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || return 1
    step "install gcc-mingw-w64-x86-64" apt_install gcc-mingw-w64-x86-64
  fi
  export PATH="$venv/bin:$PATH"
  export CARGO_ZIGBUILD_CACHE_DIR="$TARGET_DIR/zig/cargo-zigbuild"
  export ZIG_GLOBAL_CACHE_DIR="$TARGET_DIR/zig/cache" ZIG_LOCAL_CACHE_DIR="$TARGET_DIR/zig/cache"
  # rustc asks xcrun for a macOS SDK (absent here) and warns without one; the
  # SDK this link really uses is zig's copy of libSystem's stubs, so name it.
  SDKROOT="$("$venv/bin/python" -c 'import os, ziglang; print(os.path.dirname(ziglang.__file__))')/lib/libc/darwin"
  export SDKROOT
  log "linkers: zig $("$venv/bin/python" -m ziglang version) (macOS stubs: $(cat "$SDKROOT/SDKSettings.json")), cargo-zigbuild $CARGO_ZIGBUILD_VERSION, $(x86_64-w64-mingw32-gcc --version | head -n 1)"
}

# link_one T MANIFEST [CARGO_ARGS...]: links MANIFEST's binaries for T (release);
# prints the shared libraries they need, or the undefined symbols. Returns
# cargo's status.
link_one() {
  local t="$1" manifest="$2" rc=0 cmd=(cargo zigbuild)
  shift 2
  case "$t" in *-windows-gnu) cmd=(cargo build) ;; esac
  mkdir -p "$link_dir"
  local msgs="$link_dir/$t.jsonl" diag="$link_dir/$t.log"
  "${cmd[@]}" --manifest-path "$manifest" --release --bins --target "$t" \
    --message-format=json-render-diagnostics "$@" >"$msgs" 2> >(tee "$diag" >&2) || rc=$?
  wait # for tee
  if [ "$rc" -eq 0 ]; then
    "$venv/bin/python" "$CI_DIR/link_report.py" libraries "$t" "$msgs" >&2 || rc=$?
  else
    "$venv/bin/python" "$CI_DIR/link_report.py" failure "$t" "$diag" >&2
  fi
  return "$rc"
}

# prove_link_failure: the probe links as is and fails, naming the symbol, with
# one call the target's system lacks.
prove_link_failure() {
  local probe="$TARGET_DIR/link-probe" t ok=1 absent
  mkdir -p "$probe/src"
  cat >"$probe/Cargo.toml" <<'EOF'
[package]
name = "link-probe"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

[lints.rust]
unexpected_cfgs = { level = "allow" }
EOF
  cat >"$probe/src/main.rs" <<'EOF'
// Links against the target's C library; with `--cfg absent`, also calls one
// function that system lacks, so that the link must fail naming it.
#[cfg(all(absent, target_os = "macos"))]
unsafe extern "C" {
    fn pdfork(fdp: *mut i32, flags: i32) -> i32; // FreeBSD's process descriptors
    fn mq_open(name: *const u8, oflag: i32, ...) -> i32; // POSIX queues: not in libSystem
}
#[cfg(all(absent, target_os = "freebsd"))]
unsafe extern "C" {
    fn signalfd(fd: i32, mask: *const u8, flags: i32) -> i32; // Linux only
}
#[cfg(all(absent, windows))]
unsafe extern "C" {
    fn fork() -> i32; // no fork in Win32 or msvcrt
}

fn main() {
    println!("{}", std::process::id());
    #[cfg(all(absent, target_os = "macos"))]
    // SAFETY: never run; the program exists to be linked.
    unsafe {
        println!("{} {}", pdfork(std::ptr::null_mut(), 0), mq_open(c"/x".as_ptr().cast(), 0));
    }
    #[cfg(all(absent, target_os = "freebsd"))]
    // SAFETY: never run; the program exists to be linked.
    unsafe {
        println!("{}", signalfd(-1, std::ptr::null(), 0));
    }
    #[cfg(all(absent, windows))]
    // SAFETY: never run; the program exists to be linked.
    unsafe {
        println!("{}", fork());
    }
}
EOF
  for t in "${LINKED[@]}"; do
    case "$t" in
      *-apple-darwin) absent="_pdfork _mq_open" ;;
      *-freebsd) absent="signalfd" ;;
      *-windows-gnu) absent="fork" ;;
    esac
    step "rustup target $t" rustup_target "$t"
    if ! RUSTFLAGS="" step "link probe (as is) $t" link_one "$t" "$probe/Cargo.toml"; then
      log "PROOF FAILED: $t: the probe without the absent call did not link"
      ok=0
      continue
    fi
    if RUSTFLAGS="--cfg absent" step "link probe (calling $absent) $t" link_one "$t" "$probe/Cargo.toml"; then
      log "PROOF FAILED: $t: the probe calling $absent linked"
      ok=0
      continue
    fi
    local named sym
    named=$("$venv/bin/python" "$CI_DIR/link_report.py" failure "$t" "$link_dir/$t.log")
    for sym in $absent; do
      if ! grep -qx "LINK FAILED: $t: undefined symbol $sym" <<<"$named"; then
        log "PROOF FAILED: $t: the failure did not name $sym"
        ok=0
      fi
    done
    log "proved $t: links as is; refused with: $(echo "$named" | sed 's/^LINK FAILED: [^:]*: //' | paste -sd, -)"
  done
  [ "$ok" -eq 1 ] && log "the link step fails on a symbol the target lacks, and names it, on every linked target"
  [ "$ok" -eq 1 ]
}

if [ "$prove" -eq 1 ]; then
  link_tools || die "the linkers could not be installed"
  prove_link_failure
  exit
fi

failed=() skipped=() passed=() linked=() unlinked=()
for t in "${targets[@]}"; do
  if ! rustup_target "$t" 2>&1; then
    if ! nightly_build_std; then
      log "SKIPPED: $t: no standard library from rustup and no nightly toolchain with rust-src; its check did not run"
      skipped+=("$t")
      continue
    fi
    if step "check (nightly, std built from source) $t" \
      cargo +nightly check --locked --all-targets -Zbuild-std --target "$t"; then
      passed+=("$t (nightly build-std)")
    else
      failed+=("$t")
    fi
    continue
  fi
  if step "check+clippy $t" cargo clippy --locked --all-targets --target "$t" -- -D warnings; then
    passed+=("$t")
  else
    failed+=("$t")
  fi
done

if [ "$link" -eq 1 ]; then
  tools=unknown
  for t in "${targets[@]}"; do
    case " ${LINKED[*]} " in
      *" $t "*) ;;
      *) unlinked+=("$t: $(why_not_linked "$t")"); continue ;;
    esac
    if [ "$tools" = unknown ]; then
      if link_tools; then tools=ready; else tools=missing; fi
    fi
    if [ "$tools" = missing ]; then
      log "SKIPPED: link $t: the linkers could not be installed (no network?)"
      skipped+=("link $t")
    elif step "link (release, tests and programs) $t" link_one "$t" Cargo.toml --locked --tests; then
      linked+=("$t")
    else
      failed+=("link $t")
    fi
  done
fi

log "type-checked and linted: ${passed[*]:-none}"
if [ "$link" -eq 1 ]; then
  log "linked: ${linked[*]:-none}"
  for u in ${unlinked[@]+"${unlinked[@]}"}; do log "not linked: $u"; done
fi
[ ${#skipped[@]} -eq 0 ] || log "SKIPPED (not checked): ${skipped[*]}"
if [ ${#failed[@]} -gt 0 ]; then
  log "FAILED: ${failed[*]}"
  exit 1
fi
if [ ${#skipped[@]} -gt 0 ] && [ "${CHECK_TARGETS_STRICT:-0}" = 1 ]; then
  exit 1
fi
