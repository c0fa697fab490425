//! Drafting platform files from result sets: `ipcconf expectations
//! --from-results`, one file or one patch against platforms/ for a whole CI run.

use std::path::Path;
use std::process::Command;

mod first_run;
mod ipcconf;
mod support;
use first_run::{
    MACOS_DEPARTURES, apply_patch, copy_files, load_platforms, synthetic_run, synthetic_set,
};
use ipcconf::{ipcconf, result_set, set_run_field, stderr};
use support::unescaped_bars;

const WINE_FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/wine-first-run");

/// (claim, expected value) of a platform file's entries.
fn claims_and_values(
    exp: &ipc_conformance::expect::Expectations,
    stem: &str,
) -> Vec<(String, String)> {
    exp.all()
        .filter(|(s, _, _)| *s == stem)
        .map(|(_, id, e)| (id.to_owned(), e.expect_word().to_owned()))
        .collect()
}

/// The Wine round trip, on a committed excerpt of a real first run: Wine 8 run
/// without platforms/windows-wine.toml. The draft loads as a platform file, holds
/// the same claims and values as the hand-written file, names the run in every
/// source, and with it in place every result of the run meets its expectation.
#[test]
fn a_wine_first_run_drafts_the_hand_written_wine_file() {
    use ipc_conformance::catalog::Catalog;
    use ipc_conformance::expect::{Expectations, PLATFORM_FILES};
    let o = ipcconf(&["expectations", "--from-results", WINE_FIXTURE]);
    assert!(o.status.success(), "{}", stderr(&o));
    let draft = String::from_utf8(o.stdout).unwrap();
    let mut files: Vec<(&str, &str)> = PLATFORM_FILES
        .iter()
        .copied()
        .filter(|(stem, _)| *stem != "windows-wine")
        .collect();
    files.push(("windows-wine", &draft));
    let drafted = Expectations::parse(&files, Catalog::get()).expect("the draft loads");
    assert_eq!(
        claims_and_values(&drafted, "windows-wine"),
        claims_and_values(Expectations::get(), "windows-wine"),
        "draft:\n{draft}"
    );
    for (_, _, e) in drafted.all().filter(|(s, _, _)| *s == "windows-wine") {
        assert!(
            e.source.contains("20261204T135654Z-f95bb335"),
            "{}",
            e.source
        );
        assert!(e.source.contains("Wine 8.0") && e.source.contains("Windows NT 6.1"));
        assert!(e.reason.contains("WSAEAFNOSUPPORT"), "{}", e.reason);
    }
    let set = ipc_conformance::results::load(Path::new(WINE_FIXTURE), Catalog::get()).unwrap();
    let mut departed = 0;
    for r in &set.results {
        let claim = Catalog::get().claim(&r.claim).unwrap();
        let now = drafted.resolve(claim, &set.run).value;
        departed += usize::from(r.expected.value.is_some_and(|v| v != r.observed));
        if r.status != ipc_conformance::results::Status::Skipped {
            assert_eq!(now, Some(r.observed), "{} under the draft", r.claim);
        }
    }
    assert!(departed >= 5, "the fixture holds departures to draft from");
}

#[test]
fn drafting_writes_a_new_file_and_never_clobbers_one() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("windows-wine.toml");
    let draft_to = |extra: &[&str]| {
        let mut args = vec![
            "expectations",
            "--from-results",
            WINE_FIXTURE,
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        ipcconf(&args)
    };
    let o = draft_to(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let first = std::fs::read(&out).unwrap();
    assert!(String::from_utf8_lossy(&first).contains("[claims.\"unix_stream.available\"]"));
    std::fs::write(&out, b"hand-written").unwrap();
    let o = draft_to(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("exists") && stderr(&o).contains("--force"));
    assert_eq!(std::fs::read(&out).unwrap(), b"hand-written");
    let o = draft_to(&["--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), first);
    // No run of that OS: refused, nothing written.
    let other = tmp.path().join("linux.toml");
    let o = ipcconf(&[
        "expectations",
        "--from-results",
        WINE_FIXTURE,
        "--os",
        "linux",
        "--out",
        other.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no result set"), "{}", stderr(&o));
    assert!(!other.exists());
    // --out without --from-results is a usage error.
    let o = ipcconf(&["expectations", "--out", other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn drafting_from_malformed_input_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("draft.toml");
    let bad = result_set(tmp.path(), "bad", "run-bad", "linux-x86_64-gnu");
    set_run_field(&bad, "platform", "x|<b>y</b>");
    let not_a_set = tmp.path().join("empty");
    std::fs::create_dir(&not_a_set).unwrap();
    for (dir, needle) in [
        (bad.as_path(), "field platform"),
        (not_a_set.as_path(), "no result set here"),
        (Path::new("/nonexistent/ipcconf"), "not a directory"),
    ] {
        let o = ipcconf(&[
            "expectations",
            "--from-results",
            dir.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{needle}: {}", stderr(&o));
        assert!(!out.exists());
    }
}

/// A run without departures drafts no entry; a failed check that observed
/// `error` is listed as not drafted, never turned into an expectation.
#[test]
fn drafting_lists_what_cannot_be_an_expectation() {
    let tmp = tempfile::tempdir().unwrap();
    let set = result_set(tmp.path(), "a", "run-a", "linux-x86_64-gnu");
    let o = ipcconf(&["expectations", "--from-results", set.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        text.contains("No departures") && !text.contains("[claims."),
        "{text}"
    );
    let path = set.join("results/pipe.unidirectional.json");
    let mut r: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    r["observed"] = "error".into();
    r["status"] = "fail".into();
    r["detail"] = "pipe(): EMFILE\n[claims.\"x\"]".into();
    std::fs::write(&path, serde_json::to_vec(&r).unwrap()).unwrap();
    let o = ipcconf(&["expectations", "--from-results", set.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(!text.contains("\n[claims."), "{text}");
    let note = text
        .lines()
        .find(|l| {
            l.starts_with("# pipe.unidirectional")
                || l.contains(": pipe.unidirectional: observed error")
        })
        .unwrap_or_else(|| panic!("listed as not drafted: {text}"));
    assert!(note.contains("EMFILE") && note.starts_with('#'), "{note}");
}

/// The report job's drafting step on a CI run's artifacts (laid out as
/// actions/download-artifact leaves them): the Wine first run with its
/// platform file absent, three synthetic macOS runs that depart from
/// platforms/macos.toml, Linux runs without departures (glibc, and musl, whose
/// platform file does not exist and must not be created), and a job that
/// recorded nothing. One patch comes out; it applies to platforms/ (with git
/// where there is git); after it every result meets its expectation except
/// those listed as not drafted; macos.toml keeps its comments and the entries
/// the draft does not touch; the Wine file comes back with the hand-written
/// file's claims and values; the summary lists every entry.
#[test]
fn a_first_ci_run_becomes_one_reviewed_patch() {
    use ipc_conformance::catalog::{Catalog, Os};
    use ipc_conformance::expect::EXPECTABLE;
    use ipc_conformance::observe::Outcome;
    let tmp = tempfile::tempdir().unwrap();
    let art = tmp.path().join("ipc-sets");
    let wine = art.join("ipc-results-windows-x86_64-gnu-wine-debian-12");
    copy_files(Path::new(WINE_FIXTURE), &wine);
    copy_files(
        &Path::new(WINE_FIXTURE).join("results"),
        &wine.join("results"),
    );
    let mut fifo_split = MACOS_DEPARTURES.to_vec();
    fifo_split.push(("fifo.rdwr_self_read", "no", "synthetic: read() blocked"));
    let mut with_error = fifo_split.clone();
    with_error.push(("pipe.pollable", "error", "synthetic: poll(): EINVAL"));
    for (name, id, platform, version, departures) in [
        (
            "ipc-results-macos-aarch64-macos-15",
            "m15",
            "macos-aarch64",
            "macOS 15.7",
            &fifo_split,
        ),
        (
            "ipc-results-macos-aarch64-macos-26",
            "m26",
            "macos-aarch64",
            "macOS 26.1",
            &with_error,
        ),
        (
            "ipc-results-macos-x86_64-macos-26-intel",
            "mi",
            "macos-x86_64",
            "macOS 26.1",
            &MACOS_DEPARTURES.to_vec(),
        ),
    ] {
        synthetic_set(
            &art,
            name,
            &synthetic_run(id, Os::Macos, platform, version),
            departures,
        );
    }
    let linux = synthetic_run("l24", Os::Linux, "linux-x86_64-gnu", "Ubuntu 24.04");
    synthetic_set(
        &art,
        "ipc-results-linux-x86_64-gnu-ubuntu-24.04",
        &linux,
        &[],
    );
    // A musl run without departures: its platform file does not exist, and
    // must not be created empty.
    let mut musl = synthetic_run("m24", Os::Linux, "linux-x86_64-musl", "Ubuntu 24.04");
    musl.libc = "musl 1.2.5".into();
    synthetic_set(
        &art,
        "ipc-results-linux-x86_64-musl-ubuntu-24.04",
        &musl,
        &[],
    );
    std::fs::create_dir_all(art.join("ipc-results-freebsd-x86_64-vm-freebsd-15.1")).unwrap();

    // platforms/ of the commit that ran, without the Wine file (its first run).
    let repo = tmp.path().join("repo");
    let platforms_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("platforms");
    copy_files(&platforms_dir, &repo.join("platforms"));
    std::fs::remove_file(repo.join("platforms/windows-wine.toml")).unwrap();
    let before = tmp.path().join("before");
    copy_files(&repo.join("platforms"), &before);

    let out = tmp.path().join("draft");
    std::fs::create_dir_all(&out).unwrap();
    let patch_path = out.join("platforms-draft.patch");
    let summary_path = out.join("summary.md");
    std::fs::write(&summary_path, "# The report\n").unwrap();
    let o = ipcconf(&[
        "expectations",
        "--from-results",
        art.to_str().unwrap(),
        "--patch",
        patch_path.to_str().unwrap(),
        "--platforms",
        repo.join("platforms").to_str().unwrap(),
        "--summary",
        summary_path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let patch = std::fs::read_to_string(&patch_path).unwrap();
    eprintln!("{}\n{patch}", stderr(&o));
    let files: Vec<&str> = patch
        .lines()
        .filter_map(|l| l.strip_prefix("diff --git a/"))
        .collect();
    assert_eq!(
        files,
        [
            "platforms/macos.toml b/platforms/macos.toml",
            "platforms/windows-wine.toml b/platforms/windows-wine.toml"
        ],
        "one patch, a file each, none for the Linux runs without departures"
    );
    // The input was read, not changed.
    for e in std::fs::read_dir(&before).unwrap() {
        let e = e.unwrap();
        assert_eq!(
            std::fs::read(e.path()).unwrap(),
            std::fs::read(repo.join("platforms").join(e.file_name())).unwrap()
        );
    }

    // git apply takes it at the repository's root, and agrees with ours.
    let git_applied = tmp.path().join("git");
    copy_files(&repo.join("platforms"), &git_applied.join("platforms"));
    let git = Command::new("git")
        .args(["apply", "--check", "--verbose"])
        .arg(&patch_path)
        .current_dir(&git_applied)
        .output();
    apply_patch(&repo, &patch);
    match git {
        Err(e) => eprintln!(
            "NOTE: git could not be started ({e}): the patch was applied by this test alone"
        ),
        Ok(g) => {
            assert!(
                g.status.success(),
                "git apply --check: {}",
                String::from_utf8_lossy(&g.stderr)
            );
            let g = Command::new("git")
                .arg("apply")
                .arg(&patch_path)
                .current_dir(&git_applied)
                .output()
                .unwrap();
            assert!(g.status.success(), "{}", String::from_utf8_lossy(&g.stderr));
            for stem in ["macos", "windows-wine", "linux"] {
                let f = format!("platforms/{stem}.toml");
                assert_eq!(
                    std::fs::read_to_string(git_applied.join(&f)).unwrap(),
                    std::fs::read_to_string(repo.join(&f)).unwrap(),
                    "{f}"
                );
            }
        }
    }

    // Under the patched files every result meets its expectation, except those
    // the draft lists as not drafted: the FIFO claim the macOS runs disagree on
    // and the error.
    let patched = load_platforms(&repo.join("platforms"));
    let sets: Vec<_> = std::fs::read_dir(&art)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("run.json").exists())
        .map(|p| ipc_conformance::results::load(&p, Catalog::get()).unwrap())
        .collect();
    assert_eq!(sets.len(), 6);
    for set in &sets {
        for r in &set.results {
            let claim = Catalog::get().claim(&r.claim).unwrap();
            let now = patched.resolve(claim, &set.run).value;
            let disagreed = r.claim == "fifo.rdwr_self_read" && set.run.platform == "macos-aarch64";
            if EXPECTABLE.contains(&r.observed) && now.is_some() && !disagreed {
                assert_eq!(now, Some(r.observed), "{} of {}", r.claim, set.run.run_id);
            }
        }
    }
    assert_eq!(
        patched
            .resolve(
                Catalog::get().claim("fifo.rdwr_self_read").unwrap(),
                &sets[0].run
            )
            .value,
        Some(Outcome::Yes),
        "no entry for a claim the runs disagree on"
    );

    // macos.toml: every comment line and every entry the draft does not name
    // stay as they were; the two contradicted entries are replaced in place.
    let old = std::fs::read_to_string(before.join("macos.toml")).unwrap();
    let new = std::fs::read_to_string(repo.join("platforms/macos.toml")).unwrap();
    let comments = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with('#'))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(comments(&old), comments(&new));
    let old_exp = load_platforms(&before);
    let drafted = [
        "signal.kqueue_signal",
        "unix_stream.multiple_readers",
        "sysv_mq.available",
        "pipe.unidirectional",
    ];
    let entries = |e: &ipc_conformance::expect::Expectations| -> Vec<(String, String, String)> {
        e.all()
            .filter(|(s, id, _)| *s == "macos" && !drafted.contains(id))
            .map(|(_, id, e)| (id.to_owned(), e.expect_word().to_owned(), e.reason.clone()))
            .collect()
    };
    assert_eq!(entries(&old_exp), entries(&patched));
    let macos: Vec<(&str, &str)> = patched
        .all()
        .filter(|(s, id, _)| *s == "macos" && drafted.contains(id))
        .map(|(_, id, e)| (id, e.expect_word()))
        .collect();
    assert_eq!(
        macos,
        [
            ("pipe.unidirectional", "no"),
            ("signal.kqueue_signal", "no"),
            ("sysv_mq.available", "unsupported"),
            ("unix_stream.multiple_readers", "yes"),
        ]
    );
    let kq = new.find("[claims.\"signal.kqueue_signal\"]").unwrap();
    assert!(
        new.find("[claims.\"signal.signalfd_pollable\"]").unwrap() < kq
            && kq < new.find("# --- eventfd ---").unwrap(),
        "replaced where it was"
    );
    let sysv = patched
        .all()
        .find(|(s, id, _)| *s == "macos" && *id == "sysv_mq.available")
        .unwrap()
        .2;
    assert!(
        sysv.reason.contains("sysv_mq.named_by_key") && sysv.source.contains("run m15"),
        "{sysv:?}"
    );

    // The Wine file comes back with the hand-written file's claims and values.
    use ipc_conformance::expect::Expectations;
    assert_eq!(
        claims_and_values(&patched, "windows-wine"),
        claims_and_values(Expectations::get(), "windows-wine")
    );

    // The summary: appended, per platform file, each entry, the not drafted.
    let md = std::fs::read_to_string(&summary_path).unwrap();
    assert!(md.starts_with("# The report\n"), "appended");
    for needle in [
        "6 entries for 2 platform files",
        "`git apply platforms-draft.patch`",
        "### `platforms/macos.toml`: 2 replaced, 2 added, from 3 runs",
        "### `platforms/windows-wine.toml` (new file): 0 replaced, 2 added, from 1 run",
        "### `platforms/linux.toml`: no departures in 1 run",
        "### `platforms/linux-musl.toml`: no departures in 1 run",
        "| `signal.kqueue_signal` | replaces | no | yes (platforms/macos.toml) |",
        "fifo.rdwr_self_read: the runs disagree (macos-aarch64 run m15 observed no",
        "macos-aarch64 run m26: pipe.pollable: observed error",
    ] {
        assert!(md.contains(needle), "summary lacks {needle:?}:\n{md}");
    }
    let row = md
        .lines()
        .find(|l| l.starts_with("| `unix_stream.multiple_readers`"))
        .unwrap();
    assert_eq!(unescaped_bars(row), 7, "{row}");

    // Nothing departed: no patch, and the summary says so.
    let quiet = tmp.path().join("quiet.patch");
    let o = ipcconf(&[
        "expectations",
        "--from-results",
        art.join("ipc-results-linux-x86_64-gnu-ubuntu-24.04")
            .to_str()
            .unwrap(),
        "--patch",
        quiet.to_str().unwrap(),
        "--summary",
        summary_path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!quiet.exists() && stderr(&o).contains("no patch"));
    assert!(
        std::fs::read_to_string(&summary_path)
            .unwrap()
            .contains("nothing to add")
    );
}
