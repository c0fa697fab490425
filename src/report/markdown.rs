//! PORTABILITY.md: the report as GitHub-flavoured Markdown.

use super::model::{Table, Verdict};
use super::{Report, Section};

/// Makes free text (evidence, OS names, kernel strings, labels) inert in
/// GitHub-flavoured Markdown: every character that could end a table cell, open
/// emphasis, code, a link, math or raw HTML is backslash-escaped (CommonMark
/// escapes any ASCII punctuation this way, and GFM reads `\|` inside a table as a
/// literal bar), and line breaks and other control characters become spaces, so
/// a cell stays one cell on one line whatever the input. An underscore between
/// two letters or digits cannot open or close emphasis and stays as it is, so
/// ids such as `linux-x86_64-gnu` read (and search) the same as in the sources.
pub fn escape(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let alnum = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(|c| c.is_alphanumeric())
        };
        match c {
            '_' if alnum(i.checked_sub(1)) && alnum(Some(i + 1)) => out.push('_'),
            '\\' | '|' | '`' | '*' | '_' | '~' | '[' | ']' | '<' | '>' | '&' | '$' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

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
    out.push_str(&r.overview(|_, labels| escape(labels)));
    out.push_str("\n\n");
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
                out.push_str(&format!(
                    "\n## {}\n\n{}\n\n{markdown}\n",
                    escape(title),
                    escape(intro)
                ));
            }
        }
    }
    out
}
