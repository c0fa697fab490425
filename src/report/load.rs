//! Reading result sets: strict, bounded, and with errors that name the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::catalog::Catalog;
use crate::platform::RunInfo;
use crate::record::ResultRecord;

/// One run: its info and its results, as read from a result-set directory.
#[derive(Debug, Clone)]
pub struct ResultSet {
    pub dir: PathBuf,
    pub run: RunInfo,
    pub results: Vec<ResultRecord>,
}

/// Largest file accepted in a result set; real ones are a few KiB.
const MAX_FILE: u64 = 1 << 20;
/// Most result files accepted in one set (the catalog has a few hundred claims).
const MAX_RESULTS: usize = 10_000;

fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{}: not a regular file", path.display()));
    }
    if meta.len() > MAX_FILE {
        return Err(format!(
            "{}: {} bytes, more than a result file can be ({MAX_FILE})",
            path.display(),
            meta.len()
        ));
    }
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Expands the `--results` arguments: a directory holding `run.json` is one result
/// set; otherwise each immediate subdirectory holding `run.json` is one.
pub fn discover(args: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut sets = Vec::new();
    for arg in args {
        if !arg.is_dir() {
            return Err(format!(
                "{}: not a directory (give a result-set directory)",
                arg.display()
            ));
        }
        if arg.join("run.json").exists() {
            sets.push(arg.clone());
            continue;
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(arg)
            .map_err(|e| format!("{}: {e}", arg.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.join("run.json").exists())
            .collect();
        if found.is_empty() {
            return Err(format!(
                "{}: no result set here (a result set is a directory with run.json and results/)",
                arg.display()
            ));
        }
        found.sort();
        sets.extend(found);
    }
    Ok(sets)
}

/// Loads and validates one result set.
pub fn load(dir: &Path, catalog: &Catalog) -> Result<ResultSet, String> {
    let run_path = dir.join("run.json");
    let run: RunInfo = serde_json::from_slice(&read_bounded(&run_path)?)
        .map_err(|e| format!("{}: malformed run info: {e}", run_path.display()))?;
    if run.platform.is_empty() || run.run_id.is_empty() {
        return Err(format!("{}: empty platform or run_id", run_path.display()));
    }
    let results_dir = dir.join("results");
    let mut results = Vec::new();
    let entries =
        std::fs::read_dir(&results_dir).map_err(|e| format!("{}: {e}", results_dir.display()))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with(".tmp-") {
            continue; // a writer's temporary file, not yet renamed into place
        }
        let Some(stem) = name.strip_suffix(".json") else {
            return Err(format!(
                "{}: unexpected file in a result set",
                path.display()
            ));
        };
        if results.len() >= MAX_RESULTS {
            return Err(format!(
                "{}: more than {MAX_RESULTS} results",
                results_dir.display()
            ));
        }
        let rec: ResultRecord = serde_json::from_slice(&read_bounded(&path)?)
            .map_err(|e| format!("{}: malformed result: {e}", path.display()))?;
        if rec.claim != stem {
            return Err(format!(
                "{}: holds claim {:?}, not {stem:?}",
                path.display(),
                rec.claim
            ));
        }
        if catalog.claim(&rec.claim).is_none() {
            return Err(format!(
                "{}: unknown claim id {:?} (a result set from another suite revision?)",
                path.display(),
                rec.claim
            ));
        }
        if !rec.duration_ms.is_finite() || rec.duration_ms < 0.0 {
            return Err(format!(
                "{}: duration_ms is not a finite non-negative number",
                path.display()
            ));
        }
        if let Some(q) = rec.measured.iter().find(|q| !q.value.is_finite()) {
            return Err(format!(
                "{}: measured {} is not a finite number",
                path.display(),
                q.name
            ));
        }
        if !["pass", "fail", "skipped"].contains(&rec.status.as_str()) {
            return Err(format!(
                "{}: status {:?} is not pass, fail or skipped",
                path.display(),
                rec.status
            ));
        }
        results.push(rec);
    }
    Ok(ResultSet {
        dir: dir.to_path_buf(),
        run,
        results,
    })
}

/// Loads every set and rejects duplicates (the same run given twice).
pub fn load_all(dirs: &[PathBuf], catalog: &Catalog) -> Result<Vec<ResultSet>, String> {
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut sets = Vec::new();
    for dir in dirs {
        let set = load(dir, catalog)?;
        if let Some(prev) = seen.insert(set.run.run_id.clone(), dir.clone()) {
            return Err(format!(
                "duplicated result set: run {} is in both {} and {}",
                set.run.run_id,
                prev.display(),
                dir.display()
            ));
        }
        sets.push(set);
    }
    Ok(sets)
}
