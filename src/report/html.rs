//! index.html: the report as one self-contained page (inline CSS, no scripts, no
//! external assets), colour-coded so the tables can be read at a glance. Its
//! Content-Security-Policy ([`CSP`]) holds the browser to that: should any
//! text of a result set ever reach the page unescaped, no script would run and
//! nothing would be fetched.

use std::fmt::Write as _;

use super::chart::chart;
use super::document::{Draw, FigureRow, PerfRun, Report, Span, Table};
use super::text::unless_empty;
use crate::markup::html as esc;

fn anchor(title: &str) -> String {
    title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// The page's Content-Security-Policy: nothing may be loaded or run (no
/// script, image, font, frame, connection, form target or base URL), except
/// its own inline style (the `<style>` element and the legend's `style`
/// attributes); the chart is inline SVG, the links are within the page.
pub const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1400px;padding:0 1rem;color:#1d1d1f;background:#fff}
h1{font-size:1.6rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:13px}
th,td{border:1px solid #ccc;padding:.25rem .45rem;vertical-align:top;text-align:left}
th{background:#f2f2f4;position:sticky;top:0}
td.agree{background:#d9f2dc}td.depart{background:#f8c9c4;font-weight:600}
td.nostance{background:#e3ecf7}td.undecided{background:#fbe8b4}
td.inconclusive,td.obs-inconclusive{background:#e4dcf4}
td.unchecked{background:#f4f4f4;color:#777;font-style:italic}
td.unmeasured{background:repeating-linear-gradient(45deg,#f4f4f4,#f4f4f4 6px,#e9e9e9 6px,#e9e9e9 12px);color:#777;font-style:italic}
.legend span{display:inline-block;padding:.1rem .5rem;margin:.1rem;border:1px solid #ccc}
nav a{margin-right:.8rem}
.scroll{overflow-x:auto}
";

fn table(out: &mut String, t: &Table) {
    out.push_str(&format!(
        "<h2 id=\"{}\">{}</h2>\n<p>{}</p>\n<div class=\"scroll\"><table>\n<tr>",
        anchor(&t.title),
        esc(&t.title),
        esc(&t.intro)
    ));
    for h in &t.header {
        out.push_str(&format!("<th>{}</th>", esc(h)));
    }
    out.push_str("</tr>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for c in row {
            let class = c
                .standing
                .map(|v| format!(" class=\"{}\"", v.css()))
                .unwrap_or_default();
            let title = unless_empty(&c.title, |t| format!(" title=\"{}\"", esc(t)));
            out.push_str(&format!("<td{class}{title}>{}</td>", esc(&c.text)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table></div>\n");
}

pub fn render(r: &Report) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n<title>IPC conformance report</title>\n<style>",
    );
    out.push_str(STYLE);
    out.push_str("</style></head><body>\n<h1>IPC conformance: what the guide claims, and what platforms do</h1>\n");
    let overview = r.overview(|measured, labels| match measured {
        true => format!("<b>{}</b>", esc(labels)),
        false => esc(labels),
    });
    out.push_str(&format!(
        "<p>{overview} Hover a cell for the claim, the expectation and the evidence.</p>\n"
    ));
    out.push_str("<p class=\"legend\"><span class=\"agree\" style=\"background:#d9f2dc\">agrees with the guide</span><span style=\"background:#f8c9c4\">departs from the guide</span><span style=\"background:#e3ecf7\">guide takes no stance</span><span style=\"background:#fbe8b4\">skipped / timeout / error</span><span style=\"background:#e4dcf4\">inconclusive (interval straddles the threshold)</span><span style=\"background:#f4f4f4\">not yet checked</span><span style=\"background:#e9e9e9\">not measured</span> ⚠ = differs from the platform's documented expectation</p>\n<nav>");
    for section in &r.sections {
        let title = section.title();
        out.push_str(&format!(
            "<a href=\"#{}\">{}</a>",
            anchor(title),
            esc(title)
        ));
    }
    out.push_str("</nav>\n");
    r.draw(&Draw::new((table, heading, paragraph, perf_run)), &mut out);
    out.push_str("</body></html>\n");
    out
}

/// A section's heading and its paragraph.
fn heading(out: &mut String, title: &str, intro: &str) {
    let _ = writeln!(
        out,
        "<h2 id=\"{}\">{}</h2>\n<p>{}</p>",
        anchor(title),
        esc(title),
        esc(intro)
    );
}

fn paragraph(out: &mut String, text: &str) {
    let _ = writeln!(out, "<p>{}</p>", esc(text));
}

/// A note's text without markup (the page sets none of it apart).
fn spans(note: &[Span]) -> String {
    note.iter()
        .map(|s| match s {
            Span::Plain(t) | Span::Strong(t) | Span::Code(t) => esc(t),
        })
        .collect()
}

/// One run's performance figures: its note, its chart, its tables.
fn perf_run(out: &mut String, run: &PerfRun) {
    let _ = writeln!(
        out,
        "<section class=\"perf-run\">\n<h3>{}</h3>",
        esc(&run.label)
    );
    let _ = writeln!(
        out,
        "<p class=\"perf-floor\" title=\"{}\"><strong>{}</strong></p>",
        esc(&run.floor.title),
        esc(&run.floor.text)
    );
    let _ = writeln!(out, "<p>{}</p>", spans(&run.note));
    out.push_str(&chart(&run.label, &run.figures));
    out.push_str("<table class=\"perf\">\n<thead><tr>");
    for h in FigureRow::HEADINGS {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for f in &run.figures {
        out.push_str("<tr>");
        for (text, title) in f.cells() {
            match title {
                Some(t) => {
                    let _ = write!(out, "<td title=\"{}\">{}</td>", esc(t), esc(text));
                }
                None => {
                    let _ = write!(out, "<td>{}</td>", esc(text));
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out.push_str("<table class=\"perf-verdicts\">\n<thead><tr><th>Claim</th><th>Guide</th><th>Observed</th><th>Evidence</th></tr></thead>\n<tbody>\n");
    for v in &run.verdicts {
        let observed = match &v.observed {
            Some(o) => format!(
                "<td class=\"obs-{}\"><strong>{}</strong></td>",
                esc(o),
                esc(o)
            ),
            None => "<td>not measured</td>".to_owned(),
        };
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td>{observed}<td>{}</td></tr>",
            esc(&v.claim),
            esc(&v.guide),
            esc(&v.evidence)
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}
