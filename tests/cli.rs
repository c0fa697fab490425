//! The `ipcconf` command line: merging result sets, and refusing bad input with a
//! clear message while leaving an existing report untouched.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod first_run;
mod support;
use first_run::{
    MACOS_DEPARTURES, apply_patch, copy_files, load_platforms, synthetic_run, synthetic_set,
};
use support::unescaped_bars;

fn ipcconf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ipcconf"))
        .args(args)
        .output()
        .expect("run ipcconf")
}

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

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A minimal valid result set with one pipe result.
fn result_set(root: &Path, name: &str, run_id: &str, platform: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(dir.join("results")).unwrap();
    let run = serde_json::json!({
        "run_id": run_id, "platform": platform, "os": "linux", "os_version": "Test Linux",
        "kernel": "Linux 6.1", "arch": "x86_64", "libc": "glibc 2.36", "runtime": "native",
        "runtime_detail": "", "target": "x86_64-unknown-linux-gnu", "suite_revision": "test",
        "started": "2026-01-01T00:00:00Z", "cpus": 2, "uid": 1000
    });
    std::fs::write(dir.join("run.json"), serde_json::to_vec(&run).unwrap()).unwrap();
    let result = serde_json::json!({
        "claim": "pipe.unidirectional", "observed": "yes",
        "expected": {"value": "yes", "origin": "guide", "reason": "", "source": ""},
        "doc": "yes", "detail": "write() on the read end: EBADF", "duration_ms": 0.5,
        "status": "pass", "time": "2026-01-01T00:00:01Z"
    });
    std::fs::write(
        dir.join("results/pipe.unidirectional.json"),
        serde_json::to_vec(&result).unwrap(),
    )
    .unwrap();
    dir
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

/// Rewrites one field of a result set's run.json.
fn set_run_field(set: &Path, field: &str, value: &str) {
    let path = set.join("run.json");
    let mut run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    run[field] = value.into();
    std::fs::write(&path, serde_json::to_vec(&run).unwrap()).unwrap();
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

const WINE_FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/wine-first-run");

/// (claim, expected value) of a platform file's entries.
fn claims_and_values(
    exp: &ipc_conformance::expect::Expectations,
    stem: &str,
) -> Vec<(String, String)> {
    exp.all()
        .filter(|(s, _, _)| *s == stem)
        .map(|(_, id, e)| (id.to_owned(), e.expect_word().to_owned()))
        .collect()
}

/// The Wine round trip, on a committed excerpt of a real first run: Wine 8 run
/// without platforms/windows-wine.toml. The draft loads as a platform file, holds
/// the same claims and values as the hand-written file, names the run in every
/// source, and with it in place every result of the run meets its expectation.
#[test]
fn a_wine_first_run_drafts_the_hand_written_wine_file() {
    use ipc_conformance::catalog::Catalog;
    use ipc_conformance::expect::{Expectations, PLATFORM_FILES};
    let o = ipcconf(&["expectations", "--from-results", WINE_FIXTURE]);
    assert!(o.status.success(), "{}", stderr(&o));
    let draft = String::from_utf8(o.stdout).unwrap();
    let mut files: Vec<(&str, &str)> = PLATFORM_FILES
        .iter()
        .copied()
        .filter(|(stem, _)| *stem != "windows-wine")
        .collect();
    files.push(("windows-wine", &draft));
    let drafted = Expectations::parse(&files, Catalog::get()).expect("the draft loads");
    assert_eq!(
        claims_and_values(&drafted, "windows-wine"),
        claims_and_values(Expectations::get(), "windows-wine"),
        "draft:\n{draft}"
    );
    for (_, _, e) in drafted.all().filter(|(s, _, _)| *s == "windows-wine") {
        assert!(
            e.source.contains("20261204T135654Z-f95bb335"),
            "{}",
            e.source
        );
        assert!(e.source.contains("Wine 8.0") && e.source.contains("Windows NT 6.1"));
        assert!(e.reason.contains("WSAEAFNOSUPPORT"), "{}", e.reason);
    }
    let set = ipc_conformance::results::load(Path::new(WINE_FIXTURE), Catalog::get()).unwrap();
    let mut departed = 0;
    for r in &set.results {
        let claim = Catalog::get().claim(&r.claim).unwrap();
        let now = drafted.resolve(claim, &set.run).value;
        departed += usize::from(r.expected.value.is_some_and(|v| v != r.observed));
        if r.status != ipc_conformance::results::Status::Skipped {
            assert_eq!(now, Some(r.observed), "{} under the draft", r.claim);
        }
    }
    assert!(departed >= 5, "the fixture holds departures to draft from");
}

#[test]
fn drafting_writes_a_new_file_and_never_clobbers_one() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("windows-wine.toml");
    let draft_to = |extra: &[&str]| {
        let mut args = vec![
            "expectations",
            "--from-results",
            WINE_FIXTURE,
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        ipcconf(&args)
    };
    let o = draft_to(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let first = std::fs::read(&out).unwrap();
    assert!(String::from_utf8_lossy(&first).contains("[claims.\"unix_stream.available\"]"));
    std::fs::write(&out, b"hand-written").unwrap();
    let o = draft_to(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("exists") && stderr(&o).contains("--force"));
    assert_eq!(std::fs::read(&out).unwrap(), b"hand-written");
    let o = draft_to(&["--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), first);
    // No run of that OS: refused, nothing written.
    let other = tmp.path().join("linux.toml");
    let o = ipcconf(&[
        "expectations",
        "--from-results",
        WINE_FIXTURE,
        "--os",
        "linux",
        "--out",
        other.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no result set"), "{}", stderr(&o));
    assert!(!other.exists());
    // --out without --from-results is a usage error.
    let o = ipcconf(&["expectations", "--out", other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn drafting_from_malformed_input_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("draft.toml");
    let bad = result_set(tmp.path(), "bad", "run-bad", "linux-x86_64-gnu");
    set_run_field(&bad, "platform", "x|<b>y</b>");
    let not_a_set = tmp.path().join("empty");
    std::fs::create_dir(&not_a_set).unwrap();
    for (dir, needle) in [
        (bad.as_path(), "field platform"),
        (not_a_set.as_path(), "no result set here"),
        (Path::new("/nonexistent/ipcconf"), "not a directory"),
    ] {
        let o = ipcconf(&[
            "expectations",
            "--from-results",
            dir.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{needle}: {}", stderr(&o));
        assert!(!out.exists());
    }
}

/// A run without departures drafts no entry; a failed check that observed
/// `error` is listed as not drafted, never turned into an expectation.
#[test]
fn drafting_lists_what_cannot_be_an_expectation() {
    let tmp = tempfile::tempdir().unwrap();
    let set = result_set(tmp.path(), "a", "run-a", "linux-x86_64-gnu");
    let o = ipcconf(&["expectations", "--from-results", set.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        text.contains("No departures") && !text.contains("[claims."),
        "{text}"
    );
    let path = set.join("results/pipe.unidirectional.json");
    let mut r: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    r["observed"] = "error".into();
    r["status"] = "fail".into();
    r["detail"] = "pipe(): EMFILE\n[claims.\"x\"]".into();
    std::fs::write(&path, serde_json::to_vec(&r).unwrap()).unwrap();
    let o = ipcconf(&["expectations", "--from-results", set.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(!text.contains("\n[claims."), "{text}");
    let note = text
        .lines()
        .find(|l| {
            l.starts_with("# pipe.unidirectional")
                || l.contains(": pipe.unidirectional: observed error")
        })
        .unwrap_or_else(|| panic!("listed as not drafted: {text}"));
    assert!(note.contains("EMFILE") && note.starts_with('#'), "{note}");
}

/// The report job's drafting step on a CI run's artifacts (laid out as
/// actions/download-artifact leaves them): the Wine first run with its
/// platform file absent, three synthetic macOS runs that depart from
/// platforms/macos.toml, Linux runs without departures (glibc, and musl, whose
/// platform file does not exist and must not be created), and a job that
/// recorded nothing. One patch comes out; it applies to platforms/ (with git
/// where there is git); after it every result meets its expectation except
/// those listed as not drafted; macos.toml keeps its comments and the entries
/// the draft does not touch; the Wine file comes back with the hand-written
/// file's claims and values; the summary lists every entry.
#[test]
fn a_first_ci_run_becomes_one_reviewed_patch() {
    use ipc_conformance::catalog::{Catalog, Os};
    use ipc_conformance::expect::EXPECTABLE;
    use ipc_conformance::observe::Outcome;
    let tmp = tempfile::tempdir().unwrap();
    let art = tmp.path().join("ipc-sets");
    let wine = art.join("ipc-results-windows-x86_64-gnu-wine-debian-12");
    copy_files(Path::new(WINE_FIXTURE), &wine);
    copy_files(
        &Path::new(WINE_FIXTURE).join("results"),
        &wine.join("results"),
    );
    let mut fifo_split = MACOS_DEPARTURES.to_vec();
    fifo_split.push(("fifo.rdwr_self_read", "no", "synthetic: read() blocked"));
    let mut with_error = fifo_split.clone();
    with_error.push(("pipe.pollable", "error", "synthetic: poll(): EINVAL"));
    for (name, id, platform, version, departures) in [
        (
            "ipc-results-macos-aarch64-macos-15",
            "m15",
            "macos-aarch64",
            "macOS 15.7",
            &fifo_split,
        ),
        (
            "ipc-results-macos-aarch64-macos-26",
            "m26",
            "macos-aarch64",
            "macOS 26.1",
            &with_error,
        ),
        (
            "ipc-results-macos-x86_64-macos-26-intel",
            "mi",
            "macos-x86_64",
            "macOS 26.1",
            &MACOS_DEPARTURES.to_vec(),
        ),
    ] {
        synthetic_set(
            &art,
            name,
            &synthetic_run(id, Os::Macos, platform, version),
            departures,
        );
    }
    let linux = synthetic_run("l24", Os::Linux, "linux-x86_64-gnu", "Ubuntu 24.04");
    synthetic_set(
        &art,
        "ipc-results-linux-x86_64-gnu-ubuntu-24.04",
        &linux,
        &[],
    );
    // A musl run without departures: its platform file does not exist, and
    // must not be created empty.
    let mut musl = synthetic_run("m24", Os::Linux, "linux-x86_64-musl", "Ubuntu 24.04");
    musl.libc = "musl 1.2.5".into();
    synthetic_set(
        &art,
        "ipc-results-linux-x86_64-musl-ubuntu-24.04",
        &musl,
        &[],
    );
    std::fs::create_dir_all(art.join("ipc-results-freebsd-x86_64-vm-freebsd-15.1")).unwrap();

    // platforms/ of the commit that ran, without the Wine file (its first run).
    let repo = tmp.path().join("repo");
    let platforms_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("platforms");
    copy_files(&platforms_dir, &repo.join("platforms"));
    std::fs::remove_file(repo.join("platforms/windows-wine.toml")).unwrap();
    let before = tmp.path().join("before");
    copy_files(&repo.join("platforms"), &before);

    let out = tmp.path().join("draft");
    std::fs::create_dir_all(&out).unwrap();
    let patch_path = out.join("platforms-draft.patch");
    let summary_path = out.join("summary.md");
    std::fs::write(&summary_path, "# The report\n").unwrap();
    let o = ipcconf(&[
        "expectations",
        "--from-results",
        art.to_str().unwrap(),
        "--patch",
        patch_path.to_str().unwrap(),
        "--platforms",
        repo.join("platforms").to_str().unwrap(),
        "--summary",
        summary_path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let patch = std::fs::read_to_string(&patch_path).unwrap();
    eprintln!("{}\n{patch}", stderr(&o));
    let files: Vec<&str> = patch
        .lines()
        .filter_map(|l| l.strip_prefix("diff --git a/"))
        .collect();
    assert_eq!(
        files,
        [
            "platforms/macos.toml b/platforms/macos.toml",
            "platforms/windows-wine.toml b/platforms/windows-wine.toml"
        ],
        "one patch, a file each, none for the Linux runs without departures"
    );
    // The input was read, not changed.
    for e in std::fs::read_dir(&before).unwrap() {
        let e = e.unwrap();
        assert_eq!(
            std::fs::read(e.path()).unwrap(),
            std::fs::read(repo.join("platforms").join(e.file_name())).unwrap()
        );
    }

    // git apply takes it at the repository's root, and agrees with ours.
    let git_applied = tmp.path().join("git");
    copy_files(&repo.join("platforms"), &git_applied.join("platforms"));
    let git = Command::new("git")
        .args(["apply", "--check", "--verbose"])
        .arg(&patch_path)
        .current_dir(&git_applied)
        .output();
    apply_patch(&repo, &patch);
    match git {
        Err(e) => eprintln!(
            "NOTE: git could not be started ({e}): the patch was applied by this test alone"
        ),
        Ok(g) => {
            assert!(
                g.status.success(),
                "git apply --check: {}",
                String::from_utf8_lossy(&g.stderr)
            );
            let g = Command::new("git")
                .arg("apply")
                .arg(&patch_path)
                .current_dir(&git_applied)
                .output()
                .unwrap();
            assert!(g.status.success(), "{}", String::from_utf8_lossy(&g.stderr));
            for stem in ["macos", "windows-wine", "linux"] {
                let f = format!("platforms/{stem}.toml");
                assert_eq!(
                    std::fs::read_to_string(git_applied.join(&f)).unwrap(),
                    std::fs::read_to_string(repo.join(&f)).unwrap(),
                    "{f}"
                );
            }
        }
    }

    // Under the patched files every result meets its expectation, except those
    // the draft lists as not drafted: the FIFO claim the macOS runs disagree on
    // and the error.
    let patched = load_platforms(&repo.join("platforms"));
    let sets: Vec<_> = std::fs::read_dir(&art)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("run.json").exists())
        .map(|p| ipc_conformance::results::load(&p, Catalog::get()).unwrap())
        .collect();
    assert_eq!(sets.len(), 6);
    for set in &sets {
        for r in &set.results {
            let claim = Catalog::get().claim(&r.claim).unwrap();
            let now = patched.resolve(claim, &set.run).value;
            let disagreed = r.claim == "fifo.rdwr_self_read" && set.run.platform == "macos-aarch64";
            if EXPECTABLE.contains(&r.observed) && now.is_some() && !disagreed {
                assert_eq!(now, Some(r.observed), "{} of {}", r.claim, set.run.run_id);
            }
        }
    }
    assert_eq!(
        patched
            .resolve(
                Catalog::get().claim("fifo.rdwr_self_read").unwrap(),
                &sets[0].run
            )
            .value,
        Some(Outcome::Yes),
        "no entry for a claim the runs disagree on"
    );

    // macos.toml: every comment line and every entry the draft does not name
    // stay as they were; the two contradicted entries are replaced in place.
    let old = std::fs::read_to_string(before.join("macos.toml")).unwrap();
    let new = std::fs::read_to_string(repo.join("platforms/macos.toml")).unwrap();
    let comments = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with('#'))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(comments(&old), comments(&new));
    let old_exp = load_platforms(&before);
    let drafted = [
        "signal.kqueue_signal",
        "unix_stream.multiple_readers",
        "sysv_mq.available",
        "pipe.unidirectional",
    ];
    let entries = |e: &ipc_conformance::expect::Expectations| -> Vec<(String, String, String)> {
        e.all()
            .filter(|(s, id, _)| *s == "macos" && !drafted.contains(id))
            .map(|(_, id, e)| (id.to_owned(), e.expect_word().to_owned(), e.reason.clone()))
            .collect()
    };
    assert_eq!(entries(&old_exp), entries(&patched));
    let macos: Vec<(&str, &str)> = patched
        .all()
        .filter(|(s, id, _)| *s == "macos" && drafted.contains(id))
        .map(|(_, id, e)| (id, e.expect_word()))
        .collect();
    assert_eq!(
        macos,
        [
            ("pipe.unidirectional", "no"),
            ("signal.kqueue_signal", "no"),
            ("sysv_mq.available", "unsupported"),
            ("unix_stream.multiple_readers", "yes"),
        ]
    );
    let kq = new.find("[claims.\"signal.kqueue_signal\"]").unwrap();
    assert!(
        new.find("[claims.\"signal.signalfd_pollable\"]").unwrap() < kq
            && kq < new.find("# --- eventfd ---").unwrap(),
        "replaced where it was"
    );
    let sysv = patched
        .all()
        .find(|(s, id, _)| *s == "macos" && *id == "sysv_mq.available")
        .unwrap()
        .2;
    assert!(
        sysv.reason.contains("sysv_mq.named_by_key") && sysv.source.contains("run m15"),
        "{sysv:?}"
    );

    // The Wine file comes back with the hand-written file's claims and values.
    use ipc_conformance::expect::Expectations;
    assert_eq!(
        claims_and_values(&patched, "windows-wine"),
        claims_and_values(Expectations::get(), "windows-wine")
    );

    // The summary: appended, per platform file, each entry, the not drafted.
    let md = std::fs::read_to_string(&summary_path).unwrap();
    assert!(md.starts_with("# The report\n"), "appended");
    for needle in [
        "6 entries for 2 platform files",
        "`git apply platforms-draft.patch`",
        "### `platforms/macos.toml`: 2 replaced, 2 added, from 3 runs",
        "### `platforms/windows-wine.toml` (new file): 0 replaced, 2 added, from 1 run",
        "### `platforms/linux.toml`: no departures in 1 run",
        "### `platforms/linux-musl.toml`: no departures in 1 run",
        "| `signal.kqueue_signal` | replaces | no | yes (platforms/macos.toml) |",
        "fifo.rdwr_self_read: the runs disagree (macos-aarch64 run m15 observed no",
        "macos-aarch64 run m26: pipe.pollable: observed error",
    ] {
        assert!(md.contains(needle), "summary lacks {needle:?}:\n{md}");
    }
    let row = md
        .lines()
        .find(|l| l.starts_with("| `unix_stream.multiple_readers`"))
        .unwrap();
    assert_eq!(unescaped_bars(row), 7, "{row}");

    // Nothing departed: no patch, and the summary says so.
    let quiet = tmp.path().join("quiet.patch");
    let o = ipcconf(&[
        "expectations",
        "--from-results",
        art.join("ipc-results-linux-x86_64-gnu-ubuntu-24.04")
            .to_str()
            .unwrap(),
        "--patch",
        quiet.to_str().unwrap(),
        "--summary",
        summary_path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!quiet.exists() && stderr(&o).contains("no patch"));
    assert!(
        std::fs::read_to_string(&summary_path)
            .unwrap()
            .contains("nothing to add")
    );
}
