//! The harness's own guarantees: a check that blocks where no watchdog bounds
//! it still ends, as `timeout`, within the harness ceiling; a sweep removes
//! what a killed run left.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ipc_conformance::check;
use ipc_conformance::observe::Observation;

/// A check that blocks for ever. It does nothing unless `IPCCONF_HARNESS_HANG`
/// is set: [`ceiling_ends_a_check_that_hangs`] runs it in a child process.
#[test]
fn check_that_hangs() {
    if std::env::var_os("IPCCONF_HARNESS_HANG").is_none() {
        return;
    }
    check!("pipe.available", |_cx| -> ipc_conformance::Checked<
        Observation,
    > {
        loop {
            std::thread::park();
        }
    });
}

#[test]
fn ceiling_ends_a_check_that_hangs() {
    let results = tempfile::tempdir().expect("a results directory");
    let start = Instant::now();
    let mut child = Command::new(std::env::current_exe().expect("this test binary"))
        .args(["--exact", "check_that_hangs", "--test-threads=1"])
        .env("IPCCONF_HARNESS_HANG", "1")
        .env("IPCCONF_CHECK_CEILING", "0.5")
        .env("IPC_RESULTS_DIR", results.path())
        .env_remove("IPCCONF_INJECT_PANIC")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the hanging check");
    // Bounded wait for the child (poll its status; never block on it).
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the hanging check was still running after 20 s: the ceiling did not end it");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut stderr)
        .expect("stderr");
    assert_eq!(status.code(), Some(101), "{stderr}");
    assert!(stderr.contains("harness ceiling"), "{stderr}");
    let record = std::fs::read_to_string(results.path().join("results/pipe.available.json"))
        .expect("the timeout was recorded");
    let record: serde_json::Value = serde_json::from_str(&record).expect("json");
    assert_eq!(record["observed"], "timeout", "{record}");
    assert_eq!(record["status"], "fail", "{record}");
}

/// A peer that blocks instead of answering (here: a program that never prints
/// its ready line) gives `timeout` within the watchdog's bound, and is killed.
#[cfg(unix)]
#[test]
fn a_blocking_peer_gives_timeout_within_the_bound() {
    use ipc_conformance::observe::Outcome;
    use ipc_conformance::peer::PeerCommand;
    use ipc_conformance::watchdog::BOUND;
    let start = Instant::now();
    let (obs, _) = ipc_conformance::check::observe(
        "pipe.available",
        std::path::PathBuf::from(env!("CARGO_BIN_EXE_ipcconf-peer")),
        |_cx| {
            let _peer = PeerCommand::new(std::path::Path::new("sleep"), &["30"]).start()?;
            Ok(Observation::error("the blocked peer answered"))
        },
    );
    let took = start.elapsed();
    assert_eq!(obs.outcome, Outcome::Timeout, "{}", obs.detail);
    assert!(
        took >= BOUND && took < BOUND + Duration::from_secs(2),
        "took {took:?} for a bound of {BOUND:?}"
    );
}
