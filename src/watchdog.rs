//! Bounded waiting: a blocking call either returns within the bound or the check
//! records `timeout`. Nothing here sleeps to synchronize; the bound only caps how
//! long a hang can last.

use std::sync::mpsc;
use std::time::Duration;

/// The longest any single blocking step of a check may take (CONTRIBUTING.md rule 4).
pub const BOUND: Duration = Duration::from_secs(2);

/// Runs `f` on its own thread and waits at most `bound` for it. On timeout the
/// thread is left blocked (it holds only what `f` captured) and `None` is returned;
/// callers turn that into a `timeout` observation and release what `f` waits on
/// (kill the peer, close the descriptor) so the thread can end.
pub fn bounded<T: Send + 'static>(
    bound: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("ipcconf-watchdog".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .ok()?;
    rx.recv_timeout(bound).ok()
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
