//! Windows: does Winsock make an AF_UNIX socket of a type other than stream,
//! and does a datagram or packet go through it. The `available` check of the
//! unix_dgram and unix_seqpacket suites on Windows, which include this file.

use ipc_conformance::check::Ctx;
use ipc_conformance::mech::windows::afunix::unix_socket;
use ipc_conformance::mech::windows::winsock::{self, Addr, Failed, Socket, windows_build};
use ipc_conformance::names::PathGuard;
use ipc_conformance::watchdog::BOUND;
use ipc_conformance::{Checked, Observation};
use windows_sys::Win32::Networking::WinSock as ws;

/// Does Winsock make an AF_UNIX socket of type `ty` (SOCK_DGRAM or
/// SOCK_SEQPACKET); if it does, a datagram (or packet) goes through. The evidence
/// names the Windows build: the answer may differ between builds
/// (platforms/windows.toml).
pub fn available(cx: &mut Ctx, ty: i32) -> Checked<Observation> {
    let (name, marker): (_, &[u8]) = if ty == ws::SOCK_DGRAM {
        ("SOCK_DGRAM", b"dgram-marker")
    } else {
        ("SOCK_SEQPACKET", b"packet-marker")
    };
    let build = windows_build();
    // The path and its guard first: the sockets close before the file goes.
    let path = cx.path(".sock")?;
    let _guard = PathGuard::new(path.clone());
    let a = unix_socket(ty, &format!("socket(AF_UNIX, {name}, 0)"))?;
    let addr = Addr::Path(path.clone());
    a.bind(&addr).failed(&format!(
        "bind({}) of an AF_UNIX {name} socket",
        path.display()
    ))?;
    let b = unix_socket(ty, &format!("second socket(AF_UNIX, {name}, 0)"))?;
    let (what, got) = if ty == ws::SOCK_DGRAM {
        b.send_to(marker, &addr)
            .failed(&format!("sendto({})", path.display()))?;
        ("a datagram of 12 bytes", recv_bounded(&a)?)
    } else {
        a.listen(4).failed("listen(4)")?;
        b.connect(&addr)
            .failed(&format!("connect({})", path.display()))?;
        let Some(s) = a.accept_within(BOUND).failed("accept()")? else {
            return Ok(Observation::timeout(format!(
                "AF_UNIX {name} on {build}: connect() returned but no connection was accepted within {BOUND:?}"
            )));
        };
        b.send(marker).failed("send()")?;
        ("a packet of 13 bytes", recv_bounded(&s)?)
    };
    let Some(got) = got else {
        return Ok(Observation::timeout(format!(
            "socket(AF_UNIX, {name}, 0) succeeded on {build}; {what} was sent to {}; nothing arrived within {BOUND:?}",
            path.display()
        )));
    };
    Ok(Observation::holds(
        got == marker,
        format!(
            "socket(AF_UNIX, {name}, 0) succeeded on {build}; bound to {}; {what} arrived as {:?}",
            path.display(),
            String::from_utf8_lossy(&got)
        ),
    ))
}

/// One receive, waiting (WSAPoll) at most the bound: `None` when nothing came.
fn recv_bounded(s: &Socket) -> Checked<Option<Vec<u8>>> {
    s.set_nonblocking(true).failed("ioctlsocket(FIONBIO)")?;
    let revents = winsock::poll(&[s.raw()], ws::POLLRDNORM, BOUND).failed("WSAPoll")?;
    if revents.iter().all(|r| *r == 0) {
        return Ok(None);
    }
    let mut buf = [0u8; 256];
    match s.recv(&mut buf, 0) {
        Ok(n) => Ok(Some(buf[..n].to_vec())),
        Err(e) if e.raw_os_error() == Some(ws::WSAEWOULDBLOCK) => Ok(None),
        Err(e) => Err(winsock::failure("recv()", &e)),
    }
}
