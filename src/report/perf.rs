//! The report's performance section, from recorded results: per platform (run
//! column), a table of every mechanism's round-trip latency and throughput,
//! the verdicts on the guide's performance claims with their figures, and (in
//! HTML) an inline SVG bar chart. No external assets, no script.
//!
//! The caller supplies the section heading; each run gets a `###` heading.

use std::fmt::Write as _;

use crate::observe::Outcome;
use crate::perf::{Mech, fmt_ns, fmt_rate};
use crate::results::ResultRecord;

/// The guide's five performance claims, in report order.
pub const VERDICTS: [&str; 5] = [
    "perf.shm_spin_sub_microsecond",
    "perf.unix_faster_than_tcp",
    "perf.shm_ring_over_1gbps",
    "perf.spsc_lock_free_predictable",
    "perf.mpmc_contention",
];

/// One mechanism's row in one run.
struct Row<'a> {
    mech: Mech,
    latency: Option<&'a ResultRecord>,
    throughput: Option<&'a ResultRecord>,
}

fn quantity(r: &ResultRecord, name: &str) -> Option<f64> {
    r.measured
        .iter()
        .find(|q| q.name == name)
        .map(|q| q.value)
        .filter(|v| v.is_finite())
}

fn find<'a>(records: &'a [ResultRecord], id: &str) -> Option<&'a ResultRecord> {
    records.iter().find(|r| r.claim == id)
}

fn rows(records: &[ResultRecord]) -> Vec<Row<'_>> {
    Mech::all()
        .map(|mech| Row {
            mech,
            latency: find(records, &format!("perf.latency_{}", mech.id())),
            throughput: find(records, &format!("perf.throughput_{}", mech.id())),
        })
        .collect()
}

fn has_perf(records: &[ResultRecord]) -> bool {
    records.iter().any(|r| r.claim.starts_with("perf."))
}

/// What the section says when no run recorded a figure.
const NONE: &str = "No run recorded performance figures";

/// The runs that recorded performance figures (`None`: none did).
fn measured(runs: &[(String, Vec<ResultRecord>)]) -> Option<Vec<&(String, Vec<ResultRecord>)>> {
    let v: Vec<_> = runs.iter().filter(|(_, r)| has_perf(r)).collect();
    (!v.is_empty()).then_some(v)
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
    let Some(v) = quantity(r, name) else {
        return String::new();
    };
    match (
        quantity(r, &format!("{name}_low")),
        quantity(r, &format!("{name}_high")),
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
            quantity(r, "p99_ns").map(fmt_ns).unwrap_or_default(),
            baseline_cell(r),
        ),
        None => (no_figure(r), String::new(), String::new()),
    }
}

/// The suite/C ratio with its interval, or why there is none.
fn baseline_cell(r: &ResultRecord) -> String {
    match quantity(r, "suite_over_c") {
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
            quantity(r, "msg_bytes").map(fmt_size).unwrap_or_default(),
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

/// A line about how the run measured: build, CPUs, pinning.
fn machine_note(records: &[ResultRecord]) -> String {
    let figs: Vec<&ResultRecord> = records
        .iter()
        .filter(|r| r.claim.starts_with("perf.") && r.observed == Outcome::Measured)
        .collect();
    if figs.is_empty() {
        return "No performance figures were measured in this run.".into();
    }
    let release = figs
        .iter()
        .all(|r| quantity(r, "release_build") == Some(1.0));
    let cpus = figs.iter().find_map(|r| quantity(r, "cpus"));
    let pinned = figs
        .iter()
        .filter(|r| quantity(r, "pinned") == Some(1.0))
        .count();
    let mut s = String::new();
    if release {
        s.push_str("Release build.");
    } else {
        s.push_str("**Debug smoke run with tiny counts: these figures are not meaningful** (`cargo ipc-report` measures a release build).");
    }
    if let Some(c) = cpus {
        let _ = write!(s, " {c} CPUs;");
    }
    let _ = write!(
        s,
        " {pinned} of {} figures measured with the two processes pinned to different CPUs.",
        figs.len()
    );
    let loads: Vec<f64> = figs.iter().filter_map(|r| quantity(r, "loadavg")).collect();
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
        .filter_map(|r| quantity(r, "rounds"))
        .fold(0.0, f64::max);
    if rounds > 0.0 {
        let _ = write!(
            s,
            " Each figure is the median over independent rounds (up to {rounds} here), with its 95% interval in brackets (order statistics of the rounds); suite/C is the ratio of the suite's median to a minimal C program's measured in the same run (ci/perf/ipc_rtt.c), near 1 when the figure is the mechanism's and not the harness's."
        );
    }
    s.push_str(" Latency: round trip of the smallest message (1 byte; eventfd: its 8-byte counter), median and p99. Throughput: bulk transfer in 64 KiB messages, or the largest the mechanism carries. Figures depend on the machine and its load. A verdict is yes or no only when the interval of its statistic lies wholly on one side of its threshold; otherwise it is inconclusive.");
    s
}

fn md_escape(s: &str) -> String {
    super::markdown::escape(s)
}

/// The performance section as Markdown: per run, the figures table and the verdicts.
pub fn markdown(runs: &[(String, Vec<ResultRecord>)]) -> String {
    let Some(measured) = measured(runs) else {
        return format!("{NONE}.\n");
    };
    let mut out = String::new();
    for (label, records) in measured {
        let _ = writeln!(out, "### {}\n", md_escape(label));
        let _ = writeln!(out, "{}\n", machine_note(records));
        out.push_str("| Mechanism | Round trip (median [95% interval]) | p99 | suite/C | Throughput [95% interval] | Message size |\n");
        out.push_str("|---|---:|---:|---:|---:|---:|\n");
        for row in rows(records) {
            let (lm, lp, lc) = latency_cells(row.latency);
            let (tr, ts) = throughput_cells(row.throughput);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                row.mech.label(),
                md_escape(&lm),
                md_escape(&lp),
                md_escape(&lc),
                md_escape(&tr),
                md_escape(&ts)
            );
        }
        out.push_str("\n| Claim | Guide | Observed | Evidence |\n|---|---|---|---|\n");
        for id in VERDICTS {
            match find(records, id) {
                Some(r) => {
                    let _ = writeln!(
                        out,
                        "| `{id}` | {} | **{}** | {} |",
                        r.doc,
                        r.observed,
                        md_escape(&r.detail)
                    );
                }
                None => {
                    let _ = writeln!(out, "| `{id}` | | not measured | |");
                }
            }
        }
        out.push('\n');
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The performance section as an HTML fragment: per run, an inline SVG chart
/// (latency and throughput by mechanism, log scales), the table and the verdicts.
pub fn html(runs: &[(String, Vec<ResultRecord>)]) -> String {
    let Some(measured) = measured(runs) else {
        return format!("<p>{NONE}.</p>\n");
    };
    let mut out = String::new();
    for (label, records) in measured {
        let _ = writeln!(out, "<section class=\"perf-run\">\n<h3>{}</h3>", esc(label));
        let note = machine_note(records).replace("**", "").replace('`', "");
        let _ = writeln!(out, "<p>{}</p>", esc(&note));
        out.push_str(&chart(label, records));
        out.push_str("<table class=\"perf\">\n<thead><tr><th>Mechanism</th><th>Round trip (median [95% interval])</th><th>p99</th><th>suite/C</th><th>Throughput [95% interval]</th><th>Message size</th></tr></thead>\n<tbody>\n");
        for row in rows(records) {
            let (lm, lp, lc) = latency_cells(row.latency);
            let (tr, ts) = throughput_cells(row.throughput);
            let title = |r: Option<&ResultRecord>| r.map(|r| esc(&r.detail)).unwrap_or_default();
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td title=\"{}\">{}</td><td>{}</td><td>{}</td><td title=\"{}\">{}</td><td>{}</td></tr>",
                esc(row.mech.label()),
                title(row.latency),
                esc(&lm),
                esc(&lp),
                esc(&lc),
                title(row.throughput),
                esc(&tr),
                esc(&ts)
            );
        }
        out.push_str("</tbody>\n</table>\n");
        out.push_str("<table class=\"perf-verdicts\">\n<thead><tr><th>Claim</th><th>Guide</th><th>Observed</th><th>Evidence</th></tr></thead>\n<tbody>\n");
        for id in VERDICTS {
            match find(records, id) {
                Some(r) => {
                    let _ = writeln!(
                        out,
                        "<tr><td><code>{id}</code></td><td>{}</td><td class=\"obs-{}\"><strong>{}</strong></td><td>{}</td></tr>",
                        esc(r.doc.as_str()),
                        r.observed,
                        r.observed,
                        esc(&r.detail)
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "<tr><td><code>{id}</code></td><td></td><td>not measured</td><td></td></tr>"
                    );
                }
            }
        }
        out.push_str("</tbody>\n</table>\n</section>\n");
    }
    out
}

/// Decades spanning `values` (at least one), as (lowest exponent, highest exponent).
fn decades(values: impl Iterator<Item = f64>, default: (i32, i32)) -> (i32, i32) {
    let v: Vec<f64> = values.filter(|v| v.is_finite() && *v > 0.0).collect();
    if v.is_empty() {
        return default;
    }
    let lo = v
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min)
        .log10()
        .floor() as i32;
    let hi = v.iter().copied().fold(0.0, f64::max).log10().ceil() as i32;
    (lo, hi.max(lo + 1))
}

/// Horizontal position of `v` on a log axis of `width` pixels.
fn log_x(v: f64, (lo, hi): (i32, i32), width: f64) -> f64 {
    let t = (v.log10() - lo as f64) / (hi - lo) as f64;
    (t.clamp(0.0, 1.0) * width).max(1.0)
}

/// An interval as a horizontal line with end ticks, at height `y`.
fn whisker(
    x0: f64,
    lo: f64,
    hi: f64,
    d: (i32, i32),
    width: f64,
    y: f64,
    fmt: &dyn Fn(f64) -> String,
) -> String {
    let (a, b) = (x0 + log_x(lo, d, width), x0 + log_x(hi, d, width));
    format!(
        "<path class=\"ci\" d=\"M{a:.1} {:.1}V{:.1}M{a:.1} {y:.1}H{b:.1}M{b:.1} {:.1}V{:.1}\" stroke=\"#111\" stroke-width=\"1.2\" fill=\"none\"><title>95% interval {} to {}</title></path>\n",
        y - 4.0,
        y + 4.0,
        y - 4.0,
        y + 4.0,
        esc(&fmt(lo)),
        esc(&fmt(hi))
    )
}

fn chart(label: &str, records: &[ResultRecord]) -> String {
    let rows = rows(records);
    let lat = |r: &Row| r.latency.and_then(|r| quantity(r, "median_ns"));
    let p99 = |r: &Row| r.latency.and_then(|r| quantity(r, "p99_ns"));
    let thr = |r: &Row| r.throughput.and_then(|r| quantity(r, "bytes_per_s"));
    let bounds = |r: Option<&ResultRecord>, name: &str| {
        r.and_then(|r| {
            Some((
                quantity(r, &format!("{name}_low"))?,
                quantity(r, &format!("{name}_high"))?,
            ))
        })
    };
    let ld = decades(rows.iter().flat_map(|r| [lat(r), p99(r)]).flatten(), (1, 6));
    let td = decades(rows.iter().filter_map(thr), (6, 10));

    let (label_w, panel_w, gap, row_h, top) = (130.0, 300.0, 60.0, 20.0, 58.0);
    let x1 = label_w;
    let x2 = label_w + panel_w + gap + label_w;
    let height = top + rows.len() as f64 * row_h + 12.0;
    let width = x2 + panel_w + 50.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"perf-chart\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"{}\" font-family=\"sans-serif\" font-size=\"11\">",
        esc(&format!("Latency and throughput by mechanism, {label}"))
    );
    let _ = writeln!(
        s,
        "<text x=\"{x1}\" y=\"14\" font-weight=\"bold\">Round-trip latency</text><text x=\"{x1}\" y=\"28\" fill=\"#555\">median (bar), 95% interval (black), p99 (red tick); log scale</text>"
    );
    let _ = writeln!(
        s,
        "<text x=\"{x2}\" y=\"14\" font-weight=\"bold\">Bulk throughput</text><text x=\"{x2}\" y=\"28\" fill=\"#555\">median (bar), 95% interval (black); log scale</text>"
    );
    // Decade grid lines with labels.
    let grid = |s: &mut String, x0: f64, d: (i32, i32), fmt: &dyn Fn(f64) -> String| {
        for e in d.0..=d.1 {
            let x = x0 + log_x(10f64.powi(e), d, panel_w);
            let _ = writeln!(
                s,
                "<line x1=\"{x:.1}\" y1=\"{:.0}\" x2=\"{x:.1}\" y2=\"{:.0}\" stroke=\"#ccc\"/><text x=\"{x:.1}\" y=\"{:.0}\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
                top - 6.0,
                height - 8.0,
                top - 10.0,
                esc(&fmt(10f64.powi(e)))
            );
        }
    };
    grid(&mut s, x1, ld, &fmt_ns);
    grid(&mut s, x2, td, &fmt_rate);
    for (i, row) in rows.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let _ = writeln!(
            s,
            "<text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            x1 - 6.0,
            y + 13.0,
            esc(row.mech.label()),
            x2 - 6.0,
            y + 13.0,
            esc(row.mech.label())
        );
        // One panel's bar: the median's rectangle (`title` names it), its
        // interval's whisker, a red p99 tick (latency), and the value written
        // after it; "n/a" without a figure.
        let bar = |s: &mut String,
                   x0: f64,
                   d: (i32, i32),
                   fill: &str,
                   value: Option<f64>,
                   title: &str,
                   fmt: fn(f64) -> String,
                   iv: Option<(f64, f64)>,
                   tick: Option<f64>| {
            let Some(v) = value else {
                let _ = writeln!(
                    s,
                    "<text x=\"{x0}\" y=\"{:.1}\" fill=\"#888\">n/a</text>",
                    y + 13.0
                );
                return;
            };
            let w = log_x(v, d, panel_w);
            let _ = writeln!(
                s,
                "<rect x=\"{x0}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.0}\" fill=\"{fill}\"><title>{}: {title}{}</title></rect>",
                y + 3.0,
                row_h - 6.0,
                esc(row.mech.label()),
                esc(&fmt(v)),
            );
            if let Some((lo, hi)) = iv {
                s.push_str(&whisker(x0, lo, hi, d, panel_w, y + row_h / 2.0, &fmt));
            }
            if let Some(p) = tick {
                let px = x0 + log_x(p, d, panel_w);
                let _ = writeln!(
                    s,
                    "<line x1=\"{px:.1}\" y1=\"{:.1}\" x2=\"{px:.1}\" y2=\"{:.1}\" stroke=\"#b8452a\" stroke-width=\"2\"><title>p99 {}</title></line>",
                    y + 1.0,
                    y + row_h - 1.0,
                    esc(&fmt(p))
                );
            }
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#222\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">{}</text>",
                x0 + w + 4.0,
                y + 13.0,
                esc(&fmt(v))
            );
        };
        let lat_iv = bounds(row.latency, "median_ns");
        bar(
            &mut s,
            x1,
            ld,
            "#4a7ab8",
            lat(row),
            "median ",
            fmt_ns,
            lat_iv,
            p99(row),
        );
        let thr_iv = bounds(row.throughput, "bytes_per_s");
        bar(
            &mut s,
            x2,
            td,
            "#5a9a5a",
            thr(row),
            "",
            fmt_rate,
            thr_iv,
            None,
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::Expected;
    use crate::observe::Quantity;

    fn rec(claim: &str, observed: Outcome, q: &[(&str, f64)], detail: &str) -> ResultRecord {
        ResultRecord {
            claim: crate::results::ClaimId::new(claim).unwrap(),
            observed,
            expected: Expected {
                value: None,
                origin: "guide".into(),
                reason: String::new(),
                source: String::new(),
            },
            doc: crate::catalog::Stance::Unstated,
            detail: detail.into(),
            measured: q
                .iter()
                .map(|(n, v)| Quantity {
                    name: (*n).into(),
                    value: *v,
                    unit: String::new(),
                })
                .collect(),
            duration_ms: 1.0,
            status: crate::results::Status::Pass,
            time: "2026-01-01T00:00:00Z".into(),
        }
    }

    fn sample() -> Vec<(String, Vec<ResultRecord>)> {
        vec![(
            "linux-x86_64-gnu".into(),
            vec![
                rec(
                    "perf.latency_pipe",
                    Outcome::Measured,
                    &[
                        ("median_ns", 7800.0),
                        ("median_ns_low", 7600.0),
                        ("median_ns_high", 8100.0),
                        ("suite_over_c", 1.04),
                        ("suite_over_c_low", 0.98),
                        ("suite_over_c_high", 1.1),
                        ("rounds", 6.0),
                        ("p99_ns", 12000.0),
                        ("release_build", 1.0),
                        ("cpus", 2.0),
                        ("pinned", 1.0),
                    ],
                    "pipe <figures>",
                ),
                rec(
                    "perf.throughput_pipe",
                    Outcome::Measured,
                    &[
                        ("bytes_per_s", 2.4e9),
                        ("msg_bytes", 65536.0),
                        ("release_build", 1.0),
                    ],
                    "pipe bulk",
                ),
                rec(
                    "perf.latency_posix_mq",
                    Outcome::Unsupported,
                    &[],
                    "no API on x86_64-apple-darwin",
                ),
                rec(
                    "perf.mpmc_contention",
                    Outcome::Inconclusive,
                    &[("lead_change", 0.97)],
                    "the interval contains the threshold",
                ),
                rec(
                    "perf.shm_spin_sub_microsecond",
                    Outcome::Yes,
                    &[("median_ns", 180.0)],
                    "median 180 ns | p99 300 ns",
                ),
            ],
        )]
    }

    #[test]
    fn markdown_has_a_row_per_mechanism_and_the_verdicts() {
        // Brackets are escaped like every other table text, so they show literally.
        let md = markdown(&sample());
        assert!(md.contains("### linux-x86_64-gnu"));
        assert!(
            md.contains(
                "| pipe | 7.80 µs \\[7.60 µs–8.10 µs\\] | 12.00 µs | 1.04 \\[0.98–1.10\\] | 2.40 GB/s | 64 KiB |"
            ),
            "{md}"
        );
        assert!(md.contains("unsupported: no API on x86_64-apple-darwin"));
        assert!(md.contains("| `perf.shm_spin_sub_microsecond` | unstated | **yes** | median 180 ns \\| p99 300 ns |"), "{md}");
        assert!(md.contains("| `perf.spsc_lock_free_predictable` | | not measured | |"));
        assert!(md.contains("**inconclusive**"), "{md}");
        for m in Mech::all() {
            assert!(md.contains(&format!("| {} |", m.label())), "{}", m.label());
        }
        assert!(md.contains("Release build."));
    }

    #[test]
    fn html_is_self_contained_with_an_svg_chart() {
        let h = html(&sample());
        assert!(h.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(h.contains("</svg>"));
        assert!(!h.contains("<script"));
        assert!(!h.contains("href="));
        assert!(h.contains("median 180 ns | p99 300 ns"));
        assert_eq!(
            h.matches("<section").count(),
            h.matches("</section>").count()
        );
        // Bars exist for the measured mechanism.
        assert!(h.contains("<title>pipe: median 7.80 µs</title>"));
        assert!(h.contains("<title>pipe: 2.40 GB/s</title>"));
        // The interval is drawn.
        assert!(
            h.contains("<title>95% interval 7.60 µs to 8.10 µs</title>"),
            "{h}"
        );
        // An inconclusive verdict gets its own class (colour).
        assert!(
            h.contains("class=\"obs-inconclusive\"><strong>inconclusive</strong>"),
            "{h}"
        );
    }

    #[test]
    fn no_perf_records_say_so() {
        let runs = vec![("x".to_string(), Vec::new())];
        assert!(markdown(&runs).contains("No run recorded"));
        assert!(html(&runs).contains("No run recorded"));
    }

    #[test]
    fn log_axis_is_clamped_and_monotonic() {
        let d = (1, 6);
        assert!(log_x(100.0, d, 300.0) < log_x(1000.0, d, 300.0));
        assert_eq!(log_x(1e9, d, 300.0), 300.0);
        assert_eq!(log_x(0.001, d, 300.0), 1.0);
        assert_eq!(decades([150.0, 20_000.0].into_iter(), (0, 1)), (2, 5));
    }
}
