//! Signals on Windows: the C runtime's `signal()` and `raise()`, and whether any
//! signal can reach another process.
//!
//! "Windows has a completely different signal model; only SIGINT, SIGTERM, etc.
//! in very limited form." What is observed, always in peer processes (handlers
//! are process-global state):
//! - which signal numbers `signal()` accepts (the CRT the target links: UCRT for
//!   msvc, msvcrt.dll for gnu);
//! - what `raise()` does: runs the handler synchronously on the raising thread,
//!   resets the disposition, and what the default action does;
//! - that there is no call addressing a signal to another process; the only
//!   route from outside into a CRT handler is a console control event
//!   (`GenerateConsoleCtrlEvent`, CTRL_BREAK_EVENT → SIGBREAK) to a process group
//!   sharing this process's console, which the check tries and records.

use std::ffi::c_int;
use std::io::BufRead;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use crate::check::Ctx;
use crate::observe::{Checked, Observation};
use crate::peer::wire::{ProtocolError, WireLine, bad, keyed, num};
use crate::watchdog::BOUND;

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

/// A command to the `win-crt-receiver` peer: `status`, `wait <ms>` (until a
/// handler ran, at most `ms`), `quit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiverCommand {
    Status,
    Wait { ms: u64 },
    Quit,
}

impl std::fmt::Display for ReceiverCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReceiverCommand::Status => f.write_str("status"),
            ReceiverCommand::Wait { ms } => write!(f, "wait {ms}"),
            ReceiverCommand::Quit => f.write_str("quit"),
        }
    }
}

impl WireLine for ReceiverCommand {
    fn from_line(line: &str) -> Result<Self, ProtocolError> {
        match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["status"] => Ok(ReceiverCommand::Status),
            ["wait", ms] => num(ms, "ms").map(|ms| ReceiverCommand::Wait { ms }),
            ["quit"] => Ok(ReceiverCommand::Quit),
            _ => Err("unknown command".to_owned()),
        }
        .map_err(|reason| bad("a win-crt-receiver command", line, reason))
    }
}

/// The receiver's answer: `got int=<n> break=<n> term=<n>`, the handler calls
/// seen per signal, or `err 0 <text>` for a line that is not a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiverAnswer {
    Got { int: u32, brk: u32, term: u32 },
    Err(String),
}

impl std::fmt::Display for ReceiverAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReceiverAnswer::Got { int, brk, term } => {
                write!(f, "got int={int} break={brk} term={term}")
            }
            ReceiverAnswer::Err(text) => write!(f, "err 0 {text}"),
        }
    }
}

impl WireLine for ReceiverAnswer {
    fn from_line(line: &str) -> Result<Self, ProtocolError> {
        let field = |w: &str, key: &str| num(keyed(w, key)?, key);
        match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["got", int, brk, term] => (|| {
                Ok(ReceiverAnswer::Got {
                    int: field(int, "int")?,
                    brk: field(brk, "break")?,
                    term: field(term, "term")?,
                })
            })(),
            ["err", "0", ..] => Ok(ReceiverAnswer::Err(
                line.splitn(3, ' ').nth(2).unwrap_or("").to_owned(),
            )),
            _ => Err("unknown answer".to_owned()),
        }
        .map_err(|reason| bad("a win-crt-receiver answer", line, reason))
    }
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
            Err(e) => println!("{}", ReceiverAnswer::Err(e.to_string())),
        }
    }
    Ok(())
}

/// `signal.available` on Windows: there is no call that sends a signal to another
/// process, so the mechanism the guide means is absent (`unsupported`); the
/// evidence is what the C runtime does offer, observed in peers.
pub fn available(cx: &mut Ctx) -> Checked<Observation> {
    let mut p = cx.peer(&["win-crt-signals"]).spawn()?;
    let probe = p.line(BOUND)?;
    let (status, _) = p.finish()?;
    if !probe.starts_with("crt ") {
        return Ok(Observation::error(format!(
            "the probe peer answered {probe:?} ({status})"
        )));
    }
    let mut d = cx
        .peer(&["win-crt-raise-default", &SIGTERM.to_string()])
        .spawn()?;
    let said = d.line(BOUND);
    let (dstatus, _) = d.finish()?;
    let default_text = match (said, dstatus.code()) {
        (Ok(line), Some(code)) => format!("raise returned ({line}) and the process exited {code}"),
        (Err(_), Some(code)) => {
            format!("the process ended inside raise() with exit code {code}")
        }
        (_, None) => "the process ended without an exit code".to_owned(),
    };
    Ok(Observation::unsupported(format!(
        "no API on {} to send a signal to another process (no kill(), sigqueue()); the C runtime only: {}; raise(SIGTERM) at SIG_DFL: {default_text}",
        crate::platform::TARGET,
        probe.trim()
    )))
}

/// `signal.unrelated_processes` on Windows: no kill(pid, sig); the one route into
/// another process's CRT handler, a console CTRL_BREAK_EVENT to its process group,
/// is tried on a peer started in a new process group, and recorded.
pub fn unrelated_processes(cx: &mut Ctx) -> Checked<Observation> {
    use std::os::windows::process::CommandExt;
    use windows_sys::Win32::System::Console::{CTRL_BREAK_EVENT, GenerateConsoleCtrlEvent};
    use windows_sys::Win32::System::Threading::CREATE_NEW_PROCESS_GROUP;
    let mut cmd = cx.peer(&["win-crt-receiver"]);
    cmd.command().creation_flags(CREATE_NEW_PROCESS_GROUP);
    let mut peer = cmd.spawn()?;
    let ready = peer.line(BOUND)?;
    if !ready.starts_with("ready") {
        return Ok(Observation::error(format!("receiver peer: {ready}")));
    }
    // SAFETY: the group id is the peer's pid; the peer was started with
    // CREATE_NEW_PROCESS_GROUP, so the event goes to that group alone.
    let sent = super::cvt(unsafe { GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, peer.pid()) });
    let sent_text = match &sent {
        Ok(()) => "succeeded".to_owned(),
        Err(e) => format!(
            "failed with {}",
            super::describe_code(e.raw_os_error().unwrap_or(0) as u32)
        ),
    };
    // The console delivers the event on a new thread of the receiver, which
    // wakes the receiver's `wait` (bounded).
    let (command, bound) = if sent.is_ok() {
        let ms = u64::try_from(BOUND.as_millis()).unwrap_or(u64::MAX);
        (ReceiverCommand::Wait { ms }, BOUND * 2)
    } else {
        (ReceiverCommand::Status, BOUND)
    };
    let status = peer
        .exchange::<ReceiverAnswer>(&command, bound)?
        .to_string();
    Ok(Observation::unsupported(format!(
        "no API on {} to address a signal to a pid (no kill()); receiver peer (pid {}, new process group) installed CRT handlers ({}); GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, {}) {sent_text}; the receiver then reported {status:?}",
        crate::platform::TARGET,
        peer.pid(),
        ready.split_whitespace().nth(2).unwrap_or(""),
        peer.pid()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::wire::testing::{refused, round_trip};

    #[test]
    fn receiver_protocol_round_trips() {
        for c in [
            ReceiverCommand::Status,
            ReceiverCommand::Wait { ms: 2000 },
            ReceiverCommand::Quit,
        ] {
            round_trip(c);
        }
        round_trip(ReceiverAnswer::Got {
            int: 0,
            brk: 1,
            term: 0,
        });
        round_trip(ReceiverAnswer::Err("not a command".into()));
        refused::<ReceiverCommand>(&["", "wait", "wait x", "stat"]);
        refused::<ReceiverAnswer>(&["", "got int=1", "got int=x break=0 term=0"]);
    }
}
