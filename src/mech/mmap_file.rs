//! Memory-mapped files (mmap on Unix; CreateFileMapping and MapViewOfFile on
//! Windows): mapping a file, and the peer roles of the `mmap_file.*` checks.
//!
//! Peer roles:
//! - `mmap_file-map <path> <len> <shared|private|read>`: opens the file (read-only
//!   for `read`) and maps `len` bytes shared read-write, private (copy-on-write),
//!   or shared read-only; serves the memory protocol of `crate::mech::shm`
//!   (refusing stores through a `read` mapping);
//! - `mmap_file-store-readonly <path>`: maps the file shared read-only, prints
//!   `ready <pid>`, then stores a byte through the mapping. The store should fault
//!   and the process die of it (SIGSEGV or SIGBUS on Unix, with core dumps
//!   disabled first; an access violation on Windows, with the error dialog
//!   disabled); if it survives it says so on stderr and exits 1.

crate::mech::api_where!(any(unix, windows), imp);

/// The exit code of a Windows process killed by an access violation
/// (STATUS_ACCESS_VIOLATION).
pub const ACCESS_VIOLATION: u32 = 0xC000_0005;

#[cfg(any(unix, windows))]
mod imp {
    use std::io;
    use std::path::Path;

    use crate::mech::shm::{Mapping, MemCommand, NoCommands, Request, say, serve_memory};

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
    #[cfg(unix)]
    pub fn map_file(path: &Path, len: usize, mode: Mode) -> io::Result<Mapping> {
        use nix::sys::mman::{MapFlags, ProtFlags};
        use std::os::fd::AsFd;
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

    /// Opens `path` (read-write only for [`Mode::Shared`]) and maps a view of
    /// `len` bytes: PAGE_READWRITE/FILE_MAP_WRITE, PAGE_WRITECOPY/FILE_MAP_COPY
    /// or PAGE_READONLY/FILE_MAP_READ.
    #[cfg(windows)]
    pub fn map_file(path: &Path, len: usize, mode: Mode) -> io::Result<Mapping> {
        use std::os::windows::io::AsRawHandle;
        use windows_sys::Win32::Foundation::CloseHandle;
        use windows_sys::Win32::System::Memory::{
            CreateFileMappingW, FILE_MAP_COPY, FILE_MAP_READ, FILE_MAP_WRITE, MapViewOfFile,
            PAGE_READONLY, PAGE_READWRITE, PAGE_WRITECOPY,
        };
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(mode == Mode::Shared)
            .open(path)?;
        let (protect, access) = match mode {
            Mode::Shared => (PAGE_READWRITE, FILE_MAP_WRITE),
            Mode::Private => (PAGE_WRITECOPY, FILE_MAP_COPY),
            Mode::ReadOnly => (PAGE_READONLY, FILE_MAP_READ),
        };
        // SAFETY: a valid open file handle; no security attributes and no name;
        // size 0 means the file's size.
        let section = unsafe {
            CreateFileMappingW(
                file.as_raw_handle(),
                std::ptr::null(),
                protect,
                0,
                0,
                std::ptr::null(),
            )
        };
        if section.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a valid section handle; the view covers `len` bytes from offset 0.
        let view = unsafe { MapViewOfFile(section, access, 0, 0, len) };
        let err = io::Error::last_os_error();
        // SAFETY: the section handle is ours; the view keeps the section alive.
        unsafe { CloseHandle(section) };
        let ptr = std::ptr::NonNull::new(view.Value).ok_or(err)?;
        // SAFETY: ptr is the view MapViewOfFile just returned, `len` bytes long,
        // owned by the Mapping alone from here on.
        Ok(unsafe { Mapping::from_view(ptr, len) })
    }

    /// Makes a fault of this process leave no core file behind (a peer only:
    /// process-global state).
    #[cfg(unix)]
    fn quiet_crash() {
        let _ = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0);
        #[cfg(target_os = "linux")]
        let _ = nix::sys::prctl::set_dumpable(false);
        // nix has no prctl module for Android.
        // SAFETY: PR_SET_DUMPABLE takes one integer argument and no memory.
        #[cfg(target_os = "android")]
        let _ = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0) };
    }

    /// Makes a fault of this process end it without an error dialog or a
    /// Windows Error Reporting pause (a peer only: process-global state).
    #[cfg(windows)]
    fn quiet_crash() {
        const SEM_FAILCRITICALERRORS: u32 = 0x0001;
        const SEM_NOGPFAULTERRORBOX: u32 = 0x0002;
        const EXCEPTION_EXECUTE_HANDLER: i32 = 1;
        type Filter = unsafe extern "system" fn(*mut std::ffi::c_void) -> i32;
        #[link(name = "kernel32")]
        unsafe extern "system" {
            fn SetErrorMode(mode: u32) -> u32;
            fn SetUnhandledExceptionFilter(filter: Option<Filter>) -> Option<Filter>;
        }
        /// Ends the process with the exception code, without asking for a
        /// debugger (Wine ignores the error mode and starts winedbg otherwise).
        unsafe extern "system" fn terminate(_info: *mut std::ffi::c_void) -> i32 {
            EXCEPTION_EXECUTE_HANDLER
        }
        // SAFETY: SetErrorMode takes flags and returns the previous mode;
        // SetUnhandledExceptionFilter takes a function with the
        // LPTOP_LEVEL_EXCEPTION_FILTER signature, which `terminate` has.
        unsafe {
            SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
            SetUnhandledExceptionFilter(Some(terminate));
        }
    }

    pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
        let describe =
            |what: &str, e: io::Error| format!("{what}: {}", crate::observe::describe_io_error(&e));
        match (role, args) {
            ("mmap_file-map", [path, len, mode]) => Some((|| {
                let len: usize = len.parse().map_err(|_| "bad length")?;
                let mode = Mode::parse(mode).ok_or("bad mode")?;
                let map = map_file(Path::new(path), len, mode).map_err(|e| describe(path, e))?;
                serve_memory(&map, &mut |request: &Request<NoCommands>| {
                    (mode == Mode::ReadOnly
                        && matches!(
                            request,
                            Request::Memory(
                                MemCommand::Write { .. }
                                    | MemCommand::Store { .. }
                                    | MemCommand::Publish { .. }
                                    | MemCommand::Append(_)
                            )
                        ))
                    .then(|| Ok("err 0 this mapping is read-only".to_owned()))
                })
            })()),
            ("mmap_file-store-readonly", [path]) => Some((|| {
                quiet_crash();
                let map =
                    map_file(Path::new(path), 1, Mode::ReadOnly).map_err(|e| describe(path, e))?;
                say(&format!("ready {}", std::process::id()))?;
                let before = map.read(0, 1)[0];
                // The probe: a store through a read-only mapping. The CPU traps;
                // the kernel sends SIGSEGV (Linux, FreeBSD) or SIGBUS (macOS), and
                // Rust's handler re-raises it with the default action; on Windows
                // the access violation is unhandled and ends the process. Nothing
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
