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

#[cfg(unix)]
use ipc_conformance::{Observation, Step, check};

ipc_conformance::suite!();

#[cfg(unix)]
mod unix {
    use super::*;
    use ipc_conformance::mech::signal::{
        HAS_REALTIME, SigPeer, describe, rt_max, rt_min, sig_name,
    };
    use ipc_conformance::platform::TARGET;

    /// Real-time signals and sigqueue() exist here, or the observation that they do not.
    fn realtime() -> ipc_conformance::Checked<()> {
        if HAS_REALTIME {
            Ok(())
        } else {
            Err(no_realtime())
        }
    }

    fn no_realtime() -> Observation {
        Observation::no_api_because("no real-time signals (SIGRTMIN..SIGRTMAX) and no sigqueue()")
    }

    // ---------------------------------------------------------- availability

    #[test]
    fn available() {
        check!("signal.available", |cx| {
            let mut rx = SigPeer::start(cx, &["USR1"])?;
            let mut tx = SigPeer::start(cx, &[])?;
            tx.ok(&format!("kill {} USR1 1", rx.pid))?;
            let got = rx.unblock()?;
            let ok = got.len() == 1 && got[0].signo == libc::SIGUSR1;
            Ok(Observation::holds(
                ok,
                format!(
                    "process {} sent SIGUSR1 with kill() to process {} (threads: {}; SA_SIGINFO handler, SIGUSR1 blocked until told); after unblocking, its handler recorded: {}",
                    tx.pid,
                    rx.pid,
                    rx.field("threads").unwrap_or("?"),
                    describe(&got)
                ),
            ))
        });
    }

    // ------------------------------------------------- characteristics matrix

    #[test]
    fn unrelated_processes() {
        check!("signal.unrelated_processes", |cx| {
            let mut rx = SigPeer::start(cx, &["USR1"])?;
            let mut cmd = cx.peer(&["signal-peer"]);
            cmd.command().env_clear();
            let mut tx = SigPeer::launch(cmd)?;
            tx.ok(&format!("kill {} USR1 1", rx.pid))?;
            let got = rx.unblock()?;
            Ok(Observation::holds(
                got.len() == 1 && got[0].signo == libc::SIGUSR1,
                format!(
                    "a freshly started process (pid {}, empty environment, open descriptors {} as it started) given only the pid {} sent SIGUSR1 with kill(); the receiver's handler recorded: {}",
                    tx.pid,
                    tx.field("fds").unwrap_or("?"),
                    rx.pid,
                    describe(&got)
                ),
            ))
        });
    }

    #[test]
    fn bidirectional() {
        check!("signal.bidirectional", |cx| {
            let mut a = SigPeer::start(cx, &["USR1"])?;
            let mut b = SigPeer::start(cx, &["USR1"])?;
            a.ok(&format!("kill {} USR1 1", b.pid))?;
            let at_b = b.unblock()?;
            b.ok(&format!("kill {} USR1 1", a.pid))?;
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
                ("RT+0", 3)
            } else {
                ("USR1", 1)
            };
            let mut c1 = cx.peer(&["signal-peer", s]);
            c1.command().process_group(0);
            let mut r1 = SigPeer::launch(c1)?;
            let pgid = r1.pid;
            let mut c2 = cx.peer(&["signal-peer", s]);
            c2.command().process_group(pgid);
            let mut r2 = SigPeer::launch(c2)?;
            let groups = (r1.field("pgid"), r2.field("pgid"));
            let own = nix::unistd::getpgrp().as_raw();
            if groups != (Some(&*pgid.to_string()), Some(&*pgid.to_string())) || pgid == own {
                return Ok(Observation::error(format!(
                    "the two receivers are not alone in group {pgid}: {groups:?} (this process's group {own})"
                )));
            }
            let mut tx = SigPeer::start(cx, &[])?;
            tx.ok(&format!("killpg {pgid} {s} {k}"))?;
            let g1 = r1.unblock()?;
            let g2 = r2.unblock()?;
            Ok(Observation::holds(
                g1.len() + g2.len() == k,
                format!(
                    "{k} × {} sent with kill(-{pgid}) to the process group of receivers A (pid {}) and B (pid {}); A handled {}, B handled {}: {}",
                    sig_name(parse(s)),
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

    fn parse(s: &str) -> i32 {
        ipc_conformance::mech::signal::parse_sig(s).unwrap_or(0)
    }

    #[test]
    fn multiple_writers() {
        check!("signal.multiple_writers", |cx| {
            realtime()?;
            const WRITERS: usize = 3;
            const EACH: usize = 8;
            let mut rx = SigPeer::start(cx, &["RT+0"])?;
            let mut writers = Vec::new();
            for _ in 0..WRITERS {
                writers.push(SigPeer::start(cx, &[])?);
            }
            // All writers at once; each answers when its sigqueue() calls returned.
            for (i, w) in writers.iter_mut().enumerate() {
                w.peer.send_line(&format!(
                    "sigqueue {} RT+0 {} {EACH}",
                    rx.pid,
                    (i + 1) * 1000
                ))?;
            }
            for w in &mut writers {
                let answer = w.peer.line(ipc_conformance::watchdog::BOUND)?;
                if !answer.starts_with("ok") {
                    if let Some(reason) = ipc_conformance::precondition::sigqueue_refused(&answer) {
                        return Ok(Observation::skipped(format!("writer {}: {reason}", w.pid)));
                    }
                    return Ok(Observation::error(format!(
                        "writer {} answered {answer:?}",
                        w.pid
                    )));
                }
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
            let mut rx = SigPeer::start(cx, &["RT+0"])?;
            let opened = tx.ask(&format!("open {}", path.display()))?;
            let words: Vec<&str> = opened.split_whitespace().collect();
            let ["fd", fd, dev, ino] = words.as_slice() else {
                return Ok(Observation::error(format!(
                    "sender could not open the file: {opened}"
                )));
            };
            tx.ok(&format!("sigqueue {} RT+0 {fd} 1", rx.pid))?;
            let got = rx.unblock()?;
            let Some(d) = got.first() else {
                return Ok(Observation::error("the receiver got no signal"));
            };
            let there = rx.ask(&format!("fdstat {}", d.value))?;
            let same = there == format!("stat {dev} {ino}");
            Ok(Observation::holds(
                same,
                format!(
                    "the sender opened a file as its descriptor {fd} (dev {dev}, inode {ino}) and sigqueue()d the number {fd}, the only data a signal carries; the receiver (open descriptors {}) got value {}; fstat({}) there: {there:?}",
                    rx.field("fds").unwrap_or("?"),
                    d.value,
                    d.value
                ),
            ))
        });
    }

    #[test]
    fn priority() {
        check!("signal.priority", |cx| {
            realtime()?;
            let mut rx = SigPeer::start(cx, &["RT+0", "RT+5"])?;
            let mut tx = SigPeer::start(cx, &[])?;
            tx.ok(&format!("sigqueue {} RT+5 1 3", rx.pid))?;
            tx.ok(&format!("sigqueue {} RT+0 100 1", rx.pid))?;
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
            let mut rx = SigPeer::start(cx, &["USR1"])?;
            let before = rx.field("fds").unwrap_or("?").to_owned();
            let after = rx.ask("fds")?;
            let after = after.strip_prefix("fds ").unwrap_or(&after).to_owned();
            let mut tx = SigPeer::start(cx, &[])?;
            tx.ok(&format!("kill {} USR1 1", rx.pid))?;
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
            let mut rx = SigPeer::start(cx, &["USR1"])?;
            let mut tx = SigPeer::start(cx, &[])?;
            tx.ok(&format!("kill {} USR1 {K}", rx.pid))?;
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
            let mut rx = SigPeer::start(cx, &["RT+0"])?;
            let mut tx = SigPeer::start(cx, &[])?;
            tx.ok(&format!("sigqueue {} RT+0 1 {K}", rx.pid))?;
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
            let mut rx = SigPeer::start(cx, &["RT+0"])?;
            let mut tx = SigPeer::start(cx, &[])?;
            tx.ok(&format!("sigqueue {} RT+0 {FIRST} {K}", rx.pid))?;
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
            let mut rx = SigPeer::start(cx, &["RT+0", "RT+1", "RT+2"])?;
            let mut tx = SigPeer::start(cx, &[])?;
            for (s, v) in [("RT+2", 2), ("RT+1", 1), ("RT+0", 0)] {
                tx.ok(&format!("sigqueue {} {s} {v} 1", rx.pid))?;
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
            let sigs: &[&str] = if HAS_REALTIME {
                &["USR1", "RT+0"]
            } else {
                &["USR1"]
            };
            // Handled on arrival, not held blocked: macOS records the sender only
            // for a signal that is caught when sent (XNU psignal_internal fills
            // si_pid/si_uid on the catch path; a held signal skips it).
            let mut rx = SigPeer::start(cx, sigs)?;
            rx.handle()?;
            let mut tx = SigPeer::start(cx, &[])?;
            tx.ok(&format!("kill {} USR1 1", rx.pid))?;
            if HAS_REALTIME {
                tx.ok(&format!("sigqueue {} RT+0 7 1", rx.pid))?;
            }
            let got = rx.report()?;
            let uid: Option<u32> = tx.field("uid").and_then(|u| u.parse().ok());
            let ok = got.len() == sigs.len()
                && got.iter().all(|d| d.pid == tx.pid && Some(d.uid) == uid);
            Ok(Observation::holds(
                ok,
                format!(
                    "the sender (pid {}, uid {}) sent SIGUSR1 with kill(){} to a receiver handling them on arrival; its SA_SIGINFO handler saw: {}",
                    tx.pid,
                    uid.map_or("?".into(), |u| u.to_string()),
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
                let mut rx = SigPeer::start(cx, &["USR1"])?;
                let control = tx.ask(&format!("kill {} 0 1", rx.pid))?;
                let answer = tx.ask(&format!("dropkill {other_uid} {} USR1", rx.pid))?;
                let words: Vec<&str> = answer.split_whitespace().collect();
                let (Some(r0), Some(r1)) = (
                    words.get(1).and_then(|w| w.strip_prefix("sig0=")),
                    words.get(2).and_then(|w| w.strip_prefix("sig=")),
                ) else {
                    return Ok(Observation::error(format!("dropkill answered {answer:?}")));
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
            let answer = tx.ask("kill 1 0 1")?;
            let errno = answer
                .strip_prefix("err ")
                .and_then(|r| r.split_whitespace().next())
                .and_then(|e| e.parse::<i32>().ok());
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
        after: String,
        sender: i32,
    }

    /// A receiver peer makes the descriptor (`make`: "signalfd" or "kqueue",
    /// answered as `<short> revents=<bits>`) and waits on it (`<short>wait`);
    /// an error answer is the observation itself.
    #[cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd"))]
    fn notified_through(
        cx: &mut ipc_conformance::check::Ctx,
        make: &str,
        short: &str,
    ) -> ipc_conformance::Checked<Result<Notified, Observation>> {
        let mut rx = SigPeer::start(cx, &["USR1"])?;
        let before = rx.ask(make)?;
        let Some(bits) = before
            .strip_prefix(&format!("{short} revents="))
            .and_then(|b| b.parse::<i16>().ok())
        else {
            return Ok(Err(from_answer(make, &before)));
        };
        let mut tx = SigPeer::start(cx, &[])?;
        tx.ok(&format!("kill {} USR1 1", rx.pid))?;
        let bound = ipc_conformance::matrix::bound_ms();
        let after = rx.ask(&format!("{short}wait {bound}"))?;
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
            let n = match notified_through(cx, "signalfd", "sfd")? {
                Ok(n) => n,
                Err(obs) => return Ok(obs),
            };
            let want = format!(
                "sfd ready=true signo={} pid={} uid=",
                libc::SIGUSR1,
                n.sender
            );
            Ok(Observation::holds(
                n.bits & libc::POLLIN == 0 && n.after.starts_with(&want),
                format!(
                    "a signalfd for the blocked SIGUSR1: poll() revents with nothing sent {:#x}; after process {} sent SIGUSR1 with kill(): {:?}",
                    n.bits, n.sender, n.after
                ),
            ))
        });
    }

    #[cfg(any(target_os = "macos", target_os = "freebsd"))]
    #[test]
    fn kqueue_signal() {
        check!("signal.kqueue_signal", |cx| {
            let n = match notified_through(cx, "kqueue", "kq")? {
                Ok(n) => n,
                Err(obs) => return Ok(obs),
            };
            let want = format!("kq ready=true ident={} data=", libc::SIGUSR1);
            let count: i64 = n
                .after
                .rsplit_once("data=")
                .and_then(|(_, d)| d.parse().ok())
                .unwrap_or(0);
            Ok(Observation::holds(
                n.bits & libc::POLLIN == 0 && n.after.starts_with(&want) && count >= 1,
                format!(
                    "EVFILT_SIGNAL for SIGUSR1 (blocked) on a kqueue: poll() revents on the kqueue with nothing sent {:#x}; after process {} sent SIGUSR1 with kill(): {:?}",
                    n.bits, n.sender, n.after
                ),
            ))
        });
    }

    /// An `err <errno> <text>` answer as an observation (ENOSYS → unsupported).
    #[cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd"))]
    fn from_answer(what: &str, answer: &str) -> Observation {
        let errno = answer
            .strip_prefix("err ")
            .and_then(|r| r.split_whitespace().next())
            .and_then(|e| e.parse::<i32>().ok())
            .filter(|&e| e != 0);
        match errno {
            Some(e) => Observation::from_io_error(
                &format!("{what} in the peer"),
                &std::io::Error::from_raw_os_error(e),
            ),
            None => Observation::error(format!("{what} in the peer: {answer}")),
        }
    }

    // ------------------------------------------------------------------ facts

    #[test]
    fn rt_range() {
        check!("signal.rt_range", |cx| {
            realtime()?;
            let (Some(min), Some(max)) = (rt_min(), rt_max()) else {
                return Ok(no_realtime());
            };
            // Every real-time signal, blocked in one receiver and sent once each.
            let names: Vec<String> = (0..=max - min).map(|k| format!("RT+{k}")).collect();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let mut rx = SigPeer::start(cx, &refs)?;
            let probe = rx.ask("rtprobe")?;
            let mut tx = SigPeer::start(cx, &[])?;
            let swept = tx.ask(&format!("sweep {} RT+0 RTMAX", rx.pid))?;
            let accepted: Option<i32> = swept
                .strip_prefix("swept ok=")
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse().ok());
            let refused = swept.rsplit_once("refused=").map_or("?", |(_, r)| r);
            if let Some(reason) = ipc_conformance::precondition::sigqueue_refused(refused) {
                return Ok(Observation::skipped(format!(
                    "the sender answered {swept:?}: {reason}"
                )));
            }
            let got = rx.unblock()?;
            let highest: i32 = probe
                .rsplit_once("highest_valid=")
                .and_then(|(_, h)| h.parse().ok())
                .unwrap_or(0);
            let count = max - min + 1;
            let delivered: Vec<i32> = got.iter().map(|d| d.signo).collect();
            let in_order = delivered.windows(2).all(|w| w[0] < w[1]);
            let evidence = format!(
                "SIGRTMIN = {min}, SIGRTMAX = {max} ({count} real-time signals); the peer reports {probe:?}; a receiver blocked all {count}, a sender sigqueue()d each once: {} accepted, refused: {refused}; delivered after unblocking: {} signals, {}..{}, lowest first: {in_order}",
                accepted.map_or("?".into(), |a| a.to_string()),
                delivered.len(),
                delivered.first().map_or("-".into(), |&s| sig_name(s)),
                delivered.last().map_or("-".into(), |&s| sig_name(s)),
            );
            // POSIX: at least _POSIX_RTSIG_MAX (8) real-time signals; SIGRTMIN works;
            // every accepted signal is delivered, once, in order.
            let usable = i32::try_from(delivered.len()).unwrap_or(0);
            if usable < 8
                || Some(usable) != accepted
                || delivered.first() != Some(&min)
                || !in_order
                || highest < max
            {
                return Ok(Observation::error(format!("not a sound range: {evidence}")));
            }
            Ok(Observation::measured(evidence)
                .with("sigrtmin", f64::from(min), "signal number")
                .with("sigrtmax", f64::from(max), "signal number")
                .with("realtime_signals", f64::from(count), "signals")
                .with("deliverable", f64::from(usable), "signals"))
        });
    }

    #[test]
    fn pending_limit() {
        check!("signal.pending_limit", |cx| {
            realtime()?;
            const MAX: u64 = 300_000;
            let root = nix::unistd::geteuid().is_root();
            // Linux counts queued signals per user against the receiver's
            // RLIMIT_SIGPENDING. As root the receiving child runs under a uid of
            // its own (so other processes' pending signals do not count); as
            // another user it lowers its own limit to 64 and the count is shared.
            let rlimit = rlimit_sigpending();
            let isolated_uid = ipc_conformance::names::unused_uid();
            let mut attempts: Vec<(String, String)> = Vec::new();
            if cfg!(target_os = "linux") {
                let limit = match rlimit {
                    Some(l) if l <= 200_000 => "-".to_owned(),
                    _ => "4096".to_owned(),
                };
                if root {
                    attempts.push((isolated_uid.to_string(), limit));
                }
                // Lowered to 64, or kept where it is already that low (an
                // unprivileged process cannot raise it above its hard limit).
                let low = match rlimit {
                    Some(l) if l <= 64 => "-",
                    _ => "64",
                };
                attempts.push(("-".into(), low.into()));
            } else {
                attempts.push(("-".into(), "-".into()));
            }
            let mut holder = SigPeer::start(cx, &["RT+0"])?;
            let mut tried = Vec::new();
            for (uid, limit) in attempts {
                let answer = holder.peer.request_within(
                    &format!("fillchild {uid} {limit} RT+0 {MAX}"),
                    ipc_conformance::watchdog::BOUND * 2,
                )?;
                let field = |k: &str| {
                    answer
                        .split_whitespace()
                        .find_map(|w| w.strip_prefix(k)?.strip_prefix('='))
                        .map(str::to_owned)
                };
                let Some(n) = answer
                    .strip_prefix("filled ")
                    .and_then(|r| r.split_whitespace().next())
                    .and_then(|n| n.parse::<u64>().ok())
                else {
                    tried.push(format!("uid {uid}, limit {limit}: {answer}"));
                    continue;
                };
                let stop = field("stop").unwrap_or_default();
                let child_limit: Option<u64> = field("rlimit").and_then(|l| l.parse().ok());
                let sysctl = max_pending_per_proc();
                let evidence = format!(
                    "a child holding SIGRTMIN blocked ({}) accepted {n} sigqueue()s before the system refused with {stop}; RLIMIT_SIGPENDING of this process: {}; of the child: {}{}",
                    if uid == "-" {
                        "same uid as the other test processes, so their pending signals count too"
                            .to_owned()
                    } else {
                        format!("running as uid {uid}, alone under it")
                    },
                    rlimit.map_or("none".into(), |l| l.to_string()),
                    child_limit.map_or("none".into(), |l| l.to_string()),
                    sysctl.map_or(String::new(), |s| format!(
                        "; kern.sigqueue.max_pending_per_proc = {s}"
                    )),
                );
                if n == 0 && stop == "EAGAIN" {
                    // Other processes of this user already hold the whole limit.
                    return Ok(Observation::skipped(format!(
                        "RLIMIT_SIGPENDING too small ({}): not one signal could be queued: {evidence}",
                        child_limit.map_or("?".into(), |l| l.to_string())
                    )));
                }
                let bound = child_limit.or(sysctl);
                let sound = n > 0
                    && stop == "EAGAIN"
                    && bound.is_none_or(|b| n <= b)
                    && (uid == "-" || Some(n) == child_limit);
                if !sound {
                    return Ok(Observation::error(format!("not a sound limit: {evidence}")));
                }
                let mut obs = Observation::measured(evidence).with(
                    "queued_before_eagain",
                    n as f64,
                    "signals",
                );
                if let Some(l) = rlimit {
                    obs = obs.with("rlimit_sigpending", l as f64, "signals");
                }
                if let Some(s) = sysctl {
                    obs = obs.with("max_pending_per_proc", s as f64, "signals");
                }
                return Ok(obs);
            }
            Ok(Observation::error(format!(
                "no fill succeeded: {}",
                tried.join("; ")
            )))
        });
    }

    /// This process's RLIMIT_SIGPENDING soft limit on Linux (reading changes nothing).
    fn rlimit_sigpending() -> Option<u64> {
        if cfg!(target_os = "linux") {
            ipc_conformance::precondition::rlimit_sigpending()
        } else {
            None
        }
    }

    /// FreeBSD's per-process queue limit.
    fn max_pending_per_proc() -> Option<u64> {
        cfg_if::cfg_if! {
            if #[cfg(target_os = "freebsd")] {
                ipc_conformance::sys::sysctl_int("kern.sigqueue.max_pending_per_proc")
                    .and_then(|v| u64::try_from(v).ok())
            } else {
                None
            }
        }
    }
}

#[cfg(unix)]
ipc_conformance::matrix_properties!(
    "signal",
    cross_machine(
        false,
        "a process ID, which names a process of this host's kernel only"
    )
);

/// Windows: the C runtime's signal() and raise(), observed in peers; no call
/// sends a signal to another process (see `mech::windows::crt_signal`).
#[cfg(windows)]
mod windows {
    use ipc_conformance::mech::windows::crt_signal;

    ipc_conformance::check_fns!("signal", crt_signal: available, unrelated_processes);
}
