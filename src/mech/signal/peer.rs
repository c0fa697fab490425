//! The `signal-peer` role: installs the recording handler for its signals,
//! blocks them, prints its [`Ready`] line and carries out each [`Command`] it
//! reads, answering with one [`Answer`] line.

use std::io::{self, BufRead};
use std::os::fd::AsRawFd;

use super::protocol::{Answer, Command, FdList, Ready, Sig};
use super::{child, ffi};
use crate::peer::answer::say;
use crate::peer::wire::WireLine;

/// A signal name resolved on this system.
fn sig(s: Sig) -> Result<i32, String> {
    s.number()
        .ok_or_else(|| format!("no signal {s} on {}", crate::platform::TARGET))
}

/// Open descriptors of this process (without the one listing them).
fn open_fds() -> FdList {
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
        return FdList(None);
    };
    let own = dir.as_raw_fd();
    let mut fds: Vec<i32> = dir
        .iter()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().ok()?.parse().ok())
        .filter(|&fd| fd != own)
        .collect();
    fds.sort_unstable();
    FdList(Some(fds))
}

/// Threads of this process, where the system says (Linux: /proc/self/task).
fn threads() -> Option<usize> {
    std::fs::read_dir("/proc/self/task")
        .map(Iterator::count)
        .ok()
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
    let sigs: Vec<i32> = args
        .iter()
        .map(|a| {
            Sig::parse(a)
                .ok_or_else(|| format!("unknown signal {a:?}"))
                .and_then(sig)
        })
        .collect::<Result<_, _>>()?;
    let fds_before = open_fds();
    if !sigs.is_empty() {
        ffi::install_recorder(&sigs).map_err(|e| format!("sigaction: {e}"))?;
        ffi::mask(libc::SIG_BLOCK, &sigs).map_err(|e| format!("sigprocmask: {e}"))?;
    }
    let mut state = State::default();
    let ready = Ready {
        pid: std::process::id(),
        uid: nix::unistd::getuid().as_raw(),
        pgid: nix::unistd::getpgrp().as_raw(),
        threads: threads(),
        fds: fds_before,
    };
    say(&ready.to_string())?;
    for line in io::stdin().lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        let answer = match Command::from_line(&line) {
            Ok(Command::Quit) => return Ok(()),
            Ok(command) => execute(command, &sigs, &mut state)
                .unwrap_or_else(|e| Answer::refusal(format!("bad command {line:?}: {e}"))),
            Err(e) => Answer::refusal(e.to_string()),
        };
        say(&answer.to_string())?;
    }
    Ok(())
}

/// Sends `count` signals with `send`; `ok <count>` or the first failure.
fn repeat(count: u64, mut send: impl FnMut(u64) -> io::Result<()>) -> Answer {
    for i in 0..count {
        if let Err(e) = send(i) {
            return match Answer::io_error(&e) {
                Answer::Err { errno, text } => Answer::Err {
                    errno,
                    text: format!("{text} after {i}"),
                },
                other => other,
            };
        }
    }
    Answer::Ok(Some(count))
}

/// Carries out one command; `Err` for a command this peer refuses (a signal
/// this system lacks, a process group it must not signal).
fn execute(command: Command, sigs: &[i32], state: &mut State) -> Result<Answer, String> {
    let io = |r: io::Result<Answer>| r.unwrap_or_else(|e| Answer::io_error(&e));
    Ok(match command {
        Command::Kill { pid, sig: s, count } => {
            let s = sig(s)?;
            repeat(count, |_| ffi::kill(pid, s))
        }
        Command::Killpg {
            pgid,
            sig: s,
            count,
        } => {
            let s = sig(s)?;
            // Never this peer's own group (the test binary's), never "all".
            if pgid <= 1 || pgid == nix::unistd::getpgrp().as_raw() {
                return Err(format!("refusing to signal process group {pgid}"));
            }
            repeat(count, |_| ffi::kill(-pgid, s))
        }
        Command::Sigqueue {
            pid,
            sig: s,
            first,
            count,
        } => {
            let s = sig(s)?;
            repeat(count, |i| ffi::sigqueue(pid, s, first + i as usize))
        }
        Command::Sweep { pid, from, to } => {
            let (from, to) = (sig(from)?, sig(to)?);
            let mut ok = 0;
            let mut refused = Vec::new();
            for s in from..=to {
                match ffi::sigqueue(pid, s, s as usize) {
                    Ok(()) => ok += 1,
                    Err(e) => {
                        refused.push((s, crate::sys::errno_name(e.raw_os_error().unwrap_or(0))))
                    }
                }
            }
            Answer::Swept { ok, refused }
        }
        Command::Unblock => io(unblock(sigs)),
        Command::Handle => io(ffi::mask(libc::SIG_UNBLOCK, sigs).map(|()| Answer::Ok(None))),
        Command::Report => io((|| {
            // Keep the handler from running while the records are read.
            ffi::mask(libc::SIG_BLOCK, sigs)?;
            let got = report(1);
            ffi::mask(libc::SIG_UNBLOCK, sigs)?;
            Ok(got)
        })()),
        Command::Pending => io(ffi::pending(sigs).map(Answer::Pending)),
        Command::Fds => Answer::Fds(open_fds()),
        Command::Open { path } => match std::fs::File::open(path) {
            Ok(f) => {
                let fd = f.as_raw_fd();
                let answer = io(ffi::fstat_raw(fd).map(|(dev, ino)| Answer::Fd { fd, dev, ino }));
                state.opened.push(f);
                answer
            }
            Err(e) => Answer::io_error(&e),
        },
        Command::Fdstat { fd } => {
            io(ffi::fstat_raw(fd).map(|(dev, ino)| Answer::Stat { dev, ino }))
        }
        Command::Rtprobe => Answer::Rt {
            min: super::rt_min(),
            max: super::rt_max(),
            highest_valid: (1..=1024).filter(|&s| ffi::sigaction_valid(s)).max(),
        },
        Command::Dropkill { uid, pid, sig: s } => io(child::fork_drop_and_kill(uid, pid, sig(s)?)
            .map(|(sig0, sig)| Answer::Dropkill { sig0, sig })),
        Command::Fillchild {
            uid,
            rlimit,
            sig: s,
            max,
        } => io(fill_child(uid, rlimit, sig(s)?, max)),
        #[cfg(target_os = "linux")]
        Command::Signalfd => keep(&mut state.sfd, super::signalfd::open(sigs)),
        #[cfg(target_os = "linux")]
        Command::Sfdwait { ms } => wait_on(state.sfd.as_mut(), "signalfd", |sfd| {
            super::signalfd::wait(sfd, ms)
        }),
        #[cfg(not(target_os = "linux"))]
        Command::Signalfd | Command::Sfdwait { .. } => {
            Answer::refusal(format!("no signalfd on {}", crate::platform::TARGET))
        }
        #[cfg(any(target_vendor = "apple", target_os = "freebsd"))]
        Command::Kqueue => keep(&mut state.kq, super::kqueue::open(sigs)),
        #[cfg(any(target_vendor = "apple", target_os = "freebsd"))]
        Command::Kqwait { ms } => wait_on(state.kq.as_mut(), "kqueue", |kq| {
            super::kqueue::wait(kq, ms)
        }),
        #[cfg(not(any(target_vendor = "apple", target_os = "freebsd")))]
        Command::Kqueue | Command::Kqwait { .. } => {
            Answer::refusal(format!("no kqueue on {}", crate::platform::TARGET))
        }
        Command::Quit => return Err("quit has no answer".into()),
    })
}

/// Unblocks, lets the pending signals run the handler, blocks again. POSIX
/// promises only that at least one pending unblocked signal is delivered before
/// sigprocmask() returns, so repeat while any of ours is still pending.
fn unblock(sigs: &[i32]) -> io::Result<Answer> {
    let mut rounds = 0u32;
    loop {
        rounds += 1;
        ffi::mask(libc::SIG_UNBLOCK, sigs)?;
        ffi::mask(libc::SIG_BLOCK, sigs)?;
        if ffi::pending(sigs)?.is_empty() || rounds >= 64 {
            return Ok(report(rounds));
        }
    }
}

/// What the handler recorded since last asked.
fn report(rounds: u32) -> Answer {
    Answer::Got {
        rounds,
        got: ffi::take_recorded(),
    }
}

/// Forks a child holding `sig` blocked (optionally under `uid`, optionally with
/// a lower RLIMIT_SIGPENDING), sigqueue()s it until refused, then kills it.
fn fill_child(uid: Option<u32>, rlimit: Option<u64>, sig: i32, max: u64) -> io::Result<Answer> {
    let child = child::fork_held_child(uid, rlimit)?;
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
    Ok(Answer::Filled {
        n,
        stop,
        child: child.reap(),
        rlimit: child.rlimit,
    })
}

/// Keeps the notifier `opened` made in `slot`; answers with its first look.
#[cfg(any(target_os = "linux", target_vendor = "apple", target_os = "freebsd"))]
fn keep<T>(slot: &mut Option<T>, opened: io::Result<(T, Answer)>) -> Answer {
    match opened {
        Ok((notifier, answer)) => {
            *slot = Some(notifier);
            answer
        }
        Err(e) => Answer::io_error(&e),
    }
}

/// Waits on the notifier in `slot`, if one was opened.
#[cfg(any(target_os = "linux", target_vendor = "apple", target_os = "freebsd"))]
fn wait_on<T>(
    slot: Option<&mut T>,
    what: &str,
    wait: impl FnOnce(&mut T) -> io::Result<Answer>,
) -> Answer {
    match slot {
        Some(notifier) => wait(notifier).unwrap_or_else(|e| Answer::io_error(&e)),
        None => Answer::refusal(format!("no {what}")),
    }
}
