//! System V message queues: every `sysv_mq.*` claim of the catalog.
//!
//! The guide: "System V Message Queue | Messages | Numeric key | Bidirectional* |
//! Legacy, portable IPC", and in the portability table "System V IPC | ✓ | ✓ | ✓ |
//! ✗ | Maximum Unix portability".
//!
//! The API exists on Linux, FreeBSD and macOS; elsewhere the claims'
//! `requires` is unmet and the harness records them `unsupported`.

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "macos"))]
use ipc_conformance::{Observation, Step, check};

ipc_conformance::suite!();

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "macos"))]
#[path = "common/cleanup.rs"]
mod cleanup;

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "macos"))]
mod checks {
    use super::*;
    use crate::cleanup::held_by_a_panicking_check;
    use ipc_conformance::mech::sysv_mq::{KeyGuard, Queue, find, key_text, random_key, remove};
    use ipc_conformance::names::random_hex;
    use ipc_conformance::peer::{hex, unhex};
    use ipc_conformance::watchdog::BOUND;

    use ipc_conformance::observe::describe_result;

    fn text(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    /// A `sysv_mq-receive` peer for the queue of `key`, started with an empty
    /// environment (it knows the queue by its key alone): its answer and its
    /// pid, once it has exited.
    fn receive_by_key(
        cx: &ipc_conformance::check::Ctx,
        key: &str,
    ) -> ipc_conformance::Checked<(String, u32)> {
        let mut peer = cx.peer(&["sysv_mq-receive", key, "0"]);
        peer.command().env_clear();
        let mut peer = peer.spawn()?;
        let answer = peer.line(BOUND)?;
        let pid = peer.pid();
        drop(peer);
        Ok((answer, pid))
    }

    /// Parses a `sysv_mq-receive` answer: `got <id> <mtype> <hex>`.
    fn parse_got(answer: &str) -> Option<(i32, i64, Vec<u8>)> {
        let mut w = answer.strip_prefix("got ")?.split_whitespace();
        let id = w.next()?.parse().ok()?;
        let t = w.next()?.parse().ok()?;
        let d = unhex(w.next().unwrap_or(""))?;
        Some((id, t, d))
    }

    #[test]
    fn available() {
        check!("sysv_mq.available", |_cx| {
            let q = Queue::private().step("msgget(IPC_PRIVATE, IPC_CREAT|IPC_EXCL|0600)")?;
            q.send(1, b"marker").step("msgsnd")?;
            let (t, got) = q.receive(8192, 0).step("msgrcv")?;
            let id = q.id;
            let removed = remove(id);
            if removed.is_ok() {
                // Removed: the id may be reused, so the guard must not remove it again.
                std::mem::forget(q);
            }
            Ok(Observation::holds(
                got == b"marker" && t == 1 && removed.is_ok(),
                format!(
                    "msgget(IPC_PRIVATE) gave queue id {id}; msgsnd type 1 \"marker\", msgrcv returned type {t} {:?}; msgctl(IPC_RMID): {}",
                    text(&got),
                    describe_result(&removed)
                ),
            ))
        });
    }

    #[test]
    fn named_by_key() {
        check!("sysv_mq.named_by_key", |cx| {
            let q = Queue::keyed().step("msgget(random key, IPC_CREAT|IPC_EXCL|0600)")?;
            let key = key_text(q.key);
            let msg = format!("by-key-{}", random_hex(8));
            q.send(7, msg.as_bytes()).step("msgsnd")?;
            let (answer, pid) = receive_by_key(cx, &key)?;
            let Some((id, t, got)) = parse_got(&answer) else {
                return Ok(Observation::no(format!(
                    "created queue id {} under key {key} and sent a message; a fresh process (pid {pid}) given only {key} answered {answer:?}",
                    q.id
                )));
            };
            Ok(Observation::holds(
                id == q.id && t == 7 && got == msg.as_bytes(),
                format!(
                    "created queue id {} under key {key}, sent type 7 {msg:?}; a fresh process (pid {pid}, empty environment) given only the key number got queue id {id} and received type {t} {:?}",
                    q.id,
                    text(&got)
                ),
            ))
        });
    }

    #[test]
    fn message_boundaries() {
        check!("sysv_mq.message_boundaries", |_cx| {
            let q = Queue::private().step("msgget(IPC_PRIVATE)")?;
            let first = b"ten-bytes!";
            let second = b"twenty-bytes-message";
            q.send(1, first).step("msgsnd 10 bytes")?;
            q.send(1, second).step("msgsnd 20 bytes")?;
            let (_, a) = q.receive(65536, 0).step("msgrcv")?;
            let (_, b) = q.receive(65536, 0).step("msgrcv")?;
            Ok(Observation::holds(
                a == first && b == second,
                format!(
                    "sent 10 then 20 bytes; one msgrcv with a 64 KiB buffer returned {} bytes {:?}, the next {} bytes {:?}",
                    a.len(),
                    text(&a),
                    b.len(),
                    text(&b)
                ),
            ))
        });
    }

    #[test]
    fn type_selection() {
        check!("sysv_mq.type_selection", |_cx| {
            let q = Queue::private().step("msgget(IPC_PRIVATE)")?;
            let sends: [(i64, &str); 4] = [(3, "t3-first"), (2, "t2"), (1, "t1"), (3, "t3-second")];
            for (t, m) in sends {
                q.send(t, m.as_bytes()).step("msgsnd")?;
            }
            let mut steps = Vec::new();
            let mut got = Vec::new();
            for msgtyp in [2i64, 0, -2, -2, 0] {
                let r = q.receive(65536, msgtyp);
                steps.push(format!(
                    "msgtyp {msgtyp}: {}",
                    match &r {
                        Ok((t, d)) => format!("type {t} {:?}", text(d)),
                        Err(e) => ipc_conformance::observe::describe_io_error(e),
                    }
                ));
                got.push(r.ok().map(|(t, d)| (t, text(&d))));
            }
            let expected = vec![
                Some((2, "t2".to_owned())),
                Some((3, "t3-first".to_owned())),
                Some((1, "t1".to_owned())),
                None,
                Some((3, "t3-second".to_owned())),
            ];
            Ok(Observation::holds(
                got == expected,
                format!(
                    "sent (type, message) {sends:?} before reading; msgrcv(IPC_NOWAIT) with {}",
                    steps.join("; ")
                ),
            ))
        });
    }

    #[test]
    fn persists_until_removed() {
        check!("sysv_mq.persists_until_removed", |cx| {
            let msg = format!("kept-{}", random_hex(8));
            // A key nobody uses, a creator process that exits, retried on EEXIST.
            let mut made = None;
            for _ in 0..8 {
                let key = random_key();
                // Only a key with no queue at all (ENOENT) is claimed by the guard.
                if find(key).err().and_then(|e| e.raw_os_error()) != Some(libc::ENOENT) {
                    continue;
                }
                let guard = KeyGuard::new(key);
                let mut creator = cx
                    .peer(&[
                        "sysv_mq-create-send",
                        &key_text(key),
                        "5",
                        &hex(msg.as_bytes()),
                    ])
                    .spawn()?;
                let answer = creator.line(BOUND)?;
                let pid = creator.pid();
                let (status, _) = creator.finish()?;
                match answer
                    .strip_prefix("created ")
                    .and_then(|s| s.trim().parse::<i32>().ok())
                {
                    Some(id) => {
                        made = Some((key, id, guard, pid, status));
                        break;
                    }
                    None if answer == "exists" => guard.disarm(),
                    None => {
                        return Ok(Observation::error(format!(
                            "the creator (pid {pid}) answered {answer:?} ({status})"
                        )));
                    }
                }
            }
            let Some((key, id, _guard, creator_pid, status)) = made else {
                return Ok(Observation::error("8 random keys were all taken"));
            };
            let key_s = key_text(key);
            let (answer, reader_pid) = receive_by_key(cx, &key_s)?;
            let got = parse_got(&answer);
            let still = find(key);
            let removed = match &still {
                Ok(found) => remove(*found),
                Err(e) => Err(std::io::Error::from_raw_os_error(
                    e.raw_os_error().unwrap_or(0),
                )),
            };
            let gone = find(key);
            let gone_enoent =
                gone.as_ref().err().and_then(|e| e.raw_os_error()) == Some(libc::ENOENT);
            Ok(Observation::holds(
                got.as_ref()
                    .is_some_and(|(gid, t, d)| *gid == id && *t == 5 && d == msg.as_bytes())
                    && still.as_ref().ok() == Some(&id)
                    && removed.is_ok()
                    && gone_enoent,
                format!(
                    "process {creator_pid} created queue id {id} under key {key_s}, sent {msg:?} and exited ({status}); a fresh process (pid {reader_pid}) given only the key answered {answer:?}; with no process using it, msgget({key_s}, 0) still gave {}; msgctl(IPC_RMID): {}; msgget afterwards: {}",
                    match &still {
                        Ok(i) => format!("id {i}"),
                        Err(e) => ipc_conformance::observe::describe_io_error(e),
                    },
                    describe_result(&removed),
                    describe_result(&gone)
                ),
            ))
        });
    }

    // ------------------------------------------------------ cleanup (not a claim)

    /// A check that panics with a keyed queue holding a message still leaves no
    /// queue behind.
    #[test]
    fn queue_removed_after_a_panicking_check() {
        let Some((key, id)) = held_by_a_panicking_check("sysv_mq.available", |_cx, held| {
            let q = Queue::keyed().step("msgget")?;
            q.send(1, b"left behind").step("msgsnd")?;
            held.set((q.key, q.id));
            panic!("deliberate panic with queue {} holding a message", q.id);
        }) else {
            return;
        };
        let found = find(key);
        assert_eq!(
            found.as_ref().err().and_then(|e| e.raw_os_error()),
            Some(libc::ENOENT),
            "queue id {id} (key {}) still exists after the panicking check: {found:?}",
            key_text(key)
        );
    }
}
