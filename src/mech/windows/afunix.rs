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
use crate::peer::endpoint_proto::Answer;
use crate::watchdog::BOUND;

/// The socket types `type_available` takes.
pub use windows_sys::Win32::Networking::WinSock::{SOCK_DGRAM, SOCK_SEQPACKET};

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

/// An AF_UNIX stream listener at a fresh path in the check's directory,
/// listening with `backlog`: the socket, the path, and what removes it.
fn path_listener(
    cx: &mut Ctx,
    backlog: i32,
) -> Checked<(Socket, std::path::PathBuf, crate::names::PathGuard)> {
    unix_socket(ws::SOCK_STREAM, "socket(AF_UNIX, SOCK_STREAM)")?;
    let path = cx.path(".sock")?;
    let listener = unix_socket(ws::SOCK_STREAM, "socket")?;
    let guard = crate::names::PathGuard::new(path.clone());
    listener
        .bind(&Addr::Path(path.clone()))
        .map_err(|e| classify("bind", &e))?;
    listener
        .listen(backlog)
        .map_err(|e| classify("listen", &e))?;
    Ok((listener, path, guard))
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
    let (listener, path, _guard) = path_listener(cx, 4)?;
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
    // A connect refused by name is the answer (say, WSAEINVAL for an abstract
    // name), not a failure of the check.
    let mut peer = match peer.start_or_refused()? {
        crate::peer::Started::Ready(p) => p,
        crate::peer::Started::Refused { error, .. } => {
            return Ok(Observation::no(format!(
                "{extra}; a fresh peer given only {name:?} could not connect: {error}"
            )));
        }
    };
    let answer = peer.send_data(b"from-peer")?;
    if !answer.is_ok() {
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
    let back = peer.recv_data(64)?;
    let back_ok = back == Answer::Data(b"to-peer".to_vec());
    let back = back.to_string();
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
    let (listener, path, _guard) = path_listener(cx, 4)?;
    let mut peer = cx
        .peer(&[
            "endpoint",
            "unix_stream",
            "sender",
            &path.display().to_string(),
        ])
        .start()?;
    let answer = peer.send_data(b"who")?;
    if !answer.is_ok() {
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
///
/// The calls are synchronous (no OVERLAPPED structure), so the sockets are made
/// without WSA_FLAG_OVERLAPPED: a socket from socket(), or WSASocketW with that
/// flag, is an overlapped handle, and ReadFile on such a handle "must point to a
/// valid and unique OVERLAPPED structure, otherwise the function can incorrectly
/// report that the read operation is complete"
/// (learn.microsoft.com/windows/win32/api/fileapi/nf-fileapi-readfile, lpOverlapped).
/// The read runs once the peer's bytes are queued (FIONREAD), so it cannot block.
pub fn read_write_like_pipe(cx: &mut Ctx) -> Checked<Observation> {
    use std::os::windows::io::AsRawSocket;
    unix_socket(ws::SOCK_STREAM, "socket(AF_UNIX, SOCK_STREAM)")?;
    let path = cx.path(".sock")?;
    let mut ch =
        StreamChannel::create_from("unix_stream", Addr::Path(path), Socket::new_synchronous)
            .map_err(|e| classify("AF_UNIX listener + connection (no WSA_FLAG_OVERLAPPED)", &e))?;
    let mut peer = ch.peer(cx, Role::Sender).step("prepare peer")?.start()?;
    let server = ch.server_socket();
    server.set_nonblocking(false).step("blocking mode")?;
    let h = server.0.as_raw_socket() as std::os::windows::io::RawHandle;
    let answer = peer.send_data(b"peer-wrote")?;
    if !answer.is_ok() {
        return Ok(Observation::error(format!("peer: {answer}")));
    }
    let queued = crate::channel::wait_counted(
        || {
            server
                .fionread()
                .map(|n| Some(crate::channel::Queued::Bytes(n)))
        },
        |left| {
            std::thread::sleep(left.min(super::PROBE_PAUSE));
            Ok(false)
        },
        &[10],
        BOUND,
    )
    .step("FIONREAD")?;
    if let Err(seen) = queued {
        return Ok(Observation::timeout(format!(
            "the peer sent 10 bytes; {seen}"
        )));
    }
    let mut buf = [0u8; 64];
    let read = super::read_once(h, &mut buf).map(|n| buf[..n].to_vec());
    let wrote = super::write_once(h, b"file-call-wrote");
    let back = peer.recv_data(64)?;
    let ok = matches!(&read, Ok(d) if d == b"peer-wrote")
        && matches!(wrote, Ok(15))
        && back == Answer::Data(b"file-call-wrote".to_vec());
    let back = back.to_string();
    Ok(Observation::holds(
        ok,
        format!(
            "sockets made without WSA_FLAG_OVERLAPPED; synchronous ReadFile on the accepted socket's handle: {:?}; WriteFile: {wrote:?}; the peer received {back:?}",
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
    let (listener, path, _guard) = path_listener(cx, 8)?;
    let name = path.display().to_string();
    let mut peers = Vec::new();
    for i in 0..N {
        let mut p = cx
            .peer(&["endpoint", "unix_stream", "sender", &name])
            .start()?;
        let a = p.send_data(format!("client-{i}").as_bytes())?;
        if !a.is_ok() {
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
        let a = p.recv_data(64)?;
        if a == Answer::Data(format!("reply-to-client-{i}").into_bytes()) {
            ok += 1;
        }
        answers.push(a.to_string());
    }
    Ok(Observation::holds(
        ok == N,
        format!(
            "{N} peer processes connected to one listener on {name} and sent their ids; the server accepted {} connections and replied to each id; {ok} of {N} clients received exactly their own reply",
            served.len()
        ),
    ))
}

/// AF_UNIX peer roles on Windows:
/// - `win-afunix-server <address>` binds and listens at the address (a path; an
///   IPv4 `a.b.c.d:port` for this module's own tests over TCP), or
///   `win-afunix-server handed` takes a listening socket duplicated for it (first
///   stdin line `socket <hex>`); it prints `ready <pid> <address>`, then serves:
///   `accept` (one connection, bounded: writes `served-by <pid>` and closes it),
///   `give <pid>` (duplicates the listener for that process, answers
///   `info <hex WSAPROTOCOL_INFOW>` and exits).
pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
    match (role, args) {
        ("win-afunix-server", [addr]) => Some(server_role(addr).map_err(|e| e.to_string())),
        _ => None,
    }
}

fn server_role(addr: &str) -> io::Result<()> {
    use std::io::{BufRead, Write};
    use std::os::windows::io::AsRawSocket;
    let listener = if addr == "handed" {
        match super::take_handover()? {
            super::Handed::Socket(s) => Socket(s),
            super::Handed::Handle(_) => {
                return Err(io::Error::other("expected a socket, got a handle"));
            }
        }
    } else {
        let addr = Addr::parse("unix_stream", addr)?;
        let s = Socket::new(addr.family(), ws::SOCK_STREAM)?;
        s.bind(&addr)?;
        s.listen(8)?;
        s
    };
    listener.set_nonblocking(true)?;
    let pid = std::process::id();
    let bound = listener
        .local_addr()
        .map(|a| a.to_arg())
        .unwrap_or_else(|_| addr.to_owned());
    let mut out = io::stdout().lock();
    writeln!(out, "ready {pid} {bound}")?;
    out.flush()?;
    for line in io::stdin().lock().lines() {
        let line = line?;
        let answer = match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["accept"] => match super::winsock::poll(&[listener.raw()], ws::POLLRDNORM, BOUND)
                .and_then(|_| listener.accept())
            {
                Ok(c) => {
                    let _ = c.send(format!("served-by {pid}").as_bytes());
                    drop(c);
                    "ok accepted".to_owned()
                }
                Err(e) => format!("err {e}"),
            },
            ["give", to] => {
                let to: u32 = to.parse().map_err(|_| io::Error::other("bad pid"))?;
                let info = super::winsock::duplicate_for(listener.0.as_raw_socket(), to)?;
                writeln!(out, "info {}", crate::peer::hex(&info))?;
                out.flush()?;
                return Ok(());
            }
            ["quit"] => return Ok(()),
            _ => format!("err unknown command {line:?}"),
        };
        writeln!(out, "{answer}")?;
        out.flush()?;
    }
    Ok(())
}

/// Reads a connection to its end (bounded): what a server wrote before closing.
fn read_to_end_bounded(s: &Socket) -> String {
    let _ = s.set_nonblocking(true);
    let deadline = std::time::Instant::now() + BOUND;
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        match s.recv(&mut buf, 0) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.raw_os_error() == Some(ws::WSAEWOULDBLOCK) => {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() || super::winsock::poll(&[s.raw()], ws::POLLRDNORM, left).is_err()
                {
                    break;
                }
            }
            Err(e) => return format!("recv: {e}"),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// `unix_stream.socket_handover` on Windows: server A (a peer) listens at `addr`;
/// a client connects before the handover and A serves it; new server B starts; a
/// client connects during the handover; A duplicates its listening socket for B
/// (WSADuplicateSocketW) and exits; a client connects after; B takes the socket
/// and accepts. Yes when every connect succeeds, the first client is served by A
/// and the other two by B.
pub fn socket_handover(cx: &mut Ctx, addr: Addr) -> Checked<Observation> {
    Socket::new(addr.family(), ws::SOCK_STREAM)
        .map_err(|e| classify("socket(AF_UNIX, SOCK_STREAM)", &e))?;
    let _guard = addr.guard();
    let mut a = cx.peer(&["win-afunix-server", &addr.to_arg()]).spawn()?;
    let ready = a.line(BOUND)?;
    if !ready.starts_with("ready") {
        return Ok(Observation::error(format!("server A: {ready}")));
    }
    let name = ready
        .split_whitespace()
        .nth(2)
        .unwrap_or_default()
        .to_owned();
    let target = Addr::parse("unix_stream", &name).step("parse A's address")?;
    let connect = |what: &str| -> Checked<Socket> {
        let c = Socket::new(target.family(), ws::SOCK_STREAM).step(what)?;
        c.connect(&target).map_err(|e| classify(what, &e))?;
        Ok(c)
    };
    let a_pid = a.pid();
    let c1 = connect("connect before the handover")?;
    let r1 = a.request("accept")?;
    let first = read_to_end_bounded(&c1);
    let mut b = cx.peer(&["win-afunix-server", "handed"]).spawn()?;
    let b_pid = b.pid();
    let c2 = connect("connect during the handover")?;
    let info = a.request(&format!("give {b_pid}"))?;
    let (a_status, _) = a.finish()?;
    let c3 = connect("connect after the old server exited")?;
    let Some(hex) = info.strip_prefix("info ") else {
        return Ok(Observation::error(format!(
            "server A answered {info:?} to give"
        )));
    };
    b.send_line(&format!("socket {hex}"))?;
    let b_ready = b.line(BOUND)?;
    let r2 = b.request("accept")?;
    let r3 = b.request("accept")?;
    let (second, third) = (read_to_end_bounded(&c2), read_to_end_bounded(&c3));
    let by_a = format!("served-by {a_pid}");
    let by_b = format!("served-by {b_pid}");
    Ok(Observation::holds(
        first == by_a && second == by_b && third == by_b && a_status.success(),
        format!(
            "old server A (pid {a_pid}) listened at {name}; client 1 connected before the handover and got {first:?} ({r1}); client 2 connected while A still held the socket; A duplicated the listening socket for new server B (pid {b_pid}) with WSADuplicateSocketW and exited ({a_status}); client 3 connected after that; B: {b_ready:?}, {r2}, {r3}; client 2 got {second:?}, client 3 got {third:?}"
        ),
    ))
}

/// Used by suites to name the Windows AF_UNIX mechanism in the generic matrix.
pub fn mechanism() -> super::winsock::UnixStreamMechanism {
    super::winsock::UnixStreamMechanism
}

/// Ends a check with `unsupported` (the Winsock error) where AF_UNIX stream
/// sockets do not exist at run time (Wine 8), for checks that need them only to
/// be meaningful.
pub fn require() -> Checked<()> {
    unix_socket(ws::SOCK_STREAM, "socket(AF_UNIX, SOCK_STREAM)").map(drop)
}

/// connect() + accept() times of `n` connections, one after another, to a fresh
/// listener at `addr` (port 0 for TCP; a path for AF_UNIX).
fn setup_times(addr: Addr, n: usize) -> io::Result<Vec<std::time::Duration>> {
    let (l, addr, _guard) = super::winsock::listen_at(addr, Socket::new)?;
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = std::time::Instant::now();
        let c = Socket::new(addr.family(), ws::SOCK_STREAM)?;
        c.connect(&addr)?;
        let s = l.accept()?;
        times.push(t0.elapsed());
        drop((c, s));
    }
    Ok(times)
}

/// `tcp.handshake_cost` on Windows: connect() + accept() of 200 connections over
/// TCP on 127.0.0.1 and over AF_UNIX (Winsock); yes when TCP's median is higher.
pub fn handshake_cost(cx: &mut Ctx) -> Checked<Observation> {
    const N: usize = 200;
    require()?;
    let path = cx.path(".sock")?;
    let measured = crate::watchdog::bounded(BOUND * 2, move || {
        let any = std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 0);
        let tcp = setup_times(Addr::Inet(any), N)?;
        let unix = setup_times(Addr::Path(path), N)?;
        Ok::<_, io::Error>((tcp, unix))
    });
    let Some(result) = measured else {
        return Ok(Observation::timeout(format!(
            "{N} connections each did not finish within {:?}",
            BOUND * 2
        )));
    };
    let (tcp, unix) = result.step("connect() + accept()")?;
    let median = |v: &[std::time::Duration]| {
        let mut v: Vec<f64> = v.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (t, u) = (median(&tcp), median(&unix));
    Ok(Observation::holds(
        t > u,
        format!(
            "connect() + accept() of {N} connections one after another through Winsock: TCP over 127.0.0.1 median {t:.1} us, AF_UNIX stream median {u:.1} us; TCP/AF_UNIX = {:.2}",
            t / u
        ),
    )
    .with("tcp_setup_median", t, "us")
    .with("unix_setup_median", u, "us"))
}
