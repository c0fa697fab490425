//! `ipcconf`: the project's command line.
//!
//! - `ipcconf report [--results DIR]... [--run] [--out DIR] [--expect-platform ID]...`
//!   (`cargo ipc-report` is an alias): runs the suites in release on this machine (or
//!   merges given result sets) and writes report.json, PORTABILITY.md, index.html;
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
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    }
}

fn report(mut parser: lexopt::Parser) -> Result<ExitCode, String> {
    use lexopt::prelude::*;
    let mut results: Vec<PathBuf> = Vec::new();
    let mut run_here = false;
    let mut out = ipc_conformance::record::target_dir().join("ipc-report");
    let mut expected = Vec::new();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Long("results") => results.push(parser.value().map_err(|e| e.to_string())?.into()),
            Long("run") => run_here = true,
            Long("out") => out = parser.value().map_err(|e| e.to_string())?.into(),
            Long("expect-platform") => expected.push(
                parser
                    .value()
                    .map_err(|e| e.to_string())?
                    .string()
                    .map_err(|e| e.to_string())?,
            ),
            Long("help") | Short('h') => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            other => return Err(format!("{}\n{USAGE}", other.unexpected())),
        }
    }
    // Validate every given result set before anything runs or is written.
    let catalog = ipc_conformance::catalog::Catalog::get();
    let mut dirs = ipc_conformance::report::load::discover(&results)?;
    let mut suites_ok = true;
    if results.is_empty() || run_here {
        ipc_conformance::report::load::load_all(&dirs, catalog)?;
        let local = out.join("runs").join("local");
        suites_ok = run_suites(&local)?;
        dirs.push(local);
    }
    let sets = ipc_conformance::report::load::load_all(&dirs, catalog)?;
    let written = ipc_conformance::report::write(&out, &sets, &expected)?;
    for f in &written {
        println!("wrote {f}");
    }
    let index = written
        .iter()
        .find(|f| f.ends_with("index.html"))
        .map_or("", String::as_str);
    print!("{}", ipc_conformance::report::summary::render(&sets, index));
    if suites_ok {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "ipcconf: the report is written, but some checks failed their expectation (see cargo test's output above)"
        );
        Ok(ExitCode::FAILURE)
    }
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
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Long("os") => {
                let v = parser
                    .value()
                    .map_err(|e| e.to_string())?
                    .string()
                    .map_err(|e| e.to_string())?;
                run.os = Os::from_key(&v)
                    .ok_or_else(|| format!("unknown OS {v:?} (linux, macos, freebsd, windows)"))?;
                run.platform = format!("{v}-x86_64");
                run.libc = String::new();
            }
            Long("runtime") => {
                let v = parser
                    .value()
                    .map_err(|e| e.to_string())?
                    .string()
                    .map_err(|e| e.to_string())?;
                run.runtime = Runtime::parse(&v).ok_or_else(|| {
                    format!("unknown runtime {v:?} (native, qemu-user, wine, vm)")
                })?;
            }
            other => return Err(format!("{}\n{USAGE}", other.unexpected())),
        }
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
