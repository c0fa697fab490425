//! Checking a claim: observe, record, resolve the expectation, assert.
//!
//! ```ignore
//! #[test]
//! fn unidirectional() {
//!     check!("pipe.unidirectional", |cx| {
//!         let (r, _w) = nix::unistd::pipe().step("pipe()")?;
//!         let e = nix::unistd::write(&r, b"x").err();
//!         Ok(Observation::holds(e.is_some(), format!("write on the read end: {e:?}")))
//!     });
//! }
//! ```

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::catalog::{Catalog, Kind};
use crate::expect::{Expectations, Expected};
use crate::observe::{Checked, Observation, Outcome};
use crate::peer::PeerCommand;
use crate::results::{self, ClaimId, ResultRecord, Status};

/// What a check gets from the harness.
pub struct Ctx {
    claim: String,
    peer_exe: PathBuf,
    dir: Option<tempfile::TempDir>,
}

impl Ctx {
    /// `$IPCCONF_PEER`, when set, replaces the peer binary the check was built
    /// with (a copy run as another user, from a directory it can reach).
    pub fn new(claim: &str, peer_exe: PathBuf) -> Ctx {
        let peer_exe = std::env::var_os("IPCCONF_PEER")
            .map(PathBuf::from)
            .unwrap_or(peer_exe);
        Ctx {
            claim: claim.to_owned(),
            peer_exe,
            dir: None,
        }
    }

    pub fn claim(&self) -> &str {
        &self.claim
    }

    /// The peer program, for a check that starts it itself. The first time
    /// in this process, the program is launched once and waited for
    /// ([`crate::peer::first_launch::warm_up`]), so that a slow first launch
    /// (an executable scan) is paid before any step's bound runs.
    pub fn peer_exe(&self) -> &Path {
        crate::peer::first_launch::warm_up(&self.peer_exe);
        &self.peer_exe
    }

    /// A peer command: `ipcconf-peer <args...>` (after the warm-up launch, as
    /// for [`Ctx::peer_exe`]).
    pub fn peer(&self, args: &[&str]) -> PeerCommand {
        PeerCommand::new(self.peer_exe(), args)
    }

    /// This check's private directory (0700, removed after the check, also on panic).
    pub fn dir(&mut self) -> Checked<&Path> {
        if self.dir.is_none() {
            match crate::names::private_dir() {
                Ok(d) => self.dir = Some(d),
                Err(e) => {
                    return Err(Observation::skipped(format!(
                        "cannot create a private directory under {}: {e}",
                        std::env::temp_dir().display()
                    )));
                }
            }
        }
        Ok(self.dir.as_ref().expect("just created").path())
    }

    /// A fresh `ipcconf-...` path inside the private directory.
    pub fn path(&mut self, suffix: &str) -> Checked<PathBuf> {
        let name = format!("{}{suffix}", crate::names::unique());
        Ok(self.dir()?.join(name))
    }
}

/// Runs a check from a test: `check!("pipe.unidirectional", |cx| { ... })`.
/// The peer binary is found through `CARGO_BIN_EXE_ipcconf-peer`.
#[macro_export]
macro_rules! check {
    ($claim:expr, $body:expr) => {
        $crate::check::run(
            $claim,
            ::std::path::PathBuf::from(env!("CARGO_BIN_EXE_ipcconf-peer")),
            $body,
        )
    };
}

/// Observes `claim` with `body`, records the result, and panics with claim,
/// observed, expected and evidence when the observation departs from the
/// expectation. Returns the observation for callers that want it.
pub fn run(
    claim: &str,
    peer_exe: PathBuf,
    body: impl FnOnce(&mut Ctx) -> Checked<Observation>,
) -> Observation {
    if let Some(c) = Catalog::get().claim(claim) {
        if let Some(missing) = c.requires.unmet() {
            panic!(
                "claim {claim} requires {missing}, which {} is not, yet a test checks it here: gate the test away with the cfg of its requires (the suite's `ipc_conformance::suite!()` records the claim `unsupported`)",
                crate::sys::TARGET
            );
        }
    }
    let outcome = observe(claim, peer_exe, body);
    let (record, conclusion) = conclude(claim, outcome.0, outcome.1);
    match conclusion {
        Conclusion::Pass => {}
        Conclusion::Skipped => eprintln!("SKIPPED {claim}: {}", record.detail),
        Conclusion::Fail(msg) => panic!("{msg}"),
    }
    Observation {
        outcome: record.observed,
        detail: record.detail,
        measured: record.measured,
    }
}

/// The longest a whole check may take before the harness ends the test
/// process: `IPCCONF_CHECK_CEILING` seconds (0 turns it off), default 60 s,
/// thirty times the watchdog's bound on a single blocking step. Every blocking
/// step is bounded by the watchdog already; the ceiling is the backstop for a
/// call nobody thought could block, so that no run can hang.
pub fn ceiling() -> Option<Duration> {
    const DEFAULT: Duration = Duration::from_secs(60);
    match std::env::var("IPCCONF_CHECK_CEILING") {
        Ok(v) => match v.trim().parse::<f64>() {
            Ok(s) if s > 0.0 && s.is_finite() => Some(Duration::from_secs_f64(s)),
            Ok(_) => None,
            Err(_) => Some(DEFAULT),
        },
        Err(_) => Some(DEFAULT),
    }
}

/// Watches one check against the [`ceiling`]: dropping it (the check ended)
/// releases the watcher; if the check is still running at the ceiling, the
/// watcher records `timeout` for the claim and ends the process (exit status
/// 101, as a failed test run), leaving the sweep to remove what the stuck check
/// held.
struct CeilingGuard {
    done: Option<mpsc::Sender<()>>,
}

impl CeilingGuard {
    fn start(claim: &str) -> CeilingGuard {
        let Some(bound) = ceiling() else {
            return CeilingGuard { done: None };
        };
        let (tx, rx) = mpsc::channel::<()>();
        let claim = claim.to_owned();
        let spawned = std::thread::Builder::new()
            .name("ipcconf-ceiling".into())
            .spawn(move || {
                if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(bound) {
                    let obs = Observation::timeout(format!(
                        "the check did not finish within the harness ceiling of {bound:?} (IPCCONF_CHECK_CEILING): a call blocked that no watchdog bounded; the test process was ended so the run cannot hang"
                    ));
                    let ms = bound.as_secs_f64() * 1000.0;
                    let msg = std::panic::catch_unwind(|| match conclude(&claim, obs, ms).1 {
                        Conclusion::Fail(m) => m,
                        _ => format!("claim {claim}: timeout"),
                    })
                    .unwrap_or_else(|_| format!("claim {claim}: timeout (not recorded)"));
                    // Straight to stderr: the test harness captures eprintln! of
                    // test threads, and this process ends now.
                    use std::io::Write;
                    let _ = writeln!(
                        std::io::stderr(),
                        "{msg}\nipcconf: ending the test process: run `cargo ipc-sweep` to remove what the check held"
                    );
                    std::process::exit(101);
                }
            });
        CeilingGuard {
            done: spawned.ok().map(|_| tx),
        }
    }
}

impl Drop for CeilingGuard {
    fn drop(&mut self) {
        if let Some(tx) = self.done.take() {
            let _ = tx.send(());
        }
    }
}

/// Runs the body, turning a panic inside it into an `error` observation.
pub fn observe(
    claim: &str,
    peer_exe: PathBuf,
    body: impl FnOnce(&mut Ctx) -> Checked<Observation>,
) -> (Observation, f64) {
    crate::observe::fault::enter(claim);
    crate::watchdog::timing::enter(claim);
    let ceiling = CeilingGuard::start(claim);
    let mut cx = Ctx::new(claim, peer_exe);
    let start = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| body(&mut cx)));
    let elapsed = start.elapsed().as_secs_f64() * 1000.0;
    drop(cx);
    drop(ceiling);
    crate::observe::fault::leave();
    crate::watchdog::timing::leave();
    let obs = match result {
        Ok(Ok(obs)) | Ok(Err(obs)) => obs,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "non-string panic".to_owned());
            Observation::error(format!("the check panicked: {msg}"))
        }
    };
    (obs, elapsed)
}

/// What a check concludes of its observation against the expectation: the
/// test passes, reports a skip, or fails with the message it panics with.
pub enum Conclusion {
    Pass,
    Skipped,
    Fail(String),
}

impl Conclusion {
    /// The status a result with this conclusion is recorded with.
    pub fn status(&self) -> Status {
        match self {
            Conclusion::Pass => Status::Pass,
            Conclusion::Skipped => Status::Skipped,
            Conclusion::Fail(_) => Status::Fail,
        }
    }
}

/// Records an observation and judges it against the expectation.
pub fn conclude(claim_id: &str, obs: Observation, duration_ms: f64) -> (ResultRecord, Conclusion) {
    let Some(claim) = Catalog::get().claim(claim_id) else {
        panic!(
            "unknown claim id {claim_id:?}: add it to the claims file beside its suite (suites/<suite>.toml) first"
        );
    };
    let run = results::run_info();
    let expected = Expectations::get().resolve(claim, run);
    let conclusion = judge(claim.kind, &obs, &expected);
    let record = ResultRecord {
        claim: ClaimId::new(claim_id).unwrap_or_else(|e| panic!("{e}")),
        observed: obs.outcome,
        expected: expected.clone(),
        doc: claim.doc_on(run.os),
        detail: obs.detail,
        measured: obs.measured,
        duration_ms,
        status: conclusion.status(),
        time: crate::platform::now_rfc3339(),
    };
    if let Err(e) = results::store(&record) {
        panic!(
            "claim {claim_id}: cannot record the result in {}: {e}",
            results::results_dir().display()
        );
    }
    let conclusion = match conclusion {
        Conclusion::Fail(why) => Conclusion::Fail(format!(
            "claim {claim_id}: observed {}, expected {expected} — {why}\n  evidence: {}",
            record.observed, record.detail
        )),
        v => v,
    };
    (record, conclusion)
}

fn judge(kind: Kind, obs: &Observation, expected: &Expected) -> Conclusion {
    if obs.detail.trim().is_empty() {
        return Conclusion::Fail("the observation carries no evidence".into());
    }
    match (obs.outcome, expected.value) {
        (Outcome::Skipped, _) => Conclusion::Skipped,
        (Outcome::Error, _) => Conclusion::Fail("the check could not decide".into()),
        (Outcome::Measured, _) if obs.measured.is_empty() => {
            Conclusion::Fail("a measured observation without a measured value".into())
        }
        (o, Some(e)) if o == e => Conclusion::Pass,
        // A performance verdict is a finding about this machine: the report shows
        // it against the guide with its figures; the test holds the measurement
        // to soundness only (an unsound or hung measurement is error or timeout).
        (Outcome::Yes | Outcome::No | Outcome::Inconclusive, Some(Outcome::Yes | Outcome::No))
            if kind == Kind::Perf =>
        {
            Conclusion::Pass
        }
        (Outcome::Measured, None) => Conclusion::Pass,
        (o @ (Outcome::Yes | Outcome::No | Outcome::Unsupported), None) => {
            if kind == Kind::Fact && o != Outcome::Unsupported {
                Conclusion::Fail("a fact must be measured".into())
            } else {
                Conclusion::Pass
            }
        }
        (_, None) => {
            Conclusion::Fail("no stance is taken, but the observation is not sound".into())
        }
        (_, Some(_)) => Conclusion::Fail("observation differs from expectation".into()),
    }
}

/// The tests every suite has, one line at its top: `ipc_conformance::suite!();`.
/// `claims_this_target_lacks` records `unsupported` for every claim of the
/// suite's claims file (`suites/<crate name>.toml`) whose `requires` this
/// target does not meet (their checks are compiled out); `every_claim_has_a_test`
/// fails when a claim this target meets has no test of its name in the suite,
/// so a claim that a cfg gate or a lost test drops is noticed.
#[macro_export]
macro_rules! suite {
    () => {
        #[test]
        fn claims_this_target_lacks() {
            $crate::check::record_unmet_requirements(env!("CARGO_CRATE_NAME"));
        }

        #[test]
        fn every_claim_has_a_test() {
            $crate::check::assert_every_claim_has_a_test(env!("CARGO_CRATE_NAME"));
        }
    };
}

/// A claim whose `requires` this target does not meet, observed: `unsupported`
/// with what is missing; `None` when the target meets it.
pub fn unmet_requirement(claim: &crate::catalog::Claim) -> Option<Observation> {
    claim
        .requires
        .unmet()
        .map(|missing| Observation::no_api_because(format!("the claim requires {missing}")))
}

fn suite_claims(suite: &str) -> Vec<&'static crate::catalog::Claim> {
    let claims: Vec<_> = Catalog::get()
        .claims()
        .iter()
        .filter(|c| c.suite == suite)
        .collect();
    assert!(
        !claims.is_empty(),
        "no claims file suites/{suite}.toml in the catalog (or it has no claim)"
    );
    claims
}

/// Records `unsupported`, without running anything, for every claim of
/// `suites/<suite>.toml` whose `requires` this target does not meet; panics
/// after recording them all when any departs from its expectation.
pub fn record_unmet_requirements(suite: &str) {
    let mut failures = Vec::new();
    for claim in suite_claims(suite) {
        let Some(obs) = unmet_requirement(claim) else {
            continue;
        };
        match conclude(&claim.id, obs, 0.0).1 {
            Conclusion::Pass | Conclusion::Skipped => {}
            Conclusion::Fail(msg) => failures.push(msg),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Whether a test of this name checks the claim: one of the name's `::`
/// segments is the claim's property, the whole id with `_` for `.`
/// (`memfd_available`), or an rstest case of the property (`case_3_property`).
pub fn test_name_covers(test: &str, claim: &crate::catalog::Claim) -> bool {
    let property = claim.property();
    let id = claim.id.replace('.', "_");
    test.split("::").any(|seg| {
        seg == property
            || seg == id
            || seg
                .strip_suffix(property)
                .is_some_and(|head| head.ends_with('_') && head.starts_with("case_"))
    })
}

/// Lists the tests of this test binary (`--list`) and fails for every claim
/// of `suites/<suite>.toml` this target meets that no test is named after.
pub fn assert_every_claim_has_a_test(suite: &str) {
    let exe = std::env::current_exe().expect("the path of this test binary");
    let out = std::process::Command::new(&exe)
        .args(["--list", "--format", "terse"])
        .env_remove("RUST_TEST_THREADS")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{} --list: {e}", exe.display()));
    assert!(
        out.status.success(),
        "{} --list: {}",
        exe.display(),
        out.status
    );
    let listing = String::from_utf8_lossy(&out.stdout);
    let tests: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .collect();
    let lost: Vec<&str> = suite_claims(suite)
        .into_iter()
        .filter(|c| c.requires.met())
        .filter(|c| !tests.iter().any(|t| test_name_covers(t, c)))
        .map(|c| c.id.as_str())
        .collect();
    assert!(
        lost.is_empty(),
        "claims of suites/{suite}.toml that {} meets but no test of this suite checks (each needs a test named after its property, or a `requires` this target lacks): {lost:?}",
        crate::sys::TARGET
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_names_cover_their_claims_only() {
        let cat = Catalog::get();
        let claim = |id: &str| cat.claim(id).expect("a catalogued claim");
        let fifo = claim("fifo.named_by_path");
        assert!(test_name_covers("behaviour::named_by_path", fifo));
        assert!(!test_name_covers("behaviour::named_by_path_too", fifo));
        let matrix = claim("fifo.bidirectional");
        assert!(test_name_covers(
            "matrix::property::case_3_bidirectional",
            matrix
        ));
        assert!(!test_name_covers(
            "matrix::property::case_3_unidirectional",
            matrix
        ));
        assert!(!test_name_covers("matrix::not_bidirectional", matrix));
        let memfd = claim("memfd.available");
        assert!(test_name_covers("memfd_available", memfd));
        assert!(!test_name_covers("pidfd_available", memfd));
    }

    /// Every claim the catalog gives a requirement this target lacks is
    /// recorded by the unmet path with the requirement named, and no other is.
    #[test]
    fn unmet_requirements_name_the_target_and_the_requirement() {
        for claim in Catalog::get().claims() {
            match unmet_requirement(claim) {
                Some(obs) => {
                    assert!(!claim.requires.met(), "{}", claim.id);
                    assert_eq!(obs.outcome, Outcome::Unsupported);
                    assert!(
                        obs.detail.starts_with(&format!(
                            "no API on {}: the claim requires ",
                            crate::sys::TARGET
                        )),
                        "{}",
                        obs.detail
                    );
                }
                None => assert!(claim.requires.met(), "{}", claim.id),
            }
        }
    }
}
