//! The report's performance section, from the model: per run (column) that
//! recorded figures, a row of every mechanism's round-trip latency and
//! throughput, the verdicts on the guide's performance claims with their
//! figures, and the data of a bar chart (which the HTML renderer draws).

use std::fmt::Write as _;

use super::document::{Bars, Figure, FigureRow, Median, PerfRun, Section, Span, VerdictRow};
use super::model::{Model, Run};
use crate::observe::Outcome;
use crate::perf::{Pair, Verdict, fmt_ns, fmt_rate};
use crate::results::ResultRecord;

/// The performance section of the model's measured columns.
pub fn section(m: &Model) -> Section {
    let runs = m
        .measured()
        .filter(|(_, run)| has_perf(run))
        .map(|(col, run)| perf_run(&col.label, run))
        .collect();
    Section::Performance {
        title: "Performance".into(),
        intro: INTRO.into(),
        runs,
    }
}

/// The section's preamble: what is measured, and how.
const INTRO: &str = "Round-trip latency and bulk throughput of each mechanism between two processes, and the guide's performance claims judged from them. Figures belong to the machine that ran them (see Runs); a debug-build run records tiny smoke counts, a release run (cargo ipc-report) the real ones. Each run starts with its floor: the cheapest round trip two processes on two CPUs can make (one cache line that each writes in turn), measured in the same run on the same two CPUs; every round trip is also given as a multiple of it (x floor). Round trips are timed over batches, never one clock read per round trip: after a warm-up, batches of about 10 µs (as many round trips as fit, at most 256; one round trip per batch for the slow mechanisms) are each timed as a whole, and a round's median is the median of its batch means; the first round trip of every batch is also timed on its own, and the p99 is that of this sample of single round trips (one in every batch, each carrying one clock read). A blocking mechanism's round trip between two CPUs is mostly the wake-up of a sleeping process on the other CPU; its round trip with both processes pinned to one CPU (same CPU) is given beside it: compare the one that matches your deployment.";

fn has_perf(run: &Run) -> bool {
    run.results().iter().any(|r| r.claim.starts_with("perf."))
}

/// One pair's records in one run.
struct Records<'a> {
    mech: Pair,
    latency: Option<&'a ResultRecord>,
    throughput: Option<&'a ResultRecord>,
}

fn records<'a>(run: &Run<'a>) -> Vec<Records<'a>> {
    Pair::all()
        .map(|mech| Records {
            mech,
            latency: run.result(&format!("perf.latency_{}", mech.id())),
            throughput: run.result(&format!("perf.throughput_{}", mech.id())),
        })
        .collect()
}

fn perf_run(label: &str, run: &Run) -> PerfRun {
    let median = |r: Option<&ResultRecord>, name: &str| {
        let bound = |end: &str| r.and_then(|r| r.quantity(&format!("{name}_{end}")));
        let interval = bound("low").zip(bound("high"));
        Median(r.and_then(|r| r.quantity(name)), interval)
    };
    let pairs = records(run);
    let figures = pairs
        .iter()
        .map(|p| {
            let (lm, lp, lc) = latency_cells(p.latency);
            let measured = p.latency.filter(|r| r.observed == Outcome::Measured);
            let (tr, ts) = throughput_cells(p.throughput);
            let title = |r: Option<&ResultRecord>| r.map(|r| r.detail.clone()).unwrap_or_default();
            FigureRow {
                mechanism: p.mech.label().to_owned(),
                latency: Figure {
                    text: lm,
                    title: title(p.latency),
                },
                p99: lp,
                over_floor: measured
                    .map(|r| with_interval(r, "over_floor", |x| format!("{x:.2}")))
                    .unwrap_or_default(),
                suite_over_c: lc,
                same_cpu: measured
                    .map(|r| with_interval(r, "same_cpu_median_ns", fmt_ns))
                    .unwrap_or_default(),
                throughput: Figure {
                    text: tr,
                    title: title(p.throughput),
                },
                message_size: ts,
                bars: Bars {
                    latency: median(p.latency, "median_ns"),
                    p99: p.latency.and_then(|r| r.quantity("p99_ns")),
                    throughput: median(p.throughput, "bytes_per_s"),
                },
            }
        })
        .collect();
    let verdicts = Verdict::ALL
        .iter()
        .map(|v| v.claim_id())
        .map(|id| match run.seen(id) {
            Some(seen) => VerdictRow {
                claim: id.to_owned(),
                guide: seen.doc.as_str().to_owned(),
                observed: Some(seen.record.observed.as_str().to_owned()),
                evidence: seen.record.detail.clone(),
            },
            None => VerdictRow {
                claim: id.to_owned(),
                guide: String::new(),
                observed: None,
                evidence: String::new(),
            },
        })
        .collect();
    PerfRun {
        label: label.to_owned(),
        floor: floor(run.result(FLOOR)),
        note: machine_note(run.results()),
        figures,
        verdicts,
    }
}

/// The floor's claim.
const FLOOR: &str = "perf.cross_cpu_floor";

/// The run's floor, in words, with its evidence.
fn floor(r: Option<&ResultRecord>) -> Figure {
    let text = match r.filter(|r| r.observed == Outcome::Measured) {
        Some(r) => format!(
            "Floor: {} (median round trip [95% interval]; p99 {}), the cheapest round trip between the two CPUs: one cache line that each process writes in turn. Every round trip below is also given as a multiple of it (x floor).",
            with_interval(r, "median_ns", fmt_ns),
            r.quantity("p99_ns")
                .map(fmt_ns)
                .unwrap_or_else(|| "n/a".into())
        ),
        None => format!("Floor: {}.", no_figure(r)),
    };
    Figure {
        text,
        title: r.map(|r| r.detail.clone()).unwrap_or_default(),
    }
}

/// What a cell says when there is no figure: the outcome and, briefly, why.
fn no_figure(r: Option<&ResultRecord>) -> String {
    match r {
        None => "not measured".into(),
        Some(r) => {
            let why: String = r.detail.chars().take(80).collect();
            format!("{}: {why}", r.observed)
        }
    }
}

/// "7.80 µs [7.61–8.02]": a figure with its interval over rounds, when recorded.
fn with_interval(r: &ResultRecord, name: &str, fmt: fn(f64) -> String) -> String {
    let Some(v) = r.quantity(name) else {
        return String::new();
    };
    match (
        r.quantity(&format!("{name}_low")),
        r.quantity(&format!("{name}_high")),
    ) {
        (Some(lo), Some(hi)) => format!("{} [{}–{}]", fmt(v), fmt(lo), fmt(hi)),
        _ => fmt(v),
    }
}

/// Latency cells: (median [interval], p99, suite/C) or the reason there is none.
fn latency_cells(r: Option<&ResultRecord>) -> (String, String, String) {
    match r.filter(|r| r.observed == Outcome::Measured) {
        Some(r) => (
            with_interval(r, "median_ns", fmt_ns),
            r.quantity("p99_ns").map(fmt_ns).unwrap_or_default(),
            baseline_cell(r),
        ),
        None => (no_figure(r), String::new(), String::new()),
    }
}

/// The suite/C ratio with its interval, or why there is none.
fn baseline_cell(r: &ResultRecord) -> String {
    match r.quantity("suite_over_c") {
        Some(_) => with_interval(r, "suite_over_c", |x| format!("{x:.2}")),
        None if r.detail.contains("C baseline not measured") => "not measured".into(),
        None => "–".into(),
    }
}

/// Throughput cells: (rate [interval], message size) or the reason there is none.
fn throughput_cells(r: Option<&ResultRecord>) -> (String, String) {
    match r.filter(|r| r.observed == Outcome::Measured) {
        Some(r) => (
            with_interval(r, "bytes_per_s", fmt_rate),
            r.quantity("msg_bytes").map(fmt_size).unwrap_or_default(),
        ),
        None => (no_figure(r), String::new()),
    }
}

fn fmt_size(bytes: f64) -> String {
    if bytes >= 1024.0 && (bytes as u64) % 1024 == 0 {
        format!("{} KiB", bytes as u64 / 1024)
    } else {
        format!("{} B", bytes as u64)
    }
}

/// How the run measured: build, CPUs, pinning, load, rounds.
fn machine_note(records: &[ResultRecord]) -> Vec<Span> {
    let figs: Vec<&ResultRecord> = records
        .iter()
        .filter(|r| {
            r.claim.starts_with("perf.") && r.claim != FLOOR && r.observed == Outcome::Measured
        })
        .collect();
    if figs.is_empty() {
        return vec![Span::Plain(
            "No performance figures were measured in this run.".into(),
        )];
    }
    let release = figs
        .iter()
        .all(|r| r.quantity("release_build") == Some(1.0));
    let cpus = figs.iter().find_map(|r| r.quantity("cpus"));
    let pinned = figs
        .iter()
        .filter(|r| r.quantity("pinned") == Some(1.0))
        .count();
    let mut note = Vec::new();
    let mut s = String::new();
    if release {
        s.push_str("Release build.");
    } else {
        note.push(Span::Strong(
            "Debug smoke run with tiny counts: these figures are not meaningful".into(),
        ));
        note.push(Span::Plain(" (".into()));
        note.push(Span::Code("cargo ipc-report".into()));
        s.push_str(" measures a release build).");
    }
    if let Some(c) = cpus {
        let _ = write!(s, " {c} CPUs;");
    }
    let _ = write!(
        s,
        " {pinned} of {} figures measured with the two processes pinned to different CPUs.",
        figs.len()
    );
    let loads: Vec<f64> = figs.iter().filter_map(|r| r.quantity("loadavg")).collect();
    if !loads.is_empty() {
        let hi = loads.iter().copied().fold(0.0, f64::max);
        let lo = loads.iter().copied().fold(f64::INFINITY, f64::min);
        let _ = write!(
            s,
            " Load average while measuring: {lo:.1} to {hi:.1}{}.",
            match cpus {
                Some(c) if hi > c => " (more runnable work than CPUs: figures are noisy)",
                _ => "",
            }
        );
    }
    let rounds = figs
        .iter()
        .filter_map(|r| r.quantity("rounds"))
        .fold(0.0, f64::max);
    if rounds > 0.0 {
        let _ = write!(
            s,
            " Each figure is the median over independent rounds (up to {rounds} here), with its 95% interval in brackets (order statistics of the rounds); x floor is the median over the floor's, with its bootstrap interval; suite/C is the ratio of the suite's median to that of the minimal C program for the mechanism (ci/perf/ipc_rtt.c: one message in flight, its smallest calls, no cache line beyond the message's own, timed over batches the same way), measured in the same run: near 1 when the figure is the mechanism's and not the harness's."
        );
    }
    s.push_str(" Latency: round trip of the smallest message (1 byte; eventfd: its 8-byte counter), median (of batch means) and p99 (of single round trips sampled one per batch), the two processes on different CPUs; same CPU: a blocking mechanism's median with both on one CPU. Throughput: bulk transfer in 64 KiB messages, or the largest the mechanism carries. Figures depend on the machine and its load. A verdict is yes or no only when the interval of its statistic lies wholly on one side of its threshold; otherwise it is inconclusive.");
    note.push(Span::Plain(s));
    note
}
