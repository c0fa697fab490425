//! Unix domain datagram sockets: every `unix_dgram.*` claim of the catalog.
//!
//! The guide: "Unix Domain Socket (DGRAM) | Messages | Path or abstract |
//! Bidirectional | Local messaging, D-Bus transport", and for log aggregation
//! "Connectionless logging; syslog uses this". Windows' AF_UNIX has no datagram
//! sockets: the claims other than availability require unix.

use ipc_conformance::check;
#[cfg(unix)]
use ipc_conformance::{Observation, Step};

ipc_conformance::suite!();

#[cfg(windows)]
#[path = "common/afunix_type.rs"]
mod afunix_type;

// ---------------------------------------------------------------- availability

#[test]
fn available() {
    check!("unix_dgram.available", |cx| {
        cfg_if::cfg_if! {
            if #[cfg(unix)] {
                use ipc_conformance::channel::Role;
                use ipc_conformance::mech::socket::DgramChannel;
                use ipc_conformance::watchdog::BOUND;
                let mut ch = DgramChannel::create(cx, "unix_dgram", ipc_conformance::mech::socket::Family::Unix)?;
                let mut tx = ipc_conformance::channel::Channel::open(&mut ch, Role::Sender).step("open the sending socket")?;
                let mut rx = ipc_conformance::channel::Channel::open(&mut ch, Role::Receiver).step("open the receiving socket")?;
                tx.send(b"datagram-marker").step("send()")?;
                let mut buf = [0u8; 64];
                let n = rx.recv(&mut buf, BOUND).step("recv()")?;
                Ok(match n {
                    Some(n) => Observation::holds(
                        &buf[..n] == b"datagram-marker",
                        format!(
                            "socket(AF_UNIX, SOCK_DGRAM) bound to a path; a second socket sent 15 bytes; one recv() returned {n} bytes {:?}",
                            String::from_utf8_lossy(&buf[..n])
                        ),
                    ),
                    None => Observation::timeout(format!("nothing arrived within {BOUND:?}")),
                })
            } else {
                // Winsock's answer to socket(AF_UNIX, SOCK_DGRAM), observed.
                afunix_type::available(cx, windows_sys::Win32::Networking::WinSock::SOCK_DGRAM)
            }
        }
    });
}

// -------------------------------------------------------- characteristics matrix

#[cfg(unix)]
mod matrix {
    ipc_conformance::matrix_properties!(
        "unix_dgram",
        ipc_conformance::mech::unix_dgram::MECHANISM,
        cross_machine(
            false,
            "an AF_UNIX name: a filesystem path or abstract name resolved by this host's kernel, which cannot name another host"
        )
    );
}

// ------------------------------------------------------------------- behaviour

#[cfg(unix)]
mod behaviour {
    use super::*;
    use std::collections::BTreeSet;
    use std::os::fd::AsRawFd;

    use ipc_conformance::channel::Endpoint;
    use ipc_conformance::mech::socket::{Addr, Dgram, DgramEndpoint, socketpair};
    use ipc_conformance::mech::unix_dgram::{self as dgram, datagram};
    use ipc_conformance::watchdog::BOUND;
    use nix::sys::socket::{MsgFlags, SockType, recv, recvmsg, send};

    #[test]
    fn connectionless_send() {
        check!("unix_dgram.connectionless_send", |cx| {
            const SENDERS: usize = 4;
            const EACH: usize = 5;
            let path = cx.path("")?;
            let (sock, _) = Dgram::bind(&Addr::Path(path.clone())).step("bind() the receiver")?;
            let mut rx = DgramEndpoint::new(sock, None).step("O_NONBLOCK")?;
            let name = path.display().to_string();
            let mut senders = Vec::new();
            for s in 0..SENDERS {
                senders.push(
                    cx.peer(&[
                        "unix_dgram-sendto",
                        &name,
                        &format!("s{s}"),
                        &EACH.to_string(),
                    ])
                    .spawn()?,
                );
            }
            let mut want: BTreeSet<String> = (0..SENDERS)
                .flat_map(|s| (0..EACH).map(move |i| datagram(&format!("s{s}"), i)))
                .collect();
            let total = want.len();
            let mut whole = 0;
            let mut stray = Vec::new();
            let mut buf = [0u8; 256];
            let deadline = std::time::Instant::now() + BOUND;
            while !want.is_empty() {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                match rx.recv(&mut buf, left).step("recv()")? {
                    Some(n) => {
                        let d = String::from_utf8_lossy(&buf[..n]).into_owned();
                        if want.remove(&d) {
                            whole += 1;
                        } else {
                            stray.push(d);
                        }
                    }
                    None => break,
                }
            }
            let mut reports = Vec::new();
            for s in &mut senders {
                reports.push(s.line(BOUND)?);
            }
            Ok(Observation::holds(
                want.is_empty() && stray.is_empty(),
                format!(
                    "{SENDERS} sender processes, each with an unbound socket and no connect(), sendto() the receiver's path {EACH} datagrams of 48 bytes ({reports:?}); {whole} of {total} arrived whole, {} unexpected: {stray:?}",
                    stray.len()
                ),
            ))
        });
    }

    #[test]
    fn truncates_oversize() {
        check!("unix_dgram.truncates_oversize", |_cx| {
            let (a, b) = socketpair(SockType::Datagram).step("socketpair(AF_UNIX, SOCK_DGRAM)")?;
            let big = [b'A'; 100];
            send(a.as_raw_fd(), &big, MsgFlags::empty()).step("send 100 bytes")?;
            send(a.as_raw_fd(), b"second", MsgFlags::empty()).step("send the second datagram")?;
            let mut small = [0u8; 10];
            let mut iov = [std::io::IoSliceMut::new(&mut small)];
            let msg = recvmsg::<()>(b.as_raw_fd(), &mut iov, None, MsgFlags::MSG_DONTWAIT)
                .step("recvmsg() into 10 bytes")?;
            let (n, truncated) = (msg.bytes, msg.flags.contains(MsgFlags::MSG_TRUNC));
            let mut buf = [0u8; 256];
            let next = recv(b.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT)
                .step("recv() the next datagram")?;
            Ok(Observation::holds(
                n == 10 && truncated && &buf[..next] == b"second",
                format!(
                    "a 100-byte datagram then \"second\"; recvmsg() with a 10-byte buffer returned {n} bytes, MSG_TRUNC {}; the next recv() returned {:?}: the rest of the first datagram was discarded",
                    if truncated { "set" } else { "not set" },
                    String::from_utf8_lossy(&buf[..next])
                ),
            ))
        });
    }

    // --------------------------------------------------------------- facts

    #[test]
    fn max_datagram() {
        check!("unix_dgram.max_datagram", |_cx| {
            let default = dgram::max_datagram(None).step("bisect with default buffers")?;
            let raised = dgram::max_datagram(Some(1 << 20)).step("bisect with raised buffers")?;
            for m in [&default, &raised] {
                if !(1024..=(64 << 20)).contains(&m.max) {
                    return Ok(Observation::error(format!(
                        "implausible maximum datagram {m:?}"
                    )));
                }
            }
            Ok(Observation::measured(format!(
                "one send() on a SOCK_DGRAM socketpair, bisected: with the default SO_SNDBUF = {} (SO_RCVBUF {}), {} bytes went through and {} bytes were refused with {}; with SO_SNDBUF/SO_RCVBUF set to 1 MiB (read back: {} / {}), {} bytes went through and {} were refused with {}",
                default.sndbuf, default.rcvbuf, default.max, default.refused_at, default.refused_with,
                raised.sndbuf, raised.rcvbuf, raised.max, raised.refused_at, raised.refused_with
            ))
            .with("max_datagram", default.max as f64, "bytes")
            .with("default_sndbuf", default.sndbuf as f64, "bytes")
            .with("max_datagram_raised_buffers", raised.max as f64, "bytes")
            .with("raised_sndbuf", raised.sndbuf as f64, "bytes"))
        });
    }
}
