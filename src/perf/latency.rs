//! Round trips timed over batches, and the floor they are compared with.
//!
//! A latency measurement makes one-byte round trips between two processes
//! (`super::bench` forks and pins them). Its timed part reads the clock only
//! at the edges of batches: after a warm-up it chooses a batch size `b` so that
//! a batch lasts about [`BATCH_TARGET_NS`] (1 for a round trip slower than
//! that), then times batches of `b` round trips. Within each batch the first
//! round trip is timed on its own as well: that sample of iterations (one in
//! `b`) gives the p99 and the maximum, which batch means would hide. So the
//! clock costs two reads per batch, a fraction of a percent of a batch, instead
//! of one per round trip, which is a fifth of a shared-memory round trip.
//!
//! - The median of a round: the median of its batch means.
//! - Its p99 and maximum: of the sampled round trips (each carrying one clock
//!   read).
//!
//! The floor ([`floor`]): the cheapest exchange two CPUs can make, one cache
//! line that each side writes in turn (the measuring side an odd count, the
//! other side the next even one), timed the same way. Every latency figure is
//! also given as a multiple of it.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use super::bench::{Child, Fail, Line, Pin, Rep, child_main, parent_pid, pin_self, send_all};
use super::ends::{End, spin_until};
use super::stats;
use super::sys::{self, STEP_BOUND_SECS};
use crate::sys::fork::{self, Forked};
use crate::sys::shared::Region;

/// A batch of round trips lasts about this long: two clock reads per batch
/// cost well under 1% of it.
pub const BATCH_TARGET_NS: u64 = 10_000;

/// The largest batch (a round trip of 40 ns or less would want more).
pub const MAX_BATCH: usize = 256;

/// The batch size for round trips that took `warm_ns` for `warmed` of them:
/// about [`BATCH_TARGET_NS`] per batch, between 1 and [`MAX_BATCH`].
pub fn batch_size(warmed: usize, warm_ns: u64) -> usize {
    if warmed == 0 || warm_ns == 0 {
        return 1;
    }
    let per = (warm_ns / warmed as u64).max(1);
    ((BATCH_TARGET_NS / per) as usize).clamp(1, MAX_BATCH)
}

/// What the timed part did.
struct Timed {
    /// Untimed round trips first.
    warm: usize,
    /// Round trips per batch.
    batch: usize,
    /// Batches timed (each also one sampled round trip).
    n: usize,
    /// Wall time of the timed part.
    elapsed: u64,
}

/// Runs `rt(i)` (round trip number `i`): up to `warm` untimed (at most a
/// tenth of the budget), then up to `batches.len()` batches, each batch's
/// duration into `batches` and its first round trip's into `samples`, until
/// the batches are full or the timed part has run `budget_ns` (but never fewer
/// than [`stats::MIN_SAMPLES`] batches).
#[inline(always)]
fn timed(
    mut rt: impl FnMut(usize) -> Result<(), Fail>,
    warm: usize,
    batches: &mut [u64],
    samples: &mut [u64],
    budget_ns: u64,
) -> Result<Timed, Fail> {
    let warm_start = sys::now_ns();
    let mut i = 0;
    while i < warm {
        rt(i)?;
        i += 1;
        if i & 255 == 0 {
            sys::arm(STEP_BOUND_SECS);
            if sys::now_ns() - warm_start > budget_ns / 10 {
                break;
            }
        }
    }
    let warmed = i;
    let b = batch_size(warmed, sys::now_ns() - warm_start);
    sys::arm(STEP_BOUND_SECS);
    let start = sys::now_ns();
    let mut t0 = start;
    let mut n = batches.len();
    for k in 0..batches.len() {
        rt(i)?;
        let t1 = sys::now_ns();
        for j in 1..b {
            rt(i + j)?;
        }
        let t2 = if b > 1 { sys::now_ns() } else { t1 };
        i += b;
        samples[k] = t1 - t0;
        batches[k] = t2 - t0;
        t0 = t2;
        if k & 63 == 63 {
            sys::arm(STEP_BOUND_SECS);
            if t2 - start > budget_ns && k + 1 >= stats::MIN_SAMPLES as usize {
                n = k + 1;
                break;
            }
            t0 = sys::now_ns();
        }
    }
    Ok(Timed {
        warm: warmed,
        batch: b,
        n,
        elapsed: sys::now_ns() - start,
    })
}

/// One round trip carrying `b` (never 0: an eventfd write of 0 wakes nobody).
#[inline(always)]
fn round_trip<E: End>(e: &mut E, b: u8, at: u64) -> Result<(), Fail> {
    e.tx()[0] = b;
    send_all(e, E::SMALL)?;
    let n = e.recv().map_err(|x| Fail::Sys("receive", x))?;
    if n == 0 {
        return Err(Fail::Eof("receive"));
    }
    if n != E::SMALL || e.rx()[0] != b {
        return Err(Fail::Mismatch {
            what: "echo",
            at,
            expected: b as u64,
            got: e.rx()[0] as u64,
        });
    }
    Ok(())
}

/// The byte of round trip `i`: 1..=254 (never 0: an eventfd write of 0 wakes
/// nobody; 255 is `STOP`).
#[inline(always)]
fn seq_byte(i: usize) -> u8 {
    (i % 254) as u8 + 1
}

/// Tells the echoing side to stop (it does not answer it).
const STOP: u8 = 255;

/// The echoing side: answers every message with the same byte until `STOP`.
fn echo_loop<E: End>(e: &mut E, report: &Region) -> Result<(), Fail> {
    let mut count = 0u64;
    loop {
        let n = e.recv().map_err(|x| Fail::Sys("echo receive", x))?;
        if n == 0 {
            return Err(Fail::Eof("echo receive"));
        }
        let b = e.rx()[0];
        if b == STOP {
            break;
        }
        e.tx()[0] = b;
        send_all(e, E::SMALL)?;
        count += 1;
        if count & 1023 == 0 {
            sys::arm(STEP_BOUND_SECS);
        }
    }
    report.u64_at(Rep::Count.at()).store(count, Relaxed);
    Ok(())
}

/// How much a latency measurement makes: at most `iters` batches after at
/// most `warm` untimed round trips, within `budget_ns` of timed part.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub iters: usize,
    pub warm: usize,
    pub budget_ns: u64,
}

/// Forks the partner (running `partner`), runs `measure` here (given the
/// batch and sample arrays), waits for the partner, and returns the
/// figures of the result line.
fn two_sides(
    mech: &str,
    msg_bytes: usize,
    size: Size,
    pin: &Pin,
    partner: impl FnOnce(&Region) -> Result<(), Fail>,
    measure: impl FnOnce(&mut [u64], &mut [u64]) -> Result<Timed, Fail>,
) -> Result<stats::Figure, String> {
    let report = Region::anonymous(4096).map_err(|e| format!("report page: {e}"))?;
    let mut batches = vec![0u64; size.iters];
    let mut samples = vec![0u64; size.iters];
    let parent = parent_pid();
    match fork::fork().map_err(|e| format!("fork: {e}"))? {
        Forked::Child => {
            // The measuring side's end is the parent's alone.
            drop(measure);
            child_main(parent, pin.child, &report, || partner(&report))
        }
        Forked::Parent(pid) => {
            // The partner's end is the child's alone.
            drop(partner);
            let mut child = Child::new(pid);
            let pinned = pin_self(pin.parent, &pin.plan);
            let load = sys::loadavg();
            let done = child.reap(measure(&mut batches, &mut samples), "echoing")?;
            let echoed = report.u64_at(Rep::Count.at()).load(Relaxed);
            let child_pin_failed = report.u64_at(Rep::PinFailed.at()).load(Relaxed) != 0;
            let s = stats::summarize_batches(
                &mut batches[..done.n],
                &mut samples[..done.n],
                done.batch,
            );
            Ok(Line::new("latency", mech)
                .kv("method", "batches")
                .kv("n", s.n)
                .kv("batch", s.batch)
                .kv("round_trips", s.round_trips)
                .kv("planned", size.iters)
                .kv("budget_ns", size.budget_ns)
                .kv("warmup", done.warm)
                .kv("median_ns", format!("{:.1}", s.median))
                .kv("min_ns", format!("{:.1}", s.min))
                .kv("mean_ns", format!("{:.1}", s.mean))
                .kv("p99_ns", s.sampled.p99)
                .kv("max_ns", s.sampled.max)
                .kv("sample_median_ns", s.sampled.median)
                .kv("sample_min_ns", s.sampled.min)
                .kv("sum_ns", s.sum)
                .kv("elapsed_ns", done.elapsed)
                .kv("verified", s.round_trips)
                .kv("echoed", echoed)
                .kv("msg_bytes", msg_bytes)
                .loadavg(load)
                .pin(pinned, child_pin_failed)
                .finish())
        }
    }
}

/// One-byte round-trip latency of a pair: the figures of its result line.
pub fn latency<E: End>(
    mech: &str,
    (mut a, mut b): (E, E),
    size: Size,
    pin: &Pin,
) -> Result<stats::Figure, String> {
    // Each closure owns its end: each side of the fork drops the other's.
    let echo = move |report: &Region| echo_loop(&mut b, report);
    two_sides(mech, E::SMALL, size, pin, echo, move |batches, samples| {
        let d = timed(
            |i| round_trip(&mut a, seq_byte(i), i as u64),
            size.warm,
            batches,
            samples,
            size.budget_ns,
        )?;
        a.tx()[0] = STOP;
        send_all(&mut a, E::SMALL)?;
        Ok(d)
    })
}

/// The floor's STOP: an odd count never reached.
const FLOOR_STOP: u64 = u64::MAX;

/// The floor's partner: waits for each odd count and writes the next even one.
fn floor_echo(word: &AtomicU64, report: &Region) -> Result<(), Fail> {
    let mut want = 1u64;
    let mut count = 0u64;
    loop {
        let mut v = 0;
        spin_until(|| {
            v = word.load(Acquire);
            v == want || v == FLOOR_STOP
        });
        if v == FLOOR_STOP {
            break;
        }
        word.store(want + 1, Release);
        want += 2;
        count += 1;
        if count & 1023 == 0 {
            sys::arm(STEP_BOUND_SECS);
        }
    }
    report.u64_at(Rep::Count.at()).store(count, Relaxed);
    Ok(())
}

/// The floor: round trips of one cache line (one 8-byte word at the start of
/// a page shared by the two processes) that each side writes in turn, timed
/// over batches like every latency figure.
pub fn floor(size: Size, pin: &Pin) -> Result<stats::Figure, String> {
    let line = Region::anonymous(4096).map_err(|e| format!("shared line: {e}"))?;
    let word = line.u64_at(0);
    let partner = |report: &Region| floor_echo(word, report);
    two_sides("floor", 8, size, pin, partner, |batches, samples| {
        let d = timed(
            |i| {
                let odd = 2 * i as u64 + 1;
                word.store(odd, Release);
                spin_until(|| word.load(Acquire) == odd + 1);
                Ok(())
            },
            size.warm,
            batches,
            samples,
            size.budget_ns,
        )?;
        word.store(FLOOR_STOP, Release);
        Ok(d)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_last_about_the_target() {
        // 120 ns round trips: 83 per batch; 50 µs ones: 1; 1 ns ones: capped.
        assert_eq!(batch_size(500, 60_000), 83);
        assert_eq!(batch_size(256, 256 * 50_000), 1);
        assert_eq!(batch_size(500, 500), MAX_BATCH);
        assert_eq!(batch_size(0, 0), 1);
    }
}
