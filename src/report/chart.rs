//! The performance chart of index.html: per run, latency and throughput by
//! mechanism as horizontal bars on log scales (an inline SVG: no script, no
//! external asset), drawn from the chart rows of the performance section.

use std::fmt::Write as _;

use super::document::FigureRow;
use crate::markup::html as esc;
use crate::perf::{fmt_ns, fmt_rate};

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

/// The chart of one run (`label`): latency and throughput by mechanism, log
/// scales, as an inline SVG.
pub fn chart(label: &str, rows: &[FigureRow]) -> String {
    let ld = decades(
        rows.iter()
            .flat_map(|r| [r.bars.latency.0, r.bars.p99])
            .flatten(),
        (1, 6),
    );
    let td = decades(rows.iter().filter_map(|r| r.bars.throughput.0), (6, 10));

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
            esc(&row.mechanism),
            x2 - 6.0,
            y + 13.0,
            esc(&row.mechanism)
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
                esc(&row.mechanism),
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
        let lat_iv = row.bars.latency.1;
        bar(
            &mut s,
            x1,
            ld,
            "#4a7ab8",
            row.bars.latency.0,
            "median ",
            fmt_ns,
            lat_iv,
            row.bars.p99,
        );
        let thr_iv = row.bars.throughput.1;
        bar(
            &mut s,
            x2,
            td,
            "#5a9a5a",
            row.bars.throughput.0,
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

    #[test]
    fn log_axis_is_clamped_and_monotonic() {
        let d = (1, 6);
        assert!(log_x(100.0, d, 300.0) < log_x(1000.0, d, 300.0));
        assert_eq!(log_x(1e9, d, 300.0), 300.0);
        assert_eq!(log_x(0.001, d, 300.0), 1.0);
        assert_eq!(decades([150.0, 20_000.0].into_iter(), (0, 1)), (2, 5));
    }
}
