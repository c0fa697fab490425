//! The reader: result sets, strict, bounded, and with errors that name the file
//! (and the field). Each file is parsed once, straight into its typed record;
//! the parse refuses every field outside its pattern or vocabulary
//! ([`super::ids`]), and what needs the catalog (the claim is catalogued, is the
//! file's name, and observes `inconclusive` only when it is a performance
//! verdict) or a number's range is checked after it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use super::ids;
use super::record::ResultRecord;
use crate::catalog::{Catalog, Kind, Os};
use crate::observe::Outcome;
use crate::platform::{RunInfo, Runtime};

/// One run: its info and its results, as read from a result-set directory.
#[derive(Debug, Clone)]
pub struct ResultSet {
    pub dir: PathBuf,
    pub run: RunInfo,
    pub results: Vec<ResultRecord>,
}

/// Largest file accepted in a result set; real ones are a few KiB.
pub const MAX_FILE: u64 = 1 << 20;
/// Most entries of a set's `results/` (the catalog has a few hundred claims,
/// one file each), and most entries of a directory of result sets: counted as
/// the directory is listed, before any file is read.
pub const MAX_ENTRIES: usize = 10_000;
/// Most bytes of one result set's files together (a real one is a few hundred
/// KiB).
pub const MAX_SET: u64 = 16 << 20;
/// Most bytes of all the result sets read at once (one report's input).
pub const MAX_SETS_BYTES: u64 = 256 << 20;

/// A run's info as `run.json` holds it, every identifier checked as it is read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunFile {
    #[serde(deserialize_with = "ids::read_run_id")]
    run_id: String,
    #[serde(deserialize_with = "ids::read_platform")]
    platform: String,
    #[serde(deserialize_with = "os")]
    os: Os,
    #[serde(deserialize_with = "os_version")]
    os_version: String,
    #[serde(deserialize_with = "kernel")]
    kernel: String,
    #[serde(deserialize_with = "ids::read_arch")]
    arch: String,
    #[serde(deserialize_with = "libc")]
    libc: String,
    #[serde(deserialize_with = "runtime")]
    runtime: Runtime,
    #[serde(default, deserialize_with = "runtime_detail")]
    runtime_detail: String,
    #[serde(deserialize_with = "ids::read_target")]
    target: String,
    #[serde(deserialize_with = "ids::read_revision")]
    suite_revision: String,
    #[serde(deserialize_with = "ids::read_started")]
    started: String,
    cpus: usize,
    uid: i64,
}

ids::word_fields! {
    os: Os = "os";
    runtime: Runtime = "runtime";
}

ids::text_fields! {
    os_version: "os_version";
    kernel: "kernel";
    libc: "libc";
    runtime_detail: "runtime_detail";
}

/// Reads a run's info strictly (as `run.json` is read); for a field of another
/// file that holds one, such as report.json's `run_info`.
pub fn run_info<'de, D: Deserializer<'de>>(d: D) -> Result<RunInfo, D::Error> {
    let r = RunFile::deserialize(d)?;
    Ok(RunInfo {
        run_id: r.run_id,
        platform: r.platform,
        os: r.os,
        os_version: r.os_version,
        kernel: r.kernel,
        arch: r.arch,
        libc: r.libc,
        runtime: r.runtime,
        runtime_detail: r.runtime_detail,
        target: r.target,
        suite_revision: r.suite_revision,
        started: r.started,
        cpus: r.cpus,
        uid: r.uid,
    })
}

/// The refusal of `path`: a field outside its pattern or vocabulary is named
/// (`PATH: field platform: ...`); anything else is malformed `what`.
pub fn refusal(path: &Path, what: &str, e: &serde_json::Error) -> String {
    let text = e.to_string();
    let at = format!(" at line {} column {}", e.line(), e.column());
    let bare = text.strip_suffix(&at).unwrap_or(&text);
    if bare.starts_with("field ") {
        format!("{}: {bare}", path.display())
    } else {
        format!("{}: {what}: {text}", path.display())
    }
}

/// The bytes of `path`, a regular file of at most `max` bytes (also when it
/// grows while it is read: no more than `max` bytes are ever read).
pub fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let too_big = |len: u64| {
        format!(
            "{}: {len} bytes, more than a result file can be ({max})",
            path.display()
        )
    };
    let regular = |meta: std::fs::Metadata| match meta.is_file() {
        true => Ok(meta),
        false => Err(format!("{}: not a regular file", path.display())),
    };
    // Looked at before it is opened: opening a FIFO would wait for a writer.
    regular(std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?)?;
    let mut open = std::fs::OpenOptions::new();
    open.read(true);
    #[cfg(unix)]
    {
        // Should it have become a FIFO since, opening it does not wait either.
        use std::os::unix::fs::OpenOptionsExt;
        open.custom_flags(libc::O_NONBLOCK);
    }
    let file = open
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let meta = regular(
        file.metadata()
            .map_err(|e| format!("{}: {e}", path.display()))?,
    )?;
    if meta.len() > max {
        return Err(too_big(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.len() as u64 > max {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// What may still be read: bytes left of a set's and of all sets' bounds.
#[derive(Debug, Clone, Copy)]
struct Budget {
    set: u64,
    all: u64,
}

impl Budget {
    /// Takes `n` bytes read from `path`, or says which bound they pass.
    fn take(&mut self, path: &Path, n: usize) -> Result<(), String> {
        let n = n as u64;
        if n > self.set {
            return Err(format!(
                "{}: the result set's files hold more than {MAX_SET} bytes together",
                path.display()
            ));
        }
        if n > self.all {
            return Err(format!(
                "{}: the result sets hold more than {MAX_SETS_BYTES} bytes together",
                path.display()
            ));
        }
        self.set -= n;
        self.all -= n;
        Ok(())
    }
}

/// The entries of directory `dir`, at most [`MAX_ENTRIES`] (`what`: what
/// they are, for the error); listing stops at the first one too many.
fn entries(dir: &Path, what: &str) -> Result<Vec<PathBuf>, String> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        if paths.len() == MAX_ENTRIES {
            return Err(format!(
                "{}: more than {MAX_ENTRIES} entries ({what})",
                dir.display()
            ));
        }
        paths.push(entry.path());
    }
    paths.sort();
    Ok(paths)
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
        let mut found: Vec<PathBuf> = entries(arg, "a directory of result sets")?
            .into_iter()
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

/// What the typed parse cannot know of a result read from `path`: that its claim
/// is catalogued, that only a performance verdict observes `inconclusive`, and
/// that its numbers are finite (and its duration non-negative).
pub fn check_record(path: &Path, rec: &ResultRecord, catalog: &Catalog) -> Result<(), String> {
    let Some(claim) = catalog.claim(&rec.claim) else {
        return Err(format!(
            "{}: unknown claim id {:?} (a result set from another suite revision?)",
            path.display(),
            rec.claim.as_str()
        ));
    };
    // Only a performance verdict can be inconclusive (its interval straddles
    // its threshold); any other claim observing it is a corrupt result.
    if rec.observed == Outcome::Inconclusive && claim.kind != Kind::Perf {
        return Err(format!(
            "{}: field observed: \"inconclusive\" is only for performance verdicts, not a {} claim",
            path.display(),
            claim.kind.as_str()
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
    Ok(())
}

/// Loads and validates one result set.
pub fn load(dir: &Path, catalog: &Catalog) -> Result<ResultSet, String> {
    let mut budget = Budget {
        set: MAX_SET,
        all: MAX_SETS_BYTES,
    };
    load_within(dir, catalog, &mut budget)
}

/// [`load`], reading no more than `budget` allows.
fn load_within(dir: &Path, catalog: &Catalog, budget: &mut Budget) -> Result<ResultSet, String> {
    budget.set = MAX_SET;
    let run_path = dir.join("run.json");
    let bytes = read_bounded(&run_path, MAX_FILE)?;
    budget.take(&run_path, bytes.len())?;
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let run = run_info(&mut de)
        .and_then(|run| de.end().map(|()| run))
        .map_err(|e| refusal(&run_path, "malformed run info", &e))?;
    let results_dir = dir.join("results");
    let mut results = Vec::new();
    let paths = entries(&results_dir, "a result set holds one file per claim")?;
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
        let bytes = read_bounded(&path, MAX_FILE)?;
        budget.take(&path, bytes.len())?;
        let rec: ResultRecord =
            serde_json::from_slice(&bytes).map_err(|e| refusal(&path, "malformed result", &e))?;
        if rec.claim != stem {
            return Err(format!(
                "{}: holds claim {:?}, not {stem:?}",
                path.display(),
                rec.claim.as_str()
            ));
        }
        check_record(&path, &rec, catalog)?;
        results.push(rec);
    }
    Ok(ResultSet {
        dir: dir.to_path_buf(),
        run,
        results,
    })
}

/// Refuses a run given twice (the same run id in two places).
pub fn refuse_duplicates(sets: &[ResultSet]) -> Result<(), String> {
    let mut seen: BTreeMap<&str, &Path> = BTreeMap::new();
    for set in sets {
        if let Some(prev) = seen.insert(&set.run.run_id, &set.dir) {
            return Err(format!(
                "duplicated result set: run {} is in both {} and {}",
                set.run.run_id,
                prev.display(),
                set.dir.display()
            ));
        }
    }
    Ok(())
}

/// Loads every set and rejects duplicates (the same run given twice); all of
/// them together hold at most [`MAX_SETS_BYTES`].
pub fn load_all(dirs: &[PathBuf], catalog: &Catalog) -> Result<Vec<ResultSet>, String> {
    let mut budget = Budget {
        set: MAX_SET,
        all: MAX_SETS_BYTES,
    };
    let mut sets = Vec::new();
    for dir in dirs {
        sets.push(load_within(dir, catalog, &mut budget)?);
        refuse_duplicates(&sets)?;
    }
    Ok(sets)
}
