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

/// The shared memory of a pair of mailbox ends. Its first cache line holds
/// both sides' heads, one half each; a side's head, written by that side's
/// process only, holds its count of messages sent, its count of the other
/// side's messages taken, the length and a message of up to [`line::INLINE`]
/// bytes. So a one-byte message and its reply cross between the CPUs in the
/// same cache line, as the floor's counts do (`perf::latency::floor`): with
/// each side's head on a line of its own, a round trip moves two lines, which
/// costs about twice the floor. After the heads, each side's body: its
/// process-shared mutex and condition variable (the condvar variant), then
/// room for larger messages.
mod mb {
    pub use super::line::{LEN, data};

    /// Futex and condvar variants: messages this side has sent (a 32-bit
    /// futex word), in its head.
    pub const SENT: usize = 0;
    /// Messages this side has taken from the other side (a futex word).
    pub const TAKEN: usize = 4;
    /// Spin variant: both counts in one 64-bit word (sent in the low half,
    /// taken in the high half), so that one store publishes a message and
    /// the news that the previous one was taken. Storing them one after the
    /// other lets the other side's spinning read take the line away between
    /// the two stores, and the second store must fetch it back: a round trip
    /// then moves the line twice as often as it needs to.
    pub const COUNTS: usize = 0;

    /// The spin variant's word of `sent` and `taken`.
    pub fn counts(sent: u32, taken: u32) -> u64 {
        u64::from(sent) | (u64::from(taken) << 32)
    }
    // The bodies start 128 bytes from the heads' line: x86 L2 prefetchers
    // fetch cache lines in aligned pairs.
    pub const BODIES: usize = 128;
    pub const MUTEX: usize = 0;
    pub const COND: usize = MUTEX + super::PTHREAD_SLOT;
    pub const DATA: usize = COND + super::PTHREAD_SLOT;

    /// A side's body, a multiple of 128 bytes, so that the other side's
    /// starts on a fresh pair of lines.
    pub fn body(cap: usize) -> usize {
        DATA + cap.div_ceil(128) * 128
    }
}

/// A head in a shared cache line (a mailbox side's, or a ring slot's): its
/// first 8 bytes are the publishing word(s), then the length, then a small
/// message. Two heads share a line, one for each direction.
mod line {
    /// A head: half a 64-byte cache line.
    pub const HEAD: usize = 32;
    pub const LEN: usize = 8;
    /// A message of up to [`INLINE`] bytes, in the head.
    pub const SMALL: usize = 16;
    pub const INLINE: usize = HEAD - SMALL;

    /// Where a message of `len` bytes lies: in the head at `head`, or at
    /// `large` (in the body).
    pub fn data(len: usize, head: usize, large: usize) -> usize {
        if len <= INLINE { head + SMALL } else { large }
    }
}

/// One process's end of two mailboxes (one each way) in one POSIX shared
/// memory region: it writes only its own side (`mine`) and reads the
/// other's (`theirs`).
pub struct MailboxEnd<const W: u8> {
    region: Rc<Region>,
    /// This end's head and the other's, in the shared first line.
    mine: usize,
    theirs: usize,
    /// This end's body and the other's.
    mine_body: usize,
    theirs_body: usize,
    sent: u32,
    got: u32,
    /// Spin variant: a message was taken and the other side not yet told
    /// (it is told with this end's next message, or before it next waits for
    /// one).
    taken_untold: bool,
    /// The length in this end's head (0 until the first message).
    put_len: usize,
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
    fn word(&self, head: usize, at: usize) -> &AtomicU32 {
        self.region.u32_at(head + at)
    }

    /// Futex variant: waits until `ready` holds of `word`'s value.
    #[inline(always)]
    fn wait(word: &AtomicU32, ready: impl Fn(u32) -> bool) -> Result<(), Errno> {
        loop {
            let v = word.load(Acquire);
            if ready(v) {
                return Ok(());
            }
            futex::wait(word, v, crate::watchdog::BOUND)?;
        }
    }

    /// Puts `tx()[off..off + len]` in this end's side (the other side has
    /// taken the previous message) and publishes it with `order` (the spin
    /// variant with the count of messages taken, in one store).
    #[inline(always)]
    fn put(&mut self, off: usize, len: usize, order: std::sync::atomic::Ordering) {
        let r = &*self.region;
        r.write(
            mb::data(len, self.mine, self.mine_body + mb::DATA),
            &self.txb[off..off + len],
        );
        // The length is stored only when it changes: every store to the
        // shared line is a chance for the other side's spinning read to take
        // the line away before the publishing store.
        if len != self.put_len {
            r.u64_at(self.mine + mb::LEN).store(len as u64, Relaxed);
            self.put_len = len;
        }
        self.sent = self.sent.wrapping_add(1);
        if W == SPIN {
            self.publish_counts();
        } else {
            r.u32_at(self.mine + mb::SENT).store(self.sent, order);
        }
    }

    /// Spin variant: publishes both counts (a release store).
    #[inline(always)]
    fn publish_counts(&mut self) {
        self.region
            .u64_at(self.mine + mb::COUNTS)
            .store(mb::counts(self.sent, self.got), Release);
        self.taken_untold = false;
    }

    /// Takes the other side's message (there is one, waited for) and says so
    /// with `order` (the spin variant says so later: with its next message, or
    /// before it next waits for one).
    #[inline(always)]
    fn take(&mut self, order: std::sync::atomic::Ordering) -> usize {
        let r = &*self.region;
        let len = r.u64_at(self.theirs + mb::LEN).load(Relaxed) as usize;
        r.read(
            mb::data(len, self.theirs, self.theirs_body + mb::DATA),
            &mut self.rxb[..len],
        );
        self.got = self.got.wrapping_add(1);
        if W == SPIN {
            self.taken_untold = true;
        } else {
            r.u32_at(self.mine + mb::TAKEN).store(self.got, order);
        }
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
        if W == SPIN {
            let theirs = self.region.u64_at(self.theirs + mb::COUNTS);
            spin_until(|| (theirs.load(Acquire) >> 32) as u32 == sent);
            self.put(off, len, Release);
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
        if W == SPIN {
            if self.taken_untold {
                self.publish_counts();
            }
            let theirs = self.region.u64_at(self.theirs + mb::COUNTS);
            spin_until(|| theirs.load(Acquire) as u32 != got);
            return Ok(self.take(Release));
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
    let body = mb::body(cap);
    let region = Rc::new(shm_region(mb::BODIES + 2 * body)?);
    let (a, b) = (0, line::HEAD);
    let (body_a, body_b) = (mb::BODIES, mb::BODIES + body);
    let (sa, sb) = if W == CONDVAR {
        let sync = |base: usize| -> io::Result<(PMutex, PCond)> {
            Ok((
                PMutex::init(&region, base + mb::MUTEX)?,
                PCond::init(&region, base + mb::COND)?,
            ))
        };
        (Some(sync(body_a)?), Some(sync(body_b)?))
    } else {
        (None, None)
    };
    let mk = |(out, out_body), (inn, in_body), out_sync, in_sync| {
        let (txb, rxb) = buffers(cap);
        MailboxEnd {
            region: region.clone(),
            mine: out,
            theirs: inn,
            mine_body: out_body,
            theirs_body: in_body,
            sent: 0,
            got: 0,
            taken_untold: false,
            put_len: 0,
            cap,
            out_sync,
            in_sync,
            txb,
            rxb,
        }
    };
    Ok((
        mk((a, body_a), (b, body_b), sa, sb),
        mk((b, body_b), (a, body_a), sb, sa),
    ))
}

/// A single-producer single-consumer ring of `N` slots in shared memory, no
/// locks, spin waits, one each way. A slot's head (half a cache line) carries
/// the message's number (its publication), its length and a small message
/// itself; larger messages go to the slot's body. Slot `i` of the two rings
/// share one cache line, so a one-byte message and its reply cross between the
/// CPUs in the same line, as in the mailboxes. The consumer's count of
/// messages taken sits on its own pair of cache lines, which the producer
/// reads only when its last reading says the ring is full.
pub struct RingEnd {
    region: Rc<Region>,
    /// The ring this end produces into and the one it consumes from.
    out: Ring,
    inn: Ring,
    head: u64,
    /// The consumer's count as this producer last read it.
    seen_tail: u64,
    tail: u64,
    cap: usize,
    txb: Vec<u8>,
    rxb: Vec<u8>,
}

/// Where one ring lies in the region.
#[derive(Clone, Copy)]
struct Ring {
    /// Its consumer's count of messages taken.
    tail: usize,
    /// Its half of each slot's shared line: 0 or [`line::HEAD`].
    half: usize,
    /// Its slots' bodies.
    bodies: usize,
}

mod ring {
    pub use super::line::{LEN, data};

    /// Slots per ring.
    pub const N: u64 = 16;
    /// The two consumers' counts, each on its own pair of cache lines.
    pub const TAILS: usize = 0;
    /// Slot i's line (both rings' heads) at `HEADS + 128 * i`: a pair of
    /// lines each, as x86 L2 prefetchers fetch lines in aligned pairs.
    pub const HEADS: usize = 256;
    /// In a slot's head: the message's number + 1 once published.
    pub const SEQ: usize = 0;
    /// The first ring's bodies.
    pub const BODIES: usize = HEADS + 128 * N as usize;

    /// A slot's body, a multiple of 128.
    pub fn stride(cap: usize) -> usize {
        cap.div_ceil(128).max(1) * 128
    }
}

pub use ring::N as RING_SLOTS;

impl RingEnd {
    /// Slot `i`'s head in `ring`.
    fn head_at(ring: Ring, i: u64) -> usize {
        ring::HEADS + (i % ring::N) as usize * 128 + ring.half
    }

    /// Slot `i`'s body in `ring`.
    fn body_at(&self, ring: Ring, i: u64) -> usize {
        ring.bodies + (i % ring::N) as usize * ring::stride(self.cap)
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
            let tail = r.u64_at(self.out.tail);
            spin_until(|| h - tail.load(Acquire) < ring::N);
            self.seen_tail = tail.load(Acquire);
        }
        let head = Self::head_at(self.out, h);
        r.write(
            ring::data(len, head, self.body_at(self.out, h)),
            &self.txb[off..off + len],
        );
        r.u64_at(head + ring::LEN).store(len as u64, Relaxed);
        self.head = h + 1;
        r.u64_at(head + ring::SEQ).store(self.head, Release);
        Ok(len)
    }

    #[inline(always)]
    fn recv(&mut self) -> Result<usize, Errno> {
        let r = &*self.region;
        let t = self.tail;
        let head = Self::head_at(self.inn, t);
        let seq = r.u64_at(head + ring::SEQ);
        spin_until(|| seq.load(Acquire) == t + 1);
        let len = r.u64_at(head + ring::LEN).load(Relaxed) as usize;
        r.read(
            ring::data(len, head, self.body_at(self.inn, t)),
            &mut self.rxb[..len],
        );
        self.tail = t + 1;
        r.u64_at(self.inn.tail).store(self.tail, Release);
        Ok(len)
    }
}

/// Two rings (one each way) of `cap`-byte slots in a fresh POSIX shm region.
pub fn ring_pair(cap: usize) -> io::Result<(RingEnd, RingEnd)> {
    let bodies = ring::N as usize * ring::stride(cap);
    let region = Rc::new(shm_region(ring::BODIES + 2 * bodies)?);
    let ab = Ring {
        tail: ring::TAILS,
        half: 0,
        bodies: ring::BODIES,
    };
    let ba = Ring {
        tail: ring::TAILS + 128,
        half: line::HEAD,
        bodies: ring::BODIES + bodies,
    };
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
    Ok((mk(ab, ba), mk(ba, ab)))
}
