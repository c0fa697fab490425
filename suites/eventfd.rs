//! eventfd: every `eventfd.*` claim of the catalog.
//!
//! The guide: "eventfd | Counter/notification | Inherited FD | Bidirectional |
//! User-space events, polling". The portability table has no eventfd row.
//! Linux has it; FreeBSD has a native eventfd since 13.0; macOS and Windows
//! have none: the claims' `requires` is unmet there.

ipc_conformance::suite!();

#[cfg(any(target_os = "linux", target_os = "freebsd"))]
mod with_eventfd {
    use ipc_conformance::{Checked, Observation, Step, check};
    use std::os::fd::AsFd;

    use ipc_conformance::watchdog::BOUND;
    use nix::errno::Errno;
    use nix::sys::eventfd::{EfdFlags, EventFd};

    fn eventfd(flags: EfdFlags) -> Checked<EventFd> {
        EventFd::from_value_and_flags(0, flags | EfdFlags::EFD_CLOEXEC).step("eventfd()")
    }

    #[test]
    fn available() {
        check!("eventfd.available", |_cx| {
            let efd = eventfd(EfdFlags::empty())?;
            efd.write(1).step("write 1")?;
            let got = efd.read().step("read")?;
            Ok(Observation::holds(
                got == 1,
                format!("eventfd(0, EFD_CLOEXEC) gave a descriptor; wrote 1, read back {got}"),
            ))
        });
    }

    #[test]
    fn counter_semantics() {
        check!("eventfd.counter_semantics", |_cx| {
            let efd = eventfd(EfdFlags::EFD_NONBLOCK)?;
            efd.write(3).step("write 3")?;
            efd.write(4).step("write 4")?;
            let first = efd.read().step("read")?;
            let second = efd.read();
            Ok(Observation::holds(
                first == 7 && second == Err(Errno::EAGAIN),
                format!(
                    "wrote 3 then 4; one read returned {first}; the next non-blocking read: {second:?}"
                ),
            ))
        });
    }

    #[test]
    fn semaphore_mode() {
        check!("eventfd.semaphore_mode", |_cx| {
            let efd = eventfd(EfdFlags::EFD_NONBLOCK | EfdFlags::EFD_SEMAPHORE)?;
            efd.write(3).step("write 3")?;
            let reads: Vec<nix::Result<u64>> = (0..4).map(|_| efd.read()).collect();
            Ok(Observation::holds(
                reads[..3].iter().all(|r| *r == Ok(1)) && reads[3] == Err(Errno::EAGAIN),
                format!("EFD_SEMAPHORE eventfd, wrote 3; four non-blocking reads: {reads:?}"),
            ))
        });
    }

    #[test]
    fn pollable() {
        check!("eventfd.pollable", |_cx| {
            use nix::poll::PollFlags;
            let efd = eventfd(EfdFlags::EFD_NONBLOCK)?;
            let before =
                ipc_conformance::channel::fd::revents_now(efd.as_fd()).step("poll before")?;
            let child =
                ipc_conformance::sys::fork_writer(efd.as_fd(), &1u64.to_ne_bytes()).step("fork")?;
            let after = ipc_conformance::channel::fd::wait(efd.as_fd(), PollFlags::POLLIN, BOUND)
                .step("poll after");
            let status = nix::sys::wait::waitpid(child, None).step("waitpid")?;
            let after = after?;
            Ok(Observation::holds(
                !before.contains(PollFlags::POLLIN) && after,
                format!(
                    "poll() revents while the counter is 0: {before:?}; after a forked child ({status:?}) wrote 1, POLLIN within {BOUND:?}: {after}"
                ),
            ))
        });
    }

    #[test]
    fn inherited_across_fork() {
        check!("eventfd.inherited_across_fork", |_cx| {
            let efd = eventfd(EfdFlags::EFD_NONBLOCK)?;
            let child =
                ipc_conformance::sys::fork_writer(efd.as_fd(), &5u64.to_ne_bytes()).step("fork")?;
            let status = nix::sys::wait::waitpid(child, None).step("waitpid")?;
            let got = efd.read();
            Ok(Observation::holds(
                got == Ok(5),
                format!(
                    "a forked child wrote 5 through the inherited eventfd and exited ({status:?}); the parent's read: {got:?}"
                ),
            ))
        });
    }
}
