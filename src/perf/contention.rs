//! The two queue experiments behind the guide's Scenario 4 rows:
//!
//! - SPSC: the same single-producer single-consumer queue in shared memory,
//!   once lock-free (atomic head and tail) and once with every access under a
//!   process-shared mutex; the one-way latency of each item (producer's
//!   timestamp to the consumer holding it) is sampled.
//! - MPMC: P producers and C consumers move fixed-size messages through a
//!   bounded lock-free ring in shared memory (Vyukov's MPMC design: a
//!   sequence number per slot, compare-and-swap on the two positions; a
//!   waiting process spins briefly, then sleeps on a futex), and through a
//!   kernel message queue (POSIX, else System V) of the same depth, each at
//!   1x1 and at PxC.

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::sync::atomic::fence;

use super::bench::{Child, Fail, Line, Pin, child_main};
use super::ends::{shm_region, spin_until};
use super::stats;
use super::sys::{self, STEP_BOUND_SECS};
use crate::sys::fork::{Forked, fork};
use crate::sys::futex;
use crate::sys::shared::{PMutex, Region};

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "macos"))]
use super::ends::SysvQueue;
#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "macos"))]
use crate::mech::sysv_mq::ffi;

// ------------------------------------------------------------------- SPSC

mod spsc {
    // 128 bytes apart: x86 L2 prefetchers fetch cache lines in aligned pairs.
    pub const HEAD: usize = 0;
    pub const TAIL: usize = 128;
    pub const MUTEX: usize = 256;
    pub const SLOTS: usize = 384;
    pub const CAP: u64 = 64;
    /// Set by the consumer when its time budget is spent.
    pub const STOP: usize = SLOTS + CAP as usize * 16;
    /// Set by the producer once it has seen STOP and pushes no more.
    pub const DONE: usize = STOP + 64;
    pub const SIZE: usize = DONE + 64;
}

/// The SPSC queue, in one of its two forms.
#[derive(Clone, Copy)]
struct Spsc<'a> {
    r: &'a Region,
    lock: Option<PMutex>,
}

impl Spsc<'_> {
    fn slot(&self, i: u64) -> usize {
        spsc::SLOTS + (i % spsc::CAP) as usize * 16
    }

    /// Pushes item `i` stamped now, then waits until the consumer took it.
    #[inline(always)]
    fn push_and_wait(&self, i: u64) {
        let (head, tail) = (self.r.u64_at(spsc::HEAD), self.r.u64_at(spsc::TAIL));
        let s = self.slot(i);
        let ts = sys::now_ns();
        match self.lock {
            None => {
                self.r.u64_at(s).store(i, Relaxed);
                self.r.u64_at(s + 8).store(ts, Relaxed);
                head.store(i + 1, Release);
                spin_until(|| tail.load(Acquire) == i + 1);
            }
            Some(m) => {
                m.lock();
                self.r.u64_at(s).store(i, Relaxed);
                self.r.u64_at(s + 8).store(ts, Relaxed);
                head.store(i + 1, Relaxed);
                m.unlock();
                spin_until(|| {
                    m.lock();
                    let t = tail.load(Relaxed);
                    m.unlock();
                    t == i + 1
                });
            }
        }
    }

    /// Pops item `i`: (its sequence number, its timestamp), once in hand.
    #[inline(always)]
    fn pop(&self, i: u64) -> (u64, u64) {
        let (head, tail) = (self.r.u64_at(spsc::HEAD), self.r.u64_at(spsc::TAIL));
        let s = self.slot(i);
        match self.lock {
            None => {
                spin_until(|| head.load(Acquire) > i);
                let item = (
                    self.r.u64_at(s).load(Relaxed),
                    self.r.u64_at(s + 8).load(Relaxed),
                );
                tail.store(i + 1, Release);
                item
            }
            Some(m) => {
                let mut item = (0, 0);
                spin_until(|| {
                    m.lock();
                    let ready = head.load(Relaxed) > i;
                    if ready {
                        item = (
                            self.r.u64_at(s).load(Relaxed),
                            self.r.u64_at(s + 8).load(Relaxed),
                        );
                        tail.store(i + 1, Relaxed);
                    }
                    m.unlock();
                    ready
                });
                item
            }
        }
    }
}

/// One-way item latency through the SPSC queue (`locked`: under a
/// process-shared mutex): the figures of its result line. At most `items`
/// samples, fewer (at least 1024) when the timed part reaches `budget_ns`.
pub fn spsc_latency(
    locked: bool,
    items: usize,
    warm: usize,
    budget_ns: u64,
    pin: &Pin,
) -> Result<stats::Figure, String> {
    let region = shm_region(spsc::SIZE).map_err(|e| format!("shm_open: {e}"))?;
    let lock = if locked {
        Some(PMutex::init(&region, spsc::MUTEX).map_err(|e| e.to_string())?)
    } else {
        None
    };
    let q = Spsc { r: &region, lock };
    let report = Region::anonymous(4096).map_err(|e| format!("report page: {e}"))?;
    let mut samples = vec![0u64; items];
    let total = (warm + items) as u64;
    let parent = nix::unistd::getpid().as_raw();
    match fork().map_err(|e| format!("fork: {e}"))? {
        Forked::Child => child_main(parent, pin.child, &report, || {
            let stop = region.u64_at(spsc::STOP);
            for i in 0..total {
                q.push_and_wait(i);
                sys::progress();
                if stop.load(Acquire) != 0 {
                    break;
                }
            }
            region.u64_at(spsc::DONE).store(1, Release);
            Ok(())
        }),
        Forked::Parent(pid) => {
            let mut child = Child::new(pid);
            let pinned = match pin.parent.map(sys::pin_to) {
                Some(Err(e)) => format!("none:pin-failed-{e}").replace(' ', "-"),
                _ => pin.plan.clone(),
            };
            sys::arm(STEP_BOUND_SECS);
            let load = sys::loadavg();
            let mut in_order = 0u64;
            let mut n = items;
            let mut start = sys::now_ns();
            let mut next = total;
            for i in 0..total {
                let (seq, ts) = q.pop(i);
                let now = sys::now_ns();
                sys::progress();
                if i >= warm as u64 {
                    samples[(i - warm as u64) as usize] = now.saturating_sub(ts);
                    in_order += u64::from(seq == i);
                } else {
                    start = now;
                }
                if i & 1023 == 1023 {
                    let timed = (i + 1).saturating_sub(warm as u64);
                    if timed >= 1024 && now - start > budget_ns {
                        n = timed as usize;
                        next = i + 1;
                        break;
                    }
                }
            }
            if next < total {
                // Stop the producer: take what it still pushes until it says done.
                region.u64_at(spsc::STOP).store(1, Release);
                let (head, done) = (region.u64_at(spsc::HEAD), region.u64_at(spsc::DONE));
                loop {
                    if head.load(Acquire) > next {
                        q.pop(next);
                        sys::progress();
                        next += 1;
                    } else if done.load(Acquire) != 0 && head.load(Acquire) == next {
                        break;
                    } else {
                        std::hint::spin_loop();
                    }
                }
            }
            child.reap(Ok(()), "producing")?;
            let s = stats::summarize(&mut samples[..n]);
            Ok(
                Line::new("spsc", if locked { "locked" } else { "lockfree" })
                    .kv("n", s.n)
                    .kv("planned", items)
                    .kv("budget_ns", budget_ns)
                    .loadavg(load)
                    .kv("warmup", warm)
                    .kv("in_order", in_order)
                    .spread("", &s)
                    .kv("mean_ns", format!("{:.1}", s.mean))
                    .kv("pin", pinned)
                    .finish(),
            )
        }
    }
}

// ------------------------------------------------------------------- MPMC

mod mp {
    pub const READY: usize = 0;
    pub const GO: usize = 64;
    /// Per consumer, one cache line: count, sequence sum, last receive time, malformed.
    pub const STATS: usize = 256;
    pub const MAX_CONSUMERS: usize = 16;
    /// The ring's enqueue and dequeue positions, each on its own pair of lines.
    pub const ENQ: usize = STATS + 64 * MAX_CONSUMERS;
    pub const DEQ: usize = ENQ + 128;
    /// Event counters (futex words) a waiting consumer / producer sleeps on,
    /// each followed by its count of sleepers.
    pub const NOT_EMPTY: usize = DEQ + 128;
    pub const NOT_FULL: usize = NOT_EMPTY + 128;
    pub const WAITERS: usize = 64;
    /// Slots: a sequence word, then the message.
    pub const SLOTS: usize = NOT_FULL + 128;
    pub const STRIDE: usize = 128;
    /// Queue depth: the same as the kernel queues' (Linux's default mq_maxmsg).
    pub const CAP: u64 = 10;
    /// Message size in both queues.
    pub const MSG: usize = 64;
    pub const SIZE: usize = SLOTS + CAP as usize * STRIDE;
}

/// A message: producer, sequence number, stop flag.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Msg {
    producer: u64,
    seq: u64,
    stop: bool,
}

impl Msg {
    fn encode(self, out: &mut [u8]) {
        out[..8].copy_from_slice(&self.producer.to_le_bytes());
        out[8..16].copy_from_slice(&self.seq.to_le_bytes());
        out[16..24].copy_from_slice(&u64::from(self.stop).to_le_bytes());
    }

    fn decode(b: &[u8]) -> Msg {
        let w = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        Msg {
            producer: w(0),
            seq: w(8),
            stop: w(16) != 0,
        }
    }
}

/// The queue the processes share.
enum Queue {
    /// A bounded lock-free MPMC ring in shared memory (per-slot sequence
    /// numbers, compare-and-swap on the positions), waiting by spinning
    /// briefly, then sleeping on a futex (yielding where there is none).
    Shm,
    #[cfg(any(target_os = "linux", target_os = "freebsd"))]
    Posix(nix::mqueue::MqdT),
    #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "macos"))]
    Sysv(SysvQueue),
}

impl Queue {
    fn kind(&self) -> &'static str {
        match self {
            Queue::Shm => "shm",
            #[cfg(any(target_os = "linux", target_os = "freebsd"))]
            Queue::Posix(_) => "posix_mq",
            #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "macos"))]
            Queue::Sysv(_) => "sysv_mq",
        }
    }
}

/// Per-process message buffers (allocated before the timed part).
struct Bufs {
    bytes: [u8; mp::MSG],
    #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "macos"))]
    sysv: ffi::MsgBuf,
}

impl Bufs {
    fn new() -> Bufs {
        Bufs {
            bytes: [0; mp::MSG],
            #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "macos"))]
            sysv: {
                let mut b = ffi::MsgBuf::new(mp::MSG);
                b.set_type(1);
                b
            },
        }
    }
}

/// Spins before a waiting process sleeps: a few microseconds. Enough for a
/// partner running on another CPU; short, because with more processes than
/// CPUs (4x4 on two) the partner often waits for this very CPU, and a
/// longer spin only burns its time slice.
const SPINS_BEFORE_SLEEP: u32 = 64;

/// Then keeps giving the CPU away for this long (ns) before sleeping: a
/// partner waiting for this CPU runs; with nobody else to run, this polls,
/// so a partner on another CPU that is about to answer is not made to pay
/// a futex wake-up per message.
const YIELD_NS_BEFORE_SLEEP: u64 = 50_000;

/// Waits until `ready()`: spins, then sleeps on the event counter at `ev`
/// (a futex) after registering as a sleeper and checking once more; where
/// there is no futex, yields instead.
fn ring_wait(r: &Region, ev: usize, ready: impl Fn() -> bool) {
    for _ in 0..SPINS_BEFORE_SLEEP {
        if ready() {
            return;
        }
        std::hint::spin_loop();
    }
    if !futex::HAS_FUTEX {
        spin_until(ready);
        return;
    }
    let until = sys::now_ns() + YIELD_NS_BEFORE_SLEEP;
    loop {
        sys::yield_cpu();
        if ready() {
            return;
        }
        if sys::now_ns() > until {
            break;
        }
    }
    let (word, waiters) = (r.u32_at(ev), r.u32_at(ev + mp::WAITERS));
    while !ready() {
        waiters.fetch_add(1, SeqCst);
        fence(SeqCst);
        let v = word.load(Acquire);
        if !ready() {
            // A wake-up lost here is impossible: a notifier that published
            // before our check is seen by it; one that published after it
            // sees our registration and changes the word (or wakes us).
            let _ = futex::wait(word, v, crate::watchdog::BOUND);
        }
        waiters.fetch_sub(1, SeqCst);
    }
}

/// Tells sleepers on the event counter at `ev` that the ring changed.
fn ring_notify(r: &Region, ev: usize) {
    if !futex::HAS_FUTEX {
        return;
    }
    fence(SeqCst);
    if r.u32_at(ev + mp::WAITERS).load(Relaxed) != 0 {
        r.u32_at(ev).fetch_add(1, Release);
        futex::wake(r.u32_at(ev));
    }
}

fn slot(pos: u64) -> usize {
    mp::SLOTS + (pos % mp::CAP) as usize * mp::STRIDE
}

/// Sets up the ring: slot `i` expects the producer of position `i`.
fn ring_init(r: &Region) {
    for i in 0..mp::CAP {
        r.u64_at(slot(i)).store(i, Relaxed);
    }
}

/// Pushes one message (waits while the ring is full).
fn ring_push(r: &Region, msg: &[u8]) {
    let enq = r.u64_at(mp::ENQ);
    loop {
        let pos = enq.load(Relaxed);
        let seq = r.u64_at(slot(pos)).load(Acquire);
        if seq == pos {
            if enq
                .compare_exchange_weak(pos, pos + 1, Relaxed, Relaxed)
                .is_ok()
            {
                r.write(slot(pos) + 8, msg);
                r.u64_at(slot(pos)).store(pos + 1, Release);
                ring_notify(r, mp::NOT_EMPTY);
                return;
            }
        } else if seq < pos {
            // Full: the slot still holds the message of position pos - CAP.
            // Wait until the ring is at most half full (consumers wake
            // sleepers only then): a full ring is refilled in bursts, not
            // with a wake-up per message.
            let deq = r.u64_at(mp::DEQ);
            ring_wait(r, mp::NOT_FULL, || {
                enq.load(Acquire).saturating_sub(deq.load(Acquire)) <= mp::CAP / 2
            });
        }
        // seq > pos: another producer took this position; try the next.
    }
}

/// Pops one message (waits while the ring is empty).
fn ring_pop(r: &Region, out: &mut [u8]) {
    let deq = r.u64_at(mp::DEQ);
    loop {
        let pos = deq.load(Relaxed);
        let seq = r.u64_at(slot(pos)).load(Acquire);
        if seq == pos + 1 {
            if deq
                .compare_exchange_weak(pos, pos + 1, Relaxed, Relaxed)
                .is_ok()
            {
                r.read(slot(pos) + 8, out);
                r.u64_at(slot(pos)).store(pos + mp::CAP, Release);
                if r.u64_at(mp::ENQ).load(Acquire).saturating_sub(pos + 1) <= mp::CAP / 2 {
                    ring_notify(r, mp::NOT_FULL);
                }
                return;
            }
        } else if seq < pos + 1 {
            ring_wait(r, mp::NOT_EMPTY, || {
                let p = deq.load(Relaxed);
                r.u64_at(slot(p)).load(Acquire) > p
            });
        }
    }
}

fn send(q: &Queue, r: &Region, b: &mut Bufs, msg: Msg) -> Result<(), Fail> {
    match q {
        Queue::Shm => {
            msg.encode(&mut b.bytes);
            ring_push(r, &b.bytes);
            Ok(())
        }
        #[cfg(any(target_os = "linux", target_os = "freebsd"))]
        Queue::Posix(mq) => {
            msg.encode(&mut b.bytes);
            super::ends::restart(|| nix::mqueue::mq_send(mq, &b.bytes, 0))
                .map_err(|e| Fail::Sys("mq_send", e))
        }
        #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "macos"))]
        Queue::Sysv(sq) => {
            msg.encode(b.sysv.text_mut());
            super::ends::restart(|| {
                ffi::send_buf(sq.id(), &b.sysv, mp::MSG, 0).map_err(super::ends::errno)
            })
            .map_err(|e| Fail::Sys("msgsnd", e))
        }
    }
}

fn recv(q: &Queue, r: &Region, b: &mut Bufs) -> Result<Msg, Fail> {
    match q {
        Queue::Shm => {
            ring_pop(r, &mut b.bytes);
            Ok(Msg::decode(&b.bytes))
        }
        #[cfg(any(target_os = "linux", target_os = "freebsd"))]
        Queue::Posix(mq) => {
            let mut prio = 0;
            let n = super::ends::restart(|| nix::mqueue::mq_receive(mq, &mut b.bytes, &mut prio))
                .map_err(|e| Fail::Sys("mq_receive", e))?;
            whole(n).map(|()| Msg::decode(&b.bytes))
        }
        #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "macos"))]
        Queue::Sysv(sq) => {
            let n = super::ends::restart(|| {
                ffi::receive_buf(sq.id(), &mut b.sysv, 1, 0).map_err(super::ends::errno)
            })
            .map_err(|e| Fail::Sys("msgrcv", e))?;
            whole(n).map(|()| Msg::decode(b.sysv.text()))
        }
    }
}

/// A kernel queue's message of `n` bytes is whole: [`mp::MSG`].
#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "macos"))]
fn whole(n: usize) -> Result<(), Fail> {
    if n == mp::MSG {
        Ok(())
    } else {
        Err(Fail::Short {
            what: "message",
            expected: mp::MSG as u64,
            got: n as u64,
        })
    }
}

/// The kernel queue for the comparison: POSIX where it exists, else System V.
fn kernel_queue() -> Result<Queue, String> {
    #[cfg(any(target_os = "linux", target_os = "freebsd"))]
    {
        match super::ends::queue(mp::MSG, mp::CAP as usize) {
            Ok((a, b, size)) if size == mp::MSG => {
                let _ = nix::mqueue::mq_close(b);
                return Ok(Queue::Posix(a));
            }
            Ok(_) => return Err("mq_open refused 64-byte messages".into()),
            Err(e) if crate::observe::is_absent_at_run_time(&e) => {}
            Err(e) => return Err(format!("mq_open: {e}")),
        }
    }
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "macos"))] {
            SysvQueue::new().map(Queue::Sysv).map_err(|e| format!("msgget: {e}"))
        } else {
            Err(format!("no kernel message queue on {}", crate::platform::TARGET))
        }
    }
}

/// P producers and C consumers moving `msgs` messages through a queue of kind
/// `kind` ("shm" or "mq"): the figures of its result line.
pub fn mpmc(
    kind: &str,
    producers: usize,
    consumers: usize,
    msgs: u64,
) -> Result<stats::Figure, String> {
    if producers == 0
        || consumers == 0
        || consumers > mp::MAX_CONSUMERS
        || msgs % producers as u64 != 0
    {
        return Err(format!(
            "bad shape {producers}x{consumers} for {msgs} messages"
        ));
    }
    let region = shm_region(mp::SIZE).map_err(|e| format!("shm_open: {e}"))?;
    let q = match kind {
        "shm" => {
            ring_init(&region);
            Queue::Shm
        }
        "mq" => kernel_queue()?,
        other => return Err(format!("unknown queue kind {other:?}")),
    };
    let per = msgs / producers as u64;
    let parties = (producers + consumers) as u64;
    let parent = nix::unistd::getpid().as_raw();
    let mut bufs = Bufs::new();
    let mut children = Vec::with_capacity(producers + consumers);
    // Producers and consumers alternate over the allowed CPUs (producer i
    // and consumer i on different ones): the scheduler's placement, which
    // can put a 1x1 pair on one CPU in one round and on two in the next,
    // does not decide the figure.
    let cpus = sys::allowed_cpus();
    let place = |i: usize| (cpus.len() >= 2).then(|| cpus[i % cpus.len()]);
    for p in 0..producers + consumers {
        let cpu = if p < producers {
            place(p)
        } else {
            place(p - producers + 1)
        };
        match fork().map_err(|e| format!("fork: {e}"))? {
            Forked::Child => {
                let r = &region;
                let q = &q;
                child_main(parent, cpu, r, move || {
                    r.u64_at(mp::READY).fetch_add(1, Relaxed);
                    spin_until(|| r.u64_at(mp::GO).load(Acquire) != 0);
                    if p < producers {
                        for seq in 0..per {
                            let msg = Msg {
                                producer: p as u64,
                                seq,
                                stop: false,
                            };
                            send(q, r, &mut bufs, msg)?;
                            sys::progress();
                        }
                    } else {
                        let c = p - producers;
                        let (mut count, mut sum, mut bad, mut last) = (0u64, 0u64, 0u64, 0u64);
                        loop {
                            let m = recv(q, r, &mut bufs)?;
                            if m.stop {
                                break;
                            }
                            last = sys::now_ns();
                            count += 1;
                            sum += m.seq;
                            bad += u64::from(m.producer >= producers as u64 || m.seq >= per);
                            sys::progress();
                        }
                        let line = mp::STATS + 64 * c;
                        r.u64_at(line).store(count, Relaxed);
                        r.u64_at(line + 8).store(sum, Relaxed);
                        r.u64_at(line + 16).store(last, Relaxed);
                        r.u64_at(line + 24).store(bad, Relaxed);
                    }
                    Ok(())
                })
            }
            Forked::Parent(pid) => children.push(Child::new(pid)),
        }
    }
    // Start everyone at once.
    let load = sys::loadavg();
    sys::arm(STEP_BOUND_SECS);
    spin_until(|| region.u64_at(mp::READY).load(Acquire) == parties);
    let t_go = sys::now_ns();
    region.u64_at(mp::GO).store(1, Release);
    // Children bound each of their own steps; the whole run is bounded here.
    let mut failures = Vec::new();
    let wait = |failures: &mut Vec<String>, c: &mut Child, who: &str| match c.wait_within(60) {
        Ok(0) => {}
        Ok(code) => failures.push(format!("{who} exited with {code}")),
        Err(e) => failures.push(format!("{who}: {e}")),
    };
    let (prod, cons) = children.split_at_mut(producers);
    for (i, c) in prod.iter_mut().enumerate() {
        wait(&mut failures, c, &format!("producer {i}"));
    }
    for _ in 0..consumers {
        sys::arm(STEP_BOUND_SECS);
        if let Err(f) = send(
            &q,
            &region,
            &mut bufs,
            Msg {
                producer: 0,
                seq: 0,
                stop: true,
            },
        ) {
            failures.push(format!("stop message: {f}"));
            break;
        }
    }
    for (i, c) in cons.iter_mut().enumerate() {
        wait(&mut failures, c, &format!("consumer {i}"));
    }
    sys::disarm();
    if !failures.is_empty() {
        return Err(failures.join("; "));
    }
    let (mut received, mut sum, mut bad, mut last) = (0u64, 0u64, 0u64, 0u64);
    let mut split = Vec::new();
    for c in 0..consumers {
        let line = mp::STATS + 64 * c;
        let n = region.u64_at(line).load(Relaxed);
        received += n;
        sum += region.u64_at(line + 8).load(Relaxed);
        last = last.max(region.u64_at(line + 16).load(Relaxed));
        bad += region.u64_at(line + 24).load(Relaxed);
        split.push(n.to_string());
    }
    let expected_sum = producers as u64 * (per * (per.saturating_sub(1)) / 2);
    let elapsed = last.saturating_sub(t_go);
    Ok(Line::new("mpmc", q.kind())
        .kv("producers", producers)
        .kv("consumers", consumers)
        .kv("msgs", msgs)
        .kv("msg_bytes", mp::MSG)
        .kv("depth", mp::CAP)
        .kv("received", received)
        .kv("seq_sum_ok", u8::from(sum == expected_sum))
        .kv("bad", bad)
        .kv("per_consumer", split.join("/"))
        .kv("elapsed_ns", elapsed)
        .kv(
            "msgs_per_s",
            format!("{:.0}", msgs as f64 / (elapsed.max(1) as f64 / 1e9)),
        )
        .kv(
            "pin",
            if cpus.len() >= 2 {
                format!("round-robin-over-{}-cpus", cpus.len())
            } else {
                "none:one-cpu".into()
            },
        )
        .loadavg(load)
        .finish())
}
