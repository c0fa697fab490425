//! Unix domain stream sockets on Unix: the observations of the `unix_stream.*`
//! claims, through the sockets API (`mech::socket`, `mech::unix_stream`).
//! Included by suites/unix_stream.rs, whose tests call them as
//! `os::<property>`.

use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::Path;

use ipc_conformance::channel::Endpoint;
use ipc_conformance::check::Ctx;
use ipc_conformance::mech::socket::{Addr, Conn, Listener, StreamEndpoint, recv_exact, socketpair};
use ipc_conformance::mech::unix_stream::{
    Forged, HandoverAnswer, HandoverCommand, bind_unix_bytes, enable_passcred, peer_cred,
    recv_with_creds, sun_path_size,
};
use ipc_conformance::peer::Peer;
use ipc_conformance::peer::endpoint_protocol::Answer;
use ipc_conformance::peer::wire::WireLine;
use ipc_conformance::watchdog::BOUND;
use ipc_conformance::{Checked, Observation, Step};
use nix::sys::socket::SockType;

/// A listener on a fresh path in the check's private directory.
fn listen(cx: &mut Ctx) -> Checked<(Listener, std::path::PathBuf)> {
    let path = cx.path("")?;
    let (l, _) = Listener::bind(&Addr::Path(path.clone())).step("bind() and listen()")?;
    l.set_nonblocking(true).step("O_NONBLOCK")?;
    Ok((l, path))
}

fn accept(l: &Listener) -> Checked<StreamEndpoint> {
    match l.accept_within(BOUND).step("accept()")? {
        Some(c) => StreamEndpoint::new(c).step("O_NONBLOCK"),
        None => Err(Observation::timeout(format!(
            "no connection to accept within {BOUND:?}"
        ))),
    }
}

/// Accepts the connection of process `pid`, dropping any other process's
/// that came first: an abstract name has no permissions, so any local user
/// could connect to it (checked with the peer's credentials, bounded).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn accept_from(l: &Listener, pid: u32) -> Checked<StreamEndpoint> {
    let deadline = std::time::Instant::now() + BOUND;
    let mut strangers = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let Some(c) = l.accept_within(left).step("accept()")? else {
            return Err(Observation::timeout(format!(
                "no connection from pid {pid} to accept within {BOUND:?} (dropped connections of {strangers:?})"
            )));
        };
        let cred = peer_cred(c.as_fd()).step("query the peer's credentials")?;
        if cred.pid == Some(pid as i32) {
            return StreamEndpoint::new(c).step("O_NONBLOCK");
        }
        strangers.push(cred.pid);
    }
}

/// A peer that connects to `name` knowing nothing else (empty environment).
fn connecting_peer(cx: &Ctx, name: &str) -> Checked<Peer> {
    let mut cmd = cx.peer(&["endpoint", "unix_stream", "sender", name]);
    cmd.command().env_clear();
    Ok(cmd.start()?)
}

/// One marker each way between this process (`ep`) and a protocol peer.
fn exchange(ep: &mut dyn Endpoint, peer: &mut Peer) -> Checked<(bool, String)> {
    let answer = peer.send_data(b"from-peer")?;
    if !answer.is_ok() {
        return Ok((false, format!("the peer could not send: {answer}")));
    }
    let got = recv_exact(ep, 9, BOUND).step("receive")?;
    ep.send(b"from-here").step("send")?;
    let back = peer.recv_data(64)?;
    let back = match back {
        Answer::Data(d) => d,
        other => other.to_string().into_bytes(),
    };
    Ok((
        got == b"from-peer" && back == b"from-here",
        format!(
            "this process received {:?} from the peer, which received {:?}",
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&back)
        ),
    ))
}

pub fn named_by_path(cx: &mut Ctx) -> Checked<Observation> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let (l, path) = listen(cx)?;
    let meta = std::fs::symlink_metadata(&path).step("lstat() the path")?;
    let is_socket = meta.file_type().is_socket();
    let name = path.display().to_string();
    let mut peer = connecting_peer(cx, &name)?;
    let mut ep = accept(&l)?;
    let (ok, how) = exchange(&mut ep, &mut peer)?;
    Ok(Observation::holds(
        is_socket && ok,
        format!(
            "bind() to {name}: lstat() reports a socket: {is_socket} (mode {:o}); a fresh process given only the path (pid {}) connected; {how}",
            meta.permissions().mode(),
            peer.pid()
        ),
    ))
}

pub fn abstract_namespace(cx: &mut Ctx) -> Checked<Observation> {
    let name = ipc_conformance::names::unique();
    let places = [
        std::env::current_dir().step("cwd")?,
        std::path::PathBuf::from("/"),
        std::env::temp_dir(),
        cx.dir()?.to_path_buf(),
    ];
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "android"))] {
            let (l, _) = Listener::bind(&Addr::Abstract(name.clone().into_bytes()))
                .step("bind() to an abstract name")?;
            l.set_nonblocking(true).step("O_NONBLOCK")?;
            let in_fs: Vec<String> = places
                .iter()
                .map(|d| d.join(&name))
                .filter(|p| p.exists())
                .map(|p| p.display().to_string())
                .collect();
            let proc_listed = std::fs::read_to_string("/proc/net/unix")
                .map(|t| t.lines().any(|line| line.ends_with(&format!("@{name}"))))
                .unwrap_or(false);
            let mut peer = connecting_peer(cx, &format!("@{name}"))?;
            let mut ep = accept_from(&l, peer.pid())?;
            let (ok, how) = exchange(&mut ep, &mut peer)?;
            Ok(Observation::holds(
                ok && in_fs.is_empty(),
                format!(
                    "bind() to \"\\0{name}\" succeeded; /proc/net/unix lists @{name}: {proc_listed}; entries named {name} in {}: {in_fs:?}; a fresh process given only \"@{name}\" connected; {how}",
                    places.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
                ),
            ))
        } else {
            // No abstract namespace in the API: try the Linux encoding (a
            // sun_path whose first byte is NUL) and report what bind() does.
            let _ = &places;
            let fd = ipc_conformance::mech::socket::socket(
                nix::sys::socket::AddressFamily::Unix,
                SockType::Stream,
            )
            .step("socket()")?;
            let mut bytes = vec![0u8];
            bytes.extend_from_slice(name.as_bytes());
            match bind_unix_bytes(fd.as_fd(), &bytes) {
                Err(e) => Ok(Observation::no(format!(
                    "bind() with sun_path = NUL followed by {name:?}: {}: no abstract namespace",
                    ipc_conformance::observe::describe_io_error(&e)
                ))),
                Ok(()) => Ok(Observation::error(format!(
                    "bind() accepted a sun_path beginning with NUL ({name:?} after it); what it named is unknown"
                ))),
            }
        }
    }
}

pub fn socketpair_bidirectional(cx: &mut Ctx) -> Checked<Observation> {
    let (mine, theirs) = socketpair(SockType::Stream).step("socketpair()")?;
    let mut child = cx
        .peer(&["endpoint", "unix_stream", "receiver", "fd"])
        .handover(theirs.as_fd(), 3)
        .start()?;
    drop(theirs);
    let mut ep = StreamEndpoint::new(Conn::Unix(UnixStream::from(mine))).step("O_NONBLOCK")?;
    ep.send(b"parent-to-child").step("parent send")?;
    let down = child.recv_data(64)?.into_data().unwrap_or_default();
    let answer = child.send_data(b"child-to-parent")?;
    let up = recv_exact(&mut ep, 15, BOUND).step("parent receive")?;
    Ok(Observation::holds(
        down == b"parent-to-child" && up == b"child-to-parent",
        format!(
            "one socketpair(AF_UNIX, SOCK_STREAM) call; the child (pid {}) holding one end received {:?}; its send: {answer}; the parent received {:?}",
            child.pid(),
            String::from_utf8_lossy(&down),
            String::from_utf8_lossy(&up)
        ),
    ))
}

pub fn many_clients(cx: &mut Ctx) -> Checked<Observation> {
    const CLIENTS: usize = 4;
    let (l, path) = listen(cx)?;
    let name = path.display().to_string();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(connecting_peer(cx, &name)?);
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let answer = c.send_data(format!("client-{i}").as_bytes())?;
        if !answer.is_ok() {
            return Ok(Observation::error(format!("client {i}: {answer}")));
        }
    }
    // The server: accept every connection, read who it is, answer it alone.
    let mut served = Vec::new();
    for _ in 0..CLIENTS {
        let mut conn = accept(&l)?;
        let id = recv_exact(&mut conn, "client-0".len(), BOUND).step("read the client's id")?;
        let id = String::from_utf8_lossy(&id).into_owned();
        conn.send(format!("reply-to-{id}").as_bytes())
            .step("reply")?;
        served.push(id);
    }
    let mut right = 0;
    let mut got = Vec::new();
    for (i, c) in clients.iter_mut().enumerate() {
        let text = match c.recv_data(64)? {
            Answer::Data(d) => String::from_utf8_lossy(&d).into_owned(),
            other => other.to_string(),
        };
        if text == format!("reply-to-client-{i}") {
            right += 1;
        }
        got.push(text);
    }
    Ok(Observation::holds(
        right == CLIENTS,
        format!(
            "{CLIENTS} client processes connected to one listener at once; the server accepted {} connections from {served:?} and answered each on its own connection; the clients received {got:?}: {right} of {CLIENTS} got exactly their own reply",
            served.len()
        ),
    ))
}

pub fn peer_credentials(cx: &mut Ctx) -> Checked<Observation> {
    let (l, path) = listen(cx)?;
    let peer = connecting_peer(cx, &path.display().to_string())?;
    let conn = accept(&l)?;
    let cred = peer_cred(conn.conn.as_fd()).step("query the peer's credentials")?;
    let (pid, uid) = (peer.pid() as i32, nix::unistd::getuid().as_raw());
    let pid_ok = cred.pid.is_none_or(|p| p == pid);
    Ok(Observation::holds(
        pid_ok && cred.uid == uid,
        format!(
            "on the accepted connection, {cred}; the connecting process is pid {pid}, uid {uid} (this server: pid {})",
            std::process::id()
        ),
    ))
}

/// A private directory an unprivileged sender can reach: under /tmp rather
/// than $TMPDIR, which may be private to root; where /tmp cannot hold one (a
/// container's read-only root filesystem), under $TMPDIR if every directory
/// above it lets other users through. Else why not.
fn sender_dir() -> Result<tempfile::TempDir, String> {
    use std::os::unix::fs::PermissionsExt;
    let make = |base: &Path| {
        tempfile::Builder::new()
            .prefix(&format!(
                "{}{}-",
                ipc_conformance::names::PREFIX,
                std::process::id()
            ))
            .tempdir_in(base)
    };
    let tmp = Path::new("/tmp");
    let tmp_err = if tmp.is_dir() {
        match make(tmp) {
            Ok(d) => return Ok(d),
            Err(e) => format!("/tmp: {e}"),
        }
    } else {
        "/tmp does not exist".to_owned()
    };
    let base = std::env::temp_dir();
    let closed = base
        .ancestors()
        .find(|a| std::fs::metadata(a).map_or(true, |m| m.permissions().mode() & 0o001 == 0));
    if let Some(closed) = closed {
        return Err(format!(
            "no directory the unprivileged sender can reach: {tmp_err}, and {} (the temporary directory {}) is closed to other users",
            closed.display(),
            base.display()
        ));
    }
    make(&base).map_err(|e| {
        format!(
            "no directory the unprivileged sender can reach: {tmp_err}; {}: {e}",
            base.display()
        )
    })
}

pub fn credentials_unforgeable(cx: &mut Ctx) -> Checked<Observation> {
    // When root, the sender drops to a uid no account uses, so no other
    // local user can reach its directory or the socket in it.
    let other = ipc_conformance::names::unused_uid();
    let root = nix::unistd::geteuid().is_root();
    // As root the sender gives up root first (root may claim any ids); it
    // then needs a directory of its own to reach the socket.
    let own_dir = if root {
        let d = match sender_dir() {
            Ok(d) => d,
            Err(why) => return Ok(Observation::skipped(why)),
        };
        std::os::unix::fs::chown(d.path(), Some(other), Some(other))
            .map_err(|e| ipc_conformance::precondition::uid_mapping(e, other))
            .step("chown the directory")?;
        Some(d)
    } else {
        None
    };
    let dir = match &own_dir {
        Some(d) => d.path().to_path_buf(),
        None => cx.dir()?.to_path_buf(),
    };
    let path = dir.join(ipc_conformance::names::unique());
    let (l, _) = Listener::bind(&Addr::Path(path.clone())).step("bind() and listen()")?;
    let _guard = ipc_conformance::names::PathGuard::new(&path);
    if root {
        std::os::unix::fs::chown(&path, Some(other), Some(other)).step("chown the socket")?;
    }
    l.set_nonblocking(true).step("O_NONBLOCK")?;
    enable_passcred(l.as_fd()).step("SO_PASSCRED")?;
    let name = path.display().to_string();
    let ids = other.to_string();
    let mut args = vec!["unix_stream-forge", name.as_str()];
    if root {
        args.extend([ids.as_str(), ids.as_str()]);
    }
    let mut peer = cx.peer(&args).spawn()?;
    // The sender connects and sends before anything is accepted: the
    // connection waits in the backlog, the data in its buffer.
    let result = peer.line(BOUND)?;
    if result.starts_with("err") && result.contains("dropping to") {
        return Ok(Observation::skipped(format!(
            "the sender could not give up root (setgroups/setgid/setuid refused): {result}"
        )));
    }
    let Ok(forged) = Forged::from_line(&result) else {
        return Ok(Observation::error(format!(
            "the sender answered {result:?}"
        )));
    };
    let conn = accept(&l)?;
    enable_passcred(conn.conn.as_fd()).step("SO_PASSCRED")?;
    let (sender_uid, sent) = (forged.uid, forged.bytes);
    if sender_uid == 0 {
        return Ok(Observation::error(format!(
            "the sender still runs as root: {result}"
        )));
    }
    // Not even the sender's own, true credentials could be sent: the
    // platform has no credential messages at all (macOS's kernel takes
    // SCM_RIGHTS only), so there is nothing to forge and nothing for a
    // server to check: unsupported, as on Windows, with the errors.
    if forged.own != "ok" {
        return Ok(Observation::unsupported(format!(
            "no credential message can be sent: sender pid {}, uid {sender_uid}, its tries (claiming pid 1 with uid 0, pid 1, then its own ids): {result}",
            peer.pid()
        )));
    }
    // Everything the sender got through, and the credentials attached to it.
    let mut creds = Vec::new();
    let mut received = 0;
    let mut buf = [0u8; 256];
    let deadline = std::time::Instant::now() + BOUND;
    while received < sent {
        match recv_with_creds(conn.conn.as_fd(), &mut buf) {
            Ok((0, _)) => break,
            Ok((n, c)) => {
                received += n;
                creds.extend(c);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if !conn
                    .conn
                    .wait(ipc_conformance::mech::socket::Interest::Read, left)
                    .step("poll")?
                {
                    break;
                }
            }
            Err(e) => return Err(Observation::from_io_error("recvmsg()", &e)),
        }
    }
    let kernel = peer_cred(conn.conn.as_fd()).step("query the peer's credentials")?;
    let pid = peer.pid() as i32;
    let forged_seen: Vec<_> = creds
        .iter()
        .filter(|&&(p, u)| p != pid || u != sender_uid)
        .collect();
    let kernel_true = kernel.uid == sender_uid && kernel.pid.is_none_or(|p| p == pid);
    let tries = forged.tries();
    Ok(Observation::holds(
        forged_seen.is_empty() && kernel_true && received == sent,
        format!(
            "sender pid {pid}, uid {sender_uid}{}; its sends claiming other ids (pid 1, uid 0): {tries}; the server received {received} of {sent} bytes carrying credentials {creds:?}, {} of them not the sender's; on the connection {kernel}",
            if root {
                " (dropped from root before connecting)"
            } else {
                ""
            },
            forged_seen.len()
        ),
    ))
}

pub fn socket_handover(cx: &mut Ctx) -> Checked<Observation> {
    let path = cx.path("")?;
    let name = path.display().to_string();
    let (to_a, to_b) = socketpair(SockType::Stream).step("socketpair() between the servers")?;
    let mut a = cx
        .peer(&["unix_stream-handover", &name])
        .handover(to_a.as_fd(), 3)
        .start()?;
    let a_pid = a.pid();
    let connect = |what: &str| -> Checked<UnixStream> {
        let c = UnixStream::connect(Path::new(&name)).step(what)?;
        c.set_read_timeout(Some(BOUND)).step("SO_RCVTIMEO")?;
        Ok(c)
    };
    let served_by = |mut c: UnixStream| -> String {
        use std::io::Read;
        let mut s = String::new();
        match c.read_to_string(&mut s) {
            Ok(_) => s,
            Err(e) => format!("read: {e}"),
        }
    };
    // Before: A serves.
    let c1 = connect("connect before the handover")?;
    let r = a.exchange::<HandoverAnswer>(&HandoverCommand::Accept, BOUND)?;
    let first = served_by(c1);
    // During: B is started; a client connects while A still holds the socket.
    let mut b = cx
        .peer(&["unix_stream-handover"])
        .handover(to_b.as_fd(), 3)
        .start()?;
    let b_pid = b.pid();
    let c2 = connect("connect during the handover")?;
    let given = a.exchange::<HandoverAnswer>(&HandoverCommand::Give, BOUND)?;
    let (a_status, _) = a.finish()?;
    // After: A has exited; the socket is in flight, then B's.
    let c3 = connect("connect after the old server exited")?;
    let taken = b.exchange::<HandoverAnswer>(&HandoverCommand::Take, BOUND)?;
    let r2 = b.exchange::<HandoverAnswer>(&HandoverCommand::Accept, BOUND)?;
    let r3 = b.exchange::<HandoverAnswer>(&HandoverCommand::Accept, BOUND)?;
    let (second, third) = (served_by(c2), served_by(c3));
    let by_a = format!("served-by {a_pid}");
    let by_b = format!("served-by {b_pid}");
    Ok(Observation::holds(
        first == by_a && second == by_b && third == by_b && a_status.success(),
        format!(
            "old server A (pid {a_pid}) bound {name}; client 1 connected before the handover and got {first:?} ({r}); client 2 connected while A still held the socket; A sent the listening socket to new server B (pid {b_pid}) with SCM_RIGHTS ({given}) and exited ({a_status}); client 3 connected after that; B: {taken}, {r2}, {r3}; client 2 got {second:?}, client 3 got {third:?}"
        ),
    ))
}

pub fn read_write_like_pipe(cx: &mut Ctx) -> Checked<Observation> {
    let (l, path) = listen(cx)?;
    let mut peer = cx
        .peer(&["unix_stream-rw", &path.display().to_string()])
        .start()?;
    let conn = match l.accept_within(BOUND).step("accept()")? {
        Some(Conn::Unix(s)) => s,
        _ => {
            return Ok(Observation::timeout(format!(
                "no connection within {BOUND:?}"
            )));
        }
    };
    conn.set_nonblocking(false).step("blocking mode")?;
    conn.set_read_timeout(Some(BOUND)).step("SO_RCVTIMEO")?;
    conn.set_write_timeout(Some(BOUND)).step("SO_SNDTIMEO")?;
    let mut line = ipc_conformance::names::random_hex(3000).into_bytes();
    line.push(b'\n');
    let mut done = 0;
    while done < line.len() {
        done += nix::unistd::write(&conn, &line[done..]).step("write()")?;
    }
    let mut want = b"echo:".to_vec();
    want.extend_from_slice(&line);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < want.len() {
        match nix::unistd::read(&conn, &mut buf).step("read()")? {
            0 => break,
            n => got.extend_from_slice(&buf[..n]),
        }
    }
    let report = peer.line(BOUND)?;
    Ok(Observation::holds(
        got == want,
        format!(
            "this process wrote a {}-byte line with write() on the accepted socket; the peer (pid {}), using only read() and write() on its connected socket, answered {report:?}; read() here returned {} bytes, {} the expected echo",
            line.len(),
            peer.pid(),
            got.len(),
            if got == want { "exactly" } else { "not" }
        ),
    ))
}

// --------------------------------------------------------------- facts

pub fn sun_path_max(cx: &mut Ctx) -> Checked<Observation> {
    let size = sun_path_size();
    // The bisection needs a directory whose path leaves room below
    // sizeof(sun_path). A long TMPDIR (macOS's /var/folders/.../T/ is
    // about 50 bytes) does not: then a private 0700 directory under /tmp.
    let tmp_dir = cx.dir()?.to_path_buf();
    let short_dir = if tmp_dir.as_os_str().len() + 40 >= size {
        let d = tempfile::Builder::new()
            .prefix(&format!(
                "{}{}-",
                ipc_conformance::names::PREFIX,
                std::process::id()
            ))
            .tempdir_in("/tmp")
            .map_err(|e| {
                Observation::skipped(format!(
                    "the temporary directory {} is too long for a socket path below sizeof(sun_path) = {size}, and /tmp has no room for a private directory: {e}",
                    tmp_dir.display()
                ))
            })?;
        if d.path().as_os_str().len() + 40 >= size {
            return Ok(Observation::skipped(format!(
                "no directory with a path short enough below sizeof(sun_path) = {size}: {} and {}",
                tmp_dir.display(),
                d.path().display()
            )));
        }
        Some(d)
    } else {
        None
    };
    let dir = short_dir
        .as_ref()
        .map_or(tmp_dir, |d| d.path().to_path_buf());
    let dir_len = dir.as_os_str().len();
    // Does bind() accept a path of exactly `len` bytes (no NUL counted)?
    let try_len = |len: usize| -> Checked<Result<(), String>> {
        let mut name = format!("{}/{}", dir.display(), ipc_conformance::names::unique());
        if name.len() > len {
            return Err(Observation::error(format!(
                "cannot make a {len}-byte path in {}",
                dir.display()
            )));
        }
        while name.len() < len {
            name.push('x');
        }
        let fd = ipc_conformance::mech::socket::socket(
            nix::sys::socket::AddressFamily::Unix,
            SockType::Stream,
        )
        .step("socket()")?;
        let r = bind_unix_bytes(fd.as_fd(), name.as_bytes());
        let _ = std::fs::remove_file(&name);
        Ok(r.map_err(|e| ipc_conformance::observe::describe_io_error(&e)))
    };
    let mut lo = dir_len + 40;
    if let Err(e) = try_len(lo)? {
        return Ok(Observation::error(format!(
            "a {lo}-byte path was refused: {e}"
        )));
    }
    let mut hi = 254;
    let mut refusal = match try_len(hi - 1)? {
        Ok(()) => {
            return Ok(Observation::measured(format!(
                "sizeof(sun_path) = {size}; bind() accepted a {}-byte path, the most this check tries",
                hi - 1
            ))
            .with("sun_path_size", size as f64, "bytes")
            .with("longest_bind_path", (hi - 1) as f64, "bytes"));
        }
        Err(e) => {
            hi -= 1;
            e
        }
    };
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        match try_len(mid)? {
            Ok(()) => lo = mid,
            Err(e) => {
                hi = mid;
                refusal = e;
            }
        }
    }
    if !(80..=253).contains(&lo) || !(90..=256).contains(&size) {
        return Ok(Observation::error(format!(
            "implausible: sizeof(sun_path) = {size}, longest accepted path {lo}"
        )));
    }
    Ok(Observation::measured(format!(
        "sizeof(sun_path) = {size}; bind() accepted an absolute path of {lo} bytes (no NUL counted) and refused {hi} bytes with {refusal}"
    ))
    .with("sun_path_size", size as f64, "bytes")
    .with("longest_bind_path", lo as f64, "bytes"))
}

pub fn default_buffer_sizes(_cx: &mut Ctx) -> Checked<Observation> {
    let fd = ipc_conformance::mech::socket::socket(
        nix::sys::socket::AddressFamily::Unix,
        SockType::Stream,
    )
    .step("socket()")?;
    let (snd, rcv) = ipc_conformance::mech::socket::buffer_sizes(fd.as_fd())
        .step("getsockopt(SO_SNDBUF, SO_RCVBUF)")?;
    if !(1..1 << 30).contains(&snd) || !(1..1 << 30).contains(&rcv) {
        return Ok(Observation::error(format!(
            "implausible buffer sizes: SO_SNDBUF {snd}, SO_RCVBUF {rcv}"
        )));
    }
    let mut detail =
        format!("a fresh socket(AF_UNIX, SOCK_STREAM): SO_SNDBUF = {snd}, SO_RCVBUF = {rcv}");
    if cfg!(any(target_os = "linux", target_os = "android")) {
        for knob in ["wmem_default", "rmem_default"] {
            if let Ok(v) = std::fs::read_to_string(format!("/proc/sys/net/core/{knob}")) {
                detail.push_str(&format!("; net.core.{knob} = {}", v.trim()));
            }
        }
    }
    Ok(Observation::measured(detail)
        .with("so_sndbuf", snd as f64, "bytes")
        .with("so_rcvbuf", rcv as f64, "bytes"))
}
