//! What Linux added to Unix stream sockets after 5.10 (the claims' doc_note
//! names the release and commit); each check observes the facility, never a
//! version, and answers on the BSDs and macOS too where the call exists.

use super::*;
use std::os::fd::AsFd;

use ipc_conformance::observe::{Checked, describe_io_error};
use ipc_conformance::watchdog::BOUND;
use nix::sys::socket::{AddressFamily, MsgFlags, SockFlag, SockType, recv, send, socketpair};

/// A connected pair of Unix stream sockets. No SOCK_CLOEXEC (macOS has none):
/// no check that uses a pair starts a process while it is open.
fn stream_pair() -> Checked<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::empty(),
    )
    .step("socketpair(AF_UNIX, SOCK_STREAM)")
}

#[test]
fn oob() {
    check!("unix_stream.oob", |_cx| {
        use nix::poll::PollFlags;
        let (a, b) = stream_pair()?;
        send(a.as_fd().as_raw_fd(), b"data", MsgFlags::empty()).step("send")?;
        match send(a.as_fd().as_raw_fd(), b"!", MsgFlags::MSG_OOB) {
            Ok(_) => {}
            Err(e) if matches!(e, nix::errno::Errno::EOPNOTSUPP) => {
                return Ok(Observation::unsupported(format!(
                    "send(\"!\", MSG_OOB) on a Unix stream socket: {}: no out-of-band data on AF_UNIX here",
                    describe_io_error(&std::io::Error::from(e))
                )));
            }
            Err(e) => return Err(Observation::from_io_error("send(MSG_OOB)", &e.into())),
        }
        let urgent = ipc_conformance::channel::fd::wait(b.as_fd(), PollFlags::POLLPRI, BOUND)
            .step("poll for POLLPRI")?;
        let mut buf = [0u8; 8];
        let oob = recv(
            b.as_fd().as_raw_fd(),
            &mut buf,
            MsgFlags::MSG_OOB | MsgFlags::MSG_DONTWAIT,
        )
        .map(|n| buf[..n].to_vec());
        let mut rest = [0u8; 16];
        let inline = recv(b.as_fd().as_raw_fd(), &mut rest, MsgFlags::MSG_DONTWAIT)
            .map(|n| String::from_utf8_lossy(&rest[..n]).into_owned());
        Ok(Observation::holds(
            urgent && matches!(&oob, Ok(v) if v == b"!"),
            format!(
                "sent \"data\", then \"!\" with MSG_OOB (accepted); POLLPRI on the other end within {BOUND:?}: {urgent}; recv(MSG_OOB): {:?}; the ordinary data then read: {inline:?}",
                oob.map(|v| String::from_utf8_lossy(&v).into_owned())
            ),
        ))
    });
}

#[cfg(target_os = "linux")]
#[test]
fn peer_pidfd() {
    check!("unix_stream.peer_pidfd", |cx| {
        use ipc_conformance::mech::socket::{Addr, Listener};
        use ipc_conformance::sys::linux;
        let path = cx.path("")?;
        let (l, _) = Listener::bind(&Addr::Path(path.clone())).step("bind() and listen()")?;
        l.set_nonblocking(true).step("O_NONBLOCK")?;
        let mut cmd = cx.peer(&[
            "endpoint",
            "unix_stream",
            "sender",
            &path.display().to_string(),
        ]);
        cmd.command().env_clear();
        let peer = cmd.start()?;
        let Some(conn) = l.accept_within(BOUND).step("accept()")? else {
            return Err(Observation::timeout(format!(
                "no connection to accept within {BOUND:?}"
            )));
        };
        let pidfd = match linux::getsockopt_int(conn.as_fd(), libc::SOL_SOCKET, linux::SO_PEERPIDFD)
        {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => {
                return Ok(Observation::unsupported(format!(
                    "getsockopt(SO_PEERPIDFD): {}: the kernel (or an emulator in front of it) knows no such option",
                    describe_io_error(&e)
                )));
            }
            Err(e) => {
                return Err(Observation::from_io_error("getsockopt(SO_PEERPIDFD)", &e));
            }
        };
        let pidfd = linux::own_fd(pidfd).step("the descriptor SO_PEERPIDFD returned")?;
        let fdinfo = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd()))
            .step("read its /proc/self/fdinfo")?;
        let named = fdinfo
            .lines()
            .find_map(|l| l.strip_prefix("Pid:"))
            .map(|p| p.trim().to_owned());
        let want = peer.pid().to_string();
        Ok(Observation::holds(
            named.as_deref() == Some(want.as_str()),
            format!(
                "getsockopt(SO_PEERPIDFD) on the accepted connection gave descriptor {}; its fdinfo names pid {named:?}; the connecting peer is pid {want}",
                pidfd.as_raw_fd()
            ),
        ))
    });
}

#[cfg(target_os = "linux")]
#[test]
fn passrights() {
    check!("unix_stream.passrights", |_cx| {
        use ipc_conformance::sys::linux;
        use nix::sys::socket::{ControlMessage, sendmsg};
        let (a, b) = stream_pair()?;
        match linux::setsockopt_int(b.as_fd(), libc::SOL_SOCKET, linux::SO_PASSRIGHTS, 0) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => {
                return Ok(Observation::unsupported(format!(
                    "setsockopt(SO_PASSRIGHTS, 0): {}: the kernel (or an emulator in front of it) knows no such option",
                    describe_io_error(&e)
                )));
            }
            Err(e) => return Err(Observation::from_io_error("setsockopt(SO_PASSRIGHTS)", &e)),
        }
        let (r, _w) = ipc_conformance::sys::pipe().step("pipe")?;
        let fds = [r.as_raw_fd()];
        let send_fd = || {
            let iov = [std::io::IoSlice::new(b"x")];
            sendmsg::<()>(
                a.as_raw_fd(),
                &iov,
                &[ControlMessage::ScmRights(&fds)],
                MsgFlags::empty(),
                None,
            )
        };
        let refused = send_fd();
        linux::setsockopt_int(b.as_fd(), libc::SOL_SOCKET, linux::SO_PASSRIGHTS, 1)
            .step("setsockopt(SO_PASSRIGHTS, 1)")?;
        let allowed = send_fd();
        Ok(Observation::holds(
            refused == Err(nix::errno::Errno::EPERM) && allowed.is_ok(),
            format!(
                "with SO_PASSRIGHTS 0 on the receiving end, sendmsg with SCM_RIGHTS: {refused:?}; with SO_PASSRIGHTS 1: {allowed:?}"
            ),
        ))
    });
}

use std::os::fd::AsRawFd;
