#!/usr/bin/env bash
# Set up this Debian 12 machine to build Linux targets of other CPUs and run
# them under qemu-user (aarch64 by default; s390x, big-endian, with --target),
# and to build/run x86_64-unknown-linux-musl natively.
#
#   ci/setup-qemu.sh [--target TRIPLE]...          # install + register binfmt, log on stderr
#   eval "$(ci/setup-qemu.sh --target TRIPLE)"     # same, and export the env it prints on stdout
# TRIPLE: aarch64-unknown-linux-gnu (the default) or s390x-unknown-linux-gnu
# (the table is ci/qemu/arch.sh). On GitHub Actions ($GITHUB_ENV set) the env
# is also appended there.
#
# Idempotent: installs only what is missing, registers binfmt_misc only once.
#
# Why binfmt_misc: qemu-user runs one process. When that process spawns a
# child (std::process::Command on CARGO_BIN_EXE_x), the execve of a foreign
# ELF goes to the host kernel, which says ENOEXEC ("Exec format error") unless
# binfmt_misc knows to hand such ELFs to qemu. qemu 7.2 has no option to
# intercept execve itself. We register our own entry per CPU, named
# ipcconf-<cpu>, whose interpreter (installed to /usr/local/libexec) runs
# `qemu-<cpu> -L /usr/<cpu>-linux-gnu`, so children find the target's loader
# and libc even when spawned with a cleared environment.
# Registering needs root (or CAP_SYS_ADMIN) once per boot; it is machine-wide.
#
# Knobs: QEMU_SKIP_BINFMT=1 skips the registration (then only single-process
# programs work under ci/qemu/runner.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/ci/qemu/arch.sh"

CI_NAME=setup-qemu
. "$ROOT/ci/lib.sh"

triples=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --target)
      [[ $# -ge 2 ]] || { log "error: --target needs a triple"; exit 2; }
      qemu_arch "$2" || { log "error: unknown target '$2' (known: $QEMU_TRIPLES)"; exit 2; }
      triples+=("$2"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) log "error: unknown argument $1 (see --help)"; exit 2 ;;
  esac
done
[[ ${#triples[@]} -gt 0 ]] || triples=(aarch64-unknown-linux-gnu)

APT_PACKAGES=(qemu-user musl-tools)
RUST_TARGETS=(x86_64-unknown-linux-musl)
for t in "${triples[@]}"; do
  qemu_arch "$t"
  read -r -a pkgs <<<"$PACKAGES"
  APT_PACKAGES+=("${pkgs[@]}")
  RUST_TARGETS+=("$t")
done
BINFMT_DIR=/proc/sys/fs/binfmt_misc

SECONDS=0
# phase MSG ... phase_done: logs a multi-command phase and its duration
# (lib.sh's `step NAME CMD...` times a single command).
phase_start=0
phase() { phase_start=$SECONDS; log "$*"; }
phase_done() { log "  done in $((SECONDS - phase_start))s"; }
SUDO=(); [[ $(id -u) -eq 0 ]] || SUDO=(sudo)

# --- Debian packages ---------------------------------------------------------
# qemu-user (dynamic, ~100 MB) provides /usr/bin/qemu-<cpu>; its Recommends
# (qemu-user-binfmt) would register binfmt through systemd, which a container
# does not run, so apt_install skips recommends and we register ourselves below.
step "Debian packages" apt_install "${APT_PACKAGES[@]}"
for p in "${APT_PACKAGES[@]}"; do
  log "  $(dpkg-query -W -f='${Package} ${Version}' "$p")"
done

# --- rustup targets -------------------------------------------------------------
for t in "${RUST_TARGETS[@]}"; do
  step "rustup target $t" rustup_target "$t"
done

# --- binfmt_misc: let spawned foreign children run under qemu too ---------------
# register_binfmt: registers ipcconf-$QARCH for the target qemu_arch last set.
register_binfmt() {
  local name="ipcconf-$QARCH" interp="/usr/local/libexec/ipcconf-qemu-$QARCH" other
  # The interpreter: a fixed path outside the repo, since the registration
  # outlives this checkout. The kernel runs it as: INTERP /path/to/elf args...
  local want_interp="#!/bin/sh
# Installed by ipc-conformance ci/setup-qemu.sh; binfmt_misc entry $name.
exec /usr/bin/qemu-$QARCH -L $SYSROOT \"\$@\"
"
  if [[ ! -f "$interp" || "$(cat "$interp")" != "$(printf '%s' "$want_interp")" ]]; then
    phase "installing binfmt interpreter $interp"
    "${SUDO[@]}" mkdir -p "$(dirname "$interp")"
    printf '%s' "$want_interp" | "${SUDO[@]}" tee "$interp" >/dev/null
    "${SUDO[@]}" chmod 755 "$interp"
    phase_done
  fi
  if [[ -e "$BINFMT_DIR/$name" ]]; then
    log "binfmt_misc entry $name already registered"
    return 0
  fi
  if [[ ! -e "$BINFMT_DIR/register" ]] || [[ ! -w "$BINFMT_DIR/register" && -z "${SUDO[*]}" ]]; then
    log "binfmt_misc not available: spawned $QARCH children will fail with ENOEXEC"
    return 2
  fi
  # Another handler for the same CPU (e.g. Debian's qemu-user-binfmt) would
  # match first if registered earlier; it works too if it finds the sysroot
  # (QEMU_LD_PREFIX), so we just add ours and report both.
  for other in "$BINFMT_DIR"/qemu-"$QARCH"*; do
    [[ -e "$other" ]] && log "note: also registered: $other ($(grep -m1 interpreter "$other"))"
  done
  phase "registering binfmt_misc entry $name -> $interp"
  # The mask ignores OS ABI/padding and lets e_type be ET_EXEC or ET_DYN (PIE).
  # Flag F: the kernel opens the interpreter now, so it also works inside
  # other mount namespaces/chroots.
  if printf ':%s:M::%s:%s:%s:F\n' "$name" "$MAGIC" "$MASK" "$interp" |
     "${SUDO[@]}" tee "$BINFMT_DIR/register" >/dev/null; then
    phase_done
  else
    log "  registration failed"
    return 1
  fi
}

binfmt_status=skipped
if [[ "${QEMU_SKIP_BINFMT:-0}" == 1 ]]; then
  log "QEMU_SKIP_BINFMT=1: not registering binfmt_misc (child processes will fail with ENOEXEC)"
else
  if [[ ! -e "$BINFMT_DIR/register" ]]; then
    phase "mounting binfmt_misc on $BINFMT_DIR"
    if "${SUDO[@]}" mount -t binfmt_misc binfmt_misc "$BINFMT_DIR" >&2; then
      phase_done
    else
      log "  could not mount binfmt_misc (not root / no CAP_SYS_ADMIN?)"
    fi
  fi
  binfmt_status=registered
  for t in "${triples[@]}"; do
    qemu_arch "$t"
    rc=0
    register_binfmt || rc=$?
    case "$rc" in
      0) ;;
      2) binfmt_status=unavailable ;;
      *) binfmt_status=failed ;;
    esac
  done
fi

log "binfmt: $binfmt_status"
log "total ${SECONDS}s"

# --- the environment a caller needs (stdout, for eval) ---------------------------
# The runner picks qemu and the sysroot from each program's ELF header, so one
# runner serves every target; QEMU_LD_PREFIX is set only for a single target.
print_env() {
  local t var
  for t in "${triples[@]}"; do
    qemu_arch "$t"
    var="$(printf '%s' "$t" | tr 'a-z-' 'A-Z_')"
    echo "export CARGO_TARGET_${var}_LINKER=$LINKER"
    echo "export CARGO_TARGET_${var}_RUNNER=$ROOT/ci/qemu/runner.sh"
  done
  if [[ ${#triples[@]} -eq 1 ]]; then
    echo "export QEMU_LD_PREFIX=$SYSROOT"
  fi
}
print_env
# On GitHub Actions also persist it for later steps (KEY=VALUE lines).
if [[ -n "${GITHUB_ENV:-}" ]]; then
  print_env | sed 's/^export //' >>"$GITHUB_ENV"
  log "appended the environment to \$GITHUB_ENV"
fi
