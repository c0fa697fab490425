//! The matrix properties whose Unix form needs poll() or SCM_RIGHTS, observed the
//! way Windows offers them:
//! - pollable: `WSAPoll` (Winsock's poll) on the receiving end, with nothing sent
//!   and after a peer process sent; a pipe's handle is offered to WSAPoll too, and
//!   what WSAPoll says of it is the evidence;
//! - fd passing: no Windows socket or pipe call carries a handle with a message
//!   (no SCM_RIGHTS): `unsupported`, the API being absent.

use windows_sys::Win32::Networking::WinSock as ws;

use crate::channel::{Mechanism, Role};
use crate::check::Ctx;
use crate::mech::windows::{describe_code, winsock};
use crate::observe::{Checked, Observation, Step};
use crate::watchdog::BOUND;

/// Pollable: WSAPoll on the receiving end reports nothing readable when empty and
/// POLLRDNORM once a peer process sent.
pub fn pollable(cx: &mut Ctx, mech: &dyn Mechanism) -> Checked<Observation> {
    let mut ch = mech.create(cx)?;
    let rx = ch.open(Role::Receiver).step("open receiver")?;
    let watched = |rx: &dyn crate::channel::Endpoint| -> Vec<ws::SOCKET> {
        rx.poll_sockets()
            .into_iter()
            .map(|s| s as ws::SOCKET)
            .collect()
    };
    let before_set = watched(rx.as_ref());
    if before_set.is_empty() {
        return Ok(Observation::no(
            "the receiving end has neither a socket nor a handle to give WSAPoll",
        ));
    }
    let shown = |set: &[ws::SOCKET]| {
        set.iter()
            .map(|s| format!("{s:#x}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let before = match winsock::poll(&before_set, ws::POLLRDNORM, std::time::Duration::ZERO) {
        Ok(r) => r,
        Err(e) => {
            return Ok(Observation::no(format!(
                "WSAPoll on the receiving end ({}) failed: {}: Winsock's poll watches sockets only",
                shown(&before_set),
                describe_code(e.raw_os_error().unwrap_or(0) as u32)
            )));
        }
    };
    if let Some(r) = before.iter().find(|r| **r & ws::POLLNVAL != 0) {
        return Ok(Observation::no(format!(
            "WSAPoll on the receiving end ({}) answered POLLNVAL (revents {r:#x}): not a socket WSAPoll can watch",
            shown(&before_set)
        )));
    }
    let cmd = ch.peer(cx, Role::Sender).step("prepare peer")?;
    let mut tx = cmd.start()?;
    let answer = tx.send_data(b"poll-me")?;
    if !answer.is_ok() {
        return Ok(Observation::error(format!("sender peer: {answer}")));
    }
    let after_set = watched(rx.as_ref());
    let after = winsock::poll(&after_set, ws::POLLRDNORM, BOUND).step("WSAPoll after sending")?;
    let readable_before = before.iter().any(|r| r & ws::POLLRDNORM != 0);
    let readable_after = after.iter().any(|r| r & ws::POLLRDNORM != 0);
    Ok(Observation::holds(
        !readable_before && readable_after,
        format!(
            "WSAPoll revents with nothing sent: {before:x?} for sockets [{}]; after a peer process sent 7 bytes, within {BOUND:?}: {after:x?} for [{}] (POLLRDNORM = {:#x})",
            shown(&before_set),
            shown(&after_set),
            ws::POLLRDNORM
        ),
    ))
}

/// Fd passing on Windows: no send call of a Windows socket or pipe carries a handle
/// with the data (no SCM_RIGHTS, no control messages for handles); a handle
/// reaches another process only out of band, by DuplicateHandle into a process
/// handle or WSADuplicateSocket's WSAPROTOCOL_INFO sent over some other IPC.
pub fn fd_passing(_cx: &mut Ctx, mech: &dyn Mechanism) -> Checked<Observation> {
    Ok(Observation::unsupported(format!(
        "no API on {}: no call sends a handle over a {} channel (no SCM_RIGHTS or other handle-carrying control message); handles reach another process only out of band, through DuplicateHandle into its process handle or WSADuplicateSocket",
        crate::platform::TARGET,
        mech.id()
    )))
}
