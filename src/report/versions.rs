//! Versions as a dimension: the runs of one OS grouped by version (the kernel
//! for Linux, the OS release elsewhere), versions whose observations are
//! identical folded into one column, and for every claim whose observation
//! differs between versions of one OS, since which version the current
//! behaviour holds, with the runs as evidence.
//!
//! The folding is done once, here, by one rule, and both the Versions section
//! and the main tables' columns use it: consecutive versions of an OS fold when
//! every run of every one of them observed the same outcome of every claim
//! (performance claims aside), or none of them checked it. A version whose own
//! runs disagree on a claim folds with no other. Two runs of one platform share
//! a main-table column when their versions fold ([`Versions::share_column`]).
//!
//! Only runs on the OS itself take part (runtime `native` or `vm`): a qemu-user
//! run borrows the host's kernel and a Wine run is Wine, so neither is a version
//! of the OS it imitates. Performance claims (`perf.*`) are left out: their
//! figures belong to the machine, not to the OS version. An observation that
//! decided nothing (`skipped`, `error`, `timeout`) or a claim a version did not
//! check is never taken for a change of behaviour: it is listed as not
//! comparable instead.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::catalog::{Catalog, Kind, Os};
use crate::observe::Outcome;
use crate::platform::RunInfo;
use crate::report::text::quantities;
use crate::results::{ResultSet, Status};

pub use crate::platform::Version;

/// "Linux 6.1" for one version, "Linux 6.1–6.18" for a span of versions.
pub fn span_label(os: Os, oldest: &Version, newest: &Version) -> String {
    if oldest == newest {
        format!("{} {}", os.label(), oldest.text)
    } else {
        format!("{} {}–{}", os.label(), oldest.text, newest.text)
    }
}

/// Whether an outcome decided anything about the platform's behaviour.
fn is_decided(o: Outcome) -> bool {
    !matches!(o, Outcome::Skipped | Outcome::Error | Outcome::Timeout)
}

/// One run as evidence: its column, run id, and what it observed with the detail.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    pub column: String,
    pub run_id: String,
    pub kernel: String,
    pub os_version: String,
    pub libc: String,
    /// `None` when the run has no result for the claim.
    pub observed: Option<Outcome>,
    /// The result's status: `pass`, `fail` (the observation missed the
    /// run's expectation) or `skipped`; empty without a result.
    #[serde(serialize_with = "status_or_empty")]
    pub status: Option<Status>,
    /// A measured value (`name = value unit; ...`), else empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub measured: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

fn status_or_empty<S: serde::Serializer>(s: &Option<Status>, out: S) -> Result<S::Ok, S::Error> {
    match s {
        Some(status) => status.serialize(out),
        None => out.serialize_str(""),
    }
}

/// One version of an OS and the runs that measured it.
#[derive(Debug, Clone, Serialize)]
pub struct VersionRuns {
    pub version: Version,
    /// Column labels of the runs (as in `runs[].column`).
    pub columns: Vec<String>,
    pub run_ids: Vec<String>,
}

/// Adjacent versions that fold (see the module's rule), shown as one column.
#[derive(Debug, Clone, Serialize)]
pub struct Collapsed {
    /// "Linux 6.1", or "Linux 6.1–6.18" when versions collapsed.
    pub label: String,
    pub versions: Vec<String>,
    pub columns: Vec<String>,
}

/// A claim whose decided observation differs between versions of one OS.
#[derive(Debug, Clone, Serialize)]
pub struct Since {
    pub claim: String,
    /// The behaviour on the newest version that decided it.
    pub current: Outcome,
    /// The oldest version from which `current` holds on every later version
    /// that decided the claim.
    pub since: String,
    /// The behaviour of the version before `since` that decided it, and that
    /// version: the behaviour held until then.
    pub previous: Outcome,
    pub until: String,
    /// A run's check of this claim missed its expectation (status `fail`):
    /// a suite bug or an undocumented fact until explained, not yet an
    /// established difference between versions.
    pub unexpected: bool,
    /// Every version in order: what it observed (`None` where its runs
    /// disagree or decided nothing) and the runs as evidence.
    pub history: Vec<HistoryEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub version: String,
    pub seen: Option<Outcome>,
    pub evidence: Vec<Evidence>,
}

/// A claim the versions cannot be compared on: a version decided nothing
/// (skipped, error, timeout), did not check it, or its runs disagree.
#[derive(Debug, Clone, Serialize)]
pub struct NotComparable {
    pub claim: String,
    pub why: String,
}

/// A measured fact whose values differ between versions. Limits and sizes
/// depend on the machine's memory and sysctls and on the C library as much as
/// on the kernel, so a value is shown per version, never answered with a
/// "since": `runs_differ_in` names what else differs between the runs.
#[derive(Debug, Clone, Serialize)]
pub struct ValueDiff {
    pub claim: String,
    /// Per version (oldest first): its value, or a note when its runs disagree.
    pub values: Vec<(String, String)>,
    /// Run properties besides the version that differ between these runs
    /// ("libc: glibc 2.36 / musl"), empty when none does.
    pub runs_differ_in: Vec<String>,
    pub evidence: Vec<Evidence>,
}

/// The version view of one OS.
#[derive(Debug, Clone, Serialize)]
pub struct OsVersions {
    pub os: Os,
    /// Its versions, oldest first, each with its runs.
    pub versions: Vec<VersionRuns>,
    /// The versions folded into columns by the module's rule.
    pub columns: Vec<Collapsed>,
    /// Every claim whose decided observation differs between versions.
    pub since: Vec<Since>,
    /// Claims the versions cannot be compared on.
    pub not_comparable: Vec<NotComparable>,
    /// Measured facts whose values differ between versions.
    pub values_differ: Vec<ValueDiff>,
}

/// What one version observed of one claim: `Agreed` by all its runs, runs that
/// `Disagree`, or `Absent` from every run.
#[derive(Debug, Clone, PartialEq)]
enum VersionSeen {
    Agreed(Outcome),
    Disagree,
    Absent,
}

/// The version view of every OS, and which runs share a column.
#[derive(Debug, Clone)]
pub struct Versions {
    /// Per OS with runs of at least one version.
    pub by_os: Vec<OsVersions>,
    /// Per run (in the order given): its OS and the index of the folded
    /// column (`OsVersions::columns`) its version is in, when every run of that
    /// column observed the same; `None` for a run that is no version of its OS
    /// or whose version's runs disagree.
    folded: Vec<Option<(Os, usize)>>,
}

impl Versions {
    /// Whether runs `a` and `b` (indices in the order given) are in one folded
    /// column whose runs all observed the same of every claim but the
    /// performance ones.
    pub fn share_column(&self, a: usize, b: usize) -> bool {
        matches!((self.folded[a], self.folded[b]), (Some(x), Some(y)) if x == y)
    }
}

/// Groups the runs of each OS by version, folds the versions (the module's
/// rule) and finds, per OS, what differs between versions.
pub fn analyze(sets: &[&ResultSet]) -> Versions {
    let catalog = Catalog::get();
    let mut by_os: BTreeMap<Os, Vec<(Version, usize)>> = BTreeMap::new();
    for (i, set) in sets.iter().enumerate() {
        if let Some(version) = set.run.version() {
            by_os.entry(set.run.os).or_default().push((version, i));
        }
    }
    let claims: Vec<(&str, Kind)> = catalog
        .claims()
        .iter()
        .filter(|c| c.kind != Kind::Perf)
        .map(|c| (c.id.as_str(), c.kind))
        .collect();
    let mut folded = vec![None; sets.len()];
    let by_os = by_os
        .into_iter()
        .map(|(os, mut members)| {
            members.sort_by(|a, b| {
                a.0.cmp(&b.0)
                    .then_with(|| sets[a.1].run.column().cmp(&sets[b.1].run.column()))
            });
            let mut versions: Vec<(Version, Vec<usize>)> = Vec::new();
            for (version, i) in members {
                match versions.last_mut() {
                    Some((v, runs)) if *v == version => runs.push(i),
                    _ => versions.push((version, vec![i])),
                }
            }
            let of_sets: Vec<(Version, Vec<&ResultSet>)> = versions
                .iter()
                .map(|(v, runs)| (v.clone(), runs.iter().map(|&i| sets[i]).collect()))
                .collect();
            let (view, spans) = os_view(os, &of_sets, &claims);
            for (column, &(first, last, alike)) in spans.iter().enumerate() {
                for (_, runs) in &versions[first..=last] {
                    for &i in runs {
                        folded[i] = alike.then_some((os, column));
                    }
                }
            }
            view
        })
        .collect();
    Versions { by_os, folded }
}

fn seen_by(sets: &[&ResultSet], claim: &str) -> VersionSeen {
    let seen: Vec<Outcome> = sets
        .iter()
        .filter_map(|s| s.results.iter().find(|r| r.claim == claim))
        .map(|r| r.observed)
        .collect();
    match seen.first() {
        None => VersionSeen::Absent,
        Some(&first) if seen.len() == sets.len() && seen.iter().all(|&s| s == first) => {
            VersionSeen::Agreed(first)
        }
        Some(_) => VersionSeen::Disagree,
    }
}

/// A version's measured value of a fact: its runs' common value, else each
/// run's; `None` when no run measured it.
fn value_by(sets: &[&ResultSet], claim: &str) -> Option<String> {
    let values: Vec<(String, String)> = sets
        .iter()
        .filter_map(|s| {
            let r = s.results.iter().find(|r| r.claim == claim)?;
            (r.observed == Outcome::Measured).then(|| (s.run.column(), quantities(r)))
        })
        .collect();
    let first = values.first()?;
    if values.iter().all(|(_, v)| *v == first.1) {
        return Some(first.1.clone());
    }
    Some(
        values
            .iter()
            .map(|(c, v)| format!("{c}: {v}"))
            .collect::<Vec<_>>()
            .join(" / "),
    )
}

/// A run property by name, and how to read it.
type RunProp = (&'static str, fn(&RunInfo) -> String);

/// The run properties besides the version that differ between `sets`.
fn differ_in(sets: &[&ResultSet]) -> Vec<String> {
    let props: [RunProp; 5] = [
        ("libc", |r| r.libc.clone()),
        ("arch", |r| r.arch.clone()),
        ("runtime", |r| r.runtime.as_str().to_owned()),
        ("OS", |r| r.os_version.clone()),
        ("uid", |r| r.uid.to_string()),
    ];
    props
        .iter()
        .filter_map(|(name, get)| {
            let mut values: Vec<String> = sets.iter().map(|s| get(&s.run)).collect();
            values.sort();
            values.dedup();
            (values.len() > 1).then(|| format!("{name}: {}", values.join(" / ")))
        })
        .collect()
}

fn evidence(sets: &[&ResultSet], claim: &str) -> Vec<Evidence> {
    sets.iter()
        .map(|s| {
            let r = s.results.iter().find(|r| r.claim == claim);
            Evidence {
                column: s.run.column(),
                run_id: s.run.run_id.clone(),
                kernel: s.run.kernel.clone(),
                os_version: s.run.os_version.clone(),
                libc: s.run.libc.clone(),
                observed: r.map(|r| r.observed),
                status: r.map(|r| r.status),
                measured: r.map(quantities).unwrap_or_default(),
                detail: r.map(|r| r.detail.clone()).unwrap_or_default(),
            }
        })
        .collect()
}

/// The view of one OS, and its folded columns as (first version, last
/// version, whether all their runs observed alike).
fn os_view(
    os: Os,
    versions: &[(Version, Vec<&ResultSet>)],
    claims: &[(&str, Kind)],
) -> (OsVersions, Vec<(usize, usize, bool)>) {
    // Per claim, what each version saw.
    let table: Vec<Vec<VersionSeen>> = claims
        .iter()
        .map(|(id, _)| versions.iter().map(|(_, sets)| seen_by(sets, id)).collect())
        .collect();

    // The rule: fold consecutive versions whose runs all observed alike.
    let alike = |i: usize| table.iter().all(|row| row[i] != VersionSeen::Disagree);
    let mut spans: Vec<(usize, usize, bool)> = Vec::new();
    for i in 0..versions.len() {
        match spans.last_mut() {
            Some((_, end, true)) if alike(i) && table.iter().all(|row| row[*end] == row[i]) => {
                *end = i
            }
            _ => spans.push((i, i, alike(i))),
        }
    }
    let columns = spans
        .iter()
        .map(|&(a, b, _)| {
            let label = span_label(os, &versions[a].0, &versions[b].0);
            Collapsed {
                label,
                versions: versions[a..=b]
                    .iter()
                    .map(|(v, _)| v.text.clone())
                    .collect(),
                columns: versions[a..=b]
                    .iter()
                    .flat_map(|(_, sets)| sets.iter().map(|s| s.run.column()))
                    .collect(),
            }
        })
        .collect();

    let mut since = Vec::new();
    let mut not_comparable = Vec::new();
    for ((id, _), row) in claims.iter().zip(&table) {
        let decided: Vec<(usize, Outcome)> = row
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                VersionSeen::Agreed(o) if is_decided(*o) => Some((i, *o)),
                _ => None,
            })
            .collect();
        let gaps: Vec<String> = row
            .iter()
            .zip(versions)
            .filter_map(|(s, (v, _))| match s {
                VersionSeen::Agreed(o) if is_decided(*o) => None,
                VersionSeen::Agreed(o) => Some(format!("{} {o}", v.text)),
                VersionSeen::Disagree => Some(format!("{}: its runs disagree", v.text)),
                VersionSeen::Absent => Some(format!("{}: not checked", v.text)),
            })
            .collect();
        if versions.len() > 1 && !gaps.is_empty() && gaps.len() < versions.len() {
            not_comparable.push(NotComparable {
                claim: (*id).to_owned(),
                why: gaps.join("; "),
            });
        }
        let Some(&(last, current)) = decided.last() else {
            continue;
        };
        // The trailing streak of the current behaviour, and what held before it.
        let Some(pos) = decided.iter().rposition(|&(_, o)| o != current) else {
            continue;
        };
        let (until_i, previous) = decided[pos];
        let (since_i, _) = decided[pos + 1];
        debug_assert!(since_i <= last);
        let history: Vec<HistoryEntry> = row
            .iter()
            .zip(versions)
            .map(|(s, (v, sets))| HistoryEntry {
                version: v.text.clone(),
                seen: match s {
                    VersionSeen::Agreed(o) if is_decided(*o) => Some(*o),
                    _ => None,
                },
                evidence: evidence(sets, id),
            })
            .collect();
        since.push(Since {
            unexpected: history
                .iter()
                .any(|h| h.evidence.iter().any(|e| e.status == Some(Status::Fail))),
            claim: (*id).to_owned(),
            current,
            since: versions[since_i].0.text.clone(),
            previous,
            until: versions[until_i].0.text.clone(),
            history,
        });
    }
    let mut values_differ = Vec::new();
    for (id, kind) in claims {
        if *kind != Kind::Fact {
            continue;
        }
        let values: Vec<(String, String)> = versions
            .iter()
            .filter_map(|(v, sets)| Some((v.text.clone(), value_by(sets, id)?)))
            .collect();
        let mut distinct: Vec<&String> = values.iter().map(|(_, v)| v).collect();
        distinct.sort();
        distinct.dedup();
        if distinct.len() > 1 {
            let sets: Vec<&ResultSet> = versions
                .iter()
                .flat_map(|(_, s)| s.iter().copied())
                .collect();
            values_differ.push(ValueDiff {
                claim: (*id).to_owned(),
                values,
                runs_differ_in: differ_in(&sets),
                evidence: evidence(&sets, id),
            });
        }
    }
    let view = OsVersions {
        os,
        versions: versions
            .iter()
            .map(|(v, sets)| VersionRuns {
                version: v.clone(),
                columns: sets.iter().map(|s| s.run.column()).collect(),
                run_ids: sets.iter().map(|s| s.run.run_id.clone()).collect(),
            })
            .collect(),
        columns,
        since,
        not_comparable,
        values_differ,
    };
    (view, spans)
}
