//! Recording a run: `run.json` plus one `results/<claim>.json` per observed claim,
//! under `target/ipc-results/` or `$IPC_RESULTS_DIR`. Every file is written to a
//! temporary name and renamed, so concurrent test processes (cargo test's test
//! binaries, nextest's process per test) never see or leave half a file.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::expect::Expected;
use crate::observe::{Outcome, Quantity};
use crate::platform::RunInfo;

/// The result of one check, as stored and as published in report.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultRecord {
    pub claim: String,
    pub observed: Outcome,
    pub expected: Expected,
    /// The guide's stance on this OS.
    pub doc: String,
    /// The evidence.
    pub detail: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub measured: Vec<Quantity>,
    pub duration_ms: f64,
    /// "pass", "fail" or "skipped".
    pub status: String,
    pub time: String,
}

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
        let json = serde_json::to_vec_pretty(&info).expect("run info serializes");
        if let Err(e) = write_atomic(&path, &json) {
            panic!("cannot record the run in {}: {e}", dir.display());
        }
        info
    })
}

/// Stores one result, replacing any earlier result for the same claim.
pub fn store(record: &ResultRecord) -> io::Result<PathBuf> {
    let path = results_dir()
        .join("results")
        .join(format!("{}.json", record.claim));
    let json = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
    write_atomic(&path, &json)?;
    Ok(path)
}

fn new_run_id() -> String {
    format!(
        "{}-{}",
        now_rfc3339().replace([':', '-'], ""),
        crate::names::random_hex(8)
    )
}

/// Current UTC time as RFC 3339 with seconds.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

/// Formats seconds since the Unix epoch (UTC) as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_651_200), "2026-11-26T00:00:00Z");
    }
}
