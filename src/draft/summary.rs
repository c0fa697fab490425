//! The drafted entries listed in Markdown for whoever reviews them (a CI job's
//! summary): per platform file, each claim with what was observed, what was
//! expected and from where, whether its entry replaces one or is added, the
//! runs and an excerpt of the evidence; then what was not drafted and why.
//! All free text is escaped (`markup::markdown`), so no evidence can
//! break a table or inject markup.

use std::fmt::Write as _;

use super::Draft;
use super::merge::Merged;
use crate::markup::markdown as escape;

/// Longest evidence excerpt in a table cell.
const EXCERPT: usize = 160;

/// The Markdown summary of `files` (each draft with its merge), naming the
/// patch they were written to (`None`: no patch, nothing departed).
pub fn render(files: &[(&Draft, &Merged)], patch: Option<&str>) -> String {
    let drafted: usize = files.iter().map(|(d, _)| d.entries.len()).sum();
    let entries: usize = files
        .iter()
        .map(|(_, m)| m.replaced.len() + m.added.len())
        .sum();
    let changed = files
        .iter()
        .filter(|(_, m)| !m.replaced.is_empty() || !m.added.is_empty())
        .count();
    let mut out = String::from("\n## Drafted platform-file entries\n\n");
    match patch {
        Some(name) if entries > 0 => {
            let _ = writeln!(
                out,
                "{entries} entr{} for {changed} platform file{}, drafted from the observations that departed from what the suite expected, in one patch, `{}`. Each is a measurement of the runs named in its source: apply the patch to the commit that ran (`git apply {}`), review every entry, add the documentation that explains it (man page, source file, vendor page) to its `source`, and commit (README: \"From a first run to a platform file\").\n",
                if entries == 1 { "y" } else { "ies" },
                if changed == 1 { "" } else { "s" },
                escape(name),
                escape(name),
            );
        }
        _ if drafted > 0 => out.push_str(
            "Every entry drafted from the departures below is in `platforms/` already: no patch.\n\n",
        ),
        _ => out.push_str(
            "No observation departed from what the suite expected in a way an entry could hold: nothing to add to `platforms/`.\n\n",
        ),
    }
    for (d, m) in files {
        let runs = d.runs.len();
        let _ = write!(
            out,
            "### `platforms/{}.toml`{}: ",
            escape(&d.stem),
            if m.created && !d.entries.is_empty() {
                " (new file)"
            } else {
                ""
            }
        );
        if d.entries.is_empty() {
            let _ = writeln!(
                out,
                "no departures in {runs} run{}\n",
                if runs == 1 { "" } else { "s" }
            );
        } else {
            let _ = write!(
                out,
                "{} replaced, {} added",
                m.replaced.len(),
                m.added.len()
            );
            if !m.unchanged.is_empty() {
                let _ = write!(out, ", {} already in the file", m.unchanged.len());
            }
            let _ = writeln!(
                out,
                ", from {runs} run{}\n",
                if runs == 1 { "" } else { "s" }
            );
            out.push_str("| claim | entry | observed | expected (from) | runs | evidence |\n");
            out.push_str("|---|---|---|---|---|---|\n");
            for (claim, e) in &d.entries {
                let what = if m.replaced.contains(claim) {
                    "replaces"
                } else if m.unchanged.contains(claim) {
                    "none: the file's entry already expects this"
                } else {
                    "adds"
                };
                let (expected, runs, evidence) = match d.details.get(claim) {
                    Some(x) if x.kept => (
                        format!(
                            "{}; kept under the drafted availability entry",
                            x.expected.join(", ")
                        ),
                        x.runs.join(", "),
                        x.evidence.as_str(),
                    ),
                    Some(x) => (
                        x.expected.join(", "),
                        x.runs.join(", "),
                        x.evidence.as_str(),
                    ),
                    None => (String::new(), String::new(), ""),
                };
                let _ = writeln!(
                    out,
                    "| `{}` | {what} | {} | {} | {} | {} |",
                    escape(claim),
                    e.expect_word(),
                    escape(&expected),
                    escape(&runs),
                    escape(&excerpt(evidence)),
                );
            }
            out.push('\n');
        }
        if !d.not_drafted.is_empty() {
            let _ = writeln!(
                out,
                "<details><summary>{} result{} of these runs not drafted, each with why</summary>\n",
                d.not_drafted.len(),
                if d.not_drafted.len() == 1 { "" } else { "s" }
            );
            for n in &d.not_drafted {
                let _ = writeln!(out, "- {}", escape(n));
            }
            out.push_str("\n</details>\n\n");
        }
    }
    out
}

/// At most EXCERPT characters of `s`.
fn excerpt(s: &str) -> String {
    if s.chars().count() > EXCERPT {
        let cut: String = s.chars().take(EXCERPT).collect();
        format!("{cut}…")
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::draft::Detail;
    use crate::expect::PlatformEntry;
    use crate::observe::Outcome;

    #[test]
    fn lists_each_entry_with_its_evidence_escaped() {
        let d = Draft {
            stem: "macos".into(),
            entries: [(
                "signal.kqueue_signal".to_owned(),
                PlatformEntry {
                    expect: Some(Outcome::No),
                    reason: "r".into(),
                    source: "s".into(),
                },
            )]
            .into(),
            details: [(
                "signal.kqueue_signal".to_owned(),
                Detail {
                    expected: vec!["yes (platforms/macos.toml)".into()],
                    runs: vec!["macos-aarch64 run run-1".into()],
                    evidence: "kevent | <b>none</b>".into(),
                    kept: false,
                },
            )]
            .into(),
            not_drafted: vec!["pipe.unidirectional: observed error".into()],
            runs: vec!["run run-1".into()],
        };
        let m = Merged {
            text: String::new(),
            replaced: vec!["signal.kqueue_signal".into()],
            added: Vec::new(),
            unchanged: Vec::new(),
            created: false,
        };
        let md = render(&[(&d, &m)], Some("platforms-draft.patch"));
        assert!(md.contains("`git apply platforms-draft.patch`"), "{md}");
        assert!(md.contains("### `platforms/macos.toml`: 1 replaced, 0 added, from 1 run"));
        let row = md
            .lines()
            .find(|l| l.starts_with("| `signal.kqueue_signal`"))
            .expect("the entry's row");
        assert!(
            row.contains("| replaces | no | yes (platforms/macos.toml) |")
                && row.contains("kevent \\| \\<b\\>none\\</b\\>"),
            "{row}"
        );
        assert!(md.contains("- pipe.unidirectional: observed error"));
        let none = render(&[], None);
        assert!(none.contains("nothing to add"), "{none}");
    }
}
