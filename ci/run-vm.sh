#!/usr/bin/env bash
# A full-system VM column: boots another kernel in qemu-system-x86_64, runs every
# suite inside it, and brings the result set back to this host.
#
#   ci/run-vm.sh [--out DIR] [--kernel FILE | --debian-kernel SERIES] [--initrd FILE]
#                [--disk FILE] [--append ARGS] [--accel tcg|kvm] [--user root|nonroot]
#                [--cpus N] [--memory MIB] [--timeout SECONDS] [-- TEST_ARGS...]
#
# Default: Debian bookworm's newest Linux 6.1 cloud kernel package, fetched with
# `apt-get download` through a private sources list and private package lists
# under target/vm/apt/ (the system's apt configuration is never touched; the
# archive is verified with the system's debian-archive-keyring), unpacked with
# dpkg-deb and cached in target/vm/; booted with an initramfs built here:
# busybox-static, ci/vm/init.sh (as /init), and static x86_64-unknown-linux-musl
# builds of every suite binary and of ipcconf-peer (beside them, and named by
# $IPCCONF_PEER). The result set goes to target/ipc-sets/linux-x86_64-musl-vm-<series>
# (the column "linux-x86_64-musl (vm)"; each kernel is a version of it). The
# kernel package, its version and suite are recorded in the run's os_version and
# runtime_detail.
#
# --out DIR               the result set (emptied first; default
#                         target/ipc-sets/linux-x86_64-musl-vm-<series>, or
#                         ...-musl-vm with --kernel or --disk)
# --kernel FILE           boot this kernel (a bzImage) instead of Debian's 6.1; it needs
#                         built in: the 8250 serial console, devtmpfs, tmpfs, POSIX
#                         message queues, System V IPC, Unix sockets
# --debian-kernel SERIES  Debian's newest cloud kernel of SERIES (default 6.1): 5.10
#                         from bullseye(-security), 6.1 from bookworm(-security), 6.12
#                         from trixie(-security), any other (7, 7.2, 7.3) from sid or
#                         experimental. Older series are gone from deb.debian.org
#                         (buster's 4.19 is on archive.debian.org only)
# --initrd FILE           boot this initramfs instead of building one; it must speak the
#                         protocol below
# --disk FILE             attach a disk image (virtio, raw or qcow2 by its extension,
#                         snapshot mode: the image is never changed) and build no
#                         initramfs: with --kernel, e.g. --append "root=/dev/vda1" (the
#                         kernel needs virtio-blk built in, or an --initrd that loads
#                         it); without --kernel the disk's own boot loader starts
#                         (another OS image). The guest must speak the protocol below
# --append ARGS           extra kernel command line
# --accel tcg|kvm         CPU emulation in software (default) or KVM (needs /dev/kvm;
#                         a KVM guest hung in its firmware on this project's machines)
# --user root|nonroot     who runs the suites in the guest (default: as this script
#                         runs: root when run as root, else uid 1000)
# --cpus N, --memory MIB  the guest's vCPUs (default 2) and memory (default 2048)
# --timeout SECONDS       the whole VM's bound (default 900); the guest is killed after it
# -- TEST_ARGS            passed to every test binary in the guest (e.g. a name filter)
#
# Protocol (what a custom --initrd or --disk must do): run the suites with
# IPC_RUNTIME=vm and IPC_RUNTIME_DETAIL naming the accelerator (TCG or KVM; under
# TCG the performance claims are skipped), then write to the second serial port
# (COM2, /dev/ttyS1 on Linux):
#   IPCCONF-RESULTS-BEGIN <sha256 of the archive> <bytes>
#   <the result set directory as a gzipped tar (run.json, results/), base64>
#   IPCCONF-RESULTS-END <suites run> <suites failed>
# and power off. The first serial port is the console, logged to
# target/vm/work/console.log. The host verifies size and checksum before it
# unpacks anything into --out.
#
# Installs what it needs once (qemu-system-x86, busybox-static, cpio, the rustup
# musl target). Exit status: 0 when every suite in the guest met its expectations,
# 1 when some did not or nothing came back, 2 on bad arguments.
set -euo pipefail
CI_NAME=run-vm
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TARGET=x86_64-unknown-linux-musl
out="" kernel="" series=6.1 initrd="" disk="" append=""
accel=tcg user="" cpus=2 memory=2048 timeout=900 test_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --kernel) kernel="$2"; shift 2 ;;
    --debian-kernel) series="$2"; shift 2 ;;
    --initrd) initrd="$2"; shift 2 ;;
    --disk) disk="$2"; shift 2 ;;
    --append) append="$2"; shift 2 ;;
    --accel) accel="$2"; shift 2 ;;
    --user) user="$2"; shift 2 ;;
    --cpus) cpus="$2"; shift 2 ;;
    --memory) memory="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    --) shift; test_args=("$@"); break ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || die "needs an x86_64 Linux host"
case "$accel" in tcg | kvm) ;; *) die "--accel must be tcg or kvm, not '$accel'" ;; esac
[ -n "$user" ] || { [ "$(id -u)" -eq 0 ] && user=root || user=nonroot; }
case "$user" in root | nonroot) ;; *) die "--user must be root or nonroot, not '$user'" ;; esac
for n in "$cpus" "$memory" "$timeout"; do
  case "$n" in '' | *[!0-9]*) die "--cpus, --memory and --timeout take a number, not '$n'" ;; esac
done
case "$series" in '' | *[!0-9.]*) die "--debian-kernel takes a series like 6.1, not '$series'" ;; esac
for f in "$kernel" "$initrd" "$disk"; do
  [ -z "$f" ] || [ -f "$f" ] || die "no such file: $f"
done
[ -z "$kernel" ] || kernel="$(abspath "$kernel")"
[ -z "$initrd" ] || initrd="$(abspath "$initrd")"
[ -z "$disk" ] || disk="$(abspath "$disk")"
# One result set per kernel: linux-x86_64-musl-vm-<series> for a Debian kernel,
# linux-x86_64-musl-vm for one of yours.
if [ -z "$out" ]; then
  if [ -z "$kernel" ] && [ -z "$disk" ]; then
    out="$SETS_DIR/linux-x86_64-musl-vm-$series"
  else
    out="$SETS_DIR/linux-x86_64-musl-vm"
  fi
fi
out="$(abspath "$out")"
cd "$ROOT"

VM_DIR="$TARGET_DIR/vm"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
WORK="$VM_DIR/work"
fresh_dir "$WORK"

setup() {
  apt_install qemu-system-x86 busybox-static cpio debian-archive-keyring
  rustup_target "$TARGET"
}

# debian_suites SERIES: the Debian suites (with their security suite) that carry
# the cloud kernel of SERIES, one group a line, the first group that has it
# wins: bullseye 5.10, bookworm 6.1, trixie 6.12; any other series is looked for
# in unstable, then in experimental (sid had 7.2 and experimental 7.3 release
# candidates when this was written: "7" is sid's 7.2, "7.3" experimental's).
debian_suites() {
  case "$1" in
    5.10) echo "bullseye bullseye-security" ;;
    6.1) echo "bookworm bookworm-security" ;;
    6.12) echo "trixie trixie-security" ;;
    *) printf 'sid\nexperimental\n' ;;
  esac
}

# debian_apt SUITES -- ARGS...: apt-get or apt-cache (the word after --) with a
# private sources list and state under $VM_DIR/apt/<first suite>/, never the
# system's: Debian's archive (deb.debian.org) verified with the archive keys of
# the system keyring (debian-archive-keyring). Other configuration (a proxy in
# /etc/apt/apt.conf.d) still applies; pinning and extra sources do not.
debian_apt() {
  local suites="$1" tool="$3" dir s
  shift 3
  dir="$VM_DIR/apt/${suites%% *}"
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
  : >"$dir/sources.list.tmp"
  for s in $suites; do
    local uri=http://deb.debian.org/debian
    case "$s" in *-security) uri=http://deb.debian.org/debian-security ;; esac
    printf 'deb [signed-by=%s] %s %s main\n' "$KEYRING" "$uri" "$s" >>"$dir/sources.list.tmp"
  done
  mv "$dir/sources.list.tmp" "$dir/sources.list"
  "$tool" -q -o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null \
    -o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache" \
    -o Acquire::Languages=none -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false \
    -o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false "$@"
}

# debian_kernel: the newest Debian cloud kernel of $series, unpacked once into
# $VM_DIR/<package>/; prints the path of its vmlinuz. The package lists are
# fetched when missing or a day old; the kernel package when not yet unpacked.
# Where Debian splits the kernel (sid: linux-image-V is a wrapper that depends
# on linux-binary-V, the kernel file, and linux-base-V, its config), the
# binary and base packages are fetched.
debian_kernel() {
  command -v apt-get >/dev/null || die "no apt here: pass --kernel FILE"
  [ -f "$KEYRING" ] || die "no $KEYRING (apt-get install debian-archive-keyring)"
  local suites="" group re ver="" pkg dir lists
  # The versions of the series, e.g. 6.1.0-41, 6.12.57+deb13, 7.2.13+deb14.
  # After the series comes a separator (6.1 is not 6.12): 7.2.13+deb14, 7.3-cloud.
  re="^linux-(image|binary)-${series//./\\.}([.+~-][^ ]*)?-cloud-amd64\$"
  while read -r group; do
    lists="$VM_DIR/apt/${group%% *}/lists"
    if [ -z "$(find "$lists" -maxdepth 1 -name '*_Packages*' -mtime -1 2>/dev/null | head -n 1)" ]; then
      log "apt-get update (private lists for $group)"
      debian_apt "$group" -- apt-get update >&2 || die "apt-get update of $group failed"
    fi
    ver="$(debian_apt "$group" -- apt-cache pkgnames linux- | grep -E "$re" |
      sed -E 's/^linux-(image|binary)-//; s/-cloud-amd64$//' | sort -uV | tail -n 1)"
    suites="$group"
    [ -z "$ver" ] || break
  done < <(debian_suites "$series")
  [ -n "$ver" ] || die "Debian has no cloud kernel of series $series (matching $re) in $(debian_suites "$series" | paste -sd' ')"
  local pkgs=("linux-image-$ver-cloud-amd64")
  if debian_apt "$suites" -- apt-cache show "linux-binary-$ver-cloud-amd64" >/dev/null 2>&1; then
    pkgs=("linux-binary-$ver-cloud-amd64" "linux-base-$ver-cloud-amd64")
  fi
  pkg="${pkgs[0]}"
  dir="$VM_DIR/$pkg"
  if [ ! -f "$dir/vmlinuz" ]; then
    rm -rf "$dir.tmp"
    mkdir -p "$dir.tmp/deb" "$dir.tmp/x"
    # apt's sandbox user must be able to write the download directory.
    chmod 0777 "$dir.tmp/deb"
    (cd "$dir.tmp/deb" && debian_apt "$suites" -- apt-get download "${pkgs[@]}" >&2) ||
      die "apt-get download ${pkgs[*]} failed"
    local deb p
    # The kernel package first: its line names the run's kernel.
    for p in "${pkgs[@]}"; do
      deb="$(ls "$dir.tmp/deb/${p}_"*.deb)"
      dpkg-deb -x "$deb" "$dir.tmp/x"
      dpkg-deb -f "$deb" Package Version | sed 's/^[A-Za-z]*: //' | paste -sd' ' >>"$dir.tmp/package"
    done
    find "$dir.tmp/x" \( -name 'vmlinuz*' -type f \) -exec cp {} "$dir.tmp/vmlinuz" \;
    find "$dir.tmp/x" \( -name 'config-*' -o -name config \) -type f -exec cp {} "$dir.tmp/config" \;
    if [ ! -f "$dir.tmp/vmlinuz" ] || [ ! -f "$dir.tmp/config" ]; then
      die "${pkgs[*]}: no vmlinuz or config inside"
    fi
    # The suite the kernel package came from (e.g. bullseye-security).
    debian_apt "$suites" -- apt-cache madison "$pkg" |
      awk -F' [|] ' -v v="$(awk 'NR == 1 {print $2}' "$dir.tmp/package")" '{gsub(/^ +| +$/, "", $2)} $2 == v {split($3, a, " "); split(a[2], b, "/"); print b[1]; exit}' \
        >"$dir.tmp/suite"
    rm -rf "$dir.tmp/x" "$dir.tmp/deb" "$dir"
    mv "$dir.tmp" "$dir"
  fi
  # The guest needs these built in (the initramfs loads no modules).
  local opt missing=()
  for opt in SERIAL_8250_CONSOLE DEVTMPFS TMPFS POSIX_MQUEUE SYSVIPC UNIX BLK_DEV_INITRD; do
    grep -qx "CONFIG_$opt=y" "$dir/config" || missing+=("$opt")
  done
  [ ${#missing[@]} -eq 0 ] || die "$pkg lacks built-in ${missing[*]}"
  printf '%s\n' "$dir/vmlinuz"
}

# build_suites: static musl builds of every suite (suites/*.rs; the tests of the
# tooling in tests/ need cargo and stay on the host) and of ipcconf-peer; writes
# "name path" lines to $WORK/binaries.
build_suites() {
  cargo test --no-run --locked --target "$TARGET" --message-format=json-render-diagnostics \
    >"$WORK/cargo.json"
  jq -r 'select(.reason == "compiler-artifact" and .executable != null)
         | select((.target.kind == ["test"] and (.target.src_path | test("/suites/[^/]+[.]rs$")))
                  or .target.name == "ipcconf-peer")
         | "\(.target.name) \(.executable)"' "$WORK/cargo.json" | sort -u >"$WORK/binaries"
  grep -q '^ipcconf-peer ' "$WORK/binaries" || die "cargo built no ipcconf-peer"
  # The static ipcconf of this build reads the result set on this host.
  ipcconf_built_by "$TARGET" debug
  log "$(grep -vc '^ipcconf-peer ' "$WORK/binaries") test binaries and ipcconf-peer built for $TARGET"
}

# build_initramfs DETAIL: the initramfs of busybox, ci/vm/init.sh and the binaries.
build_initramfs() {
  local detail="$1" root="$WORK/initramfs" name path
  mkdir -p "$root"/{bin,etc,proc,sys,dev,tmp,root,home/ipc,ipcconf/bin}
  cp /bin/busybox "$root/bin/busybox"
  cp "$CI_DIR/vm/init.sh" "$root/init"
  chmod 0755 "$root/init"
  while read -r name path; do
    strip --strip-debug -o "$root/ipcconf/bin/$name" "$path"
    [ "$name" = ipcconf-peer ] || printf '%s\n' "$name" >>"$root/ipcconf/suites"
  done <"$WORK/binaries"
  printf 'root:x:0:0:root:/root:/bin/sh\nipc:x:1000:1000:ipc:/home/ipc:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\nipc:x:1000:\n' >"$root/etc/group"
  # What the harness records as the OS: the kernel package booted, this userland.
  printf 'PRETTY_NAME="%s, busybox initramfs"\n' "$kernel_desc" >"$root/etc/os-release"
  {
    printf 'IPCCONF_USER=%s\n' "$user"
    printf "IPC_RUNTIME_DETAIL='%s'\n" "$detail"
    printf "IPCCONF_TEST_ARGS='%s'\n" "${test_args[*]:-}"
  } >"$root/ipcconf/env"
  (cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$WORK/initramfs.cpio.gz"
  log "initramfs: $(du -h "$WORK/initramfs.cpio.gz" | cut -f1)"
  initrd="$WORK/initramfs.cpio.gz"
}

# boot: runs the VM until it powers off or the timeout ends it.
boot() {
  local args=(-nodefaults -no-reboot -display none -smp "$cpus" -m "$memory"
    -serial "file:$WORK/console.log" -serial "file:$WORK/com2.txt")
  if [ "$accel" = kvm ]; then
    [ -w /dev/kvm ] || die "--accel kvm: /dev/kvm is missing or not writable"
    args+=(-accel kvm -cpu host)
  else
    args+=(-accel "tcg,thread=multi" -cpu max)
  fi
  if [ -n "$kernel" ]; then
    args+=(-kernel "$kernel" -append "console=ttyS0 panic=-1 quiet $append")
    [ -z "$initrd" ] || args+=(-initrd "$initrd")
  fi
  if [ -n "$disk" ]; then
    local fmt=raw
    case "$disk" in *.qcow2) fmt=qcow2 ;; esac
    args+=(-drive "file=$disk,format=$fmt,if=virtio,snapshot=on")
  fi
  log "qemu-system-x86_64 ${args[*]}"
  local rc=0
  timeout --kill-after=10 "$timeout" qemu-system-x86_64 "${args[@]}" </dev/null || rc=$?
  sed -n 's/^\[vm-init\] //p' "$WORK/console.log" >&2 || true
  [ "$rc" -ne 124 ] || log "the VM did not power off within ${timeout}s; killed (console: $WORK/console.log)"
  return "$rc"
}

# unpack: verifies the framed result set on COM2 and unpacks it into $out.
unpack() {
  local begin end sum size got
  begin="$(grep -a -m1 '^IPCCONF-RESULTS-BEGIN ' "$WORK/com2.txt" | tr -d '\r' || true)"
  end="$(grep -a -m1 '^IPCCONF-RESULTS-END ' "$WORK/com2.txt" | tr -d '\r' || true)"
  if [ -z "$begin" ] || [ -z "$end" ]; then
    log "NO RESULTS: the guest sent no complete result set on COM2 (console: $WORK/console.log)"
    tail -n 30 "$WORK/console.log" >&2 || true
    return 1
  fi
  read -r _ sum size <<<"$begin"
  read -r _ vm_suites vm_failed <<<"$end"
  tr -d '\r' <"$WORK/com2.txt" | sed -n '/^IPCCONF-RESULTS-BEGIN /,/^IPCCONF-RESULTS-END /p' |
    sed '1d;$d' | base64 -d >"$WORK/results.tgz"
  got="$(sha256sum "$WORK/results.tgz" | cut -d' ' -f1)"
  if [ "$got" != "$sum" ] || [ "$(stat -c %s "$WORK/results.tgz")" != "$size" ]; then
    log "CORRUPT: the result set's checksum or size differs from what the guest sent ($got vs $sum)"
    return 1
  fi
  fresh_dir "$out"
  tar -C "$out" -xzf "$WORK/results.tgz" --no-same-owner
  log "result set verified (sha256 $sum, $size bytes): $vm_suites suites ran, $vm_failed failed"
}

SECONDS=0
step "setup" setup
if [ -z "$kernel" ] && [ -z "$disk" ]; then
  kernel="$(step "kernel: Debian's newest cloud kernel of series $series" debian_kernel)"
  # "Debian bullseye-security linux-image-5.10.0-46-cloud-amd64 5.10.262-1"
  kernel_desc="Debian $(cat "$(dirname "$kernel")/suite") $(head -n 1 "$(dirname "$kernel")/package")"
else
  kernel_desc="kernel $(basename "${kernel:-of-the-disk-image}")"
fi
qemu_version="$(qemu-system-x86_64 --version | head -n 1 | sed 's/^QEMU emulator version //')"
if [ "$accel" = kvm ]; then
  detail="qemu-system-x86_64 $qemu_version, KVM (hardware virtualization), $cpus vCPUs"
else
  detail="qemu-system-x86_64 $qemu_version, TCG (software CPU emulation, -cpu max), $cpus vCPUs"
fi
# The kernel booted belongs in the detail too: the Runs table shows it beside
# uname's release.
detail="$detail; kernel: $kernel_desc"
if [ -n "$kernel" ] && [ -z "$initrd" ] && [ -z "$disk" ]; then
  step "build the suites for $TARGET" build_suites
  step "initramfs" build_initramfs "$detail"
fi
vm_suites=0 vm_failed=0
rc=0
step "boot and run the suites in the guest ($accel, $user)" boot || rc=$?
[ "$rc" -eq 0 ] || log "qemu exited $rc"
unpack || exit 1
log "VM column took ${SECONDS}s (accelerator $accel; guest user $user)"
summarize_set "$out" vm || exit 1
[ "$vm_failed" = 0 ] || exit 1
