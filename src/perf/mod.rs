//! Performance: round-trip latency and bulk throughput of every mechanism,
//! measured side by side, and the guide's five performance claims judged from
//! those figures.
//!
//! - [`Pair`]: a measured pair of mechanisms' ends (two processes), a handle
//!   over the registry's declaration
//!   (`crate::mech::REGISTRY`, each entry's `perf` pairs: ids, labels, order);
//!   [`pairs`]: the one table of how each pair is measured (its ends, its
//!   availability per target).
//! - [`bench`](mod@bench): the timed loops and the two-process orchestration (fork, CPU
//!   pinning, alarm); [`ends`]: the mechanisms behind one small trait;
//!   [`contention`]: the SPSC and MPMC queue experiments; [`sys`]: the clock,
//!   pinning and the alarm. These run in `ipcconf-peer` processes (roles `perf-*`).
//! - [`stats`]: sample summaries, the result line, soundness checks.
//! - [`interval`]: confidence intervals over rounds and the three-way
//!   decision (`yes`, `no`, `inconclusive`) of a verdict.
//! - `baseline`: the C programs of `ci/perf/`, built and run beside the
//!   suite's latency figures (suite/C ratio per mechanism).
//! - `peer` (the `perf-*` roles of `ipcconf-peer`), `figures` (the test
//!   side: running the measuring peer, checking each figure's soundness,
//!   turning figures into observations) and `verdicts` (the guide's five
//!   claims, [`Verdict`], decided from those figures by [`judge`]).
//! - This module: the pair handle, the counts, and formatting of figures.
//!
//! A figure depends on the machine; the checks assert that each measurement is
//! sound (messages really exchanged, counts right, timings ordered and
//! plausible), never that the machine is fast. Debug builds (`cargo test`) run
//! tiny counts as a smoke test; release builds (`cargo ipc-report`) measure.

pub mod interval;

pub mod pairs;
pub mod stats;

mod baseline;
mod figures;
mod peer;
mod verdicts;
pub use figures::{RUN_BOUND, args, measure, observe_floor, observe_mechanism};
pub use peer::peer_role;
pub use verdicts::{
    DEBUG_SKIP, Judged, Verdict, judge, verdict_mpmc, verdict_ring, verdict_shm_spin, verdict_spsc,
    verdict_unix_vs_tcp,
};

#[cfg(unix)]
pub mod bench;
#[cfg(unix)]
pub mod contention;
#[cfg(unix)]
pub mod ends;
#[cfg(unix)]
pub mod latency;
#[cfg(unix)]
pub mod sys;

use crate::mech::PerfPair;

/// One measured pair of processes: a handle over its entry in the mechanism
/// registry ([`crate::mech::PerfPair`]: id and label), whose measurement
/// [`pairs`] chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair(&'static PerfPair);

impl Pair {
    /// Every pair the registry declares, in its order (the report's).
    pub fn all() -> impl Iterator<Item = Pair> {
        crate::mech::perf_pairs().map(Pair)
    }

    /// The id used in claim ids (`perf.latency_<id>`) and peer arguments.
    pub fn id(self) -> &'static str {
        self.0.id
    }

    /// A short human name.
    pub fn label(self) -> &'static str {
        self.0.label
    }

    pub fn parse(s: &str) -> Option<Pair> {
        Pair::all().find(|m| m.id() == s)
    }

    /// How this pair is measured, if the harness measures it.
    pub fn spec(self) -> Option<&'static pairs::Spec> {
        pairs::spec(self.id())
    }

    /// Why this target cannot measure the mechanism at all, if it cannot:
    /// `Err(no API)` where the API is absent at compile time, `Ok(Some(reason))`
    /// where the API exists but this harness does not run there.
    pub fn unavailable(self) -> Result<Option<&'static str>, NoApi> {
        match self.spec() {
            Some(s) => s.unavailable(),
            None => Ok(Some(
                "the performance harness has no measurement for this pair",
            )),
        }
    }
}

/// The mechanism's API does not exist on the target (compile time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoApi;

/// What is measured of a mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Latency,
    Throughput,
}

impl Measure {
    pub fn id(self) -> &'static str {
        match self {
            Measure::Latency => "latency",
            Measure::Throughput => "throughput",
        }
    }
}

/// The claim id of a mechanism's figure.
pub fn claim_id(measure: Measure, mech: Pair) -> String {
    format!("perf.{}_{}", measure.id(), mech.id())
}

/// How much to measure.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    /// A release build: real figures. Otherwise a smoke run with tiny counts.
    pub release: bool,
    pub lat_iters: usize,
    pub lat_warm: usize,
    /// Bytes per throughput run (not counting the warm-up round).
    pub volume: u64,
    pub rounds: u64,
    /// Cap on messages per throughput run, for small-message mechanisms.
    pub max_msgs: u64,
    pub spsc_items: usize,
    pub spsc_warm: usize,
    pub mpmc_msgs: u64,
    /// The contended shape (producers = consumers).
    pub mpmc_parties: usize,
    /// Time budget of one latency or SPSC measurement's timed part: fewer
    /// samples are taken (at least 1024) when the machine is slow or busy.
    pub lat_budget_ms: u64,
    /// Time budget of one throughput measurement's timed rounds (at least
    /// three rounds are made).
    pub thr_budget_ms: u64,
    /// Time budget of the timed part of a blocking mechanism's round trips
    /// with both processes on one CPU.
    pub same_cpu_budget_ms: u64,
    /// Independent rounds (each its own measuring processes) behind every
    /// figure; a verdict whose interval straddles its threshold adds rounds,
    /// two at a time, up to `max_rounds`.
    pub min_rounds: usize,
    pub max_rounds: usize,
}

impl Counts {
    /// Release: the real measurement, in rounds of about a tenth of a second
    /// (the whole section fits in well under a minute on two cores). Debug: a
    /// smoke run of the same code in seconds.
    pub fn for_build() -> Counts {
        if cfg!(debug_assertions) {
            Counts {
                release: false,
                lat_iters: 200,
                lat_warm: 20,
                volume: 1 << 20,
                rounds: 4,
                max_msgs: 1 << 10,
                spsc_items: 200,
                spsc_warm: 20,
                mpmc_msgs: 800,
                mpmc_parties: 4,
                lat_budget_ms: 300,
                thr_budget_ms: 300,
                same_cpu_budget_ms: 300,
                min_rounds: 2,
                max_rounds: 2,
            }
        } else {
            Counts {
                release: true,
                lat_iters: 5_000,
                lat_warm: 500,
                volume: 64 << 20,
                rounds: 8,
                max_msgs: 1 << 16,
                spsc_items: 5_000,
                spsc_warm: 500,
                mpmc_msgs: 50_000,
                mpmc_parties: 4,
                lat_budget_ms: 120,
                thr_budget_ms: 150,
                same_cpu_budget_ms: 60,
                min_rounds: 6,
                max_rounds: 16,
            }
        }
    }

    /// The detail's prefix for a debug smoke run.
    pub fn prefix(&self) -> &'static str {
        if self.release {
            "release build; "
        } else {
            "debug smoke run with tiny counts (figures are not meaningful; `cargo ipc-report` measures a release build); "
        }
    }
}

/// Messages of a throughput run: the volume in `chunk`-byte messages, capped,
/// rounded down to whole rounds.
pub fn plan_msgs(volume: u64, chunk: u64, max_msgs: u64, rounds: u64) -> u64 {
    let msgs = (volume / chunk.max(1)).min(max_msgs);
    (msgs / rounds.max(1)).max(1) * rounds.max(1)
}

/// "pinned to CPUs 0 and 1", "not pinned (one CPU)", ...
pub fn describe_pin(pin: &str) -> String {
    if let Some((a, b)) = pin.split_once('=') {
        return format!(
            "both processes pinned to CPU {}{}",
            a.trim_start_matches("cpu"),
            if b.ends_with("(partner-unpinned)") {
                " (but the partner could not be pinned)"
            } else {
                ""
            }
        );
    }
    if let Some((a, b)) = pin.split_once('+') {
        let partner = b.strip_suffix("(partner-unpinned)");
        let b = partner.unwrap_or(b);
        return format!(
            "measuring process pinned to CPU {}, partner to CPU {}{}",
            a.trim_start_matches("cpu"),
            b.trim_start_matches("cpu"),
            if partner.is_some() {
                " (but the partner could not be pinned)"
            } else {
                ""
            }
        );
    }
    match pin.strip_prefix("none:") {
        Some("one-cpu") => "not pinned (one CPU available)".into(),
        Some("no-affinity-api") => "not pinned (no CPU affinity API on this OS)".into(),
        Some("scheduler-placed") => "not pinned (the scheduler places the processes)".into(),
        Some(other) => format!("not pinned ({})", other.replace('-', " ")),
        None => format!("pinning: {pin}"),
    }
}

/// Formats nanoseconds for people: "850 ns", "7.81 µs", "1.20 ms".
pub fn fmt_ns(ns: f64) -> String {
    if !ns.is_finite() {
        "n/a".into()
    } else if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

/// Formats a rate for people: "2.41 GB/s" (decimal units).
pub fn fmt_rate(bytes_per_s: f64) -> String {
    if !bytes_per_s.is_finite() {
        "n/a".into()
    } else if bytes_per_s >= 1e9 {
        format!("{:.2} GB/s", bytes_per_s / 1e9)
    } else if bytes_per_s >= 1e6 {
        format!("{:.1} MB/s", bytes_per_s / 1e6)
    } else {
        format!("{:.0} kB/s", bytes_per_s / 1e3)
    }
}

pub(crate) fn cpus() -> f64 {
    std::thread::available_parallelism()
        .map(|n| n.get() as f64)
        .unwrap_or(0.0)
}
