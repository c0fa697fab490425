//! The characteristics matrix, checked the same way for every message-passing
//! mechanism through its `Mechanism` adapter. Each function observes one property
//! (the claim's `check` text in the catalog is its operational definition) and returns the
//! observation with its evidence; suites call them as rstest cases.

use std::time::Duration;

use crate::channel::broken_records;
use crate::channel::{Mechanism, Role};
use crate::check::Ctx;
use crate::observe::{Checked, Observation, Step, describe_io_error};
use crate::peer::Peer;
use crate::peer::endpoint_protocol::{Answer, Command};
use crate::watchdog::BOUND;

/// The Windows forms of pollable and fd passing (WSAPoll; no in-band handles).
#[cfg(windows)]
mod windows;

/// Receives one message (bounded), or ends the check.
fn recv_one(ep: &mut dyn crate::channel::Endpoint, what: &str) -> Checked<Vec<u8>> {
    let mut buf = vec![0u8; 65536];
    match ep.recv(&mut buf, BOUND).step(what)? {
        Some(n) => Ok(buf[..n].to_vec()),
        None => Err(Observation::timeout(format!(
            "{what}: nothing arrived within {BOUND:?}"
        ))),
    }
}

/// The bytes of a peer's `data` answer; any other answer as the error.
fn peer_data(answer: Answer) -> Result<Vec<u8>, String> {
    match answer {
        Answer::Data(d) => Ok(d),
        other => Err(other.to_string()),
    }
}

/// `send` through an endpoint peer: `Ok` when it answered `ok`, else the answer.
fn peer_send(peer: &mut Peer, data: &[u8]) -> Checked<Result<(), Answer>> {
    match peer.call(&Command::Send(data.to_vec()))? {
        Answer::Ok(_) => Ok(Ok(())),
        other => Ok(Err(other)),
    }
}

/// The bound as a protocol argument, in milliseconds.
fn bound_ms_u64() -> u64 {
    u64::try_from(BOUND.as_millis()).unwrap_or(u64::MAX)
}

fn start(cx: &Ctx, ch: &mut dyn crate::channel::Channel, role: Role) -> Checked<Peer> {
    let cmd = ch.peer(cx, role).step("prepare peer")?;
    Ok(cmd.start()?)
}

/// Message boundaries: two sends of different lengths; once both are queued at
/// the receiver, one large receive returns exactly the first.
pub fn message_boundaries(cx: &mut Ctx, mech: &dyn Mechanism) -> Checked<Observation> {
    message_boundaries_sent_by(cx, mech, |tx| boundary_sends(tx, Duration::ZERO))
}

/// The boundary check's two sends, "abc" then "defgh", with `pause` between
/// them: zero in the check; tests of the check vary it to show that the
/// verdict does not depend on the sender's timing.
pub fn boundary_sends(
    tx: &mut dyn crate::channel::Endpoint,
    pause: Duration,
) -> std::io::Result<()> {
    tx.send(b"abc")?;
    if !pause.is_zero() {
        std::thread::sleep(pause);
    }
    tx.send(b"defgh")?;
    Ok(())
}

/// [`message_boundaries`] with the two sends ("abc", then "defgh") made by
/// `sender` on a thread of its own while this one waits, bounded, until both are
/// queued at the receiving end (`channel::wait_all_queued`): the first receive
/// then sees everything sent, however the sender's writes were timed.
pub fn message_boundaries_sent_by(
    cx: &mut Ctx,
    mech: &dyn Mechanism,
    sender: impl FnOnce(&mut dyn crate::channel::Endpoint) -> std::io::Result<()> + Send,
) -> Checked<Observation> {
    let mut ch = mech.create(cx)?;
    let mut tx = ch.open(Role::Sender).step("open sender")?;
    let mut rx = ch.open(Role::Receiver).step("open receiver")?;
    // The sender runs alongside; what the receiver sees is decided by the count
    // of queued bytes, not by when the sends return (a TCP send returns before
    // Nagle's algorithm lets its bytes go).
    let counted = rx
        .queued()
        .step("count the bytes queued at the receiver")?
        .is_some();
    std::thread::scope(|s| {
        let mut writer = Some(s.spawn(move || sender(tx.as_mut())));
        let join = |writer: &mut Option<std::thread::ScopedJoinHandle<'_, std::io::Result<()>>>| {
            match writer.take().map(|w| w.join()) {
                None | Some(Ok(Ok(()))) => Ok(()),
                Some(Ok(Err(e))) => Err(e).step("send 3 then 5 bytes"),
                Some(Err(_)) => Err(Observation::error("the sending thread panicked")),
            }
        };
        if !counted {
            // No count (message queues): each message is queued when its send
            // returns, so the sends end first.
            join(&mut writer)?;
        }
        let queued = match crate::channel::wait_all_queued(rx.as_mut(), &[3, 5], BOUND)
            .step("count the bytes queued at the receiver")?
        {
            Ok(seen) => seen,
            Err(seen) => {
                join(&mut writer)?;
                return Ok(Observation::timeout(format!(
                    "sent 3 then 5 bytes; not all of it reached the receiver: {seen}"
                )));
            }
        };
        let first = recv_one(rx.as_mut(), "receive into 64 KiB")?;
        let evidence = format!(
            "sent 3 then 5 bytes; {queued}; one 64 KiB receive returned {} bytes {:?}",
            first.len(),
            String::from_utf8_lossy(&first)
        );
        let observation = match first.as_slice() {
            b"abc" => {
                let second = recv_one(rx.as_mut(), "second receive")?;
                let evidence = format!(
                    "{evidence}; the next receive returned {:?}",
                    String::from_utf8_lossy(&second)
                );
                Observation::holds(second == b"defgh", evidence)
            }
            b"abcdefgh" => Observation::no(evidence),
            _ => Observation::error(evidence),
        };
        join(&mut writer)?;
        Ok(observation)
    })
}

/// Bidirectional: one channel object carries data both ways between two
/// processes, each receiving only what the other sent.
pub fn bidirectional(cx: &mut Ctx, mech: &dyn Mechanism) -> Checked<Observation> {
    let mut ch = mech.create(cx)?;
    let mut a = ch.open(Role::Sender).step("open end A")?;
    let mut b = start(cx, ch.as_mut(), Role::Receiver)?;
    a.send(b"a-to-b").step("A sends")?;
    let got_b = peer_data(b.call(&Command::Recv {
        max: 65536,
        ms: bound_ms_u64(),
    })?)
    .map_err(|e| Observation::error(format!("B (pid {}) receives: {e}", b.pid())))?;
    if got_b != b"a-to-b" {
        return Ok(Observation::error(format!(
            "B received {:?}, not A's message",
            String::from_utf8_lossy(&got_b)
        )));
    }
    if let Err(answer) = peer_send(&mut b, b"b-to-a")? {
        return Ok(Observation::no(format!(
            "A→B delivered; B (another process) cannot send on its end: {answer}"
        )));
    }
    let mut buf = vec![0u8; 65536];
    let got_a = a.recv(&mut buf, BOUND);
    let evidence = match &got_a {
        Ok(Some(n)) => format!(
            "A→B delivered; B sent \"b-to-a\"; A received {:?}",
            String::from_utf8_lossy(&buf[..*n])
        ),
        Ok(None) => {
            format!("A→B delivered; B's send succeeded but A received nothing within {BOUND:?}")
        }
        Err(e) => format!(
            "A→B delivered; B sent; A cannot receive on its end: {}",
            describe_io_error(e)
        ),
    };
    Ok(Observation::holds(
        matches!(got_a, Ok(Some(n)) if &buf[..n] == b"b-to-a"),
        evidence,
    ))
}

/// The messages used by the multiple-readers check: distinct lengths, so a reader
/// that merges or splits them is seen.
fn reader_messages() -> Vec<Vec<u8>> {
    (0..6u8)
        .map(|i| format!("msg{i}:{}", "x".repeat(usize::from(i) * 7 + 1)).into_bytes())
        .collect()
}

/// Multiple readers: two reader processes share the receiving end; K messages each
/// arrive whole at exactly one reader, none lost or duplicated.
pub fn multiple_readers(cx: &mut Ctx, mech: &dyn Mechanism) -> Checked<Observation> {
    let mut ch = mech.create(cx)?;
    let mut tx = ch.open(Role::Sender).step("open sender")?;
    let mut r1 = start(cx, ch.as_mut(), Role::Receiver)?;
    let mut r2 = start(cx, ch.as_mut(), Role::Receiver)?;
    let msgs = reader_messages();
    for m in &msgs {
        tx.send(m).step("send")?;
    }
    // Everything sent must be queued at the shared receiving end before the
    // first turn: what a stream's first receive takes must not depend on when
    // the sender's bytes arrive.
    let answer = r1.call(&Command::Queued {
        lens: msgs.iter().map(Vec::len).collect(),
        ms: bound_ms_u64(),
    })?;
    let queued = match answer {
        Answer::Queued(seen) => seen,
        Answer::Short(seen) => {
            return Ok(Observation::timeout(format!(
                "sent {} messages; not all of them reached the readers: {seen}",
                msgs.len()
            )));
        }
        _ => {
            return Ok(Observation::error(format!(
                "reader 1, asked what is queued, answered {:?}",
                answer.to_string()
            )));
        }
    };
    // The readers take turns, one receive each without waiting, until both find
    // nothing left: both processes demonstrably share the channel, and a message
    // one of them took must not reach the other. (Receiving at the same instant
    // would make a stream's split depend on scheduling; turns keep it exact: a
    // stream's first receive takes everything queued.)
    let mut chunks = Vec::new();
    let mut per_reader = [Vec::new(), Vec::new()];
    let mut idle = [false, false];
    let mut turns = 0;
    while !(idle[0] && idle[1]) && turns < 4 * msgs.len() + 4 {
        let i = turns % 2;
        turns += 1;
        let r = if i == 0 { &mut r1 } else { &mut r2 };
        match r.call(&Command::Recv { max: 65536, ms: 0 })? {
            Answer::Data(got) => {
                per_reader[i].push(got.len());
                chunks.push(got);
                idle = [false, false];
            }
            Answer::Empty | Answer::Eof => idle[i] = true,
            other => {
                return Ok(Observation::error(format!(
                    "reader {} answered {:?}",
                    i + 1,
                    other.to_string()
                )));
            }
        }
    }
    let mut remaining = msgs.clone();
    let mut whole = true;
    for c in &chunks {
        match remaining.iter().position(|m| m == c) {
            Some(i) => {
                remaining.remove(i);
            }
            None => whole = false,
        }
    }
    let evidence = format!(
        "queued {} messages of lengths {:?} ({queued}); two reader processes took turns receiving: reader 1 got chunks of lengths {:?}, reader 2 {:?}; {} message(s) not received whole",
        msgs.len(),
        msgs.iter().map(Vec::len).collect::<Vec<_>>(),
        per_reader[0],
        per_reader[1],
        remaining.len()
    );
    Ok(Observation::holds(whole && remaining.is_empty(), evidence))
}

/// Multiple writers: N concurrent writer processes, M records each: every record
/// arrives whole, not interleaved.
pub fn multiple_writers(cx: &mut Ctx, mech: &dyn Mechanism) -> Checked<Observation> {
    concurrent_writers(cx, mech, 3, 100, 64)
}

/// `writers` peer processes each send `records` tagged records of `size` bytes at
/// once; yes when every record arrives whole, in order per writer, none interleaved.
pub fn concurrent_writers(
    cx: &mut Ctx,
    mech: &dyn Mechanism,
    writers: u8,
    records: u16,
    size: usize,
) -> Checked<Observation> {
    const WRITERS_MAX: usize = 16;
    assert!(usize::from(writers) < WRITERS_MAX && size >= 4);
    let mut ch = mech.create(cx)?;
    let mut rx = ch.open(Role::Receiver).step("open receiver")?;
    let mut peers = Vec::new();
    for _ in 0..writers {
        peers.push(start(cx, ch.as_mut(), Role::Sender)?);
    }
    for (i, w) in peers.iter_mut().enumerate() {
        let writer = u8::try_from(i + 1).expect("fewer than 16 writers");
        w.send_line(
            &Command::Records {
                writer,
                count: records,
                size,
            }
            .to_string(),
        )?;
    }
    let total = usize::from(writers) * usize::from(records) * size;
    let mut stream = Vec::with_capacity(total);
    let mut receives = 0usize;
    let mut buf = vec![0u8; 65536];
    let deadline = std::time::Instant::now() + BOUND * 3;
    while stream.len() < total {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv(&mut buf, left).step("receive")? {
            Some(0) => break,
            Some(n) => {
                receives += 1;
                stream.extend_from_slice(&buf[..n]);
            }
            None => {
                return Ok(Observation::timeout(format!(
                    "received {} of {total} bytes within {:?}",
                    stream.len(),
                    BOUND * 3
                )));
            }
        }
    }
    for (i, w) in peers.iter_mut().enumerate() {
        let answer: Answer = w.answer(BOUND)?;
        if !matches!(answer, Answer::Ok(_)) {
            return Ok(Observation::error(format!(
                "writer {} answered {:?}",
                i + 1,
                answer.to_string()
            )));
        }
    }
    let broken = broken_records(&stream, writers, size);
    let evidence = format!(
        "{writers} writer processes × {records} records of {size} bytes; {} bytes in {receives} receives; {broken} record(s) torn, interleaved or out of order",
        stream.len()
    );
    Ok(Observation::holds(
        broken == 0 && stream.len() == total,
        evidence,
    ))
}

/// Pollable: poll() on the receiving side is not readable when empty and becomes
/// readable after another process sends.
#[cfg(unix)]
pub fn pollable(cx: &mut Ctx, mech: &dyn Mechanism) -> Checked<Observation> {
    use nix::poll::PollFlags;
    let mut ch = mech.create(cx)?;
    let rx = ch.open(Role::Receiver).step("open receiver")?;
    let Some(fd) = rx.poll_fd() else {
        return Ok(Observation::no(
            "the receiving end has no descriptor that poll() could watch",
        ));
    };
    let before = crate::channel::fd::revents_now(fd).step("poll before sending")?;
    let mut tx = start(cx, ch.as_mut(), Role::Sender)?;
    if let Err(answer) = peer_send(&mut tx, b"poll-me")? {
        return Ok(Observation::error(format!("sender peer: {answer}")));
    }
    let after =
        crate::channel::fd::wait(fd, PollFlags::POLLIN, BOUND).step("poll after sending")?;
    let readable_before = before.contains(PollFlags::POLLIN);
    let evidence = format!(
        "poll() revents with nothing sent: {before:?}; after a peer process sent 7 bytes, POLLIN within {BOUND:?}: {after}"
    );
    Ok(Observation::holds(!readable_before && after, evidence))
}

/// Pollable on Windows: WSAPoll, Winsock's poll (matrix/windows.rs).
#[cfg(windows)]
pub use windows::pollable;

#[cfg(not(any(unix, windows)))]
pub fn pollable(_cx: &mut Ctx, _mech: &dyn Mechanism) -> Checked<Observation> {
    Ok(Observation::no_api())
}

/// Zero copy: message passing copies at send time; a store to the sender's buffer
/// after the send does not change what the receiver gets.
pub fn zero_copy(cx: &mut Ctx, mech: &dyn Mechanism) -> Checked<Observation> {
    let mut ch = mech.create(cx)?;
    let mut tx = ch.open(Role::Sender).step("open sender")?;
    let mut rx = ch.open(Role::Receiver).step("open receiver")?;
    let mut buf = *b"original";
    tx.send(&buf).step("send")?;
    buf.copy_from_slice(b"modified");
    let got = recv_one(rx.as_mut(), "receive")?;
    let evidence = format!(
        "sent \"original\", then stored \"modified\" into the sender's buffer; the receiver got {:?}: the data moves through send/receive calls that copy",
        String::from_utf8_lossy(&got)
    );
    Ok(Observation::holds(got == b"modified", evidence))
}

/// Unrelated processes: a freshly started process that inherited nothing joins
/// using only the channel's name.
pub fn unrelated_processes(cx: &mut Ctx, mech: &dyn Mechanism) -> Checked<Observation> {
    let mut ch = mech.create(cx)?;
    let Some(name) = ch.name() else {
        return Ok(Observation::no(ch.nameless_evidence()));
    };
    let mut rx = ch.open(Role::Receiver).step("open receiver")?;
    let peer = cx
        .peer(&["endpoint", mech.id(), "sender", &name])
        .empty_environment();
    // A fresh process that cannot open the channel by its name answers the claim.
    let mut peer = match peer.start_or_refused()? {
        crate::peer::Started::Ready(p) => p,
        crate::peer::Started::Refused { error, .. } => {
            return Ok(Observation::no(format!(
                "a fresh process given only {name:?} could not open it: {error}"
            )));
        }
    };
    if let Err(answer) = peer_send(&mut peer, b"from-unrelated")? {
        return Ok(Observation::no(format!(
            "a fresh process given only {name:?} could not send: {answer}"
        )));
    }
    let got = recv_one(rx.as_mut(), "receive")?;
    Ok(Observation::holds(
        got == b"from-unrelated",
        format!(
            "a fresh process (pid {}, empty environment, no inherited descriptors) opened {name:?} and sent; this process received {:?}",
            peer.pid(),
            String::from_utf8_lossy(&got)
        ),
    ))
}

/// Priority: a later-sent urgent message is received before earlier normal ones.
pub fn priority(cx: &mut Ctx, mech: &dyn Mechanism) -> Checked<Observation> {
    let mut ch = mech.create(cx)?;
    let mut tx = ch.open(Role::Sender).step("open sender")?;
    let mut rx = ch.open(Role::Receiver).step("open receiver")?;
    tx.send(b"normal-1").step("send")?;
    tx.send(b"normal-2").step("send")?;
    if let Err(e) = tx.send_urgent(b"urgent") {
        return Ok(Observation::no(format!(
            "no way to send a message ahead of others: {}",
            describe_io_error(&e)
        )));
    }
    let first = recv_one(rx.as_mut(), "receive")?;
    Ok(Observation::holds(
        first == b"urgent",
        format!(
            "sent normal-1, normal-2, then urgent; the first receive returned {:?}",
            String::from_utf8_lossy(&first)
        ),
    ))
}

/// File-descriptor passing: an open descriptor sent over the channel is usable by
/// the receiving process.
#[cfg(unix)]
pub fn fd_passing(cx: &mut Ctx, mech: &dyn Mechanism) -> Checked<Observation> {
    use std::os::fd::AsFd;
    let mut ch = mech.create(cx)?;
    let mut tx = ch.open(Role::Sender).step("open sender")?;
    let (pr, pw) = crate::sys::pipe().step("pipe() for the descriptor to pass")?;
    let secret = format!("passed-{}", crate::names::random_hex(8));
    nix::unistd::write(&pw, secret.as_bytes()).step("fill the passed pipe")?;
    drop(pw);
    if let Err(e) = tx.send_fd(b"fd", pr.as_fd()) {
        return Ok(Observation::no(format!(
            "sending a descriptor failed: {}",
            describe_io_error(&e)
        )));
    }
    let mut rx = start(cx, ch.as_mut(), Role::Receiver)?;
    let answer = rx.call(&Command::RecvFd { max: 64 })?;
    let evidence = format!(
        "sent a pipe read end holding {secret:?} with SCM_RIGHTS; the receiving process answered {:?}",
        answer.to_string()
    );
    match answer {
        Answer::Fd { content, .. } => {
            Ok(Observation::holds(content == secret.as_bytes(), evidence))
        }
        Answer::NoFd(_) => Ok(Observation::no(evidence)),
        _ => Ok(Observation::error(evidence)),
    }
}

/// Fd passing on Windows: no call carries a handle (matrix/windows.rs).
#[cfg(windows)]
pub use windows::fd_passing;

#[cfg(not(any(unix, windows)))]
pub fn fd_passing(_cx: &mut Ctx, _mech: &dyn Mechanism) -> Checked<Observation> {
    Ok(Observation::no_api())
}

/// Cross-machine capability is structural: it depends on what the address can
/// name, not on anything this host can observe alone.
pub fn cross_machine_structural(can_name_another_host: bool, address: &str) -> Observation {
    Observation::holds(
        can_name_another_host,
        format!("structural (not measured): the address is {address}"),
    )
}

/// The bound peers get for one receive, as a protocol argument.
pub fn bound_ms() -> u128 {
    Duration::as_millis(&BOUND)
}

/// The characteristics-matrix checks of one mechanism, as one rstest test
/// `property` with a case per property (`property::case_1_unrelated_processes`,
/// ...), each observing `"<mechanism>.<property>"` with the generic check of
/// this module on the given [`Mechanism`] value:
///
/// ```ignore
/// mod matrix {
///     ipc_conformance::matrix_properties!("fifo", ipc_conformance::mech::fifo::FifoMechanism);
/// }
/// ```
///
/// `cross_machine` is structural ([`cross_machine_structural`]): with
/// `cross_machine(can_name_another_host, "what the address is")` after the
/// value, or alone after the mechanism's name, the macro adds that test too.
/// The suite needs `rstest` among its dev-dependencies.
#[macro_export]
macro_rules! matrix_properties {
    ($mechanism:literal, $value:expr, cross_machine($can:expr, $address:expr $(,)?)) => {
        $crate::matrix_properties!($mechanism, $value);
        $crate::matrix_properties!($mechanism, cross_machine($can, $address));
    };
    ($mechanism:literal, cross_machine($can:expr, $address:expr $(,)?)) => {
        #[test]
        fn cross_machine() {
            $crate::check!(concat!($mechanism, ".cross_machine"), |_cx| {
                Ok($crate::matrix::cross_machine_structural($can, $address))
            });
        }
    };
    ($mechanism:literal, $value:expr) => {
        #[::rstest::rstest]
        #[case::unrelated_processes(concat!($mechanism, ".unrelated_processes"), $crate::matrix::unrelated_processes)]
        #[case::message_boundaries(concat!($mechanism, ".message_boundaries"), $crate::matrix::message_boundaries)]
        #[case::bidirectional(concat!($mechanism, ".bidirectional"), $crate::matrix::bidirectional)]
        #[case::multiple_readers(concat!($mechanism, ".multiple_readers"), $crate::matrix::multiple_readers)]
        #[case::multiple_writers(concat!($mechanism, ".multiple_writers"), $crate::matrix::multiple_writers)]
        #[case::fd_passing(concat!($mechanism, ".fd_passing"), $crate::matrix::fd_passing)]
        #[case::priority(concat!($mechanism, ".priority"), $crate::matrix::priority)]
        #[case::pollable(concat!($mechanism, ".pollable"), $crate::matrix::pollable)]
        #[case::zero_copy(concat!($mechanism, ".zero_copy"), $crate::matrix::zero_copy)]
        fn property(
            #[case] claim: &str,
            #[case] observe: fn(
                &mut $crate::check::Ctx,
                &dyn $crate::channel::Mechanism,
            ) -> $crate::Checked<$crate::Observation>,
        ) {
            $crate::check!(claim, |cx| observe(cx, &$value));
        }
    };
}
