//! The writer: `run.json` plus one `results/<claim>.json` per observed claim,
//! under `target/ipc-results/` or `$IPC_RESULTS_DIR`. Every file is written to a
//! temporary name and renamed, so concurrent test processes (cargo test's test
//! binaries, nextest's process per test) never see or leave half a file.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::ids::cut_text;
use super::record::ResultRecord;
use crate::platform::RunInfo;

/// The directory this process records into.
pub fn results_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("IPC_RESULTS_DIR") {
        return PathBuf::from(dir);
    }
    target_dir().join("ipc-results")
}

/// Cargo's target directory: the nearest ancestor of this executable holding
/// CACHEDIR.TAG (cargo writes one at its root), else `$CARGO_TARGET_DIR`, else the
/// package's `target/`.
pub fn target_dir() -> PathBuf {
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe
            .ancestors()
            .skip(1)
            .find(|d| d.join("CACHEDIR.TAG").is_file())
        {
            return dir.to_path_buf();
        }
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target")
}

/// Writes `bytes` to `path` atomically (temporary file in the same directory, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_data().ok();
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The run info of this process's result set, written once per process; the run
/// id of an existing result set is kept so its processes share one identity.
pub fn run_info() -> &'static RunInfo {
    static RUN: OnceLock<RunInfo> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = results_dir();
        let path = dir.join("run.json");
        let existing: Option<RunInfo> = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let run_id = existing
            .as_ref()
            .map(|r| r.run_id.clone())
            .unwrap_or_else(new_run_id);
        let mut info = RunInfo::current(run_id);
        if let Some(prev) = existing {
            // Keep the first start time: the result set began then.
            info.started = prev.started;
        }
        for text in [
            &mut info.os_version,
            &mut info.kernel,
            &mut info.libc,
            &mut info.runtime_detail,
        ] {
            cut_text(text);
        }
        let json = serde_json::to_vec_pretty(&info).expect("run info serializes");
        if let Err(e) = write_atomic(&path, &json) {
            panic!("cannot record the run in {}: {e}", dir.display());
        }
        info
    })
}

/// Stores one result, replacing any earlier result for the same claim; free
/// text longer than the reader takes is cut ([`cut_text`]).
pub fn store(record: &ResultRecord) -> io::Result<PathBuf> {
    let path = results_dir()
        .join("results")
        .join(format!("{}.json", record.claim));
    let mut record = record.clone();
    for text in [
        &mut record.detail,
        &mut record.expected.reason,
        &mut record.expected.source,
    ] {
        cut_text(text);
    }
    let json = serde_json::to_vec_pretty(&record).map_err(io::Error::other)?;
    write_atomic(&path, &json)?;
    Ok(path)
}

fn new_run_id() -> String {
    format!(
        "{}-{}",
        crate::platform::now_rfc3339().replace([':', '-'], ""),
        crate::names::random_hex(8)
    )
}
