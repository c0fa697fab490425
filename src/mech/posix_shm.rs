//! POSIX shared memory: objects named "/name" (shm_open), the guard that
//! unlinks them, and the peer roles of the `posix_shm.*` checks.
//!
//! Peer roles (both serve the memory protocol of `crate::mech::shm`):
//! - `posix_shm-map <name> <len>`: opens an existing object by name (nothing
//!   inherited), maps `len` bytes shared read-write;
//! - `posix_shm-create <name> <len>`: creates the object (O_EXCL, mode 0600),
//!   sizes and maps it; it does not unlink it when it exits (the controller
//!   holds the guard).

crate::mech::api_where!(all(unix, not(target_os = "android")), unix);

#[cfg(all(unix, not(target_os = "android")))]
mod unix {
    use std::io;
    use std::os::fd::{AsFd, OwnedFd};

    use nix::fcntl::OFlag;
    use nix::sys::mman::{MapFlags, ProtFlags};
    use nix::sys::stat::Mode;

    use crate::mech::shm::{Mapping, NameGuard, NoCommands, Request, Unlinker, serve_memory};

    /// The namespace of POSIX shared-memory objects (shm_unlink).
    pub enum ShmNames {}

    impl Unlinker for ShmNames {
        fn unlink(name: &str) {
            let _ = nix::sys::mman::shm_unlink(name);
        }
    }

    /// Removes a POSIX shared-memory name when dropped, also when the check
    /// panics. Made before the object is created, so no window leaks it.
    pub type Unlink = NameGuard<ShmNames>;

    fn cloexec(fd: OwnedFd) -> nix::Result<OwnedFd> {
        // shm_open sets FD_CLOEXEC on Linux, macOS and FreeBSD; make sure anyway.
        nix::fcntl::fcntl(
            &fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        )?;
        Ok(fd)
    }

    /// shm_open(O_CREAT | O_EXCL | O_RDWR, 0600), then ftruncate to `len`
    /// (once: macOS allows only one size change per object). A failure caused by
    /// an unusable /dev/shm is marked as a lacking precondition.
    pub fn create_fd(name: &str, len: usize) -> io::Result<OwnedFd> {
        let fd = nix::sys::mman::shm_open(
            name,
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR,
            Mode::S_IRUSR | Mode::S_IWUSR,
        )
        .map_err(|e| crate::precondition::shm_dir(e.into()))?;
        let fd = cloexec(fd)?;
        nix::unistd::ftruncate(&fd, len as libc::off_t)
            .map_err(|e| crate::precondition::shm_dir(e.into()))?;
        Ok(fd)
    }

    /// shm_open of an existing object, read-write or read-only.
    pub fn open_fd(name: &str, write: bool) -> nix::Result<OwnedFd> {
        let flags = if write {
            OFlag::O_RDWR
        } else {
            OFlag::O_RDONLY
        };
        cloexec(nix::sys::mman::shm_open(name, flags, Mode::empty())?)
    }

    /// `len` bytes of `fd` mapped shared read-write.
    fn map_shared(fd: &OwnedFd, len: usize) -> io::Result<Mapping> {
        Mapping::map(
            fd.as_fd(),
            len,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_SHARED,
        )
    }

    /// An object mapped shared read-write. Fields drop in order: unmap, close,
    /// then unlink (when this process created it).
    pub struct Object {
        pub map: Mapping,
        pub fd: OwnedFd,
        pub name: String,
        unlink: Option<Unlink>,
    }

    impl Object {
        /// Creates a fresh `/ipcconf-...` object of `len` bytes and maps it.
        pub fn create(len: usize) -> io::Result<Object> {
            let name = crate::names::unique_slash();
            let unlink = Unlink::new(&name);
            let fd = create_fd(&name, len)?;
            let map = map_shared(&fd, len)?;
            Ok(Object {
                map,
                fd,
                name,
                unlink: Some(unlink),
            })
        }

        /// Opens an existing object by name and maps `len` bytes of it; the name
        /// stays (this process did not create it).
        pub fn open(name: &str, len: usize) -> io::Result<Object> {
            let fd = open_fd(name, true)?;
            let map = map_shared(&fd, len)?;
            Ok(Object {
                map,
                fd,
                name: name.to_owned(),
                unlink: None,
            })
        }

        /// Whether dropping this value unlinks the name.
        pub fn owns_name(&self) -> bool {
            self.unlink.is_some()
        }
    }

    pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
        let describe =
            |what: &str, e: io::Error| format!("{what}: {}", crate::observe::describe_io_error(&e));
        match (role, args) {
            ("posix_shm-map", [name, len]) => Some((|| {
                let len: usize = len.parse().map_err(|_| "bad length")?;
                let obj = Object::open(name, len).map_err(|e| describe(name, e))?;
                serve_memory(&obj.map, &mut |_: &Request<NoCommands>| None)
            })()),
            ("posix_shm-create", [name, len]) => Some((|| {
                let len: usize = len.parse().map_err(|_| "bad length")?;
                let fd = create_fd(name, len).map_err(|e| describe(name, e))?;
                let map = map_shared(&fd, len).map_err(|e| describe("mmap", e))?;
                serve_memory(&map, &mut |_: &Request<NoCommands>| None)
            })()),
            _ => None,
        }
    }
}
