//! Summaries of timing samples, the result line a measuring peer prints
//! ([`PerfLine`]), and the
//! soundness checks the tests hold every measurement to: messages really
//! exchanged, counts right, timings ordered and plausible. None of these asks
//! whether the machine is fast.

use std::collections::BTreeMap;

use crate::peer::wire::{Arity, Field, Out, Rest, Words, messages};

/// Order statistics of a sample set (nanoseconds).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Summary {
    pub n: usize,
    pub min: u64,
    pub median: u64,
    pub p99: u64,
    pub max: u64,
    pub mean: f64,
    pub sum: u64,
}

/// Nearest-rank percentile of sorted samples (`q` in 0..=100).
pub fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((q / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Sorts the samples in place and summarises them.
pub fn summarize(samples: &mut [u64]) -> Summary {
    samples.sort_unstable();
    let sum: u64 = samples.iter().sum();
    Summary {
        n: samples.len(),
        min: samples.first().copied().unwrap_or(0),
        median: percentile(samples, 50.0),
        p99: percentile(samples, 99.0),
        max: samples.last().copied().unwrap_or(0),
        mean: if samples.is_empty() {
            0.0
        } else {
            sum as f64 / samples.len() as f64
        },
        sum,
    }
}

/// A latency round timed over batches (`super::latency`): batch means and a
/// sample of single round trips (the first of every batch).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BatchSummary {
    /// Batches (and sampled round trips).
    pub n: usize,
    /// Round trips per batch.
    pub batch: usize,
    pub round_trips: usize,
    /// The median and minimum of the batch means, and the overall mean (ns).
    pub median: f64,
    pub min: f64,
    pub mean: f64,
    /// The batches' total duration.
    pub sum: u64,
    /// The sampled round trips (each carrying one clock read).
    pub sampled: Summary,
}

/// Sorts both arrays in place and summarises them: `batches` holds each
/// batch's duration for `batch` round trips, `samples` one round trip of each.
pub fn summarize_batches(batches: &mut [u64], samples: &mut [u64], batch: usize) -> BatchSummary {
    let b = batch.max(1);
    let s = summarize(batches);
    let per = |x: u64| x as f64 / b as f64;
    let median = if batches.is_empty() {
        0.0
    } else if batches.len() % 2 == 1 {
        per(batches[batches.len() / 2])
    } else {
        (per(batches[batches.len() / 2 - 1]) + per(batches[batches.len() / 2])) / 2.0
    };
    BatchSummary {
        n: s.n,
        batch: b,
        round_trips: s.n * b,
        median,
        min: per(s.min),
        mean: s.mean / b as f64,
        sum: s.sum,
        sampled: summarize(samples),
    }
}

messages! {
    /// The one line a measuring peer prints (`ipcconf-peer perf-...`, and the
    /// C baseline program): its figures, or why it measured nothing. A
    /// failure is the peer program's own `err <why>`.
    #[derive(Debug, Clone, PartialEq)]
    pub enum PerfLine: "a measuring peer's result line" {
        /// `result key=value ...`
        "result" Figures(figure: Figure as Pairs),
        /// `unsupported <why>`: the facility is absent at run time.
        "unsupported" Unsupported(why: String as Rest),
    }
}

/// A measurement's figures as the result line gives them: `key=value` pairs,
/// in the order they were written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Figure {
    pairs: Vec<(String, String)>,
}

/// The codec of a result line's figures: one `key=value` word each.
pub struct Pairs;

impl Field<Figure> for Pairs {
    const WORDS: Arity = Arity { min: 1, max: None };
    fn write(v: &Figure, out: &mut Out<'_, '_>) -> std::fmt::Result {
        v.pairs
            .iter()
            .try_for_each(|(k, v)| write!(out.word()?, "{k}={v}"))
    }
    fn read(words: &mut Words<'_>, _: &str) -> Result<Figure, String> {
        let pairs = words
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => Ok((k.to_owned(), v.to_owned())),
                None => Err(format!("{kv:?} is not key=value")),
            })
            .collect::<Result<_, String>>()?;
        Ok(Figure { pairs })
    }
}

impl Figure {
    /// Appends `key=value`; blanks in the value become `_` (one word each).
    pub fn push(&mut self, key: &str, value: impl std::fmt::Display) {
        let value = value.to_string().replace(char::is_whitespace, "_");
        self.pairs.push((key.to_owned(), value));
    }

    /// The value of `key` (the last one written, if written twice).
    fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every figure by key, for messages.
    pub fn fields(&self) -> BTreeMap<&str, &str> {
        self.pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    pub fn text(&self, key: &str) -> &str {
        self.get(key).unwrap_or("")
    }

    /// A numeric field; NaN when absent or not a number.
    pub fn num(&self, key: &str) -> f64 {
        self.get(key)
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    }

    /// An integer field; `None` when absent or not an integer.
    pub fn int(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(|v| v.parse().ok())
    }

    fn need(&self, key: &str) -> Result<u64, String> {
        self.int(key)
            .ok_or_else(|| format!("the result has no integer {key:?}"))
    }

    /// The integer fields `keys`, in order; the first one missing is the error.
    fn needs<const N: usize>(&self, keys: [&str; N]) -> Result<[u64; N], String> {
        let mut out = [0; N];
        for (o, k) in out.iter_mut().zip(keys) {
            *o = self.need(k)?;
        }
        Ok(out)
    }
}

/// No exchange between two processes completes faster than this (two cache-line
/// transfers between cores take longer); a smaller figure means a broken clock
/// or loop.
pub const MIN_PLAUSIBLE_NS: u64 = 20;

/// Timed rounds a throughput measurement makes even when its budget runs out.
pub const MIN_ROUNDS: u64 = 3;

/// The watchdog ends any step that blocks longer than this.
pub const MAX_STEP_NS: u64 = 2_000_000_000;

/// Samples a time-budgeted measurement takes at least (unless fewer were asked).
pub const MIN_SAMPLES: u64 = 1024;

/// The most round trips a latency batch holds (`super::latency::MAX_BATCH`).
pub const MAX_BATCH: u64 = 256;

/// Latency, timed over batches: at most `iters` batches (at least
/// `MIN_SAMPLES`, fewer only when the time budget ran out) of at most
/// [`MAX_BATCH`] round trips, every round trip's echo matched, the partner's
/// echo count equal to what was sent, batch means and sampled round trips
/// ordered and plausible, and the batches' sum within the loop's wall time.
pub fn check_latency(f: &Figure, iters: u64, max_warmup: u64) -> Result<(), String> {
    let [n, batch, trips, verified, echoed, warmup] =
        f.needs(["n", "batch", "round_trips", "verified", "echoed", "warmup"])?;
    let [smin, smed, p99, max, sum, elapsed] = f.needs([
        "sample_min_ns",
        "sample_median_ns",
        "p99_ns",
        "max_ns",
        "sum_ns",
        "elapsed_ns",
    ])?;
    let (min, median) = (f.num("min_ns"), f.num("median_ns"));
    if !(min.is_finite() && median.is_finite()) {
        return Err(format!("incomplete latency result: {:?}", f.fields()));
    }
    if n > iters
        || n < iters.min(MIN_SAMPLES)
        || !(1..=MAX_BATCH).contains(&batch)
        || trips != n * batch
        || verified != trips
        || warmup > max_warmup
    {
        return Err(format!(
            "{n} batches of {batch} ({trips} round trips, {verified} verified) after {warmup} untimed; at most {iters} batches of at most {MAX_BATCH} after at most {max_warmup} asked, at least {}",
            iters.min(MIN_SAMPLES)
        ));
    }
    if echoed != trips + warmup {
        return Err(format!(
            "the partner echoed {echoed} messages; {} were sent",
            trips + warmup
        ));
    }
    if !(min <= median && smin <= smed && smed <= p99 && p99 <= max) {
        return Err(format!(
            "out of order: batch means min {min} median {median}; sampled round trips min {smin} median {smed} p99 {p99} max {max}"
        ));
    }
    if min < MIN_PLAUSIBLE_NS as f64 || smin < MIN_PLAUSIBLE_NS || max > MAX_STEP_NS {
        return Err(format!(
            "implausible round trip: batch mean min {min} ns, sampled min {smin} ns, max {max} ns (bounds {MIN_PLAUSIBLE_NS} ns .. 2 s)"
        ));
    }
    let floor = min * trips as f64;
    if sum > elapsed || (sum as f64) < floor * (1.0 - 1e-9) {
        return Err(format!(
            "batches do not add up: sum {sum} ns over {n} batches of {batch} (smallest mean {min} ns), loop wall time {elapsed} ns"
        ));
    }
    Ok(())
}

/// Throughput: whole rounds of `round_bytes` (at most `planned_rounds`, at
/// least `MIN_ROUNDS` of them unless fewer were planned), every byte arrived
/// and was acknowledged, every chunk's tag checked (or cut by a read boundary),
/// none wrong, rounds timed and plausible.
pub fn check_throughput(f: &Figure, round_bytes: u64, planned_rounds: u64) -> Result<(), String> {
    let bytes = f.need("bytes")?;
    let chunk = f.need("chunk")?;
    let msgs = f.need("msgs")?;
    let rounds = f.need("rounds")?;
    let warm = f.need("warmup_bytes")?;
    let consumer = f.need("consumer_bytes")?;
    let verified = f.need("verified")?;
    let split = f.need("split")?;
    let mismatch = f.need("mismatch")?;
    let counter = f.need("counter")? == 1;
    let sum_ns = f.need("sum_ns")?;
    let elapsed = f.need("elapsed_ns")?;
    let [min, median, p99, max] = [
        "round_min_ns",
        "round_median_ns",
        "round_p99_ns",
        "round_max_ns",
    ]
    .map(|k| f.int(k));
    let (Some(min), Some(median), Some(p99), Some(max)) = (min, median, p99, max) else {
        return Err(format!("incomplete throughput result: {:?}", f.fields()));
    };
    if rounds > planned_rounds || rounds < planned_rounds.min(MIN_ROUNDS) {
        return Err(format!(
            "{rounds} timed rounds; at most {planned_rounds} planned, at least {}",
            planned_rounds.min(MIN_ROUNDS)
        ));
    }
    if bytes != round_bytes * rounds || bytes != chunk * msgs || warm != round_bytes {
        return Err(format!(
            "{bytes} bytes in {msgs} messages of {chunk} over {rounds} rounds (warm-up {warm}); rounds of {round_bytes} bytes asked"
        ));
    }
    if consumer != bytes + warm {
        return Err(format!(
            "the consumer received {consumer} bytes; {} were sent (with {warm} of warm-up)",
            bytes + warm
        ));
    }
    let chunks = (bytes + warm) / chunk;
    if counter {
        let sum = f.need("counter_sum")?;
        if sum != chunks {
            return Err(format!(
                "the counter's reads add up to {sum}; {chunks} writes of 1 were made"
            ));
        }
    } else if mismatch != 0 || verified + split != chunks || split * 10 > chunks {
        return Err(format!(
            "chunk tags: {verified} verified, {split} cut by a read boundary, {mismatch} wrong; {chunks} chunks sent"
        ));
    }
    if !(min <= median && median <= p99 && p99 <= max) || min == 0 {
        return Err(format!(
            "round times out of order: min {min} median {median} p99 {p99} max {max}"
        ));
    }
    if sum_ns > elapsed || sum_ns < rounds * min {
        return Err(format!(
            "round times do not add up: {sum_ns} ns over {rounds} rounds, wall time {elapsed} ns"
        ));
    }
    let rate = f.num("bytes_per_s");
    if !(1e4..=1e12).contains(&rate) {
        return Err(format!("implausible throughput {rate} bytes/s"));
    }
    Ok(())
}

/// SPSC queue: every item handed over, in order, one-way latencies ordered and plausible.
pub fn check_spsc(f: &Figure, items: u64) -> Result<(), String> {
    let n = f.need("n")?;
    let in_order = f.need("in_order")?;
    let [min, median, p99, max] = ["min_ns", "median_ns", "p99_ns", "max_ns"].map(|k| f.int(k));
    let (Some(min), Some(median), Some(p99), Some(max)) = (min, median, p99, max) else {
        return Err(format!("incomplete spsc result: {:?}", f.fields()));
    };
    if n > items || n < items.min(MIN_SAMPLES) || in_order != n {
        return Err(format!(
            "{n} items timed, {in_order} in order; at most {items} asked, at least {}",
            items.min(MIN_SAMPLES)
        ));
    }
    // A one-way latency compares two processes' timestamps: a figure below the
    // clock's resolution (0 ns) is possible, an unordered or unbounded one is not.
    if !(min <= median && median <= p99 && p99 <= max) || max > MAX_STEP_NS {
        return Err(format!(
            "implausible one-way latencies: min {min} median {median} p99 {p99} max {max}"
        ));
    }
    Ok(())
}

/// MPMC: every message received exactly once (count and sequence sum), none
/// malformed, rate plausible.
pub fn check_mpmc(f: &Figure, msgs: u64) -> Result<(), String> {
    let received = f.need("received")?;
    let seq_ok = f.need("seq_sum_ok")?;
    let bad = f.need("bad")?;
    let elapsed = f.need("elapsed_ns")?;
    if received != msgs || seq_ok != 1 || bad != 0 {
        return Err(format!(
            "received {received} of {msgs} messages; sequence sum {}; {bad} malformed",
            if seq_ok == 1 { "right" } else { "wrong" }
        ));
    }
    if elapsed == 0 || elapsed > 120_000_000_000 {
        return Err(format!("implausible elapsed time {elapsed} ns"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::wire::WireLine;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut v: Vec<u64> = (1..=100).rev().collect();
        let s = summarize(&mut v);
        assert_eq!((s.min, s.median, s.p99, s.max), (1, 50, 99, 100));
        assert_eq!(s.sum, 5050);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    /// The figures of a `result ...` line.
    fn figure(line: &str) -> Figure {
        match PerfLine::from_line(line) {
            Ok(PerfLine::Figures(f)) => f,
            other => panic!("{line:?}: {other:?}"),
        }
    }

    /// A latency result of `n` batches of 4 round trips, each batch mean
    /// `min` ns, sampled round trips from `min` to `max` ns.
    fn latency_line(n: u64, echoed: u64, min: u64, max: u64) -> Figure {
        figure(&format!(
            "result measure=latency mech=pipe method=batches n={n} batch=4 round_trips={} warmup=10 planned=100 median_ns={min}.0 min_ns={min}.0 p99_ns={max} max_ns={max} sample_median_ns={min} sample_min_ns={min} sum_ns={} elapsed_ns={} verified={} echoed={echoed} msg_bytes=1 pin=cpu0+cpu1",
            4 * n,
            4 * n * min,
            4 * n * max,
            4 * n
        ))
    }

    #[test]
    fn result_lines_round_trip() {
        use crate::peer::wire::testing::{refused, round_trip_all};
        let mut f = Figure::default();
        f.push("measure", "latency");
        f.push("mech", "pipe");
        f.push("pin", "cpu0 (partner)");
        let all = [
            PerfLine::Figures(f.clone()),
            PerfLine::Unsupported("AF_UNIX SOCK_STREAM: EAFNOSUPPORT (97)".into()),
        ];
        assert_eq!(
            all[0].to_string(),
            "result measure=latency mech=pipe pin=cpu0_(partner)",
            "in the order written"
        );
        round_trip_all(all);
        assert_eq!(f.text("mech"), "pipe");
        refused::<PerfLine>(&["", "result", "result n=1 oops", "err fork: EAGAIN"]);
    }

    #[test]
    fn latency_soundness() {
        assert_eq!(
            check_latency(&latency_line(100, 410, 5000, 9000), 100, 10),
            Ok(())
        );
        // Fewer batches than asked is sound when the time budget stopped the
        // loop, not below that floor.
        assert_eq!(
            check_latency(&latency_line(2048, 8202, 5000, 9000), 5000, 10),
            Ok(())
        );
        assert!(check_latency(&latency_line(99, 406, 5000, 9000), 100, 10).is_err());
        assert!(check_latency(&latency_line(1000, 4010, 5000, 9000), 5000, 10).is_err());
        assert!(check_latency(&latency_line(101, 414, 5000, 9000), 100, 10).is_err());
        // An echo missing.
        assert!(check_latency(&latency_line(100, 409, 5000, 9000), 100, 10).is_err());
        // A 1 ns round trip between processes is a broken clock.
        assert!(check_latency(&latency_line(100, 410, 1, 9000), 100, 10).is_err());
        let mut f = latency_line(100, 410, 5000, 9000);
        f.push("sum_ns", 1);
        assert!(check_latency(&f, 100, 10).is_err());
        let mut f = latency_line(100, 410, 5000, 9000);
        f.push("batch", 300);
        assert!(check_latency(&f, 100, 10).is_err());
        // The batches summarised: means, and the sample of single round trips.
        let s = summarize_batches(&mut [400, 480, 440], &mut [130, 900, 125], 4);
        assert_eq!((s.n, s.round_trips), (3, 12));
        assert_eq!((s.median, s.min, s.sum), (110.0, 100.0, 1320));
        assert_eq!((s.sampled.min, s.sampled.max), (125, 900));
    }

    fn throughput_line(split: u64, mismatch: u64, consumer: u64) -> Figure {
        figure(&format!(
            "result measure=throughput mech=pipe bytes=1024 chunk=64 msgs=16 rounds=4 warmup_bytes=256 round_median_ns=100 round_p99_ns=120 round_min_ns=90 round_max_ns=120 sum_ns=430 elapsed_ns=600 bytes_per_s=2381395348 consumer_bytes={consumer} verified={} split={split} mismatch={mismatch} reads=20 counter_sum=0 counter=0 stream=1 window=0 pin=cpu0+cpu1",
            20 - split - mismatch
        ))
    }

    #[test]
    fn throughput_soundness() {
        assert_eq!(
            check_throughput(&throughput_line(0, 0, 1280), 256, 4),
            Ok(())
        );
        assert_eq!(
            check_throughput(&throughput_line(1, 0, 1280), 256, 4),
            Ok(())
        );
        // Stopped by the time budget after 4 of 16 planned rounds: sound.
        assert_eq!(
            check_throughput(&throughput_line(0, 0, 1280), 256, 16),
            Ok(())
        );
        assert!(check_throughput(&throughput_line(0, 1, 1280), 256, 4).is_err());
        assert!(check_throughput(&throughput_line(0, 0, 1279), 256, 4).is_err());
        assert!(check_throughput(&throughput_line(0, 0, 1280), 512, 4).is_err());
        assert!(check_throughput(&throughput_line(0, 0, 1280), 256, 3).is_err());
    }

    #[test]
    fn queue_soundness() {
        let spsc = |n: u64, in_order: u64| {
            figure(&format!(
                "result measure=spsc mech=lockfree n={n} in_order={in_order} median_ns=300 p99_ns=500 min_ns=200 max_ns=9000"
            ))
        };
        assert_eq!(check_spsc(&spsc(2000, 2000), 2000), Ok(()));
        assert_eq!(check_spsc(&spsc(1024, 1024), 2000), Ok(()));
        assert!(check_spsc(&spsc(2000, 1999), 2000).is_err());
        assert!(check_spsc(&spsc(500, 500), 2000).is_err());
        let mpmc = |received: u64, ok: u8, bad: u64| {
            figure(&format!(
                "result measure=mpmc mech=shm producers=4 consumers=4 msgs=800 received={received} seq_sum_ok={ok} bad={bad} elapsed_ns=1000000 msgs_per_s=800000"
            ))
        };
        assert_eq!(check_mpmc(&mpmc(800, 1, 0), 800), Ok(()));
        assert!(check_mpmc(&mpmc(799, 1, 0), 800).is_err());
        assert!(check_mpmc(&mpmc(800, 0, 0), 800).is_err());
        assert!(check_mpmc(&mpmc(800, 1, 1), 800).is_err());
    }
}
