//! Versions as a dimension: synthetic runs of three Linux kernels (and two
//! FreeBSD releases) fed to the report; checks the grouping by version, the
//! numeric order, the collapsing of identical versions and the "since" answers.

use std::path::PathBuf;

use ipc_conformance::report;
use ipc_conformance::report::versions::{self, OsVersions, Version};
use ipc_conformance::results::ResultSet;
use serde_json::{Value, json};

fn run(id: &str, platform: &str, os: &str, os_version: &str, kernel: &str, runtime: &str) -> Value {
    json!({
        "run_id": id, "platform": platform, "os": os, "os_version": os_version,
        "kernel": kernel, "arch": "x86_64", "libc": "glibc 2.36", "runtime": runtime,
        "runtime_detail": "", "target": "x86_64-unknown-linux-gnu", "suite_revision": "test",
        "started": "2026-01-01T00:00:00Z", "cpus": 2, "uid": 1000
    })
}

fn result(claim: &str, observed: &str, detail: &str, measured: &[(&str, f64)]) -> Value {
    json!({
        "claim": claim, "observed": observed,
        "expected": {"value": null, "origin": "guide", "reason": "", "source": ""},
        "doc": "yes", "detail": detail, "duration_ms": 1.0,
        "status": if observed == "skipped" { "skipped" } else { "pass" },
        "time": "2026-01-01T00:00:01Z",
        "measured": measured.iter().map(|(n, v)| json!({"name": n, "value": v, "unit": "bytes"})).collect::<Vec<_>>()
    })
}

/// The version view of every OS of `sets`.
fn analyze(sets: &[ResultSet]) -> Vec<OsVersions> {
    let refs: Vec<&ResultSet> = sets.iter().collect();
    versions::analyze(&refs).by_os
}

/// Fails, showing `text`, unless it contains every one of `needles`.
fn assert_contains_all(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
}

fn set(run: Value, results: Vec<Value>) -> ResultSet {
    ResultSet {
        dir: PathBuf::from("synthetic"),
        run: serde_json::from_value(run).expect("run info"),
        results: results
            .into_iter()
            .map(|r| serde_json::from_value(r).expect("result"))
            .collect(),
    }
}

/// Linux 6.1, 6.9 and 6.18, given out of order: memfd appears in 6.9 (absent
/// before), everything else is the same; a perf figure differs everywhere (it
/// belongs to the machine, so it never splits versions) and the 6.1 run
/// measured another pipe capacity (a value: listed, never a "since"). A qemu-user run on a
/// 6.18 host is no version of Linux and stays out.
fn linux_sets() -> Vec<ResultSet> {
    let common = |memfd: &str, latency: f64| {
        let capacity = if memfd == "yes" { 65536.0 } else { 16384.0 };
        vec![
            result("pipe.available", "yes", "pipe(2) works", &[]),
            result(
                "pipe.default_capacity",
                "measured",
                "filled",
                &[("capacity", capacity)],
            ),
            result(
                "pipe.pipe_buf",
                "measured",
                "PIPE_BUF",
                &[("pipe_buf", 4096.0)],
            ),
            result(
                "memfd.available",
                memfd,
                &format!("memfd_create: {memfd}"),
                &[],
            ),
            result(
                "perf.latency_pipe",
                "measured",
                "figure",
                &[("median_ns", latency)],
            ),
        ]
    };
    vec![
        set(
            run(
                "r618",
                "linux-x86_64-gnu",
                "linux",
                "Debian GNU/Linux 12",
                "Linux 6.18.44-fc (#1 SMP)",
                "native",
            ),
            common("yes", 40_000.0),
        ),
        set(
            run(
                "r61",
                "linux-x86_64-musl",
                "linux",
                "initramfs",
                "Linux 6.1.0-57-cloud-amd64 (#1 SMP Debian 6.1.192-3)",
                "vm",
            ),
            common("unsupported", 900_000.0),
        ),
        set(
            run(
                "r69",
                "linux-x86_64-gnu",
                "linux",
                "Ubuntu",
                "Linux 6.9.3-generic (#1)",
                "native",
            ),
            common("yes", 41_000.0),
        ),
        set(
            run(
                "rq",
                "linux-aarch64-gnu",
                "linux",
                "Debian GNU/Linux 12",
                "Linux 6.18.44-fc (#1 SMP)",
                "qemu-user",
            ),
            common("unsupported", 1.0),
        ),
    ]
}

#[test]
fn versions_compare_numerically() {
    let v = |s: &str| Version::parse(s, 4).expect(s);
    assert!(v("6.1") < v("6.18"));
    assert!(v("6.9") < v("6.18"));
    assert!(v("14.3") < v("15.0"));
    assert!(v("5.15") < v("6.1"));
    assert_eq!(
        Version::parse("Linux 6.18.44-fc-v1147", 2).unwrap().text,
        "6.18"
    );
    assert_eq!(
        Version::parse("FreeBSD 14.3-RELEASE", 4).unwrap().text,
        "14.3"
    );
    assert!(Version::parse("no digits", 2).is_none());
}

#[test]
fn three_kernels_group_collapse_and_answer_since() {
    let sets = linux_sets();
    let view = analyze(&sets);
    assert_eq!(view.len(), 1, "one OS: {view:?}");
    let linux = &view[0];
    let order: Vec<&str> = linux
        .versions
        .iter()
        .map(|v| v.version.text.as_str())
        .collect();
    assert_eq!(order, ["6.1", "6.9", "6.18"], "oldest first, numerically");
    assert_eq!(
        linux.versions[2].columns,
        ["linux-x86_64-gnu"],
        "the qemu-user run stays out"
    );

    // 6.9 and 6.18 observed the same of every claim (perf aside): one column.
    let cols: Vec<&str> = linux.columns.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(cols, ["Linux 6.1", "Linux 6.9–6.18"]);
    assert_eq!(linux.columns[1].versions, ["6.9", "6.18"]);

    // memfd: yes since 6.9, absent until 6.1, with each run as evidence.
    assert_eq!(
        linux.since.len(),
        1,
        "only memfd differs: {:?}",
        linux.since
    );
    let s = &linux.since[0];
    assert_eq!(s.claim, "memfd.available");
    assert_eq!(s.current.as_str(), "yes");
    assert_eq!(s.since, "6.9");
    assert_eq!(s.previous.as_str(), "unsupported");
    assert_eq!(s.until, "6.1");
    assert!(!s.unexpected, "every run met its expectation");
    let evidence: Vec<(&str, &str)> = s
        .history
        .iter()
        .flat_map(|h| {
            h.evidence
                .iter()
                .map(move |e| (h.version.as_str(), e.run_id.as_str()))
        })
        .collect();
    assert_eq!(evidence, [("6.1", "r61"), ("6.9", "r69"), ("6.18", "r618")]);
    assert!(
        s.history[0].evidence[0]
            .detail
            .contains("memfd_create: unsupported")
    );

    // The capacity differs as a value, with what else differs between the runs.
    assert_eq!(linux.values_differ.len(), 1);
    let d = &linux.values_differ[0];
    assert_eq!(d.claim, "pipe.default_capacity");
    assert_eq!(
        d.values[0],
        ("6.1".to_owned(), "capacity = 16384 bytes".to_owned())
    );
    assert_eq!(
        d.values[2],
        ("6.18".to_owned(), "capacity = 65536 bytes".to_owned())
    );
    assert!(
        d.runs_differ_in.iter().any(|p| p == "runtime: native / vm"),
        "{:?}",
        d.runs_differ_in
    );

    // The rendered report carries the same answers.
    let r = report::build(&sets, &[]);
    let json: Value = serde_json::from_str(&report::json::render(&r).unwrap()).unwrap();
    assert_eq!(json["versions"][0]["os"], "linux");
    assert_eq!(json["versions"][0]["since"][0]["since"], "6.9");
    assert_eq!(json["versions"][0]["columns"][1]["label"], "Linux 6.9–6.18");
    assert_eq!(
        json["runs"].as_array().unwrap().len(),
        4,
        "runs[] is untouched"
    );
    assert_contains_all(
        &report::markdown::render(&r),
        &[
            "## Since",
            "since Linux 6.9",
            "until Linux 6.1",
            "| Linux 6.1 | Linux 6.9–6.18 |",
            "## Values by version",
        ],
    );
    // The page has a Since section.
    assert_contains_all(&report::html::render(&r), &["id=\"since\""]);
}

#[test]
fn a_skipped_check_is_not_a_change_of_behaviour() {
    let mut sets = linux_sets();
    sets.truncate(3);
    // 6.9 skipped the memfd check: it says nothing, so memfd holds since 6.18 as
    // far as the evidence goes, and 6.9 is listed as not comparable.
    let memfd = sets[2]
        .results
        .iter_mut()
        .find(|r| r.claim == "memfd.available")
        .unwrap();
    *memfd = serde_json::from_value(result("memfd.available", "skipped", "no", &[])).unwrap();
    let view = analyze(&sets);
    let s = &view[0].since[0];
    assert_eq!((s.since.as_str(), s.until.as_str()), ("6.18", "6.1"));
    assert!(s.history[1].seen.is_none());
    assert_eq!(view[0].not_comparable.len(), 1);
    assert!(view[0].not_comparable[0].why.contains("6.9 skipped"));
    // Nothing collapses: 6.9 differs from both neighbours.
    assert_eq!(view[0].columns.len(), 3);
}

#[test]
fn identical_versions_collapse_and_the_report_says_there_is_no_difference() {
    let freebsd = |id: &str, release: &str| {
        set(
            run(
                id,
                "freebsd-x86_64",
                "freebsd",
                release,
                "FreeBSD 14.3-RELEASE (GENERIC)",
                "vm",
            ),
            vec![result("pipe.available", "yes", "pipe(2) works", &[])],
        )
    };
    let sets = vec![
        freebsd("b", "FreeBSD 15.0-RELEASE"),
        freebsd("a", "FreeBSD 14.3-RELEASE"),
    ];
    let view = analyze(&sets);
    let order: Vec<&str> = view[0]
        .versions
        .iter()
        .map(|v| v.version.text.as_str())
        .collect();
    assert_eq!(order, ["14.3", "15.0"]);
    assert_eq!(view[0].columns.len(), 1);
    assert_eq!(view[0].columns[0].label, "FreeBSD 14.3–15.0");
    assert!(view[0].since.is_empty());
    assert_contains_all(
        &report::markdown::render(&report::build(&sets, &[])),
        &[
            "There is no difference: no claim's observation differs between the versions measured (FreeBSD 14.3, 15.0)",
        ],
    );
}

/// The main tables group a platform's versions side by side, oldest first, and
/// fold versions whose observations are identical into one column; the Runs
/// table still lists every run.
#[test]
fn main_table_columns_are_versions_of_a_platform_collapsed_when_identical() {
    let mut sets = linux_sets();
    // 6.9 and 6.18 of linux-x86_64-gnu observe the same: one column. The 6.1
    // VM run is another platform (musl) and keeps its own; qemu-user has no version.
    let m = report::Model::build(&sets, &[]);
    let cols = &m.columns;
    let labels: Vec<&str> = cols
        .iter()
        .filter(|c| c.run.is_some())
        .map(|c| c.label.as_str())
        .collect();
    assert_eq!(
        labels,
        [
            "linux-aarch64-gnu (qemu-user)",
            "linux-x86_64-gnu · Linux 6.9–6.18",
            "linux-x86_64-musl (vm) · Linux 6.1",
        ]
    );
    let folded = cols.iter().find(|c| c.label.contains("6.9–6.18")).unwrap();
    assert_eq!(
        m.runs[folded.run.unwrap()].info().run_id,
        "r618",
        "the newest run stands for both"
    );
    assert_eq!(folded.collapsed.len(), 1);
    let runs = report::tables::runs(&m);
    assert_eq!(
        runs.rows.len(),
        cols.len() + 1,
        "every run stays in the Runs table"
    );

    // A difference keeps the versions apart, oldest first.
    drop(m);
    sets[2].results[3].observed = ipc_conformance::Outcome::Unsupported;
    let m = report::Model::build(&sets, &[]);
    let labels: Vec<&str> = m
        .measured()
        .filter(|(_, run)| run.info().platform == "linux-x86_64-gnu")
        .map(|(c, _)| c.label.as_str())
        .collect();
    assert_eq!(
        labels,
        [
            "linux-x86_64-gnu · Linux 6.9",
            "linux-x86_64-gnu · Linux 6.18"
        ]
    );
}

/// Labels of the measured columns of the main tables.
fn main_labels(sets: &[ResultSet]) -> Vec<String> {
    let m = report::Model::build(sets, &[]);
    m.measured().map(|(c, _)| c.label.clone()).collect()
}

/// One rule folds versions, for the Versions section and the main tables
/// alike: a performance outcome belongs to the machine and keeps no two
/// versions apart, in either.
#[test]
fn a_performance_outcome_keeps_no_versions_apart() {
    let mut sets = linux_sets();
    sets.retain(|s| ["r69", "r618"].contains(&s.run.run_id.as_str()));
    let latency = sets[0]
        .results
        .iter_mut()
        .find(|r| r.claim == "perf.latency_pipe")
        .unwrap();
    *latency =
        serde_json::from_value(result("perf.latency_pipe", "skipped", "debug", &[])).unwrap();
    assert_eq!(main_labels(&sets), ["linux-x86_64-gnu · Linux 6.9–6.18"]);
    assert_eq!(analyze(&sets)[0].columns[0].label, "Linux 6.9–6.18");
}

/// A version whose own runs disagree folds with no other version, and the runs
/// of a platform on either side of it keep their own columns.
#[test]
fn a_version_whose_runs_disagree_stands_alone() {
    let mut sets = linux_sets();
    sets.retain(|s| s.run.runtime == ipc_conformance::platform::Runtime::Native);
    // A musl run on 6.18 that does not have memfd, beside the glibc one that does.
    let mut musl = sets[0].clone();
    musl.run.run_id = "r618m".into();
    musl.run.platform = "linux-x86_64-musl".into();
    let memfd = musl
        .results
        .iter_mut()
        .find(|r| r.claim == "memfd.available")
        .unwrap();
    *memfd =
        serde_json::from_value(result("memfd.available", "unsupported", "ENOSYS", &[])).unwrap();
    sets.push(musl);
    let view = analyze(&sets);
    let cols: Vec<&str> = view[0].columns.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(cols, ["Linux 6.9", "Linux 6.18"]);
    assert_eq!(
        main_labels(&sets),
        [
            "linux-x86_64-gnu · Linux 6.9",
            "linux-x86_64-gnu · Linux 6.18",
            "linux-x86_64-musl · Linux 6.18"
        ]
    );
}
