//! The guide's five performance claims, each decided from a statistic over
//! rounds of figures (`super::figures`) against its threshold: `yes` or `no`
//! only when the statistic's interval lies wholly on one side, otherwise
//! `inconclusive`.

use super::figures::{
    FiniteOnly, args, budget_range, disturbed, field, load_note, may_extend, measurable,
    mech_rounds, not_emulated, rounds,
};
use super::interval::{self, Decision, Interval, LEVEL};
use super::stats::{self, Figure};
use super::{Counts, Measure, Pair, cpus, describe_pin, fmt_ns, fmt_rate};
use crate::check::Ctx;
use crate::observe::{Checked, Observation};

/// The verdict's pair `id` with its minimum rounds of `measure` made (and held
/// to soundness) first: `Err` ends the verdict with that observation (a
/// debug build's skip).
fn first_rounds(
    cx: &Ctx,
    c: &Counts,
    measure: Measure,
    id: &str,
) -> Checked<Result<Pair, Observation>> {
    let m = pair(id)?;
    mech_rounds(cx, measure, m, c, c.min_rounds)?;
    Ok(debug_skip(c).map_or(Ok(m), Err))
}

/// The registry's pair `id`, which a verdict measures.
fn pair(id: &str) -> Checked<Pair> {
    Pair::parse(id).ok_or_else(|| {
        Observation::error(format!(
            "the mechanism registry declares no performance pair {id}"
        ))
    })
}

// ----------------------------------------------------------- the verdicts

/// Why a verdict is not given in a debug build.
pub const DEBUG_SKIP: &str = "figures need a release build (cargo ipc-report); this debug run only smoke-tested the measurement with tiny counts";

fn verdict_prelude() -> Result<Counts, Observation> {
    if cfg!(not(unix)) {
        return Err(Observation::skipped(
            "the measurement harness forks its measuring processes and runs on Unix only",
        ));
    }
    not_emulated()?;
    Ok(Counts::for_build())
}

/// Ends a verdict in a debug build: the measurements ran (and were checked for
/// soundness), but a verdict from tiny counts would mean nothing.
fn debug_skip(c: &Counts) -> Option<Observation> {
    (!c.release).then(|| Observation::skipped(DEBUG_SKIP))
}

/// The guide's five performance claims, each judged from a statistic over
/// rounds against a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Median round trip of shm + spin (ns) below 1 µs.
    ShmSpin,
    /// Median busy-polled Unix stream round trip / median busy-polled TCP
    /// round trip below 1.
    UnixVsTcp,
    /// Median shm ring rate (bytes/s) above 10^9.
    Ring,
    /// Median lock-free p99 / median locked p99 below 1.
    Spsc,
    /// Shared memory's lead over the queue at NxN / its lead at 1x1 below 1,
    /// given that it leads at 1x1 at all.
    Mpmc,
}

impl Verdict {
    /// The guide's five performance claims, in the report's order: the one
    /// list of them (the report and the suite's tests read it).
    pub const ALL: [Verdict; 5] = [
        Verdict::ShmSpin,
        Verdict::UnixVsTcp,
        Verdict::Ring,
        Verdict::Spsc,
        Verdict::Mpmc,
    ];

    /// The verdict's claim id in the catalog.
    pub fn claim_id(self) -> &'static str {
        match self {
            Verdict::ShmSpin => "perf.shm_spin_sub_microsecond",
            Verdict::UnixVsTcp => "perf.unix_faster_than_tcp",
            Verdict::Ring => "perf.shm_ring_over_1gbps",
            Verdict::Spsc => "perf.spsc_lock_free_predictable",
            Verdict::Mpmc => "perf.mpmc_contention",
        }
    }

    /// The verdict a claim id names, if it names one of the five.
    pub fn of_claim(id: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.claim_id() == id)
    }

    /// The name of the statistic the verdict compares with its threshold: a
    /// measured quantity of its result, with its interval in `<name>_low` and
    /// `<name>_high`.
    pub fn statistic(self) -> &'static str {
        self.rule().2
    }

    /// (threshold, holds below it, the statistic's name, unit, absolute: a
    /// claim about one mechanism's speed, which competing load can only make
    /// look worse).
    fn rule(self) -> (f64, bool, &'static str, &'static str, bool) {
        match self {
            Verdict::ShmSpin => (1_000.0, true, "median_ns", "ns", true),
            Verdict::UnixVsTcp => (1.0, true, "unix_over_tcp", "ratio", false),
            Verdict::Ring => (1e9, false, "bytes_per_s", "bytes/s", true),
            Verdict::Spsc => (1.0, true, "lockfree_over_locked_p99", "ratio", false),
            Verdict::Mpmc => (1.0, true, "lead_change", "ratio", false),
        }
    }

    fn fmt(self, x: f64) -> String {
        match self {
            Verdict::ShmSpin => fmt_ns(x),
            Verdict::Ring => fmt_rate(x),
            _ => format!("{x:.2}"),
        }
    }
}

/// "its lead 0.26, 95% interval 0.21 to 0.39".
fn lead(p: &Interval) -> String {
    format!(
        "its lead {:.2}, {:.0}% interval {:.2} to {:.2}",
        p.estimate,
        p.level * 100.0,
        p.low,
        p.high
    )
}

/// A verdict's decision from rounds: the interval, the value, and why.
#[derive(Debug, Clone)]
pub struct Judged {
    pub claim: Verdict,
    pub decision: Decision,
    pub iv: Interval,
    /// Shared memory's lead at 1x1 (the premise of [`Verdict::Mpmc`]).
    pub premise: Option<Interval>,
    /// Why the value is what it is, in words.
    pub why: String,
    /// Inconclusive because the machine was busy (more rounds would not help).
    pub busy: bool,
}

/// Judges `claim` from its sides' samples, one value per round:
/// - ShmSpin, Ring: `[figure]`;
/// - UnixVsTcp, Spsc: `[numerator, denominator]`;
/// - Mpmc: `[shm 1x1, mq 1x1, shm NxN, mq NxN]` (message rates).
///
/// `disturbed` of the `total` rounds had other processes competing for the
/// CPUs. `yes` and `no` need the interval wholly on one side of the
/// threshold; and since competing load only ever slows a measurement, a
/// `no` on a claim that a mechanism is fast is never given from disturbed
/// rounds, and a comparison is not decided when a quarter or more of its
/// rounds were disturbed: both become inconclusive, saying why.
pub fn judge(claim: Verdict, sides: &[&[f64]], disturbed: usize, total: usize) -> Judged {
    let (threshold, below, _, _, absolute) = claim.rule();
    let f = |x| claim.fmt(x);
    let (iv, premise) = match claim {
        Verdict::ShmSpin | Verdict::Ring => (interval::median_interval(sides[0], LEVEL), None),
        Verdict::UnixVsTcp | Verdict::Spsc => {
            (interval::ratio_interval(sides[0], sides[1], LEVEL), None)
        }
        Verdict::Mpmc => (
            interval::lead_change_interval(sides[2], sides[3], sides[0], sides[1], LEVEL),
            Some(interval::ratio_interval(sides[0], sides[1], LEVEL)),
        ),
    };
    let mut decision = interval::decide(&iv, threshold, below);
    let mut why = match decision {
        Decision::Yes | Decision::No => format!(
            "the {:.0}% interval {} to {} lies wholly {} the threshold {}",
            iv.level * 100.0,
            f(iv.low),
            f(iv.high),
            if iv.high < threshold {
                "below"
            } else {
                "above"
            },
            f(threshold)
        ),
        Decision::Inconclusive => format!(
            "inconclusive: the {:.0}% interval {} to {} contains the threshold {}",
            iv.level * 100.0,
            f(iv.low),
            f(iv.high),
            f(threshold)
        ),
    };
    if let Some(p) = premise {
        match interval::side(&p, 1.0) {
            interval::Side::Above => {}
            interval::Side::Below => {
                decision = Decision::No;
                why = format!(
                    "the premise fails: shared memory is slower than the message queue even with one producer and one consumer ({}, wholly below 1), so there is no advantage for contention to negate",
                    lead(&p)
                );
            }
            interval::Side::Straddles => {
                decision = Decision::Inconclusive;
                why = format!(
                    "inconclusive: whether shared memory leads the message queue at all with one producer and one consumer is undecided ({}, contains 1)",
                    lead(&p)
                );
            }
        }
    }
    let guarded = match decision {
        Decision::No if absolute && disturbed > 0 => Some("a `no`"),
        Decision::Yes | Decision::No if !absolute && disturbed * 4 >= total && total > 0 => {
            Some("a comparison")
        }
        _ => None,
    };
    let busy = guarded.is_some();
    if let Some(what) = guarded {
        why = format!(
            "inconclusive although {why}: other processes competed for the CPUs in {disturbed} of {total} rounds, and {what} is not decided from rounds a busy machine slowed"
        );
        decision = Decision::Inconclusive;
    }
    Judged {
        claim,
        decision,
        iv,
        premise,
        why,
        busy,
    }
}

impl Judged {
    /// The verdict's observation: its value, the evidence (`context`, then
    /// the interval and why), and the interval as named figures.
    pub fn observation(&self, context: &str) -> Observation {
        let (threshold, _, name, unit, _) = self.claim.rule();
        let detail = format!("{context}; {}", self.why);
        let o = match self.decision {
            Decision::Yes => Observation::yes(detail),
            Decision::No => Observation::no(detail),
            Decision::Inconclusive => Observation::inconclusive(detail),
        };
        let mut o = o
            .with(name, self.iv.estimate, unit)
            .with(&format!("{name}_low"), self.iv.low, unit)
            .with(&format!("{name}_high"), self.iv.high, unit)
            .with("confidence", self.iv.level, "ratio")
            .with("rounds", self.iv.rounds as f64, "count")
            .with("threshold", threshold, unit);
        if let Some(p) = self.premise {
            o = o
                .with("lead_1x1", p.estimate, "ratio")
                .with("lead_1x1_low", p.low, "ratio")
                .with("lead_1x1_high", p.high, "ratio");
        }
        o.finite_only()
    }
}

/// Adds rounds to `sides` (two at a time, interleaved across them) while the
/// claim is undecided, up to `c.max_rounds` and the section's time budget.
fn adaptive(
    claim: Verdict,
    c: &Counts,
    mut fetch: impl FnMut(usize) -> Checked<Vec<Vec<Figure>>>,
    key: &str,
) -> Checked<(Judged, Vec<Vec<Figure>>)> {
    let mut want = c.min_rounds;
    loop {
        let sides = fetch(want)?;
        let vals: Vec<Vec<f64>> = sides.iter().map(|s| field(s, key)).collect();
        let refs: Vec<&[f64]> = vals.iter().map(Vec::as_slice).collect();
        let d: usize = sides.iter().map(|s| disturbed(s)).sum();
        let total: usize = sides.iter().map(Vec::len).sum();
        let j = judge(claim, &refs, d, total);
        if j.decision != Decision::Inconclusive || j.busy || want >= c.max_rounds || !may_extend() {
            return Ok((j, sides));
        }
        want += 2;
    }
}

/// Rounds of several latency figures, interleaved (one round of each, in turn).
fn latency_sides(cx: &Ctx, c: &Counts, mechs: &[Pair], want: usize) -> Checked<Vec<Vec<Figure>>> {
    for n in 1..=want {
        for &m in mechs {
            mech_rounds(cx, Measure::Latency, m, c, n)?;
        }
    }
    mechs
        .iter()
        .map(|&m| mech_rounds(cx, Measure::Latency, m, c, want))
        .collect()
}

/// perf.shm_spin_sub_microsecond: shm + spin median round trip < 1 µs.
pub fn verdict_shm_spin(cx: &mut Ctx) -> Checked<Observation> {
    let c = verdict_prelude()?;
    let spin = match first_rounds(cx, &c, Measure::Latency, "shm_spin")? {
        Ok(m) => m,
        Err(o) => return Ok(o),
    };
    if cpus() < 2.0 {
        return Ok(Observation::skipped(
            "one CPU: a spinning waiter holds the only CPU its partner needs",
        ));
    }
    let (j, sides) = adaptive(
        Verdict::ShmSpin,
        &c,
        |n| latency_sides(cx, &c, &[spin], n),
        "median_ns",
    )?;
    let f = &sides[0];
    Ok(j.observation(&format!(
        "shared memory + spin, one-byte round trips in {} rounds (each its own pair of processes), {}: median over rounds {} (p99 {}), threshold 1 µs{}",
        f.len(),
        describe_pin(f[0].text("pin")),
        fmt_ns(j.iv.estimate),
        fmt_ns(interval::median(&field(f, "p99_ns"))),
        load_note(f)
    ))
    .with("p99_ns", interval::median(&field(f, "p99_ns")), "ns"))
}

/// Rounds of one-byte round trips over a stream socket pair that both sides
/// busy-poll (`perf-latency-polled`), held to the same soundness as blocking
/// round trips (every echo verified).
fn polled_rounds(cx: &Ctx, mech: Pair, c: &Counts, want: usize) -> Checked<Vec<Figure>> {
    measurable(mech)?;
    let c = *c;
    let sound = move |f: &Figure| stats::check_latency(f, c.lat_iters as u64, c.lat_warm as u64);
    let mut a = args(Measure::Latency, mech, &c);
    a[0] = "perf-latency-polled".into();
    rounds(cx, &a, want, &sound)
}

/// Polled rounds of Unix stream and TCP, interleaved (one of each, in turn).
fn polled_sides(cx: &Ctx, c: &Counts, want: usize) -> Checked<Vec<Vec<Figure>>> {
    let mechs = [pair("unix_stream")?, pair("tcp")?];
    for n in 1..=want {
        for m in mechs {
            polled_rounds(cx, m, c, n)?;
        }
    }
    mechs
        .iter()
        .map(|&m| polled_rounds(cx, m, c, want))
        .collect()
}

/// perf.unix_faster_than_tcp: the median one-byte round trip over a Unix
/// stream socket < TCP loopback's, both sides busy-polling non-blocking
/// sockets: the per-message cost of the mechanism. Blocking round trips are
/// dominated by the scheduler's wake-up of the blocked reader (the same for
/// both), which buries the difference on a virtual machine; their medians are
/// quoted beside.
pub fn verdict_unix_vs_tcp(cx: &mut Ctx) -> Checked<Observation> {
    let c = verdict_prelude()?;
    let blocking = [
        mech_rounds(cx, Measure::Latency, pair("unix_stream")?, &c, c.min_rounds)?,
        mech_rounds(cx, Measure::Latency, pair("tcp")?, &c, c.min_rounds)?,
    ];
    polled_sides(cx, &c, c.min_rounds)?;
    if let Some(o) = debug_skip(&c) {
        return Ok(o);
    }
    let (j, sides) = adaptive(
        Verdict::UnixVsTcp,
        &c,
        |n| polled_sides(cx, &c, n),
        "median_ns",
    )?;
    let (u, t) = (&sides[0], &sides[1]);
    let med = |f: &[Figure], k: &str| interval::median(&field(f, k));
    let (um, tm) = (med(u, "median_ns"), med(t, "median_ns"));
    let (bu, bt) = (
        med(&blocking[0], "median_ns"),
        med(&blocking[1], "median_ns"),
    );
    Ok(j.observation(&format!(
        "one-byte round trips over non-blocking sockets both sides busy-poll (no scheduler wake-up), rounds interleaved ({} Unix, {} TCP), {}: Unix stream median {} (p99 {}), TCP loopback with TCP_NODELAY median {} (p99 {}): Unix/TCP = {:.2}; blocking round trips, dominated by waking the blocked reader: Unix {} vs TCP {} ({:.2}){}",
        u.len(),
        t.len(),
        describe_pin(u[0].text("pin")),
        fmt_ns(um),
        fmt_ns(med(u, "p99_ns")),
        fmt_ns(tm),
        fmt_ns(med(t, "p99_ns")),
        um / tm,
        fmt_ns(bu),
        fmt_ns(bt),
        bu / bt,
        load_note(u)
    ))
    .with("unix_median_ns", um, "ns")
    .with("tcp_median_ns", tm, "ns")
    .with("unix_blocking_median_ns", bu, "ns")
    .with("tcp_blocking_median_ns", bt, "ns"))
}

/// perf.shm_ring_over_1gbps: the shared-memory ring moves more than 10^9 bytes/s.
pub fn verdict_ring(cx: &mut Ctx) -> Checked<Observation> {
    let c = verdict_prelude()?;
    let ring = match first_rounds(cx, &c, Measure::Throughput, "shm_ring")? {
        Ok(m) => m,
        Err(o) => return Ok(o),
    };
    let (j, sides) = adaptive(
        Verdict::Ring,
        &c,
        |n| Ok(vec![mech_rounds(cx, Measure::Throughput, ring, &c, n)?]),
        "bytes_per_s",
    )?;
    let f = &sides[0];
    Ok(j.observation(&format!(
        "SPSC ring of {} slots of {} bytes in POSIX shared memory, {} rounds (each its own pair of processes, {} bytes through the ring), {}, the consumer copying out and checking every chunk's tag: median rate over rounds {} (threshold 1 GB/s = 10^9 bytes/s){}",
        ends_slots(),
        f[0].text("chunk"),
        f.len(),
        budget_range(f, "bytes"),
        describe_pin(f[0].text("pin")),
        fmt_rate(j.iv.estimate),
        load_note(f),
    )))
}

fn ends_slots() -> u64 {
    #[cfg(unix)]
    {
        super::ends::RING_SLOTS
    }
    #[cfg(not(unix))]
    {
        0
    }
}

fn spsc_rounds(cx: &Ctx, c: &Counts, kind: &str, want: usize) -> Checked<Vec<Figure>> {
    let items = c.spsc_items as u64;
    rounds(
        cx,
        &[
            "perf-spsc".into(),
            kind.into(),
            c.spsc_items.to_string(),
            c.spsc_warm.to_string(),
            c.lat_budget_ms.to_string(),
        ],
        want,
        &move |f: &Figure| stats::check_spsc(f, items),
    )
}

/// perf.spsc_lock_free_predictable: lock-free SPSC p99 < locked SPSC p99.
pub fn verdict_spsc(cx: &mut Ctx) -> Checked<Observation> {
    // Both queues live in a shared-memory region, as the shm mechanisms' do.
    measurable(pair("shm_ring")?)?;
    let c = verdict_prelude()?;
    let both = |cx: &Ctx, want: usize| -> Checked<Vec<Vec<Figure>>> {
        for n in 1..=want {
            spsc_rounds(cx, &c, "lockfree", n)?;
            spsc_rounds(cx, &c, "locked", n)?;
        }
        Ok(vec![
            spsc_rounds(cx, &c, "lockfree", want)?,
            spsc_rounds(cx, &c, "locked", want)?,
        ])
    };
    both(cx, c.min_rounds)?;
    if let Some(o) = debug_skip(&c) {
        return Ok(o);
    }
    let (j, sides) = adaptive(Verdict::Spsc, &c, |n| both(cx, n), "p99_ns")?;
    let (lf, lk) = (&sides[0], &sides[1]);
    let m = |f: &[Figure], k: &str| interval::median(&field(f, k));
    Ok(j.observation(&format!(
        "one-way item latency through the same 64-slot SPSC queue in shared memory, rounds interleaved ({} lock-free, {} locked), {}: lock-free median {} p99 {}; under a process-shared mutex median {} p99 {} (medians over rounds){}",
        lf.len(),
        lk.len(),
        describe_pin(lf[0].text("pin")),
        fmt_ns(m(lf, "median_ns")),
        fmt_ns(m(lf, "p99_ns")),
        fmt_ns(m(lk, "median_ns")),
        fmt_ns(m(lk, "p99_ns")),
        load_note(lf),
    ))
    .with("lockfree_p99_ns", m(lf, "p99_ns"), "ns")
    .with("locked_p99_ns", m(lk, "p99_ns"), "ns"))
}

fn mpmc_rounds(cx: &Ctx, c: &Counts, kind: &str, n: usize, want: usize) -> Checked<Vec<Figure>> {
    let msgs = c.mpmc_msgs;
    rounds(
        cx,
        &[
            "perf-mpmc".into(),
            kind.into(),
            n.to_string(),
            n.to_string(),
            c.mpmc_msgs.to_string(),
        ],
        want,
        &move |f: &Figure| stats::check_mpmc(f, msgs),
    )
}

/// perf.mpmc_contention: shared memory's lead over a message queue (1 producer
/// and 1 consumer) shrinks with N producers and N consumers.
pub fn verdict_mpmc(cx: &mut Ctx) -> Checked<Observation> {
    measurable(pair("shm_ring")?)?;
    measurable(pair("sysv_mq")?)?;
    let c = verdict_prelude()?;
    let n = c.mpmc_parties;
    let shapes = [("shm", 1), ("mq", 1), ("shm", n), ("mq", n)];
    let all = |cx: &Ctx, want: usize| -> Checked<Vec<Vec<Figure>>> {
        for k in 1..=want {
            for (kind, p) in shapes {
                mpmc_rounds(cx, &c, kind, p, k)?;
            }
        }
        shapes
            .iter()
            .map(|&(kind, p)| mpmc_rounds(cx, &c, kind, p, want))
            .collect()
    };
    all(cx, c.min_rounds)?;
    if let Some(o) = debug_skip(&c) {
        return Ok(o);
    }
    let (j, sides) = adaptive(Verdict::Mpmc, &c, |k| all(cx, k), "msgs_per_s")?;
    let r = |i: usize| interval::median(&field(&sides[i], "msgs_per_s"));
    let k = |x: f64| format!("{:.0}k msg/s", x / 1e3);
    let leadn = interval::ratio_interval(
        &field(&sides[2], "msgs_per_s"),
        &field(&sides[3], "msgs_per_s"),
        LEVEL,
    );
    Ok(j.observation(&format!(
        "{} messages of 64 bytes per round through a 10-deep queue, {} rounds of each shape interleaved, producers and consumers pinned alternately over {} CPUs (producer i and consumer i on different CPUs); a lock-free MPMC ring in shared memory (spin, yield, then futex) vs {}: 1x1 {} vs {} (shm lead x{:.2}); {n}x{n} {} vs {} (shm lead x{:.2}, {:.0}% interval {:.2} to {:.2}); the lead at {n}x{n} over the lead at 1x1 is the statistic (below 1: contention erodes it){}",
        c.mpmc_msgs,
        sides[0].len(),
        cpus(),
        sides[1][0].text("mech"),
        k(r(0)),
        k(r(1)),
        r(0) / r(1),
        k(r(2)),
        k(r(3)),
        leadn.estimate,
        leadn.level * 100.0,
        leadn.low,
        leadn.high,
        load_note(&sides[0])
    ))
    .with("shm_1x1_msgs_per_s", r(0), "messages/s")
    .with("mq_1x1_msgs_per_s", r(1), "messages/s")
    .with("shm_nxn_msgs_per_s", r(2), "messages/s")
    .with("mq_nxn_msgs_per_s", r(3), "messages/s")
    .with("lead_nxn", leadn.estimate, "ratio")
    .with("parties", n as f64, "count"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::Outcome;

    /// `n` deterministic values spread ±`rel` around `c`.
    fn around(c: f64, rel: f64, n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| c * (1.0 + rel * (2.0 * ((i * 7) % n) as f64 / (n - 1) as f64 - 1.0)))
            .collect()
    }

    fn value(claim: Verdict, sides: &[Vec<f64>], disturbed: usize) -> Outcome {
        let refs: Vec<&[f64]> = sides.iter().map(Vec::as_slice).collect();
        let total = sides.iter().map(Vec::len).sum();
        judge(claim, &refs, disturbed, total)
            .observation("ctx")
            .outcome
    }

    /// Samples straddling each threshold give inconclusive; far on either
    /// side, yes and no; every observation carries its interval.
    #[test]
    fn each_verdict_answers_inconclusive_when_straddling() {
        use Outcome::{Inconclusive, No, Yes};
        let one = |c: f64, rel: f64| vec![around(c, rel, 8)];
        let two = |a: f64, b: f64| vec![around(a, 0.1, 8), around(b, 0.1, 8)];
        assert_eq!(value(Verdict::ShmSpin, &one(130.0, 0.3), 0), Yes);
        assert_eq!(value(Verdict::ShmSpin, &one(40_000.0, 0.3), 0), No);
        assert_eq!(value(Verdict::ShmSpin, &one(1_000.0, 0.2), 0), Inconclusive);
        assert_eq!(value(Verdict::Ring, &one(11e9, 0.2), 0), Yes);
        assert_eq!(value(Verdict::Ring, &one(0.3e9, 0.2), 0), No);
        assert_eq!(value(Verdict::Ring, &one(1.05e9, 0.2), 0), Inconclusive);
        for claim in [Verdict::UnixVsTcp, Verdict::Spsc] {
            assert_eq!(value(claim, &two(42.0, 59.0), 0), Yes);
            assert_eq!(value(claim, &two(59.0, 42.0), 0), No);
            assert_eq!(value(claim, &two(50.0, 50.5), 0), Inconclusive);
        }
        let mpmc = |s1: f64, q1: f64, sn: f64, qn: f64| {
            vec![
                around(s1, 0.1, 8),
                around(q1, 0.1, 8),
                around(sn, 0.1, 8),
                around(qn, 0.1, 8),
            ]
        };
        // Leads x5 alone, x1 under contention: eroded.
        assert_eq!(value(Verdict::Mpmc, &mpmc(5e6, 1e6, 1e6, 1e6), 0), Yes);
        // Leads x2 alone and x4 under contention: not eroded.
        assert_eq!(value(Verdict::Mpmc, &mpmc(2e6, 1e6, 4e6, 1e6), 0), No);
        // The same lead either way: undecided.
        assert_eq!(
            value(Verdict::Mpmc, &mpmc(2e6, 1e6, 2e6, 1e6), 0),
            Inconclusive
        );
        // Shared memory slower even at 1x1: the premise fails, said plainly.
        let j = {
            let s = mpmc(230e3, 1e6, 100e3, 1e6);
            let refs: Vec<&[f64]> = s.iter().map(Vec::as_slice).collect();
            judge(Verdict::Mpmc, &refs, 0, 32)
        };
        assert_eq!(j.decision, Decision::No);
        assert!(j.why.contains("premise fails"), "{}", j.why);
        // A premise on the threshold decides nothing.
        assert_eq!(
            value(Verdict::Mpmc, &mpmc(1e6, 1.01e6, 0.5e6, 1e6), 0),
            Inconclusive
        );
    }

    /// Rounds a busy machine slowed never give a `no` on a speed claim, nor
    /// decide a comparison; a `yes` on a speed claim still stands.
    #[test]
    fn disturbed_rounds_never_give_the_opposite() {
        let one = |c: f64| vec![around(c, 0.3, 8)];
        assert_eq!(
            value(Verdict::ShmSpin, &one(40_000.0), 3),
            Outcome::Inconclusive
        );
        assert_eq!(value(Verdict::ShmSpin, &one(130.0), 8), Outcome::Yes);
        assert_eq!(value(Verdict::Ring, &one(0.3e9), 1), Outcome::Inconclusive);
        let two = vec![around(42.0, 0.1, 8), around(59.0, 0.1, 8)];
        assert_eq!(value(Verdict::UnixVsTcp, &two, 4), Outcome::Inconclusive);
        assert_eq!(value(Verdict::UnixVsTcp, &two, 3), Outcome::Yes);
    }

    #[test]
    fn a_verdict_carries_its_interval() {
        let s = [around(130.0, 0.3, 8)];
        let refs: Vec<&[f64]> = s.iter().map(Vec::as_slice).collect();
        let o = judge(Verdict::ShmSpin, &refs, 0, 8).observation("shm + spin");
        let names: Vec<&str> = o.measured.iter().map(|q| q.name.as_str()).collect();
        for n in [
            "median_ns",
            "median_ns_low",
            "median_ns_high",
            "confidence",
            "rounds",
            "threshold",
        ] {
            assert!(names.contains(&n), "{names:?}");
        }
        assert!(o.detail.contains("interval"), "{}", o.detail);
        assert!(o.detail.starts_with("shm + spin; "), "{}", o.detail);
    }
}
