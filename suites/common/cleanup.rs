//! Shared by the suites that prove their guards: a check that panics on purpose
//! while it holds named objects, and what it held, for the test to look for
//! afterwards.

use std::sync::{Arc, Mutex};

use ipc_conformance::check::Ctx;
use ipc_conformance::{Checked, Observation, Outcome};

/// Where the check leaves what it held before it panics.
pub struct Held<T>(Arc<Mutex<Option<T>>>);

impl<T> Held<T> {
    pub fn set(&self, what: T) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(what);
    }
}

/// Runs `body` as the check of `claim`; the body creates objects, says what
/// it holds with [`Held::set`] and panics with a message that says "deliberate
/// panic". Returns what it held, once the harness has turned the panic into an
/// `error` observation and the check's guards have gone; `None` (said on
/// stderr) when a precondition the machine lacks ended the check first
/// (`skipped` or `unsupported`).
pub fn held_by_a_panicking_check<T>(
    claim: &str,
    body: impl FnOnce(&mut Ctx, &Held<T>) -> Checked<Observation>,
) -> Option<T> {
    let held = Held(Arc::new(Mutex::new(None)));
    let (obs, _) = ipc_conformance::check::observe(
        claim,
        std::path::PathBuf::from(env!("CARGO_BIN_EXE_ipcconf-peer")),
        |cx| body(cx, &held),
    );
    if matches!(obs.outcome, Outcome::Skipped | Outcome::Unsupported) {
        eprintln!("SKIPPED the cleanup test of {claim}: {}", obs.detail);
        return None;
    }
    assert_eq!(obs.outcome, Outcome::Error, "{}", obs.detail);
    assert!(obs.detail.contains("deliberate panic"), "{}", obs.detail);
    let what = held.0.lock().unwrap_or_else(|e| e.into_inner()).take();
    Some(what.expect("the check did not get as far as the panic"))
}
