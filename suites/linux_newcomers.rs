//! The guide's Linux newcomers: `memfd.available`, `pidfd.available`,
//! `io_uring.available`.
//!
//! The guide: "Linux has added newer mechanisms like io_uring (asynchronous I/O
//! with shared ring buffers), memfd (anonymous memory-backed files), and pidfd
//! (process file descriptors). These extend the toolkit but are Linux-specific."
//! FreeBSD 13+ ships memfd_create(3) too (platforms/freebsd.toml).

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
