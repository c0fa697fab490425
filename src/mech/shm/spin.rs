//! Bounded waits on a word of shared memory: spinning (no system call) and
//! yielding.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Spins on `word` with atomic loads (acquire) until `done(value)` or `bound`
/// passes. The loop makes no system call: the clock is read every 1024
/// iterations (clock_gettime, a vDSO call on Linux). Ok((value, iterations))
/// or Err(last value seen).
pub fn spin_until(
    word: &AtomicU32,
    done: impl Fn(u32) -> bool,
    bound: Duration,
) -> Result<(u32, u64), u32> {
    let start = Instant::now();
    let mut spins: u64 = 0;
    loop {
        let v = word.load(Ordering::Acquire);
        if done(v) {
            return Ok((v, spins));
        }
        spins += 1;
        if spins % 1024 == 0 && start.elapsed() >= bound {
            return Err(v);
        }
        std::hint::spin_loop();
    }
}

/// Waits (bounded) for `done(word)` while yielding the CPU between loads: for
/// the controller waiting on peers to reach a point, where giving the two
/// cores of a small machine to the peers matters more than reaction time.
pub fn yield_until(
    word: &AtomicU32,
    done: impl Fn(u32) -> bool,
    bound: Duration,
) -> Result<u32, u32> {
    let start = Instant::now();
    loop {
        let v = word.load(Ordering::Acquire);
        if done(v) {
            return Ok(v);
        }
        if start.elapsed() >= bound {
            return Err(v);
        }
        std::thread::yield_now();
    }
}
