//! The few lines `cargo ipc-report` ends with, the part a person reads first:
//! per run, how many claims were observed and how they stand against the
//! guide, which depart from it, which missed the platform's documented
//! expectation, which verdicts are inconclusive; then where the report is.

use std::fmt::Write as _;

use crate::catalog::Catalog;
use crate::report::model::{Verdict, verdict};
use crate::results::{ResultSet, Status};

/// At most this many claim ids are listed per line.
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

/// The summary of `sets`, ending with the path of `index`.
pub fn render(sets: &[ResultSet], index: &str) -> String {
    let catalog = Catalog::get();
    let mut out = String::from("\nSummary\n");
    for set in sets {
        let (mut agree, mut nostance, mut undecided) = (0, 0, 0);
        let (mut departs, mut unexpected, mut inconclusive) = (Vec::new(), Vec::new(), Vec::new());
        for r in &set.results {
            let Some(claim) = catalog.claim(&r.claim) else {
                continue;
            };
            match verdict(r.observed, claim.doc_on(set.run.os)) {
                Verdict::Agrees => agree += 1,
                Verdict::Departs => departs.push(format!(
                    "{} (observed {}, guide {})",
                    r.claim,
                    r.observed,
                    claim.doc_on(set.run.os).as_str()
                )),
                Verdict::NoStance => nostance += 1,
                Verdict::Inconclusive => inconclusive.push(r.claim.to_string()),
                _ => undecided += 1,
            }
            if r.status == Status::Fail {
                unexpected.push(format!("{} (observed {})", r.claim, r.observed));
            }
        }
        let _ = writeln!(
            out,
            "  {}: {} claims observed: {agree} agree with the guide, {} depart, {nostance} where it takes no stance, {} inconclusive, {undecided} skipped, error or timeout",
            set.run.column(),
            set.results.len(),
            departs.len(),
            inconclusive.len(),
        );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Stance;
    use crate::observe::Outcome;

    #[test]
    fn inconclusive_is_neither_agreement_nor_departure() {
        for doc in [Stance::Yes, Stance::No, Stance::Unstated] {
            assert_eq!(verdict(Outcome::Inconclusive, doc), Verdict::Inconclusive);
        }
        assert_eq!(Outcome::parse("inconclusive"), Some(Outcome::Inconclusive));
        assert_eq!(Verdict::Inconclusive.css(), "inconclusive");
    }

    #[test]
    fn long_lists_are_cut() {
        let ids: Vec<String> = (0..10).map(|i| format!("c{i}")).collect();
        assert_eq!(list(&ids[..2]), "c0, c1");
        assert!(list(&ids).ends_with("c7 and 2 more"));
        assert_eq!(list(&[]), "none");
    }
}
