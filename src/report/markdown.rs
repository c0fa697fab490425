//! PORTABILITY.md: the report as GitHub-flavoured Markdown.

use std::fmt::Write as _;

use super::document::{Draw, FigureRow, PerfRun, Report, Span, Table};
use super::model::Standing;
use crate::markup::markdown as escape;

fn table(out: &mut String, t: &Table) {
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
    r.draw(&Draw::new((table, heading, paragraph, perf_run)), &mut out);
    out
}

/// A section's heading and its paragraph.
fn heading(out: &mut String, title: &str, intro: &str) {
    let _ = write!(out, "\n## {}\n\n{}\n\n", escape(title), escape(intro));
}

fn paragraph(out: &mut String, text: &str) {
    let _ = writeln!(out, "{}", escape(text));
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
fn perf_run(out: &mut String, run: &PerfRun) {
    let _ = writeln!(out, "### {}\n", escape(&run.label));
    let _ = writeln!(out, "**{}**\n", escape(&run.floor.text));
    let _ = writeln!(out, "{}\n", spans(&run.note));
    let _ = writeln!(out, "| {} |", FigureRow::HEADINGS.join(" | "));
    let _ = writeln!(
        out,
        "|---{}|",
        "|---:".repeat(FigureRow::HEADINGS.len() - 1)
    );
    for f in &run.figures {
        let cells: Vec<String> = f.cells().iter().map(|(text, _)| escape(text)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
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
