//! Signals on Windows: the observations of the `signal.*` claims a Windows build
//! checks, included by suites/signal.rs, whose tests call them as
//! `os::<property>`. "Windows has a completely different signal model; only
//! SIGINT, SIGTERM, etc. in very limited form": no call addresses a signal to
//! another process, so both claims are `unsupported`, with what the C runtime
//! does offer as the evidence, observed in peer processes (handlers are
//! process-global state; the roles are `mech::windows::crt_signal`'s):
//! - which signal numbers `signal()` accepts (the CRT the target links: UCRT for
//!   msvc, msvcrt.dll for gnu), what `raise()` does with a handler and at
//!   SIG_DFL;
//! - the one route from outside into a CRT handler, a console CTRL_BREAK_EVENT
//!   to a process group sharing this console, tried and recorded.

use ipc_conformance::check::Ctx;
use ipc_conformance::mech::windows::protocol::{ReceiverAnswer, ReceiverCommand};
use ipc_conformance::mech::windows::{crt_signal, describe_code};
use ipc_conformance::watchdog::BOUND;
use ipc_conformance::{Checked, Observation};

/// There is no call that sends a signal to another process, so the mechanism
/// the guide means is absent (`unsupported`); the evidence is what the C
/// runtime does offer, observed in peers.
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
        .peer(&["win-crt-raise-default", &crt_signal::SIGTERM.to_string()])
        .spawn()?;
    let said = d.line(BOUND);
    let (dstatus, _) = d.finish()?;
    let default_text = match (said, dstatus.code()) {
        (Ok(line), Some(code)) => {
            format!("raise returned ({line}) and the process exited {code}")
        }
        (Err(_), Some(code)) => {
            format!("the process ended inside raise() with exit code {code}")
        }
        (_, None) => "the process ended without an exit code".to_owned(),
    };
    Ok(Observation::unsupported(format!(
        "no API on {} to send a signal to another process (no kill(), sigqueue()); the C runtime only: {}; raise(SIGTERM) at SIG_DFL: {default_text}",
        ipc_conformance::platform::TARGET,
        probe.trim()
    )))
}

/// No kill(pid, sig); the one route into another process's CRT handler, a
/// console CTRL_BREAK_EVENT to its process group, is tried on a peer started in
/// a new process group, and recorded.
pub fn unrelated_processes(cx: &mut Ctx) -> Checked<Observation> {
    use std::os::windows::process::CommandExt;
    use windows_sys::Win32::System::Threading::CREATE_NEW_PROCESS_GROUP;
    let mut cmd = cx.peer(&["win-crt-receiver"]);
    cmd.command().creation_flags(CREATE_NEW_PROCESS_GROUP);
    let mut peer = cmd.spawn()?;
    let ready = peer.line(BOUND)?;
    if !ready.starts_with("ready") {
        return Ok(Observation::error(format!("receiver peer: {ready}")));
    }
    // The peer was started with CREATE_NEW_PROCESS_GROUP: its pid is its group.
    let sent = crt_signal::send_ctrl_break(peer.pid());
    let sent_text = match &sent {
        Ok(()) => "succeeded".to_owned(),
        Err(e) => format!(
            "failed with {}",
            describe_code(e.raw_os_error().unwrap_or(0) as u32)
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
        ipc_conformance::platform::TARGET,
        peer.pid(),
        ready.split_whitespace().nth(2).unwrap_or(""),
        peer.pid()
    )))
}
