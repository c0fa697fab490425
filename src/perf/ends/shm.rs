//! The shared-memory ends: single-slot mailboxes (spin, futex, condition
//! variable) and a single-producer single-consumer ring, in POSIX shared memory.

use std::io;
use std::rc::Rc;
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use nix::errno::Errno;

use super::{End, buffers};
use crate::perf::sys;
use crate::sys::futex;
use crate::sys::shared::{PCond, PMutex, PTHREAD_SLOT, Region};

/// A POSIX shared memory object of `len` bytes (`/ipcconf-...`, mode 0600, made
/// by `crate::mech::posix_shm`), mapped, and unlinked as soon as it is mapped:
/// the mapping keeps it alive for this process and the children it forks.
pub fn shm_region(len: usize) -> io::Result<Region> {
    cfg_if::cfg_if! {
        if #[cfg(target_os = "android")] {
            let _ = len;
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("no shm_open API on {}", crate::platform::TARGET),
            ))
        } else {
            use crate::mech::posix_shm::{Unlink, create_fd};
            let name = crate::names::unique_slash();
            // Removed even if what follows fails (or panics).
            let _unlink = Unlink::new(&name);
            Region::of_fd(create_fd(&name, len)?, len)
        }
    }
}

/// Spins before a spin wait starts yielding: long enough (a fraction of a
/// millisecond) that two processes on different CPUs never yield (a yield
/// on a busy machine gives the CPU to another program for a whole time slice),
/// short enough that partners sharing one CPU still make progress.
pub const SPINS_BEFORE_YIELD: u32 = 1 << 14;

/// Spins on `ready`, then gives the CPU away after a while (so that a partner
/// sharing this CPU can run); the watchdog bounds the whole wait.
#[inline(always)]
pub fn spin_until(mut ready: impl FnMut() -> bool) {
    let mut n = 0u32;
    while !ready() {
        if n < SPINS_BEFORE_YIELD {
            n += 1;
            std::hint::spin_loop();
        } else {
            sys::yield_cpu();
        }
    }
}

/// The shared memory of a pair of mailbox ends: one side per process, each
/// written by that process only. A side's first cache line holds what it
/// sends (its count of messages sent, the length, a small message itself)
/// and its count of the messages it has taken from the other side; so a
/// one-byte message, and the news that the previous one was taken, cross
/// between the CPUs as one cache line, which the receiver had to fetch
/// anyway. Then the side's process-shared mutex and condition variable (the
/// condvar variant), then room for larger messages.
mod mb {
    pub use super::line::{LEN, data};

    /// Messages this side has sent (a 32-bit futex word).
    pub const SENT: usize = 0;
    /// Messages this side has taken from the other side (a futex word).
    pub const TAKEN: usize = 4;
    // Each side's first line sits 128 bytes from anything the other writes:
    // x86 L2 prefetchers fetch cache lines in aligned pairs.
    pub const MUTEX: usize = 128;
    pub const COND: usize = MUTEX + super::PTHREAD_SLOT;
    pub const DATA: usize = COND + super::PTHREAD_SLOT;

    /// A multiple of 128, so that the other side starts on a fresh pair of lines.
    pub fn size(cap: usize) -> usize {
        DATA + cap.div_ceil(128) * 128
    }
}

/// The first cache line of a mailbox side or a ring slot: its first 8 bytes
/// are the publishing word(s), then the length, then a small message.
mod line {
    pub const LEN: usize = 8;
    /// A message of up to [`INLINE`] bytes, in the same cache line.
    pub const SMALL: usize = 16;
    pub const INLINE: usize = 48;

    /// Where a message of `len` bytes lies: in the line, or from `large` on.
    pub fn data(len: usize, large: usize) -> usize {
        if len <= INLINE { SMALL } else { large }
    }
}

/// One process's end of two mailboxes (one each way) in one POSIX shared
/// memory region: it writes only its own side (`mine`) and reads the
/// other's (`theirs`).
pub struct MailboxEnd<const W: u8> {
    region: Rc<Region>,
    mine: usize,
    theirs: usize,
    sent: u32,
    got: u32,
    cap: usize,
    /// The mutex and condition variable of the messages this end sends, and
    /// of those it receives (the condvar variant).
    out_sync: Option<(PMutex, PCond)>,
    in_sync: Option<(PMutex, PCond)>,
    txb: Vec<u8>,
    rxb: Vec<u8>,
}

/// Mailbox waits: spin on the shared counter (the guide's "shared memory +
/// spinlock").
pub const SPIN: u8 = 0;
/// Mailbox waits: sleep in the kernel on the shared counter (futex, _umtx_op).
pub const FUTEX: u8 = 1;
/// Mailbox waits: process-shared mutex and condition variable (the guide's
/// corrected example).
pub const CONDVAR: u8 = 2;

impl<const W: u8> MailboxEnd<W> {
    fn word(&self, side: usize, at: usize) -> &AtomicU32 {
        self.region.u32_at(side + at)
    }

    /// Spin or futex: waits until `ready` holds of `word`'s value.
    #[inline(always)]
    fn wait(word: &AtomicU32, ready: impl Fn(u32) -> bool) -> Result<(), Errno> {
        if W == SPIN {
            spin_until(|| ready(word.load(Acquire)));
            return Ok(());
        }
        loop {
            let v = word.load(Acquire);
            if ready(v) {
                return Ok(());
            }
            futex::wait(word, v, crate::watchdog::BOUND)?;
        }
    }

    /// Puts `tx()[off..off + len]` in this end's side (the other side has
    /// taken the previous message) and publishes it with `order`.
    #[inline(always)]
    fn put(&mut self, off: usize, len: usize, order: std::sync::atomic::Ordering) {
        let r = &*self.region;
        r.write(
            self.mine + mb::data(len, mb::DATA),
            &self.txb[off..off + len],
        );
        r.u64_at(self.mine + mb::LEN).store(len as u64, Relaxed);
        self.sent = self.sent.wrapping_add(1);
        r.u32_at(self.mine + mb::SENT).store(self.sent, order);
    }

    /// Takes the other side's message (there is one, waited for) and says so
    /// with `order`.
    #[inline(always)]
    fn take(&mut self, order: std::sync::atomic::Ordering) -> usize {
        let r = &*self.region;
        let len = r.u64_at(self.theirs + mb::LEN).load(Relaxed) as usize;
        r.read(self.theirs + mb::data(len, mb::DATA), &mut self.rxb[..len]);
        self.got = self.got.wrapping_add(1);
        r.u32_at(self.mine + mb::TAKEN).store(self.got, order);
        len
    }
}

impl<const W: u8> End for MailboxEnd<W> {
    buffers!();

    #[inline(always)]
    fn send(&mut self, off: usize, len: usize) -> Result<usize, Errno> {
        if len > self.cap {
            return Err(Errno::EMSGSIZE);
        }
        let sent = self.sent;
        if let Some((m, c)) = self.out_sync {
            m.lock();
            while self.word(self.theirs, mb::TAKEN).load(Relaxed) != sent {
                c.wait(m);
            }
            self.put(off, len, Relaxed);
            c.signal();
            m.unlock();
            return Ok(len);
        }
        Self::wait(self.word(self.theirs, mb::TAKEN), |v| v == sent)?;
        self.put(off, len, Release);
        if W == FUTEX {
            futex::wake(self.word(self.mine, mb::SENT));
        }
        Ok(len)
    }

    #[inline(always)]
    fn recv(&mut self) -> Result<usize, Errno> {
        let got = self.got;
        if let Some((m, c)) = self.in_sync {
            m.lock();
            while self.word(self.theirs, mb::SENT).load(Relaxed) == got {
                c.wait(m);
            }
            let len = self.take(Relaxed);
            c.signal();
            m.unlock();
            return Ok(len);
        }
        Self::wait(self.word(self.theirs, mb::SENT), |v| v != got)?;
        let len = self.take(Release);
        if W == FUTEX {
            futex::wake(self.word(self.mine, mb::TAKEN));
        }
        Ok(len)
    }
}

/// Two mailboxes of `cap` bytes in a fresh POSIX shm region.
pub fn mailbox_pair<const W: u8>(cap: usize) -> io::Result<(MailboxEnd<W>, MailboxEnd<W>)> {
    let one = mb::size(cap);
    let region = Rc::new(shm_region(2 * one)?);
    let (a, b) = (0, one);
    let (sa, sb) = if W == CONDVAR {
        let sync = |base: usize| -> io::Result<(PMutex, PCond)> {
            Ok((
                PMutex::init(&region, base + mb::MUTEX)?,
                PCond::init(&region, base + mb::COND)?,
            ))
        };
        (Some(sync(a)?), Some(sync(b)?))
    } else {
        (None, None)
    };
    let mk = |out, inn, out_sync, in_sync| {
        let (txb, rxb) = buffers(cap);
        MailboxEnd {
            region: region.clone(),
            mine: out,
            theirs: inn,
            sent: 0,
            got: 0,
            cap,
            out_sync,
            in_sync,
            txb,
            rxb,
        }
    };
    Ok((mk(a, b, sa, sb), mk(b, a, sb, sa)))
}

/// A single-producer single-consumer ring of `N` slots in shared memory, no
/// locks, spin waits. Each slot's first cache line carries the message's
/// number (its publication), its length and a small message itself; larger
/// messages follow in the slot. The consumer's count of messages taken sits on
/// its own pair of cache lines, which the producer reads only when its last
/// reading says the ring is full. So a one-byte message crosses between the
/// CPUs as one cache line.
pub struct RingEnd {
    region: Rc<Region>,
    out: usize,
    inn: usize,
    head: u64,
    /// The consumer's count as this producer last read it.
    seen_tail: u64,
    tail: u64,
    cap: usize,
    txb: Vec<u8>,
    rxb: Vec<u8>,
}

mod ring {
    pub use super::line::{LEN, data};

    /// The consumer's count of messages taken (written by the consumer only).
    pub const TAIL: usize = 0;
    pub const SLOTS: usize = 128;
    /// Slots per ring.
    pub const N: u64 = 16;
    /// In a slot's first line: the message's number + 1 once published.
    pub const SEQ: usize = 0;
    /// Larger messages, after the first pair of cache lines.
    pub const DATA: usize = 128;

    /// A multiple of 128 (see `mb`).
    pub fn stride(cap: usize) -> usize {
        DATA + cap.div_ceil(128) * 128
    }

    pub fn size(cap: usize) -> usize {
        SLOTS + N as usize * stride(cap)
    }
}

pub use ring::N as RING_SLOTS;

impl RingEnd {
    fn slot(&self, base: usize, i: u64) -> usize {
        base + ring::SLOTS + (i % ring::N) as usize * ring::stride(self.cap)
    }
}

impl End for RingEnd {
    buffers!();

    #[inline(always)]
    fn send(&mut self, off: usize, len: usize) -> Result<usize, Errno> {
        if len > self.cap {
            return Err(Errno::EMSGSIZE);
        }
        let r = &*self.region;
        let h = self.head;
        if h - self.seen_tail >= ring::N {
            let tail = r.u64_at(self.out + ring::TAIL);
            spin_until(|| h - tail.load(Acquire) < ring::N);
            self.seen_tail = tail.load(Acquire);
        }
        let slot = self.slot(self.out, h);
        r.write(
            slot + ring::data(len, ring::DATA),
            &self.txb[off..off + len],
        );
        r.u64_at(slot + ring::LEN).store(len as u64, Relaxed);
        self.head = h + 1;
        r.u64_at(slot + ring::SEQ).store(self.head, Release);
        Ok(len)
    }

    #[inline(always)]
    fn recv(&mut self) -> Result<usize, Errno> {
        let r = &*self.region;
        let t = self.tail;
        let slot = self.slot(self.inn, t);
        let seq = r.u64_at(slot + ring::SEQ);
        spin_until(|| seq.load(Acquire) == t + 1);
        let len = r.u64_at(slot + ring::LEN).load(Relaxed) as usize;
        r.read(slot + ring::data(len, ring::DATA), &mut self.rxb[..len]);
        self.tail = t + 1;
        r.u64_at(self.inn + ring::TAIL).store(self.tail, Release);
        Ok(len)
    }
}

/// Two rings (one each way) of `cap`-byte slots in a fresh POSIX shm region.
pub fn ring_pair(cap: usize) -> io::Result<(RingEnd, RingEnd)> {
    let one = ring::size(cap);
    let region = Rc::new(shm_region(2 * one)?);
    let mk = |out, inn| {
        let (txb, rxb) = buffers(cap);
        RingEnd {
            region: region.clone(),
            out,
            inn,
            head: 0,
            seen_tail: 0,
            tail: 0,
            cap,
            txb,
            rxb,
        }
    };
    Ok((mk(0, one), mk(one, 0)))
}
