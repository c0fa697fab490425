//! The memory peer protocol (see the folder's module doc): the peer side that
//! serves it over a mapping, and the controller's helpers to read its answers.

use std::io::{self, BufRead};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::{Mapping, err_line, say, yield_until};
use crate::peer::{hex, unhex};

pub(super) fn num<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("bad number {s:?}"))
}

/// A role's own commands: `Some(answer)` when it handled the words.
pub type Extra<'e> = dyn FnMut(&[&str]) -> Option<Result<String, String>> + 'e;

/// Serves the memory protocol (module doc) over `map` until `quit` or the end
/// of input; `extra` handles the role's own commands first.
pub fn serve_memory(map: &Mapping, extra: &mut Extra<'_>) -> Result<(), String> {
    say(&format!("ready {}", std::process::id()))?;
    let stdin = io::stdin();
    for line in stdin.lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.as_slice() == ["quit"] {
            return Ok(());
        }
        let answer = match extra(&words) {
            Some(a) => a?,
            None => memory_command(map, &words)?,
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

fn memory_command(map: &Mapping, words: &[&str]) -> Result<String, String> {
    Ok(match words {
        ["read", off, len] => {
            let (off, len) = (num(off)?, num(len)?);
            in_bounds(map, off, len)?;
            format!("data {}", hex(&map.read(off, len)))
        }
        ["write", off, h] => {
            let off = num(off)?;
            let data = unhex(h).ok_or("bad hex")?;
            in_bounds(map, off, data.len())?;
            map.write(off, &data);
            format!("ok {}", data.len())
        }
        ["store", off, v] => {
            aligned(map, num(off)?)?.store(num(v)?, Ordering::Release);
            "ok".to_owned()
        }
        ["load", off] => format!("value {}", aligned(map, num(off)?)?.load(Ordering::Acquire)),
        ["publish", data_off, h, flag_off, v] => {
            let data_off = num(data_off)?;
            let data = unhex(h).ok_or("bad hex")?;
            in_bounds(map, data_off, data.len())?;
            let flag = aligned(map, num(flag_off)?)?;
            let v = num(v)?;
            // Plain stores, then the flag: no system call in between.
            map.write(data_off, &data);
            flag.store(v, Ordering::Release);
            "ok".to_owned()
        }
        [
            "append",
            index_off,
            slots_off,
            slots,
            writer,
            count,
            size,
            arrive_off,
            start_off,
            ms,
        ] => {
            let index = aligned(map, num(index_off)?)?;
            let (slots_off, slots): (usize, usize) = (num(slots_off)?, num(slots)?);
            let (writer, count, size): (u8, u16, usize) = (num(writer)?, num(count)?, num(size)?);
            in_bounds(map, slots_off, slots.checked_mul(size).ok_or("overflow")?)?;
            let arrive = aligned(map, num(arrive_off)?)?;
            let start = aligned(map, num(start_off)?)?;
            arrive.fetch_add(1, Ordering::AcqRel);
            if let Err(v) = yield_until(start, |v| v != 0, Duration::from_millis(num(ms)?)) {
                return Ok(format!("timeout start flag still {v}"));
            }
            for seq in 0..count {
                let slot = index.fetch_add(1, Ordering::AcqRel) as usize;
                if slot >= slots {
                    return Ok(format!("err 0 slot {slot} beyond the {slots} slots"));
                }
                map.write(
                    slots_off + slot * size,
                    &crate::channel::record(writer, seq, size),
                );
            }
            format!("ok {count}")
        }
        [
            "follow",
            seq_off,
            slots_off,
            count,
            size,
            arrive_off,
            ack_off,
            ms,
        ] => {
            let seq = aligned(map, num(seq_off)?)?;
            let (slots_off, count, size): (usize, u32, usize) =
                (num(slots_off)?, num(count)?, num(size)?);
            in_bounds(map, slots_off, count as usize * size)?;
            let arrive = aligned(map, num(arrive_off)?)?;
            let ack = aligned(map, num(ack_off)?)?;
            let deadline = Instant::now() + Duration::from_millis(num(ms)?);
            arrive.fetch_add(1, Ordering::AcqRel);
            let (mut seen, mut whole, mut torn, mut observations) = (0u32, 0u32, 0u32, 0u32);
            while seen < count {
                let published = match yield_until(
                    seq,
                    |v| v > seen,
                    deadline.saturating_duration_since(Instant::now()),
                ) {
                    Ok(v) => v.min(count),
                    Err(v) => {
                        return Ok(format!(
                            "timeout {seen} of {count} records seen, sequence {v}"
                        ));
                    }
                };
                observations += 1;
                for i in seen..published {
                    let got = map.read(slots_off + i as usize * size, size);
                    if got == crate::channel::record(0, i as u16, size) {
                        whole += 1;
                    } else {
                        torn += 1;
                    }
                }
                seen = published;
                ack.store(seen, Ordering::Release);
            }
            format!("ok {whole} {torn} {observations}")
        }
        #[cfg(unix)]
        ["fdprobe", off] => {
            let off: usize = num(off)?;
            let fd = aligned(map, off)?.load(Ordering::Acquire);
            in_bounds(map, off + 8, 16)?;
            let b = map.read(off + 8, 16);
            let dev = u64::from_ne_bytes(b[..8].try_into().expect("8 bytes"));
            let ino = u64::from_ne_bytes(b[8..].try_into().expect("8 bytes"));
            // SAFETY: fstat on a bare number: only inspects whatever that
            // number names in this process (if anything), never closes it.
            let fd_b = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd as i32) };
            match nix::sys::stat::fstat(fd_b) {
                Ok(st) if wide_id(st.st_dev) == dev && wide_id(st.st_ino) == ino => {
                    format!("same {fd}")
                }
                Ok(st) => format!(
                    "different {fd} {} {}",
                    wide_id(st.st_dev),
                    wide_id(st.st_ino)
                ),
                Err(e) => err_line(&e.into()),
            }
        }
        ["sync"] => match map.sync() {
            Ok(()) => "ok".to_owned(),
            Err(e) => err_line(&e),
        },
        _ => format!("err 0 unknown command {:?}", words.join(" ")),
    })
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
    answer.strip_prefix("data ").and_then(unhex).ok_or_else(|| {
        crate::observe::Observation::error(format!("{what}: the peer answered {answer:?}"))
    })
}

/// Ends the check with an error unless the peer answered `ok...`.
pub fn ok_of(answer: &str, what: &str) -> crate::observe::Checked<()> {
    if answer == "ok" || answer.starts_with("ok ") {
        Ok(())
    } else {
        Err(crate::observe::Observation::error(format!(
            "{what}: the peer answered {answer:?}"
        )))
    }
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
