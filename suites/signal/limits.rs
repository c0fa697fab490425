//! Signals on Unix, the facts: the real-time signal range (`SIGRTMIN` to
//! `SIGRTMAX`, each queued once) and how many signals can be pending
//! (`RLIMIT_SIGPENDING`, FreeBSD's `max_pending_per_proc`). Included by
//! suites/signal.rs; like every check there, the signals go between peers.

use super::unix::{no_realtime, realtime};
use ipc_conformance::mech::signal::protocol::{Answer, Command, Sig, refused_word};
use ipc_conformance::mech::signal::{SigPeer, rt_max, rt_min, sig_name};
use ipc_conformance::{Observation, check};

#[test]
fn rt_range() {
    check!("signal.rt_range", |cx| {
        realtime()?;
        let (Some(min), Some(max)) = (rt_min(), rt_max()) else {
            return Ok(no_realtime());
        };
        // Every real-time signal, blocked in one receiver and sent once each.
        let sigs: Vec<Sig> = (0..=max - min)
            .filter_map(|k| u32::try_from(k).ok().map(Sig::Rt))
            .collect();
        let mut rx = SigPeer::start(cx, &sigs)?;
        let probe = rx.request(&Command::Rtprobe)?;
        let mut tx = SigPeer::start(cx, &[])?;
        let swept = tx.request(&Command::Sweep {
            pid: rx.pid,
            from: Sig::Rt(0),
            to: Sig::RtMax,
        })?;
        let (accepted, refused) = match &swept {
            Answer::Swept { ok, refused } => (i32::try_from(*ok).ok(), refused_word(refused)),
            _ => (None, "?".to_owned()),
        };
        if let Some(reason) = ipc_conformance::precondition::sigqueue_refused(&refused) {
            return Ok(Observation::skipped(format!(
                "the sender answered {:?}: {reason}",
                swept.to_string()
            )));
        }
        let got = rx.unblock()?;
        let highest: i32 = match probe {
            Answer::Rt {
                highest_valid: Some(h),
                ..
            } => h,
            _ => 0,
        };
        let probe = probe.to_string();
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
        // (the child's uid, its RLIMIT_SIGPENDING); None: left as it is.
        let mut attempts: Vec<(Option<u32>, Option<u64>)> = Vec::new();
        if cfg!(target_os = "linux") {
            let limit = match rlimit {
                Some(l) if l <= 200_000 => None,
                _ => Some(4096),
            };
            if root {
                attempts.push((Some(isolated_uid), limit));
            }
            // Lowered to 64, or kept where it is already that low (an
            // unprivileged process cannot raise it above its hard limit).
            let low = match rlimit {
                Some(l) if l <= 64 => None,
                _ => Some(64),
            };
            attempts.push((None, low));
        } else {
            attempts.push((None, None));
        }
        let mut holder = SigPeer::start(cx, &[Sig::Rt(0)])?;
        let mut tried = Vec::new();
        for (uid, limit) in attempts {
            let answer = holder.request_within(
                &Command::Fillchild {
                    uid,
                    rlimit: limit,
                    sig: Sig::Rt(0),
                    max: MAX,
                },
                ipc_conformance::watchdog::BOUND * 2,
            )?;
            let Answer::Filled {
                n,
                stop,
                rlimit: child_rlimit,
                ..
            } = answer
            else {
                tried.push(format!("uid {uid:?}, limit {limit:?}: {answer}"));
                continue;
            };
            let child_limit: Option<u64> = child_rlimit.parse().ok();
            let sysctl = max_pending_per_proc();
            let evidence = format!(
                "a child holding SIGRTMIN blocked ({}) accepted {n} sigqueue()s before the system refused with {stop}; RLIMIT_SIGPENDING of this process: {}; of the child: {}{}",
                match uid {
                    None => {
                        "same uid as the other test processes, so their pending signals count too"
                            .to_owned()
                    }
                    Some(uid) => format!("running as uid {uid}, alone under it"),
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
                && (uid.is_none() || Some(n) == child_limit);
            if !sound {
                return Ok(Observation::error(format!("not a sound limit: {evidence}")));
            }
            let mut obs =
                Observation::measured(evidence).with("queued_before_eagain", n as f64, "signals");
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
