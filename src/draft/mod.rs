//! Platform-file entries drafted from a run: where a run's observations departed
//! from what the suite expected of it, the entries (in the format of
//! `platforms/*.toml`) that would make the suite expect what was observed, each
//! with a reason built from the evidence and a source naming the run. A draft is
//! a measurement of one run for a maintainer to review, never a documented fact.
//!
//! A departure is a result whose recorded expectation names a value, whose
//! observation differs from it, and whose observation is one an expectation may
//! name (`yes`, `no`, `unsupported`, `timeout`); a performance verdict (yes/no
//! against yes/no) belongs to the machine that measured it and is no departure.
//! `error`, `skipped`, `measured` and unsound results are listed as not drafted.
//!
//! The entries go into the run's most specific platform file (`<os>-<runtime>`
//! under Wine or qemu-user, else `<os>-<libc>`, else `<os>`; a run in a VM is
//! the OS's own), the way the loader resolves them, and the
//! draft is as small as that resolution allows: an entry expecting a mechanism
//! absent (`<mech>.available` expected `no` or `unsupported`) already makes the
//! mechanism's other claims expected `unsupported`, so those that observed
//! `unsupported` get no entry of their own, and a claim of that mechanism that
//! observed anything else gets one, so no claim that met its expectation on the
//! run would miss it under the draft.
//!
//! Result sets of several platform files (a CI run's artifacts) are drafted one
//! file at a time ([`draft_all`]); [`merge`] writes a draft into the file as it
//! is (a drafted claim's entry replaces the one there, the others are added,
//! everything else is kept), [`patch`] turns that into one patch against
//! `platforms/`, and [`summary`] lists the entries in Markdown for a reviewer.

pub mod merge;
pub mod patch;
pub mod summary;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::catalog::{Catalog, Kind};
use crate::expect::{EXPECTABLE, Expectations, PlatformEntry};
use crate::observe::Outcome;
use crate::platform::{RunInfo, Runtime};
use crate::results::{ResultRecord, ResultSet, Status};

/// Longest evidence quoted in a reason; the result set keeps all of it.
const MAX_EVIDENCE: usize = 300;

/// Drafted entries for one platform file.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The file the entries belong to, without `platforms/` and `.toml`.
    pub stem: String,
    /// Claim id → entry.
    pub entries: BTreeMap<String, PlatformEntry>,
    /// Claim id → what each entry was drafted from, for a reviewer.
    pub details: BTreeMap<String, Detail>,
    /// Results not drafted, each with why.
    pub not_drafted: Vec<String>,
    /// One line per run the draft comes from.
    pub runs: Vec<String>,
}

/// What an entry was drafted from.
#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    /// What the runs expected, each as `value (origin)`, without repeats.
    pub expected: Vec<String>,
    /// The runs, each as `<column> run <run id>`.
    pub runs: Vec<String>,
    /// The first run's evidence, on one line and bounded.
    pub evidence: String,
    /// The claim met its expectation; its entry keeps it so under the draft's
    /// entry for its mechanism's availability.
    pub kept: bool,
}

/// The platform file a run's own departures belong to: the most specific layer,
/// except that a run in a full-system VM is a run of the OS itself (its kernel,
/// its libc), whose departures belong to the OS's files, never to an
/// `<os>-vm` overlay.
pub fn stem_for(run: &RunInfo) -> String {
    let vm = format!("{}-{}", run.os.key(), Runtime::Vm.as_str());
    Expectations::layers(run)
        .into_iter()
        .find(|stem| *stem != vm)
        .unwrap_or_else(|| run.os.key().to_owned())
}

/// The run, as a source: platform, runtime, OS version, kernel, libc, suite
/// revision, start time and run id.
pub fn describe_run(run: &RunInfo) -> String {
    let runtime = match (run.runtime, run.runtime_detail.trim()) {
        (Runtime::Native, _) => String::new(),
        (r, "") => format!(" under {}", r.as_str()),
        (r, d) => format!(" under {} ({d})", r.as_str()),
    };
    format!(
        "run {} of the suite: {}{runtime} on {}, kernel {}, libc {}, suite revision {}, started {}",
        run.run_id,
        run.platform,
        run.os_version,
        run.kernel,
        run.libc,
        run.suite_revision,
        run.started
    )
}

/// Whether `r` departs from what the suite expected of it on its run.
fn departs(r: &ResultRecord, kind: Kind) -> bool {
    let Some(expected) = r.expected.value else {
        return false;
    };
    let yes_no = |o: Outcome| matches!(o, Outcome::Yes | Outcome::No);
    if kind == Kind::Perf && yes_no(r.observed) && yes_no(expected) {
        return false;
    }
    r.observed != expected && EXPECTABLE.contains(&r.observed)
}

/// Why a failed result that is no departure gets no entry.
fn not_drafted(r: &ResultRecord, kind: Kind) -> Option<String> {
    if r.status != Status::Fail || departs(r, kind) {
        return None;
    }
    let expected = r
        .expected
        .value
        .map_or("no stance".to_owned(), |v| v.to_string());
    let why = match r.observed {
        Outcome::Error => "an error is the check's failure to decide, not a platform fact: fix the check or the machine".to_owned(),
        o if !EXPECTABLE.contains(&o) => format!("{o} cannot be an expectation"),
        _ => "the observation is not sound (see the evidence)".to_owned(),
    };
    Some(format!(
        "{}: observed {} (expected {expected}): {why}; evidence: {}",
        r.claim,
        r.observed,
        evidence(&r.detail)
    ))
}

/// The evidence, on one line and bounded.
fn evidence(detail: &str) -> String {
    let one_line: String = detail
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let one_line = one_line.trim();
    if one_line.chars().count() > MAX_EVIDENCE {
        let cut: String = one_line.chars().take(MAX_EVIDENCE).collect();
        format!("{cut}…")
    } else if one_line.is_empty() {
        "(none recorded)".to_owned()
    } else {
        one_line.to_owned()
    }
}

/// What the suite expected, as the reason quotes it.
fn expected_words(r: &ResultRecord) -> String {
    let value = r
        .expected
        .value
        .map_or("no stance".to_owned(), |v| v.to_string());
    format!("{value} ({})", r.expected.origin)
}

/// Drafts the entries for the departures of `sets`, which must all belong to one
/// platform file (filter them first).
pub fn draft(sets: &[ResultSet], catalog: &Catalog) -> Result<Draft, String> {
    let Some(first) = sets.first() else {
        return Err("no result set to draft from".to_owned());
    };
    let stem = stem_for(&first.run);
    if let Some(other) = sets.iter().find(|s| stem_for(&s.run) != stem) {
        return Err(format!(
            "{} is a run for platforms/{}.toml but {} is one for platforms/{stem}.toml: draft one platform file at a time (give one result set, or choose with --os)",
            other.dir.display(),
            stem_for(&other.run),
            first.dir.display()
        ));
    }
    let file = format!("platforms/{stem}.toml");
    let kind = |id: &str| catalog.claim(id).map(|c| c.kind);

    // Departures per claim, across runs.
    let mut found: BTreeMap<String, Vec<(&ResultSet, &ResultRecord)>> = BTreeMap::new();
    let mut not = Vec::new();
    for set in sets {
        for r in &set.results {
            let Some(k) = kind(&r.claim) else { continue };
            if departs(r, k) {
                found.entry(r.claim.to_string()).or_default().push((set, r));
            } else if let Some(why) = not_drafted(r, k) {
                not.push(format!(
                    "{} run {}: {why}",
                    set.run.column(),
                    set.run.run_id
                ));
            }
        }
    }
    // Runs that disagree on a claim get no entry: a maintainer decides. A run
    // that met the expectation counts too: an entry would make it fail.
    found.retain(|claim, hits| {
        let seen: Vec<(&ResultSet, Outcome)> = sets
            .iter()
            .filter_map(|s| {
                let r = s.results.iter().find(|r| &r.claim == claim)?;
                EXPECTABLE.contains(&r.observed).then_some((s, r.observed))
            })
            .collect();
        let agree = seen.iter().all(|(_, o)| *o == hits[0].1.observed);
        if !agree {
            let seen: Vec<String> = seen
                .iter()
                .map(|(s, o)| format!("{} run {} observed {o}", s.run.column(), s.run.run_id))
                .collect();
            not.push(format!("{claim}: the runs disagree ({})", seen.join(", ")));
        }
        agree
    });

    // Mechanisms the draft expects absent.
    let absent: BTreeMap<String, Outcome> = found
        .iter()
        .filter_map(|(id, hits)| {
            let c = catalog.claim(id)?;
            let o = hits[0].1.observed;
            (c.kind == Kind::Availability && matches!(o, Outcome::No | Outcome::Unsupported))
                .then(|| (c.mechanism.clone(), o))
        })
        .collect();
    // Whether an absent-mechanism entry already makes `r` expected unsupported:
    // the claim has no entry of its own in the target file (its recorded origin
    // would say so) and is not the availability claim itself.
    let covered = |r: &ResultRecord| {
        catalog.claim(&r.claim).is_some_and(|c| {
            c.kind != Kind::Availability
                && absent.contains_key(&c.mechanism)
                && r.expected.origin != file
        })
    };
    let mut also: BTreeMap<String, Vec<String>> = BTreeMap::new();
    found.retain(|claim, hits| {
        let drop = hits
            .iter()
            .all(|(_, r)| r.observed == Outcome::Unsupported && covered(r));
        if drop {
            if let Some(c) = catalog.claim(claim) {
                also.entry(c.mechanism.clone())
                    .or_default()
                    .push(claim.clone());
            }
        }
        !drop
    });
    // Claims that met their expectation but would be expected unsupported under
    // an absent-mechanism entry need their own entry.
    let mut keep: BTreeMap<String, Vec<(&ResultSet, &ResultRecord)>> = BTreeMap::new();
    for set in sets {
        for r in &set.results {
            if found.contains_key(r.claim.as_str()) || !covered(r) {
                continue;
            }
            match r.observed {
                Outcome::Unsupported | Outcome::Skipped => {}
                o if EXPECTABLE.contains(&o) => keep.entry(r.claim.to_string()).or_default().push((set, r)),
                o => not.push(format!(
                    "{} run {}: {}: observed {o}, but the draft's entry for {}.available would make it expected unsupported: review both",
                    set.run.column(),
                    set.run.run_id,
                    r.claim,
                    catalog.claim(&r.claim).map_or("", |c| c.mechanism.as_str())
                )),
            }
        }
    }

    let mut entries = BTreeMap::new();
    let mut details = BTreeMap::new();
    for (claim, hits) in found.iter().chain(keep.iter()) {
        let observed = hits[0].1.observed;
        let mut reason = String::new();
        for (i, (set, r)) in hits.iter().enumerate() {
            if i > 0 {
                reason.push(' ');
            }
            let what = if keep.contains_key(claim) {
                format!(
                    "its own entry keeps it so, since the entry for {}.available would make it expected unsupported",
                    catalog.claim(claim).map_or("", |c| c.mechanism.as_str())
                )
            } else {
                format!("where the suite expected {}", expected_words(r))
            };
            let ev = evidence(&r.detail);
            let stop = if ev.ends_with(['.', '!', '?', '…']) {
                ""
            } else {
                "."
            };
            let _ = write!(
                reason,
                "{} observed {observed}, {what}. Evidence: {ev}{stop}",
                set.run.column()
            );
        }
        if let Some(c) = catalog.claim(claim) {
            if let Some(others) = also
                .get(&c.mechanism)
                .filter(|_| c.kind == Kind::Availability)
            {
                let _ = write!(
                    reason,
                    " This entry also makes the other {} claims expected unsupported; these {} departed and observed unsupported: {}.",
                    c.mechanism,
                    others.len(),
                    others.join(", ")
                );
            }
        }
        let mut expected: Vec<String> = Vec::new();
        for (_, r) in hits {
            let e = expected_words(r);
            if !expected.contains(&e) {
                expected.push(e);
            }
        }
        details.insert(
            claim.clone(),
            Detail {
                expected,
                runs: hits
                    .iter()
                    .map(|(s, _)| format!("{} run {}", s.run.column(), s.run.run_id))
                    .collect(),
                evidence: evidence(&hits[0].1.detail),
                kept: keep.contains_key(claim),
            },
        );
        let mut runs: Vec<String> = hits.iter().map(|(s, _)| describe_run(&s.run)).collect();
        runs.dedup();
        entries.insert(
            claim.clone(),
            PlatformEntry {
                expect: Some(observed),
                reason,
                source: format!("measured, not yet documented: {}", runs.join("; ")),
            },
        );
    }
    Ok(Draft {
        stem,
        entries,
        details,
        not_drafted: not,
        runs: sets.iter().map(|s| describe_run(&s.run)).collect(),
    })
}

/// Drafts every platform file `sets` belong to: the sets grouped by the file
/// their departures go to ([`stem_for`]), one draft per file, in the order of
/// the files' names.
pub fn draft_all(sets: &[ResultSet], catalog: &Catalog) -> Result<Vec<Draft>, String> {
    let mut groups: BTreeMap<String, Vec<ResultSet>> = BTreeMap::new();
    for set in sets {
        groups
            .entry(stem_for(&set.run))
            .or_default()
            .push(set.clone());
    }
    groups.values().map(|group| draft(group, catalog)).collect()
}

/// A TOML basic string.
pub(crate) fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One entry in the format of `platforms/*.toml`: its table header and its
/// three keys, each on its own line.
pub(crate) fn entry_toml(claim: &str, e: &PlatformEntry) -> String {
    format!(
        "[claims.{}]\nexpect = {}\nreason = {}\nsource = {}\n",
        toml_string(claim),
        toml_string(e.expect_word()),
        toml_string(&e.reason),
        toml_string(&e.source)
    )
}

/// A comment line: no line break can end it early.
pub(crate) fn comment(s: &str) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("# {flat}\n")
}

impl Draft {
    /// The entries as TOML in the format of `platforms/*.toml`, with a header
    /// saying where they come from and, as comments, what was not drafted.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        out.push_str(&comment(&format!(
            "Drafted entries for platforms/{}.toml (ipcconf expectations --from-results):",
            self.stem
        )));
        out.push_str("# where an observation of the run(s) below departed from what the suite\n");
        out.push_str("# expected on that run. Each is a measurement of that run, not yet a\n");
        out.push_str("# documented fact: review every reason, add the documentation that shows\n");
        out.push_str("# it (man page, source file, vendor page) to its source, then commit.\n");
        for run in &self.runs {
            out.push_str(&comment(&format!("From {run}")));
        }
        if self.entries.is_empty() {
            out.push_str(
                "# No departures: every observation met its expectation; nothing to add.\n",
            );
        }
        for (claim, e) in &self.entries {
            out.push('\n');
            out.push_str(&entry_toml(claim, e));
        }
        if !self.not_drafted.is_empty() {
            out.push_str("\n# Not drafted (no expectation can hold these; see why):\n");
            for n in &self.not_drafted {
                out.push_str(&comment(n));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Os, Stance};
    use crate::expect::Expected;
    use crate::results::ClaimId;

    fn run(id: &str) -> RunInfo {
        let mut r = RunInfo::current(id.into());
        r.os = Os::Windows;
        r.runtime = Runtime::Wine;
        r.platform = "windows-x86_64-gnu".into();
        r
    }

    fn rec(
        claim: &str,
        observed: Outcome,
        expected: Option<Outcome>,
        origin: &str,
    ) -> ResultRecord {
        ResultRecord {
            claim: ClaimId::new(claim).unwrap(),
            observed,
            expected: Expected {
                value: expected,
                origin: origin.into(),
                reason: String::new(),
                source: String::new(),
            },
            doc: Stance::Yes,
            detail: format!("evidence of {claim}"),
            measured: Vec::new(),
            duration_ms: 1.0,
            status: if expected.is_some_and(|e| e != observed) {
                Status::Fail
            } else {
                Status::Pass
            },
            time: "2026-01-01T00:00:00Z".into(),
        }
    }

    /// A result whose expectation is the guide's yes.
    fn guided(claim: &str, observed: Outcome) -> ResultRecord {
        rec(claim, observed, Some(Yes), "guide")
    }

    fn set(id: &str, results: Vec<ResultRecord>) -> ResultSet {
        ResultSet {
            dir: id.into(),
            run: run(id),
            results,
        }
    }

    use Outcome::{Error, No, Unsupported, Yes};

    #[test]
    fn an_absent_mechanism_covers_its_claims_and_keeps_the_odd_one() {
        let s = set(
            "r1",
            vec![
                guided("unix_stream.available", Unsupported),
                // Covered by the availability entry: no entry of its own.
                guided("unix_stream.bidirectional", Unsupported),
                rec(
                    "unix_stream.multiple_readers",
                    Unsupported,
                    Some(No),
                    "platforms/windows.toml",
                ),
                // Met its expectation, but would be expected unsupported under the
                // availability entry: it needs its own.
                guided("unix_stream.pollable", Yes),
                // Another mechanism: its own entry.
                guided("tcp.handshake_cost", Unsupported),
                // Not a platform fact.
                guided("pipe.unidirectional", Error),
                guided("pipe.available", Yes),
            ],
        );
        let d = draft(&[s], Catalog::get()).unwrap();
        assert_eq!(d.stem, "windows-wine");
        let got: Vec<(&str, Outcome)> = d
            .entries
            .iter()
            .map(|(k, e)| {
                (
                    k.as_str(),
                    e.expect.expect("a drafted entry expects a value"),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("tcp.handshake_cost", Unsupported),
                ("unix_stream.available", Unsupported),
                ("unix_stream.pollable", Yes),
            ]
        );
        let avail = &d.entries["unix_stream.available"].reason;
        assert!(
            avail.contains("unix_stream.bidirectional")
                && avail.contains("unix_stream.multiple_readers"),
            "{avail}"
        );
        assert!(d.entries["tcp.handshake_cost"].source.contains("run r1"));
        assert_eq!(d.not_drafted.len(), 1, "{:?}", d.not_drafted);
        assert!(d.not_drafted[0].contains("pipe.unidirectional: observed error"));
        // What is drafted loads, and under it every sound result meets its expectation.
        let text = d.to_toml();
        let exp = Expectations::parse(&[("windows-wine", &text)], Catalog::get()).unwrap();
        for (id, o) in [
            ("unix_stream.bidirectional", Unsupported),
            ("unix_stream.pollable", Yes),
            ("tcp.handshake_cost", Unsupported),
        ] {
            assert_eq!(
                exp.resolve(Catalog::get().claim(id).unwrap(), &run("r1"))
                    .value,
                Some(o),
                "{id}"
            );
        }
    }

    #[test]
    fn runs_that_disagree_get_no_entry_and_agreeing_runs_share_one() {
        // Two runs that agree on the handshake and not on pipe.pollable.
        let runs = [("ra", No), ("rb", Unsupported)].map(|(id, pollable)| {
            set(
                id,
                vec![
                    guided("tcp.handshake_cost", Unsupported),
                    guided("pipe.pollable", pollable),
                ],
            )
        });
        let d = draft(&runs, Catalog::get()).unwrap();
        assert_eq!(d.entries.keys().collect::<Vec<_>>(), ["tcp.handshake_cost"]);
        // A third run that met the expectation disagrees with the two that departed.
        let met = set("rc", vec![guided("tcp.handshake_cost", Yes)]);
        let mut three = runs.to_vec();
        three.push(met);
        let d3 = draft(&three, Catalog::get()).unwrap();
        assert!(d3.entries.is_empty(), "{:?}", d3.entries);
        assert!(
            d3.not_drafted.iter().any(|n| n.contains(
                "tcp.handshake_cost: the runs disagree (windows-x86_64-gnu (wine) run ra observed unsupported"
            ) && n.contains("run rc observed yes")),
            "{:?}",
            d3.not_drafted
        );
        let src = &d.entries["tcp.handshake_cost"].source;
        assert!(src.contains("run ra") && src.contains("run rb"), "{src}");
        assert!(
            d.not_drafted
                .iter()
                .any(|n| n.contains("pipe.pollable: the runs disagree"))
        );
        // Runs of different platform files are drafted one file at a time.
        let mut native = set("rn", Vec::new());
        native.run.runtime = Runtime::Native;
        let e = draft(&[set("rw", Vec::new()), native], Catalog::get()).unwrap_err();
        assert!(e.contains("one platform file at a time"), "{e}");
    }

    #[test]
    fn a_vm_run_drafts_into_the_os_file() {
        let mut vm = run("rv");
        vm.os = Os::Freebsd;
        vm.runtime = Runtime::Vm;
        vm.platform = "freebsd-x86_64".into();
        assert_eq!(stem_for(&vm), "freebsd");
        vm.os = Os::Linux;
        vm.platform = "linux-x86_64-musl".into();
        vm.libc = "musl 1.2.5".into();
        assert_eq!(stem_for(&vm), "linux-musl");
        assert_eq!(stem_for(&run("rw")), "windows-wine");
    }

    #[test]
    fn sets_are_drafted_per_platform_file() {
        let mut vm = set("rv", vec![guided("pipe.pollable", No)]);
        vm.run.os = Os::Freebsd;
        vm.run.runtime = Runtime::Vm;
        vm.run.platform = "freebsd-x86_64".into();
        assert_eq!(stem_for(&vm.run), "freebsd");
        let mut native = set("rn", vec![guided("tcp.handshake_cost", Unsupported)]);
        native.run.runtime = Runtime::Native;
        let wine = set("rw", vec![guided("tcp.handshake_cost", Unsupported)]);
        let drafts = draft_all(&[wine, vm, native], Catalog::get()).unwrap();
        let stems: Vec<(&str, usize)> = drafts
            .iter()
            .map(|d| (d.stem.as_str(), d.entries.len()))
            .collect();
        assert_eq!(stems, [("freebsd", 1), ("windows", 1), ("windows-wine", 1)]);
        let d = &drafts[1].details["tcp.handshake_cost"];
        assert_eq!(d.runs, ["windows-x86_64-gnu run rn"]);
        assert_eq!(d.expected, ["yes (guide)"]);
        assert!(d.evidence.contains("evidence of tcp.handshake_cost") && !d.kept);
    }

    #[test]
    fn toml_strings_survive_any_text() {
        let nasty = "a \"quoted\" \\ back\nslash\ttab \u{7f} \u{1} ]] [claims.x] # end";
        let text = format!(
            "[claims.\"pipe.available\"]\nexpect = \"yes\"\nreason = {}\nsource = {}\n",
            toml_string(nasty),
            toml_string("s")
        );
        let exp = Expectations::parse(&[("linux", &text)], Catalog::get()).unwrap();
        let (_, _, e) = exp.all().next().unwrap();
        assert_eq!(e.reason, nasty);
        assert!(comment("a\nb").lines().count() == 1);
    }
}
