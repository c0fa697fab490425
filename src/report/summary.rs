//! What a person (or a script) reads first of a set of runs: per run, how many
//! claims were observed and how they stand against the guide, which depart
//! from it, which missed the platform's documented expectation (status
//! `fail`), which verdicts are inconclusive, each with its evidence. From the
//! model: `cargo ipc-report`'s closing lines ([`closing`]), `ipcconf summary`'s
//! table ([`table`]) and its JSON ([`json`](fn@json), `--json`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use super::model::{Model, Run, Seen, Standing};
use super::text::cut;
use crate::results::Status;

/// Evidence longer than this is cut in the table (the JSON has all of it).
const EVIDENCE: usize = 120;

/// A run's claims worth a look: departures from the guide, unexpected results
/// (status `fail`), inconclusive verdicts; and its counts per standing.
struct Look<'a> {
    departures: Vec<Seen<'a>>,
    unexpected: Vec<Seen<'a>>,
    inconclusive: Vec<Seen<'a>>,
    standing: BTreeMap<Standing, usize>,
}

fn look<'a>(run: &Run<'a>) -> Look<'a> {
    let mut l = Look {
        departures: Vec::new(),
        unexpected: Vec::new(),
        inconclusive: Vec::new(),
        standing: BTreeMap::new(),
    };
    for s in run.all_seen() {
        *l.standing.entry(s.standing).or_insert(0) += 1;
        match s.standing {
            Standing::Departs => l.departures.push(s),
            Standing::Inconclusive => l.inconclusive.push(s),
            _ => {}
        }
        if s.record.status == Status::Fail {
            l.unexpected.push(s);
        }
    }
    l
}

impl Look<'_> {
    fn count(&self, standing: Standing) -> usize {
        self.standing.get(&standing).copied().unwrap_or(0)
    }

    /// "N claims observed: A agree with the guide, D depart, ..."
    fn counts_line(&self, results: usize) -> String {
        let decided = [
            Standing::Agrees,
            Standing::Departs,
            Standing::NoStance,
            Standing::Inconclusive,
        ];
        let undecided: usize = self
            .standing
            .iter()
            .filter(|(k, _)| !decided.contains(k))
            .map(|(_, n)| n)
            .sum();
        format!(
            "{results} claims observed: {} agree with the guide, {} depart, {} where it takes no stance, {} inconclusive, {undecided} skipped, error or timeout",
            self.count(Standing::Agrees),
            self.departures.len(),
            self.count(Standing::NoStance),
            self.inconclusive.len(),
        )
    }
}

/// How many of `items` there are of each value.
fn tally<T: Ord>(items: impl Iterator<Item = T>) -> BTreeMap<T, usize> {
    let mut counts = BTreeMap::new();
    for item in items {
        *counts.entry(item).or_insert(0) += 1;
    }
    counts
}

/// One claim of a run as scripts read it: observed, the guide's stance on the
/// run's OS, the expectation (`null`: no stance) and its origin, the evidence.
fn finding(s: &Seen) -> Value {
    let r = s.record;
    json!({
        "claim": r.claim,
        "observed": r.observed,
        "guide": s.doc,
        "expected": r.expected.value,
        "origin": r.expected.origin,
        "evidence": r.detail,
    })
}

/// The summary as JSON (README.md, "Summarizing runs"): per run, its column,
/// its info, its counts, its findings and every result; then the columns no
/// run measured (`not_measured`).
pub fn json(m: &Model, not_measured: &[String]) -> Value {
    let runs: Vec<Value> = m
        .runs
        .iter()
        .map(|run| {
            let l = look(run);
            let claims: Vec<Value> = run
                .all_seen()
                .map(|s| {
                    let mut v = finding(&s);
                    let measured: BTreeMap<&str, f64> = s
                        .record
                        .measured
                        .iter()
                        .map(|q| (q.name.as_str(), q.value))
                        .collect();
                    v["status"] = json!(s.record.status);
                    v["standing"] = json!(s.standing);
                    v["duration_ms"] = json!(s.record.duration_ms);
                    v["measured"] = json!(measured);
                    v
                })
                .collect();
            let findings = |list: &[Seen]| list.iter().map(finding).collect::<Vec<_>>();
            json!({
                "column": run.column,
                "run": run.info(),
                "results": run.results().len(),
                "status": tally(run.results().iter().map(|r| r.status)),
                "observed": tally(run.results().iter().map(|r| r.observed)),
                "standing": l.standing,
                "departures": findings(&l.departures),
                "unexpected": findings(&l.unexpected),
                "inconclusive": findings(&l.inconclusive),
                "claims": claims,
            })
        })
        .collect();
    json!({ "schema": 1, "runs": runs, "not_measured": not_measured })
}

/// At most this many claim ids are listed per line of the closing lines.
const LIST: usize = 8;

fn list(ids: &[String]) -> String {
    if ids.is_empty() {
        return "none".into();
    }
    let mut s = ids
        .iter()
        .take(LIST)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > LIST {
        let _ = write!(s, " and {} more", ids.len() - LIST);
    }
    s
}

/// The lines `cargo ipc-report` ends with, ending with the path of `index`.
pub fn closing(m: &Model, index: &str) -> String {
    let mut out = String::from("\nSummary\n");
    for run in &m.runs {
        let l = look(run);
        let _ = writeln!(
            out,
            "  {}: {}",
            run.column,
            l.counts_line(run.results().len())
        );
        let departs: Vec<String> = l
            .departures
            .iter()
            .map(|s| {
                format!(
                    "{} (observed {}, guide {})",
                    s.record.claim, s.record.observed, s.doc
                )
            })
            .collect();
        let unexpected: Vec<String> = l
            .unexpected
            .iter()
            .map(|s| format!("{} (observed {})", s.record.claim, s.record.observed))
            .collect();
        let inconclusive: Vec<String> = l
            .inconclusive
            .iter()
            .map(|s| s.record.claim.to_string())
            .collect();
        let _ = writeln!(out, "    departures from the guide: {}", list(&departs));
        let _ = writeln!(
            out,
            "    unexpected (differ from this platform's documented expectation): {}",
            list(&unexpected)
        );
        let _ = writeln!(out, "    inconclusive verdicts: {}", list(&inconclusive));
    }
    let _ = writeln!(out, "Report: {index}");
    out
}

/// `ipcconf summary`: per run, who ran it, its counts, and a table of each of
/// its departures, unexpected results and inconclusive verdicts; then the
/// columns no run measured.
pub fn table(m: &Model, not_measured: &[String]) -> String {
    let mut out = String::new();
    for run in &m.runs {
        let l = look(run);
        let by_status = tally(run.results().iter().map(|r| r.status));
        let status: Vec<String> = Status::ALL
            .iter()
            .map(|st| format!("{} {st}", by_status.get(st).copied().unwrap_or(0)))
            .collect();
        let r = run.info();
        let detail = if r.runtime_detail.is_empty() {
            r.runtime.as_str().to_owned()
        } else {
            format!("{}, {}", r.runtime.as_str(), r.runtime_detail)
        };
        let _ = writeln!(
            out,
            "{} (run {}; {}; {}; {}; {})",
            run.column, r.run_id, r.os_version, r.kernel, r.libc, detail
        );
        let _ = writeln!(
            out,
            "  {} results: {}",
            run.results().len(),
            status.join(", ")
        );
        let _ = writeln!(out, "  {}", l.counts_line(run.results().len()));
        for (what, found) in [
            ("departures from the guide", &l.departures),
            ("unexpected (status fail)", &l.unexpected),
            ("inconclusive verdicts", &l.inconclusive),
        ] {
            findings(what, found, &mut out);
        }
        out.push('\n');
    }
    if !not_measured.is_empty() {
        let _ = writeln!(out, "not measured: {}", not_measured.join(", "));
    }
    out
}

/// One list of findings as a table: claim, observed, guide, expected (from), evidence.
fn findings(what: &str, found: &[Seen], out: &mut String) {
    if found.is_empty() {
        let _ = writeln!(out, "  {what}: none");
        return;
    }
    let _ = writeln!(out, "  {what} ({}):", found.len());
    let rows: Vec<[String; 5]> = found
        .iter()
        .map(|s| {
            let r = s.record;
            let expected = r.expected.value.map_or("no stance", |o| o.as_str());
            [
                r.claim.to_string(),
                r.observed.to_string(),
                s.doc.to_string(),
                format!("{expected} ({})", r.expected.origin),
                cut(&r.detail, EVIDENCE).replace(char::is_control, " "),
            ]
        })
        .collect();
    let header = ["claim", "observed", "guide", "expected (from)", "evidence"].map(String::from);
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            std::iter::once(&header)
                .chain(&rows)
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::from("   ");
        for (i, cell) in row.iter().enumerate() {
            match widths.get(i) {
                Some(&w) => {
                    let _ = write!(line, " {cell:<w$} ");
                }
                None => {
                    let _ = write!(line, " {cell}");
                }
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Stance;
    use crate::observe::Outcome;

    #[test]
    fn inconclusive_is_neither_agreement_nor_departure() {
        for doc in [Stance::Yes, Stance::No, Stance::Unstated] {
            assert_eq!(
                Standing::of(Outcome::Inconclusive, doc),
                Standing::Inconclusive
            );
        }
        assert_eq!(Outcome::parse("inconclusive"), Some(Outcome::Inconclusive));
        assert_eq!(Standing::Inconclusive.css(), "inconclusive");
    }

    /// The Wine fixture: its departures, unexpected results and counts, as the
    /// table shows them and as scripts read them.
    #[test]
    fn the_wine_fixture_summarized() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wine-first-run");
        let sets = [crate::results::load(&dir, crate::catalog::Catalog::get()).unwrap()];
        let m = Model::build(&sets, &[]);
        let not_measured: Vec<String> = m.not_measured().map(str::to_owned).collect();
        let l = look(&m.runs[0]);
        assert_eq!((l.departures.len(), l.unexpected.len()), (7, 5));
        let text = table(&m, &not_measured);
        assert!(
            text.starts_with("windows-x86_64-gnu (wine) (run 20261204T135654Z-f95bb335;"),
            "{text}"
        );
        assert!(
            text.contains("  11 results: 5 pass, 5 fail, 1 skipped\n"),
            "{text}"
        );
        let row = text
            .lines()
            .find(|l| l.trim_start().starts_with("unix_dgram.available"))
            .expect("a departure's row");
        assert!(
            row.contains("unsupported (platforms/windows.toml)") && row.contains("WSAEAFNOSUPPORT"),
            "{row}"
        );
        let json = json(&m, &not_measured);
        let r = &json["runs"][0];
        assert_eq!(r["status"]["fail"], 5);
        assert_eq!(r["observed"]["unsupported"], 7);
        assert_eq!(r["standing"]["departs"], 7);
        assert_eq!(r["claims"].as_array().unwrap().len(), 11);
        assert_eq!(r["claims"][0]["claim"], "perf.latency_pipe");
        assert_eq!(json["not_measured"][0], "Linux");
    }

    #[test]
    fn long_lists_are_cut() {
        let ids: Vec<String> = (0..10).map(|i| format!("c{i}")).collect();
        assert_eq!(list(&ids[..2]), "c0, c1");
        assert!(list(&ids).ends_with("c7 and 2 more"));
        assert_eq!(list(&[]), "none");
    }
}
