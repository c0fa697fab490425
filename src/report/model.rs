//! The report's content, independent of its format: runs as columns, cells that
//! compare an observation with the guide, and the tables the guide printed.

use serde::Serialize;

use crate::catalog::{Catalog, Claim, Kind, Os, Stance};
use crate::guide::Guide;
use crate::observe::Outcome;
use crate::platform::RunInfo;
use crate::results::{ResultRecord, ResultSet, Status};

/// How an observation stands against the guide's stance on that run's OS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Observed what the guide says.
    Agrees,
    /// Observed the opposite of what the guide says.
    Departs,
    /// The guide takes no stance; the observation stands alone.
    NoStance,
    /// Skipped, error or timeout: nothing was decided.
    Undecided,
    /// A sound measurement whose interval straddles the verdict's threshold:
    /// neither agreement nor departure.
    Inconclusive,
    /// No result for this claim in this run.
    NotChecked,
    /// No run for this platform at all.
    NotMeasured,
}

impl Verdict {
    pub fn css(self) -> &'static str {
        match self {
            Verdict::Agrees => "agree",
            Verdict::Departs => "depart",
            Verdict::NoStance => "nostance",
            Verdict::Undecided => "undecided",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotChecked => "unchecked",
            Verdict::NotMeasured => "unmeasured",
        }
    }
}

/// Compares an observation with the guide's stance.
pub fn verdict(observed: Outcome, doc: Stance) -> Verdict {
    use Outcome as O;
    match (observed, doc) {
        (O::Skipped | O::Error | O::Timeout, _) => Verdict::Undecided,
        (O::Inconclusive, _) => Verdict::Inconclusive,
        (_, Stance::Unstated) | (O::Measured, _) => Verdict::NoStance,
        (O::Yes, Stance::Yes) | (O::No, Stance::No) => Verdict::Agrees,
        // Absent where the guide says absent, or says nothing applies.
        (O::Unsupported | O::No, Stance::NotApplicable) | (O::Unsupported, Stance::No) => {
            Verdict::Agrees
        }
        (O::Yes, Stance::NotApplicable) => Verdict::Departs,
        (O::Yes, Stance::No) | (O::No | O::Unsupported, Stance::Yes) => Verdict::Departs,
    }
}

/// One column of the report: a run, or a platform nobody ran.
#[derive(Debug, Clone)]
pub struct Column {
    pub label: String,
    pub os: Os,
    pub run: Option<RunInfo>,
    pub results: Vec<ResultRecord>,
    /// Older versions of the same platform whose observations were identical to
    /// this run's, folded into this column (the Runs table still lists them).
    pub collapsed: Vec<Column>,
    index: std::collections::HashMap<String, usize>,
}

impl Column {
    pub fn new(label: String, os: Os, run: Option<RunInfo>, results: Vec<ResultRecord>) -> Column {
        let index = results
            .iter()
            .enumerate()
            .map(|(i, r)| (r.claim.to_string(), i))
            .collect();
        Column {
            label,
            os,
            run,
            results,
            collapsed: Vec::new(),
            index,
        }
    }

    pub fn result(&self, claim: &str) -> Option<&ResultRecord> {
        self.index.get(claim).map(|&i| &self.results[i])
    }
}

/// One table cell: text for Markdown, a class for colour, evidence for a tooltip.
#[derive(Debug, Clone)]
pub struct Cell {
    pub text: String,
    pub verdict: Option<Verdict>,
    pub title: String,
}

impl Cell {
    pub fn plain(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            verdict: None,
            title: String::new(),
        }
    }
}

pub struct Table {
    pub title: String,
    pub intro: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

pub fn symbol(o: Outcome) -> &'static str {
    match o {
        Outcome::Yes => "✓",
        Outcome::No => "✗",
        Outcome::Unsupported => "absent",
        Outcome::Skipped => "skipped",
        Outcome::Error => "error",
        Outcome::Timeout => "timeout",
        Outcome::Measured => "measured",
        Outcome::Inconclusive => "inconclusive",
    }
}

pub fn stance_symbol(s: Stance) -> &'static str {
    match s {
        Stance::Yes => "✓",
        Stance::No => "✗",
        Stance::NotApplicable => "N/A",
        Stance::Unstated => "–",
    }
}

/// `wrap(text)`, or nothing when `text` is empty.
pub fn unless_empty(text: &str, wrap: impl FnOnce(&str) -> String) -> String {
    if text.is_empty() {
        String::new()
    } else {
        wrap(text)
    }
}

/// `name = value unit` for each measured quantity.
pub fn quantities(r: &ResultRecord) -> String {
    r.measured
        .iter()
        .map(|q| {
            let v = if q.value.fract() == 0.0 && q.value.abs() < 1e15 {
                format!("{}", q.value as i64)
            } else {
                format!("{:.3}", q.value)
            };
            format!("{} = {v} {}", q.name, q.unit)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The cell of one claim in one column.
pub fn claim_cell(claim: &Claim, col: &Column) -> Cell {
    let doc = claim.doc_on(col.os);
    if col.run.is_none() {
        return Cell {
            text: "not measured".into(),
            verdict: Some(Verdict::NotMeasured),
            title: format!("no run for {}; the guide says {}", col.label, doc),
        };
    }
    let Some(r) = col.result(&claim.id) else {
        return Cell {
            text: "not yet checked".into(),
            verdict: Some(Verdict::NotChecked),
            title: format!("{} has no result for {}", col.label, claim.id),
        };
    };
    let v = verdict(r.observed, doc);
    let mut text = match r.observed {
        Outcome::Measured => quantities(r),
        o => symbol(o).to_owned(),
    };
    if v == Verdict::Departs {
        text = format!("{text} (guide: {})", stance_symbol(doc));
    }
    if r.status == Status::Fail {
        text.push_str(" ⚠ unexpected");
    }
    let title = format!(
        "{}: observed {} — guide: {doc} — expected: {} — {}",
        claim.id, r.observed, r.expected, r.detail
    );
    Cell {
        text,
        verdict: Some(v),
        title,
    }
}

/// Columns: every run (Linux first, then macOS, FreeBSD, Windows; native before
/// emulated), then a "not measured" column for each expected platform and each OS
/// that has no run on the OS itself (a Wine or qemu-user run never stands for it).
pub fn columns(sets: &[ResultSet], expected_platforms: &[String]) -> Vec<Column> {
    let mut sorted: Vec<&ResultSet> = sets.iter().collect();
    // Grouped by OS, then platform and runtime, then version: the versions of
    // one platform stand side by side as its sub-columns, oldest first.
    sorted.sort_by(|a, b| {
        let key = |s: &ResultSet| {
            (
                s.run.os,
                s.run.platform.clone(),
                s.run.runtime,
                super::versions::version_of(&s.run),
            )
        };
        key(a).cmp(&key(b))
    });
    let mut cols: Vec<Column> = Vec::new();
    for s in sorted {
        let version = super::versions::version_of(&s.run);
        let label = match &version {
            Some(v) => versioned_label(&s.run, v, v),
            None => s.run.column(),
        };
        let col = Column::new(label, s.run.os, Some(s.run.clone()), s.results.clone());
        match (cols.last_mut(), &version) {
            (Some(prev), Some(newest)) if same_observations(prev, &col) => {
                fold_into_newer(prev, col, newest);
            }
            _ => cols.push(col),
        }
    }
    let mut label_counts = std::collections::BTreeMap::new();
    for c in &mut cols {
        let n = label_counts.entry(c.label.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            c.label = format!("{} #{n}", c.label);
        }
    }
    for p in expected_platforms {
        if !sets.iter().any(|s| expected_platform_met(p, &s.run)) {
            let os = Os::ALL
                .into_iter()
                .find(|o| p.starts_with(o.key()))
                .unwrap_or(Os::Linux);
            let label = p.strip_suffix(" (native)").unwrap_or(p).to_owned();
            cols.push(Column::new(label, os, None, Vec::new()));
        }
    }
    let on_the_os_itself = |c: &Column| {
        c.run.as_ref().is_none_or(|r| {
            !matches!(
                r.runtime,
                crate::platform::Runtime::Wine | crate::platform::Runtime::QemuUser
            )
        })
    };
    for os in Os::ALL {
        if !cols.iter().any(|c| c.os == os && on_the_os_itself(c)) {
            cols.push(Column::new(os.label().to_owned(), os, None, Vec::new()));
        }
    }
    cols.sort_by_key(|c| c.os);
    cols
}

/// Whether two versioned columns of one platform and runtime observed the same
/// outcome for every claim (measured figures may differ: they belong to the
/// machine), so that one column can stand for both.
fn same_observations(a: &Column, b: &Column) -> bool {
    let (Some(ra), Some(rb)) = (&a.run, &b.run) else {
        return false;
    };
    fn outcomes(c: &Column) -> std::collections::BTreeMap<&str, Outcome> {
        c.results
            .iter()
            .map(|r| (r.claim.as_str(), r.observed))
            .collect()
    }
    ra.platform == rb.platform
        && ra.runtime == rb.runtime
        && super::versions::version_of(ra).is_some()
        && outcomes(a) == outcomes(b)
}

/// "linux-x86_64-gnu · Linux 6.1–6.18": a run's column and the versions it stands for.
fn versioned_label(
    run: &RunInfo,
    oldest: &super::versions::Version,
    newest: &super::versions::Version,
) -> String {
    let span = super::versions::span_label(run.os, oldest, newest);
    format!("{} · {span}", run.column())
}

/// Folds the older column `prev` into `newer` (the newer run stands for both,
/// its label spans from the oldest folded version) and puts the result in
/// `prev`'s place. Columns arrive oldest first, so the oldest is the first
/// folded one, or `prev` itself.
fn fold_into_newer(prev: &mut Column, mut newer: Column, newest: &super::versions::Version) {
    let oldest = prev
        .collapsed
        .first()
        .unwrap_or(prev)
        .run
        .as_ref()
        .and_then(super::versions::version_of);
    if let (Some(oldest), Some(run)) = (oldest, &newer.run) {
        newer.label = versioned_label(run, &oldest, newest);
    }
    let mut older = std::mem::replace(prev, newer);
    prev.collapsed.append(&mut older.collapsed);
    prev.collapsed.push(older);
}

/// Whether a run answers an expected platform: `ID` is met by any run of platform
/// `ID`; `ID (RUNTIME)` only by a run of `ID` under that runtime (`native`, `vm`,
/// `qemu-user`, `wine`), so that an emulated run never stands in for a missing
/// native one.
pub fn expected_platform_met(expected: &str, run: &RunInfo) -> bool {
    match expected.strip_suffix(')').and_then(|s| s.rsplit_once(" (")) {
        Some((id, runtime)) => run.platform == id && run.runtime.as_str() == runtime,
        None => run.platform == expected,
    }
}

/// The guide's stance across the four OSes, compactly: "✓" when all agree, else per OS.
pub fn guide_summary(claim: &Claim) -> String {
    let stances: Vec<Stance> = Os::ALL.iter().map(|&os| claim.doc_on(os)).collect();
    if stances.iter().all(|s| *s == stances[0]) {
        return stance_symbol(stances[0]).to_owned();
    }
    Os::ALL
        .iter()
        .map(|&os| format!("{} {}", &os.label()[..1], stance_symbol(claim.doc_on(os))))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The guide's portability table, its rows in the guide's order (laid out in
/// `suites/catalog.toml`), then the availability of mechanisms it never listed.
pub fn portability(catalog: &Catalog, cols: &[Column]) -> Table {
    let mut header = vec!["Mechanism".to_owned(), "Guide L/M/F/W".to_owned()];
    header.extend(cols.iter().map(|c| c.label.clone()));
    let mut rows = Vec::new();
    let listed: Vec<&str> = Guide::get()
        .portability
        .iter()
        .map(|r| r.claim.as_str())
        .collect();
    let extra = catalog
        .claims()
        .iter()
        .filter(|c| c.kind == Kind::Availability && !listed.contains(&c.id.as_str()))
        .map(|c| (c.mechanism.clone(), c.id.as_str()));
    let rows_spec: Vec<(String, &str)> = Guide::get()
        .portability
        .iter()
        .map(|r| (r.row.clone(), r.claim.as_str()))
        .chain(extra.map(|(m, id)| {
            // The registry's name for a mechanism the guide's table never listed.
            let label = crate::mech::entry(&m).map_or(m.as_str(), |e| e.label);
            (format!("{label} (not in the guide's table)"), id)
        }))
        .collect();
    for (label, id) in rows_spec {
        let Some(claim) = catalog.claim(id) else {
            continue;
        };
        let guide = Os::ALL
            .iter()
            .map(|&os| stance_symbol(claim.doc_on(os)))
            .collect::<Vec<_>>()
            .join(" ");
        let mut row = vec![
            Cell::plain(label),
            Cell {
                text: guide,
                verdict: None,
                title: claim.doc_note.clone().unwrap_or_default(),
            },
        ];
        row.extend(cols.iter().map(|c| claim_cell(claim, c)));
        rows.push(row);
    }
    Table {
        title: "Portability".into(),
        intro: "The guide's portability table, regenerated from observations: each run is a column; a platform with no run is not measured. A cell that departs from the guide shows the guide's word beside it.".into(),
        header,
        rows,
    }
}

/// The characteristics matrix for one measured column.
pub fn matrix(catalog: &Catalog, col: &Column) -> Table {
    let layout = &Guide::get().matrix;
    let mut header = vec!["Property".to_owned()];
    header.extend(layout.mechanisms.iter().map(|m| m.label.clone()));
    let rows = layout
        .properties
        .iter()
        .map(|prop| {
            let mut row = vec![Cell::plain(&prop.label)];
            row.extend(layout.mechanisms.iter().map(|mech| {
                match catalog.claim(&format!("{}.{}", mech.id, prop.id)) {
                    Some(claim) => claim_cell(claim, col),
                    None => Cell::plain("N/A"),
                }
            }));
            row
        })
        .collect();
    Table {
        title: format!("Characteristics matrix — {}", col.label),
        intro: "The guide's matrix as observed on this run (TCP and UDP: the guide's garbled network rows, read as the catalog notes).".into(),
        header,
        rows,
    }
}

/// The guide's mechanism catalog: each row's words checked against observations.
pub fn mechanism_catalog(catalog: &Catalog, col: &Column) -> Table {
    let header = ["Mechanism", "Type", "Naming", "Directionality"]
        .map(String::from)
        .to_vec();
    let rows = Guide::get()
        .mechanism_catalog
        .iter()
        .map(|spec| {
            let mut row = vec![Cell::plain(&spec.row)];
            for cell in spec.cells() {
                let guide = &cell.guide;
                let checked = cell
                    .check()
                    .and_then(|c| Some((c, catalog.claim(c.claim)?)));
                let cell = match checked {
                    None => Cell::plain(format!("{guide} (not checked)")),
                    Some((check, claim)) => {
                        let base = claim_cell(claim, col);
                        match col.result(check.claim).map(|r| r.observed) {
                            Some(observed @ (Outcome::Yes | Outcome::No)) => {
                                let word = if observed == Outcome::Yes {
                                    check.yes
                                } else {
                                    check.no
                                };
                                let text = if guide.trim_end_matches('*') == word {
                                    word.to_owned()
                                } else {
                                    format!("{word} (guide: {guide})")
                                };
                                Cell { text, ..base }
                            }
                            _ => Cell {
                                text: format!("{guide}: {}", base.text),
                                ..base
                            },
                        }
                    }
                };
                row.push(cell);
            }
            row
        })
        .collect();
    Table {
        title: format!("Mechanism catalog — {}", col.label),
        intro: "The guide's catalog, each word tested by the claim behind it (hover for the claim and evidence).".into(),
        header,
        rows,
    }
}

/// Whether any measured column departs from the guide, fails its expectation, or
/// has not checked the claim.
fn ledger_rank(claim: &Claim, cols: &[Column]) -> u8 {
    let cells: Vec<Cell> = cols
        .iter()
        .filter(|c| c.run.is_some())
        .map(|c| claim_cell(claim, c))
        .collect();
    if cells.iter().any(|c| c.verdict == Some(Verdict::Departs)) {
        0
    } else if cols.iter().any(|c| {
        c.result(&claim.id)
            .is_some_and(|r| r.status == Status::Fail)
    }) {
        1
    } else if cells
        .iter()
        .any(|c| matches!(c.verdict, Some(Verdict::Undecided | Verdict::Inconclusive)))
    {
        2
    } else if cells.iter().all(|c| c.verdict == Some(Verdict::NotChecked)) {
        4
    } else {
        3
    }
}

pub fn ledger(catalog: &Catalog, cols: &[Column]) -> Table {
    let measured: Vec<&Column> = cols.iter().filter(|c| c.run.is_some()).collect();
    let mut header = vec!["Claim".to_owned(), "Guide".to_owned()];
    header.extend(measured.iter().map(|c| c.label.clone()));
    header.push("What the guide says".into());
    let mut claims: Vec<&Claim> = catalog.claims().iter().collect();
    claims.sort_by_cached_key(|c| ledger_rank(c, cols));
    let rows = claims
        .into_iter()
        .map(|claim| {
            let mut row = vec![
                Cell {
                    text: claim.id.clone(),
                    verdict: None,
                    title: format!("{} — check: {}", claim.statement, claim.check),
                },
                Cell {
                    text: guide_summary(claim),
                    verdict: None,
                    title: claim.doc_note.clone().unwrap_or_default(),
                },
            ];
            row.extend(measured.iter().map(|c| claim_cell(claim, c)));
            row.push(Cell::plain(if claim.quote.is_empty() {
                claim.statement.clone()
            } else {
                format!("“{}”", claim.quote)
            }));
            row
        })
        .collect();
    Table {
        title: "Claims ledger".into(),
        intro: "Every catalogued claim, guide against observation per run: departures from the guide first, then checks that missed their expectation, undecided ones, agreements, and claims not yet checked.".into(),
        header,
        rows,
    }
}

pub fn facts(catalog: &Catalog, cols: &[Column]) -> Table {
    let measured: Vec<&Column> = cols.iter().filter(|c| c.run.is_some()).collect();
    let mut header = vec!["Fact".to_owned()];
    header.extend(measured.iter().map(|c| c.label.clone()));
    let rows = catalog
        .claims()
        .iter()
        .filter(|c| c.kind == Kind::Fact)
        .map(|claim| {
            let mut row = vec![Cell {
                text: claim.id.clone(),
                verdict: None,
                title: claim.statement.clone(),
            }];
            row.extend(measured.iter().map(|c| claim_cell(claim, c)));
            row
        })
        .collect();
    Table {
        title: "Measured facts".into(),
        intro: "Values the guide takes no stance on, measured on each run.".into(),
        header,
        rows,
    }
}

/// Per mechanism: claims catalogued, and how many each run observed.
pub fn coverage(catalog: &Catalog, cols: &[Column]) -> (Table, usize, usize) {
    let measured: Vec<&Column> = cols.iter().filter(|c| c.run.is_some()).collect();
    let mut header = vec!["Mechanism".to_owned(), "Catalogued".to_owned()];
    header.extend(measured.iter().map(|c| format!("checked on {}", c.label)));
    let mut rows = Vec::new();
    let (mut total, mut checked_any) = (0, 0);
    for mech in catalog.mechanisms() {
        let claims: Vec<&Claim> = catalog
            .claims()
            .iter()
            .filter(|c| c.mechanism == mech)
            .collect();
        total += claims.len();
        checked_any += claims
            .iter()
            .filter(|c| measured.iter().any(|col| col.result(&c.id).is_some()))
            .count();
        let mut row = vec![Cell::plain(mech), Cell::plain(claims.len().to_string())];
        for col in &measured {
            let n = claims
                .iter()
                .filter(|c| col.result(&c.id).is_some())
                .count();
            let v = if n == claims.len() {
                Verdict::Agrees
            } else if n == 0 {
                Verdict::NotChecked
            } else {
                Verdict::Undecided
            };
            row.push(Cell {
                text: format!("{n}/{}", claims.len()),
                verdict: Some(v),
                title: String::new(),
            });
        }
        rows.push(row);
    }
    (
        Table {
            title: "Coverage".into(),
            intro: format!(
                "{checked_any} of {total} catalogued claims were checked by at least one run."
            ),
            header,
            rows,
        },
        checked_any,
        total,
    )
}

pub fn runs(cols: &[Column]) -> Table {
    let header = [
        "Column", "Platform", "Runtime", "OS", "Kernel", "Arch", "libc", "Suite", "Started",
        "CPUs", "uid", "Results",
    ]
    .map(String::from)
    .to_vec();
    let rows = cols
        .iter()
        .flat_map(|c| std::iter::once(c).chain(c.collapsed.iter()))
        .map(|c| match &c.run {
            Some(r) => {
                let fails = c
                    .results
                    .iter()
                    .filter(|x| x.status == Status::Fail)
                    .count();
                let skips = c
                    .results
                    .iter()
                    .filter(|x| x.status == Status::Skipped)
                    .count();
                let runtime = if r.runtime_detail.is_empty() {
                    r.runtime.as_str().to_owned()
                } else {
                    format!("{} ({})", r.runtime.as_str(), r.runtime_detail)
                };
                vec![
                    Cell::plain(&c.label),
                    Cell::plain(&r.platform),
                    Cell::plain(runtime),
                    Cell::plain(&r.os_version),
                    Cell::plain(&r.kernel),
                    Cell::plain(&r.arch),
                    Cell::plain(&r.libc),
                    Cell::plain(&r.suite_revision),
                    Cell::plain(&r.started),
                    Cell::plain(r.cpus.to_string()),
                    Cell::plain(r.uid.to_string()),
                    Cell::plain(format!(
                        "{} results, {fails} unexpected, {skips} skipped",
                        c.results.len()
                    )),
                ]
            }
            None => {
                let mut row = vec![
                    Cell::plain(&c.label),
                    Cell {
                        text: "not measured".into(),
                        verdict: Some(Verdict::NotMeasured),
                        title: String::new(),
                    },
                ];
                row.extend((0..10).map(|_| Cell::plain("")));
                row
            }
        })
        .collect();
    Table { title: "Runs".into(), intro: "Every run, also those folded into a column with another version of their platform whose observations were identical. Wine and qemu-user runs are their own columns, never the OS they imitate.".into(), header, rows }
}

/// Documented departures for platforms: expectations from sources, never measurements.
pub fn expectations_table() -> Table {
    let rows = crate::expect::Expectations::get()
        .all()
        .map(|(file, id, e)| {
            vec![
                Cell::plain(format!("platforms/{file}.toml")),
                Cell::plain(id),
                Cell::plain(e.expect.as_str()),
                Cell::plain(&e.reason),
                Cell::plain(&e.source),
            ]
        })
        .collect();
    Table {
        title: "Expectations from sources".into(),
        intro: "What each platform is expected to do where it departs from the guide, with the source. These are expectations, not measurements: only a run's columns above are observed.".into(),
        header: ["File", "Claim", "Expected", "Why", "Source"].map(String::from).to_vec(),
        rows,
    }
}
