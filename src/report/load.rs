//! Reading result sets: strict, bounded, and with errors that name the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::catalog::Catalog;
use crate::platform::RunInfo;
use crate::record::ResultRecord;

/// The identifiers a result set carries, each with the pattern it must match
/// (README.md, "Result sets", documents the same table). Anything else is refused
/// before it can reach a table, a heading or a file name.
pub mod ids {
    fn all(s: &str, ok: impl Fn(char) -> bool) -> bool {
        s.chars().all(ok)
    }
    fn lower(c: char) -> bool {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
    }
    fn word(c: char) -> bool {
        c.is_ascii_alphanumeric() || c == '_'
    }
    /// `s` is one or more runs of `part`-characters joined by single `sep`.
    fn joined(s: &str, sep: char, part: impl Fn(char) -> bool) -> bool {
        s.split(sep).all(|p| !p.is_empty() && all(p, &part))
    }

    /// Platform id: `[a-z][a-z0-9_]*(-[a-z0-9_]+)*`, at most 64 characters
    /// (`linux-x86_64-gnu`, `macos-aarch64`).
    pub fn platform(s: &str) -> bool {
        s.len() <= 64 && s.starts_with(|c: char| c.is_ascii_lowercase()) && joined(s, '-', lower)
    }
    /// Run id: `[A-Za-z0-9][A-Za-z0-9._-]*`, at most 128 characters.
    pub fn run_id(s: &str) -> bool {
        s.len() <= 128
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && all(s, |c| word(c) || c == '.' || c == '-')
    }
    /// CPU architecture: `[a-z0-9_]+`, at most 32 characters.
    pub fn arch(s: &str) -> bool {
        !s.is_empty() && s.len() <= 32 && all(s, lower)
    }
    /// Target triple: `[A-Za-z0-9_.]+(-[A-Za-z0-9_.]+)*`, at most 80 characters.
    pub fn target(s: &str) -> bool {
        s.len() <= 80 && joined(s, '-', |c| word(c) || c == '.')
    }
    /// Suite revision: `[A-Za-z0-9][A-Za-z0-9._+-]*`, at most 80 characters
    /// (`git describe` output, `unknown`).
    pub fn revision(s: &str) -> bool {
        s.len() <= 80
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && all(s, |c| word(c) || matches!(c, '.' | '+' | '-'))
    }
    /// Time: `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, UTC, seconds).
    pub fn time(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() == 20
            && b.iter().enumerate().all(|(i, &c)| match i {
                4 | 7 => c == b'-',
                10 => c == b'T',
                13 | 16 => c == b':',
                19 => c == b'Z',
                _ => c.is_ascii_digit(),
            })
    }
    /// Claim id: `[a-z][a-z0-9_]*(\.[a-z0-9_]+)+`, at most 96 characters (and
    /// it must be in the catalog).
    pub fn claim(s: &str) -> bool {
        s.len() <= 96
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.contains('.')
            && joined(s, '.', lower)
    }
    /// Name of a measured quantity: `[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*`, at most 64.
    pub fn quantity(s: &str) -> bool {
        s.len() <= 64 && joined(s, '.', word)
    }
    /// Unit of a measured quantity: empty, or words of `[A-Za-z0-9_/%.]` separated
    /// by single spaces (`bytes/s`, `signal number`), at most 32 characters.
    pub fn unit(s: &str) -> bool {
        s.is_empty()
            || (s.len() <= 32 && joined(s, ' ', |c| word(c) || matches!(c, '/' | '%' | '.')))
    }
    /// Where an expectation came from: `guide`, or `platforms/[a-z0-9_-]+.toml`.
    pub fn origin(s: &str) -> bool {
        s == "guide"
            || s.strip_prefix("platforms/")
                .and_then(|r| r.strip_suffix(".toml"))
                .is_some_and(|stem| {
                    !stem.is_empty() && stem.len() <= 64 && all(stem, |c| lower(c) || c == '-')
                })
    }
    /// The guide's stance: `yes`, `no`, `n/a` or `unstated`.
    pub fn stance(s: &str) -> bool {
        matches!(s, "yes" | "no" | "n/a" | "unstated")
    }
}

/// Refuses a field that does not match its identifier pattern, naming the file,
/// the field and the pattern.
fn check_id(
    path: &Path,
    field: &str,
    value: &str,
    ok: fn(&str) -> bool,
    what: &str,
) -> Result<(), String> {
    if ok(value) {
        Ok(())
    } else {
        Err(format!(
            "{}: field {field}: {value:?} is not {what}",
            path.display()
        ))
    }
}

/// A field holding one of a fixed set of words: (JSON pointer, field name, the words).
type Words = (&'static str, &'static str, &'static [&'static str]);

/// Every observed value (`Outcome::as_str`); a test keeps the two in step.
const OUTCOMES: &[&str] = &[
    "yes",
    "no",
    "unsupported",
    "skipped",
    "error",
    "timeout",
    "measured",
    "inconclusive",
];
const RUN_WORDS: &[Words] = &[
    ("/os", "os", &["linux", "macos", "freebsd", "windows"]),
    (
        "/runtime",
        "runtime",
        &["native", "qemu-user", "wine", "vm"],
    ),
];
const RESULT_WORDS: &[Words] = &[
    ("/observed", "observed", OUTCOMES),
    ("/expected/value", "expected.value", OUTCOMES),
];

/// Refuses a word field holding anything but one of its words, naming the field
/// (a missing field, `null` where allowed, or malformed JSON is left to the
/// typed parse that follows, which reports it).
fn check_words(path: &Path, bytes: &[u8], fields: &[Words]) -> Result<(), String> {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Ok(());
    };
    for (pointer, field, words) in fields {
        if let Some(serde_json::Value::String(v)) = doc.pointer(pointer) {
            if !words.contains(&v.as_str()) {
                return Err(format!(
                    "{}: field {field}: {v:?} is not one of {}",
                    path.display(),
                    words.join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// Checks every identifier of a run's info.
fn check_run(path: &Path, run: &RunInfo) -> Result<(), String> {
    check_id(
        path,
        "run_id",
        &run.run_id,
        ids::run_id,
        "a run id ([A-Za-z0-9][A-Za-z0-9._-]*, at most 128 characters)",
    )?;
    check_id(
        path,
        "platform",
        &run.platform,
        ids::platform,
        "a platform id ([a-z][a-z0-9_]*(-[a-z0-9_]+)*, at most 64 characters)",
    )?;
    check_id(
        path,
        "arch",
        &run.arch,
        ids::arch,
        "an architecture ([a-z0-9_]+, at most 32 characters)",
    )?;
    check_id(
        path,
        "target",
        &run.target,
        ids::target,
        "a target triple ([A-Za-z0-9_.]+(-[A-Za-z0-9_.]+)*, at most 80 characters)",
    )?;
    check_id(
        path,
        "suite_revision",
        &run.suite_revision,
        ids::revision,
        "a suite revision ([A-Za-z0-9][A-Za-z0-9._+-]*, at most 80 characters)",
    )?;
    check_id(
        path,
        "started",
        &run.started,
        ids::time,
        "a UTC time (YYYY-MM-DDTHH:MM:SSZ)",
    )
}

/// Checks every identifier of one result.
fn check_record(path: &Path, rec: &ResultRecord) -> Result<(), String> {
    check_id(
        path,
        "claim",
        &rec.claim,
        ids::claim,
        "a claim id ([a-z][a-z0-9_]*(.[a-z0-9_]+)+)",
    )?;
    check_id(
        path,
        "expected.origin",
        &rec.expected.origin,
        ids::origin,
        "guide or platforms/<file>.toml",
    )?;
    check_id(
        path,
        "doc",
        &rec.doc,
        ids::stance,
        "a stance (yes, no, n/a, unstated)",
    )?;
    check_id(
        path,
        "time",
        &rec.time,
        ids::time,
        "a UTC time (YYYY-MM-DDTHH:MM:SSZ)",
    )?;
    for q in &rec.measured {
        check_id(
            path,
            "measured.name",
            &q.name,
            ids::quantity,
            "a quantity name ([A-Za-z0-9_]+(.[A-Za-z0-9_]+)*, at most 64 characters)",
        )?;
        check_id(
            path,
            "measured.unit",
            &q.unit,
            ids::unit,
            "a unit (empty, or words of [A-Za-z0-9_/%.] separated by single spaces, at most 32 characters)",
        )?;
    }
    Ok(())
}

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
    let bytes = read_bounded(&run_path)?;
    check_words(&run_path, &bytes, RUN_WORDS)?;
    let run: RunInfo = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{}: malformed run info: {e}", run_path.display()))?;
    check_run(&run_path, &run)?;
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
        let bytes = read_bounded(&path)?;
        check_words(&path, &bytes, RESULT_WORDS)?;
        let rec: ResultRecord = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: malformed result: {e}", path.display()))?;
        check_record(&path, &rec)?;
        if rec.claim != stem {
            return Err(format!(
                "{}: holds claim {:?}, not {stem:?}",
                path.display(),
                rec.claim
            ));
        }
        let Some(claim) = catalog.claim(&rec.claim) else {
            return Err(format!(
                "{}: unknown claim id {:?} (a result set from another suite revision?)",
                path.display(),
                rec.claim
            ));
        };
        // Only a performance verdict can be inconclusive (its interval straddles
        // its threshold); any other claim observing it is a corrupt result.
        if rec.observed == crate::observe::Outcome::Inconclusive
            && claim.kind != crate::catalog::Kind::Perf
        {
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

#[cfg(test)]
mod tests {
    use super::OUTCOMES;
    use crate::observe::Outcome;

    #[test]
    fn the_loader_knows_every_observed_value() {
        let words: Vec<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(OUTCOMES, words.as_slice());
    }
}
