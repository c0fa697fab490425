//! Safe parsing: the result-set loader and the report renderer never panic on
//! arbitrary input; bad input is an error with a message, good input renders.

use std::path::Path;

use ipc_conformance::catalog::Catalog;
use ipc_conformance::report::{self, load};
use proptest::prelude::*;

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
    r.json(&sets)?;
    Ok(())
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
        platform in "[a-z0-9<>&\"-]{0,40}",
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
        let valid = !platform.is_empty() && duration >= 0.0 && ["pass", "fail", "skipped"].contains(&status.as_str()) && observed != "maybe";
        prop_assert_eq!(outcome.is_ok(), valid, "{:?}", outcome);
    }
}
