//! The guide's Linux newcomers: `memfd.available`, `pidfd.available`,
//! `io_uring.available`.
//!
//! The guide: "Linux has added newer mechanisms like io_uring (asynchronous I/O
//! with shared ring buffers), memfd (anonymous memory-backed files), and pidfd
//! (process file descriptors). These extend the toolkit but are Linux-specific."
//! FreeBSD 13+ ships memfd_create(3) too (platforms/freebsd.toml).
//!
//! And what Linux added since 5.10 (module `since_linux`): memfd_secret,
//! MFD_NOEXEC_SEAL, futex_waitv and the futex2 calls, IORING_OP_MSG_RING,
//! PIDFD_THREAD, pidfs, and Landlock's scoping of abstract Unix sockets and
//! signals; the VM columns boot kernels from 5.10 to 7.x to observe them.

#[cfg(any(target_os = "linux", target_os = "freebsd"))]
use ipc_conformance::Step;
use ipc_conformance::{Observation, check};

ipc_conformance::suite!();

#[cfg(any(target_os = "linux", target_os = "freebsd"))]
#[test]
fn memfd_available() {
    check!("memfd.available", |_cx| {
        use nix::sys::memfd::{MFdFlags, memfd_create};
        use std::os::fd::AsFd;
        const LEN: usize = 4096;
        let name = std::ffi::CString::new(ipc_conformance::names::unique())
            .map_err(|e| Observation::error(e.to_string()))?;
        let fd = memfd_create(name.as_c_str(), MFdFlags::MFD_CLOEXEC).step("memfd_create")?;
        // 4096 fits every off_t (32-bit targets included): the cast is lossless.
        nix::unistd::ftruncate(&fd, LEN as libc::off_t).step("ftruncate")?;
        let marker = format!("memfd-{}", ipc_conformance::names::random_hex(8));
        ipc_conformance::mech::newcomers::store_through_shared_mapping(
            fd.as_fd(),
            LEN,
            100,
            marker.as_bytes(),
        )
        .step("store through a MAP_SHARED mapping")?;
        let mut back = vec![0u8; marker.len()];
        let n = nix::sys::uio::pread(&fd, &mut back, 100).step("pread")?;
        let size = nix::sys::stat::fstat(&fd).step("fstat")?.st_size;
        Ok(Observation::holds(
            &back[..n] == marker.as_bytes(),
            format!(
                "memfd_create({:?}, MFD_CLOEXEC) gave a descriptor of {size} bytes after ftruncate; stored {marker:?} at offset 100 through a shared mapping; pread there returned {:?}",
                name,
                String::from_utf8_lossy(&back[..n])
            ),
        ))
    });
}

#[test]
fn pidfd_available() {
    check!("pidfd.available", |cx| {
        cfg_if::cfg_if! {
            if #[cfg(target_os = "linux")] {
                use std::os::fd::AsFd;
                use nix::poll::PollFlags;
                use ipc_conformance::watchdog::BOUND;
                let mut child = cx.peer(&["pidfd-child"]).start()?;
                let pid = child.pid() as i32;
                let pidfd = ipc_conformance::mech::newcomers::pidfd_open(pid).step("pidfd_open")?;
                let running = ipc_conformance::channel::fd::revents_now(pidfd.as_fd()).step("poll while running")?;
                child.send_line("quit")?;
                let exited = ipc_conformance::channel::fd::wait(pidfd.as_fd(), PollFlags::POLLIN, BOUND)
                    .step("poll after quit")?;
                let (status, _) = child.finish()?;
                Ok(Observation::holds(
                    !running.contains(PollFlags::POLLIN) && exited,
                    format!(
                        "pidfd_open({pid}) gave a descriptor; poll() revents while the child ran: {running:?}; after it was told to exit, POLLIN within {BOUND:?}: {exited} (child {status})"
                    ),
                ))
            } else {
                let _ = cx;
                Ok(Observation::no_api_because(format!(
                    "no pidfd_open(2){}",
                    if cfg!(target_os = "freebsd") {
                        " (FreeBSD has process descriptors from pdfork(2) instead)"
                    } else {
                        ""
                    }
                )))
            }
        }
    });
}

/// io_uring refused with EPERM is a policy of this machine (the sysctl
/// kernel.io_uring_disabled, or a seccomp filter in a container), not an absent
/// facility: the kernel has io_uring and refuses this process. CONTRIBUTING.md rule 6
/// makes such a precondition `skipped`, with the sysctl and seccomp mode as the
/// reason; ENOSYS (a kernel built without io_uring, or a filter that fakes
/// absence) is `unsupported`.
#[cfg(target_os = "linux")]
#[test]
fn io_uring_available() {
    check!("io_uring.available", |_cx| {
        use ipc_conformance::mech::newcomers::{NOP_USER_DATA, io_uring_policy, nop_roundtrip};
        match nop_roundtrip(4) {
            Ok(r) => Ok(Observation::holds(
                r.completion == Some((NOP_USER_DATA, 0)),
                format!(
                    "io_uring_setup(4) gave a ring of {} SQ / {} CQ entries (features {:#x}); io_uring_enter submitted {} NOP; completion (user_data, res): {:?}",
                    r.sq_entries,
                    r.cq_entries,
                    r.features,
                    r.submitted,
                    r.completion.map(|(u, res)| (format!("{u:#x}"), res))
                ),
            )),
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => Ok(Observation::skipped(format!(
                "io_uring refused by policy: {}; {}",
                ipc_conformance::observe::describe_io_error(&e),
                io_uring_policy()
            ))),
            Err(e) => Err(Observation::from_io_error("io_uring", &e)),
        }
    });
}

// ---------------------------------------------------------------- Linux since 5.10
//
// Facilities Linux added after 5.10 (the claims' doc_note names the release and
// the commit). Each check observes the facility, never a version: the VM
// columns boot 5.10, 6.1, 6.12 and 7.x, and the report's Since section says
// where the observation changes.

#[cfg(target_os = "linux")]
mod since_linux {
    use std::os::fd::AsFd;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::{Duration, Instant};

    use ipc_conformance::mech::newcomers::{ScopeAnswer, io_uring_policy};
    use ipc_conformance::observe::describe_io_error;
    use ipc_conformance::peer::wire::WireLine;
    use ipc_conformance::sys::errno_name;
    use ipc_conformance::sys::linux;
    use ipc_conformance::watchdog::BOUND;
    use ipc_conformance::{Checked, Observation, Step, check};

    /// The seccomp mode of this process, for a refusal's reason.
    fn seccomp() -> String {
        io_uring_policy()
            .split("; ")
            .last()
            .unwrap_or_default()
            .to_owned()
    }

    /// A new system call refused with EPERM (a seccomp filter, as in a
    /// container) is a policy of the machine: skipped, with the seccomp mode.
    /// ENOSYS is an absent call: unsupported. Anything else: error.
    fn refused(what: &str, e: &std::io::Error) -> Observation {
        if e.raw_os_error() == Some(libc::EPERM) {
            Observation::skipped(format!(
                "{what} refused by policy: {}; {}",
                describe_io_error(e),
                seccomp()
            ))
        } else {
            Observation::from_io_error(what, e)
        }
    }

    #[test]
    fn memfd_secret() {
        check!("memfd.secret", |_cx| {
            const LEN: usize = 4096;
            let param = std::path::Path::new("/sys/module/secretmem/parameters/enable");
            let fd = match linux::memfd_secret() {
                Ok(fd) => fd,
                Err(e) if e.raw_os_error() == Some(libc::ENOSYS) && param.exists() => {
                    // The parameter is readable by root only (mode 0400).
                    let value = std::fs::read_to_string(param).map(|v| v.trim().to_owned());
                    return Ok(match value {
                        Ok(v) if v == "Y" => Observation::unsupported(format!(
                            "memfd_secret: {}, although this kernel's secretmem is enabled ({} = Y): the call does not reach the kernel (an emulator or a filter answers for it)",
                            describe_io_error(&e),
                            param.display()
                        )),
                        value => Observation::skipped(format!(
                            "memfd_secret: {}, yet this kernel has secretmem ({} exists, value {}): it is disabled by the boot parameter secretmem.enable (off by default before Linux 6.5)",
                            describe_io_error(&e),
                            param.display(),
                            value.unwrap_or_else(|e| format!("unreadable: {e}"))
                        )),
                    });
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
                    return Ok(Observation::unsupported(format!(
                        "memfd_secret: {}; no {}: this kernel has no secretmem",
                        describe_io_error(&e),
                        param.display()
                    )));
                }
                Err(e) => return Err(refused("memfd_secret", &e)),
            };
            // 4096 fits every off_t: the cast is lossless.
            nix::unistd::ftruncate(&fd, LEN as libc::off_t).step("ftruncate")?;
            let marker = format!("secret-{}", ipc_conformance::names::random_hex(8));
            ipc_conformance::mech::newcomers::store_through_shared_mapping(
                fd.as_fd(),
                LEN,
                0,
                marker.as_bytes(),
            )
            .step("store through a MAP_SHARED mapping of the secret memory")?;
            // read(2) of secret memory fails by design: read it back through a mapping.
            let back = ipc_conformance::mech::newcomers::load_through_shared_mapping(
                fd.as_fd(),
                LEN,
                0,
                marker.len(),
            )
            .step("load through a second mapping")?;
            let read = nix::unistd::read(&fd, &mut [0u8; 8]);
            Ok(Observation::holds(
                back == marker.as_bytes(),
                format!(
                    "memfd_secret(O_CLOEXEC) gave a descriptor; after ftruncate({LEN}) stored {marker:?} through one shared mapping, a second mapping read {:?}; read(2) on the descriptor: {read:?}",
                    String::from_utf8_lossy(&back)
                ),
            ))
        });
    }

    #[test]
    fn memfd_noexec_seal() {
        check!("memfd.noexec_seal", |_cx| {
            let name = std::ffi::CString::new(ipc_conformance::names::unique())
                .map_err(|e| Observation::error(e.to_string()))?;
            // nix's MFdFlags has no MFD_NOEXEC_SEAL on every target: the raw call.
            let fd = match linux::memfd_create(&name, linux::MFD_NOEXEC_SEAL | libc::MFD_CLOEXEC) {
                Ok(fd) => fd,
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    return Ok(Observation::unsupported(format!(
                        "memfd_create(MFD_NOEXEC_SEAL | MFD_CLOEXEC): {}: this kernel knows no MFD_NOEXEC_SEAL (unknown flags are EINVAL)",
                        describe_io_error(&e)
                    )));
                }
                Err(e) => return Err(Observation::from_io_error("memfd_create", &e)),
            };
            let mode = nix::sys::stat::fstat(&fd).step("fstat")?.st_mode;
            let seals =
                nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_GET_SEALS).step("F_GET_SEALS")?;
            let chmod =
                nix::sys::stat::fchmod(&fd, nix::sys::stat::Mode::from_bits_truncate(0o755));
            let no_exec = mode & 0o111 == 0;
            let sealed = seals & linux::F_SEAL_EXEC != 0;
            let refused = chmod == Err(nix::errno::Errno::EPERM);
            Ok(Observation::holds(
                no_exec && sealed && refused,
                format!(
                    "memfd_create(MFD_NOEXEC_SEAL | MFD_CLOEXEC) gave mode {:o}; F_GET_SEALS = {seals:#x} (F_SEAL_EXEC {}); fchmod(0755): {chmod:?}",
                    mode & 0o7777,
                    if sealed { "set" } else { "not set" }
                ),
            ))
        });
    }

    /// Waits until the kernel reports thread `tid` asleep in system call `nr`,
    /// at most `bound`: a deadline-bounded poll of /proc (rule 4). Returns what
    /// it saw last.
    fn wait_asleep_in(tid: i32, nr: libc::c_long, bound: Duration) -> (bool, String) {
        let start = Instant::now();
        loop {
            let seen = linux::thread_syscall(tid);
            let asleep = matches!(&seen, Ok((state, Some(n))) if state == "S" && *n == nr);
            if asleep || start.elapsed() >= bound {
                let text = match seen {
                    Ok((state, call)) => format!("state {state}, system call {call:?}"),
                    Err(e) => format!("/proc/self/task/{tid} unreadable: {e}"),
                };
                return (asleep, text);
            }
            // The pause between two looks of a deadline-bounded poll.
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// A thread that reports its tid and then runs `wait`; the observation of
    /// a waiter that is woken through `wake` once it sleeps in system call `nr`.
    fn wake_a_sleeper(
        nr: libc::c_long,
        what: &str,
        wait: impl FnOnce() -> std::io::Result<usize> + Send + 'static,
        wake: impl FnOnce() -> std::io::Result<usize>,
    ) -> Checked<(bool, std::io::Result<usize>, std::io::Result<usize>, String)> {
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let _ = tx.send(linux::gettid());
            wait()
        });
        let tid = rx
            .recv_timeout(BOUND)
            .map_err(|e| Observation::error(format!("the waiting thread sent no tid: {e}")))?;
        let (asleep, seen) = wait_asleep_in(tid, nr, BOUND);
        let woke = wake();
        // The wait is bounded by its own absolute timeout (BOUND).
        let waited = waiter
            .join()
            .map_err(|_| Observation::error(format!("the thread in {what} panicked")))?;
        Ok((asleep, woke, waited, seen))
    }

    fn result_text(r: &std::io::Result<usize>) -> String {
        match r {
            Ok(n) => format!("Ok({n})"),
            Err(e) => describe_io_error(e),
        }
    }

    #[test]
    fn futex_waitv() {
        check!("futex.waitv", |_cx| {
            static WORDS: [AtomicU32; 2] = [AtomicU32::new(0), AtomicU32::new(0)];
            WORDS[0].store(0, Ordering::SeqCst);
            WORDS[1].store(0, Ordering::SeqCst);
            // An immediate call first: an absent call fails at once.
            let probe = linux::futex_waitv(&[&WORDS[0]], &[1], &linux::realtime_deadline(BOUND));
            match &probe {
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {}
                Err(e) => return Err(refused("futex_waitv", e)),
                Ok(i) => {
                    return Ok(Observation::no(format!(
                        "futex_waitv on a word holding 0, expecting 1, returned {i} instead of EAGAIN"
                    )));
                }
            }
            let (asleep, woke, waited, seen) = wake_a_sleeper(
                linux::SYS_FUTEX_WAITV,
                "futex_waitv",
                || {
                    linux::futex_waitv(
                        &[&WORDS[0], &WORDS[1]],
                        &[0, 0],
                        &linux::realtime_deadline(BOUND),
                    )
                },
                || {
                    WORDS[1].store(1, Ordering::SeqCst);
                    linux::futex_wake_private(&WORDS[1], 1)
                },
            )?;
            Ok(Observation::holds(
                asleep && matches!(woke, Ok(1)) && matches!(waited, Ok(1)),
                format!(
                    "futex_waitv on a word holding 0 expecting 1: EAGAIN; a thread in futex_waitv on two words holding 0: {seen} (asleep in it: {asleep}); word 1 set to 1 and FUTEX_WAKE_PRIVATE: {}; futex_waitv returned {}",
                    result_text(&woke),
                    result_text(&waited)
                ),
            ))
        });
    }

    #[test]
    fn futex2() {
        check!("futex.futex2", |_cx| {
            static WORD: AtomicU32 = AtomicU32::new(0);
            WORD.store(0, Ordering::SeqCst);
            let probe = linux::futex2_wake(&WORD, 1);
            if let Err(e) = &probe {
                return Err(refused("futex_wake", e));
            }
            let (asleep, woke, waited, seen) = wake_a_sleeper(
                linux::SYS_FUTEX_WAIT,
                "futex_wait",
                || linux::futex2_wait(&WORD, 0, &linux::realtime_deadline(BOUND)).map(|()| 0),
                || {
                    WORD.store(1, Ordering::SeqCst);
                    linux::futex2_wake(&WORD, 1)
                },
            )?;
            Ok(Observation::holds(
                asleep && matches!(woke, Ok(1)) && matches!(waited, Ok(0)),
                format!(
                    "futex_wake with no waiter: {}; a thread in futex_wait (FUTEX2_SIZE_U32 | FUTEX2_PRIVATE) on a word holding 0: {seen} (asleep in it: {asleep}); word set to 1 and futex_wake: {}; futex_wait returned {}",
                    result_text(&probe),
                    result_text(&woke),
                    result_text(&waited)
                ),
            ))
        });
    }

    #[test]
    fn io_uring_msg_ring() {
        check!("io_uring.msg_ring", |_cx| {
            use ipc_conformance::mech::newcomers::{
                IORING_OP_MSG_RING, MSG_RES, MSG_SENDER_DATA, MSG_USER_DATA, msg_ring,
            };
            let r = match msg_ring() {
                Ok(r) => r,
                Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                    return Ok(Observation::skipped(format!(
                        "io_uring refused by policy: {}; {}",
                        describe_io_error(&e),
                        io_uring_policy()
                    )));
                }
                Err(e) => return Err(Observation::from_io_error("io_uring", &e)),
            };
            let probe = match &r.probe {
                Ok((last, supported)) => format!(
                    "IORING_REGISTER_PROBE: last opcode {last}, opcode {IORING_OP_MSG_RING} supported: {supported}"
                ),
                Err(e) => format!("IORING_REGISTER_PROBE: {}", describe_io_error(e)),
            };
            let detail = format!(
                "{probe}; the sender's completion (user_data, res): {:?}; the target ring's: {:?}",
                r.sender.map(|(u, res)| (format!("{u:#x}"), res)),
                r.target.map(|(u, res)| (format!("{u:#x}"), res))
            );
            let unknown_op = matches!(r.probe, Ok((_, false)))
                && r.sender == Some((MSG_SENDER_DATA, -libc::EINVAL));
            if unknown_op {
                return Ok(Observation::unsupported(format!(
                    "this kernel's io_uring has no IORING_OP_MSG_RING: {detail}"
                )));
            }
            Ok(Observation::holds(
                r.sender == Some((MSG_SENDER_DATA, 0))
                    && r.target == Some((MSG_USER_DATA, MSG_RES as i32)),
                detail,
            ))
        });
    }

    #[test]
    fn pidfd_thread() {
        check!("pidfd.thread", |_cx| {
            use nix::poll::PollFlags;
            let (tid_tx, tid_rx) = std::sync::mpsc::channel();
            let (quit_tx, quit_rx) = std::sync::mpsc::channel::<()>();
            let thread = std::thread::spawn(move || {
                let _ = tid_tx.send(linux::gettid());
                let _ = quit_rx.recv_timeout(BOUND);
            });
            let tid = tid_rx
                .recv_timeout(BOUND)
                .map_err(|e| Observation::error(format!("the thread sent no tid: {e}")))?;
            let opened = linux::pidfd_open(tid, linux::PIDFD_THREAD);
            let pidfd = match opened {
                Ok(fd) => fd,
                Err(e) => {
                    let _ = quit_tx.send(());
                    let _ = thread.join();
                    if e.raw_os_error() == Some(libc::EINVAL) {
                        let plain = linux::pidfd_open(tid, 0);
                        return Ok(Observation::unsupported(format!(
                            "pidfd_open(tid {tid}, PIDFD_THREAD): {}: this kernel knows no PIDFD_THREAD (without the flag a thread's id gives {})",
                            describe_io_error(&e),
                            plain.map_or_else(|e| describe_io_error(&e), |_| "a pidfd".to_owned())
                        )));
                    }
                    return Err(Observation::from_io_error("pidfd_open(PIDFD_THREAD)", &e));
                }
            };
            let running = ipc_conformance::channel::fd::revents_now(pidfd.as_fd())
                .step("poll while the thread runs")?;
            let _ = quit_tx.send(());
            let exited =
                ipc_conformance::channel::fd::wait(pidfd.as_fd(), PollFlags::POLLIN, BOUND)
                    .step("poll after the thread was told to exit")?;
            let _ = thread.join();
            Ok(Observation::holds(
                !running.contains(PollFlags::POLLIN) && exited,
                format!(
                    "pidfd_open(tid {tid} of pid {}, PIDFD_THREAD) gave a descriptor; poll revents while the thread ran: {running:?}; after it was told to exit, POLLIN within {BOUND:?}: {exited}",
                    std::process::id()
                ),
            ))
        });
    }

    #[test]
    fn pidfd_inode_identity() {
        check!("pidfd.inode_identity", |cx| {
            let me = std::process::id() as i32;
            let mut child = cx.peer(&["pidfd-child"]).start()?;
            let other = child.pid() as i32;
            let a = linux::pidfd_open(me, 0).step("pidfd_open(this process)")?;
            let b = linux::pidfd_open(me, 0).step("pidfd_open(this process), again")?;
            let c = linux::pidfd_open(other, 0).step("pidfd_open(the peer)")?;
            let id =
                |fd: &std::os::fd::OwnedFd| nix::sys::stat::fstat(fd).map(|s| (s.st_dev, s.st_ino));
            let (ia, ib, ic) = (
                id(&a).step("fstat")?,
                id(&b).step("fstat")?,
                id(&c).step("fstat")?,
            );
            let fs = nix::sys::statfs::fstatfs(&a).step("fstatfs")?;
            let magic = fs.filesystem_type().0 as i64;
            let fs_name = match magic {
                linux::PID_FS_MAGIC => "pidfs".to_owned(),
                linux::ANON_INODE_FS_MAGIC => "the anonymous inode file system".to_owned(),
                m => format!("file system {m:#x}"),
            };
            child.send_line("quit")?;
            let _ = child.finish();
            Ok(Observation::holds(
                ia == ib && ia != ic,
                format!(
                    "pidfds on {fs_name} (f_type {magic:#x}); (st_dev, st_ino): this process {ia:?} and {ib:?}, the peer (pid {other}) {ic:?}"
                ),
            ))
        });
    }

    /// Runs a `landlock-scoped` peer and judges its answer.
    fn scoped(
        cx: &mut ipc_conformance::check::Ctx,
        args: &[&str],
        what: &str,
    ) -> Checked<Observation> {
        let mut all = vec!["landlock-scoped"];
        all.extend_from_slice(args);
        let mut peer = cx.peer(&all).spawn()?;
        let line = peer.line(BOUND)?;
        let _ = peer.finish();
        let answer = ScopeAnswer::from_line(&line)
            .map_err(|e| Observation::error(format!("the peer's answer: {e}")))?;
        let name = |e: i32| {
            if e == 0 {
                "ok".to_owned()
            } else {
                errno_name(e)
            }
        };
        Ok(match answer {
            ScopeAnswer::Tried { abi, before, after } => Observation::holds(
                before == 0 && after == libc::EPERM,
                format!(
                    "Landlock ABI {abi}; {what} before the peer confined itself: {}; after: {}",
                    name(before),
                    name(after)
                ),
            ),
            ScopeAnswer::Refused { abi, step, errno } => {
                let abi = abi.map_or_else(|| "unknown".to_owned(), |a| a.to_string());
                let detail = format!("{step}: {} (Landlock ABI {abi})", name(errno));
                match (step.as_str(), errno) {
                    ("abi", libc::ENOSYS) => Observation::unsupported(format!(
                        "landlock_create_ruleset: {detail}: no Landlock system call here (a kernel without Landlock, or an emulator that does not translate it)"
                    )),
                    ("abi", libc::EOPNOTSUPP) => Observation::skipped(format!(
                        "landlock_create_ruleset: {detail}: Landlock is built in but not enabled (the lsm= boot parameter or CONFIG_LSM; /sys/kernel/security/lsm lists the active ones)"
                    )),
                    (_, libc::EPERM) => Observation::skipped(format!(
                        "Landlock refused by policy: {detail}; {}",
                        seccomp()
                    )),
                    ("restrict", libc::E2BIG) => Observation::unsupported(format!(
                        "the scoped ruleset: {detail}: this kernel's Landlock knows no scopes (a larger ruleset attribute with non-zero fields it does not know is E2BIG)"
                    )),
                    _ => Observation::error(format!("the Landlock peer: {detail}")),
                }
            }
        })
    }

    #[test]
    fn landlock_scope_abstract_unix() {
        check!("landlock.scope_abstract_unix", |cx| {
            use std::os::linux::net::SocketAddrExt;
            let name = ipc_conformance::names::unique();
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
                .step("an abstract address")?;
            let _listener = std::os::unix::net::UnixListener::bind_addr(&addr)
                .step("bind() to an abstract name and listen()")?;
            scoped(
                cx,
                &["abstract", &name],
                &format!("connect() to the abstract name {name:?} this process listens on"),
            )
        });
    }

    #[test]
    fn landlock_scope_signal() {
        check!("landlock.scope_signal", |cx| {
            let me = std::process::id().to_string();
            scoped(
                cx,
                &["signal", &me],
                &format!("kill(pid {me}, 0) to this process"),
            )
        });
    }
}
