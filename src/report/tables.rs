//! The report's tables from the model: the guide's three tables (portability,
//! characteristics matrix, mechanism catalog), the claims ledger, the measured
//! facts, coverage, the runs and the documented expectations.

use super::document::{Cell, Table};
use super::model::{Column, Model, Run, Seen, Standing};
use super::text::{quantities, stance_symbol, symbol};
use crate::catalog::{Catalog, Claim, Kind, Os, Stance};
use crate::guide::Guide;
use crate::observe::Outcome;
use crate::results::Status;

/// The cell of one claim in one column (`run`: the run it shows).
pub fn claim_cell(claim: &Claim, col: &Column, run: Option<&Run>) -> Cell {
    let Some(run) = run else {
        return Cell {
            text: "not measured".into(),
            standing: Some(Standing::NotMeasured),
            title: format!(
                "no run for {}; the guide says {}",
                col.label,
                claim.doc_on(col.os)
            ),
        };
    };
    let Some(Seen {
        record: r,
        doc,
        standing,
    }) = run.seen(&claim.id)
    else {
        return Cell {
            text: "not yet checked".into(),
            standing: Some(Standing::NotChecked),
            title: format!("{} has no result for {}", col.label, claim.id),
        };
    };
    let mut text = match r.observed {
        Outcome::Measured => quantities(r),
        o => symbol(o).to_owned(),
    };
    if standing == Standing::Departs {
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
        standing: Some(standing),
        title,
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
pub fn portability(catalog: &Catalog, m: &Model) -> Table {
    let mut header = vec!["Mechanism".to_owned(), "Guide L/M/F/W".to_owned()];
    header.extend(m.columns.iter().map(|c| c.label.clone()));
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
                standing: None,
                title: claim.doc_note.clone().unwrap_or_default(),
            },
        ];
        row.extend(m.columns.iter().map(|c| claim_cell(claim, c, m.run(c))));
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
pub fn matrix(catalog: &Catalog, col: &Column, run: &Run) -> Table {
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
                    Some(claim) => claim_cell(claim, col, Some(run)),
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
pub fn mechanism_catalog(catalog: &Catalog, col: &Column, run: &Run) -> Table {
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
                        let base = claim_cell(claim, col, Some(run));
                        match run.result(check.claim).map(|r| r.observed) {
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
fn ledger_rank(claim: &Claim, m: &Model) -> u8 {
    let cells: Vec<Cell> = m
        .measured()
        .map(|(c, run)| claim_cell(claim, c, Some(run)))
        .collect();
    if cells.iter().any(|c| c.standing == Some(Standing::Departs)) {
        0
    } else if m.measured().any(|(_, run)| {
        run.result(&claim.id)
            .is_some_and(|r| r.status == Status::Fail)
    }) {
        1
    } else if cells.iter().any(|c| {
        matches!(
            c.standing,
            Some(Standing::Undecided | Standing::Inconclusive)
        )
    }) {
        2
    } else if cells
        .iter()
        .all(|c| c.standing == Some(Standing::NotChecked))
    {
        4
    } else {
        3
    }
}

pub fn ledger(catalog: &Catalog, m: &Model) -> Table {
    let measured: Vec<(&Column, &Run)> = m.measured().collect();
    let mut header = vec!["Claim".to_owned(), "Guide".to_owned()];
    header.extend(measured.iter().map(|(c, _)| c.label.clone()));
    header.push("What the guide says".into());
    let mut claims: Vec<&Claim> = catalog.claims().iter().collect();
    claims.sort_by_cached_key(|c| ledger_rank(c, m));
    let rows = claims
        .into_iter()
        .map(|claim| {
            let mut row = vec![
                Cell {
                    text: claim.id.clone(),
                    standing: None,
                    title: format!("{} — check: {}", claim.statement, claim.check),
                },
                Cell {
                    text: guide_summary(claim),
                    standing: None,
                    title: claim.doc_note.clone().unwrap_or_default(),
                },
            ];
            row.extend(
                measured
                    .iter()
                    .map(|(c, run)| claim_cell(claim, c, Some(run))),
            );
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

pub fn facts(catalog: &Catalog, m: &Model) -> Table {
    let measured: Vec<(&Column, &Run)> = m.measured().collect();
    let mut header = vec!["Fact".to_owned()];
    header.extend(measured.iter().map(|(c, _)| c.label.clone()));
    let rows = catalog
        .claims()
        .iter()
        .filter(|c| c.kind == Kind::Fact)
        .map(|claim| {
            let mut row = vec![Cell {
                text: claim.id.clone(),
                standing: None,
                title: claim.statement.clone(),
            }];
            row.extend(
                measured
                    .iter()
                    .map(|(c, run)| claim_cell(claim, c, Some(run))),
            );
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
pub fn coverage(catalog: &Catalog, m: &Model) -> Table {
    let measured: Vec<(&Column, &Run)> = m.measured().collect();
    let mut header = vec!["Mechanism".to_owned(), "Catalogued".to_owned()];
    header.extend(
        measured
            .iter()
            .map(|(c, _)| format!("checked on {}", c.label)),
    );
    let mut rows = Vec::new();
    for mech in catalog.mechanisms() {
        let claims: Vec<&Claim> = catalog
            .claims()
            .iter()
            .filter(|c| c.mechanism == mech)
            .collect();
        let mut row = vec![Cell::plain(mech), Cell::plain(claims.len().to_string())];
        for (_, run) in &measured {
            let n = claims
                .iter()
                .filter(|c| run.result(&c.id).is_some())
                .count();
            let v = if n == claims.len() {
                Standing::Agrees
            } else if n == 0 {
                Standing::NotChecked
            } else {
                Standing::Undecided
            };
            row.push(Cell {
                text: format!("{n}/{}", claims.len()),
                standing: Some(v),
                title: String::new(),
            });
        }
        rows.push(row);
    }
    Table {
        title: "Coverage".into(),
        intro: format!(
            "{} of {} catalogued claims were checked by at least one run.",
            m.checked, m.catalogued
        ),
        header,
        rows,
    }
}

/// Every run: each column's, then the runs folded into it.
pub fn runs(m: &Model) -> Table {
    let header = [
        "Column", "Platform", "Runtime", "OS", "Kernel", "Arch", "libc", "Suite", "Started",
        "CPUs", "uid", "Results",
    ]
    .map(String::from)
    .to_vec();
    let mut rows = Vec::new();
    for c in &m.columns {
        let Some(shown) = c.run else {
            let mut row = vec![
                Cell::plain(&c.label),
                Cell {
                    text: "not measured".into(),
                    standing: Some(Standing::NotMeasured),
                    title: String::new(),
                },
            ];
            row.extend((0..10).map(|_| Cell::plain("")));
            rows.push(row);
            continue;
        };
        let folded = c.collapsed.iter().map(|&i| (m.runs[i].own_label(), i));
        for (label, i) in std::iter::once((c.label.clone(), shown)).chain(folded) {
            let run = &m.runs[i];
            let r = run.info();
            let count = |s: Status| run.results().iter().filter(|x| x.status == s).count();
            let runtime = if r.runtime_detail.is_empty() {
                r.runtime.as_str().to_owned()
            } else {
                format!("{} ({})", r.runtime.as_str(), r.runtime_detail)
            };
            rows.push(vec![
                Cell::plain(label),
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
                    "{} results, {} unexpected, {} skipped",
                    run.results().len(),
                    count(Status::Fail),
                    count(Status::Skipped)
                )),
            ]);
        }
    }
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
                Cell::plain(e.expect_word()),
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
