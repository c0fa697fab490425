//! Anonymous pipes: the adapter for the matrix checks, the pipe peer roles, and
//! the measurements the pipe suite makes.

use crate::channel::{Endpoint, Role};

/// Opens the handed-over pipe end (descriptor 3) in a peer.
pub fn open_remote(role: Role, _args: &[String]) -> Option<std::io::Result<Box<dyn Endpoint>>> {
    cfg_if::cfg_if! {
        if #[cfg(unix)] {
            let _ = role;
            Some(crate::sys::take_handed_over_fd(3).and_then(crate::channel::fd::FdEndpoint::new).map(|e| Box::new(e) as Box<dyn Endpoint>))
        } else {
            let _ = role;
            None
        }
    }
}

/// Peer roles, for the exec'd halves of `cmd1 | cmd2` and for SIGPIPE:
/// - `pipe-emit <hex>` writes the bytes to its stdout and exits;
/// - `pipe-consume` reads its stdin to end of file and prints `read <hex>` on stderr;
/// - `pipe-sigpipe default|ignore` writes into a pipe whose reader is gone, with
///   SIGPIPE at its default action or ignored, and reports on stderr how the
///   write failed if it survives.
pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
    use std::io::{Read, Write};
    match (role, args) {
        ("pipe-emit", [h]) => Some((|| {
            let data = crate::peer::unhex(h).ok_or("bad hex")?;
            let mut out = std::io::stdout().lock();
            out.write_all(&data)
                .and_then(|_| out.flush())
                .map_err(|e| e.to_string())
        })()),
        ("pipe-consume", []) => Some((|| {
            let mut data = Vec::new();
            std::io::stdin()
                .read_to_end(&mut data)
                .map_err(|e| e.to_string())?;
            eprintln!("read {}", crate::peer::hex(&data));
            Ok(())
        })()),
        #[cfg(unix)]
        ("pipe-sigpipe", [mode]) => Some(sigpipe_probe(mode == "ignore")),
        _ => None,
    }
}

#[cfg(unix)]
fn sigpipe_probe(ignore: bool) -> Result<(), String> {
    use nix::sys::signal::Signal;
    // Rust's runtime starts with SIGPIPE ignored; put back the default unless asked.
    if !ignore {
        crate::sys::default_signal_disposition(Signal::SIGPIPE)
            .map_err(|e| format!("signal(SIGPIPE, SIG_DFL): {e}"))?;
    }
    let (r, w) = crate::sys::pipe().map_err(|e| format!("pipe: {e}"))?;
    drop(r);
    match nix::unistd::write(&w, b"x") {
        Ok(n) => Err(format!("survived: write returned {n}")),
        Err(e) => Err(format!("survived: write failed with {e:?}")),
    }
}

#[cfg(unix)]
pub use unix::*;

#[cfg(unix)]
mod unix {
    use std::io;
    use std::os::fd::{AsFd, AsRawFd, OwnedFd};

    use crate::channel::fd::FdEndpoint;
    use crate::channel::{Channel, Endpoint, Mechanism, Role};
    use crate::check::Ctx;
    use crate::observe::{Checked, Step};
    use crate::peer::PeerCommand;

    /// `pipe(2)`: the read end and the write end.
    pub struct Pipe {
        pub read: OwnedFd,
        pub write: OwnedFd,
    }

    impl Channel for Pipe {
        fn open(&mut self, role: Role) -> io::Result<Box<dyn Endpoint>> {
            let end = match role {
                Role::Sender => self.write.try_clone()?,
                Role::Receiver => self.read.try_clone()?,
            };
            Ok(Box::new(FdEndpoint::new(end)?))
        }

        fn peer(&mut self, cx: &Ctx, role: Role) -> io::Result<PeerCommand> {
            let end = match role {
                Role::Sender => self.write.as_fd(),
                Role::Receiver => self.read.as_fd(),
            };
            Ok(cx
                .peer(&["endpoint", "pipe", role.as_str()])
                .handover(end, 3))
        }

        fn name(&self) -> Option<String> {
            None
        }

        fn nameless_evidence(&self) -> String {
            format!(
                "pipe(2) returns two descriptors and no name; {}",
                describe_fd(&self.read)
            )
        }
    }

    /// What the system says a pipe descriptor is: on Linux its /proc link, else fstat.
    pub fn describe_fd(fd: &OwnedFd) -> String {
        let raw = fd.as_raw_fd();
        let link = std::fs::read_link(format!("/proc/self/fd/{raw}"));
        let stat = nix::sys::stat::fstat(fd);
        let mut s = String::new();
        if let Ok(l) = link {
            s.push_str(&format!(
                "/proc/self/fd/{raw} → {:?}; ",
                l.display().to_string()
            ));
        }
        match stat {
            Ok(st) => s.push_str(&format!(
                "fstat: mode {:o} (FIFO: {}), st_nlink {}",
                st.st_mode,
                (st.st_mode & libc::S_IFMT) == libc::S_IFIFO,
                st.st_nlink
            )),
            Err(e) => s.push_str(&format!("fstat: {e}")),
        }
        s
    }

    /// The anonymous pipe as a `Mechanism`.
    pub struct PipeMechanism;

    impl Mechanism for PipeMechanism {
        fn id(&self) -> &'static str {
            "pipe"
        }

        fn create(&self, _cx: &mut Ctx) -> Checked<Box<dyn Channel>> {
            let (read, write) = crate::sys::pipe().step("pipe()")?;
            Ok(Box::new(Pipe { read, write }))
        }
    }

    /// Fills a fresh pipe with non-blocking writes of `chunk` bytes until EAGAIN;
    /// returns the bytes accepted.
    pub fn fill(write: &OwnedFd, chunk: usize) -> io::Result<usize> {
        crate::channel::fd::set_nonblocking(write.as_fd())?;
        let buf = vec![0x5a; chunk];
        let mut total = 0;
        loop {
            match nix::unistd::write(write, &buf) {
                Ok(n) => total += n,
                Err(nix::errno::Errno::EAGAIN) => return Ok(total),
                Err(e) => return Err(e.into()),
            }
            if total > 64 << 20 {
                return Err(io::Error::other(
                    "pipe accepted over 64 MiB without filling",
                ));
            }
        }
    }

    /// PIPE_BUF as the system reports it for a pipe at run time.
    pub fn pipe_buf(fd: &OwnedFd) -> io::Result<usize> {
        match nix::unistd::fpathconf(fd, nix::unistd::PathconfVar::PIPE_BUF)? {
            Some(n) => Ok(n as usize),
            None => Err(io::Error::other("fpathconf(_PC_PIPE_BUF) reports no limit")),
        }
    }
}
