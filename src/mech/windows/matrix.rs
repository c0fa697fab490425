//! The matrix properties whose Unix form needs poll() or SCM_RIGHTS, observed the
//! way Windows offers them:
//! - pollable: `WSAPoll` (Winsock's poll) on the receiving end, with nothing sent
//!   and after a peer process sent; a pipe's handle is offered to WSAPoll too, and
//!   what WSAPoll says of it is the evidence;
//! - fd passing: no Windows socket or pipe call carries a handle with a message
//!   (no SCM_RIGHTS); the check sends an open file's handle value as data and the
//!   receiving process looks at what that value names there.

use std::io::Write;
use std::os::windows::io::{AsRawHandle, RawHandle};

use windows_sys::Win32::Networking::WinSock as ws;
use windows_sys::Win32::Storage::FileSystem::{
    BY_HANDLE_FILE_INFORMATION, GetFileInformationByHandle,
};

use super::winsock;
use crate::channel::{Mechanism, Role};
use crate::check::Ctx;
use crate::observe::{Checked, Observation, Step};
use crate::peer::hex;
use crate::watchdog::BOUND;

/// Pollable: WSAPoll on the receiving end reports nothing readable when empty and
/// POLLRDNORM once a peer process sent.
pub fn pollable(cx: &mut Ctx, mech: &dyn Mechanism) -> Checked<Observation> {
    let mut ch = mech.create(cx)?;
    let rx = ch.open(Role::Receiver).step("open receiver")?;
    let Some(target) = rx.poll_socket() else {
        return Ok(Observation::no(
            "the receiving end has neither a socket nor a handle to give WSAPoll",
        ));
    };
    let s = target as ws::SOCKET;
    let before = match winsock::poll(&[s], ws::POLLRDNORM, std::time::Duration::ZERO) {
        Ok(r) => r[0],
        Err(e) => {
            return Ok(Observation::no(format!(
                "WSAPoll on the receiving end (value {target:#x}) failed: {}: Winsock's poll watches sockets only",
                super::describe_code(e.raw_os_error().unwrap_or(0) as u32)
            )));
        }
    };
    if before & ws::POLLNVAL != 0 {
        return Ok(Observation::no(format!(
            "WSAPoll on the receiving end (value {target:#x}) answered POLLNVAL (revents {before:#x}): not a socket WSAPoll can watch"
        )));
    }
    let cmd = ch.peer(cx, Role::Sender).step("prepare peer")?;
    let mut tx = cmd.start()?;
    let answer = tx.request(&format!("send {}", hex(b"poll-me")))?;
    if !answer.starts_with("ok") {
        return Ok(Observation::error(format!("sender peer: {answer}")));
    }
    let after = winsock::poll(&[s], ws::POLLRDNORM, BOUND).step("WSAPoll after sending")?[0];
    let readable_before = before & ws::POLLRDNORM != 0;
    let readable_after = after & ws::POLLRDNORM != 0;
    Ok(Observation::holds(
        !readable_before && readable_after,
        format!(
            "WSAPoll revents with nothing sent: {before:#x}; after a peer process sent 7 bytes, within {BOUND:?}: {after:#x} (POLLRDNORM = {:#x})",
            ws::POLLRDNORM
        ),
    ))
}

/// The identity of an open file: (volume serial, file index).
pub fn file_identity(h: RawHandle) -> std::io::Result<(u32, u64)> {
    // SAFETY: plain data, filled by the call.
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a valid out-pointer; `h` may name anything in this
    // process (or nothing): the call validates it and fails cleanly.
    super::cvt(unsafe { GetFileInformationByHandle(h as _, &mut info) })?;
    Ok((
        info.dwVolumeSerialNumber,
        (u64::from(info.nFileIndexHigh) << 32) | u64::from(info.nFileIndexLow),
    ))
}

/// In a peer: what the handle value `v` names in this process, as protocol text.
pub fn probe_handle(v: usize) -> String {
    match file_identity(v as RawHandle) {
        Ok((vol, idx)) => format!("file {vol:x} {idx:x}"),
        Err(e) => format!(
            "invalid {}",
            super::describe_code(e.raw_os_error().unwrap_or(0) as u32)
        ),
    }
}

/// Fd passing, Windows form: an open file's handle value goes over the channel as
/// data; yes only if, in the receiving process, that value names the same file.
pub fn fd_passing(cx: &mut Ctx, mech: &dyn Mechanism) -> Checked<Observation> {
    let mut ch = mech.create(cx)?;
    let mut tx = ch.open(Role::Sender).step("open sender")?;
    let path = cx.path(".txt")?;
    let secret = format!("passed-{}", crate::names::random_hex(8));
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(secret.as_bytes()))
        .step("write the file to pass")?;
    let file = std::fs::File::open(&path).step("open the file to pass")?;
    let (vol, idx) = file_identity(file.as_raw_handle()).step("GetFileInformationByHandle")?;
    let value = file.as_raw_handle() as usize;
    tx.send(format!("handle {value}").as_bytes())
        .step("send the handle value")?;
    let cmd = ch.peer(cx, Role::Receiver).step("prepare peer")?;
    let mut rx = cmd.start()?;
    let answer = rx.request("probehandle 64")?;
    let mine = format!("file {vol:x} {idx:x}");
    let evidence = format!(
        "no Windows send call carries a handle (no SCM_RIGHTS, no control messages on this channel); an open file's handle value {value:#x} (volume {vol:x}, index {idx:x}) was sent as data; the receiving process answered {answer:?}"
    );
    match answer.split_once(' ') {
        Some(("handle", rest)) => {
            let same = rest
                .split_once(' ')
                .map(|(_, what)| what == mine)
                .unwrap_or(false);
            Ok(Observation::holds(same, evidence))
        }
        _ => Ok(Observation::error(evidence)),
    }
}

/// The peer's `probehandle <max>` command: receive one message `handle <value>` and
/// say what that value names here.
pub fn serve_probehandle(ep: &mut dyn crate::channel::Endpoint, max: usize) -> String {
    let mut buf = vec![0u8; max];
    match ep.recv(&mut buf, BOUND) {
        Ok(Some(n)) => {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            match text
                .strip_prefix("handle ")
                .and_then(|v| v.trim().parse::<usize>().ok())
            {
                Some(v) => format!("handle {v} {}", probe_handle(v)),
                None => format!("err 0 not a handle message: {}", hex(&buf[..n])),
            }
        }
        Ok(None) => "empty".to_owned(),
        Err(e) => format!("err {} {e}", e.raw_os_error().unwrap_or(0)),
    }
}
