//! Signals: the `signal-peer` role every signal check runs its receivers and
//! senders in, the controller-side handle that drives it, and the narrow FFI
//! around sigaction, sigprocmask, kill and sigqueue.
//!
//! A process-directed signal sent to the multithreaded test binary could land on
//! any of its threads, and changing its mask or handlers would disturb every
//! other check: so the test binary never changes its own signal state. Each
//! scenario runs in `ipcconf-peer signal-peer <signal...>`, a single-threaded
//! process that installs an SA_SIGINFO recording handler for the named signals,
//! blocks them, and prints `ready <pid> uid=<uid> pgid=<pgid> threads=<n>
//! fds=<list>`. Signals sent to it stay pending (for a blocked, process-directed
//! signal to a single-threaded process, the sender's kill() returning means the
//! signal is pending) until the controller asks it to `unblock`: the pending
//! signals are then delivered to the handler, and the peer reports what it
//! recorded. No sleeps: the order is carried by the line protocol.
//!
//! The protocol is typed ([`protocol`]): the peer (`peer`) reads a
//! [`protocol::Command`] and writes a [`protocol::Answer`], the controller
//! ([`SigPeer`]) the other way round, both through the same `Display` and
//! `from_line`. A line that is not a command answers `err 0 not a signal-peer
//! command: "<line>" (<reason>)`; a command the peer refuses (a signal this
//! system lacks) `err 0 bad command "<line>": <reason>`.
//!
//! Signal names on the command line and in commands: `USR1`, `USR2`, `RT+<k>`
//! (SIGRTMIN + k), `RTMAX`, or a number (`0` is the null signal of kill()).
//!
//! Commands (one answer line each):
//! - `kill <pid> <sig> <count>` → `ok <count>` | `err <errno> <text> after <n>`
//! - `killpg <pgid> <sig> <count>` → the same, with kill(-pgid)
//! - `sigqueue <pid> <sig> <first-value> <count>` → the same; values first, first+1, ...
//! - `sweep <pid> <from> <to>` → `swept ok=<n> refused=<signo>:<errno>,...|-`: one
//!   sigqueue() of every signal from..=to (value = the signal number)
//! - `unblock` → `got <n> rounds=<r> <signo>:<value>:<pid>:<uid>:<code> ...`
//! - `handle` → `ok`: unblocks this peer's signals for good, so each is handled on
//!   arrival (a pending unblocked signal is delivered at the latest when the
//!   peer's next system call returns, so before it reads its next command)
//! - `report` → `got <n> ...` as for `unblock`, without touching the mask
//! - `pending` → `pending <signo,...>` (`-` for none) among this peer's signals
//! - `fds` → `fds <list>` (open descriptors; `?` where the system does not list them)
//! - `open <path>` → `fd <n> <dev> <ino>` (kept open until the peer exits)
//! - `fdstat <n>` → `stat <dev> <ino>` | `err <errno> <text>`
//! - `rtprobe` → `rt min=<n|-> max=<n|-> highest_valid=<n|->` (sigaction query only)
//! - `dropkill <uid> <pid> <sig>` → `dropkill sig0=<OK|errno> sig=<OK|errno>`: a forked
//!   child drops to uid/gid `<uid>` and tries kill(pid, 0) and kill(pid, sig)
//! - `fillchild <uid|-> <rlimit|-> <sig> <max>` → `filled <n> stop=<errno|max>
//!   rlimit=<soft|-> child=<wait status>`: a forked child (optionally under
//!   another uid, optionally with a lower RLIMIT_SIGPENDING) keeps `<sig>`
//!   blocked while this peer sigqueue()s it until the system refuses; the child
//!   is then killed
//! - `signalfd` → `sfd revents=<poll bits>` (Linux: a signalfd for this peer's standard signals)
//! - `sfdwait <ms>` → `sfd ready=<bool> signo=<n> pid=<n> uid=<n>`
//! - `kqueue` → `kq revents=<poll bits>` (BSD, macOS: EVFILT_SIGNAL for this peer's signals)
//! - `kqwait <ms>` → `kq ready=<bool> ident=<n> data=<n>`
//! - `quit` → exits 0.
//!
//! Files: [`protocol`] (the typed lines), `peer` (the role), `control` (the
//! controller), `ffi` (sigaction, sigprocmask, kill, sigqueue), `child` (forked
//! children), `signalfd` (Linux), `kqueue` (macOS, FreeBSD).

pub mod protocol;

#[cfg(unix)]
mod child;
#[cfg(unix)]
mod control;
#[cfg(unix)]
mod ffi;
#[cfg(any(target_vendor = "apple", target_os = "freebsd"))]
mod kqueue;
#[cfg(unix)]
mod peer;
#[cfg(any(target_os = "linux", target_vendor = "apple", target_os = "freebsd"))]
mod readiness;
#[cfg(target_os = "linux")]
mod signalfd;

#[cfg(unix)]
pub use control::SigPeer;

/// Whether this target has real-time signals and sigqueue().
pub const HAS_REALTIME: bool = cfg!(any(target_os = "linux", target_os = "freebsd"));

/// FreeBSD's SIGRTMIN and SIGRTMAX (sys/sys/signal.h); the libc crate has no
/// constant for them.
#[cfg(target_os = "freebsd")]
const FREEBSD_SIGRTMIN: i32 = 65;
#[cfg(target_os = "freebsd")]
const FREEBSD_SIGRTMAX: i32 = 126;

/// SIGRTMIN and SIGRTMAX at run time, where real-time signals exist.
fn rt_range() -> Option<(i32, i32)> {
    cfg_if::cfg_if! {
        if #[cfg(target_os = "linux")] {
            Some((libc::SIGRTMIN(), libc::SIGRTMAX()))
        } else if #[cfg(target_os = "freebsd")] {
            Some((FREEBSD_SIGRTMIN, FREEBSD_SIGRTMAX))
        } else {
            None
        }
    }
}

/// SIGRTMIN at run time, where real-time signals exist.
pub fn rt_min() -> Option<i32> {
    rt_range().map(|(min, _)| min)
}

/// SIGRTMAX at run time, where real-time signals exist.
pub fn rt_max() -> Option<i32> {
    rt_range().map(|(_, max)| max)
}

/// A signal number as the protocol and the evidence name it.
pub fn sig_name(sig: i32) -> String {
    #[cfg(unix)]
    {
        if sig == libc::SIGUSR1 {
            return "SIGUSR1".into();
        }
        if sig == libc::SIGUSR2 {
            return "SIGUSR2".into();
        }
    }
    match (rt_min(), rt_max()) {
        (_, Some(max)) if sig == max => format!("SIGRTMAX({sig})"),
        (Some(min), _) if sig == min => format!("SIGRTMIN({sig})"),
        (Some(min), _) if sig > min => format!("SIGRTMIN+{}({sig})", sig - min),
        _ => format!("signal {sig}"),
    }
}

/// One delivery a receiver's handler recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub signo: i32,
    /// si_value (meaningful for sigqueue() only).
    pub value: usize,
    pub pid: i32,
    pub uid: u32,
    pub code: i32,
}

impl std::fmt::Display for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} value {} from pid {} uid {} (si_code {})",
            sig_name(self.signo),
            self.value,
            self.pid,
            self.uid,
            self.code
        )
    }
}

/// Lists deliveries for evidence.
pub fn describe(got: &[Delivery]) -> String {
    if got.is_empty() {
        return "none".into();
    }
    got.iter()
        .map(Delivery::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The `signal-*` peer roles.
pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
    match role {
        #[cfg(unix)]
        "signal-peer" => Some(peer::serve(args)),
        #[cfg(not(unix))]
        "signal-peer" => {
            let _ = args;
            Some(Err(format!(
                "no signals between processes on {}",
                crate::platform::TARGET
            )))
        }
        _ => None,
    }
}
