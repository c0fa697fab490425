//! Named pipes (FIFOs): the guard that makes and removes a FIFO path, the
//! adapter for the matrix checks, and the FIFO peer roles.
//!
//! Opening order matters for a FIFO: a blocking open waits for the other end,
//! and a non-blocking open for writing fails with ENXIO while nobody has it open
//! for reading. Every open here is non-blocking, and a channel keeps one read
//! end and one write end of its own for its whole life, so that peers' opens
//! succeed at once and a reader sees "no data yet" between writers rather than
//! end of file (what a FIFO server does by holding its own FIFO open).

use crate::channel::{Endpoint, Role};

/// Opens `endpoint fifo <role> <path>` in a peer: the sender O_WRONLY, the receiver
/// O_RDONLY, both non-blocking (the channel's creator already holds both ends).
pub fn open_remote(role: Role, args: &[String]) -> Option<std::io::Result<Box<dyn Endpoint>>> {
    cfg_if::cfg_if! {
        if #[cfg(unix)] {
            let [path] = args else {
                return Some(Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "usage: endpoint fifo <sender|receiver> <path>",
                )));
            };
            Some(open_end(std::path::Path::new(path), role).map(|e| Box::new(e) as Box<dyn Endpoint>))
        } else {
            let _ = (role, args);
            None
        }
    }
}

/// Peer roles:
/// - `fifo-open <path> read|write` prints `opening <pid>`, opens the FIFO
///   *blocking* (O_RDONLY or O_WRONLY), prints `opened` (or `err <errno>`) and
///   keeps it open until its stdin closes;
/// - `fifo-make <path>` creates the FIFO (mode 0600), opens both ends, writes
///   into it, prints `made <inode>` and exits, closing everything;
/// - `fifo-write-blocking <path> <len>` and `fifo-records-blocking <path>
///   <writer> <count> <size>` open the FIFO O_WRONLY (blocking, so the caller
///   holds a read end first) and behave as `pipe-write-blocking` and
///   `pipe-records-blocking` (see `crate::mech::pipe`).
pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
    match (role, args) {
        #[cfg(unix)]
        ("fifo-open", [path, dir]) => Some(unix::blocking_open_role(path, dir)),
        #[cfg(unix)]
        ("fifo-make", [path]) => Some(unix::make_role(path)),
        #[cfg(unix)]
        ("fifo-write-blocking", [path, len]) => Some(
            unix::open_for_writing(path)
                .and_then(|fd| crate::mech::pipe::write_blocking_body(fd, len)),
        ),
        #[cfg(unix)]
        ("fifo-records-blocking", [path, writer, count, size]) => Some(
            unix::open_for_writing(path)
                .and_then(|fd| crate::mech::pipe::records_blocking_body(fd, writer, count, size)),
        ),
        _ => None,
    }
}

#[cfg(unix)]
pub use unix::*;

#[cfg(unix)]
mod unix {
    use crate::peer::answer::say;
    use std::io;
    use std::os::fd::OwnedFd;
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};

    use nix::fcntl::OFlag;
    use nix::sys::stat::Mode;

    use crate::channel::fd::FdEndpoint;
    use crate::channel::{Channel, Endpoint, Role, unit_mechanism};
    use crate::check::Ctx;
    use crate::names::PathGuard;
    use crate::observe::{Checked, Step};
    use crate::peer::PeerCommand;

    /// The mode every FIFO of the suite gets.
    pub const MODE: u32 = 0o600;

    /// A FIFO at a fresh `ipcconf-` path in the check's private directory, mode
    /// 0600; the path is removed when the guard drops, also when the check panics.
    pub struct FifoPath {
        guard: PathGuard,
    }

    impl FifoPath {
        /// mkfifo() in the check's private (0700) directory.
        pub fn create(cx: &mut Ctx) -> Checked<FifoPath> {
            let path = cx.path(".fifo")?;
            FifoPath::create_at(path).step("mkfifo")
        }

        /// mkfifo() at `path`, then the mode set to exactly 0600 (whatever the umask).
        pub fn create_at(path: PathBuf) -> io::Result<FifoPath> {
            nix::unistd::mkfifo(&path, Mode::from_bits_truncate(MODE as _))?;
            // The guard exists from here on: a failure below still removes the path.
            let guard = PathGuard::new(path);
            std::fs::set_permissions(guard.path(), std::fs::Permissions::from_mode(MODE))?;
            Ok(FifoPath { guard })
        }

        pub fn path(&self) -> &Path {
            self.guard.path()
        }

        /// The path as a peer argument.
        pub fn arg(&self) -> String {
            self.path().display().to_string()
        }

        /// Opens the read end without blocking (a step of the check).
        pub fn open_reader(&self) -> Checked<OwnedFd> {
            open(self.path(), OFlag::O_RDONLY | OFlag::O_NONBLOCK).step("open O_RDONLY|O_NONBLOCK")
        }

        /// Opens the write end without blocking (a step of the check; there
        /// must be a reader: ENXIO otherwise).
        pub fn open_writer(&self) -> Checked<OwnedFd> {
            open(self.path(), OFlag::O_WRONLY | OFlag::O_NONBLOCK).step("open O_WRONLY|O_NONBLOCK")
        }
    }

    /// open(2) on a FIFO, close-on-exec always added.
    pub fn open(path: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
        nix::fcntl::open(path, flags | OFlag::O_CLOEXEC, Mode::empty())
    }

    /// Opens one end without blocking: the sender O_WRONLY (ENXIO while nobody
    /// reads), the receiver O_RDONLY.
    pub fn open_end(path: &Path, role: Role) -> io::Result<FdEndpoint> {
        let access = match role {
            Role::Sender => OFlag::O_WRONLY,
            Role::Receiver => OFlag::O_RDONLY,
        };
        FdEndpoint::new(open(path, access | OFlag::O_NONBLOCK)?)
    }

    /// What the system says the path is: file type, mode, owner, inode.
    pub fn describe_path(path: &Path) -> String {
        match nix::sys::stat::lstat(path) {
            Ok(st) => format!(
                "lstat: {} mode {:o}, uid {}, inode {}",
                if is_fifo(&st) { "FIFO" } else { "not a FIFO" },
                st.st_mode & 0o7777,
                st.st_uid,
                st.st_ino
            ),
            Err(e) => format!("lstat: {}", crate::observe::describe_io_error(&e.into())),
        }
    }

    pub fn is_fifo(st: &nix::sys::stat::FileStat) -> bool {
        (st.st_mode & libc::S_IFMT) == libc::S_IFIFO
    }

    /// PIPE_BUF for this FIFO: fpathconf(_PC_PIPE_BUF) on an open end, with its
    /// source; libc's constant when the system reports none.
    pub fn pipe_buf(fd: &OwnedFd) -> (usize, String) {
        match nix::unistd::fpathconf(fd, nix::unistd::PathconfVar::PIPE_BUF) {
            Ok(Some(n)) if n > 0 => (n as usize, format!("fpathconf(_PC_PIPE_BUF) = {n}")),
            other => (
                libc::PIPE_BUF,
                format!(
                    "fpathconf(_PC_PIPE_BUF) gave {other:?}; libc's PIPE_BUF = {}",
                    libc::PIPE_BUF
                ),
            ),
        }
    }

    /// One FIFO as a channel: its path, and the read and write ends this process
    /// holds for the channel's life (opened in that order: the read end first,
    /// so that the non-blocking write open finds a reader). Fields drop in order:
    /// both ends close, then the guard removes the path.
    pub struct Fifo {
        _keep_write: OwnedFd,
        _keep_read: OwnedFd,
        path: FifoPath,
    }

    impl Fifo {
        pub fn create(cx: &mut Ctx) -> Checked<Fifo> {
            let path = FifoPath::create(cx)?;
            let keep_read =
                open(path.path(), OFlag::O_RDONLY | OFlag::O_NONBLOCK).step("open O_RDONLY")?;
            let keep_write =
                open(path.path(), OFlag::O_WRONLY | OFlag::O_NONBLOCK).step("open O_WRONLY")?;
            Ok(Fifo {
                _keep_write: keep_write,
                _keep_read: keep_read,
                path,
            })
        }

        pub fn path(&self) -> &Path {
            self.path.path()
        }
    }

    impl Channel for Fifo {
        fn open(&mut self, role: Role) -> io::Result<Box<dyn Endpoint>> {
            Ok(Box::new(open_end(self.path(), role)?))
        }

        fn peer(&mut self, cx: &Ctx, role: Role) -> io::Result<PeerCommand> {
            Ok(cx.peer(&["endpoint", "fifo", role.as_str(), &self.path.arg()]))
        }

        fn name(&self) -> Option<String> {
            Some(self.path.arg())
        }
    }

    unit_mechanism!(
        /// The named pipe as a `Mechanism`.
        FifoMechanism,
        "fifo",
        |cx| Ok(Box::new(Fifo::create(cx)?))
    );

    /// `fifo-open <path> read|write`: a blocking open, reported before and after.
    pub(super) fn blocking_open_role(path: &str, dir: &str) -> Result<(), String> {
        let access = match dir {
            "read" => OFlag::O_RDONLY,
            "write" => OFlag::O_WRONLY,
            _ => return Err(format!("bad direction {dir:?}")),
        };
        say(&format!("opening {}", std::process::id()))?;
        match open(Path::new(path), access) {
            Ok(fd) => {
                say("opened")?;
                // Hold it until the parent closes our stdin.
                let mut sink = String::new();
                let _ = io::stdin().read_line(&mut sink);
                drop(fd);
                Ok(())
            }
            Err(e) => {
                say(&format!("err {} {e:?}", e as i32))?;
                Ok(())
            }
        }
    }

    /// A blocking O_WRONLY open by path, as a role's error text.
    pub(super) fn open_for_writing(path: &str) -> Result<OwnedFd, String> {
        open(Path::new(path), OFlag::O_WRONLY).map_err(|e| format!("open {path:?} O_WRONLY: {e}"))
    }

    /// `fifo-make <path>`: creates and uses the FIFO, then exits.
    pub(super) fn make_role(path: &str) -> Result<(), String> {
        let path = Path::new(path);
        nix::unistd::mkfifo(path, Mode::from_bits_truncate(MODE as _))
            .map_err(|e| format!("mkfifo: {e}"))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(MODE))
            .map_err(|e| format!("chmod: {e}"))?;
        let r = open(path, OFlag::O_RDONLY | OFlag::O_NONBLOCK)
            .map_err(|e| format!("open O_RDONLY: {e}"))?;
        let w = open(path, OFlag::O_WRONLY | OFlag::O_NONBLOCK)
            .map_err(|e| format!("open O_WRONLY: {e}"))?;
        nix::unistd::write(&w, b"left-behind").map_err(|e| format!("write: {e}"))?;
        let st = nix::sys::stat::fstat(&r).map_err(|e| format!("fstat: {e}"))?;
        say(&format!("made {}", st.st_ino))?;
        drop((r, w));
        Ok(())
    }
}
