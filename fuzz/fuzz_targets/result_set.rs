//! A whole result set, written to a temporary directory and loaded the way
//! `cargo ipc-report -- --results DIR` loads it; what is accepted must render,
//! read back from report.json, summarize and draft (`ipc_conformance_fuzz::exercise`).
//! The input's layout (run.json, then each file's name and bytes) is
//! `ipc_conformance_fuzz::write_set`'s.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let tmp = ipc_conformance_fuzz::scratch();
    let set = tmp.path().join("set");
    std::fs::create_dir(&set).unwrap();
    ipc_conformance_fuzz::write_set(&set, data);
    ipc_conformance_fuzz::load_and_exercise(&set, tmp.path());
});
