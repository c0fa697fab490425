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
//! - `fds` → `fds <list>` (open descriptors)
//! - `open <path>` → `fd <n> <dev> <ino>` (kept open until the peer exits)
//! - `fdstat <n>` → `stat <dev> <ino>` | `err <errno> <text>`
//! - `rtprobe` → `rt min=<n|-> max=<n|-> highest_valid=<n>` (sigaction query only)
//! - `dropkill <uid> <pid> <sig>` → `dropkill sig0=<OK|errno> sig=<OK|errno>`: a forked
//!   child drops to uid/gid `<uid>` and tries kill(pid, 0) and kill(pid, sig)
//! - `fillchild <uid|-> <rlimit|-> <sig> <max>` → `filled <n> stop=<errno|max> rlimit=<soft>`:
//!   a forked child (optionally under another uid, optionally with a lower
//!   RLIMIT_SIGPENDING) keeps `<sig>` blocked while this peer sigqueue()s it until
//!   the system refuses; the child is then killed
//! - `signalfd` → `sfd revents=<poll bits>` (Linux: a signalfd for this peer's standard signals)
//! - `sfdwait <ms>` → `sfd ready=<bool> signo=<n> pid=<n> uid=<n>`
//! - `kqueue` → `kq revents=<poll bits>` (BSD, macOS: EVFILT_SIGNAL for this peer's signals)
//! - `kqwait <ms>` → `kq ready=<bool> ident=<n> data=<n>`
//! - `quit` → exits 0.

/// Whether this target has real-time signals and sigqueue().
pub const HAS_REALTIME: bool = cfg!(any(target_os = "linux", target_os = "freebsd"));

/// FreeBSD's SIGRTMIN and SIGRTMAX (sys/sys/signal.h); the libc crate has no
/// constant for them.
#[cfg(target_os = "freebsd")]
const FREEBSD_SIGRTMIN: i32 = 65;
#[cfg(target_os = "freebsd")]
const FREEBSD_SIGRTMAX: i32 = 126;

/// SIGRTMIN at run time, where real-time signals exist.
pub fn rt_min() -> Option<i32> {
    cfg_if::cfg_if! {
        if #[cfg(target_os = "linux")] {
            Some(libc::SIGRTMIN())
        } else if #[cfg(target_os = "freebsd")] {
            Some(FREEBSD_SIGRTMIN)
        } else {
            None
        }
    }
}

/// SIGRTMAX at run time, where real-time signals exist.
pub fn rt_max() -> Option<i32> {
    cfg_if::cfg_if! {
        if #[cfg(target_os = "linux")] {
            Some(libc::SIGRTMAX())
        } else if #[cfg(target_os = "freebsd")] {
            Some(FREEBSD_SIGRTMAX)
        } else {
            None
        }
    }
}

/// Parses a signal name of the protocol (`USR1`, `RT+2`, `RTMAX`, `0`, `10`).
pub fn parse_sig(s: &str) -> Option<i32> {
    #[cfg(unix)]
    match s {
        "USR1" => return Some(libc::SIGUSR1),
        "USR2" => return Some(libc::SIGUSR2),
        _ => {}
    }
    if s == "RTMAX" {
        return rt_max();
    }
    if let Some(k) = s.strip_prefix("RT+") {
        let sig = rt_min()? + k.parse::<i32>().ok()?;
        return (sig <= rt_max()?).then_some(sig);
    }
    s.parse().ok().filter(|n: &i32| (0..=1024).contains(n))
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

impl Delivery {
    #[cfg(unix)]
    fn parse(item: &str) -> Option<Delivery> {
        let mut f = item.split(':');
        let d = Delivery {
            signo: f.next()?.parse().ok()?,
            value: f.next()?.parse().ok()?,
            pid: f.next()?.parse().ok()?,
            uid: f.next()?.parse().ok()?,
            code: f.next()?.parse().ok()?,
        };
        f.next().is_none().then_some(d)
    }
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

#[cfg(unix)]
pub use control::SigPeer;

/// The controller side: starts signal peers and reads their answers.
#[cfg(unix)]
mod control {
    use super::Delivery;
    use crate::check::Ctx;
    use crate::observe::{Checked, Observation};
    use crate::peer::{Peer, PeerCommand};
    use crate::watchdog::BOUND;

    /// A running `signal-peer`.
    pub struct SigPeer {
        pub peer: Peer,
        pub pid: i32,
        /// The `ready` line: pid, uid, process group, threads, descriptors.
        pub ready: String,
    }

    impl SigPeer {
        /// Starts a peer that records and blocks `sigs`.
        pub fn start(cx: &Ctx, sigs: &[&str]) -> Checked<SigPeer> {
            let mut args = vec!["signal-peer"];
            args.extend_from_slice(sigs);
            SigPeer::launch(cx.peer(&args))
        }

        /// Starts a prepared `signal-peer` command (process group, environment).
        pub fn launch(cmd: PeerCommand) -> Checked<SigPeer> {
            let mut peer = cmd.spawn()?;
            let ready = peer.line(BOUND)?;
            if !ready.starts_with("ready ") {
                return Err(Observation::error(format!(
                    "signal peer did not start: {ready} — stderr: {}",
                    peer.stderr_text().trim()
                )));
            }
            let pid = peer.pid() as i32;
            Ok(SigPeer { peer, pid, ready })
        }

        /// A `key=value` field of the ready line.
        pub fn field(&self, key: &str) -> Option<&str> {
            self.ready
                .split_whitespace()
                .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        }

        /// Sends a command and returns the answer.
        pub fn ask(&mut self, line: &str) -> Checked<String> {
            Ok(self.peer.request(line)?)
        }

        /// Sends a command whose answer must start with `ok`. A sigqueue()
        /// refused with EAGAIN is the machine's queued-signal limit (a tiny
        /// RLIMIT_SIGPENDING), so the check ends `skipped` with that reason.
        pub fn ok(&mut self, line: &str) -> Checked<String> {
            let answer = self.ask(line)?;
            if answer.starts_with("ok") {
                Ok(answer)
            } else if let Some(reason) = line
                .starts_with("sigqueue")
                .then(|| crate::precondition::sigqueue_refused(&answer))
                .flatten()
            {
                Err(Observation::skipped(format!(
                    "peer {} answered {line:?}: {reason}",
                    self.pid
                )))
            } else {
                Err(Observation::error(format!(
                    "peer {} answered {line:?} with {answer:?}",
                    self.pid
                )))
            }
        }

        /// Unblocks the peer's signals, lets the pending ones be delivered to its
        /// handler, blocks them again and returns what the handler recorded.
        pub fn unblock(&mut self) -> Checked<Vec<Delivery>> {
            self.deliveries("unblock")
        }

        /// Unblocks the peer's signals for good: each is handled on arrival.
        pub fn handle(&mut self) -> Checked<()> {
            self.ok("handle").map(|_| ())
        }

        /// What the handler recorded since last asked (signals handled on arrival).
        pub fn report(&mut self) -> Checked<Vec<Delivery>> {
            self.deliveries("report")
        }

        fn deliveries(&mut self, command: &str) -> Checked<Vec<Delivery>> {
            let answer = self.ask(command)?;
            let mut words = answer.split_whitespace();
            let (Some("got"), Some(n)) = (words.next(), words.next()) else {
                return Err(Observation::error(format!(
                    "peer {} answered {command} with {answer:?}",
                    self.pid
                )));
            };
            let items: Vec<Delivery> = words.filter_map(Delivery::parse).collect();
            if n.parse::<usize>().ok() != Some(items.len()) {
                return Err(Observation::error(format!(
                    "peer {} recorded {n} deliveries but listed {}: {answer:?}",
                    self.pid,
                    items.len()
                )));
            }
            Ok(items)
        }

        /// The peer's signals that are pending now.
        pub fn pending(&mut self) -> Checked<Vec<i32>> {
            let answer = self.ask("pending")?;
            match answer.strip_prefix("pending ") {
                Some("-") => Ok(Vec::new()),
                Some(list) => Ok(list.split(',').filter_map(|s| s.parse().ok()).collect()),
                None => Err(Observation::error(format!(
                    "peer {} answered pending with {answer:?}",
                    self.pid
                ))),
            }
        }
    }
}

#[cfg(unix)]
mod peer {
    use std::io::{self, BufRead, Write};
    use std::os::fd::AsRawFd;

    use super::{ffi, parse_sig};

    fn num<T: std::str::FromStr>(s: &str) -> Result<T, String> {
        s.parse().map_err(|_| format!("bad number {s:?}"))
    }

    fn sig(s: &str) -> Result<i32, String> {
        parse_sig(s).ok_or_else(|| format!("unknown signal {s:?}"))
    }

    fn errno_text(e: &io::Error) -> String {
        format!(
            "{} {}",
            e.raw_os_error().unwrap_or(0),
            crate::observe::describe_io_error(e)
        )
    }

    /// Open descriptors of this process (without the one listing them).
    fn open_fds() -> String {
        use nix::dir::Dir;
        use nix::fcntl::OFlag;
        let path = if cfg!(target_os = "linux") {
            "/proc/self/fd"
        } else {
            "/dev/fd"
        };
        let Ok(mut dir) = Dir::open(
            path,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        ) else {
            return "?".into();
        };
        let own = dir.as_raw_fd();
        let mut fds: Vec<i32> = dir
            .iter()
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str().ok()?.parse().ok())
            .filter(|&fd| fd != own)
            .collect();
        fds.sort_unstable();
        fds.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
    }

    /// Threads of this process, where the system says (Linux: /proc/self/task).
    fn threads() -> String {
        std::fs::read_dir("/proc/self/task")
            .map(|rd| rd.count().to_string())
            .unwrap_or_else(|_| "?".into())
    }

    /// What the peer keeps between commands.
    #[derive(Default)]
    struct State {
        opened: Vec<std::fs::File>,
        #[cfg(target_os = "linux")]
        sfd: Option<nix::sys::signalfd::SignalFd>,
        #[cfg(any(target_vendor = "apple", target_os = "freebsd"))]
        kq: Option<nix::sys::event::Kqueue>,
    }

    pub fn serve(args: &[String]) -> Result<(), String> {
        let sigs: Vec<i32> = args.iter().map(|a| sig(a)).collect::<Result<_, _>>()?;
        let fds_before = open_fds();
        if !sigs.is_empty() {
            ffi::install_recorder(&sigs).map_err(|e| format!("sigaction: {e}"))?;
            ffi::mask(libc::SIG_BLOCK, &sigs).map_err(|e| format!("sigprocmask: {e}"))?;
        }
        let mut state = State::default();
        let stdout = io::stdout();
        let mut out = stdout.lock();
        writeln!(
            out,
            "ready {} uid={} pgid={} threads={} fds={fds_before}",
            std::process::id(),
            nix::unistd::getuid(),
            nix::unistd::getpgrp(),
            threads()
        )
        .and_then(|_| out.flush())
        .map_err(|e| e.to_string())?;
        for line in io::stdin().lock().lines() {
            let line = line.map_err(|e| e.to_string())?;
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.as_slice() == ["quit"] {
                return Ok(());
            }
            let answer = command(&words, &sigs, &mut state)
                .unwrap_or_else(|e| format!("err 0 bad command {line:?}: {e}"));
            writeln!(out, "{answer}")
                .and_then(|_| out.flush())
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Sends `count` signals with `send`; `ok <count>` or the first failure.
    fn repeat(count: u64, mut send: impl FnMut(u64) -> io::Result<()>) -> String {
        for i in 0..count {
            if let Err(e) = send(i) {
                return format!("err {} after {i}", errno_text(&e));
            }
        }
        format!("ok {count}")
    }

    fn command(words: &[&str], sigs: &[i32], state: &mut State) -> Result<String, String> {
        Ok(match *words {
            ["kill", pid, s, count] => {
                let (pid, s, count) = (num::<i32>(pid)?, sig(s)?, num::<u64>(count)?);
                repeat(count, |_| ffi::kill(pid, s))
            }
            ["killpg", pgid, s, count] => {
                let (pgid, s, count) = (num::<i32>(pgid)?, sig(s)?, num::<u64>(count)?);
                // Never this peer's own group (the test binary's), never "all".
                if pgid <= 1 || pgid == nix::unistd::getpgrp().as_raw() {
                    return Err(format!("refusing to signal process group {pgid}"));
                }
                repeat(count, |_| ffi::kill(-pgid, s))
            }
            ["sigqueue", pid, s, first, count] => {
                let (pid, s) = (num::<i32>(pid)?, sig(s)?);
                let (first, count) = (num::<usize>(first)?, num::<u64>(count)?);
                repeat(count, |i| ffi::sigqueue(pid, s, first + i as usize))
            }
            ["sweep", pid, from, to] => {
                let (pid, from, to) = (num::<i32>(pid)?, sig(from)?, sig(to)?);
                let mut ok = 0;
                let mut refused = Vec::new();
                for s in from..=to {
                    match ffi::sigqueue(pid, s, s as usize) {
                        Ok(()) => ok += 1,
                        Err(e) => refused.push(format!(
                            "{s}:{}",
                            crate::sys::errno_name(e.raw_os_error().unwrap_or(0))
                        )),
                    }
                }
                let refused = if refused.is_empty() {
                    "-".to_owned()
                } else {
                    refused.join(",")
                };
                format!("swept ok={ok} refused={refused}")
            }
            ["unblock"] => unblock(sigs),
            ["handle"] => match ffi::mask(libc::SIG_UNBLOCK, sigs) {
                Ok(()) => "ok".into(),
                Err(e) => format!("err {}", errno_text(&e)),
            },
            ["report"] => {
                // Keep the handler from running while the records are read.
                if let Err(e) = ffi::mask(libc::SIG_BLOCK, sigs) {
                    return Ok(format!("err {}", errno_text(&e)));
                }
                let got = report(1);
                if let Err(e) = ffi::mask(libc::SIG_UNBLOCK, sigs) {
                    return Ok(format!("err {}", errno_text(&e)));
                }
                got
            }
            ["pending"] => match ffi::pending(sigs) {
                Ok(p) if p.is_empty() => "pending -".into(),
                Ok(p) => format!(
                    "pending {}",
                    p.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
                ),
                Err(e) => format!("err {}", errno_text(&e)),
            },
            ["fds"] => format!("fds {}", open_fds()),
            ["open", path] => match std::fs::File::open(path) {
                Ok(f) => {
                    let fd = f.as_raw_fd();
                    let answer = match ffi::fstat_raw(fd) {
                        Ok((dev, ino)) => format!("fd {fd} {dev} {ino}"),
                        Err(e) => format!("err {}", errno_text(&e)),
                    };
                    state.opened.push(f);
                    answer
                }
                Err(e) => format!("err {}", errno_text(&e)),
            },
            ["fdstat", fd] => match ffi::fstat_raw(num(fd)?) {
                Ok((dev, ino)) => format!("stat {dev} {ino}"),
                Err(e) => format!("err {}", errno_text(&e)),
            },
            ["rtprobe"] => {
                let highest = (1..=1024).filter(|&s| ffi::sigaction_valid(s)).max();
                let show = |v: Option<i32>| v.map_or("-".to_owned(), |v| v.to_string());
                format!(
                    "rt min={} max={} highest_valid={}",
                    show(super::rt_min()),
                    show(super::rt_max()),
                    show(highest)
                )
            }
            ["dropkill", uid, pid, s] => {
                match ffi::fork_drop_and_kill(num(uid)?, num(pid)?, sig(s)?) {
                    Ok((r0, r1)) => format!("dropkill sig0={r0} sig={r1}"),
                    Err(e) => format!("err {}", errno_text(&e)),
                }
            }
            ["fillchild", uid, rlimit, s, max] => {
                let uid = (uid != "-").then(|| num::<u32>(uid)).transpose()?;
                let rlimit = (rlimit != "-").then(|| num::<u64>(rlimit)).transpose()?;
                fill_child(uid, rlimit, sig(s)?, num(max)?)
            }
            ["signalfd"] => signalfd(sigs, state),
            ["sfdwait", ms] => sfd_wait(num(ms)?, state),
            ["kqueue"] => kqueue(sigs, state),
            ["kqwait", ms] => kq_wait(num(ms)?, state),
            _ => return Err("unknown command".into()),
        })
    }

    /// Unblocks, lets the pending signals run the handler, blocks again. POSIX
    /// promises only that at least one pending unblocked signal is delivered before
    /// sigprocmask() returns, so repeat while any of ours is still pending.
    fn unblock(sigs: &[i32]) -> String {
        let mut rounds = 0u32;
        loop {
            rounds += 1;
            if let Err(e) = ffi::mask(libc::SIG_UNBLOCK, sigs) {
                return format!("err {}", errno_text(&e));
            }
            if let Err(e) = ffi::mask(libc::SIG_BLOCK, sigs) {
                return format!("err {}", errno_text(&e));
            }
            match ffi::pending(sigs) {
                Ok(p) if p.is_empty() || rounds >= 64 => break,
                Ok(_) => {}
                Err(e) => return format!("err {}", errno_text(&e)),
            }
        }
        report(rounds)
    }

    /// `got <n> rounds=<r> <deliveries>`: what the handler recorded since last asked.
    fn report(rounds: u32) -> String {
        let got = ffi::take_recorded();
        let items: Vec<String> = got
            .iter()
            .map(|d| format!("{}:{}:{}:{}:{}", d.signo, d.value, d.pid, d.uid, d.code))
            .collect();
        format!("got {} rounds={rounds} {}", items.len(), items.join(" "))
    }

    /// Forks a child holding `sig` blocked (optionally under `uid`, optionally with
    /// a lower RLIMIT_SIGPENDING), sigqueue()s it until refused, then kills it.
    fn fill_child(uid: Option<u32>, rlimit: Option<u64>, sig: i32, max: u64) -> String {
        let child = match ffi::fork_held_child(uid, rlimit) {
            Ok(c) => c,
            Err(e) => return format!("err {}", errno_text(&e)),
        };
        let mut n = 0u64;
        let mut stop = "max".to_owned();
        while n < max {
            match ffi::sigqueue(child.pid, sig, n as usize) {
                Ok(()) => n += 1,
                Err(e) => {
                    stop = crate::sys::errno_name(e.raw_os_error().unwrap_or(0));
                    break;
                }
            }
        }
        let status = child.reap();
        format!(
            "filled {n} stop={stop} rlimit={} child={status}",
            child.rlimit
        )
    }

    #[cfg(target_os = "linux")]
    fn signalfd(sigs: &[i32], state: &mut State) -> String {
        use nix::sys::signal::{SigSet, Signal};
        use nix::sys::signalfd::{SfdFlags, SignalFd};
        let mut set = SigSet::empty();
        for s in sigs {
            if let Ok(s) = Signal::try_from(*s) {
                set.add(s);
            }
        }
        let sfd = match SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC) {
            Ok(sfd) => sfd,
            Err(e) => return format!("err {}", errno_text(&e.into())),
        };
        let answer = match crate::channel::fd::revents_now(std::os::fd::AsFd::as_fd(&sfd)) {
            Ok(r) => format!("sfd revents={}", r.bits()),
            Err(e) => format!("err {}", errno_text(&e)),
        };
        state.sfd = Some(sfd);
        answer
    }

    #[cfg(target_os = "linux")]
    fn sfd_wait(ms: u64, state: &mut State) -> String {
        let Some(sfd) = state.sfd.as_mut() else {
            return "err 0 no signalfd".into();
        };
        let bound = std::time::Duration::from_millis(ms).min(crate::watchdog::BOUND);
        let ready = match crate::channel::fd::wait(
            std::os::fd::AsFd::as_fd(sfd),
            nix::poll::PollFlags::POLLIN,
            bound,
        ) {
            Ok(r) => r,
            Err(e) => return format!("err {}", errno_text(&e)),
        };
        match sfd.read_signal() {
            Ok(Some(si)) => format!(
                "sfd ready={ready} signo={} pid={} uid={}",
                si.ssi_signo, si.ssi_pid, si.ssi_uid
            ),
            Ok(None) => format!("sfd ready={ready} signo=0 pid=0 uid=0"),
            Err(e) => format!("err {}", errno_text(&e.into())),
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn signalfd(_sigs: &[i32], _state: &mut State) -> String {
        format!("err 0 no signalfd on {}", crate::platform::TARGET)
    }

    #[cfg(not(target_os = "linux"))]
    fn sfd_wait(_ms: u64, _state: &mut State) -> String {
        format!("err 0 no signalfd on {}", crate::platform::TARGET)
    }

    #[cfg(any(target_vendor = "apple", target_os = "freebsd"))]
    fn kqueue(sigs: &[i32], state: &mut State) -> String {
        use nix::sys::event::{EvFlags, EventFilter, FilterFlag, KEvent, Kqueue};
        let kq = match Kqueue::new() {
            Ok(kq) => kq,
            Err(e) => return format!("err {}", errno_text(&e.into())),
        };
        let changes: Vec<KEvent> = sigs
            .iter()
            .map(|&s| {
                KEvent::new(
                    s as usize,
                    EventFilter::EVFILT_SIGNAL,
                    EvFlags::EV_ADD,
                    FilterFlag::empty(),
                    0,
                    0,
                )
            })
            .collect();
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        if let Err(e) = kq.kevent(&changes, &mut [], Some(zero)) {
            return format!("err {}", errno_text(&e.into()));
        }
        let answer = match crate::channel::fd::revents_now(std::os::fd::AsFd::as_fd(&kq)) {
            Ok(r) => format!("kq revents={}", r.bits()),
            Err(e) => format!("err {}", errno_text(&e)),
        };
        state.kq = Some(kq);
        answer
    }

    #[cfg(any(target_vendor = "apple", target_os = "freebsd"))]
    fn kq_wait(ms: u64, state: &mut State) -> String {
        use nix::sys::event::{EvFlags, EventFilter, FilterFlag, KEvent};
        let Some(kq) = state.kq.as_ref() else {
            return "err 0 no kqueue".into();
        };
        let bound = std::time::Duration::from_millis(ms).min(crate::watchdog::BOUND);
        let ready = match crate::channel::fd::wait(
            std::os::fd::AsFd::as_fd(kq),
            nix::poll::PollFlags::POLLIN,
            bound,
        ) {
            Ok(r) => r,
            Err(e) => return format!("err {}", errno_text(&e)),
        };
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let mut events = [KEvent::new(
            0,
            EventFilter::EVFILT_SIGNAL,
            EvFlags::empty(),
            FilterFlag::empty(),
            0,
            0,
        )];
        match kq.kevent(&[], &mut events, Some(zero)) {
            Ok(0) => format!("kq ready={ready} ident=0 data=0"),
            Ok(_) => format!(
                "kq ready={ready} ident={} data={}",
                events[0].ident(),
                events[0].data()
            ),
            Err(e) => format!("err {}", errno_text(&e.into())),
        }
    }

    #[cfg(not(any(target_vendor = "apple", target_os = "freebsd")))]
    fn kqueue(_sigs: &[i32], _state: &mut State) -> String {
        format!("err 0 no kqueue on {}", crate::platform::TARGET)
    }

    #[cfg(not(any(target_vendor = "apple", target_os = "freebsd")))]
    fn kq_wait(_ms: u64, _state: &mut State) -> String {
        format!("err 0 no kqueue on {}", crate::platform::TARGET)
    }
}

/// Narrow unsafe helpers for the signal peer. Everything here runs in the
/// single-threaded `signal-peer` process, never in the test binary.
#[cfg(unix)]
mod ffi {
    use std::io;
    use std::sync::atomic::{AtomicI32, AtomicU32, AtomicUsize, Ordering};

    use super::Delivery;

    /// Deliveries the handler can record between two `unblock`s.
    const CAP: usize = 512;
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    static SIGNO: [AtomicI32; CAP] = [const { AtomicI32::new(0) }; CAP];
    static PID: [AtomicI32; CAP] = [const { AtomicI32::new(0) }; CAP];
    static UID: [AtomicU32; CAP] = [const { AtomicU32::new(0) }; CAP];
    static CODE: [AtomicI32; CAP] = [const { AtomicI32::new(0) }; CAP];
    static VALUE: [AtomicUsize; CAP] = [const { AtomicUsize::new(0) }; CAP];

    /// The SA_SIGINFO handler: records signal number, si_value, si_pid, si_uid and
    /// si_code in lock-free statics (async-signal-safe: atomics only).
    extern "C" fn record(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
        let i = COUNT.fetch_add(1, Ordering::SeqCst);
        if i >= CAP || info.is_null() {
            return;
        }
        // SAFETY: for an SA_SIGINFO handler the kernel passes a pointer to a
        // siginfo_t it filled in, valid for the duration of the handler; the
        // accessors read plain fields (si_value as the union's pointer member).
        let (pid, uid, code, value) = unsafe {
            let si = &*info;
            (
                si.si_pid(),
                si.si_uid(),
                si.si_code,
                si.si_value().sival_ptr as usize,
            )
        };
        SIGNO[i].store(sig, Ordering::SeqCst);
        PID[i].store(pid, Ordering::SeqCst);
        UID[i].store(uid, Ordering::SeqCst);
        CODE[i].store(code, Ordering::SeqCst);
        VALUE[i].store(value, Ordering::SeqCst);
    }

    /// What the handler recorded since the last call (call with the signals blocked).
    pub fn take_recorded() -> Vec<Delivery> {
        let n = COUNT.swap(0, Ordering::SeqCst).min(CAP);
        (0..n)
            .map(|i| Delivery {
                signo: SIGNO[i].load(Ordering::SeqCst),
                value: VALUE[i].load(Ordering::SeqCst),
                pid: PID[i].load(Ordering::SeqCst),
                uid: UID[i].load(Ordering::SeqCst),
                code: CODE[i].load(Ordering::SeqCst),
            })
            .collect()
    }

    fn check(rc: libc::c_int) -> io::Result<()> {
        if rc == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    pub fn sigset(sigs: &[i32]) -> io::Result<libc::sigset_t> {
        let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigemptyset initialises the set it is given; sigaddset only
        // writes into that initialised set.
        unsafe {
            check(libc::sigemptyset(set.as_mut_ptr()))?;
            for &s in sigs {
                check(libc::sigaddset(set.as_mut_ptr(), s))?;
            }
            Ok(set.assume_init())
        }
    }

    /// sigprocmask(how, sigs) in this (single-threaded) peer.
    pub fn mask(how: libc::c_int, sigs: &[i32]) -> io::Result<()> {
        let set = sigset(sigs)?;
        // SAFETY: `set` is an initialised sigset_t; the old mask is not requested.
        check(unsafe { libc::sigprocmask(how, &set, std::ptr::null_mut()) })
    }

    /// Which of `sigs` are pending.
    pub fn pending(sigs: &[i32]) -> io::Result<Vec<i32>> {
        let mut set = sigset(&[])?;
        // SAFETY: sigpending writes into the initialised set it is given.
        check(unsafe { libc::sigpending(&mut set) })?;
        Ok(sigs
            .iter()
            .copied()
            // SAFETY: sigismember reads the initialised set.
            .filter(|&s| unsafe { libc::sigismember(&set, s) } == 1)
            .collect())
    }

    /// Installs the recording handler for each of `sigs`, with all of `sigs` blocked
    /// while it runs (so pending signals are delivered one after the other, in the
    /// order the kernel picks, rather than nested).
    pub fn install_recorder(sigs: &[i32]) -> io::Result<()> {
        let set = sigset(sigs)?;
        for &s in sigs {
            // SAFETY: an all-zero sigaction is a valid value of the C struct; the
            // fields set below make it an SA_SIGINFO handler with `set` as mask.
            let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
            sa.sa_sigaction = record as *const () as usize;
            sa.sa_mask = set;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            // SAFETY: `sa` is fully initialised and `record` has the SA_SIGINFO
            // handler signature and is async-signal-safe; called in the peer only.
            check(unsafe { libc::sigaction(s, &sa, std::ptr::null_mut()) })?;
        }
        Ok(())
    }

    /// Whether the system accepts `sig` as a signal number (a query that changes
    /// nothing: no new action is given).
    pub fn sigaction_valid(sig: i32) -> bool {
        // SAFETY: an all-zero sigaction is a valid value to receive the old action.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: a null new action only queries; `old` is writable.
        unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) == 0 }
    }

    /// kill(2).
    pub fn kill(pid: i32, sig: i32) -> io::Result<()> {
        // SAFETY: kill takes plain integers and touches no memory of this process.
        check(unsafe { libc::kill(pid, sig) })
    }

    /// sigqueue(3) with an integer value.
    pub fn sigqueue(pid: i32, sig: i32, value: usize) -> io::Result<()> {
        cfg_if::cfg_if! {
            if #[cfg(any(target_os = "linux", target_os = "freebsd"))] {
                let v = libc::sigval { sival_ptr: value as *mut libc::c_void };
                // SAFETY: sigqueue takes integers and a sigval passed by value; the
                // pointer member is only carried as a number, never dereferenced.
                check(unsafe { libc::sigqueue(pid, sig, v) })
            } else {
                let _ = (pid, sig, value);
                Err(io::Error::new(io::ErrorKind::Unsupported, format!("no sigqueue() on {}", crate::platform::TARGET)))
            }
        }
    }

    /// fstat(2) on a descriptor number: (device, inode).
    pub fn fstat_raw(fd: i32) -> io::Result<(u64, u64)> {
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: fstat writes a struct stat into the buffer on success and fails
        // with EBADF for a number that is not an open descriptor.
        check(unsafe { libc::fstat(fd, st.as_mut_ptr()) })?;
        // SAFETY: fstat succeeded, so the struct is initialised.
        let st = unsafe { st.assume_init() };
        #[allow(clippy::unnecessary_cast)]
        Ok((st.st_dev as u64, st.st_ino as u64))
    }

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
}
