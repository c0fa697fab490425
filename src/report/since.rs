//! The Versions, Since and Values by version sections, from the versions of
//! each OS ([`super::versions`]).

use super::document::{Cell, Section, Table};
use super::model::Standing;
use super::text::{self, cut, unless_empty};
use super::versions::OsVersions;
use crate::observe::Outcome;

/// Evidence text longer than this is cut in a cell (the tooltip has all of it).
const CELL_DETAIL: usize = 160;

/// Each run's evidence, cut short in the cell and whole in its tooltip.
fn evidence_cell(evidence: &[String]) -> Cell {
    Cell {
        text: evidence
            .iter()
            .map(|e| cut(e, CELL_DETAIL))
            .collect::<Vec<_>>()
            .join(" — "),
        standing: None,
        title: evidence.join(" — "),
    }
}

fn symbol(o: Outcome) -> String {
    text::symbol(o).to_owned()
}

/// The versions of every OS as columns (adjacent identical versions collapsed),
/// with a row of the runs behind each and a row per claim that differs.
pub fn table(view: &[OsVersions]) -> Table {
    let mut header = vec!["".to_owned()];
    let mut runs_row = vec![Cell::plain("runs")];
    // (OS index, column index) of every header column.
    let mut at: Vec<(usize, usize)> = Vec::new();
    for (oi, os) in view.iter().enumerate() {
        for (ci, col) in os.columns.iter().enumerate() {
            header.push(col.label.clone());
            let runs: Vec<String> = os
                .versions
                .iter()
                .filter(|v| col.versions.contains(&v.version.text))
                .map(|v| format!("{}: {}", v.version.text, v.columns.join(", ")))
                .collect();
            runs_row.push(Cell::plain(runs.join("; ")));
            at.push((oi, ci));
        }
    }
    let mut rows = vec![runs_row];
    for (oi, os) in view.iter().enumerate() {
        for s in &os.since {
            let mut row = vec![Cell::plain(&s.claim)];
            for &(o, ci) in &at {
                if o != oi {
                    row.push(Cell::plain(""));
                    continue;
                }
                let col = &os.columns[ci];
                let entry = s
                    .history
                    .iter()
                    .find(|h| col.versions.first() == Some(&h.version));
                let cell = match entry.and_then(|h| h.seen) {
                    Some(seen) => Cell {
                        text: symbol(seen),
                        standing: Some(if seen == s.current {
                            Standing::Agrees
                        } else {
                            Standing::Departs
                        }),
                        title: entry
                            .map(|h| {
                                h.evidence
                                    .iter()
                                    .map(|e| format!("{}: {}", e.column, e.detail))
                                    .collect::<Vec<_>>()
                                    .join(" — ")
                            })
                            .unwrap_or_default(),
                    },
                    None => Cell {
                        text: "not comparable".into(),
                        standing: Some(Standing::Undecided),
                        title: String::new(),
                    },
                };
                row.push(cell);
            }
            rows.push(row);
        }
    }
    Table {
        title: "Versions".into(),
        intro: "Runs on the OS itself (native or in a VM; not qemu-user, not Wine) grouped by OS and version, oldest first: for Linux the kernel (major.minor), elsewhere the OS release. Adjacent versions whose observations are identical for every claim share one column (performance figures aside: they belong to the machine; a measured fact counts as measured, its values are listed under Values by version). Below the runs: each claim whose observation differs between versions (green: the current behaviour, red: an earlier one); see Since.".into(),
        header,
        rows,
    }
}

/// The "Since" section and, when a measured value differs between versions,
/// "Values by version".
pub fn sections(view: &[OsVersions]) -> Vec<Section> {
    let mut out = vec![since_section(view)];
    out.extend(values_section(view));
    out
}

/// A row per item of each OS's view (`items` of the OS): its claim, the OS,
/// the cells `row` makes of it, and the evidence `row` gives.
fn per_os<T>(
    view: &[OsVersions],
    items: impl Fn(&OsVersions) -> &[T],
    row: impl Fn(&OsVersions, &T) -> (String, Vec<Cell>, Vec<String>),
) -> Vec<Vec<Cell>> {
    let mut rows = Vec::new();
    for os in view {
        for item in items(os) {
            let (claim, cells, evidence) = row(os, item);
            let mut r = vec![Cell::plain(claim), Cell::plain(os.os.label())];
            r.extend(cells);
            r.push(evidence_cell(&evidence));
            rows.push(r);
        }
    }
    rows
}

/// Measured facts whose values differ between versions, shown per version with
/// what else differs between the runs; `None` when no value differs.
fn values_section(view: &[OsVersions]) -> Option<Section> {
    let rows = per_os(
        view,
        |os| &os.values_differ,
        |os, d| {
            let cells = vec![
                Cell::plain(
                    d.values
                        .iter()
                        .map(|(v, value)| format!("{} {v}: {value}", os.os.label()))
                        .collect::<Vec<_>>()
                        .join(" — "),
                ),
                Cell::plain(if d.runs_differ_in.is_empty() {
                    "nothing but the version".to_owned()
                } else {
                    d.runs_differ_in.join("; ")
                }),
            ];
            let evidence = d
                .evidence
                .iter()
                .map(|e| format!("{}: {}", e.column, e.detail));
            (d.claim.clone(), cells, evidence.collect())
        },
    );
    (!rows.is_empty()).then(|| {
        Section::Table(Table {
            title: "Values by version".into(),
            intro: "Measured facts whose values differ between versions of one OS. Limits and sizes depend on the machine (memory, sysctls) and on the C library as much as on the kernel, so they are shown per version and never answered with a \"since\"; the fourth column names what else differs between the runs.".into(),
            header: ["Fact", "OS", "Value per version", "Runs differ in", "Evidence"]
                .map(String::from)
                .to_vec(),
            rows,
        })
    })
}

/// The "Since" section: for every claim that differs between versions of one
/// OS, since which version the current behaviour holds and until which the
/// previous one held, with the runs as evidence; or the statement that there is
/// no difference.
fn since_section(view: &[OsVersions]) -> Section {
    let compared: Vec<String> = view
        .iter()
        .filter(|os| os.versions.len() > 1)
        .map(|os| {
            format!(
                "{} {}",
                os.os.label(),
                os.versions
                    .iter()
                    .map(|v| v.version.text.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    let not_comparable: Vec<String> = view
        .iter()
        .flat_map(|os| {
            os.not_comparable
                .iter()
                .map(move |n| format!("{} {} ({})", os.os.label(), n.claim, n.why))
        })
        .collect();
    let caveat = unless_empty(&not_comparable.join("; "), |list| {
        format!(" Not compared, because a version decided nothing or did not check them: {list}.")
    });
    let title = "Since".to_owned();
    let rows = per_os(
        view,
        |os| &os.since,
        |os, s| {
            let evidence: Vec<String> = s
                .history
                .iter()
                .flat_map(|h| {
                    h.evidence.iter().map(move |e| {
                        format!(
                            "{} {}: {} observed {}{}",
                            os.os.label(),
                            h.version,
                            e.column,
                            e.observed.map(|o| o.as_str()).unwrap_or("nothing"),
                            unless_empty(&e.detail, |d| format!(" ({d})"))
                        )
                    })
                })
                .collect();
            let now = if s.unexpected {
                format!("{} ⚠ unexpected", symbol(s.current))
            } else {
                symbol(s.current)
            };
            let cells = vec![
                Cell::plain(now),
                Cell::plain(format!("since {} {}", os.os.label(), s.since)),
                Cell::plain(symbol(s.previous)),
                Cell::plain(format!("until {} {}", os.os.label(), s.until)),
            ];
            (s.claim.clone(), cells, evidence)
        },
    );
    if compared.is_empty() {
        let measured: Vec<String> = view
            .iter()
            .flat_map(|os| {
                os.versions
                    .iter()
                    .map(move |v| format!("{} {}", os.os.label(), v.version.text))
            })
            .collect();
        let text = if measured.is_empty() {
            "No run on an OS itself: no versions to compare.".to_owned()
        } else {
            format!(
                "One version of each OS was measured ({}): there is nothing to compare between versions.",
                measured.join(", ")
            )
        };
        return fragment(title, text);
    }
    if rows.is_empty() {
        return fragment(
            title,
            format!(
                "There is no difference: no claim's observation differs between the versions measured ({}).{caveat}",
                compared.join("; ")
            ),
        );
    }
    Section::Table(Table {
        title,
        intro: format!(
            "Every claim whose observation differs between versions of one OS ({}): the behaviour of the newest version, since which version it holds, the behaviour before and until which version it held, and each version's runs as evidence. ⚠ marks a difference where a run's check missed its expectation: a suite bug or an undocumented fact until explained, not an established difference.{caveat}",
            compared.join("; ")
        ),
        header: ["Claim", "OS", "Now", "Since", "Before", "Until", "Evidence"]
            .map(String::from)
            .to_vec(),
        rows,
    })
}

fn fragment(title: String, intro: String) -> Section {
    Section::Text { title, intro }
}
