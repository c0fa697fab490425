//! Unix domain stream sockets on Windows: the observations of the
//! `unix_stream.*` claims a Windows build checks, through Winsock's AF_UNIX
//! (Windows 10 1803+). Included by suites/unix_stream.rs, whose tests call them
//! as `os::<property>` (the characteristics matrix is there). `mech::windows::afunix` has the adapter, the classified `socket()`,
//! the server role and the sources the constructs used here rest on.
//!
//! How a failure is recorded:
//! - `socket(AF_UNIX, ...)` refused with an error that says the family, type or
//!   protocol is absent (WSAEAFNOSUPPORT under Wine 8) is `unsupported` with the
//!   error and the Windows build (`afunix::classify`);
//! - once the socket exists, a failing call is an `error` naming the call, its
//!   Winsock error and code (`winsock::Failed`), unless the failure is the
//!   claim's answer (a connect by an abstract name refused: `no`);
//! - every blocking step is bounded: accept and receive wait in WSAPoll for at
//!   most the watchdog's bound, the synchronous file calls run on a watchdog
//!   thread, and nothing arriving in time is `timeout`.

use std::io;
use std::sync::Arc;

use ipc_conformance::channel::{Channel, Endpoint, Role};
use ipc_conformance::check::Ctx;
use ipc_conformance::mech::windows::afunix::{self, classify, require, unix_socket};
use ipc_conformance::mech::windows::protocol::{HandoverLine, ServerAnswer, ServerCommand};
use ipc_conformance::mech::windows::winsock::{
    self, Addr, Failed, Socket, StreamChannel, StreamEndpoint, windows_build,
};
use ipc_conformance::mech::windows::{PROBE_PAUSE, describe_error, read_once, write_once};
use ipc_conformance::names::PathGuard;
use ipc_conformance::peer::endpoint_protocol::Answer;
use ipc_conformance::peer::wire::WireLine;
use ipc_conformance::watchdog::BOUND;
use ipc_conformance::{Checked, Observation};
use windows_sys::Win32::Networking::WinSock as ws;

/// An AF_UNIX stream listener at a fresh path in the check's private directory,
/// listening with `backlog`: what removes the path (first, so that it is
/// dropped last, after the socket), the socket, and the path.
fn path_listener(cx: &mut Ctx, backlog: i32) -> Checked<(PathGuard, Socket, std::path::PathBuf)> {
    let path = cx.path(".sock")?;
    let guard = PathGuard::new(path.clone());
    let listener = unix_socket(ws::SOCK_STREAM, "socket(AF_UNIX, SOCK_STREAM, 0)")?;
    listener
        .bind(&Addr::Path(path.clone()))
        .failed(&format!("bind({})", path.display()))?;
    listener
        .listen(backlog)
        .failed(&format!("listen({backlog})"))?;
    Ok((guard, listener, path))
}

/// The next connection on `listener` within the bound, or a `timeout` that says
/// what should have connected.
fn accept_one(listener: &Socket, who: &str) -> Checked<Socket> {
    match listener.accept_within(BOUND).failed("accept()")? {
        Some(c) => Ok(c),
        None => Err(Observation::timeout(format!(
            "{who} had connected, but accept() found no connection within {BOUND:?}"
        ))),
    }
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
    let mut rx = StreamEndpoint::new(Some(Arc::new(listener)), None)
        .failed("ioctlsocket(FIONBIO) on the listener")?;
    let mut peer = cx.peer(&["endpoint", "unix_stream", "sender", name]);
    peer.command().env_clear();
    // Winsock needs SystemRoot to load its providers.
    if let Some(root) = std::env::var_os("SystemRoot") {
        peer.command().env("SystemRoot", root);
    }
    // A connect refused by name is the answer (say, WSAEINVAL for an abstract
    // name), not a failure of the check.
    let mut peer = match peer.start_or_refused()? {
        ipc_conformance::peer::Started::Ready(p) => p,
        ipc_conformance::peer::Started::Refused { error, .. } => {
            return Ok(Observation::no(format!(
                "{extra}; a fresh peer given only {name:?} could not connect: {error}"
            )));
        }
    };
    let answer = peer.send_data(b"from-peer")?;
    if !answer.is_ok() {
        return Ok(Observation::no(format!(
            "{extra}; a fresh peer given only {name:?} connected but could not send: {answer}"
        )));
    }
    let mut buf = [0u8; 64];
    let Some(got) = rx
        .recv(&mut buf, BOUND)
        .failed("accept + receive on the listener")?
    else {
        return Ok(Observation::timeout(format!(
            "{extra}; a fresh peer (pid {}) given only {name:?} connected and sent 9 bytes; nothing was accepted and received within {BOUND:?}",
            peer.pid()
        )));
    };
    let got = buf[..got].to_vec();
    rx.send(b"to-peer").failed("send the reply")?;
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

/// Passes a marker each way over a channel's two ends in this process.
pub fn exchange(ch: &mut dyn Channel, what: &str, addr: &str) -> Checked<Observation> {
    let mut a = ch.open(Role::Sender).failed("open sending end (FIONBIO)")?;
    let mut b = ch
        .open(Role::Receiver)
        .failed("open receiving end (FIONBIO)")?;
    a.send(b"ping-marker").failed("send A to B")?;
    let mut buf = [0u8; 64];
    let Some(n1) = b.recv(&mut buf, BOUND).failed("receive at B")? else {
        return Err(Observation::timeout(format!(
            "{what} on {addr}: A sent 11 bytes; nothing arrived at B within {BOUND:?}"
        )));
    };
    let got1 = buf[..n1].to_vec();
    b.send(b"pong-marker").failed("send B to A")?;
    let Some(n2) = a.recv(&mut buf, BOUND).failed("receive at A")? else {
        return Err(Observation::timeout(format!(
            "{what} on {addr}: B sent 11 bytes; nothing arrived at A within {BOUND:?}"
        )));
    };
    let got2 = buf[..n2].to_vec();
    Ok(Observation::holds(
        got1 == b"ping-marker" && got2 == b"pong-marker",
        format!(
            "{what} on {addr} through Winsock: A→B received {:?}, B→A received {:?}",
            String::from_utf8_lossy(&got1),
            String::from_utf8_lossy(&got2)
        ),
    ))
}

/// The listener's path exists in the filesystem and a fresh peer given only the
/// path connects and exchanges a marker.
///
/// The socket file is a reparse point (tag IO_REPARSE_TAG_AF_UNIX): `metadata()`,
/// which follows reparse points, fails on it with ERROR_CANT_ACCESS_FILE, and
/// `symlink_metadata()` reads the entry itself (rust-lang/rust#109106; #116683
/// made `try_exists` report it). Only `symlink_metadata()` decides; what
/// `metadata()` says is evidence.
pub fn named_by_path(cx: &mut Ctx) -> Checked<Observation> {
    use std::os::windows::fs::MetadataExt;
    const FILE_ATTRIBUTE_REPARSE_POINT: u32 = 0x400;
    let (_guard, listener, path) = path_listener(cx, 4)?;
    let entry = std::fs::symlink_metadata(&path);
    let followed = match std::fs::metadata(&path) {
        Ok(_) => "metadata() (following reparse points) succeeded".to_owned(),
        Err(e) => format!(
            "metadata() (following reparse points) failed: {}",
            describe_error(&e)
        ),
    };
    let entry_text = match &entry {
        Ok(m) => format!(
            "symlink_metadata() finds a filesystem entry at the path (attributes {:#x}, reparse point: {}); {followed}",
            m.file_attributes(),
            m.file_attributes() & FILE_ATTRIBUTE_REPARSE_POINT != 0
        ),
        Err(e) => format!(
            "symlink_metadata() finds no filesystem entry at the path: {}",
            describe_error(e)
        ),
    };
    exchange_with_fresh_peer(
        cx,
        listener,
        &path.display().to_string(),
        entry.is_ok(),
        entry_text,
    )
}

/// Bind to a name whose first sun_path byte is NUL; yes when bind succeeds,
/// nothing appears in the filesystem, and a fresh peer given only the name
/// connects and exchanges a marker.
///
/// Sources conflict (platforms/windows.toml): the announcement lists abstract
/// addresses, while bind succeeds and connect fails with WSAEINVAL on every
/// build reported so far (microsoft/WSL#4240, open; rust-lang/rust#150487 lists
/// it unresolved). A refusal at any step is the answer `no`, with the error, its
/// code and the Windows build.
pub fn abstract_namespace(cx: &mut Ctx) -> Checked<Observation> {
    let build = windows_build();
    let listener = unix_socket(ws::SOCK_STREAM, "socket(AF_UNIX, SOCK_STREAM, 0)")?;
    let name = ipc_conformance::names::unique();
    if let Err(e) = listener.bind(&Addr::Abstract(name.as_bytes().to_vec())) {
        return Ok(Observation::no(format!(
            "bind to the abstract name \"\\0{name}\" failed on {build}: {}",
            describe_error(&e)
        )));
    }
    if let Err(e) = listener.listen(4) {
        return Ok(Observation::no(format!(
            "bind to \"\\0{name}\" succeeded on {build}, listen failed: {}",
            describe_error(&e)
        )));
    }
    let cwd_entry = std::path::Path::new(&name).exists();
    exchange_with_fresh_peer(
        cx,
        listener,
        &format!("@{name}"),
        !cwd_entry,
        format!(
            "bind(\"\\0{name}\") and listen() succeeded on {build}; a file of that name in the working directory: {cwd_entry}"
        ),
    )
}

/// Winsock has no socketpair(); observed by looking the symbol up in
/// ws2_32.dll.
pub fn socketpair_bidirectional(_cx: &mut Ctx) -> Checked<Observation> {
    let found = winsock::ws2_32_exports(c"socketpair");
    if found {
        Ok(Observation::error(
            "ws2_32.dll exports a socketpair symbol: this check does not know how to call it",
        ))
    } else {
        Ok(Observation::unsupported(format!(
            "no socketpair() on {} ({}): ws2_32.dll exports no such symbol (GetProcAddress returned NULL)",
            ipc_conformance::platform::TARGET,
            windows_build()
        )))
    }
}

pub fn credentials_unforgeable(_cx: &mut Ctx) -> Checked<Observation> {
    Ok(Observation::no_api_because(
        "Winsock has no credential-passing control messages (no SCM_CREDENTIALS, no SCM_CREDS) for a client to forge",
    ))
}

/// The server asks for the client's identity; Windows has
/// `SIO_AF_UNIX_GETPEERPID` (a pid) and no user identity call.
pub fn peer_credentials(cx: &mut Ctx) -> Checked<Observation> {
    let (_guard, listener, path) = path_listener(cx, 4)?;
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
            "the peer connected to {} but could not send: {answer}",
            path.display()
        )));
    }
    let conn = accept_one(&listener, &format!("the peer (pid {})", peer.pid()))?;
    let pid = match afunix::peer_pid(&conn) {
        Ok(pid) => pid,
        Err(e) => {
            return Ok(Observation::no(format!(
                "WSAIoctl(SIO_AF_UNIX_GETPEERPID) failed on {}: {}; Winsock has no call for the peer's user either",
                windows_build(),
                describe_error(&e)
            )));
        }
    };
    Ok(Observation::no(format!(
        "SIO_AF_UNIX_GETPEERPID gave pid {pid} (client peer's pid {}, equal: {}); Winsock offers no call for the peer's user identity (no SO_PEERCRED, no getpeereid), so uid cannot be verified",
        peer.pid(),
        pid == peer.pid()
    )))
}

/// On a connected AF_UNIX socket between two processes, the file calls
/// (ReadFile/WriteFile on the socket's handle) carry data both ways, as
/// read()/write() do on Unix.
///
/// The calls are synchronous (no OVERLAPPED structure), so the sockets are made
/// without WSA_FLAG_OVERLAPPED: a socket from socket(), or WSASocketW with that
/// flag, is an overlapped handle, and ReadFile on such a handle "must point to a
/// valid and unique OVERLAPPED structure, otherwise the function can incorrectly
/// report that the read operation is complete"
/// (learn.microsoft.com/windows/win32/api/fileapi/nf-fileapi-readfile, lpOverlapped).
/// A socket handle takes ReadFile and WriteFile: natively when the provider sets
/// XP1_IFS_HANDLES, through the provider otherwise
/// (learn.microsoft.com/windows/win32/winsock/socket-handles-2); the evidence
/// says which. The read runs once the peer's bytes are queued (FIONREAD), and
/// both calls run on a watchdog thread, so a call that blocks ends in `timeout`.
pub fn read_write_like_pipe(cx: &mut Ctx) -> Checked<Observation> {
    use std::os::windows::io::{AsRawSocket, RawHandle};
    require()?;
    let path = cx.path(".sock")?;
    let mut ch =
        StreamChannel::create_from("unix_stream", Addr::Path(path), Socket::new_synchronous)
            .failed("AF_UNIX listener, connect and accept (sockets without WSA_FLAG_OVERLAPPED)")?;
    let server = ch.server_socket();
    let provider = match server.protocol_info() {
        Ok(info) => format!(
            "the provider \"{}\" {} XP1_IFS_HANDLES (dwServiceFlags1 {:#x})",
            String::from_utf16_lossy(&info.szProtocol)
                .trim_end_matches('\0')
                .to_owned(),
            if info.dwServiceFlags1 & ws::XP1_IFS_HANDLES != 0 {
                "sets"
            } else {
                "does not set"
            },
            info.dwServiceFlags1
        ),
        Err(e) => format!(
            "getsockopt(SO_PROTOCOL_INFOW) failed: {}",
            describe_error(&e)
        ),
    };
    let mut peer = ch
        .peer(cx, Role::Sender)
        .failed("prepare the peer")?
        .start()?;
    server
        .set_nonblocking(false)
        .failed("ioctlsocket(FIONBIO, 0) on the accepted socket")?;
    let answer = peer.send_data(b"peer-wrote")?;
    if !answer.is_ok() {
        return Ok(Observation::error(format!(
            "the peer could not send on its duplicated socket: {answer}"
        )));
    }
    let queued = ipc_conformance::channel::wait_counted(
        || {
            server
                .fionread()
                .map(|n| Some(ipc_conformance::channel::Queued::Bytes(n)))
        },
        |left| {
            std::thread::sleep(left.min(PROBE_PAUSE));
            Ok(false)
        },
        &[10],
        BOUND,
    )
    .failed("ioctlsocket(FIONREAD)")?;
    if let Err(seen) = queued {
        return Ok(Observation::timeout(format!(
            "the peer sent 10 bytes; {seen}"
        )));
    }
    let held = server.clone();
    let calls = ipc_conformance::watchdog::bounded(BOUND, move || {
        let h = held.0.as_raw_socket() as RawHandle;
        let mut buf = [0u8; 64];
        let read = read_once(h, &mut buf).map(|n| buf[..n].to_vec());
        let wrote = write_once(h, b"file-call-wrote");
        (read, wrote)
    });
    let Some((read, wrote)) = calls else {
        return Ok(Observation::timeout(format!(
            "FIONREAD counted the peer's 10 bytes, but a synchronous ReadFile and WriteFile on the accepted socket's handle did not both return within {BOUND:?}; {provider}"
        )));
    };
    let back = peer.recv_data(64)?;
    let ok = matches!(&read, Ok(d) if d == b"peer-wrote")
        && matches!(wrote, Ok(15))
        && back == Answer::Data(b"file-call-wrote".to_vec());
    let read = match &read {
        Ok(d) => format!("{:?}", String::from_utf8_lossy(d)),
        Err(e) => format!("failed: {}", describe_error(e)),
    };
    let wrote = match &wrote {
        Ok(n) => format!("{n} bytes"),
        Err(e) => format!("failed: {}", describe_error(e)),
    };
    Ok(Observation::holds(
        ok,
        format!(
            "sockets made without WSA_FLAG_OVERLAPPED; {provider}; synchronous ReadFile on the accepted socket's handle: {read}; WriteFile: {wrote}; the peer received {back}"
        ),
    ))
}

/// The most path bytes `sun_path[108]` holds with its terminating NUL.
const SUN_PATH_ROOM: usize = 107;

/// What sizeof(sun_path) is, and the longest path bind() accepts, trying every
/// length from the longest that leaves room for the NUL downwards.
pub fn sun_path_max(cx: &mut Ctx) -> Checked<Observation> {
    require()?;
    let dir = cx.dir()?.to_path_buf();
    // Bytes of the directory and its separator, as UTF-8 (the encoding of sun_path).
    let base = dir.to_string_lossy().len() + 1;
    if base + 8 > SUN_PATH_ROOM {
        return Ok(Observation::skipped(format!(
            "the private directory {} takes {base} bytes of sun_path[108], leaving no room for a socket name",
            dir.display()
        )));
    }
    let mut longest = 0usize;
    let mut refused: Option<(usize, String)> = None;
    for total in (base + 1..=SUN_PATH_ROOM).rev() {
        let path = dir.join("p".repeat(total - base));
        // The guard before the socket: the socket closes before its file goes.
        let _guard = PathGuard::new(path.clone());
        let s = unix_socket(ws::SOCK_STREAM, "socket(AF_UNIX, SOCK_STREAM, 0)")?;
        match s.bind(&Addr::Path(path)) {
            Ok(()) => {
                longest = total;
                break;
            }
            Err(e) => refused = Some((total, describe_error(&e))),
        }
    }
    let build = windows_build();
    if longest == 0 {
        return Ok(Observation::error(format!(
            "bind() refused every path of {}..={SUN_PATH_ROOM} bytes under {} on {build}; the shortest was refused with {}",
            base + 1,
            dir.display(),
            refused.map(|(_, e)| e).unwrap_or_default()
        )));
    }
    let next = match refused {
        Some((len, e)) => format!("a {len}-byte path was refused with {e}"),
        None => format!(
            "{SUN_PATH_ROOM} bytes is the most that leaves room for the terminating NUL, so no longer path was tried"
        ),
    };
    Ok(Observation::measured(format!(
        "sizeof(sun_path) = 108 (afunix.h, UNIX_PATH_MAX); in {} ({base} bytes with the separator) on {build}, the longest path bind() accepted was {longest} bytes; {next}",
        dir.display()
    ))
    .with("sun_path_size", 108.0, "bytes")
    .with("longest_bound_path", longest as f64, "bytes"))
}

/// SO_SNDBUF and SO_RCVBUF of a fresh socket. An option the AF_UNIX provider
/// does not have (WSAENOPROTOOPT: "unknown or unsupported for the specified
/// provider") is `unsupported`; any other failure an error naming the call.
pub fn default_buffer_sizes(_cx: &mut Ctx) -> Checked<Observation> {
    let s = unix_socket(ws::SOCK_STREAM, "socket(AF_UNIX, SOCK_STREAM, 0)")?;
    let get = |name: i32, what: &str| -> Checked<i32> {
        s.option(ws::SOL_SOCKET, name).map_err(|e| {
            let call = format!("getsockopt(SOL_SOCKET, {what}) on an AF_UNIX stream socket");
            if e.raw_os_error() == Some(ws::WSAENOPROTOOPT) {
                Observation::unsupported(format!(
                    "{call}: {} on {}: the provider has no such option",
                    describe_error(&e),
                    windows_build()
                ))
            } else {
                winsock::failure(&call, &e)
            }
        })
    };
    let snd = get(ws::SO_SNDBUF, "SO_SNDBUF")?;
    let rcv = get(ws::SO_RCVBUF, "SO_RCVBUF")?;
    if snd <= 0 || rcv <= 0 {
        return Ok(Observation::error(format!(
            "absurd buffer sizes SO_SNDBUF {snd}, SO_RCVBUF {rcv}"
        )));
    }
    Ok(Observation::measured(format!(
        "a fresh AF_UNIX SOCK_STREAM socket on {}: SO_SNDBUF = {snd}, SO_RCVBUF = {rcv}",
        windows_build()
    ))
    .with("so_sndbuf", f64::from(snd), "bytes")
    .with("so_rcvbuf", f64::from(rcv), "bytes"))
}

/// One listener, N peers connect by path and send their id; the server replies
/// to each; yes when each gets exactly its own reply.
pub fn many_clients(cx: &mut Ctx) -> Checked<Observation> {
    const N: usize = 3;
    let (_guard, listener, path) = path_listener(cx, 8)?;
    let name = path.display().to_string();
    let mut peers = Vec::new();
    for i in 0..N {
        let mut p = cx
            .peer(&["endpoint", "unix_stream", "sender", &name])
            .start()?;
        let a = p.send_data(format!("client-{i}").as_bytes())?;
        if !a.is_ok() {
            return Ok(Observation::error(format!(
                "client {i} connected but could not send: {a}"
            )));
        }
        peers.push(p);
    }
    let mut served = Vec::new();
    for i in 0..N {
        let c = accept_one(&listener, &format!("{N} clients ({i} accepted so far)"))?;
        let mut ep = StreamEndpoint::new(None, Some(Arc::new(c)))
            .failed("ioctlsocket(FIONBIO) on an accepted socket")?;
        let mut buf = [0u8; 64];
        let Some(n) = ep.recv(&mut buf, BOUND).failed("receive a client's id")? else {
            return Ok(Observation::timeout(format!(
                "connection {} was accepted, but its client's id did not arrive within {BOUND:?}",
                i + 1
            )));
        };
        let id = String::from_utf8_lossy(&buf[..n]).into_owned();
        ep.send(format!("reply-to-{id}").as_bytes())
            .failed("send the reply")?;
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
            "{N} peer processes connected to one listener on {name} and sent their ids; the server accepted {} connections and replied to each id; {ok} of {N} clients received exactly their own reply ({})",
            served.len(),
            answers.join(", ")
        ),
    ))
}

pub fn socket_handover(cx: &mut Ctx) -> Checked<Observation> {
    let path = cx.path(".sock")?;
    listener_handover(cx, Addr::Path(path))
}

/// Server A (a peer) listens at `addr`; a client connects before the handover
/// and A serves it; new server B starts; a client connects during the handover;
/// A duplicates its listening socket for B (WSADuplicateSocketW) and exits; a
/// client connects after; B takes the socket and accepts. Yes when every
/// connect succeeds, the first client is served by A and the other two by B. A
/// client refused during or after the handover is the answer `no`; a failure
/// before it, or of the duplication, is an error naming the call. The
/// underlying socket stays open while any descriptor of it does
/// (learn.microsoft.com/windows/win32/api/winsock2/nf-winsock2-wsaduplicatesocketw).
fn listener_handover(cx: &mut Ctx, addr: Addr) -> Checked<Observation> {
    Socket::new(addr.family(), ws::SOCK_STREAM)
        .map_err(|e| classify("socket(AF_UNIX, SOCK_STREAM, 0)", &e))?;
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
    // A path is known here; only a TCP port 0 needs A's account of its address.
    let target = match &addr {
        Addr::Inet(_) => Addr::parse("unix_stream", &name).map_err(|e| {
            Observation::error(format!("server A reported the address {name:?}: {e}"))
        })?,
        other => other.clone(),
    };
    let connect = || -> io::Result<Socket> {
        let c = Socket::new(target.family(), ws::SOCK_STREAM)?;
        c.connect(&target)?;
        Ok(c)
    };
    let refused = |what: &str, e: io::Error| {
        Observation::no(format!(
            "{what} to {} was refused on {}: {}",
            target.to_arg(),
            windows_build(),
            describe_error(&e)
        ))
    };
    let a_pid = a.pid();
    let c1 = connect().failed(&format!("connect({}) before the handover", target.to_arg()))?;
    let r1 = a.request(&ServerCommand::Accept.to_string())?;
    let first = winsock::read_to_end_bounded(&c1);
    let mut b = cx.peer(&["win-afunix-server", "handed"]).spawn()?;
    let b_pid = b.pid();
    let c2 = connect().map_err(|e| refused("a connect during the handover", e))?;
    let given = a.request(&ServerCommand::Give { pid: b_pid }.to_string())?;
    let Ok(ServerAnswer::Info(info)) = ServerAnswer::from_line(&given) else {
        return Ok(Observation::error(format!(
            "server A could not hand its listening socket to B (pid {b_pid}): {given}"
        )));
    };
    let (a_status, _) = a.finish()?;
    let c3 = connect().map_err(|e| refused("a connect after the old server exited", e))?;
    b.send_line(&HandoverLine::Socket(info).to_string())?;
    let b_ready = b.line(BOUND)?;
    let r2 = b.request(&ServerCommand::Accept.to_string())?;
    let r3 = b.request(&ServerCommand::Accept.to_string())?;
    let (second, third) = (
        winsock::read_to_end_bounded(&c2),
        winsock::read_to_end_bounded(&c3),
    );
    let by_a = format!("served-by {a_pid}");
    let by_b = format!("served-by {b_pid}");
    Ok(Observation::holds(
        first == by_a && second == by_b && third == by_b && a_status.success(),
        format!(
            "old server A (pid {a_pid}) listened at {name}; client 1 connected before the handover and got {first:?} ({r1}); client 2 connected while A still held the socket; A duplicated the listening socket for new server B (pid {b_pid}) with WSADuplicateSocketW and exited ({a_status}); client 3 connected after that; B: {b_ready:?}, {r2}, {r3}; client 2 got {second:?}, client 3 got {third:?}"
        ),
    ))
}
