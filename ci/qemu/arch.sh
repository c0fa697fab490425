# shellcheck shell=bash
# The Linux targets this x86_64 machine runs under qemu-user, in one table
# (sourced by ci/setup-qemu.sh, ci/run-qemu.sh and ci/qemu/runner.sh).
#
# qemu_arch TRIPLE  sets, for a Rust target triple:
#   QARCH      qemu's name of the CPU (qemu-$QARCH is the emulator)
#   SYSROOT    the cross loader and libc (Debian's libc6-*-cross)
#   LINKER     the cross gcc cargo links with
#   PACKAGES   the Debian packages the target needs (besides qemu-user)
#   MAGIC MASK the binfmt_misc magic and mask of the target's ELF executables
#              (e_ident class/data/version, e_type ET_EXEC or ET_DYN, e_machine)
#   MAGIC_HEX  MAGIC as /proc/sys/fs/binfmt_misc/<entry> prints it
# and returns 1 for a triple it does not know.
# elf_qarch FILE    prints the QARCH of an ELF executable (empty when none of the table's).

# shellcheck disable=SC2034 # read by the scripts that source this file
QEMU_TRIPLES="aarch64-unknown-linux-gnu s390x-unknown-linux-gnu"

qemu_arch() {
  case "$1" in
    aarch64-unknown-linux-gnu)
      QARCH=aarch64
      PACKAGES="gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
      # ELF64, little endian, e_machine 0xb7 (EM_AARCH64)
      MAGIC='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
      MASK='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
      MAGIC_HEX=7f454c460201010000000000000000000200b700
      ;;
    s390x-unknown-linux-gnu)
      QARCH=s390x
      PACKAGES="gcc-s390x-linux-gnu libc6-dev-s390x-cross"
      # ELF64, big endian: e_type and e_machine (0x16, EM_S390) are big-endian too
      MAGIC='\x7fELF\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x16'
      MASK='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff'
      MAGIC_HEX=7f454c4602020100000000000000000000020016
      ;;
    *) return 1 ;;
  esac
  SYSROOT="/usr/$QARCH-linux-gnu"
  LINKER="$QARCH-linux-gnu-gcc"
  # shellcheck disable=SC2034 # read by the scripts that source this file
  : "$SYSROOT" "$LINKER" "$PACKAGES" "$MAGIC" "$MASK" "$MAGIC_HEX"
}

elf_qarch() {
  local h
  h="$(od -An -tx1 -N20 "$1" 2>/dev/null | tr -d ' \n')" || return 0
  case "$h" in
    7f454c46020101??????????????????????b700) echo aarch64 ;;
    7f454c46020201??????????????????????0016) echo s390x ;;
  esac
}
