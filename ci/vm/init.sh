#!/bin/busybox sh
# shellcheck shell=dash
# /init of the initramfs ci/run-vm.sh builds: runs every suite of ipc-conformance
# inside the guest kernel and sends the result set back to the host.
#
# The host reads two serial ports: COM1 (ttyS0) is this console, COM2 (ttyS1)
# carries the result set, framed so the host can verify it:
#
#   IPCCONF-RESULTS-BEGIN <sha256 of the archive> <bytes>
#   <the result set as a gzipped tar, base64>
#   IPCCONF-RESULTS-END <suites run> <suites failed>
#
# Configuration comes from /ipcconf/env (written by ci/run-vm.sh): IPCCONF_USER
# (root or nonroot: the suites run as uid 1000 then), IPC_RUNTIME_DETAIL (how the
# machine runs: qemu, TCG or KVM), IPCCONF_TEST_ARGS (extra arguments for each
# test binary), IPCCONF_SUITE_TIMEOUT (seconds one suite binary may take, default
# 300). Every step is bounded; the machine powers off at the end, also on
# failure, so the host never waits for a guest that hangs.
PATH=/bin
export PATH
/bin/busybox --install -s /bin

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/shm /dev/mqueue /dev/pts /tmp /results
mount -t tmpfs -o mode=1777,nosuid,nodev shm /dev/shm
mount -t mqueue mqueue /dev/mqueue
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev tmp /tmp
ip link set lo up
hostname ipcconf-vm

# shellcheck source=/dev/null
. /ipcconf/env
say() { echo "[vm-init] $*"; }
finish() {
  sync
  poweroff -f
}

say "kernel: $(uname -srv)"
say "cpus: $(nproc); memory: $(free -m | awk '/Mem:/ {print $2}') MiB; runtime: $IPC_RUNTIME_DETAIL"

run_as=""
home=/root
if [ "$IPCCONF_USER" = nonroot ]; then
  home=/home/ipc
  chown 1000:1000 /results "$home"
  run_as=ipc
fi
chmod 0700 /results

suites=0 failed=0
while read -r t; do
  suites=$((suites + 1))
  say "=== suite $t"
  # A suite that hangs is killed after IPCCONF_SUITE_TIMEOUT seconds; the others
  # still run and the result set still comes back.
  cmd="cd /tmp && exec timeout -s KILL ${IPCCONF_SUITE_TIMEOUT:-300} /ipcconf/bin/$t $IPCCONF_TEST_ARGS"
  rc=0
  if [ -n "$run_as" ]; then
    env -i PATH=/bin HOME="$home" TMPDIR=/tmp IPC_RESULTS_DIR=/results IPC_RUNTIME=vm \
      IPC_RUNTIME_DETAIL="$IPC_RUNTIME_DETAIL" IPCCONF_PEER=/ipcconf/bin/ipcconf-peer \
      su -p -s /bin/sh "$run_as" -c "$cmd" </dev/null || rc=$?
  else
    env -i PATH=/bin HOME="$home" TMPDIR=/tmp IPC_RESULTS_DIR=/results IPC_RUNTIME=vm \
      IPC_RUNTIME_DETAIL="$IPC_RUNTIME_DETAIL" IPCCONF_PEER=/ipcconf/bin/ipcconf-peer \
      sh -c "$cmd" </dev/null || rc=$?
  fi
  say "=== suite $t: exit $rc"
  [ "$rc" -eq 0 ] || failed=$((failed + 1))
done </ipcconf/suites

say "sending the result set over COM2 ($suites suites, $failed failed)"
tar -C /results -czf /tmp/results.tgz . || { say "tar failed"; finish; }
sum=$(sha256sum /tmp/results.tgz | cut -d' ' -f1)
size=$(stat -c %s /tmp/results.tgz)
stty -F /dev/ttyS1 raw -echo 2>/dev/null
{
  echo "IPCCONF-RESULTS-BEGIN $sum $size"
  base64 /tmp/results.tgz
  echo "IPCCONF-RESULTS-END $suites $failed"
} >/dev/ttyS1
say "done"
finish
