//! The report's model, built once from the result sets and read by every
//! section and renderer: each run with how each of its observations stands
//! against the guide, the columns of the main tables (versions of a platform
//! folded by the one rule of [`super::versions`]), the versions of each OS, and
//! the coverage.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::versions::{self, Version, Versions};
use crate::catalog::{Catalog, Claim, Os, Stance};
use crate::observe::Outcome;
use crate::platform::{RunInfo, Runtime};
use crate::results::{ResultRecord, ResultSet};

/// How an observation stands against the guide's stance on that run's OS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Standing {
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

impl Standing {
    pub fn css(self) -> &'static str {
        match self {
            Standing::Agrees => "agree",
            Standing::Departs => "depart",
            Standing::NoStance => "nostance",
            Standing::Undecided => "undecided",
            Standing::Inconclusive => "inconclusive",
            Standing::NotChecked => "unchecked",
            Standing::NotMeasured => "unmeasured",
        }
    }

    /// How `observed` stands against the guide's stance `doc`.
    pub fn of(observed: Outcome, doc: Stance) -> Standing {
        use Outcome as O;
        match (observed, doc) {
            (O::Skipped | O::Error | O::Timeout, _) => Standing::Undecided,
            (O::Inconclusive, _) => Standing::Inconclusive,
            (_, Stance::Unstated) | (O::Measured, _) => Standing::NoStance,
            (O::Yes, Stance::Yes) | (O::No, Stance::No) => Standing::Agrees,
            // Absent where the guide says absent, or says nothing applies.
            (O::Unsupported | O::No, Stance::NotApplicable) | (O::Unsupported, Stance::No) => {
                Standing::Agrees
            }
            (O::Yes, Stance::NotApplicable) => Standing::Departs,
            (O::Yes, Stance::No) | (O::No | O::Unsupported, Stance::Yes) => Standing::Departs,
        }
    }
}

/// One observed claim of a run: the record, the guide's stance on the run's OS
/// (this catalog's) and how the observation stands against it.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    pub record: &'a ResultRecord,
    pub doc: Stance,
    pub standing: Standing,
}

/// One result set in the model: its records indexed by claim, each with its
/// standing, decided once.
#[derive(Debug, Clone)]
pub struct Run<'a> {
    pub set: &'a ResultSet,
    /// The run's column key (`RunInfo::column`).
    pub column: String,
    pub version: Option<Version>,
    index: HashMap<&'a str, Seen<'a>>,
}

impl<'a> Run<'a> {
    fn new(set: &'a ResultSet, catalog: &Catalog) -> Run<'a> {
        let index = set
            .results
            .iter()
            .filter_map(|record| {
                let doc = catalog.claim(&record.claim)?.doc_on(set.run.os);
                let seen = Seen {
                    record,
                    doc,
                    standing: Standing::of(record.observed, doc),
                };
                Some((record.claim.as_str(), seen))
            })
            .collect();
        Run {
            set,
            column: set.run.column(),
            version: set.run.version(),
            index,
        }
    }

    /// The label of a column showing this run alone: its column key, and its
    /// version ("linux-x86_64-gnu · Linux 6.18") when it is one of its OS.
    pub fn own_label(&self) -> String {
        match &self.version {
            Some(v) => versioned_label(self.info(), v, v),
            None => self.column.clone(),
        }
    }

    pub fn info(&self) -> &'a RunInfo {
        &self.set.run
    }

    /// The run's records, in the order read.
    pub fn results(&self) -> &'a [ResultRecord] {
        &self.set.results
    }

    pub fn result(&self, claim: &str) -> Option<&'a ResultRecord> {
        self.seen(claim).map(|s| s.record)
    }

    pub fn seen(&self, claim: &str) -> Option<Seen<'a>> {
        self.index.get(claim).copied()
    }

    /// Every catalogued record with its standing, in the order read.
    pub fn all_seen(&self) -> impl Iterator<Item = Seen<'a>> + '_ {
        self.set.results.iter().filter_map(|r| self.seen(&r.claim))
    }
}

/// One column of the main tables: a run (standing for the older versions of
/// its platform folded into it), or a platform nobody ran.
#[derive(Debug, Clone)]
pub struct Column {
    pub label: String,
    pub os: Os,
    /// The run shown ([`Model::runs`] index), `None` when not measured.
    pub run: Option<usize>,
    /// Older versions of the same platform whose observations were identical to
    /// this run's, folded into this column (the Runs table still lists them).
    pub collapsed: Vec<usize>,
}

/// The report's content: every run as given, the columns, the versions.
#[derive(Debug, Clone)]
pub struct Model<'a> {
    /// The result sets in the order given (report.json's `runs[]`).
    pub runs: Vec<Run<'a>>,
    pub columns: Vec<Column>,
    pub versions: Versions,
    /// Catalogued claims observed by at least one run, and all of them.
    pub checked: usize,
    pub catalogued: usize,
}

impl<'a> Model<'a> {
    /// Builds the model: one pass over the result sets.
    pub fn build(sets: &'a [ResultSet], expected_platforms: &[String]) -> Model<'a> {
        let catalog = Catalog::get();
        let runs: Vec<Run<'a>> = sets.iter().map(|s| Run::new(s, catalog)).collect();
        let refs: Vec<&ResultSet> = sets.iter().collect();
        let versions = versions::analyze(&refs);
        let columns = columns(&runs, &versions, expected_platforms);
        let catalogued = catalog.claims().len();
        let checked = catalog
            .claims()
            .iter()
            .filter(|c| runs.iter().any(|r| r.seen(&c.id).is_some()))
            .count();
        Model {
            runs,
            columns,
            versions,
            checked,
            catalogued,
        }
    }

    /// The run a column shows.
    pub fn run(&self, col: &Column) -> Option<&Run<'a>> {
        col.run.map(|i| &self.runs[i])
    }

    /// The columns with a run, each with it.
    pub fn measured(&self) -> impl Iterator<Item = (&Column, &Run<'a>)> {
        self.columns.iter().filter_map(|c| Some((c, self.run(c)?)))
    }

    /// Labels of the columns without a run.
    pub fn not_measured(&self) -> impl Iterator<Item = &str> {
        self.columns
            .iter()
            .filter(|c| c.run.is_none())
            .map(|c| c.label.as_str())
    }

    /// Labels of the columns with a run (`measured`) or without one, comma
    /// separated, "none" when empty.
    pub fn column_labels(&self, measured: bool) -> String {
        let labels: Vec<&str> = if measured {
            self.measured().map(|(c, _)| c.label.as_str()).collect()
        } else {
            self.not_measured().collect()
        };
        if labels.is_empty() {
            "none".to_owned()
        } else {
            labels.join(", ")
        }
    }
}

/// Columns: every run (Linux first, then macOS, FreeBSD, Windows; native before
/// emulated; the versions of one platform side by side, oldest first, those
/// that fold sharing one column), then a "not measured" column for each
/// expected platform and each OS that has no run on the OS itself (a Wine or
/// qemu-user run never stands for it).
fn columns(runs: &[Run], versions: &Versions, expected_platforms: &[String]) -> Vec<Column> {
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by(|&a, &b| {
        let key = |r: &Run| {
            let i = r.info();
            (i.os, i.platform.clone(), i.runtime, r.version.clone())
        };
        key(&runs[a]).cmp(&key(&runs[b]))
    });
    let mut cols: Vec<Column> = Vec::new();
    for i in order {
        let run = &runs[i];
        let col = Column {
            label: run.own_label(),
            os: run.info().os,
            run: Some(i),
            collapsed: Vec::new(),
        };
        match cols.last_mut() {
            Some(prev) if folds(runs, versions, prev, i) => fold_into_newer(runs, prev, col),
            _ => cols.push(col),
        }
    }
    let mut label_counts = BTreeMap::new();
    for c in &mut cols {
        let n = label_counts.entry(c.label.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            c.label = format!("{} #{n}", c.label);
        }
    }
    for p in expected_platforms {
        if !runs.iter().any(|r| expected_platform_met(p, r.info())) {
            let os = Os::ALL
                .into_iter()
                .find(|o| p.starts_with(o.key()))
                .unwrap_or(Os::Linux);
            let label = p.strip_suffix(" (native)").unwrap_or(p).to_owned();
            cols.push(not_measured(label, os));
        }
    }
    let on_the_os_itself = |c: &Column| {
        c.run
            .is_none_or(|i| !matches!(runs[i].info().runtime, Runtime::Wine | Runtime::QemuUser))
    };
    for os in Os::ALL {
        if !cols.iter().any(|c| c.os == os && on_the_os_itself(c)) {
            cols.push(not_measured(os.label().to_owned(), os));
        }
    }
    cols.sort_by_key(|c| c.os);
    cols
}

fn not_measured(label: String, os: Os) -> Column {
    Column {
        label,
        os,
        run: None,
        collapsed: Vec::new(),
    }
}

/// Whether run `i` joins the column `prev`: the same platform and runtime,
/// and their versions fold (the rule of [`super::versions`]).
fn folds(runs: &[Run], versions: &Versions, prev: &Column, i: usize) -> bool {
    let Some(p) = prev.run else {
        return false;
    };
    let (a, b) = (runs[p].info(), runs[i].info());
    a.platform == b.platform && a.runtime == b.runtime && versions.share_column(p, i)
}

/// "linux-x86_64-gnu · Linux 6.1–6.18": a run's column and the versions it stands for.
fn versioned_label(run: &RunInfo, oldest: &Version, newest: &Version) -> String {
    let span = versions::span_label(run.os, oldest, newest);
    format!("{} · {span}", run.column())
}

/// Folds the older column `prev` into `newer` (the newer run stands for both,
/// its label spans from the oldest folded version) and puts the result in
/// `prev`'s place. Columns arrive oldest first, so the oldest is the first
/// folded one, or `prev` itself.
fn fold_into_newer(runs: &[Run], prev: &mut Column, mut newer: Column) {
    let oldest = prev.collapsed.first().copied().or(prev.run);
    let newest = newer.run.and_then(|i| runs[i].version.as_ref());
    if let (Some(oldest), Some(newest), Some(i)) = (oldest, newest, newer.run) {
        if let Some(oldest) = &runs[oldest].version {
            newer.label = versioned_label(runs[i].info(), oldest, newest);
        }
    }
    let mut older = std::mem::replace(prev, newer);
    prev.collapsed.append(&mut older.collapsed);
    prev.collapsed.extend(older.run);
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

/// The guide's stance on `claim` in column `col`, and how its run's
/// observation stands against it (`None` when the run has no result).
pub fn stance_in<'a>(
    claim: &Claim,
    col: &Column,
    run: Option<&Run<'a>>,
) -> (Stance, Option<Seen<'a>>) {
    match run.and_then(|r| r.seen(&claim.id)) {
        Some(seen) => (seen.doc, Some(seen)),
        None => (claim.doc_on(col.os), None),
    }
}
