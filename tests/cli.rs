//! The `ipcconf` command line: merging result sets, and refusing bad input with a
//! clear message while leaving an existing report untouched.

use std::path::{Path, PathBuf};
use std::process::Output;

mod ipcconf;
mod support;
use ipcconf::{ipcconf, result_set, set_run_field, stderr};
use support::unescaped_bars;

/// `ipcconf report --results SET... --out OUT`.
fn report(sets: &[&Path], out: &Path) -> Output {
    report_with(sets, out, &[])
}

/// `ipcconf report --results SET... --out OUT EXTRA...`.
fn report_with(sets: &[&Path], out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["report".to_owned()];
    for set in sets {
        args.push("--results".to_owned());
        args.push(set.to_str().unwrap().to_owned());
    }
    args.push("--out".to_owned());
    args.push(out.to_str().unwrap().to_owned());
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.extend(extra);
    ipcconf(&args)
}

/// The report.json written in `out`.
fn report_json(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap()
}

/// An output directory holding a previous report, and a snapshot of it.
fn previous_report(root: &Path) -> (PathBuf, Vec<(PathBuf, Vec<u8>)>) {
    let set = result_set(root, "prev", "prev-run", "linux-x86_64-gnu");
    let out = root.join("out");
    let o = report(&[&set], &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let snap = ["report.json", "PORTABILITY.md", "index.html"]
        .iter()
        .map(|f| (out.join(f), std::fs::read(out.join(f)).unwrap()))
        .collect();
    (out, snap)
}

fn assert_untouched(snap: &[(PathBuf, Vec<u8>)]) {
    for (path, bytes) in snap {
        assert_eq!(
            &std::fs::read(path).unwrap(),
            bytes,
            "{} changed",
            path.display()
        );
    }
}

fn assert_refused(args: &[&str], snap: &[(PathBuf, Vec<u8>)], needle: &str) {
    assert_refused_output(&ipcconf(args), snap, needle);
}

fn assert_refused_output(o: &Output, snap: &[(PathBuf, Vec<u8>)], needle: &str) {
    assert_eq!(o.status.code(), Some(2), "exit code; stderr: {}", stderr(o));
    assert!(
        stderr(o).contains(needle),
        "stderr lacks {needle:?}: {}",
        stderr(o)
    );
    assert_untouched(snap);
}

/// An expected platform with a runtime (`ID (RUNTIME)`) is met only by a run under
/// that runtime: an emulated run never hides a missing native one.
#[test]
fn expected_platform_with_runtime_needs_that_runtime() {
    let tmp = tempfile::tempdir().unwrap();
    let set = result_set(tmp.path(), "a", "run-a", "linux-aarch64-gnu");
    let run_json = set.join("run.json");
    let mut run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&run_json).unwrap()).unwrap();
    run["runtime"] = "qemu-user".into();
    std::fs::write(&run_json, serde_json::to_vec(&run).unwrap()).unwrap();
    let out = tmp.path().join("out");
    let expected = [
        "linux-aarch64-gnu (qemu-user)",
        "linux-aarch64-gnu (native)",
        "windows-x86_64-gnu (wine)",
    ];
    let extra: Vec<&str> = expected
        .iter()
        .flat_map(|p| ["--expect-platform", p])
        .collect();
    let o = report_with(&[&set], &out, &extra);
    assert!(o.status.success(), "{}", stderr(&o));
    let json = report_json(&out);
    let not_measured: Vec<&str> = json["not_measured"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        not_measured.contains(&"linux-aarch64-gnu"),
        "the native column is missing: {not_measured:?}"
    );
    assert!(
        not_measured.contains(&"windows-x86_64-gnu (wine)"),
        "{not_measured:?}"
    );
    assert!(
        !not_measured.contains(&"linux-aarch64-gnu (qemu-user)"),
        "the qemu-user run was given: {not_measured:?}"
    );
}

/// `ipcconf report --results SET... --out OUT` must be refused, naming `needle`.
fn assert_sets_refused(sets: &[&Path], out: &Path, snap: &[(PathBuf, Vec<u8>)], needle: &str) {
    assert_refused_output(&report(sets, out), snap, needle);
}

/// A valid result set, spoilt by `spoil`, is refused with `needle`, and the
/// previous report stays as it was.
fn refused_once_spoilt(needle: &str, spoil: impl FnOnce(&Path)) {
    let tmp = tempfile::tempdir().unwrap();
    let (out, snap) = previous_report(tmp.path());
    let bad = result_set(tmp.path(), "bad", "run-bad", "linux-x86_64-gnu");
    spoil(&bad);
    assert_sets_refused(&[&bad], &out, &snap, needle);
}

#[test]
fn merges_two_runs_into_one_report() {
    let tmp = tempfile::tempdir().unwrap();
    let a = result_set(tmp.path(), "a", "run-a", "linux-x86_64-gnu");
    let b = result_set(tmp.path(), "b", "run-b", "linux-aarch64-gnu");
    let out = tmp.path().join("out");
    let o = report_with(&[&a, &b], &out, &["--expect-platform", "freebsd-x86_64"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json = report_json(&out);
    let runs = json["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for run in runs {
        assert!(run["platform"].is_string() && run["run_info"].is_object());
        let r = &run["results"][0];
        for field in ["claim", "observed", "expected", "doc", "detail"] {
            assert!(!r[field].is_null(), "result lacks {field}");
        }
    }
    let md = std::fs::read_to_string(out.join("PORTABILITY.md")).unwrap();
    assert!(md.contains("| linux-aarch64-gnu |") || md.contains("linux-aarch64-gnu"));
    assert!(
        md.contains("freebsd-x86_64"),
        "expected platform without a run is shown"
    );
    assert!(
        json["not_measured"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "freebsd-x86_64")
    );
}

#[test]
fn a_directory_of_result_sets_is_expanded() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("artifacts");
    result_set(&root, "linux", "run-1", "linux-x86_64-gnu");
    result_set(&root, "musl", "run-2", "linux-x86_64-musl");
    let out = tmp.path().join("out");
    let o = report(&[&root], &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let json = report_json(&out);
    assert_eq!(json["runs"].as_array().unwrap().len(), 2);
}

#[test]
fn malformed_result_is_refused() {
    refused_once_spoilt("malformed result", |bad| {
        std::fs::write(
            bad.join("results/pipe.unidirectional.json"),
            b"{\"claim\": \"pipe.unidirectional\", \"observed\": 7}",
        )
        .unwrap();
    });
}

#[test]
fn truncated_run_info_is_refused() {
    refused_once_spoilt("malformed run info", |bad| {
        let text = std::fs::read(bad.join("run.json")).unwrap();
        std::fs::write(bad.join("run.json"), &text[..text.len() / 2]).unwrap();
    });
}

#[test]
fn duplicated_result_set_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, snap) = previous_report(tmp.path());
    let a = result_set(tmp.path(), "a", "same-run", "linux-x86_64-gnu");
    let copy = result_set(tmp.path(), "copy", "same-run", "linux-x86_64-gnu");
    assert_sets_refused(&[&a, &copy], &out, &snap, "duplicated result set");
}

#[test]
fn unknown_claim_is_refused() {
    refused_once_spoilt("unknown claim id", |bad| {
        let text = std::fs::read_to_string(bad.join("results/pipe.unidirectional.json")).unwrap();
        std::fs::write(
            bad.join("results/pipe.teleports.json"),
            text.replace("pipe.unidirectional", "pipe.teleports"),
        )
        .unwrap();
    });
}

#[test]
fn missing_directory_and_wrong_flag_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, snap) = previous_report(tmp.path());
    assert_refused(
        &[
            "report",
            "--results",
            "/nonexistent/ipcconf",
            "--out",
            out.to_str().unwrap(),
        ],
        &snap,
        "not a directory",
    );
    assert_refused(
        &["report", "--resluts", "x", "--out", out.to_str().unwrap()],
        &snap,
        "--resluts",
    );
    let o = ipcconf(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown command"));
}

#[test]
fn expectations_lists_every_claim_with_its_origin() {
    let o = ipcconf(&["expectations", "--os", "freebsd"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out
        .lines()
        .find(|l| l.starts_with("pipe.unidirectional "))
        .expect("pipe.unidirectional listed");
    assert!(
        line.contains(" no ") && line.contains("platforms/freebsd.toml"),
        "{line}"
    );
    assert!(out.lines().count() >= 151);
    let o = ipcconf(&["expectations", "--os", "plan9"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown OS"));
}

#[test]
fn a_literal_double_dash_is_accepted() {
    // `cargo ipc-report -- --results DIR` passes the `--` through to the program.
    let tmp = tempfile::tempdir().unwrap();
    let set = result_set(tmp.path(), "a", "run-a", "linux-x86_64-gnu");
    let out = tmp.path().join("out");
    let o = ipcconf(&[
        "report",
        "--",
        "--results",
        set.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("report.json").is_file());
}

/// An identifier that does not match its pattern is refused with the file and the
/// field named, before anything is written: here a platform id carrying a table
/// separator and HTML, which would otherwise land raw in PORTABILITY.md.
#[test]
fn an_identifier_outside_its_pattern_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, snap) = previous_report(tmp.path());
    for (field, value) in [
        ("platform", "x|<b>y</b>"),
        ("platform", "linux-x86_64-gnu\n| injected |"),
        ("run_id", "run `a`"),
        ("arch", "x86*64"),
        ("target", "x86_64-[link](http://x)"),
        ("suite_revision", "abc<def"),
        ("started", "yesterday"),
        ("runtime", "wine<b>"),
        ("os", "linux|x"),
    ] {
        let bad = result_set(tmp.path(), "bad", "run-bad", "linux-x86_64-gnu");
        set_run_field(&bad, field, value);
        assert_sets_refused(&[&bad], &out, &snap, &format!("run.json: field {field}"));
        std::fs::remove_dir_all(&bad).unwrap();
    }
    for (field, value) in [
        ("expected.origin", "platforms/../x.toml"),
        ("doc", "<i>yes</i>"),
        ("measured.name", "n|m"),
        ("measured.unit", "ms <b>"),
        ("time", "2026-01-01 00:00:01"),
        ("observed", "yes|no"),
        ("expected.value", "<b>yes</b>"),
    ] {
        let bad = result_set(tmp.path(), "bad", "run-bad", "linux-x86_64-gnu");
        let path = bad.join("results/pipe.unidirectional.json");
        let mut r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        r["measured"] = serde_json::json!([{"name": "n", "value": 1.0, "unit": "ms"}]);
        match field.split_once('.') {
            Some(("expected", f)) => r["expected"][f] = value.into(),
            Some(("measured", f)) => r["measured"][0][f] = value.into(),
            _ => r[field] = value.into(),
        }
        std::fs::write(&path, serde_json::to_vec(&r).unwrap()).unwrap();
        assert_sets_refused(
            &[&bad],
            &out,
            &snap,
            &format!("pipe.unidirectional.json: field {field}"),
        );
        std::fs::remove_dir_all(&bad).unwrap();
    }
}

/// Free text (OS name, kernel, libc, runtime detail) full of Markdown and HTML
/// stays inside its cell of the Runs table, escaped.
#[test]
fn free_text_cannot_break_or_inject_into_a_table() {
    let tmp = tempfile::tempdir().unwrap();
    let set = result_set(tmp.path(), "a", "run-a", "linux-x86_64-gnu");
    let nasty = "a|b <script>x</script> `c` *d* _e_ [f](g) ~h~ $i$ &amp; \\| j\nk";
    for field in ["os_version", "kernel", "libc"] {
        set_run_field(&set, field, nasty);
    }
    let out = tmp.path().join("out");
    let o = report(&[&set], &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(out.join("PORTABILITY.md")).unwrap();
    let escaped = ipc_conformance::markup::markdown(nasty);
    let lines: Vec<&str> = md.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("| linux-x86_64-gnu |") && l.contains(&escaped))
        .expect("the run's row in the Runs table, with the text escaped");
    // The table's header: the line above its |---| delimiter row.
    let delimiter = (0..at)
        .rev()
        .find(|&i| lines[i].starts_with("|---|"))
        .expect("the row belongs to a table");
    assert_eq!(
        unescaped_bars(lines[at]),
        unescaped_bars(lines[delimiter - 1]),
        "{}",
        lines[at]
    );
    for raw in ["<script>", "`c`", "*d*", "[f](g)", "$i$", "&amp;", "\nk"] {
        let unescaped = md.match_indices(raw).any(|(i, _)| !md[..i].ends_with('\\'));
        assert!(!unescaped, "{raw:?} reached PORTABILITY.md raw");
    }
}
