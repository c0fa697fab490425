//! Unix domain sequenced-packet sockets: every `unix_seqpacket.*` claim of the
//! catalog.
//!
//! The guide recommends them for structured messages: "Unix domain socket
//! (SEQPACKET) | Message boundaries + connection semantics". Not every system
//! has them: socket() itself says so at run time.
//!
//! Each claim is one test. Where Unix and Windows observe it differently, the
//! test is `check!("<id>", os::<property>)`, `os` being this target's module
//! of observations: `unix` or `windows`, below. Claims only Unix has are tests
//! in `unix`.

use ipc_conformance::check;

ipc_conformance::suite!();

#[test]
fn available() {
    check!("unix_seqpacket.available", os::available);
}

// ------------------------------------------------------------------------ Unix

#[cfg(unix)]
use unix as os;

#[cfg(unix)]
mod unix {
    use super::*;
    use ipc_conformance::{Checked, Observation, Step};
    use std::os::fd::OwnedFd;
    use std::path::Path;

    use ipc_conformance::channel::Endpoint;
    use ipc_conformance::channel::fd::FdEndpoint;
    use ipc_conformance::check::Ctx;
    use ipc_conformance::mech::unix_seqpacket::{accept_within, connect, listen_at};
    use ipc_conformance::peer::Peer;
    use ipc_conformance::watchdog::BOUND;

    /// A SOCK_SEQPACKET listener on a fresh path. socket() refusing the type
    /// (EPROTONOSUPPORT, ESOCKTNOSUPPORT, EPROTOTYPE) means the type is absent.
    pub fn listener(cx: &mut Ctx) -> Checked<(OwnedFd, std::path::PathBuf)> {
        let path = cx.path("")?;
        match listen_at(&path) {
            Ok(fd) => Ok((fd, path)),
            Err(e) if e.raw_os_error() == Some(libc::EPROTOTYPE) => {
                Err(Observation::unsupported(format!(
                    "socket(AF_UNIX, SOCK_SEQPACKET) and bind(): {}",
                    ipc_conformance::observe::describe_io_error(&e)
                )))
            }
            Err(e) => Err(Observation::from_io_error(
                "socket(AF_UNIX, SOCK_SEQPACKET), bind(), listen()",
                &e,
            )),
        }
    }

    pub fn accept(l: &OwnedFd) -> Checked<FdEndpoint> {
        match accept_within(l, BOUND).step("accept()")? {
            Some(fd) => FdEndpoint::new(fd).step("O_NONBLOCK"),
            None => Err(Observation::timeout(format!(
                "no connection within {BOUND:?}"
            ))),
        }
    }

    /// A peer that connects to the path and serves the endpoint protocol.
    pub fn connecting_peer(cx: &Ctx, path: &Path) -> Checked<Peer> {
        Ok(cx
            .peer(&[
                "endpoint",
                "unix_seqpacket",
                "sender",
                &path.display().to_string(),
            ])
            .start()?)
    }

    pub fn recv_one(ep: &mut FdEndpoint) -> Checked<Option<Vec<u8>>> {
        let mut buf = [0u8; 64];
        Ok(ep
            .recv(&mut buf, BOUND)
            .step("recv() into 64 bytes")?
            .map(|n| buf[..n].to_vec()))
    }

    pub fn available(cx: &mut Ctx) -> Checked<Observation> {
        let (l, path) = listener(cx)?;
        let mut client = FdEndpoint::new(connect(&path).step("connect()")?).step("O_NONBLOCK")?;
        let mut server = accept(&l)?;
        client.send(b"packet-up").step("client send")?;
        let up = recv_one(&mut server)?;
        server.send(b"packet-down").step("server send")?;
        let down = recv_one(&mut client)?;
        Ok(Observation::holds(
            up.as_deref() == Some(b"packet-up") && down.as_deref() == Some(b"packet-down"),
            format!(
                "socket(AF_UNIX, SOCK_SEQPACKET), bind(), listen(), connect(), accept() succeeded; the server received {:?}, the client {:?}",
                up.map(|u| String::from_utf8_lossy(&u).into_owned()),
                down.map(|d| String::from_utf8_lossy(&d).into_owned())
            ),
        ))
    }

    #[test]
    fn message_boundaries() {
        check!("unix_seqpacket.message_boundaries", |cx| {
            let (l, path) = listener(cx)?;
            let mut peer = connecting_peer(cx, &path)?;
            let mut conn = accept(&l)?;
            let (ten, twenty) = ([b'1'; 10], [b'2'; 20]);
            for m in [&ten[..], &twenty[..]] {
                let answer = peer.send_data(m)?;
                if !answer.is_ok() {
                    return Ok(Observation::error(format!("the sending peer: {answer}")));
                }
            }
            // Both packets queued before the first receive, whatever their timing.
            let queued =
                match ipc_conformance::channel::wait_all_queued(&mut conn, &[10, 20], BOUND)
                    .step("FIONREAD")?
                {
                    Ok(seen) => seen,
                    Err(seen) => {
                        return Ok(Observation::timeout(format!(
                            "a peer process sent 10 then 20 bytes; {seen}"
                        )));
                    }
                };
            let first = recv_one(&mut conn)?.unwrap_or_default();
            let second = recv_one(&mut conn)?.unwrap_or_default();
            Ok(Observation::holds(
                first == ten && second == twenty,
                format!(
                    "a peer process (pid {}) sent 10 then 20 bytes on a connected SOCK_SEQPACKET socket; {queued}; one recv() with a 64-byte buffer returned {} bytes, the next {}",
                    peer.pid(),
                    first.len(),
                    second.len()
                ),
            ))
        });
    }

    #[test]
    fn connection_eof() {
        check!("unix_seqpacket.connection_eof", |cx| {
            let (l, path) = listener(cx)?;
            let mut peer = connecting_peer(cx, &path)?;
            let pid = peer.pid();
            let mut conn = accept(&l)?;
            for m in [&b"first-message"[..], &b"second-message"[..]] {
                let answer = peer.send_data(m)?;
                if !answer.is_ok() {
                    return Ok(Observation::error(format!("the sending peer: {answer}")));
                }
            }
            peer.send_line("quit")?;
            let (status, _) = peer.finish()?;
            let first = recv_one(&mut conn)?;
            let second = recv_one(&mut conn)?;
            let third = recv_one(&mut conn)?;
            let show = |m: &Option<Vec<u8>>| match m {
                Some(v) if v.is_empty() => "end of file (0)".to_owned(),
                Some(v) => format!("{:?}", String::from_utf8_lossy(v)),
                None => format!("nothing within {BOUND:?}"),
            };
            Ok(Observation::holds(
                first.as_deref() == Some(b"first-message")
                    && second.as_deref() == Some(b"second-message")
                    && third.as_deref() == Some(b""),
                format!(
                    "the peer (pid {pid}) sent two messages and exited ({status}); this process then received {}, {}, then {}",
                    show(&first),
                    show(&second),
                    show(&third)
                ),
            ))
        });
    }
}

// --------------------------------------------------------------------- Windows

#[cfg(windows)]
#[path = "common/afunix_type.rs"]
mod afunix_type;

#[cfg(windows)]
use windows as os;

#[cfg(windows)]
mod windows {
    use ipc_conformance::check::Ctx;
    use ipc_conformance::{Checked, Observation};

    /// Winsock's answer to socket(AF_UNIX, SOCK_SEQPACKET), observed.
    pub fn available(cx: &mut Ctx) -> Checked<Observation> {
        super::afunix_type::available(cx, windows_sys::Win32::Networking::WinSock::SOCK_SEQPACKET)
    }
}
