# shellcheck shell=bash
# shellcheck disable=SC2153,SC2317 # names set by ci/reliability.sh; functions called by name
# Scenarios of ci/reliability.sh (sourced): what a CI container does to a
# process (Docker's seccomp profile, a small /dev/shm, a user namespace, a
# read-only root), reproduced with bubblewrap.

# The Python with libseccomp's bindings (Debian's python3-seccomp is built for
# /usr/bin/python3, which another python3 earlier in PATH may not be).
seccomp_python() {
  local p
  for p in /usr/bin/python3 python3; do
    "$p" -c 'import seccomp' 2>/dev/null && { echo "$p"; return 0; }
  done
  return 1
}

# Writes to $1 a BPF program that refuses what Docker's default seccomp profile
# refuses and an IPC check might call. Docker's profile is an allowlist whose
# default action is EPERM (docs.docker.com/engine/security/seccomp, "Significant
# syscalls blocked by the default profile"; moby/profiles seccomp/default.json):
# the calls below are the ones it leaves out, or allows only with a capability
# its containers lack (CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_SYS_NICE, ...). io_uring
# has been out of it since moby PR 46762 (Docker 25); clone3 gets ENOSYS so that
# libc falls back to clone, whose namespace flags get EPERM. Everything else is
# allowed here (a blocklist: the allowlist's other omissions are calls no IPC
# check makes).
seccomp_bpf() {
  local py
  py=$(seccomp_python) || { echo "libseccomp's Python bindings (python3-seccomp) are missing" >&2; return 1; }
  "$py" - "$1" <<'PY'
import errno, sys
import seccomp
DENIED = """
io_uring_setup io_uring_enter io_uring_register
keyctl add_key request_key userfaultfd
unshare setns mount umount2 pivot_root fsopen fsmount fsconfig fspick move_mount
open_tree mount_setattr
bpf perf_event_open fanotify_init open_by_handle_at name_to_handle_at kcmp
mbind set_mempolicy get_mempolicy move_pages
acct swapon swapoff reboot settimeofday clock_settime clock_adjtime
init_module finit_module delete_module kexec_load kexec_file_load lookup_dcookie
quotactl sysfs _sysctl ustat uselib vm86 vm86old ioperm iopl nfsservctl
create_module get_kernel_syms query_module
""".split()
# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
NS_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
for name in DENIED:
    try:
        f.add_rule(seccomp.ERRNO(errno.EPERM), name)
    except (RuntimeError, ValueError):
        pass  # no such call on this architecture
for bit in NS_FLAGS:
    f.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, bit, bit))
f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
with open(sys.argv[1], "wb") as out:
    f.export_bpf(out)
PY
}

# Installs bubblewrap and libseccomp's Python bindings when missing (Debian and
# Ubuntu; as ci/lib.sh's apt_install), builds the seccomp program and tries a
# sandbox. CONTAINER_WHY says why the container scenarios cannot run, if so.
container_setup() {
  CONTAINER_WHY=""
  if [ "$(uname -s)" != Linux ]; then CONTAINER_WHY="needs Linux"; return; fi
  if ! command -v bwrap >/dev/null || ! seccomp_python >/dev/null; then
    if command -v dpkg-query >/dev/null && command -v apt-get >/dev/null; then
      # In a shell of its own: lib.sh sets ROOT and other names of its own.
      CI_NAME=reliability bash -c '. "$1" && shift && apt_install "$@"' _ "$ROOT/ci/lib.sh" bubblewrap python3-seccomp ||
        echo "could not install bubblewrap and python3-seccomp"
    fi
  fi
  if ! command -v bwrap >/dev/null; then CONTAINER_WHY="bwrap (bubblewrap) is not installed"; return; fi
  local err
  if ! err=$(seccomp_bpf "$WORK/docker-default.bpf" 2>&1); then
    CONTAINER_WHY="cannot build the seccomp program: $(echo "$err" | tail -1)"
    return
  fi
  if ! err=$(bwrap --die-with-parent --dev-bind / / --unshare-user --uid 0 --gid 0 --seccomp 9 -- true 9<"$WORK/docker-default.bpf" 2>&1); then
    CONTAINER_WHY="bwrap cannot make a sandbox here (unprivileged user namespaces off?): $(echo "$err" | tail -1)"
  fi
}

# container_run SCENARIO NOTE BWRAP-OPTION...: every suite binary run in a
# bubblewrap sandbox with those options, with TMPDIR a fresh tmpfs (/tmp; where
# the root is read-only, /var/tmp, as `docker run --read-only --tmpfs`, so that
# /tmp stays read-only) and the scenario's directory (the results) writable. The
# script itself runs inside, so the leftovers are counted before the sandbox's
# namespaces take them away.
# RUN_AS (a command prefix), CSELF (the script to run inside) and CWORK (its
# target/reliability) serve the run as another user.
container_run() {
  local scenario=$1 note=$2 self=${CSELF:-$SELF} work=${CWORK:-$WORK} rc
  shift 2
  if [ -n "$CONTAINER_WHY" ]; then
    figure "$scenario" 0 - - - "SKIPPED: $CONTAINER_WHY"
    return 0
  fi
  local dir="$work/$scenario" tmp=/tmp empty=()
  if [ "$1" = --ro-bind ]; then
    tmp=/var/tmp
    # /tmp read-only like the rest, and empty: what other processes of the
    # machine put in the host's /tmp is not counted as this run's.
    case "$self" in /tmp/*) ;; *) empty=(--tmpfs /tmp --remount-ro /tmp) ;; esac
  fi
  # Not over the checkout.
  case "$self" in "$tmp"/*) tmp=$([ "$tmp" = /tmp ] && echo /var/tmp || echo /tmp) ;; esac
  { rm -rf "$dir" && mkdir -p "$dir"; } || return 1
  [ -n "${CONTAINER_OWNER:-}" ] && chown -R "$CONTAINER_OWNER" "$dir"
  HOSTILE_NOTE="$note; TMPDIR=$tmp" ${RUN_AS:+"${RUN_AS[@]}"} bwrap --die-with-parent "$@" \
    ${empty[@]+"${empty[@]}"} --tmpfs "$tmp" --bind "$dir" "$dir" --setenv TMPDIR "$tmp" \
    -- "$self" --sandboxed "$scenario" --ceiling "$CEILING" 9<"$WORK/docker-default.bpf"
  rc=$?
  if [ -s "$dir/figure.tsv" ]; then
    cat "$dir/figure.tsv" >>"$FIG"
  else
    figure "$scenario" 0 0 1 - "the sandbox did not run (exit $rc)"
    rc=1
  fi
  return "$rc"
}

SECCOMP=(--seccomp 9)
# What `docker run` gives /dev: a fresh small /dev (no /dev/mqueue mounted), a
# 64 MiB tmpfs on /dev/shm (Docker's --shm-size default), a private IPC namespace.
DEV_SHM=(--dev /dev --size 67108864 --tmpfs /dev/shm --unshare-ipc)
USERNS_ROOT=(--unshare-user --uid 0 --gid 0)
# `docker run --read-only`: the root filesystem read-only, the kernel's
# filesystems (/dev, /dev/shm, /dev/mqueue, /proc) as they are.
RO_ROOT=(--ro-bind / / --dev-bind /dev /dev)
ALL=(--ro-bind / / "${DEV_SHM[@]}" "${SECCOMP[@]}")

container_seccomp() {
  container_run container-seccomp "Docker's default seccomp profile (libseccomp BPF via bwrap --seccomp)" \
    --dev-bind / / "${SECCOMP[@]}"
}
container_shm() {
  container_run container-shm "64 MiB /dev/shm, no /dev/mqueue, private IPC namespace (bwrap --dev, --tmpfs, --unshare-ipc)" \
    --dev-bind / / "${DEV_SHM[@]}"
}
container_userns() {
  container_run container-userns "root in a user namespace that maps only uid $(id -u) (bwrap --unshare-user --uid 0)" \
    --dev-bind / / "${USERNS_ROOT[@]}"
}
container_rootfs() {
  container_run container-rootfs "read-only root filesystem, only TMPDIR (a tmpfs) and the results writable (bwrap --ro-bind / /)" \
    "${RO_ROOT[@]}"
}
container_all() {
  container_run container-all "all at once: seccomp, 64 MiB /dev/shm, no /dev/mqueue, private IPC namespace, root in a user namespace, read-only root" \
    "${ALL[@]}" "${USERNS_ROOT[@]}"
}
# As root, as uid 65534 (cross runs `docker run --user $(id -u):$(id -g)`), from
# copies of the script, the binaries and the ipcconf that reads the results
# where that uid can reach them.
container_nonroot() {
  local note="seccomp, 64 MiB /dev/shm, no /dev/mqueue, private IPC namespace, read-only root"
  if ! is_root; then
    container_run container-nonroot "as uid $(id -u) (not root; no uid 0 in the namespace): $note" "${ALL[@]}"
    return
  fi
  if ! command -v setpriv >/dev/null; then
    figure container-nonroot 0 - - - "SKIPPED: setpriv (util-linux) is not installed"
    return 0
  fi
  local base="${TMPDIR:-/tmp}/reliability-container-nonroot" b rc
  rm -rf "$base" && mkdir -p "$base/ci" "$base/target/bin" "$base/target/debug" "$base/target/reliability" || return 1
  { cp "$SELF" "$ROOT/ci/lib.sh" "$base/ci/" && cp -r "$ROOT/ci/reliability" "$base/ci/" &&
    cp "$ROOT/target/debug/ipcconf-peer" "$IPCCONF" "$base/target/debug/"; } || return 1
  : >"$base/binaries"
  while read -r b; do
    cp "$b" "$base/target/bin/" && echo "$base/target/bin/$(basename "$b")" >>"$base/binaries"
  done <"$WORK/binaries"
  chmod -R a+rX "$base"
  RUN_AS=(setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/nonexistent
    BINARIES="$base/binaries" IPCCONF_PEER="$base/target/debug/ipcconf-peer"
    IPCCONF="$base/target/debug/$(basename "$IPCCONF")")
  CSELF="$base/ci/reliability.sh" CWORK="$base/target/reliability" CONTAINER_OWNER=65534:65534 \
    container_run container-nonroot "as uid/gid 65534 (setpriv, no groups; binaries copied): $note" "${ALL[@]}"
  rc=$?
  unset RUN_AS
  rm -rf "$WORK/container-nonroot" && cp -r "$base/target/reliability/container-nonroot" "$WORK/" && rm -rf "$base"
  return "$rc"
}
