//! What a check saw: an outcome with the evidence that decided it.

use std::fmt;
use std::io;

use serde::{Deserialize, Serialize};

/// The value of an observation: what a check saw (the vocabulary README.md lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Yes,
    No,
    /// The API is absent: at compile time ("no API on TARGET") or at run time (errno).
    Unsupported,
    /// A precondition this machine lacks (not root, a sysctl): never a pass.
    Skipped,
    /// The check itself could not decide (an unexpected failure).
    Error,
    /// A blocking call did not return within the watchdog's bound.
    Timeout,
    /// A measured value, carried in `measured` (facts, figures).
    Measured,
    /// A performance verdict whose confidence interval straddles its
    /// threshold: the measurement was sound, but decides neither way.
    Inconclusive,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Yes => "yes",
            Outcome::No => "no",
            Outcome::Unsupported => "unsupported",
            Outcome::Skipped => "skipped",
            Outcome::Error => "error",
            Outcome::Timeout => "timeout",
            Outcome::Measured => "measured",
            Outcome::Inconclusive => "inconclusive",
        }
    }

    /// Every observed value, in the order the documentation lists them.
    pub const ALL: [Outcome; 8] = [
        Outcome::Yes,
        Outcome::No,
        Outcome::Unsupported,
        Outcome::Skipped,
        Outcome::Error,
        Outcome::Timeout,
        Outcome::Measured,
        Outcome::Inconclusive,
    ];

    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One measured quantity: `pipe_buf = 4096 bytes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantity {
    pub name: String,
    pub value: f64,
    pub unit: String,
}

/// What a check saw, and why it says so.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub outcome: Outcome,
    /// The evidence that decided the outcome: errno, bytes, counts, numbers.
    pub detail: String,
    pub measured: Vec<Quantity>,
}

impl Observation {
    pub fn new(outcome: Outcome, detail: impl Into<String>) -> Self {
        Observation {
            outcome,
            detail: detail.into(),
            measured: Vec::new(),
        }
    }

    pub fn yes(detail: impl Into<String>) -> Self {
        Self::new(Outcome::Yes, detail)
    }

    pub fn no(detail: impl Into<String>) -> Self {
        Self::new(Outcome::No, detail)
    }

    /// `yes` when `holds`, else `no`, with the same evidence either way.
    pub fn holds(holds: bool, detail: impl Into<String>) -> Self {
        Self::new(if holds { Outcome::Yes } else { Outcome::No }, detail)
    }

    pub fn unsupported(detail: impl Into<String>) -> Self {
        Self::new(Outcome::Unsupported, detail)
    }

    /// The API does not exist for the target this binary was compiled for.
    pub fn no_api() -> Self {
        Self::unsupported(format!("no API on {}", crate::sys::TARGET))
    }

    /// `unsupported`: "no API on `<target>`: `<why>`".
    pub fn no_api_because(why: impl std::fmt::Display) -> Self {
        Self::unsupported(format!("no API on {}: {why}", crate::sys::TARGET))
    }

    pub fn skipped(reason: impl Into<String>) -> Self {
        Self::new(Outcome::Skipped, reason)
    }

    pub fn error(detail: impl Into<String>) -> Self {
        Self::new(Outcome::Error, detail)
    }

    pub fn timeout(detail: impl Into<String>) -> Self {
        Self::new(Outcome::Timeout, detail)
    }

    pub fn measured(detail: impl Into<String>) -> Self {
        Self::new(Outcome::Measured, detail)
    }

    /// A verdict the measurement could not decide (its interval straddles
    /// the threshold).
    pub fn inconclusive(detail: impl Into<String>) -> Self {
        Self::new(Outcome::Inconclusive, detail)
    }

    /// Adds a measured quantity to the evidence.
    pub fn with(mut self, name: &str, value: f64, unit: &str) -> Self {
        self.measured.push(Quantity {
            name: name.to_owned(),
            value,
            unit: unit.to_owned(),
        });
        self
    }

    /// Classifies a failed system call per CONTRIBUTING.md rule 6: ENOSYS and friends mean the
    /// facility is absent at run time (`unsupported`, with the errno); a failure a
    /// wrapper diagnosed as a precondition the machine lacks (a read-only
    /// /dev/shm, lowered fs.mqueue limits: [`crate::precondition`]) is `skipped`
    /// with that reason; anything else is an `error` of the check.
    pub fn from_io_error(what: &str, err: &io::Error) -> Self {
        let detail = format!("{what}: {}", describe_io_error(err));
        if crate::precondition::lacking(err).is_some() {
            Self::skipped(detail)
        } else if is_absent_at_run_time(err) {
            Self::unsupported(detail)
        } else {
            Self::error(detail)
        }
    }
}

pub use crate::sys::{describe_io_error, is_absent_at_run_time};

/// "ok", or the error of a failed call described as [`describe_io_error`] does.
pub fn describe_result<T>(result: &std::io::Result<T>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(e) => describe_io_error(e),
    }
}

/// Shorthand for checks: `Err(observation)` ends the check with that observation.
pub type Checked<T> = Result<T, Observation>;

/// Turns an io::Result into a check step: on failure the check ends with an
/// `unsupported` or `error` observation naming the step.
pub trait Step<T> {
    fn step(self, what: &str) -> Checked<T>;
}

impl<T> Step<T> for io::Result<T> {
    fn step(self, what: &str) -> Checked<T> {
        fault::point(what);
        self.map_err(|e| Observation::from_io_error(what, &e))
    }
}

#[cfg(unix)]
impl<T> Step<T> for nix::Result<T> {
    fn step(self, what: &str) -> Checked<T> {
        fault::point(what);
        self.map_err(|e| Observation::from_io_error(what, &io::Error::from(e)))
    }
}

/// Fault injection, keyed by the claim the current thread is checking.
pub mod fault {
    thread_local! {
        /// The claim this thread is checking, and how many steps it has taken.
        static CURRENT: std::cell::RefCell<(String, u32)> = const { std::cell::RefCell::new((String::new(), 0)) };
    }

    /// Fault injection for the cleanup tests: with `IPCCONF_INJECT_PANIC` set to a
    /// claim-id prefix (or `all`), every matching check panics at its second step,
    /// while the objects of its first step are alive. Every guard must still remove
    /// what the check made. Called by [`super::Step`].
    pub fn point(what: &str) {
        let Some(target) = std::env::var_os("IPCCONF_INJECT_PANIC") else {
            return;
        };
        let target = target.to_string_lossy();
        let hit = CURRENT.with(|c| {
            let mut c = c.borrow_mut();
            if c.0.is_empty() || !(target == "all" || c.0.starts_with(target.as_ref())) {
                return false;
            }
            c.1 += 1;
            c.1 == 2
        });
        if hit {
            panic!("injected panic (IPCCONF_INJECT_PANIC) at step {what:?}");
        }
    }

    /// The harness starts checking `claim` on this thread.
    pub fn enter(claim: &str) {
        CURRENT.with(|c| *c.borrow_mut() = (claim.to_owned(), 0));
    }

    /// The check on this thread ended.
    pub fn leave() {
        CURRENT.with(|c| c.borrow_mut().0.clear());
    }
}

/// For a failure a peer reported (its own shm_open or sem_open): `skipped` with
/// the reason when /dev/shm is unusable, else the observation unchanged.
pub fn shm_dir_observation(obs: Observation) -> Observation {
    match crate::precondition::shm_dir_unusable() {
        Some(reason) if obs.outcome == Outcome::Error => Observation::skipped(format!(
            "{}; {reason}: POSIX shared memory and named semaphores need a writable tmpfs there",
            obs.detail
        )),
        _ => obs,
    }
}
