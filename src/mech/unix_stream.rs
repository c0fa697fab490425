//! Unix domain stream sockets: the adapter for the matrix checks (shared with
//! TCP in [`super::socket`]), the peer roles of the behaviour checks, and the
//! credential and naming helpers the suite needs.

use crate::channel::{Endpoint, Role};
use crate::mech::socket::{Family, Kind, SocketMechanism};
use crate::peer::wire::{Rest, messages};

/// AF_UNIX SOCK_STREAM as a `Mechanism`.
pub const MECHANISM: SocketMechanism = SocketMechanism {
    id: "unix_stream",
    family: Family::Unix,
    kind: Kind::Stream,
};

/// `endpoint unix_stream <role> fd|<path>|@<abstract>` (Unix only).
pub fn open_remote(_role: Role, args: &[String]) -> Option<std::io::Result<Box<dyn Endpoint>>> {
    MECHANISM.open_remote(args)
}

messages! {
    /// The line `unix_stream-forge` prints: how the kernel answered each send
    /// with a credential message (`ok` or the errno name), then who sent them
    /// and how many bytes got through.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Forged: "a unix_stream-forge result line" = "result" {
        /// Claiming pid 1, uid 0 and gid 0.
        pub other_pid_uid_gid: String = "other-pid-uid-gid",
        /// Claiming pid 1 with the sender's own uid and gid.
        pub other_pid: String = "other-pid",
        /// Claiming the sender's own ids.
        pub own: String = "own",
        /// A plain write(), no credential message.
        pub plain: String = "plain",
        pub pid: i32 = "pid",
        pub uid: u32 = "uid",
        pub gid: u32 = "gid",
        pub bytes: usize = "bytes",
    }
}

impl Forged {
    /// The four tries as `label=answer`, comma-separated.
    pub fn tries(&self) -> String {
        format!(
            "other-pid-uid-gid={}, other-pid={}, own={}, plain={}",
            self.other_pid_uid_gid, self.other_pid, self.own, self.plain
        )
    }
}

messages! {
    /// A command to the `unix_stream-handover` peer.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum HandoverCommand: "a unix_stream-handover command" {
        /// `accept`: one connection (bounded), served with `served-by <pid>`.
        "accept" Accept,
        /// `give`: sends the listening socket over descriptor 3, then exits.
        "give" Give,
        /// `take`: receives a listening socket from descriptor 3 (bounded).
        "take" Take,
        /// `quit`: the peer exits 0 (no answer).
        "quit" Quit,
    }
}

messages! {
    /// The `unix_stream-handover` peer's answer.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum HandoverAnswer: "a unix_stream-handover answer" {
        /// `served`: a connection was accepted and served.
        "served" Served,
        /// `given`: the listening socket went over descriptor 3.
        "given" Given,
        /// `taken`: a listening socket came from descriptor 3.
        "taken" Taken,
        /// `err <text>`: the step failed.
        "err" Err(text: String as Rest),
    }
}

/// Peer roles:
/// - `unix_stream-forge <path> [<uid> <gid>]`: drops to uid/gid first when given
///   (the suite runs as root), connects to `path`, tries to send credentials
///   that are not its own, and prints one [`Forged`] line;
/// - `unix_stream-handover [<path>]`: with a socketpair end as descriptor 3; binds
///   a listener at `path` when given; serves [`HandoverCommand`]s: `accept` (one
///   connection gets `served-by <pid>`), `give` (sends the listener over
///   descriptor 3 and exits) and `take` (receives a listener from descriptor 3);
/// - `unix_stream-rw <path>`: connects, then with read() and write() only reads a
///   line and writes back `echo:` and the line.
pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
    cfg_if::cfg_if! {
        if #[cfg(unix)] {
            match (role, args) {
                ("unix_stream-forge", [path, rest @ ..]) => Some(unix::forge_role(path, rest)),
                ("unix_stream-handover", rest) => Some(unix::handover_role(rest)),
                ("unix_stream-rw", [path]) => Some(unix::rw_role(path)),
                _ => None,
            }
        } else {
            let _ = (role, args);
            None
        }
    }
}

#[cfg(unix)]
pub use unix::{
    PeerCred, bind_unix_bytes, drop_privileges, enable_passcred, peer_cred, recv_with_creds,
    sun_path_size,
};

#[cfg(unix)]
mod unix {
    use std::io::{self, BufRead, Write};
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::time::Duration;

    use nix::sys::socket::{MsgFlags, recvmsg};

    use super::{Forged, HandoverAnswer, HandoverCommand};
    use crate::mech::socket::{recv_with_fd, send_with_fd};
    use crate::peer::wire::WireLine;
    use crate::watchdog::BOUND;

    /// The peer credentials the kernel recorded for a connected Unix socket.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct PeerCred {
        /// The call that answered.
        pub api: &'static str,
        /// `None` where the API gives no pid.
        pub pid: Option<i32>,
        pub uid: u32,
        pub gid: Option<u32>,
    }

    impl std::fmt::Display for PeerCred {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{}: ", self.api)?;
            match self.pid {
                Some(p) => write!(f, "pid {p}, ")?,
                None => write!(f, "no pid, ")?,
            }
            write!(f, "uid {}", self.uid)?;
            if let Some(g) = self.gid {
                write!(f, ", gid {g}")?;
            }
            Ok(())
        }
    }

    /// The peer's credentials on a connected Unix stream socket: SO_PEERCRED on
    /// Linux, LOCAL_PEERCRED and LOCAL_PEERPID on macOS, LOCAL_PEERCRED (with
    /// `cr_pid` from FreeBSD 13) on FreeBSD, getpeereid() elsewhere.
    pub fn peer_cred(fd: BorrowedFd<'_>) -> io::Result<PeerCred> {
        cfg_if::cfg_if! {
            if #[cfg(any(target_os = "linux", target_os = "android"))] {
                use nix::sys::socket::{getsockopt, sockopt};
                let c = getsockopt(&fd, sockopt::PeerCredentials)?;
                Ok(PeerCred { api: "SO_PEERCRED", pid: Some(c.pid()), uid: c.uid(), gid: Some(c.gid()) })
            } else if #[cfg(any(target_os = "macos", target_os = "ios"))] {
                use nix::sys::socket::{getsockopt, sockopt};
                let x = getsockopt(&fd, sockopt::LocalPeerCred)?;
                let pid = getsockopt(&fd, sockopt::LocalPeerPid)?;
                Ok(PeerCred {
                    api: "LOCAL_PEERCRED + LOCAL_PEERPID",
                    pid: Some(pid),
                    uid: x.uid(),
                    gid: x.groups().first().copied(),
                })
            } else if #[cfg(target_os = "freebsd")] {
                ffi::local_peercred(fd)
            } else {
                let (uid, gid) = nix::unistd::getpeereid(fd)?;
                Ok(PeerCred { api: "getpeereid", pid: None, uid: uid.as_raw(), gid: Some(gid.as_raw()) })
            }
        }
    }

    /// Asks the kernel to attach the sender's credentials to every message
    /// (SO_PASSCRED, Linux); a listener's accepted sockets inherit it. Elsewhere
    /// nothing to do: FreeBSD delivers the SCM_CREDS a sender attaches, macOS
    /// has no credential messages.
    pub fn enable_passcred(fd: BorrowedFd<'_>) -> io::Result<()> {
        cfg_if::cfg_if! {
            if #[cfg(any(target_os = "linux", target_os = "android"))] {
                use nix::sys::socket::{setsockopt, sockopt};
                setsockopt(&fd, sockopt::PassCred, &true)?;
            } else {
                let _ = fd;
            }
        }
        Ok(())
    }

    /// Receives one message and the (pid, uid) of every credential message
    /// attached to it: SCM_CREDENTIALS on Linux, SCM_CREDS on FreeBSD.
    pub fn recv_with_creds(
        fd: BorrowedFd<'_>,
        buf: &mut [u8],
    ) -> io::Result<(usize, Vec<(i32, u32)>)> {
        let mut iov = [io::IoSliceMut::new(buf)];
        cfg_if::cfg_if! {
            if #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))] {
                use nix::sys::socket::{ControlMessageOwned, UnixCredentials};
                let mut space = nix::cmsg_space!(UnixCredentials, UnixCredentials);
                let msg = recvmsg::<()>(fd.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_DONTWAIT)?;
                let mut creds = Vec::new();
                for c in msg.cmsgs()? {
                    match c {
                        #[cfg(any(target_os = "linux", target_os = "android"))]
                        ControlMessageOwned::ScmCredentials(c) => creds.push((c.pid(), c.uid())),
                        #[cfg(target_os = "freebsd")]
                        ControlMessageOwned::ScmCreds(c) => creds.push((c.pid(), c.uid())),
                        _ => {}
                    }
                }
                Ok((msg.bytes, creds))
            } else {
                let msg = recvmsg::<()>(fd.as_raw_fd(), &mut iov, None, MsgFlags::MSG_DONTWAIT)?;
                Ok((msg.bytes, Vec::new()))
            }
        }
    }

    /// Gives up root: no supplementary groups, then `gid`, then `uid`. In a peer
    /// process only (process-global state).
    pub fn drop_privileges(uid: u32, gid: u32) -> io::Result<()> {
        ffi::setgroups_none()?;
        nix::unistd::setgid(nix::unistd::Gid::from_raw(gid))?;
        nix::unistd::setuid(nix::unistd::Uid::from_raw(uid))?;
        if nix::unistd::getuid().is_root() || nix::unistd::geteuid().is_root() {
            return Err(io::Error::other("still root after setuid"));
        }
        Ok(())
    }

    /// sizeof(sun_path) on this target.
    pub fn sun_path_size() -> usize {
        std::mem::size_of::<libc::sockaddr_un>() - std::mem::offset_of!(libc::sockaddr_un, sun_path)
    }

    pub use ffi::bind_unix_bytes;

    /// What a forging peer claims, and how the kernel answered each try.
    fn forge_attempts(sock: BorrowedFd<'_>) -> Forged {
        let me = (
            nix::unistd::getpid().as_raw(),
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
        );
        let mut bytes = 0;
        let mut claiming = |label: &str, ids: Ids| {
            let payload = format!("{label};");
            match send_claiming(sock, payload.as_bytes(), ids) {
                Ok(n) => {
                    bytes += n;
                    "ok".to_owned()
                }
                Err(e) => e
                    .raw_os_error()
                    .map(crate::sys::errno_name)
                    .unwrap_or_else(|| e.to_string().replace(' ', "_")),
            }
        };
        // pid 1 is init, never this process; uid and gid 0 are root's.
        let other_pid_uid_gid = claiming("other-pid-uid-gid", (1, 0, 0));
        let other_pid = claiming("other-pid", (1, me.1, me.2));
        let own = claiming("own", me);
        let plain = match nix::unistd::write(sock, b"plain;") {
            Ok(n) => {
                bytes += n;
                "ok".to_owned()
            }
            Err(e) => format!("{e:?}"),
        };
        Forged {
            other_pid_uid_gid,
            other_pid,
            own,
            plain,
            pid: me.0,
            uid: me.1,
            gid: me.2,
            bytes,
        }
    }

    /// The ids a credential message claims: (pid, uid, gid).
    type Ids = (i32, u32, u32);

    /// Sends `data` with a credential message claiming `ids`.
    fn send_claiming(sock: BorrowedFd<'_>, data: &[u8], ids: Ids) -> io::Result<usize> {
        cfg_if::cfg_if! {
            if #[cfg(any(target_os = "linux", target_os = "android"))] {
                use nix::sys::socket::{ControlMessage, UnixCredentials, sendmsg};
                let (pid, uid, gid) = ids;
                let creds = UnixCredentials::from(libc::ucred { pid, uid, gid });
                let cmsg = [ControlMessage::ScmCredentials(&creds)];
                let iov = [io::IoSlice::new(data)];
                Ok(sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)?)
            } else if #[cfg(any(target_os = "freebsd", target_os = "macos", target_os = "ios"))] {
                ffi::send_scm_creds(sock, data, ids)
            } else {
                let _ = (sock, data, ids);
                Err(io::Error::new(io::ErrorKind::Unsupported, "no credential message on this target"))
            }
        }
    }

    pub fn forge_role(path: &str, rest: &[String]) -> Result<(), String> {
        if let [uid, gid] = rest {
            let uid: u32 = uid.parse().map_err(|e| format!("uid: {e}"))?;
            let gid: u32 = gid.parse().map_err(|e| format!("gid: {e}"))?;
            drop_privileges(uid, gid).map_err(|e| format!("dropping to {uid}:{gid}: {e}"))?;
        }
        let sock = UnixStream::connect(path).map_err(|e| format!("connect {path}: {e}"))?;
        let forged = forge_attempts(sock.as_fd());
        let mut out = io::stdout().lock();
        writeln!(out, "{forged}")
            .and_then(|_| out.flush())
            .map_err(|e| e.to_string())?;
        // Stay connected until the suite has looked (it closes stdin).
        let mut line = String::new();
        let _ = io::stdin().lock().read_line(&mut line);
        Ok(())
    }

    fn reply(out: &mut impl Write, line: &impl std::fmt::Display) -> Result<(), String> {
        writeln!(out, "{line}")
            .and_then(|_| out.flush())
            .map_err(|e| e.to_string())
    }

    pub fn handover_role(args: &[String]) -> Result<(), String> {
        let chan = crate::sys::take_handed_over_fd(3).map_err(|e| format!("descriptor 3: {e}"))?;
        let mut listener = match args {
            [path] => {
                let l = UnixListener::bind(path).map_err(|e| format!("bind {path}: {e}"))?;
                crate::mech::socket::restrict(std::path::Path::new(path))
                    .map_err(|e| e.to_string())?;
                Some(l)
            }
            [] => None,
            _ => return Err("usage: unix_stream-handover [path]".into()),
        };
        let pid = std::process::id();
        let mut out = io::stdout().lock();
        reply(&mut out, &format!("ready {pid}"))?;
        for line in io::stdin().lock().lines() {
            let command = HandoverCommand::from_line(&line.map_err(|e| e.to_string())?);
            let answer = match command {
                Ok(HandoverCommand::Accept) => {
                    let Some(l) = listener.as_ref() else {
                        reply(&mut out, &HandoverAnswer::Err("no listener".into()))?;
                        continue;
                    };
                    l.set_nonblocking(true).map_err(|e| e.to_string())?;
                    let ready =
                        crate::channel::fd::wait(l.as_fd(), nix::poll::PollFlags::POLLIN, BOUND)
                            .map_err(|e| e.to_string())?;
                    match (ready, l.accept()) {
                        (true, Ok((mut c, _))) => {
                            match c.write_all(format!("served-by {pid}").as_bytes()) {
                                Ok(()) => HandoverAnswer::Served,
                                Err(e) => HandoverAnswer::Err(format!("write: {e}")),
                            }
                        }
                        (false, _) => {
                            HandoverAnswer::Err(format!("no connection within {BOUND:?}"))
                        }
                        (true, Err(e)) => HandoverAnswer::Err(format!("accept: {e}")),
                    }
                }
                Ok(HandoverCommand::Give) => {
                    let Some(l) = listener.take() else {
                        reply(&mut out, &HandoverAnswer::Err("no listener".into()))?;
                        continue;
                    };
                    match send_with_fd(chan.as_fd(), b"L", l.as_fd()) {
                        Ok(()) => {
                            reply(&mut out, &HandoverAnswer::Given)?;
                            return Ok(());
                        }
                        Err(e) => HandoverAnswer::Err(format!("sendmsg: {e}")),
                    }
                }
                Ok(HandoverCommand::Take) => match crate::channel::fd::wait(
                    chan.as_fd(),
                    nix::poll::PollFlags::POLLIN,
                    BOUND,
                ) {
                    Ok(true) => match recv_with_fd(chan.as_fd(), &mut [0u8; 8]) {
                        Ok((_, Some(fd))) => {
                            listener = Some(UnixListener::from(fd));
                            HandoverAnswer::Taken
                        }
                        Ok((n, None)) => {
                            HandoverAnswer::Err(format!("{n} bytes and no descriptor"))
                        }
                        Err(e) => HandoverAnswer::Err(format!("recvmsg: {e}")),
                    },
                    Ok(false) => HandoverAnswer::Err(format!("nothing within {BOUND:?}")),
                    Err(e) => HandoverAnswer::Err(format!("poll: {e}")),
                },
                Ok(HandoverCommand::Quit) => return Ok(()),
                Err(e) => HandoverAnswer::Err(e.to_string()),
            };
            reply(&mut out, &answer)?;
        }
        Ok(())
    }

    pub fn rw_role(path: &str) -> Result<(), String> {
        let sock = UnixStream::connect(path).map_err(|e| format!("connect {path}: {e}"))?;
        sock.set_read_timeout(Some(BOUND))
            .map_err(|e| e.to_string())?;
        sock.set_write_timeout(Some(BOUND))
            .map_err(|e| e.to_string())?;
        let mut out = io::stdout().lock();
        reply(&mut out, &format!("ready {}", std::process::id()))?;
        let mut line = Vec::new();
        let mut buf = [0u8; 4096];
        while !line.ends_with(b"\n") {
            let n = nix::unistd::read(&sock, &mut buf).map_err(|e| format!("read(): {e}"))?;
            if n == 0 {
                return Err(format!("end of file after {} bytes", line.len()));
            }
            line.extend_from_slice(&buf[..n]);
        }
        let mut answer = b"echo:".to_vec();
        answer.extend_from_slice(&line);
        let mut done = 0;
        while done < answer.len() {
            done +=
                nix::unistd::write(&sock, &answer[done..]).map_err(|e| format!("write(): {e}"))?;
        }
        reply(&mut out, &format!("done {} {}", line.len(), answer.len()))?;
        // Wait for the suite to close the connection before closing ours.
        let _ = crate::channel::fd::wait(
            sock.as_fd(),
            nix::poll::PollFlags::POLLIN,
            Duration::from_secs(2),
        );
        Ok(())
    }

    /// The few calls nix does not wrap for every target.
    mod ffi {
        use std::io;
        use std::os::fd::{AsRawFd, BorrowedFd};

        /// bind(2) of an AF_UNIX socket to exactly the `sun_path` bytes given, of
        /// any length up to 255 (no terminating NUL added), so that the longest
        /// accepted path and NUL-led (abstract) names can be tried on every target.
        pub fn bind_unix_bytes(fd: BorrowedFd<'_>, path: &[u8]) -> io::Result<()> {
            #[repr(C, align(8))]
            struct Raw([u8; 2 + 256]);
            if path.len() > 253 {
                return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
            }
            let mut raw = Raw([0; 2 + 256]);
            let len = 2 + path.len();
            cfg_if::cfg_if! {
                if #[cfg(any(target_os = "linux", target_os = "android"))] {
                    raw.0[..2].copy_from_slice(&(libc::AF_UNIX as libc::sa_family_t).to_ne_bytes());
                } else {
                    // BSD layout: sun_len, then a one-byte sun_family.
                    raw.0[0] = len as u8;
                    raw.0[1] = libc::AF_UNIX as u8;
                }
            }
            raw.0[2..len].copy_from_slice(path);
            // SAFETY: `raw` is a live, 8-aligned buffer of at least `len` bytes laid out
            // as a sockaddr_un header followed by the path; bind only reads `len` bytes.
            let rc = unsafe {
                libc::bind(
                    fd.as_raw_fd(),
                    raw.0.as_ptr().cast::<libc::sockaddr>(),
                    len as libc::socklen_t,
                )
            };
            if rc == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        }

        /// setgroups(0, NULL): no supplementary groups.
        pub fn setgroups_none() -> io::Result<()> {
            // SAFETY: a zero-length list; the pointer is never read.
            let rc = unsafe { libc::setgroups(0, std::ptr::null()) };
            if rc == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        }

        /// LOCAL_PEERCRED on FreeBSD, with the pid FreeBSD 13 added to `xucred`.
        #[cfg(target_os = "freebsd")]
        pub fn local_peercred(fd: BorrowedFd<'_>) -> io::Result<super::PeerCred> {
            // SAFETY: xucred is plain data; all-zero is a valid value.
            let mut cred: libc::xucred = unsafe { std::mem::zeroed() };
            let mut len = std::mem::size_of::<libc::xucred>() as libc::socklen_t;
            // SAFETY: `cred` is writable for `len` bytes and `len` is updated by the
            // kernel; level 0 is SOL_LOCAL.
            let rc = unsafe {
                libc::getsockopt(
                    fd.as_raw_fd(),
                    0,
                    libc::LOCAL_PEERCRED,
                    (&mut cred as *mut libc::xucred).cast(),
                    &mut len,
                )
            };
            if rc != 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: the union's pid member is what FreeBSD 13+ fills; on older
            // kernels the bytes are zero, read here as "no pid".
            let pid = unsafe { cred.cr_pid__c_anonymous_union.cr_pid };
            Ok(super::PeerCred {
                api: "LOCAL_PEERCRED",
                pid: (pid != 0).then_some(pid),
                uid: cred.cr_uid,
                gid: (cred.cr_ngroups > 0).then_some(cred.cr_groups[0]),
            })
        }

        /// A struct cmsgcred (FreeBSD's layout), filled with the claimed ids.
        #[cfg(any(target_os = "freebsd", target_os = "macos", target_os = "ios"))]
        #[repr(C)]
        struct CmsgCred {
            pid: libc::pid_t,
            uid: libc::uid_t,
            euid: libc::uid_t,
            gid: libc::gid_t,
            ngroups: libc::c_short,
            groups: [libc::gid_t; 16],
        }

        /// sendmsg(2) with an SCM_CREDS message claiming `ids`, (pid, uid, gid)
        /// (FreeBSD fills in the true values; macOS has no such message).
        #[cfg(any(target_os = "freebsd", target_os = "macos", target_os = "ios"))]
        pub fn send_scm_creds(
            fd: BorrowedFd<'_>,
            data: &[u8],
            ids: super::Ids,
        ) -> io::Result<usize> {
            let (pid, uid, gid) = ids;
            let claim = CmsgCred {
                pid,
                uid,
                euid: uid,
                gid,
                ngroups: 1,
                groups: [gid; 16],
            };
            let payload_len = std::mem::size_of::<CmsgCred>() as libc::c_uint;
            // SAFETY: CMSG_SPACE and CMSG_LEN only compute sizes.
            let (space, cmsg_len) =
                unsafe { (libc::CMSG_SPACE(payload_len), libc::CMSG_LEN(payload_len)) };
            let mut control = vec![0u64; (space as usize).div_ceil(8)];
            let mut iov = libc::iovec {
                iov_base: data.as_ptr() as *mut libc::c_void,
                iov_len: data.len(),
            };
            // SAFETY: msghdr is plain data; all-zero is a valid value.
            let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = space as _;
            // SAFETY: `control` is 8-aligned, zeroed and `space` bytes long, enough for
            // one header and the payload, so CMSG_FIRSTHDR is non-null and CMSG_DATA
            // points inside it; `claim`, `iov` and `data` outlive the sendmsg call,
            // which only reads them.
            let rc = unsafe {
                let cmsg = libc::CMSG_FIRSTHDR(&msg);
                (*cmsg).cmsg_level = libc::SOL_SOCKET;
                (*cmsg).cmsg_type = libc::SCM_CREDS;
                (*cmsg).cmsg_len = cmsg_len as _;
                std::ptr::copy_nonoverlapping(
                    (&claim as *const CmsgCred).cast::<u8>(),
                    libc::CMSG_DATA(cmsg),
                    payload_len as usize,
                );
                libc::sendmsg(fd.as_raw_fd(), &msg, 0)
            };
            if rc < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(rc as usize)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::wire::WireLine;
    use crate::peer::wire::testing::{refused, round_trip, round_trip_all};

    #[test]
    fn role_lines_round_trip() {
        let forged = Forged {
            other_pid_uid_gid: "EPERM".into(),
            other_pid: "EPERM".into(),
            own: "ok".into(),
            plain: "ok".into(),
            pid: 4242,
            uid: 65534,
            gid: 65534,
            bytes: 10,
        };
        assert_eq!(
            forged.to_string(),
            "result other-pid-uid-gid=EPERM other-pid=EPERM own=ok plain=ok pid=4242 uid=65534 gid=65534 bytes=10"
        );
        assert_eq!(
            forged.tries(),
            "other-pid-uid-gid=EPERM, other-pid=EPERM, own=ok, plain=ok"
        );
        round_trip(forged);
        let commands = [
            HandoverCommand::Accept,
            HandoverCommand::Give,
            HandoverCommand::Take,
            HandoverCommand::Quit,
        ];
        round_trip_all(commands);
        let answers = [
            HandoverAnswer::Served,
            HandoverAnswer::Given,
            HandoverAnswer::Taken,
            HandoverAnswer::Err("no connection within 2s".into()),
        ];
        round_trip_all(answers);
    }

    #[test]
    fn bad_role_lines_are_named() {
        refused::<Forged>(&[
            "",
            "err dropping to 65534:65534: EPERM",
            "result other-pid-uid-gid=EPERM other-pid=EPERM own=ok plain=ok pid=1 uid=2 gid=3",
            "result own=ok other-pid=EPERM other-pid-uid-gid=EPERM plain=ok pid=1 uid=2 gid=3 bytes=4",
            "result other-pid-uid-gid=EPERM other-pid=EPERM own=ok plain=ok pid=1 uid=x gid=3 bytes=4",
        ]);
        refused::<HandoverCommand>(&["", "accept 1", "hand"]);
        refused::<HandoverAnswer>(&["", "served now", "done"]);
        assert!(
            HandoverAnswer::from_line("err").is_ok(),
            "an err with no text"
        );
    }
}
