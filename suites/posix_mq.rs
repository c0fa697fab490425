//! POSIX message queues: every `posix_mq.*` claim of the catalog.
//!
//! The guide: "POSIX Message Queue | Messages | Name (/name) | Bidirectional* |
//! Work queues, request-response", recommended for priority and queueing, for a
//! work queue ("atomic delivery to one consumer") and for crash recovery
//! ("persistent MQ"); its portability table gives it to Linux only ("macOS lacks
//! full implementation").
//!
//! The API exists on Linux and FreeBSD (with the mqueuefs module); elsewhere
//! the claims' `requires` is unmet and the harness records them `unsupported`.

#[cfg(any(target_os = "linux", target_os = "freebsd"))]
use ipc_conformance::{Observation, Step, check};

ipc_conformance::suite!();

#[cfg(any(target_os = "linux", target_os = "freebsd"))]
#[path = "common/cleanup.rs"]
mod cleanup;

// ---------------------------------------------------------------- availability

#[cfg(any(target_os = "linux", target_os = "freebsd"))]
#[test]
fn available() {
    check!("posix_mq.available", |cx| {
        use ipc_conformance::mech::posix_mq::{MAXMSG, MSGSIZE, ensure_runtime, new_queue, unlink};
        let probe = ensure_runtime(cx)?;
        let (name, q, _guard) = new_queue(cx, Some((MAXMSG, MSGSIZE)), true)?;
        q.send(b"marker", 0).step("mq_send")?;
        let mut buf = vec![0u8; MSGSIZE as usize];
        let (n, prio) = q.receive(&mut buf).step("mq_receive")?;
        drop(q);
        unlink(&name).step("mq_unlink")?;
        let probe = if probe.is_empty() {
            String::new()
        } else {
            format!("; {probe}")
        };
        Ok(Observation::holds(
            &buf[..n] == b"marker",
            format!(
                "mq_open({name:?}, O_CREAT|O_EXCL|O_RDWR, 0600) created a queue; sent \"marker\", mq_receive returned {:?} at priority {prio}; mq_unlink removed it{probe}",
                String::from_utf8_lossy(&buf[..n])
            ),
        ))
    });
}

// -------------------------------------------------------- characteristics matrix

#[cfg(any(target_os = "linux", target_os = "freebsd"))]
mod matrix {
    ipc_conformance::matrix_properties!(
        "posix_mq",
        ipc_conformance::mech::posix_mq::PosixMqMechanism,
        cross_machine(
            false,
            "a /name, resolved by the local kernel in its IPC namespace; it cannot name another host"
        )
    );
}

// ------------------------------------------------------------------- behaviour

#[cfg(any(target_os = "linux", target_os = "freebsd"))]
mod behaviour {
    use super::*;
    use crate::cleanup::held_by_a_panicking_check;
    use std::io::{BufRead, BufReader};
    use std::process::{Child, Command, Stdio};
    use std::sync::mpsc;
    use std::time::Duration;

    use ipc_conformance::channel::Endpoint;
    use ipc_conformance::check::Ctx;
    use ipc_conformance::mech::posix_mq::{
        MAXMSG, MSGSIZE, MqEndpoint, Queue, Unlink, ensure_runtime, field, new_queue, proc_syscall,
    };
    use ipc_conformance::names::{random_hex, unique, unique_slash};
    use ipc_conformance::peer::{hex, unhex};
    use ipc_conformance::watchdog::BOUND;

    /// How long a sender must stay inside mq_send on a full queue to count as
    /// blocked (a bounded watchdog on a negative observation, not a delay).
    const BLOCK_WINDOW: Duration = Duration::from_millis(250);

    use ipc_conformance::observe::describe_result;

    fn text(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    #[test]
    fn named_slash() {
        check!("posix_mq.named_slash", |cx| {
            let (name, q, _guard) = new_queue(cx, Some((MAXMSG, MSGSIZE)), true)?;
            q.send(b"found-by-name", 0).step("mq_send")?;
            let mut peer = cx.peer(&["endpoint", "posix_mq", "receiver", &name]);
            peer.command().env_clear();
            let mut peer = peer.start()?;
            let got = peer.recv_data(65536)?.into_data().unwrap_or_default();
            // The same shapes without the one leading slash, for the evidence.
            let bare = unique();
            let bare_r = Queue::create(&bare, Some((MAXMSG, MSGSIZE)), true);
            let _bare_guard = bare_r.is_ok().then(|| Unlink(bare.clone()));
            let inner = format!("/{}/x", unique());
            let inner_r = Queue::create(&inner, Some((MAXMSG, MSGSIZE)), true);
            let _inner_guard = inner_r.is_ok().then(|| Unlink(inner.clone()));
            Ok(Observation::holds(
                got == b"found-by-name",
                format!(
                    "created {name:?}; a fresh process (pid {}, empty environment) opened {name:?} by that name and received {:?}; without the leading slash mq_open({bare:?}, O_CREAT|O_EXCL) gave {}; with a second slash mq_open({inner:?}) gave {}",
                    peer.pid(),
                    text(&got),
                    describe_result(&bare_r),
                    describe_result(&inner_r)
                ),
            ))
        });
    }

    #[test]
    fn priority_order() {
        check!("posix_mq.priority_order", |cx| {
            let (_name, q, _guard) = new_queue(cx, Some((MAXMSG, MSGSIZE)), true)?;
            let sends: [(u32, &str); 5] = [
                (1, "p1"),
                (5, "p5-first"),
                (3, "p3"),
                (5, "p5-second"),
                (0, "p0"),
            ];
            for (prio, m) in sends {
                q.send(m.as_bytes(), prio).step("mq_send")?;
            }
            let mut got = Vec::new();
            let mut buf = vec![0u8; MSGSIZE as usize];
            for _ in 0..sends.len() {
                let (n, prio) = q.receive(&mut buf).step("mq_receive")?;
                got.push((prio, text(&buf[..n])));
            }
            let expected: Vec<(u32, String)> = [
                (5, "p5-first"),
                (5, "p5-second"),
                (3, "p3"),
                (1, "p1"),
                (0, "p0"),
            ]
            .into_iter()
            .map(|(p, m)| (p, m.to_owned()))
            .collect();
            Ok(Observation::holds(
                got == expected,
                format!(
                    "sent (priority, message) {sends:?} before reading; mq_receive returned {got:?}"
                ),
            ))
        });
    }

    fn job(i: usize) -> Vec<u8> {
        format!("job-{i:03}-{}", "w".repeat(40)).into_bytes()
    }

    #[test]
    fn work_queue_exactly_once() {
        const JOBS: usize = 60;
        const CONSUMERS: usize = 3;
        check!("posix_mq.work_queue_exactly_once", |cx| {
            let (name, q, _guard) = new_queue(cx, Some((MAXMSG, MSGSIZE)), true)?;
            let mut producer = MqEndpoint::new(q).step("O_NONBLOCK")?;
            let mut consumers = Vec::new();
            for _ in 0..CONSUMERS {
                consumers.push(cx.peer(&["posix_mq-consume", &name]).start()?);
            }
            // Every consumer is waiting in its receive loop; produce more jobs than
            // the queue holds, so the producer is held back and they run concurrently.
            for i in 0..JOBS {
                producer.send(&job(i)).step("mq_send (job)")?;
            }
            for _ in 0..CONSUMERS {
                producer.send(b"stop").step("mq_send (stop)")?;
            }
            let mut seen = vec![0usize; JOBS];
            let mut per_consumer = Vec::new();
            let mut foreign = 0usize;
            for c in &mut consumers {
                let answer = c.line(BOUND)?;
                let Some(list) = answer.strip_prefix("got") else {
                    return Ok(Observation::error(format!(
                        "consumer pid {} answered {answer:?}",
                        c.pid()
                    )));
                };
                let mut mine = 0;
                for h in list.trim().split(',').filter(|s| !s.is_empty()) {
                    let m = unhex(h).unwrap_or_default();
                    let idx = text(&m)
                        .get(4..7)
                        .and_then(|d| d.parse::<usize>().ok())
                        .filter(|&i| i < JOBS && job(i) == m);
                    match idx {
                        Some(i) => {
                            seen[i] += 1;
                            mine += 1;
                        }
                        None => foreign += 1,
                    }
                }
                per_consumer.push(mine);
            }
            let lost = seen.iter().filter(|&&n| n == 0).count();
            let duplicated = seen.iter().filter(|&&n| n > 1).count();
            Ok(Observation::holds(
                lost == 0 && duplicated == 0 && foreign == 0,
                format!(
                    "one producer sent {JOBS} numbered 48-byte jobs through a queue of {MAXMSG} while {CONSUMERS} consumer processes received concurrently; jobs per consumer {per_consumer:?}; lost {lost}, received more than once {duplicated}, torn or unknown {foreign}"
                ),
            ))
        });
    }

    #[test]
    fn persists_after_creator_exit() {
        check!("posix_mq.persists_after_creator_exit", |cx| {
            use std::os::unix::process::ExitStatusExt;
            ensure_runtime(cx)?;
            let name = unique_slash();
            // Removed at the end whoever created it (the name is fresh and random).
            let _guard = Unlink(name.clone());
            let msg = format!("survivor-{}", random_hex(8));
            let mut creator = cx
                .peer(&["posix_mq-create-and-die", &name, &hex(msg.as_bytes())])
                .spawn()?;
            let said = creator.line(BOUND)?;
            let creator_pid = creator.pid();
            let (status, _) = creator.finish()?;
            if !said.starts_with("sent") {
                let errno = said.split_whitespace().nth(1).and_then(|e| e.parse().ok());
                if let Some(reason) = errno.and_then(|e| {
                    ipc_conformance::precondition::mqueue_refusal(e, Some((MAXMSG, MSGSIZE)))
                }) {
                    return Ok(Observation::skipped(format!(
                        "the creator answered {said:?} ({status}): {reason}"
                    )));
                }
                return Ok(Observation::error(format!(
                    "the creator answered {said:?} ({status})"
                )));
            }
            let killed = status.signal() == Some(libc::SIGKILL);
            let mut reader = cx.peer(&["endpoint", "posix_mq", "receiver", &name]);
            reader.command().env_clear();
            let mut reader = reader.start()?;
            let got = reader.recv_data(65536)?.into_data().unwrap_or_default();
            Ok(Observation::holds(
                killed && got == msg.as_bytes(),
                format!(
                    "process {creator_pid} created {name:?}, sent {msg:?} and ended by {status} without any cleanup; then a fresh process (pid {}) opened {name:?} and received {:?}",
                    reader.pid(),
                    text(&got)
                ),
            ))
        });
    }

    /// A peer whose output lines are read with bounded waits that, unlike
    /// `Peer::line`, leave the process running when nothing comes.
    struct LinePeer {
        child: Child,
        lines: mpsc::Receiver<String>,
    }

    impl LinePeer {
        fn spawn(cx: &Ctx, args: &[&str]) -> std::io::Result<LinePeer> {
            let mut child = Command::new(cx.peer_exe())
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()?;
            let out = child.stdout.take().expect("piped stdout");
            let (tx, lines) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            });
            Ok(LinePeer { child, lines })
        }

        fn next(&self, bound: Duration) -> Option<String> {
            self.lines.recv_timeout(bound).ok()
        }
    }

    impl Drop for LinePeer {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    #[test]
    fn full_queue_blocks() {
        check!("posix_mq.full_queue_blocks", |cx| {
            let (name, q, _guard) = new_queue(cx, Some((MAXMSG, 64)), true)?;
            let maxmsg = q.attr().step("mq_getattr")?.maxmsg;
            for i in 0..maxmsg {
                q.send(format!("fill-{i}").as_bytes(), 0)
                    .step("mq_send (filling)")?;
            }
            let over = q.send(b"one-too-many", 0);
            let over_eagain =
                over.as_ref().err().and_then(|e| e.raw_os_error()) == Some(libc::EAGAIN);
            let full = q.attr().step("mq_getattr")?.curmsgs;
            let sender = LinePeer::spawn(cx, &["posix_mq-send-blocking", &name, &hex(b"waited")])
                .step("spawn the blocking sender")?;
            let pid = sender.child.id();
            let ready = sender.next(BOUND);
            let sending = sender.next(BOUND);
            if sending.as_deref() != Some("sending") {
                return Ok(Observation::error(format!(
                    "the blocking sender (pid {pid}) answered {ready:?}, {sending:?}"
                )));
            }
            let early = sender.next(BLOCK_WINDOW);
            let in_call = proc_syscall(pid);
            let during = q.attr().step("mq_getattr")?.curmsgs;
            let mut buf = vec![0u8; 64];
            let (n, _) = q.receive(&mut buf).step("mq_receive")?;
            let after = sender.next(BOUND);
            let refilled = q.attr().step("mq_getattr")?.curmsgs;
            let evidence = format!(
                "filled {name:?} with {maxmsg} messages (mq_curmsgs {full}); one more non-blocking mq_send: {}; a process (pid {pid}) then called a blocking mq_send: within {BLOCK_WINDOW:?} it {} (mq_curmsgs {during}{}); after this process received {:?}, the sender answered {after:?} within {BOUND:?} and mq_curmsgs was {refilled}",
                describe_result(&over),
                match &early {
                    None => "had not returned".to_owned(),
                    Some(l) => format!("returned: {l:?}"),
                },
                if in_call.is_empty() {
                    String::new()
                } else {
                    format!("; {in_call}")
                },
                text(&buf[..n]),
            );
            if early.is_none() && after.is_none() {
                return Ok(Observation::timeout(evidence));
            }
            Ok(Observation::holds(
                over_eagain
                    && full == maxmsg
                    && early.is_none()
                    && after.as_deref() == Some("sent")
                    && refilled == maxmsg,
                evidence,
            ))
        });
    }

    #[test]
    fn oversize_rejected() {
        check!("posix_mq.oversize_rejected", |cx| {
            let (_name, q, _guard) = new_queue(cx, Some((MAXMSG, 64)), true)?;
            let msgsize = q.attr().step("mq_getattr")?.msgsize as usize;
            let over = q.send(&vec![b'x'; msgsize + 1], 0);
            let after_over = q.attr().step("mq_getattr")?.curmsgs;
            let exact = q.send(&vec![b'y'; msgsize], 0);
            let after_exact = q.attr().step("mq_getattr")?.curmsgs;
            let emsgsize =
                over.as_ref().err().and_then(|e| e.raw_os_error()) == Some(libc::EMSGSIZE);
            Ok(Observation::holds(
                emsgsize && after_over == 0,
                format!(
                    "mq_msgsize {msgsize}: mq_send of {} bytes gave {} and left mq_curmsgs {after_over}; of exactly {msgsize} bytes gave {} (mq_curmsgs {after_exact})",
                    msgsize + 1,
                    describe_result(&over),
                    describe_result(&exact)
                ),
            ))
        });
    }

    // --------------------------------------------------------------- facts

    /// A Linux /proc/sys/fs/mqueue value, for the evidence.
    fn proc_mqueue(name: &str) -> Option<i64> {
        std::fs::read_to_string(format!("/proc/sys/fs/mqueue/{name}"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    #[test]
    fn default_attributes() {
        check!("posix_mq.default_attributes", |cx| {
            ensure_runtime(cx)?;
            let name = unique_slash();
            let q = Queue::create(&name, None, true).step(&format!(
                "mq_open({name:?}, O_CREAT|O_EXCL|O_RDWR, 0600, NULL)"
            ))?;
            let _guard = Unlink(name.clone());
            let a = q.attr().step("mq_getattr")?;
            let mut detail = format!(
                "mq_open with a NULL attribute pointer, then mq_getattr: mq_maxmsg {}, mq_msgsize {}, mq_curmsgs {}",
                a.maxmsg, a.msgsize, a.curmsgs
            );
            if cfg!(target_os = "linux") {
                detail.push_str(&format!(
                    "; /proc/sys/fs/mqueue/msg_default = {:?}, msgsize_default = {:?}",
                    proc_mqueue("msg_default"),
                    proc_mqueue("msgsize_default")
                ));
            }
            if a.maxmsg < 1
                || a.msgsize < 1
                || a.curmsgs != 0
                || a.maxmsg > 1 << 20
                || a.msgsize > 1 << 26
            {
                return Ok(Observation::error(format!(
                    "absurd default attributes: {detail}"
                )));
            }
            Ok(Observation::measured(detail)
                .with("mq_maxmsg", a.maxmsg as f64, "messages")
                .with("mq_msgsize", a.msgsize as f64, "bytes"))
        });
    }

    #[test]
    fn system_limits() {
        check!("posix_mq.system_limits", |cx| {
            ensure_runtime(cx)?;
            let name = unique_slash();
            let _guard = Unlink(name.clone());
            let mut peer = cx.peer(&["posix_mq-limits", &name]).spawn()?;
            let pid = peer.pid();
            let answer = peer.line(BOUND)?;
            let _ = peer.finish();
            let num = |k: &str| field(&answer, k).and_then(|v| v.parse::<i64>().ok());
            let (Some(maxmsg), Some(msgsize)) = (num("maxmsg"), num("msgsize")) else {
                return Ok(Observation::error(format!(
                    "limits peer (pid {pid}) answered {answer:?}"
                )));
            };
            let dropped = field(&answer, "dropped").unwrap_or("?");
            if dropped.starts_with("failed") {
                return Ok(Observation::skipped(format!(
                    "running as root and the probe process could not drop to an unprivileged uid ({dropped}): root may exceed the unprivileged limits"
                )));
            }
            if maxmsg < 1 || msgsize < 1 {
                // The peer names fs.mqueue / RLIMIT_MSGQUEUE when a lowered limit
                // refused even the first queue (precondition::mqueue_limits).
                if answer.contains("fs.mqueue.") || answer.contains("RLIMIT_MSGQUEUE") {
                    return Ok(Observation::skipped(format!(
                        "the limits probe (pid {pid}) could not create a single queue: {answer:?}"
                    )));
                }
                return Ok(Observation::error(format!(
                    "an unprivileged mq_open accepted no queue at all: {answer:?}"
                )));
            }
            let mut detail = format!(
                "as uid {} (dropped from root: {dropped}), the largest mq_maxmsg mq_open accepted (mq_msgsize 16) was {maxmsg}, one more: {}; the largest mq_msgsize (mq_maxmsg 1) was {msgsize}, one more: {}",
                field(&answer, "uid").unwrap_or("?"),
                field(&answer, "maxmsg_refusal").unwrap_or("?"),
                field(&answer, "msgsize_refusal").unwrap_or("?"),
            );
            let mut obs_limits: Vec<(&str, i64, &str)> = Vec::new();
            cfg_if::cfg_if! {
                if #[cfg(target_os = "linux")] {
                    for (k, unit) in [("msg_max", "messages"), ("msgsize_max", "bytes"), ("queues_max", "queues")] {
                        if let Some(v) = proc_mqueue(k) {
                            obs_limits.push((k, v, unit));
                        }
                    }
                    let rl = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_MSGQUEUE)
                        .map(|(soft, _)| soft as i64)
                        .ok();
                    detail.push_str(&format!("; /proc/sys/fs/mqueue: {obs_limits:?}; RLIMIT_MSGQUEUE (soft) = {rl:?} bytes"));
                    if let Some(v) = rl {
                        obs_limits.push(("rlimit_msgqueue", v, "bytes"));
                    }
                } else {
                    for (k, unit) in [("kern.mqueue.maxmsg", "messages"), ("kern.mqueue.maxmsgsize", "bytes"), ("kern.mqueue.maxmq", "queues")] {
                        if let Some(v) = ipc_conformance::sys::sysctl_int(k) {
                            obs_limits.push((k, v, unit));
                        }
                    }
                    detail.push_str(&format!("; sysctl: {obs_limits:?}"));
                }
            }
            let mut obs = Observation::measured(detail)
                .with("unprivileged_maxmsg", maxmsg as f64, "messages")
                .with("unprivileged_msgsize", msgsize as f64, "bytes");
            for (k, v, unit) in obs_limits {
                obs = obs.with(k, v as f64, unit);
            }
            Ok(obs)
        });
    }

    // ------------------------------------------------------ cleanup (not a claim)

    /// A check that panics with its queue open here and in a peer, and a message
    /// queued, still leaves no queue behind.
    #[test]
    fn queue_removed_after_a_panicking_check() {
        use ipc_conformance::channel::{Mechanism, Role};
        use ipc_conformance::mech::posix_mq::{PosixMqMechanism, listed_in_dev_mqueue};
        // The queue's name, and whether /dev/mqueue listed it while it existed.
        let Some((name, listed_during)) =
            held_by_a_panicking_check("posix_mq.available", |cx, held| {
                let mut ch = PosixMqMechanism.create(cx)?;
                let name = ch.name().expect("a queue has a name");
                let mut tx = ch.open(Role::Sender).step("open")?;
                tx.send(b"left behind").step("mq_send")?;
                let _holder = ch.peer(cx, Role::Receiver).step("peer")?.start()?;
                held.set((name.clone(), listed_in_dev_mqueue(&name)));
                panic!("deliberate panic with {name} open here and in a peer, one message queued");
            })
        else {
            return;
        };
        let reopen = Queue::open(&name, libc::O_RDONLY, true);
        assert_eq!(
            reopen.as_ref().err().and_then(|e| e.raw_os_error()),
            Some(libc::ENOENT),
            "{name} still exists after the panicking check: {reopen:?}"
        );
        if let Some(listed_during) = listed_during {
            assert!(
                listed_during,
                "/dev/mqueue did not list {name} while it existed"
            );
            assert_eq!(
                listed_in_dev_mqueue(&name),
                Some(false),
                "/dev/mqueue still lists {name}"
            );
        }
    }
}
