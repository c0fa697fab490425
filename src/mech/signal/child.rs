//! Forked children of the signal peer: one that drops to another user and
//! tries kill(), one that holds its signals blocked while the peer fills its
//! queue. Forking is safe here because the `signal-peer` process is
//! single-threaded; each child only writes to a pipe and leaves with _exit.

use std::io;

fn errno_word(rc: libc::c_int) -> String {
    if rc == 0 {
        "OK".into()
    } else {
        crate::sys::errno_name(io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
}

/// Drops every group, the gid and the uid to `uid` in a forked child.
///
/// # Safety
/// Call only in a forked child of this single-threaded peer.
unsafe fn drop_to(uid: u32) -> bool {
    // SAFETY: plain system calls with integer arguments and a null list.
    unsafe {
        libc::setgroups(0, std::ptr::null()) == 0
            && libc::setgid(uid as libc::gid_t) == 0
            && libc::setuid(uid as libc::uid_t) == 0
    }
}

/// A forked child drops to `uid` (and gid `uid`, no groups), then tries
/// kill(pid, 0) and kill(pid, sig); returns both results ("OK" or the errno).
pub fn fork_drop_and_kill(uid: u32, pid: i32, sig: i32) -> io::Result<(String, String)> {
    let (r, w) = crate::sys::pipe()?;
    // SAFETY: this peer is single-threaded, so no lock can be held by another
    // thread at fork time; the child writes to a pipe and _exits.
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Child => {
            use std::os::fd::AsRawFd;
            let msg = if unsafe { drop_to(uid) } {
                // SAFETY: kill takes integers.
                let r0 = errno_word(unsafe { libc::kill(pid, 0) });
                // SAFETY: as above.
                let r1 = errno_word(unsafe { libc::kill(pid, sig) });
                format!("{r0} {r1}")
            } else {
                format!("SETUID-{} -", errno_word(-1))
            };
            // SAFETY: writing a live buffer to an open pipe, then leaving without
            // running the parent's exit handlers.
            unsafe {
                libc::write(w.as_raw_fd(), msg.as_ptr().cast(), msg.len());
                libc::_exit(0);
            }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(w);
            let mut buf = String::new();
            let read = std::io::Read::read_to_string(&mut std::fs::File::from(r), &mut buf);
            let _ = nix::sys::wait::waitpid(child, None);
            read?;
            let mut words = buf.split_whitespace().map(str::to_owned);
            match (words.next(), words.next()) {
                (Some(a), Some(b)) => Ok((a, b)),
                _ => Err(io::Error::other(format!("child reported {buf:?}"))),
            }
        }
    }
}

/// A forked child that holds its signals blocked until killed. It also leaves
/// by itself when this peer goes away (end of file on `_hold`), so it can never
/// outlive the check.
pub struct HeldChild {
    pub pid: i32,
    /// The child's RLIMIT_SIGPENDING soft limit ("-" where there is none).
    pub rlimit: String,
    _hold: std::os::fd::OwnedFd,
}

impl HeldChild {
    /// Kills and reaps the child; returns its wait status.
    pub fn reap(&self) -> String {
        let pid = nix::unistd::Pid::from_raw(self.pid);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        match nix::sys::wait::waitpid(pid, None) {
            Ok(s) => format!("{s:?}").replace(' ', ""),
            Err(e) => format!("{e:?}"),
        }
    }
}

fn sigpending_soft() -> String {
    cfg_if::cfg_if! {
        if #[cfg(target_os = "linux")] {
            match nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_SIGPENDING) {
                Ok((soft, _)) => soft.to_string(),
                Err(e) => format!("{e:?}"),
            }
        } else {
            "-".into()
        }
    }
}

/// Forks a child that keeps this peer's mask (its signals blocked), lowers its
/// RLIMIT_SIGPENDING to `rlimit` and drops to `uid` when asked, reports that it
/// is set up, and waits until killed or until this peer is gone.
pub fn fork_held_child(uid: Option<u32>, rlimit: Option<u64>) -> io::Result<HeldChild> {
    use std::os::fd::AsRawFd;
    let (r, w) = crate::sys::pipe()?;
    let (hold_r, hold_w) = crate::sys::pipe()?;
    // SAFETY: this peer is single-threaded (see fork_drop_and_kill).
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Child => {
            drop(r);
            drop(hold_w);
            let mut ok = true;
            #[cfg(target_os = "linux")]
            if let Some(limit) = rlimit {
                // A limit rlim_t cannot hold (32-bit targets) is refused, not cut.
                ok &= libc::rlim_t::try_from(limit).is_ok_and(|limit| {
                    nix::sys::resource::setrlimit(
                        nix::sys::resource::Resource::RLIMIT_SIGPENDING,
                        limit,
                        limit,
                    )
                    .is_ok()
                });
            }
            #[cfg(not(target_os = "linux"))]
            let _ = rlimit;
            if let Some(uid) = uid {
                // SAFETY: in the forked child of a single-threaded process.
                ok &= unsafe { drop_to(uid) };
            }
            let msg = if ok {
                format!("ready {}", sigpending_soft())
            } else {
                format!("failed {}", errno_word(-1))
            };
            // SAFETY: writing a live buffer to an open pipe; then the child
            // blocks in read() (its signals stay blocked) until the peer kills
            // it or goes away (end of file), and leaves with _exit.
            unsafe {
                libc::write(w.as_raw_fd(), msg.as_ptr().cast(), msg.len());
                drop(w);
                let mut byte = 0u8;
                while libc::read(hold_r.as_raw_fd(), (&raw mut byte).cast(), 1) != 0
                    && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
                {
                }
                libc::_exit(0);
            }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(w);
            drop(hold_r);
            let held = HeldChild {
                pid: child.as_raw(),
                rlimit: String::new(),
                _hold: hold_w,
            };
            // The child closes its end after one write (or dies): read to EOF.
            let mut buf = String::new();
            let read = std::io::Read::read_to_string(&mut std::fs::File::from(r), &mut buf);
            if let Err(e) = read {
                held.reap();
                return Err(e);
            }
            match buf.strip_prefix("ready ") {
                Some(limit) => Ok(HeldChild {
                    rlimit: limit.to_owned(),
                    ..held
                }),
                None => {
                    held.reap();
                    Err(io::Error::other(format!("child set-up: {buf:?}")))
                }
            }
        }
    }
}
