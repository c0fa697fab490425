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

/// One single-slot mailbox in shared memory: the writer's count, the reader's
/// count (each on its own pair of cache lines), the length, a process-shared mutex and
/// condition variable (used by the condvar variant), then the data.
mod mb {
    // Words written by different processes sit 128 bytes apart: x86 L2
    // prefetchers fetch cache lines in aligned pairs.
    pub const SEQ_W: usize = 0;
    pub const LEN: usize = 8;
    pub const SEQ_R: usize = 128;
    pub const MUTEX: usize = 256;
    pub const COND: usize = MUTEX + super::PTHREAD_SLOT;
    pub const DATA: usize = COND + super::PTHREAD_SLOT;

    /// A multiple of 128, so that the second mailbox starts on a fresh pair of lines.
    pub fn size(cap: usize) -> usize {
        DATA + cap.div_ceil(128) * 128
    }
}

/// An end over two mailboxes in one POSIX shared memory region.
pub struct MailboxEnd<const W: u8> {
    region: Rc<Region>,
    out: usize,
    inn: usize,
    sent: u32,
    got: u32,
    cap: usize,
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
    /// The writer's and the reader's count of the mailbox at `base`.
    fn counts(&self, base: usize) -> (&AtomicU32, &AtomicU32) {
        (
            self.region.u32_at(base + mb::SEQ_W),
            self.region.u32_at(base + mb::SEQ_R),
        )
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

    /// Puts `tx()[off..off + len]` in the outgoing mailbox (its turn, waited
    /// for) and publishes it with `order`.
    #[inline(always)]
    fn put(&mut self, off: usize, len: usize, order: std::sync::atomic::Ordering) {
        let r = &*self.region;
        r.write(self.out + mb::DATA, &self.txb[off..off + len]);
        r.u64_at(self.out + mb::LEN).store(len as u64, Relaxed);
        self.sent = self.sent.wrapping_add(1);
        r.u32_at(self.out + mb::SEQ_W).store(self.sent, order);
    }

    /// Takes the incoming mailbox's message (there is one, waited for) and
    /// frees the mailbox with `order`.
    #[inline(always)]
    fn take(&mut self, order: std::sync::atomic::Ordering) -> usize {
        let r = &*self.region;
        let len = r.u64_at(self.inn + mb::LEN).load(Relaxed) as usize;
        r.read(self.inn + mb::DATA, &mut self.rxb[..len]);
        self.got = self.got.wrapping_add(1);
        r.u32_at(self.inn + mb::SEQ_R).store(self.got, order);
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
            let (_, seq_r) = self.counts(self.out);
            m.lock();
            while seq_r.load(Relaxed) != sent {
                c.wait(m);
            }
            self.put(off, len, Relaxed);
            c.signal();
            m.unlock();
            return Ok(len);
        }
        Self::wait(self.counts(self.out).1, |v| v == sent)?;
        self.put(off, len, Release);
        if W == FUTEX {
            futex::wake(self.counts(self.out).0);
        }
        Ok(len)
    }

    #[inline(always)]
    fn recv(&mut self) -> Result<usize, Errno> {
        let got = self.got;
        if let Some((m, c)) = self.in_sync {
            let (seq_w, _) = self.counts(self.inn);
            m.lock();
            while seq_w.load(Relaxed) == got {
                c.wait(m);
            }
            let len = self.take(Relaxed);
            c.signal();
            m.unlock();
            return Ok(len);
        }
        Self::wait(self.counts(self.inn).0, |v| v != got)?;
        let len = self.take(Release);
        if W == FUTEX {
            futex::wake(self.counts(self.inn).1);
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
            out,
            inn,
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

/// A single-producer single-consumer ring of `N` slots in shared memory: the
/// producer's head and the consumer's tail on their own pairs of cache lines;
/// no locks, spin waits.
pub struct RingEnd {
    region: Rc<Region>,
    out: usize,
    inn: usize,
    head: u64,
    tail: u64,
    cap: usize,
    txb: Vec<u8>,
    rxb: Vec<u8>,
}

mod ring {
    pub const HEAD: usize = 0;
    pub const TAIL: usize = 128;
    pub const SLOTS: usize = 256;
    /// Slots per ring.
    pub const N: u64 = 16;

    /// A multiple of 128 (see `mb`).
    pub fn stride(cap: usize) -> usize {
        64 + cap.div_ceil(128) * 128 + 64
    }

    pub fn size(cap: usize) -> usize {
        SLOTS + N as usize * stride(cap)
    }
}

pub use ring::N as RING_SLOTS;

impl End for RingEnd {
    buffers!();

    #[inline(always)]
    fn send(&mut self, off: usize, len: usize) -> Result<usize, Errno> {
        if len > self.cap {
            return Err(Errno::EMSGSIZE);
        }
        let r = &*self.region;
        let tail = r.u64_at(self.out + ring::TAIL);
        let h = self.head;
        spin_until(|| h - tail.load(Acquire) < ring::N);
        let slot = self.out + ring::SLOTS + (h % ring::N) as usize * ring::stride(self.cap);
        r.write(slot + 64, &self.txb[off..off + len]);
        r.u64_at(slot).store(len as u64, Relaxed);
        self.head = h + 1;
        r.u64_at(self.out + ring::HEAD).store(self.head, Release);
        Ok(len)
    }

    #[inline(always)]
    fn recv(&mut self) -> Result<usize, Errno> {
        let r = &*self.region;
        let head = r.u64_at(self.inn + ring::HEAD);
        let t = self.tail;
        spin_until(|| head.load(Acquire) > t);
        let slot = self.inn + ring::SLOTS + (t % ring::N) as usize * ring::stride(self.cap);
        let len = r.u64_at(slot).load(Relaxed) as usize;
        r.read(slot + 64, &mut self.rxb[..len]);
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
            tail: 0,
            cap,
            txb,
            rxb,
        }
    };
    Ok((mk(0, one), mk(one, 0)))
}
