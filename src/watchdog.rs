//! Bounded waiting: a blocking call either returns within the bound or the check
//! records `timeout`. Nothing here sleeps to synchronize; the bound only caps how
//! long a hang can last. [`timing`] tells how close the waits came to it.

use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The longest any single blocking step of a check may take (CONTRIBUTING.md rule 4).
pub const BOUND: Duration = Duration::from_secs(2);

/// Runs `f` on its own thread and waits at most `bound` for it. On timeout the
/// thread is left blocked (it holds only what `f` captured) and `None` is returned;
/// callers turn that into a `timeout` observation and release what `f` waits on
/// (kill the peer, close the descriptor) so the thread can end.
#[track_caller]
pub fn bounded<T: Send + 'static>(
    bound: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    std::thread::Builder::new()
        .name("ipcconf-watchdog".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .ok()?;
    let r = rx.recv_timeout(bound).ok();
    timing::waited("a call bounded by the watchdog", start.elapsed(), bound);
    r
}

/// How long the bounded waits of a run took, for `ci/reliability.sh`, which
/// asks how close a slow or busy machine brings a step to its bound: with
/// `IPCCONF_STEP_TIMES` naming a directory, every wait timed here appends a
/// line `<claim> <TAB> <file:line> <TAB> <what> <TAB> <ms> <TAB> <bound ms>`
/// to `steps-<pid>.tsv` there. Timed: a peer's answer (`crate::peer`), a call
/// bounded by [`bounded`], a wait for a peer to block (`crate::procstate`);
/// the place is the check's call (`#[track_caller]`). Without the variable
/// nothing is written; waits a check makes with its own timeout (poll,
/// sem_timedwait) are not timed.
pub mod timing {
    use std::cell::RefCell;
    use std::io::Write;
    use std::panic::Location;
    use std::sync::{Mutex, OnceLock};
    use std::time::Duration;

    thread_local! {
        /// The claim this thread is checking (empty: none).
        static CLAIM: RefCell<String> = const { RefCell::new(String::new()) };
    }

    /// The harness starts checking `claim` on this thread.
    pub fn enter(claim: &str) {
        CLAIM.with(|c| *c.borrow_mut() = claim.to_owned());
    }

    /// The check on this thread ended.
    pub fn leave() {
        CLAIM.with(|c| c.borrow_mut().clear());
    }

    fn log() -> Option<&'static Mutex<std::fs::File>> {
        static LOG: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
        LOG.get_or_init(|| {
            let dir = std::path::PathBuf::from(std::env::var_os("IPCCONF_STEP_TIMES")?);
            std::fs::create_dir_all(&dir).ok()?;
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(format!("steps-{}.tsv", std::process::id())))
                .ok()
                .map(Mutex::new)
        })
        .as_ref()
    }

    /// A bounded wait of the check's call at the caller's place took `took`.
    #[track_caller]
    pub fn waited(what: &str, took: Duration, bound: Duration) {
        let Some(log) = log() else {
            return;
        };
        let at = Location::caller();
        let claim = CLAIM.with(|c| c.borrow().clone());
        let claim = if claim.is_empty() {
            std::thread::current().name().unwrap_or("?").to_owned()
        } else {
            claim
        };
        let line = format!(
            "{claim}\t{}:{}\t{}\t{:.3}\t{}\n",
            at.file(),
            at.line(),
            what.replace(['\t', '\n'], " "),
            took.as_secs_f64() * 1000.0,
            bound.as_millis()
        );
        let mut f = log.lock().unwrap_or_else(|e| e.into_inner());
        let _ = f.write_all(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_value_within_bound() {
        assert_eq!(bounded(BOUND, || 7), Some(7));
    }

    #[test]
    fn turns_a_hang_into_none() {
        let (_keep, rx) = mpsc::channel::<()>();
        let start = std::time::Instant::now();
        let r = bounded(Duration::from_millis(50), move || rx.recv().ok());
        assert_eq!(r, None);
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
