//! Running `ipcconf` and making result sets, for the command-line tests
//! (tests/cli.rs, tests/drafting.rs).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `ipcconf ARGS...`, run to completion.
pub fn ipcconf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ipcconf"))
        .args(args)
        .output()
        .expect("run ipcconf")
}

/// What `o` wrote on stderr.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A minimal valid result set with one pipe result.
pub fn result_set(root: &Path, name: &str, run_id: &str, platform: &str) -> PathBuf {
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

/// Rewrites one field of a result set's run.json.
pub fn set_run_field(set: &Path, field: &str, value: &str) {
    let path = set.join("run.json");
    let mut run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    run[field] = value.into();
    std::fs::write(&path, serde_json::to_vec(&run).unwrap()).unwrap();
}
