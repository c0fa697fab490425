//! Safe parsing: the result-set loader and the report renderer never panic on
//! arbitrary input; bad input is an error with a message, good input renders.

use std::path::Path;

use ipc_conformance::catalog::Catalog;
use ipc_conformance::report;
use ipc_conformance::results as load;
use proptest::prelude::*;

mod support;
use support::unescaped_bars;

#[cfg(target_os = "linux")]
#[path = "report_input/limits.rs"]
mod limits;

const RUN: &str = r#"{"run_id":"r1","platform":"linux-x86_64-gnu","os":"linux","os_version":"L","kernel":"K","arch":"x86_64","libc":"glibc","runtime":"native","runtime_detail":"","target":"t","suite_revision":"s","started":"2026-01-01T00:00:00Z","cpus":2,"uid":0}"#;
const RESULT: &str = r#"{"claim":"pipe.unidirectional","observed":"yes","expected":{"value":"yes","origin":"guide","reason":"","source":""},"doc":"yes","detail":"EBADF","duration_ms":0.5,"status":"pass","time":"2026-01-01T00:00:01Z","measured":[{"name":"n","value":1.0,"unit":"u"}]}"#;

fn write_set(dir: &Path, run: &[u8], result_name: &str, result: &[u8]) {
    std::fs::create_dir_all(dir.join("results")).unwrap();
    std::fs::write(dir.join("run.json"), run).unwrap();
    std::fs::write(dir.join("results").join(result_name), result).unwrap();
}

/// Loads, and when that succeeds renders all three outputs: must not panic.
fn load_and_render(dir: &Path) -> Result<(), String> {
    let set = load::load(dir, Catalog::get())?;
    let sets = [set];
    let r = report::build(&sets, &[]);
    let html = report::html::render(&r);
    assert!(!html.contains("<script"), "evidence text must be escaped");
    report::markdown::render(&r);
    report::json::render(&r)?;
    Ok(())
}

/// "inconclusive" is a performance verdict's word: accepted there, refused on
/// any other claim with the file and field named.
#[test]
fn inconclusive_belongs_to_performance_verdicts_only() {
    let verdict = RESULT
        .replace("pipe.unidirectional", "perf.mpmc_contention")
        .replace(r#""observed":"yes""#, r#""observed":"inconclusive""#);
    let tmp = tempfile::tempdir().unwrap();
    write_set(
        tmp.path(),
        RUN.as_bytes(),
        "perf.mpmc_contention.json",
        verdict.as_bytes(),
    );
    load_and_render(tmp.path()).expect("an inconclusive verdict loads");

    let behaviour = RESULT.replace(r#""observed":"yes""#, r#""observed":"inconclusive""#);
    let tmp = tempfile::tempdir().unwrap();
    write_set(
        tmp.path(),
        RUN.as_bytes(),
        "pipe.unidirectional.json",
        behaviour.as_bytes(),
    );
    let err = load_and_render(tmp.path()).unwrap_err();
    assert!(
        err.contains("pipe.unidirectional.json") && err.contains("field observed"),
        "{err}"
    );
}

#[test]
fn the_valid_set_renders() {
    let tmp = tempfile::tempdir().unwrap();
    write_set(
        tmp.path(),
        RUN.as_bytes(),
        "pipe.unidirectional.json",
        RESULT.as_bytes(),
    );
    load_and_render(tmp.path()).unwrap();
}

#[test]
fn every_truncation_is_refused_cleanly() {
    for (what, full) in [("run", RUN), ("result", RESULT)] {
        for cut in 0..full.len() {
            let tmp = tempfile::tempdir().unwrap();
            let (run, result) = if what == "run" {
                (&RUN.as_bytes()[..cut], RESULT.as_bytes())
            } else {
                (RUN.as_bytes(), &RESULT.as_bytes()[..cut])
            };
            write_set(tmp.path(), run, "pipe.unidirectional.json", result);
            let e = load_and_render(tmp.path()).expect_err("a truncated file must be refused");
            assert!(e.contains(".json"), "the error names the file: {e}");
        }
    }
}

/// A platform id as README.md documents it: `[a-z][a-z0-9_]*(-[a-z0-9_]+)*`, at
/// most 64 characters (written here without the loader's code).
fn is_platform_id(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-')
        && !s.contains("--")
        && !s.ends_with('-')
}

/// Every row of every table in `md` has as many cells as its header, and no
/// character that opens HTML, code, a link, math or strikethrough is unescaped.
fn assert_tables_intact(md: &str) -> Result<(), TestCaseError> {
    let mut header = None;
    for line in md.lines() {
        if line.starts_with('|') {
            let bars = unescaped_bars(line);
            match header {
                None => header = Some(bars),
                Some(h) => prop_assert_eq!(bars, h, "row breaks its table: {}", line),
            }
        } else {
            header = None;
        }
    }
    let mut backslashes = 0;
    for c in md.chars() {
        if "<>`[]$~&".contains(c) {
            prop_assert!(backslashes % 2 == 1, "unescaped {:?} in PORTABILITY.md", c);
        }
        backslashes = if c == '\\' { backslashes + 1 } else { 0 };
    }
    Ok(())
}

/// The identifier fields of a result set: (file, JSON pointer, field name).
const ID_FIELDS: [(&str, &str, &str); 16] = [
    ("run", "/platform", "platform"),
    ("run", "/os", "os"),
    ("run", "/runtime", "runtime"),
    ("result", "/observed", "observed"),
    ("result", "/expected/value", "expected.value"),
    ("run", "/run_id", "run_id"),
    ("run", "/arch", "arch"),
    ("run", "/target", "target"),
    ("run", "/suite_revision", "suite_revision"),
    ("run", "/started", "started"),
    ("result", "/claim", "claim"),
    ("result", "/expected/origin", "expected.origin"),
    ("result", "/doc", "doc"),
    ("result", "/time", "time"),
    ("result", "/measured/0/name", "measured.name"),
    ("result", "/measured/0/unit", "measured.unit"),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(run in proptest::collection::vec(any::<u8>(), 0..512),
                                   result in proptest::collection::vec(any::<u8>(), 0..512)) {
        let tmp = tempfile::tempdir().unwrap();
        write_set(tmp.path(), &run, "pipe.unidirectional.json", &result);
        let _ = load_and_render(tmp.path());
    }

    #[test]
    fn mutated_results_never_panic(pos in 0usize..RESULT.len(), byte in any::<u8>()) {
        let mut bytes = RESULT.as_bytes().to_vec();
        bytes[pos] = byte;
        let tmp = tempfile::tempdir().unwrap();
        write_set(tmp.path(), RUN.as_bytes(), "pipe.unidirectional.json", &bytes);
        let _ = load_and_render(tmp.path());
    }

    #[test]
    fn arbitrary_field_values_render_or_are_refused(
        detail in ".{0,200}",
        platform in prop_oneof!["[a-z0-9<>&\"|_-]{0,40}", "[a-z][a-z0-9_]{0,8}(-[a-z0-9_]{1,8}){0,3}"],
        value in prop_oneof![Just(1e308), Just(-1e308), Just(0.0), any::<f64>().prop_filter("finite", |v| v.is_finite())],
        duration in prop_oneof![Just(-1.0), Just(1e300), any::<f64>().prop_filter("finite", |v| v.is_finite())],
        status in prop_oneof![Just("pass".to_owned()), Just("fail".to_owned()), Just("skipped".to_owned()), "[a-z]{0,8}"],
        observed in prop_oneof![Just("yes"), Just("no"), Just("unsupported"), Just("skipped"), Just("error"), Just("timeout"), Just("measured"), Just("inconclusive"), Just("maybe")],
    ) {
        let mut run: serde_json::Value = serde_json::from_str(RUN).unwrap();
        run["platform"] = platform.clone().into();
        let mut res: serde_json::Value = serde_json::from_str(RESULT).unwrap();
        res["detail"] = detail.into();
        res["measured"][0]["value"] = value.into();
        res["duration_ms"] = duration.into();
        res["status"] = status.clone().into();
        res["observed"] = observed.into();
        let tmp = tempfile::tempdir().unwrap();
        write_set(tmp.path(), &serde_json::to_vec(&run).unwrap(), "pipe.unidirectional.json", &serde_json::to_vec(&res).unwrap());
        let outcome = load_and_render(tmp.path());
        // The result is pipe.unidirectional, a behaviour claim: "inconclusive"
        // belongs to performance verdicts only, so it is refused there too.
        let valid = is_platform_id(&platform) && duration >= 0.0 && ["pass", "fail", "skipped"].contains(&status.as_str()) && !["maybe", "inconclusive"].contains(&observed);
        prop_assert_eq!(outcome.is_ok(), valid, "{:?}", outcome);
    }

    /// Any identifier field carrying a character outside its pattern is refused,
    /// with the file and the field named.
    #[test]
    fn identifiers_outside_their_pattern_are_refused(
        field in 0..ID_FIELDS.len(),
        bad in prop::sample::select(vec!['|', '<', '>', '`', '*', '[', ']', '\n', '&', '"', '\\', '#', '!', '(', '\u{202e}', '\u{0}']),
        at in 0usize..40,
    ) {
        let (file, pointer, name) = ID_FIELDS[field];
        let mut run: serde_json::Value = serde_json::from_str(RUN).unwrap();
        let mut res: serde_json::Value = serde_json::from_str(RESULT).unwrap();
        let doc = if file == "run" { &mut run } else { &mut res };
        let slot = doc.pointer_mut(pointer).unwrap();
        let mut value = slot.as_str().unwrap().to_owned();
        let at = value.char_indices().map(|(i, _)| i).nth(at).unwrap_or(value.len());
        value.insert(at, bad);
        *slot = value.clone().into();
        let tmp = tempfile::tempdir().unwrap();
        write_set(tmp.path(), &serde_json::to_vec(&run).unwrap(), "pipe.unidirectional.json", &serde_json::to_vec(&res).unwrap());
        let e = load_and_render(tmp.path()).expect_err("refused");
        let named = if file == "run" { "run.json" } else { "pipe.unidirectional.json" };
        // The claim id is checked against its file name first when it is the
        // claim that changed; either way the file is named.
        prop_assert!(e.contains(named), "{}", e);
        if name != "claim" {
            prop_assert!(e.contains(&format!("field {name}")), "{}", e);
        }
    }

    /// Free text (OS name, kernel, libc, runtime detail, evidence) of any content
    /// renders, and every table keeps its shape with nothing unescaped.
    #[test]
    fn free_text_never_breaks_a_table(
        texts in proptest::collection::vec(prop_oneof![
            "[a-z |<>`*_\\[\\]()~$&\\\\#!\n\r\t-]{0,40}",
            ".{0,40}",
        ], 5),
    ) {
        let mut run: serde_json::Value = serde_json::from_str(RUN).unwrap();
        for (field, text) in ["os_version", "kernel", "libc", "runtime_detail"].iter().zip(&texts) {
            run[*field] = text.clone().into();
        }
        let mut res: serde_json::Value = serde_json::from_str(RESULT).unwrap();
        res["detail"] = texts[4].clone().into();
        let tmp = tempfile::tempdir().unwrap();
        write_set(tmp.path(), &serde_json::to_vec(&run).unwrap(), "pipe.unidirectional.json", &serde_json::to_vec(&res).unwrap());
        let set = load::load(tmp.path(), Catalog::get()).map_err(TestCaseError::fail)?;
        let md = report::markdown::render(&report::build(&[set], &[]));
        assert_tables_intact(&md)?;
    }
}

/// `ipcconf summary --format` for scripts: free text cannot break a line (a
/// tab or line break in the evidence prints as a space), one line per run or
/// per claim, the columns not measured one a line, and the options that do
/// not go together are refused (exit 2).
#[test]
fn summary_lines_stay_lines() {
    let dir = std::env::temp_dir().join(format!("ipcconf-summary-lines-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let result = RESULT.replace("EBADF", "EBADF\\tthen\\nmore");
    write_set(
        &dir,
        RUN.as_bytes(),
        "pipe.unidirectional.json",
        result.as_bytes(),
    );
    let summary = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ipcconf"))
            .arg("summary")
            .arg(&dir)
            .args(args)
            .output()
            .unwrap()
    };
    let text = |o: std::process::Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let run = text(summary(&[
        "--format",
        r"{run.platform}\t{results}\t{status.pass}\t{status.fail}",
    ]));
    assert_eq!(run, "linux-x86_64-gnu\t1\t1\t0\n");
    let claims = text(summary(&[
        "--claims",
        "--format",
        "{claim}|{evidence}|{measured.n}",
    ]));
    assert_eq!(claims, "pipe.unidirectional|EBADF then more|1.0\n");
    let not_measured = text(summary(&["--not-measured"]));
    assert_eq!(not_measured, "macOS\nFreeBSD\nWindows\n");
    for bad in [
        &["--claims"][..],
        &["--json", "--format", "{column}"],
        &["--format", "{column}", "--not-measured"],
        &["--format", "{colum}"],
    ] {
        let o = summary(bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
