//! The single-file readers of a result set, by the input's first byte:
//! 0 a result file, 1 a run.json, 2 a report.json (`ipcconf summary`'s input).
//! What is accepted is written back by the project's writer and must read back
//! to the same value; an accepted report.json must render and read back.
#![no_main]

use std::path::Path;

use ipc_conformance::catalog::Catalog;
use ipc_conformance::report;
use ipc_conformance::results::{self, ResultRecord};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => result(bytes),
        1 => run(bytes),
        _ => report_json(bytes),
    }
});

fn result(bytes: &[u8]) {
    let Ok(rec) = serde_json::from_slice::<ResultRecord>(bytes) else {
        return;
    };
    if results::read::check_record(Path::new("x.json"), &rec, Catalog::get()).is_err() {
        return;
    }
    let written = serde_json::to_vec_pretty(&rec).expect("a result serializes");
    let back: ResultRecord = serde_json::from_slice(&written)
        .unwrap_or_else(|e| panic!("the writer's result is refused: {e}"));
    assert_eq!(back, rec);
}

fn run(bytes: &[u8]) {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let Ok(info) = results::read::run_info(&mut de) else {
        return;
    };
    if de.end().is_err() {
        return;
    }
    let written = serde_json::to_vec_pretty(&info).expect("a run serializes");
    let mut de = serde_json::Deserializer::from_slice(&written);
    let back = results::read::run_info(&mut de)
        .unwrap_or_else(|e| panic!("the writer's run.json is refused: {e}"));
    assert_eq!(back, info);
    info.version();
    info.column();
}

fn report_json(bytes: &[u8]) {
    let tmp = ipc_conformance_fuzz::scratch();
    let path = tmp.path().join("in.json");
    std::fs::write(&path, bytes).unwrap();
    let Ok((sets, _)) = report::json::read(&path) else {
        return;
    };
    ipc_conformance_fuzz::exercise(&sets, tmp.path());
}
