//! A CI run's first results, made for the drafting tests: result sets
//! generated from the catalog (never hand-edited), and the part of `git apply`
//! those tests need where there is no git.

use std::path::{Path, PathBuf};

/// A result set as a first run on `run`'s platform would leave it, made from
/// the catalog, never hand-edited: every claim observed as the suite expects it
/// there (the platform files, then the guide: what `ipcconf expectations --os`
/// prints), except the claims of `departures`, observed as given with the given
/// evidence. A claim nobody takes a stance on is `measured` when it is a fact
/// or a figure and `yes` otherwise.
pub fn synthetic_set(
    root: &Path,
    name: &str,
    run: &ipc_conformance::platform::RunInfo,
    departures: &[(&str, &str, &str)],
) -> PathBuf {
    use ipc_conformance::catalog::{Catalog, Kind};
    use ipc_conformance::expect::Expectations;
    let dir = root.join(name);
    std::fs::create_dir_all(dir.join("results")).unwrap();
    std::fs::write(
        dir.join("run.json"),
        serde_json::to_vec_pretty(run).unwrap(),
    )
    .unwrap();
    for claim in Catalog::get().claims() {
        let expected = Expectations::get().resolve(claim, run);
        let (observed, detail) = match departures.iter().find(|(id, _, _)| *id == claim.id) {
            Some((_, observed, evidence)) => ((*observed).to_owned(), (*evidence).to_owned()),
            None => {
                let o = match (expected.value, claim.kind) {
                    (Some(v), _) => v.as_str(),
                    (None, Kind::Fact | Kind::Perf) => "measured",
                    (None, _) => "yes",
                };
                (
                    o.to_owned(),
                    format!("synthetic: observed {o}, as expected"),
                )
            }
        };
        let status = match expected.value {
            Some(v) if v.as_str() != observed => "fail",
            _ => "pass",
        };
        let record = serde_json::json!({
            "claim": claim.id, "observed": observed, "expected": expected,
            "doc": claim.doc_on(run.os).as_str(), "detail": detail, "duration_ms": 1.0,
            "status": status, "time": run.started,
        });
        std::fs::write(
            dir.join("results").join(format!("{}.json", claim.id)),
            serde_json::to_vec_pretty(&record).unwrap(),
        )
        .unwrap();
    }
    dir
}

/// A run's identity for a synthetic result set.
pub fn synthetic_run(
    run_id: &str,
    os: ipc_conformance::catalog::Os,
    platform: &str,
    os_version: &str,
) -> ipc_conformance::platform::RunInfo {
    let mut run = ipc_conformance::platform::RunInfo::current(run_id.into());
    run.os = os;
    run.platform = platform.into();
    run.os_version = os_version.into();
    run.arch = platform.split('-').nth(1).unwrap_or("x86_64").into();
    run.kernel = format!("synthetic kernel of {os_version}");
    run.libc = if platform.starts_with("linux") {
        "glibc 2.39".into()
    } else {
        "system".into()
    };
    run.runtime = ipc_conformance::platform::Runtime::Native;
    run.runtime_detail = String::new();
    run.target = "synthetic".into();
    run.suite_revision = "synthetic".into();
    run.started = "2026-12-01T00:00:00Z".into();
    run
}

/// The departures of the synthetic macOS first run, in every one of its runs:
/// a hand-written entry of platforms/macos.toml contradicted in two sections,
/// a mechanism found absent, and a claim the file has no entry for.
pub const MACOS_DEPARTURES: &[(&str, &str, &str)] = &[
    (
        "signal.kqueue_signal",
        "no",
        "synthetic: EVFILT_SIGNAL counted 0 deliveries of a blocked SIGUSR1",
    ),
    (
        "unix_stream.multiple_readers",
        "yes",
        "synthetic: each reader got whole messages | <b>6 of 6</b>",
    ),
    (
        "sysv_mq.available",
        "unsupported",
        "synthetic: msgget(): ENOSYS (78)",
    ),
    (
        "sysv_mq.named_by_key",
        "unsupported",
        "synthetic: msgget(): ENOSYS (78)",
    ),
    (
        "sysv_mq.message_boundaries",
        "unsupported",
        "synthetic: msgget(): ENOSYS (78)",
    ),
    (
        "sysv_mq.type_selection",
        "unsupported",
        "synthetic: msgget(): ENOSYS (78)",
    ),
    (
        "sysv_mq.persists_until_removed",
        "unsupported",
        "synthetic: msgget(): ENOSYS (78)",
    ),
    (
        "pipe.unidirectional",
        "no",
        "synthetic: write() on the read end succeeded",
    ),
];

/// Applies a patch of `ipcconf expectations --patch` under `root`, checking
/// every context and removed line: the part of `git apply` these tests need,
/// for machines without git.
pub fn apply_patch(root: &Path, patch: &str) {
    let mut file: Option<(PathBuf, Vec<String>, Vec<String>, usize)> = None;
    let flush = |f: Option<(PathBuf, Vec<String>, Vec<String>, usize)>| {
        if let Some((path, old, mut new, next)) = f {
            new.extend(old[next..].iter().cloned());
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, new.concat()).unwrap();
        }
    };
    for line in patch.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("diff --git a/") {
            flush(file.take());
            let rel = rest.split(" b/").next().unwrap();
            let path = root.join(rel);
            let old: Vec<String> = std::fs::read_to_string(&path)
                .unwrap_or_default()
                .split_inclusive('\n')
                .map(str::to_owned)
                .collect();
            file = Some((path, old, Vec::new(), 0));
        } else if line.starts_with("--- ")
            || line.starts_with("+++ ")
            || line.starts_with("new file")
        {
        } else if let Some(h) = line.strip_prefix("@@ -") {
            let (path, old, new, next) = file.as_mut().expect("a hunk inside a file");
            let mut nums = h.split([',', ' ']);
            let start: usize = nums.next().unwrap().parse().unwrap();
            let len: usize = nums.next().unwrap().parse().unwrap();
            let first = if len == 0 { start } else { start - 1 };
            assert!(first >= *next, "{}: hunks out of order", path.display());
            new.extend(old[*next..first].iter().cloned());
            *next = first;
        } else {
            let (_, old, new, next) = file.as_mut().expect("a line inside a file");
            let (sign, text) = line.split_at(1);
            match sign {
                " " | "-" => {
                    assert_eq!(old[*next], text, "context or removed line");
                    if sign == " " {
                        new.push(text.to_owned());
                    }
                    *next += 1;
                }
                "+" => new.push(text.to_owned()),
                _ => panic!("unexpected patch line {line:?}"),
            }
        }
    }
    flush(file);
}

/// Copies the files of directory `from` (not recursive) into `to`.
pub fn copy_files(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.path().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The platform files in `dir`, loaded as the suite loads them.
pub fn load_platforms(dir: &Path) -> ipc_conformance::expect::Expectations {
    let mut texts = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            texts.push((stem, std::fs::read_to_string(&p).unwrap()));
        }
    }
    let files: Vec<(&str, &str)> = texts
        .iter()
        .map(|(s, t)| (s.as_str(), t.as_str()))
        .collect();
    ipc_conformance::expect::Expectations::parse(&files, ipc_conformance::catalog::Catalog::get())
        .expect("the patched platform files load")
}
