//! What a person (or a script) reads first of a set of runs: per run, how many
//! claims were observed and how they stand against the guide, which depart
//! from it, which missed the platform's documented expectation (status
//! `fail`), which verdicts are inconclusive, each with its evidence. From the
//! model: `cargo ipc-report`'s closing lines ([`closing`]), `ipcconf summary`'s
//! table ([`table`]), its JSON ([`json`](fn@json), `--json`) and the plain
//! lines scripts read ([`lines`], `--format`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use super::model::{Model, Run, Seen, Standing};
use super::text::cut;
use crate::perf::Verdict;
use crate::results::{ResultRecord, Status};

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

/// A performance verdict's statistic with its interval, as its result
/// measured them (each figure `null` when not recorded: a skipped verdict);
/// `null` for a claim that is no verdict.
fn interval(r: &ResultRecord) -> Value {
    let Some(verdict) = Verdict::of_claim(&r.claim) else {
        return Value::Null;
    };
    let name = verdict.statistic();
    let q = |suffix: &str| r.quantity(&format!("{name}{suffix}"));
    json!({
        "statistic": name,
        "estimate": q(""),
        "low": q("_low"),
        "high": q("_high"),
        "confidence": r.quantity("confidence"),
        "rounds": r.quantity("rounds"),
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
                    v["interval"] = interval(s.record);
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

/// What one line of [`lines`] stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Per {
    /// A run: its fields are those of `runs[]` in the JSON.
    Run,
    /// A claim of a run: the fields of `claims[]`, then those of its run.
    Claim,
}

/// The summary's JSON (`doc`, from [`json`](fn@json)) as plain lines for
/// scripts (`ipcconf summary --format`): `template` once per run, or per
/// claim of every run, each `{FIELD}` replaced by that field's value and
/// `\t`, `\n`, `\\` by a tab, a line break, a backslash; a line break ends each.
/// A field is a key of the JSON, a dotted path into it (`run.platform`,
/// `status.pass`, `measured.median_ns`, `interval.low`). Its first key must
/// be one the JSON has (else an error names it); under it, a count missing
/// from `status`, `observed` or `standing` is 0 and anything else missing is
/// `null`. Text prints as is (control characters as spaces, so a line stays
/// one line), numbers as the JSON writes them, a list or an object as
/// one-line JSON.
pub fn lines(doc: &Value, template: &str, per: Per) -> Result<String, String> {
    let parts = parse_template(template)?;
    let mut out = String::new();
    for run in doc["runs"].as_array().into_iter().flatten() {
        let claims: Vec<&Value> = match per {
            Per::Run => vec![&Value::Null],
            Per::Claim => run["claims"].as_array().into_iter().flatten().collect(),
        };
        for claim in claims {
            for part in &parts {
                match part {
                    Part::Text(t) => out.push_str(t),
                    Part::Field(path) => out.push_str(&field(claim, run, path)?),
                }
            }
            out.push('\n');
        }
    }
    Ok(out)
}

/// A template's literal text and its fields, in order.
#[derive(Debug, PartialEq)]
enum Part {
    Text(String),
    Field(Vec<String>),
}

fn parse_template(template: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('t') => text.push('\t'),
                Some('n') => text.push('\n'),
                Some('\\') => text.push('\\'),
                other => {
                    return Err(format!(
                        "--format: unknown escape \\{} (\\t, \\n and \\\\ are known)",
                        other.map(String::from).unwrap_or_default()
                    ));
                }
            },
            '{' => {
                let mut name = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    name.push(c);
                }
                let path: Vec<String> = name.split('.').map(str::to_owned).collect();
                if !closed || path.iter().any(String::is_empty) {
                    return Err(format!(
                        "--format: {{{name}}} is no field (a field is {{KEY}} or {{KEY.KEY...}}, closed by }})"
                    ));
                }
                parts.push(Part::Text(std::mem::take(&mut text)));
                parts.push(Part::Field(path));
            }
            '}' => return Err("--format: a } without its {".into()),
            c => text.push(c),
        }
    }
    parts.push(Part::Text(text));
    Ok(parts)
}

/// The value of `path` in `claim` (when it has the first key) or in `run`.
fn field(claim: &Value, run: &Value, path: &[String]) -> Result<String, String> {
    let first = &path[0];
    let holder = [claim, run]
        .into_iter()
        .find(|v| v.get(first).is_some())
        .ok_or_else(|| {
            let mut keys: Vec<&String> = [claim, run]
                .iter()
                .filter_map(|v| v.as_object())
                .flat_map(|o| o.keys())
                .collect();
            keys.sort();
            keys.dedup();
            let keys: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
            format!("--format: no field {first:?} (fields: {})", keys.join(", "))
        })?;
    let mut v = &holder[first.as_str()];
    let mut rest = &path[1..];
    while !rest.is_empty() {
        // A key may hold dots itself (a measured quantity's name): the longest
        // one that matches wins.
        let found = (1..=rest.len()).rev().find_map(|n| {
            let key = rest[..n].join(".");
            v.get(&key).map(|inner| (inner, n))
        });
        match found {
            Some((inner, n)) => {
                v = inner;
                rest = &rest[n..];
            }
            None if std::ptr::eq(holder, run)
                && path.len() == 2
                && ["status", "observed", "standing"].contains(&first.as_str()) =>
            {
                return Ok("0".into());
            }
            None => return Ok("null".into()),
        }
    }
    Ok(match v {
        Value::String(s) => s.replace(char::is_control, " "),
        other => other.to_string(),
    })
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

    /// The committed excerpt of a Wine first run (tests/fixtures/wine-first-run).
    fn wine_first_run() -> [crate::results::ResultSet; 1] {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wine-first-run");
        [crate::results::load(&dir, crate::catalog::Catalog::get()).unwrap()]
    }

    /// The Wine fixture: its departures, unexpected results and counts, as the
    /// table shows them and as scripts read them.
    #[test]
    fn the_wine_fixture_summarized() {
        let sets = wine_first_run();
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

    /// The lines scripts read: per run, per claim, counts that are zero,
    /// a verdict's interval, and the errors that name a bad template.
    #[test]
    fn lines_fill_a_template_per_run_or_claim() {
        let sets = wine_first_run();
        let m = Model::build(&sets, &[]);
        let doc = json(&m, &[]);
        let run = lines(
            &doc,
            "{run.platform}\\t{run.runtime}\\t{results}\\t{status.pass}\\t{status.error}\\t{standing.departs}",
            Per::Run,
        )
        .unwrap();
        assert_eq!(run, "windows-x86_64-gnu\twine\t11\t5\t0\t7\n");
        let claims = lines(&doc, "{claim} {observed} {origin} {column}", Per::Claim).unwrap();
        assert_eq!(claims.lines().count(), 11, "{claims}");
        assert!(
            claims.contains(
                "\nunix_dgram.available unsupported platforms/windows.toml windows-x86_64-gnu (wine)\n"
            ),
            "{claims}"
        );
        // Missing below a known key: null; the evidence stays on its line.
        let one = lines(
            &doc,
            "{measured.nothing}|{interval.low}|{evidence}",
            Per::Claim,
        )
        .unwrap();
        assert!(one.lines().all(|l| l.starts_with("null|null|")), "{one}");
        assert_eq!(one.lines().count(), 11);
        for (bad, says) in [
            ("{platfrom}", "no field \"platfrom\""),
            ("{run.}", "is no field"),
            ("{results", "is no field"),
            ("x}", "without its {"),
            ("\\q", "unknown escape"),
        ] {
            let e = lines(&doc, bad, Per::Run).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    /// A verdict's statistic and interval, read from its measured figures.
    #[test]
    fn a_verdict_has_its_interval() {
        let rec: ResultRecord = serde_json::from_value(json!({
            "claim": "perf.shm_spin_sub_microsecond",
            "observed": "yes",
            "expected": {"value": "yes", "origin": "guide", "reason": "", "source": ""},
            "doc": "yes",
            "detail": "d",
            "status": "pass",
            "duration_ms": 1.0,
            "time": "2026-01-01T00:00:00Z",
            "measured": [
                {"name": "median_ns", "value": 180.0, "unit": "ns"},
                {"name": "median_ns_low", "value": 170.0, "unit": "ns"},
                {"name": "median_ns_high", "value": 190.0, "unit": "ns"},
                {"name": "rounds", "value": 6.0, "unit": "count"},
            ],
        }))
        .unwrap();
        let iv = interval(&rec);
        assert_eq!(iv["statistic"], "median_ns");
        assert_eq!(
            (iv["low"].as_f64(), iv["rounds"].as_f64()),
            (Some(170.0), Some(6.0))
        );
        assert_eq!(iv["confidence"], Value::Null);
        let mut skipped = rec.clone();
        skipped.measured.clear();
        assert_eq!(interval(&skipped)["statistic"], "median_ns");
        assert_eq!(interval(&skipped)["low"], Value::Null);
        skipped.claim = crate::results::ClaimId::new("perf.latency_pipe").unwrap();
        assert_eq!(interval(&skipped), Value::Null);
    }

    #[test]
    fn long_lists_are_cut() {
        let ids: Vec<String> = (0..10).map(|i| format!("c{i}")).collect();
        assert_eq!(list(&ids[..2]), "c0, c1");
        assert!(list(&ids).ends_with("c7 and 2 more"));
        assert_eq!(list(&[]), "none");
    }
}
