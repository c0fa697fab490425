//! Input built to break the reader: a result set of 100,000 files, JSON nested
//! half a million deep (ten million in a report.json), a mebibyte in every
//! free-text field, NUL and invalid UTF-8 in names and values. Each runs the
//! real `ipcconf` (report, summary) as a separate process, measures its time
//! and peak memory (the child's own rusage), and holds it to README's limits:
//! exit 2, the file (and the field) named, bounded time and memory, and an
//! existing report left as it was.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUN: &str = r#"{"run_id":"r1","platform":"linux-x86_64-gnu","os":"linux","os_version":"L","kernel":"Linux 6.1.0","arch":"x86_64","libc":"glibc","runtime":"native","runtime_detail":"","target":"t","suite_revision":"s","started":"2026-01-01T00:00:00Z","cpus":2,"uid":0}"#;
const RESULT: &str = r#"{"claim":"pipe.unidirectional","observed":"yes","expected":{"value":"yes","origin":"guide","reason":"","source":""},"doc":"yes","detail":"EBADF","duration_ms":0.5,"status":"pass","time":"2026-01-01T00:00:01Z"}"#;

/// The bounds every refusal here must keep (on a loaded 2-core machine).
const MAX_SECONDS: f64 = 20.0;
const MAX_RSS_MIB: u64 = 128;

/// What one run of `ipcconf` did.
#[derive(Debug)]
struct Measured {
    code: i32,
    stderr: String,
    elapsed: Duration,
    max_rss_mib: u64,
}

/// Runs `ipcconf ARGS` and measures it. Linux carries a process's peak RSS
/// across exec, and std starts a child sharing this process's memory until
/// its exec, so a child of this (large) test process would report this
/// process's peak as its own. The measurement is therefore made by a fresh
/// copy of this test binary ([`measure`], an ignored test run on its own),
/// whose child starts from its small memory.
fn ipcconf(what: &str, args: &[&OsStr]) -> Measured {
    let tmp = tempfile::tempdir().unwrap();
    let err_path = tmp.path().join("stderr");
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let encoded: Vec<String> = args.iter().map(|a| hex(a.as_bytes())).collect();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "limits::measure",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(MEASURE_ARGS, encoded.join(","))
        .env(MEASURE_STDERR, &err_path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("measured ").map(|(_, m)| m))
        .unwrap_or_else(|| {
            panic!(
                "{what}: no measurement: {stdout} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let n: Vec<u64> = line.split(' ').map(|w| w.parse().unwrap()).collect();
    let m = Measured {
        code: n[0] as i32,
        stderr: std::fs::read_to_string(err_path).unwrap(),
        elapsed: Duration::from_micros(n[1]),
        max_rss_mib: n[2] / 1024,
    };
    println!(
        "{what}: exit {}, {:.2} s, peak RSS {} MiB: {}",
        m.code,
        m.elapsed.as_secs_f64(),
        m.max_rss_mib,
        m.stderr.trim()
    );
    m
}

const MEASURE_ARGS: &str = "IPCCONF_MEASURE_ARGS";
const MEASURE_STDERR: &str = "IPCCONF_MEASURE_STDERR";

/// Run by [`ipcconf`] in a fresh process (ignored otherwise): runs `ipcconf`
/// with the arguments it was given, waits for it with wait4 (its own rusage),
/// and prints `measured <exit> <microseconds> <peak RSS KiB>`.
#[test]
#[ignore = "run by the limit tests in a process of its own"]
fn measure() {
    let Some(args) = std::env::var_os(MEASURE_ARGS) else {
        return;
    };
    let unhex = |s: &str| -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    let args: Vec<std::ffi::OsString> = args
        .to_str()
        .unwrap()
        .split(',')
        .map(|a| OsStr::from_bytes(&unhex(a)).to_owned())
        .collect();
    let stderr = std::fs::File::create(std::env::var_os(MEASURE_STDERR).unwrap()).unwrap();
    let started = Instant::now();
    // Reaped below with wait4, which std's wait cannot give the rusage of.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(env!("CARGO_BIN_EXE_ipcconf"))
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of the plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child, not yet reaped (std reaps only on wait);
    // status and usage are valid for writes.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = started.elapsed();
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    assert!(libc::WIFEXITED(status), "ipcconf did not exit: {status}");
    println!(
        "measured {} {} {}",
        libc::WEXITSTATUS(status),
        elapsed.as_micros(),
        usage.ru_maxrss
    );
}

/// A result set in `dir` with `run` and the named result files.
fn set(dir: &Path, run: &[u8], results: &[(&[u8], &[u8])]) -> PathBuf {
    std::fs::create_dir_all(dir.join("results")).unwrap();
    std::fs::write(dir.join("run.json"), run).unwrap();
    for (name, bytes) in results {
        std::fs::write(dir.join("results").join(OsStr::from_bytes(name)), bytes).unwrap();
    }
    dir.to_path_buf()
}

/// A result set of the usual run and one result file (pipe.unidirectional).
fn one_result(dir: &Path, result: &[u8]) -> PathBuf {
    set(
        dir,
        RUN.as_bytes(),
        &[(b"pipe.unidirectional.json", result)],
    )
}

/// A report directory holding a report: what a refused input must leave as it was.
fn existing_report(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    std::fs::create_dir_all(dir).unwrap();
    ["report.json", "PORTABILITY.md", "index.html"]
        .iter()
        .map(|f| {
            let path = dir.join(f);
            let bytes = format!("the report before: {f}").into_bytes();
            std::fs::write(&path, &bytes).unwrap();
            (path, bytes)
        })
        .collect()
}

/// `ipcconf report --results SET --out OUT` is refused within the bounds with
/// each of `named` in its message, and the report in OUT is untouched.
fn refused_by_report(what: &str, set: &Path, named: &[&str]) -> Measured {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("report");
    let before = existing_report(&out);
    let m = ipcconf(
        what,
        &[
            "report".as_ref(),
            "--results".as_ref(),
            set.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ],
    );
    assert_eq!(m.code, 2, "{what}: {m:?}");
    for n in named {
        assert!(m.stderr.contains(n), "{what}: {n:?} is not named: {m:?}");
    }
    assert!(m.elapsed.as_secs_f64() < MAX_SECONDS, "{what}: {m:?}");
    assert!(m.max_rss_mib < MAX_RSS_MIB, "{what}: {m:?}");
    for (path, bytes) in before {
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{what}: {path:?} changed"
        );
    }
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        3,
        "{what}: a file was added"
    );
    m
}

#[test]
fn a_hundred_thousand_result_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), RUN.as_bytes(), &[]);
    for i in 0..100_000 {
        std::fs::File::create(dir.join(format!("results/pipe.c{i:06}.json"))).unwrap();
    }
    refused_by_report(
        "100,000 result files",
        &dir,
        &["/results: more than 10000 entries"],
    );
    // The same bound on a directory of result sets.
    let many = tmp.path().join("results");
    refused_by_report(
        "100,000 entries as result sets",
        &many,
        &["more than 10000 entries"],
    );
}

#[test]
fn json_nested_deeply() {
    let tmp = tempfile::tempdir().unwrap();
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    // In an object whose other keys are all known: refused by its name.
    let result = RESULT.replace(
        r#""origin":"guide","#,
        &format!(r#""origin":"guide","x":{},"#, deep(500_000)),
    );
    let dir = one_result(&tmp.path().join("a"), result.as_bytes());
    refused_by_report(
        "nested in expected",
        &dir,
        &["pipe.unidirectional.json", "unknown field `x`"],
    );
    // In place of a string.
    let result = RESULT.replace(r#""EBADF""#, &deep(500_000));
    let dir = one_result(&tmp.path().join("b"), result.as_bytes());
    refused_by_report(
        "nested in detail",
        &dir,
        &["pipe.unidirectional.json", "invalid type: sequence"],
    );
    // In run.json, in place of the whole record.
    let dir = set(&tmp.path().join("c"), deep(500_000).as_bytes(), &[]);
    refused_by_report("nested run.json", &dir, &["run.json", "malformed run info"]);
    // In a report.json's keys the reader skips: serde_json skips a value
    // without recursion, at any depth, within the file's bound.
    let report = tmp.path().join("report.json");
    let text = format!(r#"{{"generated":{},"runs":[]}}"#, deep(10_000_000));
    std::fs::write(&report, text).unwrap();
    let m = ipcconf(
        "nested report.json, skipped",
        &["summary".as_ref(), report.as_os_str()],
    );
    assert_eq!(m.code, 0, "{m:?}");
    assert!(
        m.elapsed.as_secs_f64() < MAX_SECONDS && m.max_rss_mib < MAX_RSS_MIB,
        "{m:?}"
    );
    // In its runs, in place of a record: refused.
    let text = format!(r#"{{"runs":{}}}"#, deep(10_000_000));
    std::fs::write(&report, text).unwrap();
    let m = ipcconf(
        "nested report.json runs",
        &["summary".as_ref(), report.as_os_str()],
    );
    assert_eq!(m.code, 2, "{m:?}");
    assert!(m.stderr.contains("report.json: malformed report"), "{m:?}");
    assert!(
        m.elapsed.as_secs_f64() < MAX_SECONDS && m.max_rss_mib < MAX_RSS_MIB,
        "{m:?}"
    );
}

#[test]
fn a_mebibyte_in_every_free_text_field() {
    let tmp = tempfile::tempdir().unwrap();
    let mib = "<script>x</script>".repeat((1 << 20) / 18 + 1);
    let mut run: serde_json::Value = serde_json::from_str(RUN).unwrap();
    for f in ["os_version", "kernel", "libc", "runtime_detail"] {
        run[f] = mib.clone().into();
    }
    let mut res: serde_json::Value = serde_json::from_str(RESULT).unwrap();
    res["detail"] = mib.clone().into();
    res["expected"]["reason"] = mib.clone().into();
    res["expected"]["source"] = mib.clone().into();
    let run_bytes = serde_json::to_vec(&run).unwrap();
    let res_bytes = serde_json::to_vec(&res).unwrap();
    let dir = set(&tmp.path().join("a"), &run_bytes, &[]);
    refused_by_report(
        "1 MiB in each of run.json's texts",
        &dir,
        &["run.json: 4194", "more than a result file can be (1048576)"],
    );
    let dir = one_result(&tmp.path().join("b"), &res_bytes);
    refused_by_report(
        "1 MiB in each of a result's texts",
        &dir,
        &[
            "pipe.unidirectional.json: 3145",
            "more than a result file can be",
        ],
    );
    // Within the file's bound, over the field's: the field is named.
    for (field, pointer) in [
        ("detail", "/detail"),
        ("expected.reason", "/expected/reason"),
        ("expected.source", "/expected/source"),
    ] {
        let mut one: serde_json::Value = serde_json::from_str(RESULT).unwrap();
        *one.pointer_mut(pointer).unwrap() = mib[..300 << 10].into();
        let dir = set(
            &tmp.path().join(field),
            RUN.as_bytes(),
            &[(
                b"pipe.unidirectional.json",
                &serde_json::to_vec(&one).unwrap(),
            )],
        );
        let named = format!("pipe.unidirectional.json: field {field}: 307200 bytes of text");
        refused_by_report(field, &dir, &[&named]);
    }
    for f in ["os_version", "kernel", "libc", "runtime_detail"] {
        let mut one = run.clone();
        for g in ["os_version", "kernel", "libc", "runtime_detail"] {
            one[g] = if f == g {
                mib[..300 << 10].into()
            } else {
                "x".into()
            };
        }
        let dir = set(&tmp.path().join(f), &serde_json::to_vec(&one).unwrap(), &[]);
        refused_by_report(f, &dir, &[&format!("run.json: field {f}: 307200 bytes")]);
    }
}

#[test]
fn a_set_over_its_bytes() {
    // Files each under the file's bound, together over the set's: 17 results
    // padded with measured quantities to 1 MiB each.
    let tmp = tempfile::tempdir().unwrap();
    let claims: Vec<String> = ipc_conformance::catalog::Catalog::get()
        .claims()
        .iter()
        .take(17)
        .map(|c| c.id.clone())
        .collect();
    let q = r#"{"name":"n","value":1.0,"unit":""},"#;
    let pad = q.repeat(((1 << 20) - 400) / q.len());
    let files: Vec<(Vec<u8>, Vec<u8>)> = claims
        .iter()
        .map(|c| {
            let body = RESULT.replace("pipe.unidirectional", c).replace(
                r#""observed""#,
                &format!(r#""measured":[{}{}],"observed""#, pad, &q[..q.len() - 1]),
            );
            (format!("{c}.json").into_bytes(), body.into_bytes())
        })
        .collect();
    let refs: Vec<(&[u8], &[u8])> = files.iter().map(|(n, b)| (&n[..], &b[..])).collect();
    let dir = set(tmp.path(), RUN.as_bytes(), &refs);
    refused_by_report(
        "17 MiB of results",
        &dir,
        &["the result set's files hold more than 16777216 bytes together"],
    );
}

#[test]
fn nul_and_invalid_utf8_in_names_and_values() {
    let tmp = tempfile::tempdir().unwrap();
    // A file name that is not UTF-8 (NUL cannot be in one).
    let dir = set(
        &tmp.path().join("a"),
        RUN.as_bytes(),
        &[(b"pipe.\xff\xfe.json", RESULT.as_bytes())],
    );
    refused_by_report(
        "a file name not UTF-8",
        &dir,
        &[
            "pipe.\u{fffd}\u{fffd}.json",
            "not \"pipe.\u{fffd}\u{fffd}\"",
        ],
    );
    // NUL in identifiers: refused with the field named.
    for (file, from, to, named) in [
        ("run", "\"r1\"", "\"r\\u0000\"", "run.json: field run_id"),
        (
            "run",
            "\"linux-x86_64-gnu\"",
            "\"linux\\u0000\"",
            "run.json: field platform",
        ),
        (
            "result",
            "\"guide\"",
            "\"gu\\u0000ide\"",
            "field expected.origin",
        ),
    ] {
        let (run, result) = match file {
            "run" => (RUN.replace(from, to), RESULT.to_owned()),
            _ => (RUN.to_owned(), RESULT.replace(from, to)),
        };
        let dir = set(
            &tmp.path().join(named.replace([' ', ':', '.'], "_")),
            run.as_bytes(),
            &[(b"pipe.unidirectional.json", result.as_bytes())],
        );
        refused_by_report(named, &dir, &[named]);
    }
    // Bytes that are not UTF-8 inside a string: the file is named.
    let run = RUN.replace("\"L\"", "\"L\u{1}\"").into_bytes();
    let run: Vec<u8> = run.iter().map(|&b| if b == 1 { 0xff } else { b }).collect();
    let dir = set(&tmp.path().join("b"), &run, &[]);
    refused_by_report(
        "os_version not UTF-8",
        &dir,
        &["run.json: malformed run info"],
    );
    // NUL in free text is text: accepted, and the report escapes it.
    let result = RESULT.replace("EBADF", "a\\u0000b<script>");
    let dir = one_result(&tmp.path().join("c"), result.as_bytes());
    let out = tmp.path().join("out");
    let m = ipcconf(
        "NUL in detail",
        &[
            "report".as_ref(),
            "--results".as_ref(),
            dir.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ],
    );
    assert_eq!(m.code, 0, "{m:?}");
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("a\0b&lt;script&gt;") && !page.contains("b<script>"));
}
