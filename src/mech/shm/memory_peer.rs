//! The memory peer (see the folder's module doc): the peer side that serves
//! the memory protocol over a mapping, and the controller's calls to it and
//! helpers to read its answers.

use std::io::{self, BufRead};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::{Append, Follow, Mapping, MemAnswer, MemCommand, say, yield_until};
use crate::peer::wire::{WireLine, head_of, messages};

messages! {
    /// The own commands of a memory peer role that has none.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum NoCommands: "a role command" {}
}

/// A line a memory peer reads: a command of the memory protocol or one of
/// its role's own (`R`, declared with `messages!`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<R> {
    Memory(MemCommand),
    Role(R),
}

/// A role's own handling of a request: `Some(answer)` when it answers it
/// itself (every one of its own commands; a memory command it refuses),
/// `None` to let the memory protocol answer.
pub type Extra<'e, R> = dyn FnMut(&Request<R>) -> Option<Result<String, String>> + 'e;

/// Serves the memory protocol (module doc) over `map` until `quit` or the end
/// of input, with the role's own commands `R`; `extra` sees every request
/// first. A line that is neither is answered `err 0 <why>`.
pub fn serve_memory<R: WireLine>(map: &Mapping, extra: &mut Extra<'_, R>) -> Result<(), String> {
    say(&format!("ready {}", std::process::id()))?;
    let stdin = io::stdin();
    for line in stdin.lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        let request = match head_of(&line) {
            Some(head) if R::HEADS.contains(&head) => R::from_line(&line).map(Request::Role),
            _ => MemCommand::from_line(&line).map(Request::Memory),
        };
        let answer = match request {
            Ok(Request::Memory(MemCommand::Quit)) => return Ok(()),
            Ok(request) => match (extra(&request), request) {
                (Some(a), _) => a?,
                (None, Request::Memory(c)) => memory_command(map, c)?.to_string(),
                (None, Request::Role(_)) => {
                    MemAnswer::refused(format!("{line:?} is not served by this role")).to_string()
                }
            },
            Err(e) => MemAnswer::refused(e.to_string()).to_string(),
        };
        say(&answer)?;
    }
    Ok(())
}

fn in_bounds(map: &Mapping, off: usize, len: usize) -> Result<(), String> {
    if off.checked_add(len).is_some_and(|e| e <= map.len()) {
        Ok(())
    } else {
        Err(format!(
            "[{off}, +{len}) is outside the {}-byte mapping",
            map.len()
        ))
    }
}

fn aligned(map: &Mapping, off: usize) -> Result<&AtomicU32, String> {
    in_bounds(map, off, 4)?;
    if off % 4 != 0 {
        return Err(format!("offset {off} is not 4-aligned"));
    }
    Ok(map.atomic(off))
}

/// Carries out one command; `Err` (a command outside the mapping) ends the
/// peer.
fn memory_command(map: &Mapping, command: MemCommand) -> Result<MemAnswer, String> {
    Ok(match command {
        MemCommand::Read { off, len } => {
            in_bounds(map, off, len)?;
            MemAnswer::Data(map.read(off, len))
        }
        MemCommand::Write { off, data } => {
            in_bounds(map, off, data.len())?;
            map.write(off, &data);
            MemAnswer::Ok(vec![data.len() as u64])
        }
        MemCommand::Store { off, value } => {
            aligned(map, off)?.store(value, Ordering::Release);
            MemAnswer::Ok(Vec::new())
        }
        MemCommand::Load { off } => MemAnswer::Value(aligned(map, off)?.load(Ordering::Acquire)),
        MemCommand::Publish {
            data_off,
            data,
            flag_off,
            value,
        } => {
            in_bounds(map, data_off, data.len())?;
            let flag = aligned(map, flag_off)?;
            // Plain stores, then the flag: no system call in between.
            map.write(data_off, &data);
            flag.store(value, Ordering::Release);
            MemAnswer::Ok(Vec::new())
        }
        MemCommand::Append(a) => append(map, &a)?,
        MemCommand::Follow(w) => follow(map, &w)?,
        MemCommand::FdProbe { off } => fd_probe(map, off)?,
        MemCommand::Sync => match map.sync() {
            Ok(()) => MemAnswer::Ok(Vec::new()),
            Err(e) => MemAnswer::io_error(&e),
        },
        MemCommand::Quit => unreachable!("serve_memory returns on quit"),
    })
}

/// `append`: waits for the start flag, then writes records into reserved slots.
fn append(map: &Mapping, a: &Append) -> Result<MemAnswer, String> {
    let index = aligned(map, a.index_off)?;
    let (slots, size) = (a.slots, a.size);
    in_bounds(map, a.slots_off, slots.checked_mul(size).ok_or("overflow")?)?;
    let arrive = aligned(map, a.arrive_off)?;
    let start = aligned(map, a.start_off)?;
    arrive.fetch_add(1, Ordering::AcqRel);
    if let Err(v) = yield_until(start, |v| v != 0, Duration::from_millis(a.ms)) {
        return Ok(MemAnswer::Timeout(format!("start flag still {v}")));
    }
    for seq in 0..a.count {
        let slot = index.fetch_add(1, Ordering::AcqRel) as usize;
        if slot >= slots {
            return Ok(MemAnswer::refused(format!(
                "slot {slot} beyond the {slots} slots"
            )));
        }
        map.write(
            a.slots_off + slot * size,
            &crate::channel::record(a.writer, seq, size),
        );
    }
    Ok(MemAnswer::Ok(vec![u64::from(a.count)]))
}

/// `follow`: watches the sequence number and checks each record it publishes.
fn follow(map: &Mapping, w: &Follow) -> Result<MemAnswer, String> {
    let (count, size) = (w.count, w.size);
    let seq = aligned(map, w.seq_off)?;
    in_bounds(map, w.slots_off, count as usize * size)?;
    let arrive = aligned(map, w.arrive_off)?;
    let ack = aligned(map, w.ack_off)?;
    let deadline = Instant::now() + Duration::from_millis(w.ms);
    arrive.fetch_add(1, Ordering::AcqRel);
    let (mut seen, mut whole, mut torn, mut observations) = (0u32, 0u64, 0u64, 0u64);
    while seen < count {
        let published = match yield_until(
            seq,
            |v| v > seen,
            deadline.saturating_duration_since(Instant::now()),
        ) {
            Ok(v) => v.min(count),
            Err(v) => {
                return Ok(MemAnswer::Timeout(format!(
                    "{seen} of {count} records seen, sequence {v}"
                )));
            }
        };
        observations += 1;
        for i in seen..published {
            let got = map.read(w.slots_off + i as usize * size, size);
            if got == crate::channel::record(0, i as u16, size) {
                whole += 1;
            } else {
                torn += 1;
            }
        }
        seen = published;
        ack.store(seen, Ordering::Release);
    }
    Ok(MemAnswer::Ok(vec![whole, torn, observations]))
}

/// `fdprobe <off>`: fstat()s the descriptor number stored at `off` here and
/// compares with the writer's device and inode.
#[cfg(unix)]
fn fd_probe(map: &Mapping, off: usize) -> Result<MemAnswer, String> {
    let fd = aligned(map, off)?.load(Ordering::Acquire);
    in_bounds(map, off + 8, 16)?;
    let b = map.read(off + 8, 16);
    let dev = u64::from_ne_bytes(b[..8].try_into().expect("8 bytes"));
    let ino = u64::from_ne_bytes(b[8..].try_into().expect("8 bytes"));
    // SAFETY: fstat on a bare number: only inspects whatever that
    // number names in this process (if anything), never closes it.
    let fd_b = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd as i32) };
    Ok(match nix::sys::stat::fstat(fd_b) {
        Ok(st) if wide_id(st.st_dev) == dev && wide_id(st.st_ino) == ino => MemAnswer::Same(fd),
        Ok(st) => MemAnswer::Different {
            fd,
            dev: wide_id(st.st_dev),
            ino: wide_id(st.st_ino),
        },
        Err(e) => MemAnswer::io_error(&e.into()),
    })
}

/// Descriptors are not numbers that name files on this platform.
#[cfg(not(unix))]
fn fd_probe(_: &Mapping, off: usize) -> Result<MemAnswer, String> {
    Ok(MemAnswer::refused(format!(
        "unknown command \"fdprobe {off}\""
    )))
}

/// st_dev and st_ino widened to u64 (their types differ per target: i32 or
/// u64 device numbers, u64 inodes).
#[cfg(unix)]
fn wide_id<T: Into<i128>>(x: T) -> u64 {
    x.into() as u64
}

/// The bytes of a peer's `data <hex>` answer; anything else ends the check
/// with an error naming the request.
pub fn data_of(answer: &str, what: &str) -> crate::observe::Checked<Vec<u8>> {
    match MemAnswer::from_line(answer) {
        Ok(MemAnswer::Data(d)) => Ok(d),
        _ => Err(unexpected(answer, what)),
    }
}

/// Ends the check with an error unless the peer answered `ok [<n>...]` (the
/// roles' own commands answer success the same way).
pub fn ok_of(answer: &str, what: &str) -> crate::observe::Checked<()> {
    match MemAnswer::from_line(answer) {
        Ok(MemAnswer::Ok(_)) => Ok(()),
        _ => Err(unexpected(answer, what)),
    }
}

/// One command of the memory protocol to `peer` and its answer (bounded).
pub fn mem_call(
    peer: &mut crate::peer::Peer,
    command: &MemCommand,
) -> Result<MemAnswer, crate::peer::PeerError> {
    peer.exchange(command, crate::watchdog::BOUND)
}

/// `read <off> <len>`: the bytes the peer loaded; any other answer ends the
/// check with an error.
pub fn peer_read(
    peer: &mut crate::peer::Peer,
    off: usize,
    len: usize,
) -> crate::observe::Checked<Vec<u8>> {
    data_in(mem_call(peer, &MemCommand::Read { off, len })?, "read")
}

/// The bytes of a `data <hex>` answer; any other answer ends the check with
/// an error naming `what`.
pub fn data_in(answer: MemAnswer, what: &str) -> crate::observe::Checked<Vec<u8>> {
    match answer {
        MemAnswer::Data(d) => Ok(d),
        other => Err(unexpected(&other.to_string(), what)),
    }
}

/// `write <off> <hex>`: ends the check with an error unless the peer stored
/// the bytes.
pub fn peer_write(
    peer: &mut crate::peer::Peer,
    off: usize,
    data: &[u8],
) -> crate::observe::Checked<()> {
    let data = data.to_vec();
    counts(mem_call(peer, &MemCommand::Write { off, data })?, "write").map(drop)
}

/// The numbers of an `ok [<n>...]` answer; any other answer ends the check
/// with an error naming `what`.
pub fn counts(answer: MemAnswer, what: &str) -> crate::observe::Checked<Vec<u64>> {
    match answer {
        MemAnswer::Ok(n) => Ok(n),
        other => Err(unexpected(&other.to_string(), what)),
    }
}

fn unexpected(answer: &str, what: &str) -> crate::observe::Observation {
    crate::observe::Observation::error(format!("{what}: the peer answered {answer:?}"))
}

/// Fresh random printable bytes (a pattern no earlier run left behind).
pub fn pattern(len: usize) -> Vec<u8> {
    crate::names::random_hex(len).into_bytes()
}

/// The descriptor number, device and inode the `fdprobe` command reads, as
/// stored at `off` of `map` (u32 number, then u64 device and inode at +8).
#[cfg(unix)]
pub fn store_fd_identity(
    map: &Mapping,
    off: usize,
    fd: std::os::fd::BorrowedFd<'_>,
) -> io::Result<(u32, u64, u64)> {
    use std::os::fd::AsRawFd;
    let st = nix::sys::stat::fstat(fd)?;
    let (n, dev, ino) = (
        fd.as_raw_fd() as u32,
        wide_id(st.st_dev),
        wide_id(st.st_ino),
    );
    map.write(off + 8, &dev.to_ne_bytes());
    map.write(off + 16, &ino.to_ne_bytes());
    map.atomic(off).store(n, Ordering::Release);
    Ok((n, dev, ino))
}
