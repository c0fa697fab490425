//! PORTABILITY.md: the report as GitHub-flavoured Markdown.

use std::fmt::Write as _;

use super::document::{NO_FIGURES, PerfRun, Report, Section, Span, Table};
use super::model::Standing;
use crate::markup::markdown as escape;

fn table(t: &Table, out: &mut String) {
    out.push_str(&format!(
        "\n## {}\n\n{}\n\n",
        escape(&t.title),
        escape(&t.intro)
    ));
    out.push_str(&format!(
        "| {} |\n",
        t.header
            .iter()
            .map(|h| escape(h))
            .collect::<Vec<_>>()
            .join(" | ")
    ));
    out.push_str(&format!("|{}\n", "---|".repeat(t.header.len())));
    for row in &t.rows {
        let cells: Vec<String> = row
            .iter()
            .map(|c| match c.standing {
                Some(Standing::Departs) => format!("**{}**", escape(&c.text)),
                Some(Standing::NotMeasured) | Some(Standing::NotChecked) => {
                    format!("_{}_", escape(&c.text))
                }
                _ => escape(&c.text),
            })
            .collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
}

pub fn render(r: &Report) -> String {
    let mut out =
        String::from("# IPC conformance: what the guide claims, and what platforms do\n\n");
    out.push_str(&r.overview(|_, labels| escape(labels)));
    out.push_str("\n\n");
    out.push_str("Legend: ✓ yes, ✗ no, **bold** departs from the guide (its word in parentheses), _italic_ not measured or not yet checked, ⚠ unexpected: the observation differs from the platform's documented expectation.\n");
    for section in &r.sections {
        match section {
            Section::Table(t) => table(t, &mut out),
            Section::Text { title, intro } => {
                heading(title, intro, &mut out);
                out.push('\n');
            }
            Section::Performance { title, intro, runs } => {
                heading(title, intro, &mut out);
                if runs.is_empty() {
                    let _ = writeln!(out, "{NO_FIGURES}.");
                }
                for run in runs {
                    perf_run(run, &mut out);
                }
                out.push('\n');
            }
        }
    }
    out
}

/// A section's heading and paragraph, and the blank line after them.
fn heading(title: &str, intro: &str, out: &mut String) {
    let _ = write!(out, "\n## {}\n\n{}\n\n", escape(title), escape(intro));
}

/// A note, its strong runs in bold and its commands as code.
fn spans(note: &[Span]) -> String {
    note.iter()
        .map(|s| match s {
            Span::Plain(t) => escape(t),
            Span::Strong(t) => format!("**{}**", escape(t)),
            Span::Code(t) => format!("`{}`", t.replace('`', "")),
        })
        .collect()
}

/// One run's performance figures: its note and its two tables.
fn perf_run(run: &PerfRun, out: &mut String) {
    let _ = writeln!(out, "### {}\n", escape(&run.label));
    let _ = writeln!(out, "{}\n", spans(&run.note));
    out.push_str("| Mechanism | Round trip (median [95% interval]) | p99 | suite/C | Throughput [95% interval] | Message size |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|\n");
    for f in &run.figures {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            escape(&f.mechanism),
            escape(&f.latency.text),
            escape(&f.p99),
            escape(&f.suite_over_c),
            escape(&f.throughput.text),
            escape(&f.message_size)
        );
    }
    out.push_str("\n| Claim | Guide | Observed | Evidence |\n|---|---|---|---|\n");
    for v in &run.verdicts {
        let _ = match &v.observed {
            Some(o) => writeln!(
                out,
                "| `{}` | {} | **{}** | {} |",
                v.claim,
                escape(&v.guide),
                escape(o),
                escape(&v.evidence)
            ),
            None => writeln!(out, "| `{}` | | not measured | |", v.claim),
        };
    }
    out.push('\n');
}
