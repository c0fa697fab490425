//! PORTABILITY.md: the report as GitHub-flavoured Markdown.

use super::model::{Table, Verdict};
use super::{Report, Section};

fn escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn table(t: &Table, out: &mut String) {
    out.push_str(&format!("\n## {}\n\n{}\n\n", t.title, t.intro));
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
            .map(|c| match c.verdict {
                Some(Verdict::Departs) => format!("**{}**", escape(&c.text)),
                Some(Verdict::NotMeasured) | Some(Verdict::NotChecked) => {
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
    out.push_str(&format!(
        "Runs: {}. Not measured: {}. Coverage: {} of {} catalogued claims checked.\n\n",
        r.column_labels(true),
        r.column_labels(false),
        r.checked,
        r.catalogued
    ));
    out.push_str("Legend: ✓ yes, ✗ no, **bold** departs from the guide (its word in parentheses), _italic_ not measured or not yet checked, ⚠ unexpected: the observation differs from the platform's documented expectation.\n");
    for section in &r.sections {
        match section {
            Section::Table(t) => table(t, &mut out),
            Section::Fragment {
                title,
                intro,
                markdown,
                ..
            } => {
                out.push_str(&format!("\n## {title}\n\n{intro}\n\n{markdown}\n"));
            }
        }
    }
    out
}
