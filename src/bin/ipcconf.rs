//! `ipcconf`: the project's command line.
//!
//! - `ipcconf report [--results DIR]... [--run] [--out DIR] [--expect-platform ID]...`
//!   (`cargo ipc-report` is an alias): runs the suites in release on this machine (or
//!   merges given result sets) and writes report.json, PORTABILITY.md, index.html;
//! - `ipcconf expectations [--os OS] [--runtime R]`: what the suite expects of every
//!   claim; with `--from-results DIR [--out FILE [--force]]`, platform-file entries
//!   drafted from a run's departures; with `--from-results DIR... --patch FILE`,
//!   every platform file's drafted entries merged into it, as one patch;
//! - `ipcconf summary PATH [--json | --format TEMPLATE [--claims] | --not-measured]`:
//!   per run of a result set, a directory of result sets or a report.json, its
//!   departures from the guide, unexpected results and inconclusive verdicts,
//!   as a table, or for scripts as JSON or as plain lines (a template filled
//!   per run or per claim; the columns no run measured);
//! - `ipcconf sweep [--dry-run]`: removes this user's leftover `ipcconf-` objects.

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage:
  ipcconf report [--results DIR]... [--run] [--out DIR] [--expect-platform ID]...
      Without --results: build in release, run every suite on this machine, report.
      --results DIR   a result set (a directory with run.json and results/), or a
                      directory of result sets; repeatable; merged without running
      --run           also run the suites on this machine when --results is given
      --out DIR       where to write report.json, PORTABILITY.md, index.html
                      (default: target/ipc-report)
      --expect-platform ID
                      a platform id that should have a run; shown as not measured
                      when none was given (repeatable)
  ipcconf expectations [--os linux|macos|freebsd|windows] [--runtime RUNTIME]
      Print what the suite expects of every claim on an OS (default: this one),
      with where each expectation comes from: a platform file, or the guide.
  ipcconf expectations --from-results DIR [--os OS] [--runtime RUNTIME] [--out FILE [--force]]
      Draft platform-file entries from a run: for every observation in the result
      set DIR that departed from what the suite expected on that run, an entry
      (expect, a reason quoting the evidence, a source naming the run) in the
      format of platforms/*.toml, for the run's most specific file
      (<os>-<runtime>, <os>-<libc> or <os>). A measurement to review, then commit.
      DIR         a result set, or a directory of result sets of one platform file
                  (--os and --runtime keep only the runs of that OS and runtime)
      --out FILE  write there instead of stdout; an existing FILE is refused
                  unless --force. Malformed input: exit 2, nothing written.
  ipcconf expectations --from-results DIR... --patch FILE [--platforms DIR] [--summary FILE] [--force]
      Draft every platform file the result sets belong to (runs grouped by
      file) and merge each draft into the file as it is: a drafted claim's
      entry replaces the one there, other drafted claims are added beside
      their mechanism's entries, comments and other entries stay. The changes
      go to FILE as one patch against platforms/ (git apply at the repository's
      root; - for stdout); nothing is written when platforms/ needs no change.
      --platforms DIR  the platform files to merge into (default: this
                       checkout's platforms/)
      --summary FILE   append the entries as Markdown (a CI job summary)
      --force          replace an existing FILE (removed when no change is needed)
  ipcconf summary PATH [--json | --format TEMPLATE [--claims] | --not-measured]
      Per run: who ran it, its results by status, how they stand against the
      guide, and each departure from the guide, unexpected result (status
      fail) and inconclusive verdict with its evidence.
      PATH    a result set, a directory of result sets, or a report.json (or a
              directory holding one, such as target/ipc-report)
      --json  the same as JSON, every result included (README: \"Summarizing
              runs\")
      --format TEMPLATE
              one line per run: TEMPLATE with each {FIELD} replaced by that
              field of the run in the JSON ({column}, {run.platform},
              {results}, {status.pass}, ...; a missing count is 0), and \\t,
              \\n by a tab, a line break
      --claims
              with --format: one line per claim of every run instead (fields
              of the claim: {claim}, {observed}, {origin}, {measured.NAME},
              {interval.low}, ...; then those of its run)
      --not-measured
              the columns no run measured, one a line
  ipcconf sweep [--dry-run]
      Remove this user's leftover ipcconf- objects (POSIX queues, shared memory,
      semaphores, System V objects with the suite's key prefix, temporary
      directories) and say what was removed. Objects whose process still runs
      (a run in progress) are kept and listed.";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ipcconf: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode, String> {
    use lexopt::prelude::*;
    // `cargo ipc-report -- --results DIR` hands a literal `--` through; lexopt
    // would read everything after it as values, so drop it first.
    let mut parser = lexopt::Parser::from_args(std::env::args_os().skip(1).filter(|a| a != "--"));
    let command = match parser.next().map_err(|e| e.to_string())? {
        Some(Value(v)) => v.string().map_err(|e| e.to_string())?,
        Some(Long("help") | Short('h')) => {
            println!("{USAGE}");
            return Ok(ExitCode::SUCCESS);
        }
        Some(arg) => return Err(format!("{}\n{USAGE}", arg.unexpected())),
        None => return Err(format!("no command given\n{USAGE}")),
    };
    match command.as_str() {
        "report" => report(parser),
        "sweep" => sweep(parser),
        "expectations" => expectations(parser),
        "summary" => summary(parser),
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    }
}

fn report(mut parser: lexopt::Parser) -> Result<ExitCode, String> {
    use lexopt::prelude::*;
    let mut results: Vec<PathBuf> = Vec::new();
    let mut run_here = false;
    let mut out = ipc_conformance::results::target_dir().join("ipc-report");
    let mut expected = Vec::new();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Long("results") => results.push(path_value(&mut parser)?),
            Long("run") => run_here = true,
            Long("out") => out = path_value(&mut parser)?,
            Long("expect-platform") => expected.push(string_value(&mut parser)?),
            Long("help") | Short('h') => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            other => return Err(format!("{}\n{USAGE}", other.unexpected())),
        }
    }
    // Validate every given result set before anything runs or is written.
    let catalog = ipc_conformance::catalog::Catalog::get();
    let mut dirs = ipc_conformance::results::discover(&results)?;
    let mut suites_ok = true;
    if results.is_empty() || run_here {
        ipc_conformance::results::load_all(&dirs, catalog)?;
        let local = out.join("runs").join("local");
        suites_ok = run_suites(&local)?;
        dirs.push(local);
    }
    let sets = ipc_conformance::results::load_all(&dirs, catalog)?;
    let report = ipc_conformance::report::build(&sets, &expected);
    let written = ipc_conformance::report::write(&out, &report)?;
    for f in &written {
        println!("wrote {f}");
    }
    let index = written
        .iter()
        .find(|f| f.ends_with("index.html"))
        .map_or("", String::as_str);
    print!(
        "{}",
        ipc_conformance::report::summary::closing(&report.model, index)
    );
    if suites_ok {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "ipcconf: the report is written, but some checks failed their expectation (see cargo test's output above)"
        );
        Ok(ExitCode::FAILURE)
    }
}

/// `ipcconf summary PATH [--json | --format TEMPLATE [--claims] | --not-measured]`.
fn summary(mut parser: lexopt::Parser) -> Result<ExitCode, String> {
    use ipc_conformance::report;
    use lexopt::prelude::*;
    let (mut path, mut json, mut format, mut claims, mut not_measured_only) =
        (None, false, None, false, false);
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Long("json") => json = true,
            Long("format") => format = Some(string_value(&mut parser)?),
            Long("claims") => claims = true,
            Long("not-measured") => not_measured_only = true,
            Value(v) if path.is_none() => path = Some(PathBuf::from(v)),
            Long("help") | Short('h') => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            other => return Err(format!("{}\n{USAGE}", other.unexpected())),
        }
    }
    let path = path.ok_or_else(|| format!("summary needs a PATH\n{USAGE}"))?;
    if usize::from(json) + usize::from(format.is_some()) + usize::from(not_measured_only) > 1 {
        return Err(format!(
            "summary takes one of --json, --format and --not-measured\n{USAGE}"
        ));
    }
    if claims && format.is_none() {
        return Err(format!("--claims goes with --format\n{USAGE}"));
    }
    let sets_here = path.join("run.json").is_file()
        || std::fs::read_dir(&path).is_ok_and(|d| {
            d.filter_map(Result::ok)
                .any(|e| e.path().join("run.json").is_file())
        });
    let (sets, not_measured) = if path.is_dir() && sets_here {
        let dirs = ipc_conformance::results::discover(std::slice::from_ref(&path))?;
        let catalog = ipc_conformance::catalog::Catalog::get();
        (ipc_conformance::results::load_all(&dirs, catalog)?, None)
    } else {
        let file = if path.is_dir() {
            path.join("report.json")
        } else {
            path.clone()
        };
        let (sets, not_measured) = report::json::read(&file)?;
        (sets, Some(not_measured))
    };
    let model = report::Model::build(&sets, &[]);
    let not_measured =
        not_measured.unwrap_or_else(|| model.not_measured().map(str::to_owned).collect());
    let text = if json {
        let doc = report::summary::json(&model, &not_measured);
        serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())? + "\n"
    } else if let Some(template) = format {
        let per = if claims {
            report::summary::Per::Claim
        } else {
            report::summary::Per::Run
        };
        report::summary::lines(
            &report::summary::json(&model, &not_measured),
            &template,
            per,
        )?
    } else if not_measured_only {
        not_measured.iter().map(|c| format!("{c}\n")).collect()
    } else {
        report::summary::table(&model, &not_measured)
    };
    // A reader that stops early (`| head`) is no error.
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!("stdout: {e}")),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// The value of the option just read, as text.
fn string_value(parser: &mut lexopt::Parser) -> Result<String, String> {
    parser
        .value()
        .and_then(lexopt::ValueExt::string)
        .map_err(|e| e.to_string())
}

/// The value of the option just read, as a path.
fn path_value(parser: &mut lexopt::Parser) -> Result<PathBuf, String> {
    parser.value().map(PathBuf::from).map_err(|e| e.to_string())
}

/// Runs every suite in release with results recorded into `dir` (replaced).
fn run_suites(dir: &std::path::Path) -> Result<bool, String> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    eprintln!(
        "ipcconf: running the suites in release, recording into {}",
        dir.display()
    );
    let status = std::process::Command::new(cargo)
        .args([
            "test",
            "--release",
            "--no-fail-fast",
            "--manifest-path",
            manifest,
            "--tests",
        ])
        .env("IPC_RESULTS_DIR", dir)
        .status()
        .map_err(|e| format!("cannot start cargo: {e}"))?;
    if !dir.join("run.json").exists() {
        return Err(format!(
            "the suites recorded nothing in {} (cargo test exited {status})",
            dir.display()
        ));
    }
    Ok(status.success())
}

fn expectations(mut parser: lexopt::Parser) -> Result<ExitCode, String> {
    use ipc_conformance::catalog::{Catalog, Os};
    use ipc_conformance::platform::Runtime;
    use lexopt::prelude::*;
    let mut run = ipc_conformance::platform::RunInfo::current(String::new());
    let (mut os, mut runtime) = (None, None);
    let mut from: Vec<PathBuf> = Vec::new();
    let mut out: Option<PathBuf> = None;
    let mut patch: Option<PathBuf> = None;
    let mut platforms: Option<PathBuf> = None;
    let mut summary: Option<PathBuf> = None;
    let mut force = false;
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Long("os") => {
                let v = string_value(&mut parser)?;
                os =
                    Some(Os::from_key(&v).ok_or_else(|| {
                        format!("unknown OS {v:?} (linux, macos, freebsd, windows)")
                    })?);
            }
            Long("runtime") => {
                let v = string_value(&mut parser)?;
                runtime = Some(Runtime::parse(&v).ok_or_else(|| {
                    format!("unknown runtime {v:?} (native, qemu-user, wine, vm)")
                })?);
            }
            Long("from-results") => from.push(path_value(&mut parser)?),
            Long("out") => out = Some(path_value(&mut parser)?),
            Long("patch") => patch = Some(path_value(&mut parser)?),
            Long("platforms") => platforms = Some(path_value(&mut parser)?),
            Long("summary") => summary = Some(path_value(&mut parser)?),
            Long("force") => force = true,
            Long("help") | Short('h') => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            other => return Err(format!("{}\n{USAGE}", other.unexpected())),
        }
    }
    let filter = |s: &ipc_conformance::results::ResultSet| {
        os.is_none_or(|o| s.run.os == o) && runtime.is_none_or(|r| s.run.runtime == r)
    };
    if let Some(patch) = patch {
        if from.is_empty() || out.is_some() {
            return Err(format!(
                "--patch goes with --from-results and without --out\n{USAGE}"
            ));
        }
        let platforms = platforms
            .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/platforms")));
        return draft_patch(
            &from,
            &filter,
            &platforms,
            &patch,
            summary.as_deref(),
            force,
        );
    }
    if platforms.is_some() || summary.is_some() {
        return Err(format!(
            "--platforms and --summary go with --patch\n{USAGE}"
        ));
    }
    match from.as_slice() {
        [] => {}
        [dir] => return draft(dir, &filter, out.as_deref(), force),
        _ => {
            return Err(
                "--from-results is given once, or with --patch: draft one platform file at a time"
                    .into(),
            );
        }
    }
    if out.is_some() || force {
        return Err(format!("--out and --force go with --from-results\n{USAGE}"));
    }
    if let Some(os) = os {
        run.os = os;
        run.platform = format!("{}-x86_64", os.key());
        run.libc = String::new();
    }
    if let Some(r) = runtime {
        run.runtime = r;
    }
    let exp = ipc_conformance::expect::Expectations::get();
    for claim in Catalog::get().claims() {
        let e = exp.resolve(claim, &run);
        let value = e
            .value
            .map(|v| v.as_str())
            .unwrap_or("(any sound observation)");
        println!(
            "{:<45} {:<12} guide {:<9} from {}",
            claim.id,
            value,
            claim.doc_on(run.os).as_str(),
            e.origin
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `expectations --from-results`: drafts platform-file entries from the departures
/// of the result set(s) in `dir`, to stdout or to `out`. Everything is read,
/// validated and rendered before anything is written.
fn draft(
    dir: &std::path::Path,
    filter: &dyn Fn(&ipc_conformance::results::ResultSet) -> bool,
    out: Option<&std::path::Path>,
    force: bool,
) -> Result<ExitCode, String> {
    let catalog = ipc_conformance::catalog::Catalog::get();
    let sets = load_sets(&[dir.to_path_buf()], filter)?;
    let d = ipc_conformance::draft::draft(&sets, catalog)?;
    let text = d.to_toml();
    // What is written must load as a platform file.
    ipc_conformance::expect::Expectations::parse(&[(d.stem.as_str(), text.as_str())], catalog)
        .map_err(|e| format!("internal error: the draft does not load: {e}"))?;
    match out {
        None => print!("{text}"),
        Some(path) => write_new(path, text.as_bytes(), force)?,
    }
    eprintln!(
        "ipcconf: drafted {} entr{} for platforms/{}.toml from {} run{}{}; {} result{} not drafted (listed at the end)",
        d.entries.len(),
        if d.entries.len() == 1 { "y" } else { "ies" },
        d.stem,
        sets.len(),
        if sets.len() == 1 { "" } else { "s" },
        out.map(|p| format!(", written to {}", p.display()))
            .unwrap_or_default(),
        d.not_drafted.len(),
        if d.not_drafted.len() == 1 { "" } else { "s" },
    );
    Ok(ExitCode::SUCCESS)
}

/// The result sets in `dirs` (each a result set or a directory of them),
/// validated, those `filter` keeps; refused when none is left.
fn load_sets(
    dirs: &[PathBuf],
    filter: &dyn Fn(&ipc_conformance::results::ResultSet) -> bool,
) -> Result<Vec<ipc_conformance::results::ResultSet>, String> {
    use ipc_conformance::results as load;
    let catalog = ipc_conformance::catalog::Catalog::get();
    let found = load::discover(dirs)?;
    let mut sets = load::load_all(&found, catalog)?;
    sets.retain(|s| filter(s));
    if sets.is_empty() {
        let names: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        return Err(format!(
            "{}: no result set of the chosen OS and runtime",
            names.join(", ")
        ));
    }
    Ok(sets)
}

/// `expectations --from-results DIR... --patch FILE`: every platform file the
/// result sets belong to, drafted and merged into the file in `platforms`, as
/// one patch. Everything is read, merged and checked before anything is written.
fn draft_patch(
    dirs: &[PathBuf],
    filter: &dyn Fn(&ipc_conformance::results::ResultSet) -> bool,
    platforms: &std::path::Path,
    patch: &std::path::Path,
    summary: Option<&std::path::Path>,
    force: bool,
) -> Result<ExitCode, String> {
    use ipc_conformance::draft;
    let catalog = ipc_conformance::catalog::Catalog::get();
    let sets = load_sets(dirs, filter)?;
    let drafts = draft::draft_all(&sets, catalog)?;
    let mut merged = Vec::new();
    let mut text = String::new();
    for d in &drafts {
        let file = platforms.join(format!("{}.toml", d.stem));
        let old = match std::fs::read_to_string(&file) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("{}: {e}", file.display())),
        };
        let m = draft::merge::merge(old.as_deref(), d, catalog)?;
        if old.is_some() || m.created {
            text.push_str(&draft::patch::file_diff(
                &format!("platforms/{}.toml", d.stem),
                old.as_deref(),
                &m.text,
            ));
        }
        merged.push(m);
    }
    let stdout = patch.as_os_str() == "-";
    let written = !text.is_empty();
    if stdout {
        print!("{text}");
    } else if written {
        write_new(patch, text.as_bytes(), force)?;
    } else if force && patch.is_file() {
        std::fs::remove_file(patch).map_err(|e| format!("{}: {e}", patch.display()))?;
    }
    if let Some(path) = summary {
        use std::io::Write;
        let name = patch
            .file_name()
            .map_or("the patch".into(), |n| n.to_string_lossy());
        let pairs: Vec<_> = drafts.iter().zip(&merged).collect();
        let md = draft::summary::render(&pairs, written.then_some(name.as_ref()));
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(md.as_bytes()))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    for (d, m) in drafts.iter().zip(&merged) {
        eprintln!(
            "ipcconf: platforms/{}.toml{}: {} replaced, {} added, {} already there, from {} run{}; {} result{} not drafted",
            d.stem,
            if m.created && !d.entries.is_empty() {
                " (new)"
            } else {
                ""
            },
            m.replaced.len(),
            m.added.len(),
            m.unchanged.len(),
            d.runs.len(),
            if d.runs.len() == 1 { "" } else { "s" },
            d.not_drafted.len(),
            if d.not_drafted.len() == 1 { "" } else { "s" },
        );
    }
    match (written, stdout) {
        (true, false) => eprintln!("ipcconf: patch written to {}", patch.display()),
        (false, _) => eprintln!("ipcconf: platforms/ already holds every drafted entry: no patch"),
        (true, true) => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` to `path` through a temporary file in the same directory:
/// never over an existing file unless `force`, never half a file.
fn write_new(path: &std::path::Path, bytes: &[u8], force: bool) -> Result<(), String> {
    use std::io::Write;
    if path.is_dir() {
        return Err(format!(
            "{}: is a directory (give a file name)",
            path.display()
        ));
    }
    if !force && path.symlink_metadata().is_ok() {
        return Err(format!(
            "{}: exists; not overwritten (add --force to replace it)",
            path.display()
        ));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(parent)
        .map_err(|e| format!("{}: {e}", parent.display()))?;
    tmp.write_all(bytes)
        .map_err(|e| format!("{}: {e}", tmp.path().display()))?;
    let done = if force {
        tmp.persist(path).map(|_| ())
    } else {
        tmp.persist_noclobber(path).map(|_| ())
    };
    done.map_err(|e| format!("{}: {}", path.display(), e.error))
}

fn sweep(mut parser: lexopt::Parser) -> Result<ExitCode, String> {
    use lexopt::prelude::*;
    let mut dry_run = false;
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Long("dry-run") => dry_run = true,
            other => return Err(format!("{}\n{USAGE}", other.unexpected())),
        }
    }
    let swept = ipc_conformance::sweep::sweep(dry_run);
    for line in &swept.removed {
        println!(
            "{}{line}",
            if dry_run { "would remove " } else { "removed " }
        );
    }
    for line in &swept.kept {
        println!("kept {line}");
    }
    if swept.removed.is_empty() {
        println!("nothing of ours to remove");
    }
    Ok(ExitCode::SUCCESS)
}
