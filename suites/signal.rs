//! Signals: every `signal.*` claim of the catalog.
//!
//! The guide: "Signals | Notification | Process ID | Sender to receiver |
//! Events, interrupts, control", with "Signals have implicit priority (real-time
//! signals can queue)" and "Signals can be waited for with signalfd which IS
//! poll-able".
//!
//! Every scenario runs in `signal-peer` processes (see `mech::signal`): the test
//! binary is multithreaded, so a process-directed signal sent to it could land on
//! any thread, and it never changes its own signal mask or handlers. A receiver
//! blocks its signals and reports; a sender's kill()/sigqueue() has returned (so
//! the signal is pending at the blocked, single-threaded receiver) before the
//! receiver is told to unblock. No sleeps.
//!
//! Each claim is one test. Where Unix and Windows observe it differently, the
//! test is `check!("<id>", os::<property>)`, `os` being this target's module
//! of observations: `unix` below or `windows` (signal/windows.rs). Claims only
//! Unix has are tests in `unix`.

use ipc_conformance::check;
#[cfg(unix)]
use ipc_conformance::{Checked, Observation, Step, check::Ctx};

ipc_conformance::suite!();

#[test]
fn available() {
    check!("signal.available", os::available);
}

#[test]
fn unrelated_processes() {
    check!("signal.unrelated_processes", os::unrelated_processes);
}

// ------------------------------------------------------------------------ Unix

#[cfg(unix)]
use unix as os;

#[cfg(unix)]
mod unix {
    use super::*;
    use ipc_conformance::mech::signal::protocol::{Answer, Command, Sig};
    use ipc_conformance::mech::signal::{HAS_REALTIME, SigPeer, describe, rt_min, sig_name};
    use ipc_conformance::platform::TARGET;

    /// Real-time signals and sigqueue() exist here, or the observation that they do not.
    pub(super) fn realtime() -> ipc_conformance::Checked<()> {
        if HAS_REALTIME {
            Ok(())
        } else {
            Err(no_realtime())
        }
    }

    pub(super) fn no_realtime() -> Observation {
        Observation::no_api_because("no real-time signals (SIGRTMIN..SIGRTMAX) and no sigqueue()")
    }

    // ---------------------------------------------------------- availability

    pub fn available(cx: &mut Ctx) -> Checked<Observation> {
        let mut rx = SigPeer::start(cx, &[Sig::Usr1])?;
        let mut tx = SigPeer::start(cx, &[])?;
        tx.kill(rx.pid, Sig::Usr1, 1)?;
        let got = rx.unblock()?;
        let ok = got.len() == 1 && got[0].signo == libc::SIGUSR1;
        Ok(Observation::holds(
            ok,
            format!(
                "process {} sent SIGUSR1 with kill() to process {} (threads: {}; SA_SIGINFO handler, SIGUSR1 blocked until told); after unblocking, its handler recorded: {}",
                tx.pid,
                rx.pid,
                rx.info.threads.map_or("?".into(), |t| t.to_string()),
                describe(&got)
            ),
        ))
    }

    // ------------------------------------------------- characteristics matrix

    pub fn unrelated_processes(cx: &mut Ctx) -> Checked<Observation> {
        let mut rx = SigPeer::start(cx, &[Sig::Usr1])?;
        let mut cmd = cx.peer(&["signal-peer"]);
        cmd.command().env_clear();
        let mut tx = SigPeer::launch(cmd)?;
        tx.kill(rx.pid, Sig::Usr1, 1)?;
        let got = rx.unblock()?;
        Ok(Observation::holds(
            got.len() == 1 && got[0].signo == libc::SIGUSR1,
            format!(
                "a freshly started process (pid {}, empty environment, open descriptors {} as it started) given only the pid {} sent SIGUSR1 with kill(); the receiver's handler recorded: {}",
                tx.pid,
                tx.info.fds,
                rx.pid,
                describe(&got)
            ),
        ))
    }

    #[test]
    fn bidirectional() {
        check!("signal.bidirectional", |cx| {
            let mut a = SigPeer::start(cx, &[Sig::Usr1])?;
            let mut b = SigPeer::start(cx, &[Sig::Usr1])?;
            a.kill(b.pid, Sig::Usr1, 1)?;
            let at_b = b.unblock()?;
            b.kill(a.pid, Sig::Usr1, 1)?;
            let at_a = a.unblock()?;
            let evidence = format!(
                "A (pid {}) signalled B by naming B's pid {}; B recorded: {}. B answered by naming A's pid {}; A recorded: {}",
                a.pid,
                b.pid,
                describe(&at_b),
                a.pid,
                describe(&at_a)
            );
            if at_b.len() != 1 || at_a.len() != 1 {
                return Ok(Observation::error(format!(
                    "the exchange itself failed: {evidence}"
                )));
            }
            // The address of a signal is the receiving process: one address per
            // direction, never one object carrying traffic both ways.
            Ok(Observation::holds(
                a.pid == b.pid,
                format!(
                    "{evidence}: each direction needed the other side's pid, two addresses, no shared channel"
                ),
            ))
        });
    }

    #[test]
    fn multiple_readers() {
        check!("signal.multiple_readers", |cx| {
            use std::os::unix::process::CommandExt;
            let (s, k) = if HAS_REALTIME {
                (Sig::Rt(0), 3)
            } else {
                (Sig::Usr1, 1)
            };
            let name = s.to_string();
            let mut c1 = cx.peer(&["signal-peer", &name]);
            c1.command().process_group(0);
            let mut r1 = SigPeer::launch(c1)?;
            let pgid = r1.pid;
            let mut c2 = cx.peer(&["signal-peer", &name]);
            c2.command().process_group(pgid);
            let mut r2 = SigPeer::launch(c2)?;
            let groups = (r1.info.pgid, r2.info.pgid);
            let own = nix::unistd::getpgrp().as_raw();
            if groups != (pgid, pgid) || pgid == own {
                return Ok(Observation::error(format!(
                    "the two receivers are not alone in group {pgid}: {groups:?} (this process's group {own})"
                )));
            }
            let mut tx = SigPeer::start(cx, &[])?;
            tx.sent(&Command::Killpg {
                pgid,
                sig: s,
                count: k as u64,
            })?;
            let g1 = r1.unblock()?;
            let g2 = r2.unblock()?;
            Ok(Observation::holds(
                g1.len() + g2.len() == k,
                format!(
                    "{k} × {} sent with kill(-{pgid}) to the process group of receivers A (pid {}) and B (pid {}); A handled {}, B handled {}: {}",
                    sig_name(s.number().unwrap_or(0)),
                    r1.pid,
                    r2.pid,
                    g1.len(),
                    g2.len(),
                    if g1.len() == k && g2.len() == k {
                        "every signal reached every receiver (duplicated), none was shared out"
                    } else {
                        "see counts"
                    }
                ),
            ))
        });
    }

    #[test]
    fn multiple_writers() {
        check!("signal.multiple_writers", |cx| {
            realtime()?;
            const WRITERS: usize = 3;
            const EACH: usize = 8;
            let mut rx = SigPeer::start(cx, &[Sig::Rt(0)])?;
            let mut writers = Vec::new();
            for _ in 0..WRITERS {
                writers.push(SigPeer::start(cx, &[])?);
            }
            // All writers at once; each answers when its sigqueue() calls returned.
            let sends: Vec<Command> = (0..WRITERS)
                .map(|i| Command::Sigqueue {
                    pid: rx.pid,
                    sig: Sig::Rt(0),
                    first: (i + 1) * 1000,
                    count: EACH as u64,
                })
                .collect();
            for (w, send) in writers.iter_mut().zip(&sends) {
                w.send(send)?;
            }
            for (w, send) in writers.iter_mut().zip(&sends) {
                w.sent_answer(send)?;
            }
            let got = rx.unblock()?;
            let mut per_writer = Vec::new();
            let mut intact = got.len() == WRITERS * EACH;
            for (i, w) in writers.iter().enumerate() {
                let values: Vec<usize> = got
                    .iter()
                    .filter(|d| d.pid == w.pid)
                    .map(|d| d.value)
                    .collect();
                let want: Vec<usize> = (0..EACH).map(|j| (i + 1) * 1000 + j).collect();
                intact &= values == want;
                per_writer.push(format!(
                    "pid {}: {} of {EACH} in order",
                    w.pid,
                    values.len()
                ));
            }
            Ok(Observation::holds(
                intact,
                format!(
                    "{WRITERS} writer processes each sigqueue()d {EACH} SIGRTMIN carrying (writer, sequence) to one receiver that kept it blocked; after unblocking, {} deliveries: {}; values intact and in order per writer: {intact}",
                    got.len(),
                    per_writer.join(", ")
                ),
            ))
        });
    }

    #[test]
    fn fd_passing() {
        check!("signal.fd_passing", |cx| {
            if !HAS_REALTIME {
                return Ok(Observation::no(format!(
                    "no sigqueue() on {TARGET}: kill() carries nothing but the signal number, so there is no data a descriptor could travel in"
                )));
            }
            use std::os::unix::fs::OpenOptionsExt;
            let path = cx.path(".file")?;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .step("create the file to pass")?;
            let mut tx = SigPeer::start(cx, &[])?;
            let mut rx = SigPeer::start(cx, &[Sig::Rt(0)])?;
            let opened = tx.request(&Command::Open {
                path: path.display().to_string(),
            })?;
            let Answer::Fd { fd, dev, ino } = opened else {
                return Ok(Observation::error(format!(
                    "sender could not open the file: {opened}"
                )));
            };
            let Ok(value) = usize::try_from(fd) else {
                return Ok(Observation::error(format!(
                    "sender answered {opened}: no descriptor number"
                )));
            };
            tx.sigqueue(rx.pid, Sig::Rt(0), value, 1)?;
            let got = rx.unblock()?;
            let Some(d) = got.first() else {
                return Ok(Observation::error("the receiver got no signal"));
            };
            let Ok(received) = i32::try_from(d.value) else {
                return Ok(Observation::error(format!(
                    "the receiver got value {}, no descriptor number",
                    d.value
                )));
            };
            let there = rx.request(&Command::Fdstat { fd: received })?;
            let same = there == Answer::Stat { dev, ino };
            let there = there.to_string();
            Ok(Observation::holds(
                same,
                format!(
                    "the sender opened a file as its descriptor {fd} (dev {dev}, inode {ino}) and sigqueue()d the number {fd}, the only data a signal carries; the receiver (open descriptors {}) got value {}; fstat({}) there: {there:?}",
                    rx.info.fds, d.value, d.value
                ),
            ))
        });
    }

    #[test]
    fn priority() {
        check!("signal.priority", |cx| {
            realtime()?;
            let mut rx = SigPeer::start(cx, &[Sig::Rt(0), Sig::Rt(5)])?;
            let mut tx = SigPeer::start(cx, &[])?;
            tx.sigqueue(rx.pid, Sig::Rt(5), 1, 3)?;
            tx.sigqueue(rx.pid, Sig::Rt(0), 100, 1)?;
            let got = rx.unblock()?;
            let first = got.first().map(|d| d.signo);
            Ok(Observation::holds(
                got.len() == 4 && first == rt_min(),
                format!(
                    "sent 3 × SIGRTMIN+5, then 1 × SIGRTMIN (the urgent one) while the receiver blocked both; delivery order after unblocking: {}",
                    describe(&got)
                ),
            ))
        });
    }

    #[test]
    fn pollable() {
        check!("signal.pollable", |cx| {
            let mut rx = SigPeer::start(cx, &[Sig::Usr1])?;
            let before = rx.info.fds.clone();
            let after = rx.fds()?;
            let mut tx = SigPeer::start(cx, &[])?;
            tx.kill(rx.pid, Sig::Usr1, 1)?;
            let got = rx.unblock()?;
            if before != after || got.len() != 1 {
                return Ok(Observation::error(format!(
                    "descriptors before/after setting up the handler: {before} / {after}; delivered: {}",
                    describe(&got)
                )));
            }
            Ok(Observation::no(format!(
                "sigaction() and sigprocmask() gave the receiving process no descriptor (open descriptors {before} before and {after} after installing the handler and blocking SIGUSR1); the signal arrived through the handler ({}), with nothing poll() could watch; signalfd and kqueue are observed as signal.signalfd_pollable and signal.kqueue_signal",
                describe(&got)
            )))
        });
    }

    // --------------------------------------------------------------- behaviour

    #[test]
    fn standard_coalesce() {
        check!("signal.standard_coalesce", |cx| {
            const K: usize = 5;
            let mut rx = SigPeer::start(cx, &[Sig::Usr1])?;
            let mut tx = SigPeer::start(cx, &[])?;
            tx.kill(rx.pid, Sig::Usr1, K as u64)?;
            let pending = rx.pending()?;
            let got = rx.unblock()?;
            let evidence = format!(
                "{K} kill()s of SIGUSR1 returned while the receiver blocked it (pending then: {:?}); after unblocking, the handler ran {} time(s): {}",
                pending.iter().map(|&s| sig_name(s)).collect::<Vec<_>>(),
                got.len(),
                describe(&got)
            );
            if got.is_empty() {
                return Ok(Observation::error(evidence));
            }
            Ok(Observation::holds(got.len() == 1, evidence))
        });
    }

    #[test]
    fn realtime_queue() {
        check!("signal.realtime_queue", |cx| {
            realtime()?;
            const K: usize = 5;
            let mut rx = SigPeer::start(cx, &[Sig::Rt(0)])?;
            let mut tx = SigPeer::start(cx, &[])?;
            tx.sigqueue(rx.pid, Sig::Rt(0), 1, K as u64)?;
            let got = rx.unblock()?;
            Ok(Observation::holds(
                got.len() == K && got.iter().all(|d| Some(d.signo) == rt_min()),
                format!(
                    "{K} sigqueue()s of SIGRTMIN while the receiver blocked it; after unblocking, the handler ran {} time(s)",
                    got.len()
                ),
            ))
        });
    }

    #[test]
    fn realtime_carries_value() {
        check!("signal.realtime_carries_value", |cx| {
            realtime()?;
            const FIRST: usize = 0x5150;
            const K: usize = 4;
            let mut rx = SigPeer::start(cx, &[Sig::Rt(0)])?;
            let mut tx = SigPeer::start(cx, &[])?;
            tx.sigqueue(rx.pid, Sig::Rt(0), FIRST, K as u64)?;
            let got = rx.unblock()?;
            let values: Vec<usize> = got.iter().map(|d| d.value).collect();
            let want: Vec<usize> = (FIRST..FIRST + K).collect();
            Ok(Observation::holds(
                values == want,
                format!(
                    "sigqueue()d SIGRTMIN with si_value {want:?}; the receiver's SA_SIGINFO handler saw {values:?}"
                ),
            ))
        });
    }

    #[test]
    fn realtime_lowest_first() {
        check!("signal.realtime_lowest_first", |cx| {
            realtime()?;
            let mut rx = SigPeer::start(cx, &[Sig::Rt(0), Sig::Rt(1), Sig::Rt(2)])?;
            let mut tx = SigPeer::start(cx, &[])?;
            for k in [2, 1, 0] {
                tx.sigqueue(rx.pid, Sig::Rt(k), k as usize, 1)?;
            }
            let got = rx.unblock()?;
            let order: Vec<i32> = got.iter().map(|d| d.signo).collect();
            let min = rt_min().unwrap_or(0);
            Ok(Observation::holds(
                order == [min, min + 1, min + 2],
                format!(
                    "queued SIGRTMIN+2, SIGRTMIN+1, SIGRTMIN in that order while blocked; delivered after unblocking: {}",
                    order
                        .iter()
                        .map(|&s| sig_name(s))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ))
        });
    }

    #[test]
    fn sender_identified() {
        check!("signal.sender_identified", |cx| {
            let sigs: &[Sig] = if HAS_REALTIME {
                &[Sig::Usr1, Sig::Rt(0)]
            } else {
                &[Sig::Usr1]
            };
            // Handled on arrival, not held blocked: macOS records the sender only
            // for a signal that is caught when sent (XNU psignal_internal fills
            // si_pid/si_uid on the catch path; a held signal skips it).
            let mut rx = SigPeer::start(cx, sigs)?;
            rx.handle()?;
            let mut tx = SigPeer::start(cx, &[])?;
            tx.kill(rx.pid, Sig::Usr1, 1)?;
            if HAS_REALTIME {
                tx.sigqueue(rx.pid, Sig::Rt(0), 7, 1)?;
            }
            let got = rx.report()?;
            let uid = tx.info.uid;
            let ok = got.len() == sigs.len() && got.iter().all(|d| d.pid == tx.pid && d.uid == uid);
            Ok(Observation::holds(
                ok,
                format!(
                    "the sender (pid {}, uid {}) sent SIGUSR1 with kill(){} to a receiver handling them on arrival; its SA_SIGINFO handler saw: {}",
                    tx.pid,
                    uid,
                    if HAS_REALTIME {
                        " and SIGRTMIN with sigqueue()"
                    } else {
                        " (no sigqueue() on this target)"
                    },
                    describe(&got)
                ),
            ))
        });
    }

    #[test]
    fn permission_required() {
        check!("signal.permission_required", |cx| {
            // The uid a root check drops to when it needs "another user": one no
            // account uses.
            let other_uid: u32 = ipc_conformance::names::unused_uid();
            let me = nix::unistd::geteuid();
            let mut tx = SigPeer::start(cx, &[])?;
            if me.is_root() {
                let mut rx = SigPeer::start(cx, &[Sig::Usr1])?;
                let control = tx
                    .request(&Command::Kill {
                        pid: rx.pid,
                        sig: Sig::Num(0),
                        count: 1,
                    })?
                    .to_string();
                let answer = tx.request(&Command::Dropkill {
                    uid: other_uid,
                    pid: rx.pid,
                    sig: Sig::Usr1,
                })?;
                let Answer::Dropkill { sig0: r0, sig: r1 } = answer else {
                    return Ok(Observation::error(format!(
                        "dropkill answered {:?}",
                        answer.to_string()
                    )));
                };
                if r0.starts_with("SETUID") {
                    return Ok(Observation::skipped(format!(
                        "cannot become another user to test with: setgroups/setgid/setuid({other_uid}) failed ({r0})"
                    )));
                }
                let pending = rx.pending()?;
                let got = rx.unblock()?;
                return Ok(Observation::holds(
                    r0 == "EPERM" && r1 == "EPERM" && got.is_empty(),
                    format!(
                        "target: a process of uid {me} (pid {}); as root, kill(pid, 0) gave {control:?}; a process of uid/gid {other_uid} with no groups got kill(pid, 0) → {r0}, kill(pid, SIGUSR1) → {r1}; pending at the target afterwards: {pending:?}; delivered: {}",
                        rx.pid,
                        describe(&got)
                    ),
                ));
            }
            // Not root: a process of another user that exists anyway, pid 1, probed
            // with the null signal only (nothing is sent even if permitted).
            let owner = pid1_owner();
            match owner {
                Some(o) if o != me.as_raw() => {}
                other => {
                    return Ok(Observation::skipped(format!(
                        "not root (uid {me}) and pid 1 does not belong to another user (owner {other:?}): no other user's process to try"
                    )));
                }
            }
            let answer = tx.request(&Command::Kill {
                pid: 1,
                sig: Sig::Num(0),
                count: 1,
            })?;
            let errno = match answer {
                Answer::Err { errno, .. } => Some(errno),
                _ => None,
            };
            let answer = answer.to_string();
            Ok(Observation::holds(
                errno == Some(libc::EPERM),
                format!(
                    "not root (uid {me}), so a process of another user that exists: pid 1 (uid {}); kill(1, 0) from a process of uid {me}: {answer:?}",
                    owner.unwrap_or(0)
                ),
            ))
        });
    }

    /// The owner of pid 1: /proc on Linux; elsewhere init/launchd is root's.
    fn pid1_owner() -> Option<u32> {
        if cfg!(target_os = "linux") {
            let status = std::fs::read_to_string("/proc/1/status").ok()?;
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        } else {
            Some(0)
        }
    }

    /// What a descriptor for a blocked SIGUSR1 showed: its poll() revents with
    /// nothing sent, and the receiver's answer once another process (`sender`)
    /// sent SIGUSR1 with kill() and it waited on the descriptor.
    #[cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd"))]
    struct Notified {
        bits: i16,
        after: Answer,
        sender: i32,
    }

    /// A receiver peer makes the descriptor (`make`: `signalfd`, answered
    /// `sfd revents=<bits>`, or `kqueue`, answered `kq revents=<bits>`) and
    /// waits on it (`sfdwait`, `kqwait`); an error answer is the observation
    /// itself.
    #[cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd"))]
    fn notified_through(
        cx: &mut ipc_conformance::check::Ctx,
        make: Command,
    ) -> ipc_conformance::Checked<Result<Notified, Observation>> {
        let mut rx = SigPeer::start(cx, &[Sig::Usr1])?;
        let before = rx.request(&make)?;
        let bits = match (&make, &before) {
            (Command::Signalfd, Answer::SfdRevents(b))
            | (Command::Kqueue, Answer::KqRevents(b)) => *b,
            _ => return Ok(Err(from_answer(&make, &before))),
        };
        let mut tx = SigPeer::start(cx, &[])?;
        tx.kill(rx.pid, Sig::Usr1, 1)?;
        let ms = u64::try_from(ipc_conformance::matrix::bound_ms()).unwrap_or(u64::MAX);
        let wait = if make == Command::Signalfd {
            Command::Sfdwait { ms }
        } else {
            Command::Kqwait { ms }
        };
        let after = rx.request(&wait)?;
        Ok(Ok(Notified {
            bits,
            after,
            sender: tx.pid,
        }))
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn signalfd_pollable() {
        check!("signal.signalfd_pollable", |cx| {
            let n = match notified_through(cx, Command::Signalfd)? {
                Ok(n) => n,
                Err(obs) => return Ok(obs),
            };
            let notified = matches!(
                n.after,
                Answer::SfdRead { ready: true, signo, pid, .. }
                    if i64::from(signo) == i64::from(libc::SIGUSR1)
                        && i64::from(pid) == i64::from(n.sender)
            );
            Ok(Observation::holds(
                n.bits & libc::POLLIN == 0 && notified,
                format!(
                    "a signalfd for the blocked SIGUSR1: poll() revents with nothing sent {:#x}; after process {} sent SIGUSR1 with kill(): {:?}",
                    n.bits,
                    n.sender,
                    n.after.to_string()
                ),
            ))
        });
    }

    #[cfg(any(target_os = "macos", target_os = "freebsd"))]
    #[test]
    fn kqueue_signal() {
        check!("signal.kqueue_signal", |cx| {
            let n = match notified_through(cx, Command::Kqueue)? {
                Ok(n) => n,
                Err(obs) => return Ok(obs),
            };
            let notified = matches!(
                n.after,
                Answer::KqRead { ready: true, ident, data }
                    if i128::from(ident) == i128::from(libc::SIGUSR1) && data >= 1
            );
            Ok(Observation::holds(
                n.bits & libc::POLLIN == 0 && notified,
                format!(
                    "EVFILT_SIGNAL for SIGUSR1 (blocked) on a kqueue: poll() revents on the kqueue with nothing sent {:#x}; after process {} sent SIGUSR1 with kill(): {:?}",
                    n.bits,
                    n.sender,
                    n.after.to_string()
                ),
            ))
        });
    }

    /// An `err <errno> <text>` answer as an observation (ENOSYS → unsupported).
    #[cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd"))]
    fn from_answer(what: &Command, answer: &Answer) -> Observation {
        match *answer {
            Answer::Err { errno, .. } if errno != 0 => Observation::from_io_error(
                &format!("{what} in the peer"),
                &std::io::Error::from_raw_os_error(errno),
            ),
            _ => Observation::error(format!("{what} in the peer: {answer}")),
        }
    }
}

/// The facts: the real-time signal range and the pending-signal limit.
#[cfg(unix)]
#[path = "signal/limits.rs"]
mod limits;

#[cfg(unix)]
ipc_conformance::matrix_properties!(
    "signal",
    cross_machine(
        false,
        "a process ID, which names a process of this host's kernel only"
    )
);

// --------------------------------------------------------------------- Windows

#[cfg(windows)]
use windows as os;

/// Windows: the C runtime's signal() and raise(), observed in peers; no call
/// sends a signal to another process.
#[cfg(windows)]
#[path = "signal/windows.rs"]
mod windows;
