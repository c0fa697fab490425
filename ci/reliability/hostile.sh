# shellcheck shell=bash
# shellcheck disable=SC2153,SC2317 # names set by ci/reliability.sh; functions called by name
# Scenarios of ci/reliability.sh (sourced): the suite binaries run in hostile
# environments: not root, a tiny RLIMIT_SIGPENDING, lowered fs.mqueue limits,
# an unusable TMPDIR, a read-only /dev/shm.

# hostile NAME [PREFIX...]: every suite binary run directly under PREFIX.
# BINARIES (default: the built ones) and RESULTS (default: under the scenario's
# directory) let a run as another user use copies it can reach; SCENARIO names
# the scenario otherwise than hostile-NAME (its directory is $WORK/SCENARIO).
hostile_run() {
  local scenario=${SCENARIO:-hostile-$1}
  local dir="$WORK/$scenario" b rc bad=0 nbin=0 n
  local list=${BINARIES:-$WORK/binaries} results=${RESULTS:-$WORK/$scenario/results}
  shift
  mkdir -p "$dir"
  while read -r b; do
    nbin=$((nbin + 1))
    "$@" env IPC_RESULTS_DIR="$results" timeout --kill-after=10 "$CEILING" "$b" >"$dir/$(basename "$b").log" 2>&1
    rc=$?
    if [ "$rc" != 0 ]; then
      bad=$((bad + 1))
      echo "  $(basename "$b"): exit $rc"
      grep -aE 'panicked|evidence' "$dir/$(basename "$b").log" | head -6 | sed 's/^/    /'
    fi
  done <"$list"
  if [ "$results" != "$dir/results" ] && [ -d "$results" ]; then
    rm -rf "$dir/results" && cp -r "$results" "$dir/results"
  fi
  count_leftovers >"$dir/leftovers"
  n=$(wc -l <"$dir/leftovers")
  local errors reason unread=""
  summarize_results "$dir/results" >"$dir/summary" || unread="; the results could not be read"
  sed 's/^/  /' "$dir/summary"
  # No claim may record error or timeout, whatever its test said.
  errors=$(head -1 "$dir/summary" | grep -oE '(error|timeout) [0-9]+' | awk '{ s += $2 } END { print s + 0 }')
  reason=$(first_skip_reason "$dir/results")
  figure "$scenario" "$nbin binaries" "$((nbin - bad))" "$bad" "$n" "${HOSTILE_NOTE:-}; $(head -1 "$dir/summary")$([ "$errors" != 0 ] && echo "; $errors error/timeout")${reason:+; e.g. \"$reason\"}$([ "$n" != 0 ] && printf '; left: %s' "$(tr '\n' ' ' <"$dir/leftovers")")"
  [ "$bad" = 0 ] && [ "$n" = 0 ] && [ "$errors" = 0 ] && [ -z "$unread" ]
}

hostile_nonroot() {
  if is_root && ! command -v setpriv >/dev/null; then
    figure hostile-nonroot 0 - - - "SKIPPED: setpriv (util-linux) is not installed"
    return 0
  fi
  if is_root; then
    # The checkout may sit where uid 65534 cannot go (under /root): run copies of
    # the suite binaries and the peer from the namespace's own /mnt.
    local base="${TMPDIR:-/tmp}/ipcconf-reliability-nonroot" b
    local home="$base/home" bin="$base/bin" res="$base/results"
    mkdir -p "$home" "$bin" "$res" && chmod 0755 "$base" "$bin"
    chown 65534:65534 "$home" "$res" && chmod 0700 "$home"
    : >"$base/binaries"
    while read -r b; do
      cp "$b" "$bin/" && echo "$bin/$(basename "$b")" >>"$base/binaries"
    done <"$WORK/binaries"
    cp "$ROOT/target/debug/ipcconf-peer" "$bin/"
    chmod 0755 "$bin"/*
    BINARIES="$base/binaries" RESULTS="$res" LEFT_UID=65534 LEFT_TMP="$home" \
      HOSTILE_NOTE="as uid/gid 65534 (setpriv, no groups), TMPDIR its own 0700 directory, binaries copied where that uid can reach them" \
      hostile_run nonroot setpriv --reuid=65534 --regid=65534 --clear-groups \
      env TMPDIR="$home" HOME="$home" IPCCONF_PEER="$bin/ipcconf-peer"
  else
    HOSTILE_NOTE="as uid $(id -u) (already not root)" hostile_run nonroot env
  fi
}

hostile_sigpending() {
  if ! command -v prlimit >/dev/null || [ "$(uname -s)" != Linux ]; then
    figure hostile-sigpending 0 - - - "SKIPPED: needs Linux and prlimit (util-linux)"
    return 0
  fi
  HOSTILE_NOTE="prlimit --sigpending=1 (soft and hard), same uid as every other process" \
    hostile_run sigpending prlimit --sigpending=1 --
}

hostile_mqueue() {
  local keys="queues_max msg_max msgsize_max msg_default msgsize_default" k saved=""
  for k in $keys; do saved="$saved fs.mqueue.$k=$(cat "/proc/sys/fs/mqueue/$k")"; done
  # Restored even on failure (the values are this IPC namespace's own anyway).
  # shellcheck disable=SC2064
  trap "sysctl -q -w $saved >/dev/null" EXIT
  sysctl -q -w fs.mqueue.queues_max=1 fs.mqueue.msg_max=1 fs.mqueue.msgsize_max=128 \
    fs.mqueue.msg_default=1 fs.mqueue.msgsize_default=128 >/dev/null || return 1
  HOSTILE_NOTE="fs.mqueue: queues_max 1, msg_max 1, msgsize_max 128, msg_default 1, msgsize_default 128 (as root)" \
    hostile_run mqueue env
  local rc=$?
  # shellcheck disable=SC2086  # one word per setting
  sysctl -q -w $saved >/dev/null
  trap - EXIT
  return "$rc"
}

hostile_tmpdir() {
  # A path under a regular file cannot be created, not even by root (ENOTDIR);
  # permission bits would not stop root.
  : >"$WORK/not-a-directory"
  HOSTILE_NOTE="TMPDIR=$WORK/not-a-directory/tmp (under a regular file: ENOTDIR, also for root)" \
    hostile_run tmpdir env TMPDIR="$WORK/not-a-directory/tmp"
}

hostile_noshm() {
  HOSTILE_NOTE="an empty read-only tmpfs over /dev/shm in a private mount namespace (EROFS for everyone)" \
    hostile_run noshm env
}
