//! What the fuzz targets share: the layout of a fuzzed result set (one input
//! holds `run.json` and the result files, names included), the temporary
//! directory it is written to, and what every reader of the project must hold
//! on any input: it refuses with an error, or it accepts and everything built
//! from what it accepted works (renders, reads back, loads).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use ipc_conformance::catalog::Catalog;
use ipc_conformance::draft;
use ipc_conformance::expect::Expectations;
use ipc_conformance::report;
use ipc_conformance::report::summary::Per;
use ipc_conformance::results::{self, ResultSet};

/// A fresh directory in memory when the machine has one (`/dev/shm`), so that
/// writing a result set per input costs no disk.
pub fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    tempfile::Builder::new()
        .prefix("ipcconf-fuzz-")
        .tempdir_in(dir)
        .expect("a scratch directory")
}

/// Separates the files of a fuzzed result set.
pub const SEP: &[u8] = b"\0\0";

/// Writes the result set `data` into `dir`: the input is `run.json`'s bytes,
/// then for each entry of `results/` the separator [`SEP`], its name, one NUL
/// and its bytes. A name starting with `/` is a directory (the rest of the
/// name); other `/` in a name become `_`; an empty name, `.` and `..` are
/// left out. Names are bytes (not necessarily UTF-8), as a file system takes
/// them.
pub fn write_set(dir: &Path, data: &[u8]) {
    let mut parts = split(data, SEP);
    let run = parts.next().unwrap_or_default();
    std::fs::write(dir.join("run.json"), run).expect("run.json");
    let results = dir.join("results");
    std::fs::create_dir(&results).expect("results/");
    for part in parts {
        let (name, body) = match part.iter().position(|&b| b == 0) {
            Some(at) => (&part[..at], &part[at + 1..]),
            None => (part, &[][..]),
        };
        let (is_dir, name) = match name.strip_prefix(b"/") {
            Some(rest) => (true, rest),
            None => (false, name),
        };
        let name: Vec<u8> = name
            .iter()
            .take(200)
            .map(|&b| if b == b'/' { b'_' } else { b })
            .collect();
        if name.is_empty() || name == b"." || name == b".." {
            continue;
        }
        let path = results.join(OsStr::from_bytes(&name));
        if path.exists() {
            continue;
        }
        if is_dir {
            std::fs::create_dir(&path).expect("a directory in results/");
        } else {
            std::fs::write(&path, body).expect("a result file");
        }
    }
}

/// The parts of `data` between occurrences of `sep`.
fn split<'a>(data: &'a [u8], sep: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.windows(sep.len()).position(|w| w == sep) {
            Some(at) => {
                rest = Some(&r[at + sep.len()..]);
                Some(&r[..at])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// The tags index.html may hold: the page's own. Free text of any content is
/// escaped, so no other tag can appear, whatever a result set says.
const PAGE_TAGS: &[&str] = &[
    "!doctype", "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "b",
    "span", "nav", "a", "div", "table", "thead", "tbody", "tr", "th", "td", "section", "svg", "g",
    "rect", "line", "text", "code", "strong", "path", "polyline", "circle", "small", "br", "ul",
    "li", "em",
];

/// Every tag of `html` is one of the page's own.
pub fn assert_page_tags(html: &str) {
    for (at, _) in html.match_indices('<') {
        let name: String = html[at + 1..]
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
            .collect::<String>()
            .to_ascii_lowercase();
        assert!(
            PAGE_TAGS.contains(&name.as_str()),
            "index.html holds a tag that is not the page's own: {:?}",
            &html[at..html.len().min(at + 80)]
        );
    }
}

/// Everything the project builds from accepted result sets, held to what it
/// promises: the three files render, index.html holds only its own tags,
/// report.json reads back to the same runs, the summary renders, and every
/// drafted platform file loads and merges into this checkout's platform file.
pub fn exercise(sets: &[ResultSet], scratch: &Path) {
    let catalog = Catalog::get();
    let r = report::build(sets, &["linux-x86_64-gnu".to_owned()]);
    let html = report::html::render(&r);
    assert_page_tags(&html);
    report::markdown::render(&r);
    let json = report::json::render(&r).expect("report.json renders");
    let path = scratch.join("report.json");
    std::fs::write(&path, &json).expect("report.json written");
    let (back, not_measured) = report::json::read(&path)
        .unwrap_or_else(|e| panic!("the report's own report.json is refused: {e}"));
    assert_eq!(back.len(), sets.len());
    for (a, b) in back.iter().zip(sets) {
        assert_eq!(a.run, b.run, "report.json changed a run's info");
        assert_eq!(a.results, b.results, "report.json changed a run's results");
    }
    let model = report::Model::build(&back, &[]);
    let doc = report::summary::json(&model, &not_measured);
    report::summary::table(&model, &not_measured);
    script_lines(&doc, sets);

    let drafts = draft::draft_all(sets, catalog).unwrap_or_default();
    let mut merged = Vec::new();
    for d in &drafts {
        let text = d.to_toml();
        Expectations::parse(&[(d.stem.as_str(), text.as_str())], catalog)
            .unwrap_or_else(|e| panic!("a drafted platform file does not load: {e}\n{text}"));
        let file = platforms_dir().join(format!("{}.toml", d.stem));
        let old = std::fs::read_to_string(&file).ok();
        let m = draft::merge::merge(old.as_deref(), d, catalog)
            .unwrap_or_else(|e| panic!("a draft does not merge into {}: {e}", file.display()));
        draft::patch::file_diff(
            &format!("platforms/{}.toml", d.stem),
            old.as_deref(),
            &m.text,
        );
        merged.push(m);
    }
    let pairs: Vec<_> = drafts.iter().zip(&merged).collect();
    draft::summary::render(&pairs, Some("platforms-draft.patch"));
}

/// The templates the ci/ scripts give `ipcconf summary --format` (lib.sh,
/// run-local-platforms.sh, run-wine.sh, perf-stability.sh), and whether per
/// claim.
const SCRIPT_TEMPLATES: &[(&str, Per)] = &[
    (
        "{run.platform}\\t{run.runtime}\\t{results}\\t{status.pass}\\t{status.fail}\\t{status.skipped}\\t{run.runtime_detail}; {run.os_version}",
        Per::Run,
    ),
    (
        "{column}\\t{results}\\t{status.pass}\\t{status.fail}\\t{status.skipped}\\t{run.runtime} {run.runtime_detail}; {run.libc}; {run.kernel}",
        Per::Run,
    ),
    ("{origin}\\t{claim}\\t{observed}", Per::Claim),
    (
        "1\\t{claim}\\t{observed}\\t{duration_ms}\\t{interval.statistic}\\t{interval.estimate}\\t{interval.low}\\t{interval.high}\\t{interval.rounds}",
        Per::Claim,
    ),
];

/// The scripts read `ipcconf summary --format` one line per run (or claim)
/// and split it at tabs: whatever free text a result set holds, each run or
/// claim is one line with the template's tabs and no other.
fn script_lines(doc: &serde_json::Value, sets: &[ResultSet]) {
    for &(template, per) in SCRIPT_TEMPLATES {
        let out = report::summary::lines(doc, template, per)
            .unwrap_or_else(|e| panic!("a script's template is refused: {e}"));
        let expected = match per {
            Per::Run => sets.len(),
            Per::Claim => sets.iter().map(|s| s.results.len()).sum(),
        };
        let tabs = template.matches("\\t").count();
        assert_eq!(out.lines().count(), expected, "{template}: {out:?}");
        for line in out.lines() {
            assert_eq!(line.matches('\t').count(), tabs, "{template}: {line:?}");
        }
    }
}

/// This checkout's `platforms/`.
pub fn platforms_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../platforms")
}

/// Loads the set in `dir` the way `cargo ipc-report -- --results DIR` does,
/// and when it is accepted, [`exercise`]s it alone and beside a second run.
pub fn load_and_exercise(dir: &Path, scratch: &Path) {
    let catalog = Catalog::get();
    let Ok(found) = results::discover(&[dir.to_path_buf()]) else {
        return;
    };
    let Ok(sets) = results::load_all(&found, catalog) else {
        return;
    };
    exercise(&sets, scratch);
    // The same run again under another id and kernel: two versions of a column.
    let mut two = sets.clone();
    let mut other = sets[0].clone();
    other.run.run_id = format!("{}-again", other.run.run_id);
    other.run.run_id.truncate(128);
    other.run.kernel = "Linux 6.1.0".into();
    two.push(other);
    if results::read::refuse_duplicates(&two).is_ok() {
        exercise(&two, scratch);
    }
}
