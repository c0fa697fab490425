//! AF_UNIX on Windows (Winsock, Windows 10 1803+): what it offers, observed.
//!
//! Each function here observes one `unix_stream.*` / `unix_dgram.*` /
//! `unix_seqpacket.*` claim; the suites call them in their `cfg(windows)` branches.
//! A `socket(AF_UNIX, ...)` refused at run time (Wine 8 answers WSAEAFNOSUPPORT;
//! Windows refuses the socket types it lacks) is `unsupported` with the error.

use std::io;
use std::sync::Arc;

use windows_sys::Win32::Networking::WinSock as ws;

use super::winsock::{Addr, Socket, StreamChannel, StreamEndpoint};
use crate::channel::{Channel, Endpoint, Role};
use crate::check::Ctx;
use crate::observe::{Checked, Observation, Step};
use crate::watchdog::BOUND;

/// Winsock errors that mean "this family / type / protocol does not exist here".
pub const ABSENT: [i32; 5] = [
    ws::WSAEAFNOSUPPORT,
    ws::WSAEPROTONOSUPPORT,
    ws::WSAESOCKTNOSUPPORT,
    ws::WSAEPROTOTYPE,
    ws::WSAEOPNOTSUPP,
];

/// An observation for a failed AF_UNIX step: unsupported when Winsock says the
/// family or type is absent, error otherwise.
pub fn classify(what: &str, e: &io::Error) -> Observation {
    let code = e.raw_os_error().unwrap_or(0);
    let detail = format!(
        "{what}: {} on {}",
        super::describe_code(code as u32),
        crate::platform::TARGET
    );
    if ABSENT.contains(&code) {
        Observation::unsupported(detail)
    } else {
        Observation::error(detail)
    }
}

/// `socket(AF_UNIX, ty, 0)`, classified.
fn unix_socket(ty: i32, what: &str) -> Checked<Socket> {
    Socket::new(ws::AF_UNIX, ty).map_err(|e| classify(what, &e))
}

/// `unix_stream.available`: listener on a path, connect, a marker both ways.
pub fn stream_available(cx: &mut Ctx) -> Checked<Observation> {
    unix_socket(ws::SOCK_STREAM, "socket(AF_UNIX, SOCK_STREAM)")?;
    let path = cx.path(".sock")?;
    let mut ch = StreamChannel::create("unix_stream", Addr::Path(path.clone()))
        .map_err(|e| classify("bind/listen/connect/accept on a path", &e))?;
    super::winsock::exchange(&mut ch, "AF_UNIX SOCK_STREAM", &path.display().to_string())
}

/// `unix_dgram.available` and `unix_seqpacket.available`: does Winsock make an
/// AF_UNIX socket of that type; if it does, a datagram (or packet) goes through.
pub fn type_available(cx: &mut Ctx, ty: i32) -> Checked<Observation> {
    let name = if ty == ws::SOCK_DGRAM {
        "SOCK_DGRAM"
    } else {
        "SOCK_SEQPACKET"
    };
    let a = unix_socket(ty, &format!("socket(AF_UNIX, {name})"))?;
    // The type exists: try it for real.
    let path = cx.path(".sock")?;
    let _guard = crate::names::PathGuard::new(path.clone());
    let addr = Addr::Path(path.clone());
    a.bind(&addr).map_err(|e| classify("bind", &e))?;
    let b = unix_socket(ty, &format!("second socket(AF_UNIX, {name})"))?;
    if ty == ws::SOCK_DGRAM {
        b.send_to(b"dgram-marker", &addr)
            .map_err(|e| classify("sendto", &e))?;
        let got = recv_bounded(&a)?;
        Ok(Observation::holds(
            got == b"dgram-marker",
            format!(
                "AF_UNIX {name} bound to {}; a datagram of 12 bytes arrived as {:?}",
                path.display(),
                String::from_utf8_lossy(&got)
            ),
        ))
    } else {
        a.listen(4).map_err(|e| classify("listen", &e))?;
        b.connect(&addr).map_err(|e| classify("connect", &e))?;
        let s = a.accept().map_err(|e| classify("accept", &e))?;
        b.send(b"packet-marker").map_err(|e| classify("send", &e))?;
        let got = recv_bounded(&s)?;
        Ok(Observation::holds(
            got == b"packet-marker",
            format!(
                "AF_UNIX {name} on {}: a packet arrived as {:?}",
                path.display(),
                String::from_utf8_lossy(&got)
            ),
        ))
    }
}

fn recv_bounded(s: &Socket) -> Checked<Vec<u8>> {
    s.set_nonblocking(true).step("FIONBIO")?;
    super::winsock::poll(&[s.raw()], ws::POLLRDNORM, BOUND).step("WSAPoll")?;
    let mut buf = [0u8; 256];
    let n = s.recv(&mut buf, 0).step("recv")?;
    Ok(buf[..n].to_vec())
}

/// `unix_stream.named_by_path`: the listener's path exists in the filesystem and
/// a fresh peer given only the path connects and exchanges a marker.
pub fn named_by_path(cx: &mut Ctx) -> Checked<Observation> {
    unix_socket(ws::SOCK_STREAM, "socket(AF_UNIX, SOCK_STREAM)")?;
    let path = cx.path(".sock")?;
    let listener = unix_socket(ws::SOCK_STREAM, "socket")?;
    let _guard = crate::names::PathGuard::new(path.clone());
    listener
        .bind(&Addr::Path(path.clone()))
        .map_err(|e| classify("bind", &e))?;
    listener.listen(4).map_err(|e| classify("listen", &e))?;
    let entry = std::fs::symlink_metadata(&path);
    let entry_text = match &entry {
        Ok(m) => format!(
            "a filesystem entry exists at the path (attributes {:#x})",
            {
                use std::os::windows::fs::MetadataExt;
                m.file_attributes()
            }
        ),
        Err(e) => format!("no filesystem entry at the path ({e})"),
    };
    exchange_with_fresh_peer(
        cx,
        listener,
        &path.display().to_string(),
        entry.is_ok(),
        entry_text,
    )
}

/// Accepts one connection from a freshly started peer given only `name`, and
/// exchanges a marker each way.
fn exchange_with_fresh_peer(
    cx: &mut Ctx,
    listener: Socket,
    name: &str,
    extra_ok: bool,
    extra: String,
) -> Checked<Observation> {
    let mut rx = StreamEndpoint::new(Some(Arc::new(listener)), None).step("FIONBIO")?;
    let mut peer = cx.peer(&["endpoint", "unix_stream", "sender", name]);
    peer.command().env_clear();
    if let Some(root) = std::env::var_os("SystemRoot") {
        peer.command().env("SystemRoot", root);
    }
    let mut peer = peer.start()?;
    let answer = peer.request(&format!("send {}", crate::peer::hex(b"from-peer")))?;
    if !answer.starts_with("ok") {
        return Ok(Observation::no(format!(
            "{extra}; a fresh peer given only {name:?} could not connect and send: {answer}"
        )));
    }
    let mut buf = [0u8; 64];
    let got = rx
        .recv(&mut buf, BOUND)
        .step("accept + receive")?
        .unwrap_or(0);
    let got = buf[..got].to_vec();
    rx.send(b"to-peer").step("reply")?;
    let back = peer.request(&format!("recv 64 {}", BOUND.as_millis()))?;
    let back_ok = back == format!("data {}", crate::peer::hex(b"to-peer"));
    Ok(Observation::holds(
        extra_ok && got == b"from-peer" && back_ok,
        format!(
            "{extra}; a fresh peer (pid {}, empty environment) given only {name:?} connected and sent; this process received {:?}; the peer received the reply: {back:?}",
            peer.pid(),
            String::from_utf8_lossy(&got)
        ),
    ))
}

/// `unix_stream.abstract_namespace`: bind to a name whose first sun_path byte is
/// NUL; yes when bind succeeds, nothing appears in the filesystem, and a fresh
/// peer given only the name connects and exchanges a marker.
pub fn abstract_namespace(cx: &mut Ctx) -> Checked<Observation> {
    let listener = unix_socket(ws::SOCK_STREAM, "socket(AF_UNIX, SOCK_STREAM)")?;
    let name = crate::names::unique();
    if let Err(e) = listener.bind(&Addr::Abstract(name.as_bytes().to_vec())) {
        return Ok(Observation::no(format!(
            "bind to the abstract name \"\\0{name}\" failed: {}",
            super::describe_code(e.raw_os_error().unwrap_or(0) as u32)
        )));
    }
    if let Err(e) = listener.listen(4) {
        return Ok(Observation::no(format!(
            "bind to \"\\0{name}\" succeeded, listen failed: {}",
            super::describe_code(e.raw_os_error().unwrap_or(0) as u32)
        )));
    }
    let cwd_entry = std::path::Path::new(&name).exists();
    exchange_with_fresh_peer(
        cx,
        listener,
        &format!("@{name}"),
        !cwd_entry,
        format!(
            "bind(\"\\0{name}\") succeeded; a file of that name in the working directory: {cwd_entry}"
        ),
    )
}

/// `unix_stream.socketpair_bidirectional`: Winsock has no socketpair(); observed by
/// looking the symbol up in ws2_32.dll.
pub fn socketpair() -> Checked<Observation> {
    use windows_sys::Win32::System::LibraryLoader::{GetProcAddress, LoadLibraryA};
    // SAFETY: NUL-terminated module and symbol names; ws2_32 stays loaded (the
    // suite links it).
    let found = unsafe {
        let m = LoadLibraryA(c"ws2_32.dll".as_ptr().cast());
        !m.is_null() && GetProcAddress(m, c"socketpair".as_ptr().cast()).is_some()
    };
    if found {
        Ok(Observation::error(
            "ws2_32.dll exports a socketpair symbol: this check does not know how to call it",
        ))
    } else {
        Ok(Observation::unsupported(format!(
            "no socketpair() on {}: ws2_32.dll exports no such symbol (GetProcAddress returned NULL)",
            crate::platform::TARGET
        )))
    }
}

/// `unix_stream.peer_credentials`: the server asks for the client's identity;
/// Windows has `SIO_AF_UNIX_GETPEERPID` (a pid) and no user identity call.
pub fn peer_credentials(cx: &mut Ctx) -> Checked<Observation> {
    unix_socket(ws::SOCK_STREAM, "socket(AF_UNIX, SOCK_STREAM)")?;
    let path = cx.path(".sock")?;
    let listener = unix_socket(ws::SOCK_STREAM, "socket")?;
    let _guard = crate::names::PathGuard::new(path.clone());
    listener
        .bind(&Addr::Path(path.clone()))
        .map_err(|e| classify("bind", &e))?;
    listener.listen(4).map_err(|e| classify("listen", &e))?;
    let mut peer = cx
        .peer(&[
            "endpoint",
            "unix_stream",
            "sender",
            &path.display().to_string(),
        ])
        .start()?;
    let answer = peer.request(&format!("send {}", crate::peer::hex(b"who")))?;
    if !answer.starts_with("ok") {
        return Ok(Observation::error(format!(
            "peer could not connect: {answer}"
        )));
    }
    let conn = listener.accept().map_err(|e| classify("accept", &e))?;
    let mut pid = 0u32;
    let mut out = 0u32;
    // SAFETY: SIO_AF_UNIX_GETPEERPID writes a ULONG; the out buffer and count are
    // valid for the call; no overlapped I/O.
    let rc = unsafe {
        ws::WSAIoctl(
            conn.raw(),
            ws::SIO_AF_UNIX_GETPEERPID,
            std::ptr::null(),
            0,
            (&mut pid as *mut u32).cast(),
            4,
            &mut out,
            std::ptr::null_mut(),
            None,
        )
    };
    if rc != 0 {
        let e = super::winsock::last_error();
        return Ok(Observation::no(format!(
            "WSAIoctl(SIO_AF_UNIX_GETPEERPID) failed: {}; Winsock has no call for the peer's user",
            super::describe_code(e.raw_os_error().unwrap_or(0) as u32)
        )));
    }
    Ok(Observation::no(format!(
        "SIO_AF_UNIX_GETPEERPID gave pid {pid} (client peer's pid {}, equal: {}); Winsock offers no call for the peer's user identity (no SO_PEERCRED, no getpeereid), so uid cannot be verified",
        peer.pid(),
        pid == peer.pid()
    )))
}

/// `unix_stream.read_write_like_pipe`: on a connected AF_UNIX socket between two
/// processes, the file calls (ReadFile/WriteFile on the socket's handle) carry
/// data both ways, as read()/write() do on Unix.
pub fn read_write_like_pipe(cx: &mut Ctx) -> Checked<Observation> {
    use std::os::windows::io::AsRawSocket;
    unix_socket(ws::SOCK_STREAM, "socket(AF_UNIX, SOCK_STREAM)")?;
    let path = cx.path(".sock")?;
    let mut ch = StreamChannel::create("unix_stream", Addr::Path(path))
        .map_err(|e| classify("AF_UNIX listener + connection", &e))?;
    let mut peer = ch.peer(cx, Role::Sender).step("prepare peer")?.start()?;
    let server = ch.server_socket();
    server.set_nonblocking(false).step("blocking mode")?;
    let h = server.0.as_raw_socket() as std::os::windows::io::RawHandle;
    let answer = peer.request(&format!("send {}", crate::peer::hex(b"peer-wrote")))?;
    if !answer.starts_with("ok") {
        return Ok(Observation::error(format!("peer: {answer}")));
    }
    let mut buf = [0u8; 64];
    let read = super::read_once(h, &mut buf).map(|n| buf[..n].to_vec());
    let wrote = super::write_once(h, b"file-call-wrote");
    let back = peer.request(&format!("recv 64 {}", BOUND.as_millis()))?;
    let ok = matches!(&read, Ok(d) if d == b"peer-wrote")
        && matches!(wrote, Ok(15))
        && back == format!("data {}", crate::peer::hex(b"file-call-wrote"));
    Ok(Observation::holds(
        ok,
        format!(
            "ReadFile on the accepted socket's handle: {:?}; WriteFile: {wrote:?}; the peer received {back:?}",
            read.map(|d| String::from_utf8_lossy(&d).into_owned())
        ),
    ))
}

/// `unix_stream.sun_path_max`: sizeof(sun_path) and the longest path bind accepts.
pub fn sun_path_max(cx: &mut Ctx) -> Checked<Observation> {
    unix_socket(ws::SOCK_STREAM, "socket(AF_UNIX, SOCK_STREAM)")?;
    let dir = cx.dir()?.to_path_buf();
    let base = dir.display().to_string().len() + 1;
    let mut longest = 0usize;
    let mut last_err = String::new();
    for total in (base + 1..108).rev() {
        let name = "p".repeat(total - base);
        let path = dir.join(&name);
        let s = unix_socket(ws::SOCK_STREAM, "socket")?;
        let _guard = crate::names::PathGuard::new(path.clone());
        match s.bind(&Addr::Path(path)) {
            Ok(()) => {
                longest = total;
                break;
            }
            Err(e) => last_err = super::describe_code(e.raw_os_error().unwrap_or(0) as u32),
        }
    }
    if longest == 0 {
        return Ok(Observation::error(format!(
            "no path under {} could be bound ({last_err})",
            dir.display()
        )));
    }
    Ok(Observation::measured(format!(
        "sizeof(sun_path) = 108 (afunix.h); the longest path bind() accepted here was {longest} bytes (the next longer one failed: {last_err})"
    ))
    .with("sun_path_size", 108.0, "bytes")
    .with("longest_bound_path", longest as f64, "bytes"))
}

/// `unix_stream.default_buffer_sizes`: SO_SNDBUF and SO_RCVBUF of a fresh socket.
pub fn default_buffer_sizes() -> Checked<Observation> {
    let s = unix_socket(ws::SOCK_STREAM, "socket(AF_UNIX, SOCK_STREAM)")?;
    let snd = s.option(ws::SOL_SOCKET, ws::SO_SNDBUF).step("SO_SNDBUF")?;
    let rcv = s.option(ws::SOL_SOCKET, ws::SO_RCVBUF).step("SO_RCVBUF")?;
    if snd <= 0 || rcv <= 0 {
        return Ok(Observation::error(format!(
            "absurd buffer sizes SO_SNDBUF {snd}, SO_RCVBUF {rcv}"
        )));
    }
    Ok(Observation::measured(format!(
        "a fresh AF_UNIX SOCK_STREAM socket: SO_SNDBUF = {snd}, SO_RCVBUF = {rcv}"
    ))
    .with("so_sndbuf", f64::from(snd), "bytes")
    .with("so_rcvbuf", f64::from(rcv), "bytes"))
}

/// `unix_stream.many_clients`: one listener, N peers connect by path and send
/// their id; the server replies to each; yes when each gets exactly its own reply.
pub fn many_clients(cx: &mut Ctx) -> Checked<Observation> {
    const N: usize = 3;
    unix_socket(ws::SOCK_STREAM, "socket(AF_UNIX, SOCK_STREAM)")?;
    let path = cx.path(".sock")?;
    let listener = unix_socket(ws::SOCK_STREAM, "socket")?;
    let _guard = crate::names::PathGuard::new(path.clone());
    listener
        .bind(&Addr::Path(path.clone()))
        .map_err(|e| classify("bind", &e))?;
    listener.listen(8).map_err(|e| classify("listen", &e))?;
    let name = path.display().to_string();
    let mut peers = Vec::new();
    for i in 0..N {
        let mut p = cx
            .peer(&["endpoint", "unix_stream", "sender", &name])
            .start()?;
        let a = p.request(&format!(
            "send {}",
            crate::peer::hex(format!("client-{i}").as_bytes())
        ))?;
        if !a.starts_with("ok") {
            return Ok(Observation::error(format!("client {i}: {a}")));
        }
        peers.push(p);
    }
    let mut served = Vec::new();
    for _ in 0..N {
        let c = listener.accept().map_err(|e| classify("accept", &e))?;
        let mut ep = StreamEndpoint::new(None, Some(Arc::new(c))).step("FIONBIO")?;
        let mut buf = [0u8; 64];
        let n = ep.recv(&mut buf, BOUND).step("receive id")?.unwrap_or(0);
        let id = String::from_utf8_lossy(&buf[..n]).into_owned();
        ep.send(format!("reply-to-{id}").as_bytes()).step("reply")?;
        served.push((id, ep));
    }
    let mut ok = 0;
    let mut answers = Vec::new();
    for (i, p) in peers.iter_mut().enumerate() {
        let a = p.request(&format!("recv 64 {}", BOUND.as_millis()))?;
        if a == format!(
            "data {}",
            crate::peer::hex(format!("reply-to-client-{i}").as_bytes())
        ) {
            ok += 1;
        }
        answers.push(a);
    }
    Ok(Observation::holds(
        ok == N,
        format!(
            "{N} peer processes connected to one listener on {name} and sent their ids; the server accepted {} connections and replied to each id; {ok} of {N} clients received exactly their own reply",
            served.len()
        ),
    ))
}

/// AF_UNIX peer roles on Windows (none yet beyond the generic endpoint).
pub fn peer_role(_role: &str, _args: &[String]) -> Option<Result<(), String>> {
    None
}

/// Used by suites to name the Windows AF_UNIX mechanism in the generic matrix.
pub fn mechanism() -> super::winsock::UnixStreamMechanism {
    super::winsock::UnixStreamMechanism
}
