//! A slow first launch of the peer program, injected: the harness's warm-up
//! launch pays it outside every check's step bound, and without the warm-up
//! the injection does turn a check into `timeout`.
//!
//! `IPCCONF_INJECT_FIRST_LAUNCH_DELAY_MS` makes the first launch of each
//! executable (and every launch queued behind it) wait, as macOS does while it
//! scans a freshly linked program (`ipc_conformance::peer::first_launch`).
//! Each case runs a check that starts the peer in a child process of this test
//! binary (the warm-up is once per process), with a delay above the watchdog's
//! 2 s bound and a fresh marker directory.
//!
//! The cases take about 3 s each, so they are ignored by a plain `cargo test`
//! (which they would slow down); `ci/first-launch.sh` runs them
//! (`cargo test --test first_launch -- --ignored`) and then the whole suite
//! with and without the warm-up.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ipc_conformance::observe::Observation;
use ipc_conformance::peer::first_launch::{DELAY_VAR, DIR_VAR, WARM_UP_ROLE, WARM_UP_VAR};
use ipc_conformance::watchdog::BOUND;

/// The injected first launch: above the watchdog's bound.
const DELAY: Duration = Duration::from_millis(3000);

/// Set in the child process that runs [`starts_a_peer`].
const CHILD_VAR: &str = "IPCCONF_FIRST_LAUNCH_CHILD";

/// The child's check: start the peer program as checks do (`cx.peer(...)`,
/// `ready` awaited within the watchdog's bound) and print the outcome. Does
/// nothing unless [`CHILD_VAR`] is set.
#[test]
#[ignore = "the child process of the tests below"]
fn starts_a_peer() {
    if std::env::var_os(CHILD_VAR).is_none() {
        return;
    }
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_ipcconf-peer"));
    let (obs, ms) = ipc_conformance::check::observe("pipe.available", exe, |cx| {
        let asked = Instant::now();
        let command = cx.peer(&[WARM_UP_ROLE]);
        let started = Instant::now();
        let peer = command.start()?;
        let ready = started.elapsed();
        drop(peer);
        Ok(Observation::yes(format!(
            "the check's peer said ready {ready:?} after it was started, {:?} after the check asked for it",
            asked.elapsed()
        )))
    });
    println!("outcome {} after {ms:.0} ms: {}", obs.outcome, obs.detail);
}

/// Runs [`starts_a_peer`] in a child process with the injected delay, with or
/// without the warm-up; returns its `outcome ...` line. Waits at most 30 s.
fn child(warm_up: bool) -> String {
    let markers = tempfile::tempdir().expect("a marker directory");
    let results = tempfile::tempdir().expect("a results directory");
    let mut cmd = Command::new(std::env::current_exe().expect("this test binary"));
    cmd.args([
        "--exact",
        "starts_a_peer",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_VAR, "1")
    .env(DELAY_VAR, DELAY.as_millis().to_string())
    .env(DIR_VAR, markers.path())
    .env("IPC_RESULTS_DIR", results.path())
    .env_remove("IPCCONF_PEER")
    .env_remove("IPCCONF_INJECT_PANIC")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if warm_up {
        cmd.env_remove(WARM_UP_VAR);
    } else {
        cmd.env(WARM_UP_VAR, "off");
    }
    let mut child = cmd.spawn().expect("start the child");
    let start = Instant::now();
    // Bounded wait for the child (poll its status; never block on it).
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child was still running after 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("the child's output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The test harness prints the line after "test starts_a_peer ... ".
    let line = stdout
        .lines()
        .find_map(|l| l.find("outcome ").map(|at| &l[at..]))
        .unwrap_or_else(|| {
            panic!(
                "no outcome line: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
        .to_owned();
    let scans = std::fs::read_dir(markers.path())
        .expect("the marker directory")
        .count();
    assert_eq!(scans, 1, "one executable launched, one scan: {line}");
    println!("warm-up {}: {line}", if warm_up { "on" } else { "off" });
    line
}

#[test]
#[ignore = "about 3 s (an injected first launch above the 2 s bound); run by ci/first-launch.sh"]
fn with_the_warm_up_a_slow_first_launch_is_no_timeout() {
    assert!(DELAY > BOUND);
    let line = child(true);
    assert!(line.starts_with("outcome yes "), "{line}");
}

#[test]
#[ignore = "about 3 s (an injected first launch above the 2 s bound); run by ci/first-launch.sh"]
fn without_the_warm_up_a_slow_first_launch_is_a_timeout() {
    let line = child(false);
    assert!(line.starts_with("outcome timeout "), "{line}");
}
