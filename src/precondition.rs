//! Preconditions a machine can lack (CONTRIBUTING.md rule 6): when a call fails, the
//! helpers here decide whether the machine's setup is the cause — no usable
//! `/dev/shm`, lowered `fs.mqueue` limits, a tiny `RLIMIT_SIGPENDING` — and say
//! which setting, with its value. Such a failure is a `skipped` observation with
//! that reason, never an `error` of the check and never a pass.
//!
//! A wrapper that calls the system marks the error with [`mark`]; the check's
//! `.step()` then records `skipped` (see [`crate::observe::Observation::from_io_error`]).
//! Each diagnosis looks at the machine's state, not only at the errno, so an
//! ordinary failure (a name that does not exist, a bad argument) stays what it is.

use std::fmt;
use std::io;

/// A failed call whose cause is a precondition the machine lacks.
#[derive(Debug)]
pub struct Lacking {
    /// Which setting, with its value: "/dev/shm is mounted read-only".
    pub reason: String,
    /// The call's own error (errno kept for the evidence).
    pub source: io::Error,
}

impl fmt::Display for Lacking {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}; {}",
            crate::sys::describe_io_error(&self.source),
            self.reason
        )
    }
}

impl std::error::Error for Lacking {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Marks `err` as caused by a lacking precondition when `reason` is given; else
/// returns it unchanged.
pub fn mark(err: io::Error, reason: Option<String>) -> io::Error {
    match reason {
        Some(reason) => io::Error::new(
            err.kind(),
            Lacking {
                reason,
                source: err,
            },
        ),
        None => err,
    }
}

/// The precondition behind `err`, if a wrapper marked it.
pub fn lacking(err: &io::Error) -> Option<&Lacking> {
    err.get_ref()?.downcast_ref::<Lacking>()
}

/// The errno of `err`, also through a [`Lacking`] mark.
pub fn raw_os_error(err: &io::Error) -> Option<i32> {
    err.raw_os_error()
        .or_else(|| lacking(err).and_then(|l| l.source.raw_os_error()))
}

/// Where glibc and musl keep POSIX shared memory and named semaphores.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub const SHM_DIR: &str = "/dev/shm";

/// Why POSIX shared memory and named semaphores cannot be created here, judged
/// from the state of `/dev/shm` (Linux: they are files there): missing,
/// read-only, full, or not writable by this user. `None` where all is well, and
/// on systems that keep them in the kernel.
pub fn shm_dir_unusable() -> Option<String> {
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "android"))] {
            use nix::sys::statvfs::{FsFlags, statvfs};
            use nix::unistd::{AccessFlags, access};
            use std::os::unix::fs::MetadataExt;
            let dir = std::path::Path::new(SHM_DIR);
            let mounted = match (std::fs::metadata(dir), std::fs::metadata("/dev")) {
                (Ok(d), Ok(parent)) => d.dev() != parent.dev(),
                (Err(e), _) => return Some(format!("{SHM_DIR} does not exist ({e})")),
                _ => true,
            };
            let how = if mounted { "" } else { " (nothing is mounted there)" };
            let vfs = match statvfs(dir) {
                Ok(v) => v,
                Err(e) => return Some(format!("{SHM_DIR} cannot be examined ({e}){how}")),
            };
            if vfs.flags().contains(FsFlags::ST_RDONLY) {
                return Some(format!("{SHM_DIR} is mounted read-only{how}"));
            }
            if let Err(e) = access(dir, AccessFlags::W_OK | AccessFlags::X_OK) {
                return Some(format!(
                    "{SHM_DIR} is not writable by uid {} ({e}){how}",
                    nix::unistd::geteuid()
                ));
            }
            if vfs.blocks_available() == 0 || vfs.files_available() == 0 {
                return Some(format!("{SHM_DIR} is full{how}"));
            }
            None
        } else {
            None
        }
    }
}

/// Marks a failed shm_open/sem_open/ftruncate when `/dev/shm` is unusable.
pub fn shm_dir(err: io::Error) -> io::Error {
    let reason = shm_dir_unusable().map(|r| {
        format!("{r}: POSIX shared memory and named semaphores need a writable tmpfs there")
    });
    mark(err, reason)
}

/// Reads a number from `/proc/sys/...` (Linux).
pub fn proc_sys(path: &str) -> Option<i64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Marks a failed mq_open(O_CREAT) when the `fs.mqueue` limits or
/// RLIMIT_MSGQUEUE refused it: EINVAL for a queue (`maxmsg`, `msgsize`) above
/// `fs.mqueue.msg_max` / `msgsize_max`, ENOSPC at `fs.mqueue.queues_max`, EMFILE
/// at RLIMIT_MSGQUEUE. `requested` is None for the system's default attributes.
pub fn mqueue_limits(err: io::Error, requested: Option<(i64, i64)>) -> io::Error {
    let reason = mqueue_reason(&err, requested);
    mark(err, reason)
}

/// The same diagnosis for an errno a peer reported.
pub fn mqueue_refusal(errno: i32, requested: Option<(i64, i64)>) -> Option<String> {
    mqueue_reason(&io::Error::from_raw_os_error(errno), requested)
}

fn mqueue_reason(err: &io::Error, requested: Option<(i64, i64)>) -> Option<String> {
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "android"))] {
            let errno = err.raw_os_error()?;
            let msg_max = proc_sys("/proc/sys/fs/mqueue/msg_max");
            let msgsize_max = proc_sys("/proc/sys/fs/mqueue/msgsize_max");
            let show = |v: Option<i64>| v.map_or("?".to_owned(), |v| v.to_string());
            if errno == libc::EINVAL {
                let (maxmsg, msgsize) = requested.or_else(|| {
                    Some((
                        proc_sys("/proc/sys/fs/mqueue/msg_default")?,
                        proc_sys("/proc/sys/fs/mqueue/msgsize_default")?,
                    ))
                })?;
                let over = msg_max.is_some_and(|m| maxmsg > m)
                    || msgsize_max.is_some_and(|m| msgsize > m);
                return over.then(|| {
                    format!(
                        "fs.mqueue.msg_max = {} and fs.mqueue.msgsize_max = {} are below this check's queue of {maxmsg} messages of {msgsize} bytes",
                        show(msg_max),
                        show(msgsize_max)
                    )
                });
            }
            if errno == libc::ENOSPC {
                let queues_max = proc_sys("/proc/sys/fs/mqueue/queues_max");
                return Some(format!(
                    "fs.mqueue.queues_max = {} queues are in use on this machine",
                    show(queues_max)
                ));
            }
            if errno == libc::EMFILE {
                let (soft, _) = nix::sys::resource::getrlimit(
                    nix::sys::resource::Resource::RLIMIT_MSGQUEUE,
                )
                .ok()?;
                // EMFILE is also "too many descriptors": name the queue limit only
                // when it is small enough to be the cause.
                return (soft < 1 << 20).then(|| {
                    format!("RLIMIT_MSGQUEUE = {soft} bytes for this user's queues is used up")
                });
            }
            None
        } else {
            let _ = (err, requested);
            None
        }
    }
}

/// This process's RLIMIT_SIGPENDING soft limit (Linux), which the peers it starts
/// inherit.
pub fn rlimit_sigpending() -> Option<u64> {
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "android"))] {
            let (soft, _) =
                nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_SIGPENDING).ok()?;
            // rlim_t is 32 or 64 bits wide: widening it to u64 is lossless.
            let soft: libc::rlim_t = soft;
            Some(soft as u64)
        } else {
            None
        }
    }
}

/// Why a sigqueue() was refused with EAGAIN, given the sender's answer naming the
/// errno: every queued signal of this user counts against the receiver's
/// RLIMIT_SIGPENDING (Linux), so a tiny limit refuses even the few signals a
/// check queues. `None` when the answer is not an EAGAIN refusal.
pub fn sigqueue_refused(answer: &str) -> Option<String> {
    if !answer.contains("EAGAIN") {
        return None;
    }
    Some(match rlimit_sigpending() {
        Some(limit) => format!(
            "RLIMIT_SIGPENDING too small ({limit}): sigqueue() was refused with EAGAIN ({answer}); every signal this user has queued counts against it"
        ),
        None => format!(
            "the system's limit on queued signals was reached: sigqueue() was refused with EAGAIN ({answer})"
        ),
    })
}

/// Why this process cannot take `uid` (Linux): the uid has no mapping in its
/// user namespace (`/proc/self/uid_map`), as in a rootless container or under
/// `unshare --user`, where root may hold every capability yet chown() or
/// setuid() to an unmapped id fails with EINVAL. `None` when it is mapped (the
/// initial namespace maps all), and on other systems.
pub fn uid_unmapped(uid: u32) -> Option<String> {
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "android"))] {
            let map = std::fs::read_to_string("/proc/self/uid_map").ok()?;
            uid_map_lacks(&map, uid).then(|| {
                format!(
                    "uid {uid} is not mapped in this user namespace (/proc/self/uid_map: {}): no process here can take it",
                    map.split_whitespace().collect::<Vec<_>>().join(" ")
                )
            })
        } else {
            let _ = uid;
            None
        }
    }
}

/// Whether a `uid_map` (lines "inside outside count") leaves `uid` unmapped.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn uid_map_lacks(map: &str, uid: u32) -> bool {
    let uid = u64::from(uid);
    !map.lines().any(|line| {
        let v: Vec<u64> = line
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        matches!(v[..], [inside, _, count] if uid >= inside && uid - inside < count)
    })
}

/// Marks a failed chown()/setuid() to `uid` with EINVAL when `uid` is not mapped
/// in this user namespace.
pub fn uid_mapping(err: io::Error, uid: u32) -> io::Error {
    // EINVAL is InvalidInput.
    let reason = (err.kind() == io::ErrorKind::InvalidInput)
        .then(|| uid_unmapped(uid))
        .flatten();
    mark(err, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_keeps_the_errno_and_names_the_reason() {
        let e = mark(
            io::Error::from_raw_os_error(30),
            Some("the directory is read-only".into()),
        );
        assert_eq!(raw_os_error(&e), Some(30));
        let l = lacking(&e).expect("marked");
        assert!(l.to_string().contains("the directory is read-only"));
        let plain = mark(io::Error::from_raw_os_error(2), None);
        assert!(lacking(&plain).is_none());
        assert_eq!(raw_os_error(&plain), Some(2));
    }

    #[test]
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn a_uid_map_maps_its_ranges_only() {
        let initial = "         0          0 4294967295\n";
        assert!(!uid_map_lacks(initial, 2_000_012_345));
        let rootless = "         0       1000          1\n         1     100000      65536\n";
        assert!(!uid_map_lacks(rootless, 0));
        assert!(!uid_map_lacks(rootless, 65536));
        assert!(uid_map_lacks(rootless, 65537));
        assert!(uid_map_lacks(rootless, 2_000_012_345));
        assert!(uid_map_lacks("", 0));
    }

    #[test]
    fn eagain_answers_are_refusals() {
        assert!(sigqueue_refused("err 11 EAGAIN (x) after 0").is_some());
        assert!(sigqueue_refused("ok 3").is_none());
    }
}
