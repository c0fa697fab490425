#!/usr/bin/env bash
# Set up this Debian 12 machine to build aarch64-unknown-linux-gnu and run it
# under qemu-user, and to build/run x86_64-unknown-linux-musl natively.
#
#   ci/setup-qemu.sh                    # install + register binfmt, log on stderr
#   eval "$(ci/setup-qemu.sh)"          # same, and export the env it prints on stdout
# On GitHub Actions ($GITHUB_ENV set) the env is also appended there.
#
# Idempotent: installs only what is missing, registers binfmt_misc only once.
#
# Why binfmt_misc: qemu-user runs one process. When that process spawns a
# child (std::process::Command on CARGO_BIN_EXE_x), the execve of an aarch64
# ELF goes to the host kernel, which says ENOEXEC ("Exec format error") unless
# binfmt_misc knows to hand aarch64 ELFs to qemu. qemu 7.2 has no option to
# intercept execve itself. We register our own entry, named ipcconf-aarch64,
# whose interpreter (installed to /usr/local/libexec) runs
# `qemu-aarch64 -L /usr/aarch64-linux-gnu`, so children find the aarch64
# loader and libc even when spawned with a cleared environment.
# Registering needs root (or CAP_SYS_ADMIN) once per boot; it is machine-wide.
#
# Knobs: QEMU_SKIP_BINFMT=1 skips the registration (then only single-process
# programs work under ci/qemu/runner.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SYSROOT=/usr/aarch64-linux-gnu
APT_PACKAGES=(qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross musl-tools)
RUST_TARGETS=(aarch64-unknown-linux-gnu x86_64-unknown-linux-musl)
BINFMT_DIR=/proc/sys/fs/binfmt_misc
BINFMT_NAME=ipcconf-aarch64
INTERP=/usr/local/libexec/ipcconf-qemu-aarch64

log() { printf '[setup-qemu] %s\n' "$*" >&2; }
SECONDS=0
step_start=0
step() { step_start=$SECONDS; log "$*"; }
step_done() { log "  done in $((SECONDS - step_start))s"; }
SUDO=(); [[ $(id -u) -eq 0 ]] || SUDO=(sudo)

# --- Debian packages ---------------------------------------------------------
# qemu-user (dynamic, ~100 MB) provides /usr/bin/qemu-aarch64; its Recommends
# (qemu-user-binfmt) would register binfmt through systemd, which a container
# does not run, so we skip recommends and register ourselves below.
missing=()
for p in "${APT_PACKAGES[@]}"; do
  if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]]; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  step "apt-get update"
  "${SUDO[@]}" apt-get update -qq >&2
  step_done
  step "apt-get install --no-install-recommends ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  step_done
else
  log "Debian packages already installed: ${APT_PACKAGES[*]}"
fi
for p in "${APT_PACKAGES[@]}"; do
  log "  $(dpkg-query -W -f='${Package} ${Version}' "$p")"
done

# --- rustup targets -------------------------------------------------------------
installed_targets="$(rustup target list --installed)"
for t in "${RUST_TARGETS[@]}"; do
  if grep -qx "$t" <<<"$installed_targets"; then
    log "rustup target $t already installed"
  else
    step "rustup target add $t"
    rustup target add "$t" >&2
    step_done
  fi
done

# --- binfmt_misc: let spawned aarch64 children run under qemu too --------------
binfmt_status=skipped
if [[ "${QEMU_SKIP_BINFMT:-0}" == 1 ]]; then
  log "QEMU_SKIP_BINFMT=1: not registering binfmt_misc (child processes will fail with ENOEXEC)"
else
  # The interpreter: a fixed path outside the repo, since the registration
  # outlives this checkout. The kernel runs it as: INTERP /path/to/elf args...
  want_interp="#!/bin/sh
# Installed by ipc-conformance ci/setup-qemu.sh; binfmt_misc entry $BINFMT_NAME.
exec /usr/bin/qemu-aarch64 -L $SYSROOT \"\$@\"
"
  if [[ ! -f "$INTERP" || "$(cat "$INTERP")" != "$(printf '%s' "$want_interp")" ]]; then
    step "installing binfmt interpreter $INTERP"
    "${SUDO[@]}" mkdir -p "$(dirname "$INTERP")"
    printf '%s' "$want_interp" | "${SUDO[@]}" tee "$INTERP" >/dev/null
    "${SUDO[@]}" chmod 755 "$INTERP"
    step_done
  fi
  if [[ ! -e "$BINFMT_DIR/register" ]]; then
    step "mounting binfmt_misc on $BINFMT_DIR"
    if "${SUDO[@]}" mount -t binfmt_misc binfmt_misc "$BINFMT_DIR" >&2; then
      step_done
    else
      log "  could not mount binfmt_misc (not root / no CAP_SYS_ADMIN?)"
    fi
  fi
  if [[ -e "$BINFMT_DIR/$BINFMT_NAME" ]]; then
    log "binfmt_misc entry $BINFMT_NAME already registered"
    binfmt_status=registered
  elif [[ -w "$BINFMT_DIR/register" || -n "${SUDO[*]}" ]] && [[ -e "$BINFMT_DIR/register" ]]; then
    # Another aarch64 handler (e.g. Debian's qemu-user-binfmt, qemu-aarch64)
    # would match first if registered earlier; it works too if it finds the
    # sysroot (QEMU_LD_PREFIX), so we just add ours and report both.
    for other in "$BINFMT_DIR"/qemu-aarch64*; do
      [[ -e "$other" ]] && log "note: also registered: $other ($(grep -m1 interpreter "$other"))"
    done
    step "registering binfmt_misc entry $BINFMT_NAME -> $INTERP"
    # ELF64, little endian, e_machine = 0xb7 (EM_AARCH64); the mask ignores
    # OS ABI/padding and lets e_type be ET_EXEC or ET_DYN (PIE).
    magic='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
    mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
    # Flag F: the kernel opens the interpreter now, so it also works inside
    # other mount namespaces/chroots.
    if printf ':%s:M::%s:%s:%s:F\n' "$BINFMT_NAME" "$magic" "$mask" "$INTERP" |
       "${SUDO[@]}" tee "$BINFMT_DIR/register" >/dev/null; then
      binfmt_status=registered
      step_done
    else
      log "  registration failed"
      binfmt_status=failed
    fi
  else
    log "binfmt_misc not available: spawned aarch64 children will fail with ENOEXEC"
    binfmt_status=unavailable
  fi
fi

log "binfmt: $binfmt_status"
log "total ${SECONDS}s"

# --- the environment a caller needs (stdout, for eval) ---------------------------
print_env() {
cat <<EOF
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER=$ROOT/ci/qemu/runner.sh
export QEMU_LD_PREFIX=$SYSROOT
EOF
}
print_env
# On GitHub Actions also persist it for later steps (KEY=VALUE lines).
if [[ -n "${GITHUB_ENV:-}" ]]; then
  print_env | sed 's/^export //' >>"$GITHUB_ENV"
  log "appended the environment to \$GITHUB_ENV"
fi
