//! What a person (or a script) reads first of a set of runs: per run, how many
//! claims were observed and how they stand against the guide, which depart
//! from it, which missed the platform's documented expectation (status
//! `fail`), which verdicts are inconclusive, each with its evidence. From the
//! model: `cargo ipc-report`'s closing lines ([`closing`]), `ipcconf summary`'s
//! table ([`table`]) and its JSON ([`Summary`], `--json`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::model::{Model, Run, Seen, Standing};
use super::text::cut;
use crate::observe::Outcome;
use crate::results::Status;

/// Evidence longer than this is cut in a finding (the result keeps all of it).
const EVIDENCE: usize = 120;

/// The summary of every run, in the order given.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The version of this shape (README.md, "Summarizing runs").
    pub schema: u32,
    pub runs: Vec<RunSummary>,
    /// Columns of platforms expected or absent that no run measured.
    pub not_measured: Vec<String>,
}

/// One run: who ran it, its counts, its findings, and every result.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// The run's column key: platform, and runtime when not native.
    pub column: String,
    pub platform: String,
    pub os: String,
    pub runtime: String,
    pub runtime_detail: String,
    pub os_version: String,
    pub kernel: String,
    pub libc: String,
    pub run_id: String,
    pub suite_revision: String,
    /// Results recorded.
    pub results: usize,
    /// Results per status: `pass`, `fail`, `skipped`.
    pub status: BTreeMap<Status, usize>,
    /// Results per observed outcome (`yes`, `no`, `measured`, ...).
    pub observed: BTreeMap<Outcome, usize>,
    /// Results per standing against the guide (`agrees`, `departs`,
    /// `no-stance`, `undecided`, `inconclusive`).
    pub standing: BTreeMap<Standing, usize>,
    pub departures: Vec<Finding>,
    pub unexpected: Vec<Finding>,
    pub inconclusive: Vec<Finding>,
    /// Every result, in claim order.
    pub claims: Vec<ClaimResult>,
}

/// A claim worth a look, with its evidence cut short.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub claim: String,
    pub observed: String,
    /// The guide's stance on the run's OS.
    pub guide: String,
    /// What the run expected (`null`: no stance) and where that comes from.
    pub expected: Option<String>,
    pub origin: String,
    pub evidence: String,
}

/// One result as scripts read it.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimResult {
    pub claim: String,
    pub observed: String,
    pub status: Status,
    pub standing: Standing,
    pub expected: Option<String>,
    pub origin: String,
    pub duration_ms: f64,
    /// Measured quantities by name.
    pub measured: BTreeMap<String, f64>,
    pub detail: String,
}

impl Summary {
    pub fn of(m: &Model) -> Summary {
        Summary {
            schema: 1,
            runs: m.runs.iter().map(run_summary).collect(),
            not_measured: m
                .columns
                .iter()
                .filter(|c| c.run.is_none())
                .map(|c| c.label.clone())
                .collect(),
        }
    }
}

fn finding(s: Seen) -> Finding {
    let r = s.record;
    Finding {
        claim: r.claim.to_string(),
        observed: r.observed.to_string(),
        guide: s.doc.to_string(),
        expected: r.expected.value.map(|v| v.to_string()),
        origin: r.expected.origin.clone(),
        evidence: cut(&r.detail, EVIDENCE),
    }
}

fn run_summary(run: &Run) -> RunSummary {
    let info = run.info();
    let mut status = BTreeMap::new();
    let mut observed = BTreeMap::new();
    for r in run.results() {
        *status.entry(r.status).or_insert(0) += 1;
        *observed.entry(r.observed).or_insert(0) += 1;
    }
    let mut standing = BTreeMap::new();
    let (mut departures, mut unexpected, mut inconclusive) = (Vec::new(), Vec::new(), Vec::new());
    let mut claims = Vec::new();
    for s in run.all_seen() {
        *standing.entry(s.standing).or_insert(0) += 1;
        match s.standing {
            Standing::Departs => departures.push(finding(s)),
            Standing::Inconclusive => inconclusive.push(finding(s)),
            _ => {}
        }
        if s.record.status == Status::Fail {
            unexpected.push(finding(s));
        }
        let r = s.record;
        claims.push(ClaimResult {
            claim: r.claim.to_string(),
            observed: r.observed.to_string(),
            status: r.status,
            standing: s.standing,
            expected: r.expected.value.map(|v| v.to_string()),
            origin: r.expected.origin.clone(),
            duration_ms: r.duration_ms,
            measured: r
                .measured
                .iter()
                .map(|q| (q.name.clone(), q.value))
                .collect(),
            detail: r.detail.clone(),
        });
    }
    RunSummary {
        column: run.column.clone(),
        platform: info.platform.clone(),
        os: info.os.key().to_owned(),
        runtime: info.runtime.as_str().to_owned(),
        runtime_detail: info.runtime_detail.clone(),
        os_version: info.os_version.clone(),
        kernel: info.kernel.clone(),
        libc: info.libc.clone(),
        run_id: info.run_id.clone(),
        suite_revision: info.suite_revision.clone(),
        results: run.results().len(),
        status,
        observed,
        standing,
        departures,
        unexpected,
        inconclusive,
        claims,
    }
}

impl RunSummary {
    fn count(&self, standing: Standing) -> usize {
        self.standing.get(&standing).copied().unwrap_or(0)
    }

    /// Results neither agreeing, departing, without stance nor inconclusive.
    fn undecided(&self) -> usize {
        self.standing
            .iter()
            .filter(|(k, _)| {
                !matches!(
                    k,
                    Standing::Agrees
                        | Standing::Departs
                        | Standing::NoStance
                        | Standing::Inconclusive
                )
            })
            .map(|(_, n)| n)
            .sum()
    }

    /// "N claims observed: A agree with the guide, D depart, ..."
    fn counts_line(&self) -> String {
        format!(
            "{} claims observed: {} agree with the guide, {} depart, {} where it takes no stance, {} inconclusive, {} skipped, error or timeout",
            self.results,
            self.count(Standing::Agrees),
            self.departures.len(),
            self.count(Standing::NoStance),
            self.inconclusive.len(),
            self.undecided(),
        )
    }
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
pub fn closing(s: &Summary, index: &str) -> String {
    let mut out = String::from("\nSummary\n");
    for run in &s.runs {
        let _ = writeln!(out, "  {}: {}", run.column, run.counts_line());
        let departs: Vec<String> = run
            .departures
            .iter()
            .map(|f| format!("{} (observed {}, guide {})", f.claim, f.observed, f.guide))
            .collect();
        let unexpected: Vec<String> = run
            .unexpected
            .iter()
            .map(|f| format!("{} (observed {})", f.claim, f.observed))
            .collect();
        let inconclusive: Vec<String> = run.inconclusive.iter().map(|f| f.claim.clone()).collect();
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
/// its departures, unexpected results and inconclusive verdicts.
pub fn table(s: &Summary) -> String {
    let mut out = String::new();
    for run in &s.runs {
        let status: Vec<String> = Status::ALL
            .iter()
            .map(|st| format!("{} {st}", run.status.get(st).copied().unwrap_or(0)))
            .collect();
        let detail = if run.runtime_detail.is_empty() {
            run.runtime.clone()
        } else {
            format!("{}, {}", run.runtime, run.runtime_detail)
        };
        let _ = writeln!(
            out,
            "{} (run {}; {}; {}; {}; {})",
            run.column, run.run_id, run.os_version, run.kernel, run.libc, detail
        );
        let _ = writeln!(out, "  {} results: {}", run.results, status.join(", "));
        let _ = writeln!(out, "  {}", run.counts_line());
        for (what, found) in [
            ("departures from the guide", &run.departures),
            ("unexpected (status fail)", &run.unexpected),
            ("inconclusive verdicts", &run.inconclusive),
        ] {
            findings(what, found, &mut out);
        }
        out.push('\n');
    }
    if !s.not_measured.is_empty() {
        let _ = writeln!(out, "not measured: {}", s.not_measured.join(", "));
    }
    out
}

/// One list of findings as a table: claim, observed, guide, expected (from), evidence.
fn findings(what: &str, found: &[Finding], out: &mut String) {
    if found.is_empty() {
        let _ = writeln!(out, "  {what}: none");
        return;
    }
    let _ = writeln!(out, "  {what} ({}):", found.len());
    let rows: Vec<[String; 5]> = found
        .iter()
        .map(|f| {
            let expected = f.expected.as_deref().unwrap_or("no stance");
            [
                f.claim.clone(),
                f.observed.clone(),
                f.guide.clone(),
                format!("{expected} ({})", f.origin),
                f.evidence.replace(char::is_control, " "),
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
        let s = Summary::of(&Model::build(&sets, &[]));
        let run = &s.runs[0];
        assert_eq!(
            (run.results, run.departures.len(), run.unexpected.len()),
            (11, 7, 5)
        );
        let text = table(&s);
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
        let json = serde_json::to_value(&s).unwrap();
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
