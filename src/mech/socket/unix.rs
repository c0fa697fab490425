//! Unix-only socket helpers: descriptor passing (SCM_RIGHTS), socket() and
//! socketpair() close-on-exec on every Unix, and the buffer sizes.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg,
    sendmsg,
};

/// Sends `payload` with one descriptor attached (SCM_RIGHTS).
pub fn send_with_fd(sock: BorrowedFd<'_>, payload: &[u8], fd: BorrowedFd<'_>) -> io::Result<()> {
    let fds = [fd.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let iov = [io::IoSlice::new(payload)];
    sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)?;
    Ok(())
}

/// Receives a message and the first descriptor it carries, close-on-exec.
pub fn recv_with_fd(sock: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
    let mut space = nix::cmsg_space!([RawFd; 4]);
    let mut iov = [io::IoSliceMut::new(buf)];
    let msg = recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut space), cmsg_cloexec())?;
    let n = msg.bytes;
    let mut received = Vec::new();
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            for raw in fds {
                // SAFETY: the kernel has just installed `raw` in this process's
                // descriptor table for this message; nothing else owns it.
                received.push(unsafe { OwnedFd::from_raw_fd(raw) });
            }
        }
    }
    for fd in &received {
        set_cloexec(fd.as_fd())?;
    }
    Ok((n, received.into_iter().next()))
}

fn cmsg_cloexec() -> MsgFlags {
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))] {
            MsgFlags::MSG_CMSG_CLOEXEC
        } else {
            MsgFlags::empty()
        }
    }
}

pub fn set_cloexec(fd: BorrowedFd<'_>) -> io::Result<()> {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    Ok(())
}

/// socket(2), close-on-exec.
pub fn socket(family: AddressFamily, ty: SockType) -> io::Result<OwnedFd> {
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))] {
            Ok(nix::sys::socket::socket(family, ty, SockFlag::SOCK_CLOEXEC, None)?)
        } else {
            let fd = nix::sys::socket::socket(family, ty, SockFlag::empty(), None)?;
            set_cloexec(fd.as_fd())?;
            Ok(fd)
        }
    }
}

/// socketpair(AF_UNIX, ty), both ends close-on-exec.
pub fn socketpair(ty: SockType) -> io::Result<(OwnedFd, OwnedFd)> {
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))] {
            Ok(nix::sys::socket::socketpair(AddressFamily::Unix, ty, None, SockFlag::SOCK_CLOEXEC)?)
        } else {
            let (a, b) = nix::sys::socket::socketpair(AddressFamily::Unix, ty, None, SockFlag::empty())?;
            set_cloexec(a.as_fd())?;
            set_cloexec(b.as_fd())?;
            Ok((a, b))
        }
    }
}

/// SO_SNDBUF and SO_RCVBUF of a socket.
pub fn buffer_sizes(fd: BorrowedFd<'_>) -> io::Result<(usize, usize)> {
    use nix::sys::socket::{getsockopt, sockopt};
    Ok((
        getsockopt(&fd, sockopt::SndBuf)?,
        getsockopt(&fd, sockopt::RcvBuf)?,
    ))
}
