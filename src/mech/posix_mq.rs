//! POSIX message queues (`mq_open` and friends): the adapter for the matrix
//! checks, the posix_mq peer roles, and the helpers the posix_mq suite needs.
//!
//! Where the API exists: Linux (glibc and musl: `mqd_t` is a descriptor) and
//! FreeBSD (librt over the `kmq_*` system calls of the mqueuefs module; `mqd_t`
//! is a pointer, its kernel descriptor comes from `mq_getfd_np`). macOS has no
//! `mq_*` at all (no header, no symbol, no system call) and Windows neither:
//! there the whole module reduces to "no adapter", and the suite records
//! `unsupported` ("no API on TARGET").
//!
//! FreeBSD without mqueuefs loaded is the trap: the `kmq_*` slots are `nosys`,
//! which sends SIGSYS (default action: terminate) before returning ENOSYS. So on
//! FreeBSD the test process never calls `mq_*` before a probe process, with SIGSYS
//! ignored, has shown that the facility exists ([`ensure_runtime`]).
//!
//! Queues the suite makes are created exclusively (O_CREAT|O_EXCL, mode 0600)
//! under a fresh `/ipcconf-...` name, and an [`Unlink`] guard removes the name
//! even when a check panics. The adapter's queues hold [`MAXMSG`] messages of at
//! most [`MSGSIZE`] bytes: within Linux's unprivileged default limits
//! (fs.mqueue.msg_max = 10, msgsize_max = 8192) and FreeBSD's (kern.mqueue.maxmsg
//! = 100, maxmsgsize = 16384), and large enough for every matrix message (the
//! multiple-writers records are 64 bytes).

use crate::channel::{Endpoint, Role};

/// Messages an adapter queue holds (Linux's default fs.mqueue.msg_max).
pub const MAXMSG: i64 = 10;
/// Largest message of an adapter queue, in bytes.
pub const MSGSIZE: i64 = 1024;
/// The priority `send_urgent` uses; ordinary sends use 0.
pub const URGENT: u32 = 10;

/// Opens an existing queue by name in a peer: `endpoint posix_mq <role> </name>`.
pub fn open_remote(role: Role, args: &[String]) -> Option<std::io::Result<Box<dyn Endpoint>>> {
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "freebsd"))] {
            let _ = role;
            let [name] = args else {
                return Some(Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "usage: endpoint posix_mq <sender|receiver> </name>",
                )));
            };
            Some(imp::MqEndpoint::open_existing(name).map(|e| Box::new(e) as Box<dyn Endpoint>))
        } else {
            let _ = (role, args);
            None
        }
    }
}

crate::mech::api_where!(any(target_os = "linux", target_os = "freebsd"), imp);

#[cfg(any(target_os = "linux", target_os = "freebsd"))]
mod imp {
    use crate::peer::answer::{err_text, say};
    use std::ffi::CString;
    use std::io;
    use std::os::fd::BorrowedFd;
    use std::time::{Duration, Instant};

    use nix::poll::PollFlags;

    use super::{MAXMSG, MSGSIZE, URGENT};
    use crate::channel::{Channel, Endpoint, Role, unit_mechanism};
    use crate::check::Ctx;
    #[cfg(target_os = "freebsd")]
    use crate::observe::Observation;
    use crate::observe::{Checked, Step};
    use crate::peer::{PeerCommand, hex, unhex};
    use crate::watchdog::BOUND;

    /// The narrow unsafe layer over the C library's `mq_*` functions.
    mod ffi {
        use std::ffi::CStr;
        use std::io;
        use std::os::fd::RawFd;

        pub use libc::mqd_t;

        fn failed(q: mqd_t) -> bool {
            cfg_if::cfg_if! {
                if #[cfg(target_os = "freebsd")] {
                    // librt returns NULL when its malloc fails, (mqd_t)-1 otherwise.
                    q.is_null() || q as isize == -1
                } else {
                    q == -1
                }
            }
        }

        /// A zeroed `struct mq_attr` with the given limits; a limit its C long
        /// cannot hold (32-bit targets) is refused, never cut.
        fn attr(maxmsg: i64, msgsize: i64) -> io::Result<libc::mq_attr> {
            let long = |what: &str, v: i64| {
                libc::c_long::try_from(v).map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{what} {v} does not fit struct mq_attr's C long"),
                    )
                })
            };
            // SAFETY: mq_attr is a plain C struct of integers (and reserved integer
            // padding); all-zero bytes are a valid value of it.
            let mut a: libc::mq_attr = unsafe { std::mem::MaybeUninit::zeroed().assume_init() };
            a.mq_maxmsg = long("mq_maxmsg", maxmsg)?;
            a.mq_msgsize = long("mq_msgsize", msgsize)?;
            Ok(a)
        }

        /// `mq_open(name, oflag, mode, attr)`; `limits` None passes a NULL
        /// attribute pointer (the system's defaults when creating).
        pub fn open(
            name: &CStr,
            oflag: libc::c_int,
            mode: libc::mode_t,
            limits: Option<(i64, i64)>,
        ) -> io::Result<mqd_t> {
            let a = limits.map(|(m, s)| attr(m, s)).transpose()?;
            let ptr = a
                .as_ref()
                .map_or(std::ptr::null(), |a| a as *const libc::mq_attr);
            // SAFETY: name is NUL-terminated; mode is passed promoted to an
            // unsigned int as C's variadic call would; ptr is NULL or points to an
            // initialised mq_attr that outlives the call.
            let q = unsafe { libc::mq_open(name.as_ptr(), oflag, libc::c_uint::from(mode), ptr) };
            if failed(q) {
                Err(io::Error::last_os_error())
            } else {
                Ok(q)
            }
        }

        pub fn close(q: mqd_t) {
            // SAFETY: q came from a successful mq_open and is closed exactly once
            // (by the owning Queue's Drop).
            unsafe { libc::mq_close(q) };
        }

        pub fn unlink(name: &CStr) -> io::Result<()> {
            // SAFETY: name is NUL-terminated.
            if unsafe { libc::mq_unlink(name.as_ptr()) } == -1 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        }

        pub fn send(q: mqd_t, msg: &[u8], prio: u32) -> io::Result<()> {
            // SAFETY: q is open; msg is readable for msg.len() bytes.
            let rc = unsafe { libc::mq_send(q, msg.as_ptr().cast(), msg.len(), prio) };
            if rc == -1 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        }

        pub fn receive(q: mqd_t, buf: &mut [u8]) -> io::Result<(usize, u32)> {
            let mut prio: libc::c_uint = 0;
            // SAFETY: q is open; buf is writable for buf.len() bytes and the call
            // writes at most that many; prio is a valid out-pointer.
            let n = unsafe { libc::mq_receive(q, buf.as_mut_ptr().cast(), buf.len(), &mut prio) };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok((n as usize, prio))
            }
        }

        /// A blocking receive that gives up at `deadline` (CLOCK_REALTIME) with ETIMEDOUT.
        pub fn timed_receive(
            q: mqd_t,
            buf: &mut [u8],
            deadline: &libc::timespec,
        ) -> io::Result<(usize, u32)> {
            let mut prio: libc::c_uint = 0;
            // SAFETY: as in receive; deadline points to an initialised timespec.
            let n = unsafe {
                libc::mq_timedreceive(q, buf.as_mut_ptr().cast(), buf.len(), &mut prio, deadline)
            };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok((n as usize, prio))
            }
        }

        /// (flags, maxmsg, msgsize, curmsgs).
        // mq_attr's members are c_long: 32 bits on 32-bit targets.
        #[allow(clippy::unnecessary_cast)]
        pub fn getattr(q: mqd_t) -> io::Result<(i64, i64, i64, i64)> {
            let mut a = attr(0, 0)?;
            // SAFETY: q is open; a is a valid, writable mq_attr.
            if unsafe { libc::mq_getattr(q, &mut a) } == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok((
                a.mq_flags as i64,
                a.mq_maxmsg as i64,
                a.mq_msgsize as i64,
                a.mq_curmsgs as i64,
            ))
        }

        pub fn set_nonblocking(q: mqd_t, on: bool) -> io::Result<()> {
            let mut a = attr(0, 0)?;
            a.mq_flags = if on { libc::O_NONBLOCK as _ } else { 0 };
            // SAFETY: q is open; a is initialised; the old attributes are not asked for.
            if unsafe { libc::mq_setattr(q, &a, std::ptr::null_mut()) } == -1 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        }

        /// The kernel descriptor behind q (poll, fcntl, sendmsg).
        pub fn raw_fd(q: mqd_t) -> RawFd {
            cfg_if::cfg_if! {
                if #[cfg(target_os = "freebsd")] {
                    // SAFETY: q is an open librt queue; mq_getfd_np only reads it.
                    unsafe { libc::mq_getfd_np(q) }
                } else {
                    q
                }
            }
        }

        /// Ignores SIGSYS in this process (the probe peer only: a missing mqueuefs
        /// turns `mq_open` into SIGSYS + ENOSYS on FreeBSD).
        pub fn ignore_sigsys() -> nix::Result<()> {
            use nix::sys::signal::{SigHandler, Signal, signal};
            // SAFETY: SIG_IGN runs no handler code; called only in a peer process
            // before it starts any thread.
            unsafe { signal(Signal::SIGSYS, SigHandler::SigIgn) }.map(|_| ())
        }
    }

    fn cname(name: &str) -> io::Result<CString> {
        CString::new(name).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
    }

    /// The queue attributes `mq_getattr` reports.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Attr {
        pub nonblocking: bool,
        pub maxmsg: i64,
        pub msgsize: i64,
        pub curmsgs: i64,
    }

    /// One open queue descriptor, closed on drop (never unlinks: see [`Unlink`]).
    #[derive(Debug)]
    pub struct Queue {
        q: ffi::mqd_t,
    }

    // SAFETY: an mqd_t is a process-wide handle with no thread affinity (Linux: a
    // descriptor; FreeBSD: librt's heap record around a descriptor), and Queue owns
    // it exclusively, closing it once.
    unsafe impl Send for Queue {}

    impl Drop for Queue {
        fn drop(&mut self) {
            ffi::close(self.q);
        }
    }

    impl Queue {
        fn wrap(q: ffi::mqd_t) -> io::Result<Queue> {
            let q = Queue { q };
            // Both kernels set close-on-exec on queue descriptors (Linux
            // do_mq_open: get_unused_fd_flags(O_CLOEXEC); FreeBSD kern_kmq_open:
            // UF_EXCLOSE); make sure, so that no child another check spawns
            // inherits one.
            use nix::fcntl::{FcntlArg, FdFlag, fcntl};
            let flags = FdFlag::from_bits_truncate(fcntl(q.fd(), FcntlArg::F_GETFD)?);
            if !flags.contains(FdFlag::FD_CLOEXEC) {
                fcntl(q.fd(), FcntlArg::F_SETFD(flags | FdFlag::FD_CLOEXEC))?;
            }
            Ok(q)
        }

        /// Creates `name` exclusively (O_CREAT|O_EXCL|O_RDWR, mode 0600);
        /// `limits` = (mq_maxmsg, mq_msgsize), None for the system's defaults.
        pub fn create(
            name: &str,
            limits: Option<(i64, i64)>,
            nonblocking: bool,
        ) -> io::Result<Queue> {
            let mut oflag = libc::O_CREAT | libc::O_EXCL | libc::O_RDWR;
            if nonblocking {
                oflag |= libc::O_NONBLOCK;
            }
            // A refusal by lowered fs.mqueue limits is marked as a precondition.
            let q = ffi::open(&cname(name)?, oflag, 0o600, limits)
                .map_err(|e| crate::precondition::mqueue_limits(e, limits))?;
            Self::wrap(q)
        }

        /// Opens an existing queue: `access` is O_RDONLY, O_WRONLY or O_RDWR.
        pub fn open(name: &str, access: libc::c_int, nonblocking: bool) -> io::Result<Queue> {
            let mut oflag = access;
            if nonblocking {
                oflag |= libc::O_NONBLOCK;
            }
            Self::wrap(ffi::open(&cname(name)?, oflag, 0, None)?)
        }

        /// `mq_send` once (EINTR retried); EAGAIN when full and non-blocking.
        pub fn send(&self, msg: &[u8], prio: u32) -> io::Result<()> {
            loop {
                match ffi::send(self.q, msg, prio) {
                    Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                    r => return r,
                }
            }
        }

        /// `mq_receive` once (EINTR retried): (length, priority).
        pub fn receive(&self, buf: &mut [u8]) -> io::Result<(usize, u32)> {
            loop {
                match ffi::receive(self.q, buf) {
                    Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                    r => return r,
                }
            }
        }

        /// `mq_timedreceive` on a blocking descriptor: waits at most `bound` for a
        /// message (ETIMEDOUT after that).
        pub fn receive_within(&self, buf: &mut [u8], bound: Duration) -> io::Result<(usize, u32)> {
            use nix::sys::time::TimeSpec;
            use nix::time::{ClockId, clock_gettime};
            let deadline = clock_gettime(ClockId::CLOCK_REALTIME)? + TimeSpec::from_duration(bound);
            loop {
                match ffi::timed_receive(self.q, buf, deadline.as_ref()) {
                    Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                    r => return r,
                }
            }
        }

        pub fn attr(&self) -> io::Result<Attr> {
            let (flags, maxmsg, msgsize, curmsgs) = ffi::getattr(self.q)?;
            Ok(Attr {
                nonblocking: flags & i64::from(libc::O_NONBLOCK) != 0,
                maxmsg,
                msgsize,
                curmsgs,
            })
        }

        pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
            ffi::set_nonblocking(self.q, on)
        }

        /// The kernel descriptor of the queue (poll, fcntl).
        pub fn fd(&self) -> BorrowedFd<'_> {
            // SAFETY: the descriptor belongs to the open queue, which outlives the
            // borrow (tied to &self) and is closed only by Drop.
            unsafe { BorrowedFd::borrow_raw(ffi::raw_fd(self.q)) }
        }
    }

    /// `mq_unlink(name)`.
    pub fn unlink(name: &str) -> io::Result<()> {
        ffi::unlink(&cname(name)?)
    }

    /// Removes a queue name when dropped, also when the check panics.
    #[must_use = "the queue is removed when the guard drops"]
    pub struct Unlink(pub String);

    impl Drop for Unlink {
        fn drop(&mut self) {
            let _ = unlink(&self.0);
        }
    }

    /// Creates a fresh `/ipcconf-...` queue for a check (after [`ensure_runtime`])
    /// with its removal guard.
    pub fn new_queue(
        cx: &Ctx,
        limits: Option<(i64, i64)>,
        nonblocking: bool,
    ) -> Checked<(String, Queue, Unlink)> {
        ensure_runtime(cx)?;
        let name = crate::names::unique_slash();
        let q = Queue::create(&name, limits, nonblocking)
            .step(&format!("mq_open({name:?}, O_CREAT|O_EXCL|O_RDWR, 0600)"))?;
        let guard = Unlink(name.clone());
        Ok((name, q, guard))
    }

    /// On FreeBSD, whether `mq_*` exists at run time, decided once per process by
    /// a probe peer with SIGSYS ignored (a missing mqueuefs would kill this
    /// process). Elsewhere a missing facility shows as ENOSYS from the call itself.
    /// `Ok` carries the probe's evidence.
    pub fn ensure_runtime(cx: &Ctx) -> Checked<String> {
        cfg_if::cfg_if! {
            if #[cfg(target_os = "freebsd")] {
                static PROBE: std::sync::OnceLock<Result<String, Observation>> =
                    std::sync::OnceLock::new();
                PROBE.get_or_init(|| probe_in_peer(cx)).clone()
            } else {
                let _ = cx;
                Ok(String::new())
            }
        }
    }

    #[cfg(target_os = "freebsd")]
    fn probe_in_peer(cx: &Ctx) -> Result<String, Observation> {
        let feature = crate::sys::sysctl_int("kern.features.p1003_1b_mqueue");
        let name = crate::names::unique_slash();
        let mut peer = cx.peer(&["posix_mq-probe", &name]).spawn()?;
        let line = peer.line(BOUND)?;
        let status = peer
            .finish()
            .map(|(s, _)| s.to_string())
            .unwrap_or_default();
        let evidence = format!(
            "probe process (SIGSYS ignored) answered {line:?} ({status}); sysctl kern.features.p1003_1b_mqueue = {feature:?}"
        );
        if line.starts_with("ok") {
            // The probe removed its queue; make sure.
            let _ = unlink(&name);
            return Ok(evidence);
        }
        let errno: i32 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if crate::sys::is_absent_errno(Some(errno)) {
            Err(Observation::unsupported(evidence))
        } else {
            Err(Observation::error(evidence))
        }
    }

    /// A queue endpoint: non-blocking descriptor, bounded waits through poll().
    pub struct MqEndpoint {
        q: Queue,
        msgsize: usize,
    }

    impl MqEndpoint {
        /// Wraps a queue, switching it to non-blocking so every wait is bounded.
        pub fn new(q: Queue) -> io::Result<MqEndpoint> {
            q.set_nonblocking(true)?;
            let msgsize = usize::try_from(q.attr()?.msgsize).unwrap_or(0);
            Ok(MqEndpoint { q, msgsize })
        }

        /// Opens an existing queue by name, O_RDWR: a queue end is the same object
        /// for sending and receiving.
        pub fn open_existing(name: &str) -> io::Result<MqEndpoint> {
            Self::new(Queue::open(name, libc::O_RDWR, true)?)
        }

        pub fn queue(&self) -> &Queue {
            &self.q
        }

        fn send_prio(&mut self, msg: &[u8], prio: u32) -> io::Result<usize> {
            let deadline = Instant::now() + BOUND;
            loop {
                match self.q.send(msg, prio) {
                    Ok(()) => return Ok(msg.len()),
                    Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                        let left = deadline.saturating_duration_since(Instant::now());
                        if !crate::channel::fd::wait(self.q.fd(), PollFlags::POLLOUT, left)? {
                            return Err(io::Error::new(
                                io::ErrorKind::TimedOut,
                                "the queue stayed full for the whole bound",
                            ));
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }

    impl Endpoint for MqEndpoint {
        fn send(&mut self, msg: &[u8]) -> io::Result<usize> {
            self.send_prio(msg, 0)
        }

        fn send_urgent(&mut self, msg: &[u8]) -> io::Result<usize> {
            self.send_prio(msg, URGENT)
        }

        fn try_recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
            // mq_receive refuses (EMSGSIZE) a buffer smaller than mq_msgsize:
            // receive into one that size and hand over what fits.
            let result = if buf.len() >= self.msgsize {
                self.q.receive(buf).map(|(n, _)| n)
            } else {
                let mut scratch = vec![0u8; self.msgsize];
                let room = buf.len();
                self.q.receive(&mut scratch).and_then(|(n, _)| {
                    let dest = buf.get_mut(..n).ok_or_else(|| {
                        io::Error::other(format!(
                            "a {n}-byte message does not fit the {room}-byte buffer"
                        ))
                    })?;
                    dest.copy_from_slice(&scratch[..n]);
                    Ok(n)
                })
            };
            match result {
                Ok(n) => Ok(Some(n)),
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => Ok(None),
                Err(e) => Err(e),
            }
        }

        fn wait_readable(&mut self, bound: Duration) -> io::Result<bool> {
            crate::channel::fd::wait(self.q.fd(), PollFlags::POLLIN, bound)
        }

        fn poll_fd(&self) -> Option<BorrowedFd<'_>> {
            Some(self.q.fd())
        }

        /// The only way to send a descriptor is sendmsg(SCM_RIGHTS); try it on the
        /// queue's descriptor and report what the kernel says (ENOTSOCK).
        fn send_fd(&mut self, payload: &[u8], fd: BorrowedFd<'_>) -> io::Result<()> {
            use std::os::fd::AsRawFd;
            let fds = [fd.as_raw_fd()];
            let cmsg = [nix::sys::socket::ControlMessage::ScmRights(&fds)];
            let iov = [std::io::IoSlice::new(payload)];
            nix::sys::socket::sendmsg::<()>(
                self.q.fd().as_raw_fd(),
                &iov,
                &cmsg,
                nix::sys::socket::MsgFlags::empty(),
                None,
            )
            .map_err(|e| {
                io::Error::new(
                    io::Error::from(e).kind(),
                    format!(
                        "sendmsg(SCM_RIGHTS) on the queue descriptor: {}; mq_send carries only bytes",
                        crate::sys::errno_name(e as i32)
                    ),
                )
            })?;
            Ok(())
        }
    }

    /// One queue made for a matrix check: its name, and the guard that removes it.
    pub struct MqChannel {
        name: String,
        _unlink: Unlink,
    }

    impl Channel for MqChannel {
        fn open(&mut self, _role: Role) -> io::Result<Box<dyn Endpoint>> {
            Ok(Box::new(MqEndpoint::open_existing(&self.name)?))
        }

        fn peer(&mut self, cx: &Ctx, role: Role) -> io::Result<PeerCommand> {
            Ok(cx.peer(&["endpoint", "posix_mq", role.as_str(), &self.name]))
        }

        fn name(&self) -> Option<String> {
            Some(self.name.clone())
        }
    }

    unit_mechanism!(
        /// POSIX message queues as a `Mechanism`: each channel is a fresh queue of
        /// MAXMSG messages of up to MSGSIZE bytes; every end opens it O_RDWR by name.
        PosixMqMechanism,
        "posix_mq",
        |cx| {
            let (name, q, guard) = new_queue(cx, Some((MAXMSG, MSGSIZE)), true)?;
            drop(q);
            Ok(Box::new(MqChannel {
                name,
                _unlink: guard,
            }))
        }
    );

    // ------------------------------------------------------------ peer roles

    /// Peer roles:
    /// - `posix_mq-probe </name>`: with SIGSYS ignored, creates and removes a queue;
    ///   prints `ok` or `err <errno> <text>`;
    /// - `posix_mq-send-blocking </name> <hex>`: opens the queue without O_NONBLOCK,
    ///   prints `ready <pid>` and `sending`, makes one blocking mq_send, then prints
    ///   `sent` or `err <errno> <text>`;
    /// - `posix_mq-consume </name>`: prints `ready <pid>`, receives with blocking
    ///   mq_timedreceive calls (each bounded) until a message "stop", then prints
    ///   `got <hex>,<hex>,...` (or `timeout got ...`);
    /// - `posix_mq-create-and-die </name> <hex>`: creates the queue (adapter
    ///   limits), sends the message, prints `sent <pid>` and kills itself with
    ///   SIGKILL, so that nothing of it runs after the send;
    /// - `posix_mq-limits </name>`: drops root privileges (to a uid/gid no account uses) if it
    ///   has them, then finds the largest mq_maxmsg and mq_msgsize mq_open accepts;
    ///   prints `limits uid=<uid> maxmsg=<n> maxmsg_refusal=<errno> msgsize=<n>
    ///   msgsize_refusal=<errno> dropped=<yes|no|failed:...>`.
    pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
        match (role, args) {
            ("posix_mq-probe", [name]) => Some(probe_role(name)),
            ("posix_mq-send-blocking", [name, h]) => Some(send_blocking_role(name, h)),
            ("posix_mq-consume", [name]) => Some(consume_role(name)),
            ("posix_mq-create-and-die", [name, h]) => Some(create_and_die_role(name, h)),
            ("posix_mq-limits", [name]) => Some(limits_role(name)),
            _ => None,
        }
    }

    fn probe_role(name: &str) -> Result<(), String> {
        ffi::ignore_sigsys().map_err(|e| format!("signal(SIGSYS, SIG_IGN): {e}"))?;
        match Queue::create(name, Some((MAXMSG, MSGSIZE)), true) {
            Ok(q) => {
                drop(q);
                let _ = unlink(name);
                say("ok")
            }
            Err(e) => say(&format!("err {}", err_text(&e))),
        }
    }

    fn send_blocking_role(name: &str, h: &str) -> Result<(), String> {
        let data = unhex(h).ok_or("bad hex")?;
        let q = Queue::open(name, libc::O_WRONLY, false).map_err(|e| err_text(&e))?;
        say(&format!("ready {}", std::process::id()))?;
        say("sending")?;
        match q.send(&data, 0) {
            Ok(()) => say("sent"),
            Err(e) => say(&format!("err {}", err_text(&e))),
        }
    }

    fn consume_role(name: &str) -> Result<(), String> {
        // A blocking descriptor: the consumer waits inside mq_timedreceive, where
        // the kernel hands each arriving message to one waiting receiver.
        let q = Queue::open(name, libc::O_RDONLY, false).map_err(|e| err_text(&e))?;
        let msgsize = usize::try_from(q.attr().map_err(|e| err_text(&e))?.msgsize).unwrap_or(0);
        say(&format!("ready {}", std::process::id()))?;
        let mut got = Vec::new();
        let mut buf = vec![0u8; msgsize.max(1)];
        loop {
            match q.receive_within(&mut buf, BOUND) {
                Ok((n, _)) if &buf[..n] == b"stop" => {
                    return say(&format!("got {}", got.join(",")));
                }
                Ok((n, _)) => got.push(hex(&buf[..n])),
                Err(e) if e.raw_os_error() == Some(libc::ETIMEDOUT) => {
                    return say(&format!("timeout got {}", got.join(",")));
                }
                Err(e) => return say(&format!("err {}", err_text(&e))),
            }
        }
    }

    fn create_and_die_role(name: &str, h: &str) -> Result<(), String> {
        let data = unhex(h).ok_or("bad hex")?;
        let q = Queue::create(name, Some((MAXMSG, MSGSIZE)), true).map_err(|e| err_text(&e))?;
        q.send(&data, 0).map_err(|e| err_text(&e))?;
        say(&format!("sent {}", std::process::id()))?;
        nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL)
            .map_err(|e| format!("raise(SIGKILL): {e}"))?;
        Err("survived SIGKILL".into())
    }

    /// Drops root, in this peer process, to a uid/gid no account uses (so no
    /// other user's queues count against its RLIMIT_MSGQUEUE, and no other user
    /// can open its queues).
    fn drop_root() -> String {
        use nix::unistd::{Gid, Uid, geteuid, setgid, setgroups, setuid};
        if !geteuid().is_root() {
            return "no".into();
        }
        let other = crate::names::unused_uid();
        let r = setgroups(&[])
            .and_then(|_| setgid(Gid::from_raw(other)))
            .and_then(|_| setuid(Uid::from_raw(other)));
        match r {
            Ok(()) => "yes".into(),
            Err(e) => format!("failed:{e:?}"),
        }
    }

    /// The largest value in 1..=cap that `accepts` takes (binary search, assuming
    /// acceptance is monotonic), and the refusal just above it.
    fn largest(cap: i64, accepts: impl Fn(i64) -> io::Result<()>) -> (i64, String) {
        if let Err(e) = accepts(1) {
            return (0, crate::observe::describe_io_error(&e));
        }
        if accepts(cap).is_ok() {
            return (cap, format!("none up to {cap}"));
        }
        let (mut lo, mut hi) = (1i64, cap);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if accepts(mid).is_ok() {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let refusal = accepts(hi)
            .err()
            .map(|e| match crate::precondition::raw_os_error(&e) {
                Some(c) => crate::sys::errno_name(c),
                None => e.to_string(),
            })
            .unwrap_or_else(|| "accepted on retry".into());
        (lo, refusal)
    }

    fn limits_role(name: &str) -> Result<(), String> {
        let dropped = drop_root();
        let try_open = |maxmsg: i64, msgsize: i64| -> io::Result<()> {
            let q = Queue::create(name, Some((maxmsg, msgsize)), true)?;
            drop(q);
            unlink(name)
        };
        let (maxmsg, maxmsg_refusal) = largest(1 << 20, |m| try_open(m, 16));
        let (msgsize, msgsize_refusal) = largest(1 << 26, |s| try_open(1, s));
        say(&format!(
            "limits uid={} maxmsg={maxmsg} maxmsg_refusal={maxmsg_refusal} msgsize={msgsize} msgsize_refusal={msgsize_refusal} dropped={dropped}",
            nix::unistd::geteuid()
        ))
    }

    /// Parses `key=value` words of a peer's answer.
    pub fn field<'a>(answer: &'a str, key: &str) -> Option<&'a str> {
        answer
            .split_whitespace()
            .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
    }

    /// The state and current system call of a Linux process, from /proc
    /// (evidence that a peer sits inside a blocking call; see
    /// [`crate::procstate::describe`]); empty elsewhere.
    pub fn proc_syscall(pid: u32) -> String {
        if cfg!(target_os = "linux") {
            crate::procstate::describe(pid)
        } else {
            String::new()
        }
    }

    /// Whether `/dev/mqueue` (Linux's mqueue filesystem, when mounted) lists `name`.
    pub fn listed_in_dev_mqueue(name: &str) -> Option<bool> {
        let dir = std::path::Path::new("/dev/mqueue");
        if !dir.is_dir() {
            return None;
        }
        Some(dir.join(name.trim_start_matches('/')).exists())
    }
}
