//! Signals on Windows: the C runtime's `signal()` and `raise()`, the peer roles
//! that call them (handlers are process-global state, so only peers do), the
//! `win-crt-receiver` line protocol, and the console route into another
//! process's handler. The signal suite's Windows checks (suites/signal/windows.rs)
//! drive them.
//!
//! "Windows has a completely different signal model; only SIGINT, SIGTERM, etc.
//! in very limited form." What the roles report:
//! - which signal numbers `signal()` accepts (the CRT the target links: UCRT for
//!   msvc, msvcrt.dll for gnu);
//! - what `raise()` does: runs the handler synchronously on the raising thread,
//!   resets the disposition, and what the default action does;
//! - which handlers ran in a receiver, where the only route from outside is a
//!   console control event (`GenerateConsoleCtrlEvent`, CTRL_BREAK_EVENT →
//!   SIGBREAK, [`send_ctrl_break`]) to a process group sharing this console:
//!   there is no call addressing a signal to another process.

use std::ffi::c_int;
use std::io::BufRead;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use super::protocol::{ReceiverAnswer, ReceiverCommand};
use crate::peer::wire::WireLine;

pub const SIG_DFL: usize = 0;
pub const SIG_ERR: usize = usize::MAX;

pub const SIGINT: c_int = 2;
pub const SIGTERM: c_int = 15;
pub const SIGBREAK: c_int = 21;
pub const SIGABRT: c_int = 22;

unsafe extern "C" {
    fn signal(sig: c_int, handler: usize) -> usize;
    fn raise(sig: c_int) -> c_int;
    fn _errno() -> *mut c_int;
}

/// Handler calls seen, per signal number (0..32), and the thread that ran the last.
static SEEN: [AtomicU32; 32] = [const { AtomicU32::new(0) }; 32];
static HANDLER_THREAD: AtomicUsize = AtomicUsize::new(0);
/// The receiver's command thread, woken by the handler.
static WAITER: std::sync::OnceLock<std::thread::Thread> = std::sync::OnceLock::new();

extern "C" fn record(sig: c_int) {
    if let Some(c) = usize::try_from(sig).ok().and_then(|i| SEEN.get(i)) {
        c.fetch_add(1, Ordering::SeqCst);
    }
    // SAFETY: GetCurrentThreadId has no preconditions.
    let tid = unsafe { windows_sys::Win32::System::Threading::GetCurrentThreadId() };
    HANDLER_THREAD.store(tid as usize, Ordering::SeqCst);
    if let Some(t) = WAITER.get() {
        t.unpark();
    }
}

fn record_handler() -> usize {
    record as extern "C" fn(c_int) as usize
}

fn errno() -> c_int {
    // SAFETY: _errno returns a pointer to this thread's errno.
    unsafe { *_errno() }
}

/// Calls `signal(sig, handler)` and describes the result (`accepted` or
/// `SIG_ERR, errno N`). Only for peer processes: it changes process-global state.
pub fn try_signal(sig: c_int, handler: usize) -> String {
    // SAFETY: `handler` is SIG_DFL, SIG_IGN or an extern "C" fn(c_int); the CRT
    // validates `sig` itself and answers SIG_ERR for numbers it does not know.
    let prev = unsafe { signal(sig, handler) };
    if prev == SIG_ERR {
        format!("SIG_ERR (errno {})", errno())
    } else {
        "accepted".to_owned()
    }
}

/// Peer roles:
/// - `win-crt-signals`: probes signal() for 1..=31 and raise() for SIGINT,
///   SIGTERM, SIGBREAK and SIGABRT with a handler installed; prints one
///   `crt accepted=<list> rejected=<list> raise=<results>` line;
/// - `win-crt-raise-default <sig>`: raise(sig) at SIG_DFL; prints `returned <rc>`
///   if the process survives;
/// - `win-crt-receiver`: installs handlers for SIGINT, SIGBREAK and SIGTERM, prints
///   `ready <pid> <installed>`, answers `status` and `wait <ms>` with
///   `got int=N break=N term=N` ([`ReceiverCommand`], [`ReceiverAnswer`]).
pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
    match (role, args) {
        ("win-crt-signals", []) => Some(probe_signals()),
        ("win-crt-raise-default", [sig]) => Some((|| {
            let sig: c_int = sig.parse().map_err(|_| format!("bad signal {sig:?}"))?;
            // SAFETY: raising a signal the CRT accepts, at its default disposition:
            // the observation is what the CRT does (it may end this process).
            let rc = unsafe { raise(sig) };
            println!("returned {rc}");
            Ok(())
        })()),
        ("win-crt-receiver", []) => Some(receiver()),
        _ => None,
    }
}

fn probe_signals() -> Result<(), String> {
    let mut accepted = Vec::new();
    // Refused numbers, grouped by what signal() answered (SIG_ERR and errno).
    let mut rejected: Vec<(String, Vec<String>)> = Vec::new();
    for sig in 1..32 {
        let r = try_signal(sig, record_handler());
        if r == "accepted" {
            accepted.push(sig.to_string());
        } else {
            match rejected.iter_mut().find(|(why, _)| *why == r) {
                Some((_, sigs)) => sigs.push(sig.to_string()),
                None => rejected.push((r, vec![sig.to_string()])),
            }
        }
    }
    let rejected: Vec<String> = rejected
        .into_iter()
        .map(|(why, sigs)| format!("{}:{}", sigs.join(","), why.replace(' ', "")))
        .collect();
    let mut raised = Vec::new();
    for (sig, name) in [
        (SIGINT, "SIGINT"),
        (SIGTERM, "SIGTERM"),
        (SIGBREAK, "SIGBREAK"),
        (SIGABRT, "SIGABRT"),
    ] {
        if try_signal(sig, record_handler()) != "accepted" {
            raised.push(format!("{name}:no-handler"));
            continue;
        }
        let before = SEEN[sig as usize].load(Ordering::SeqCst);
        // SAFETY: a handler is installed for `sig` (just above), so the CRT calls it.
        let tid = unsafe { windows_sys::Win32::System::Threading::GetCurrentThreadId() } as usize;
        // SAFETY: as above.
        let rc = unsafe { raise(sig) };
        let ran = SEEN[sig as usize].load(Ordering::SeqCst) - before;
        let same_thread = HANDLER_THREAD.load(Ordering::SeqCst) == tid;
        // What is installed now: signal() returns the previous disposition.
        // SAFETY: as in try_signal.
        let now = unsafe { signal(sig, SIG_DFL) };
        let after = match now {
            SIG_DFL => "reset-to-SIG_DFL".to_owned(),
            SIG_ERR => "SIG_ERR".to_owned(),
            h if h == record_handler() => "handler-kept".to_owned(),
            other => format!("{other:#x}"),
        };
        raised.push(format!(
            "{name}:rc={rc},handler-ran-{ran}-times-before-return,same-thread={same_thread},{after}"
        ));
    }
    println!(
        "crt signal() accepted={} rejected={} raise={}",
        accepted.join(","),
        rejected.join(" "),
        raised.join(";")
    );
    Ok(())
}

fn status() -> ReceiverAnswer {
    ReceiverAnswer::Got {
        int: SEEN[SIGINT as usize].load(Ordering::SeqCst),
        brk: SEEN[SIGBREAK as usize].load(Ordering::SeqCst),
        term: SEEN[SIGTERM as usize].load(Ordering::SeqCst),
    }
}

fn receiver() -> Result<(), String> {
    let _ = WAITER.set(std::thread::current());
    let mut installed = Vec::new();
    for (sig, name) in [
        (SIGINT, "SIGINT"),
        (SIGBREAK, "SIGBREAK"),
        (SIGTERM, "SIGTERM"),
    ] {
        installed.push(format!(
            "{name}:{}",
            try_signal(sig, record_handler()).replace(' ', "")
        ));
    }
    println!("ready {} {}", std::process::id(), installed.join(","));
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        match ReceiverCommand::from_line(&line) {
            Ok(ReceiverCommand::Quit) => return Ok(()),
            Ok(ReceiverCommand::Status) => println!("{}", status()),
            Ok(ReceiverCommand::Wait { ms }) => {
                let deadline = std::time::Instant::now() + std::time::Duration::from_millis(ms);
                let seen = || {
                    [SIGINT, SIGBREAK, SIGTERM]
                        .iter()
                        .any(|s| SEEN[*s as usize].load(Ordering::SeqCst) > 0)
                };
                while !seen() {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    std::thread::park_timeout(left);
                }
                println!("{}", status());
            }
            Err(e) => println!(
                "{}",
                ReceiverAnswer::Err {
                    errno: 0,
                    text: e.to_string()
                }
            ),
        }
    }
    Ok(())
}

/// `GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, group)`: a CTRL+BREAK to the
/// console process group `group`, the one route from outside into another
/// process's CRT handler (SIGBREAK). `group` is the pid of a process started
/// with CREATE_NEW_PROCESS_GROUP, so the event reaches that group alone.
pub fn send_ctrl_break(group: u32) -> std::io::Result<()> {
    use windows_sys::Win32::System::Console::{CTRL_BREAK_EVENT, GenerateConsoleCtrlEvent};
    // SAFETY: plain arguments; the call sends a console event to the group and
    // touches no memory of this process.
    super::cvt(unsafe { GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, group) })
}
