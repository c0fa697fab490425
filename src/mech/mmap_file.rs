//! Memory-mapped files: the peer roles of the `mmap_file.*` checks.
//!
//! Peer roles:
//! - `mmap_file-map <path> <len> <shared|private|read>`: opens the file (read-only
//!   for `read`) and maps `len` bytes MAP_SHARED read-write, MAP_PRIVATE
//!   read-write, or MAP_SHARED PROT_READ; serves the memory protocol of
//!   `crate::mech::shm` (never a store through a `read` mapping);
//! - `mmap_file-store-readonly <path>`: maps the file MAP_SHARED with PROT_READ
//!   only, prints `ready <pid>`, then stores a byte through the mapping. The
//!   store should fault and the process die of the signal (core dumps disabled
//!   first); if it survives it says so on stderr and exits 1.

pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
    cfg_if::cfg_if! {
        if #[cfg(unix)] {
            unix::peer_role(role, args)
        } else {
            let _ = (role, args);
            None
        }
    }
}

#[cfg(unix)]
pub use unix::*;

#[cfg(unix)]
mod unix {
    use std::io;
    use std::os::fd::AsFd;
    use std::path::Path;

    use nix::sys::mman::{MapFlags, ProtFlags};

    use crate::mech::shm::{Mapping, say, serve_memory};

    /// How a file is mapped.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Mode {
        /// MAP_SHARED, read-write: stores reach the file.
        Shared,
        /// MAP_PRIVATE, read-write: stores are copy-on-write.
        Private,
        /// MAP_SHARED, PROT_READ only.
        ReadOnly,
    }

    impl Mode {
        pub fn parse(s: &str) -> Option<Mode> {
            match s {
                "shared" => Some(Mode::Shared),
                "private" => Some(Mode::Private),
                "read" => Some(Mode::ReadOnly),
                _ => None,
            }
        }

        pub fn as_str(self) -> &'static str {
            match self {
                Mode::Shared => "shared",
                Mode::Private => "private",
                Mode::ReadOnly => "read",
            }
        }
    }

    /// Opens `path` (read-only for [`Mode::ReadOnly`], close-on-exec as std
    /// opens everything) and maps `len` bytes of it.
    pub fn map_file(path: &Path, len: usize, mode: Mode) -> io::Result<Mapping> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(mode != Mode::ReadOnly)
            .open(path)?;
        let (prot, flags) = match mode {
            Mode::Shared => (
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            ),
            Mode::Private => (
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_PRIVATE,
            ),
            Mode::ReadOnly => (ProtFlags::PROT_READ, MapFlags::MAP_SHARED),
        };
        // The mapping keeps the file referenced; the descriptor can go.
        Mapping::map(file.as_fd(), len, prot, flags)
    }

    /// Makes a fault of this process leave no core file behind (a peer only:
    /// process-global state).
    fn no_core_dumps() {
        let _ = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0);
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let _ = nix::sys::prctl::set_dumpable(false);
    }

    pub(super) fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
        let describe =
            |what: &str, e: io::Error| format!("{what}: {}", crate::observe::describe_io_error(&e));
        match (role, args) {
            ("mmap_file-map", [path, len, mode]) => Some((|| {
                let len: usize = len.parse().map_err(|_| "bad length")?;
                let mode = Mode::parse(mode).ok_or("bad mode")?;
                let map = map_file(Path::new(path), len, mode).map_err(|e| describe(path, e))?;
                serve_memory(&map, &mut |words: &[&str]| {
                    (mode == Mode::ReadOnly
                        && matches!(
                            words.first(),
                            Some(&("write" | "store" | "publish" | "append"))
                        ))
                    .then(|| Ok("err 0 this mapping is read-only".to_owned()))
                })
            })()),
            ("mmap_file-store-readonly", [path]) => Some((|| {
                no_core_dumps();
                let map =
                    map_file(Path::new(path), 1, Mode::ReadOnly).map_err(|e| describe(path, e))?;
                say(&format!("ready {}", std::process::id()))?;
                let before = map.read(0, 1)[0];
                // The probe: a store through a PROT_READ mapping. The CPU traps
                // and the kernel sends SIGSEGV (Linux, FreeBSD) or SIGBUS (macOS);
                // Rust's handler re-raises it with the default action, so nothing
                // after this line runs unless the store is allowed.
                map.write(0, &[before ^ 0xff]);
                Err(format!(
                    "survived: the store through the read-only mapping succeeded (byte {before:#04x} now {:#04x})",
                    map.read(0, 1)[0]
                ))
            })()),
            _ => None,
        }
    }
}
