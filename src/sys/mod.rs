//! Narrow operating-system helpers shared by the harness: errno names and
//! the errors that mean "absent here". Every `unsafe` block of the crate lives
//! in a helper like these, with its SAFETY comment.

/// The target triple this binary was built for (set by build.rs).
pub const TARGET: &str = env!("IPCCONF_TARGET");

/// The symbolic name of an OS error code ("ENOSYS", "WSAEAFNOSUPPORT").
pub fn errno_name(code: i32) -> String {
    cfg_if::cfg_if! {
        if #[cfg(unix)] {
            format!("{:?}", nix::errno::Errno::from_raw(code))
        } else if #[cfg(windows)] {
            let name = match code {
                2 => "ERROR_FILE_NOT_FOUND",
                5 => "ERROR_ACCESS_DENIED",
                6 => "ERROR_INVALID_HANDLE",
                50 => "ERROR_NOT_SUPPORTED",
                87 => "ERROR_INVALID_PARAMETER",
                109 => "ERROR_BROKEN_PIPE",
                120 => "ERROR_CALL_NOT_IMPLEMENTED",
                231 => "ERROR_PIPE_BUSY",
                232 => "ERROR_NO_DATA",
                233 => "ERROR_PIPE_NOT_CONNECTED",
                234 => "ERROR_MORE_DATA",
                535 => "ERROR_PIPE_CONNECTED",
                10035 => "WSAEWOULDBLOCK",
                10040 => "WSAEMSGSIZE",
                10043 => "WSAEPROTONOSUPPORT",
                10044 => "WSAESOCKTNOSUPPORT",
                10045 => "WSAEOPNOTSUPP",
                10047 => "WSAEAFNOSUPPORT",
                10054 => "WSAECONNRESET",
                10061 => "WSAECONNREFUSED",
                _ => return format!("OS error {code}"),
            };
            name.to_owned()
        } else {
            format!("OS error {code}")
        }
    }
}

/// Codes that mean the facility does not exist at run time (CONTRIBUTING.md rule 6).
pub fn is_absent_errno(code: Option<i32>) -> bool {
    let Some(code) = code else { return false };
    cfg_if::cfg_if! {
        if #[cfg(unix)] {
            [
                libc::ENOSYS,
                libc::EOPNOTSUPP,
                libc::ENOTSUP,
                libc::EPROTONOSUPPORT,
                libc::EAFNOSUPPORT,
                libc::ESOCKTNOSUPPORT,
                libc::EPFNOSUPPORT,
            ]
            .contains(&code)
        } else if #[cfg(windows)] {
            [50, 120, 10043, 10044, 10045, 10047].contains(&code)
        } else {
            false
        }
    }
}

/// The running glibc's version string.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn glibc_version() -> String {
    // SAFETY: gnu_get_libc_version takes no arguments and returns a pointer to a
    // static NUL-terminated string owned by glibc, valid for the process lifetime.
    let ptr = unsafe { libc::gnu_get_libc_version() };
    if ptr.is_null() {
        return "unknown".to_owned();
    }
    // SAFETY: non-null, NUL-terminated, static (see above).
    unsafe { std::ffi::CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned()
}

/// sysctlbyname(name) into `buf`: the bytes the kernel wrote, or None when the
/// call fails (no such name, or a value larger than `buf`).
#[cfg(any(target_os = "macos", target_os = "freebsd"))]
fn sysctl_bytes<'b>(name: &str, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    let cname = std::ffi::CString::new(name).ok()?;
    let mut len: libc::size_t = buf.len();
    // SAFETY: cname is NUL-terminated; buf is writable for `len` bytes and `len`
    // is updated by the kernel to the bytes written; no new value is set.
    let rc = unsafe {
        libc::sysctlbyname(
            cname.as_ptr(),
            buf.as_mut_ptr().cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 {
        return None;
    }
    Some(&buf[..len.min(buf.len())])
}

/// A string-valued sysctl ("kern.osproductversion").
#[cfg(any(target_os = "macos", target_os = "freebsd"))]
pub fn sysctl_string(name: &str) -> Option<String> {
    let mut buf = [0u8; 256];
    let bytes = sysctl_bytes(name, &mut buf)?;
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    Some(String::from_utf8_lossy(&bytes[..end]).into_owned())
}

/// An integer-valued sysctl ("kern.ipc.pipe_mindirect").
#[cfg(any(target_os = "macos", target_os = "freebsd"))]
pub fn sysctl_int(name: &str) -> Option<i64> {
    let mut buf = [0u8; 8];
    match sysctl_bytes(name, &mut buf)? {
        b if b.len() == 4 => Some(i64::from(i32::from_ne_bytes(b.try_into().ok()?))),
        b if b.len() == 8 => Some(i64::from_ne_bytes(b.try_into().ok()?)),
        _ => None,
    }
}

#[cfg(windows)]
fn ntdll_proc(name: &std::ffi::CStr) -> Option<unsafe extern "system" fn() -> isize> {
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
    // SAFETY: both strings are NUL-terminated; ntdll is mapped into every Windows
    // process (and every Wine process), so the module handle stays valid.
    unsafe {
        let module = GetModuleHandleA(c"ntdll.dll".as_ptr().cast());
        if module.is_null() {
            return None;
        }
        GetProcAddress(module, name.as_ptr().cast())
    }
}

/// (major, minor, build) from RtlGetVersion, which unlike GetVersionEx is not
/// subject to manifest-based version lies.
#[cfg(windows)]
pub fn windows_version() -> (u32, u32, u32) {
    #[repr(C)]
    struct OsVersionInfoW {
        size: u32,
        major: u32,
        minor: u32,
        build: u32,
        platform: u32,
        csd: [u16; 128],
    }
    let Some(f) = ntdll_proc(c"RtlGetVersion") else {
        return (0, 0, 0);
    };
    let mut info = OsVersionInfoW {
        size: 0,
        major: 0,
        minor: 0,
        build: 0,
        platform: 0,
        csd: [0; 128],
    };
    info.size = std::mem::size_of::<OsVersionInfoW>() as u32;
    // SAFETY: RtlGetVersion has the signature NTSTATUS(PRTL_OSVERSIONINFOW); the
    // struct above has that layout with its size field set, and outlives the call.
    let status = unsafe {
        let f: unsafe extern "system" fn(*mut OsVersionInfoW) -> i32 = std::mem::transmute(f);
        f(&mut info)
    };
    if status != 0 {
        return (0, 0, 0);
    }
    (info.major, info.minor, info.build)
}

/// Wine's version when running under Wine (ntdll exports wine_get_version).
#[cfg(windows)]
pub fn wine_version() -> Option<String> {
    let f = ntdll_proc(c"wine_get_version")?;
    // SAFETY: wine_get_version has the signature `const char *(void)` and returns a
    // static NUL-terminated string.
    unsafe {
        let f: unsafe extern "C" fn() -> *const std::ffi::c_char = std::mem::transmute(f);
        let ptr = f();
        (!ptr.is_null()).then(|| std::ffi::CStr::from_ptr(ptr).to_string_lossy().into_owned())
    }
}

#[cfg(unix)]
pub mod fork;
#[cfg(unix)]
pub mod futex;
#[cfg(target_os = "linux")]
pub mod linux;
#[cfg(unix)]
pub mod shared;

/// Arranges for `Command` to give the child each `(fd, target)` as descriptor
/// `target`. dup2 clears close-on-exec on the copy only, so the originals stay
/// close-on-exec and other children never inherit them.
#[cfg(unix)]
pub fn dup_before_exec(
    cmd: &mut std::process::Command,
    pairs: Vec<(std::os::fd::RawFd, std::os::fd::RawFd)>,
) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec and calls only
    // fcntl and dup2, which are async-signal-safe; it allocates nothing (the
    // vector was built before fork). Sources are first copied above every
    // target so that no dup2 overwrites a source another pair still needs.
    unsafe {
        cmd.pre_exec(move || {
            let mut staged = [0 as std::os::fd::RawFd; 16];
            if pairs.len() > staged.len() {
                return Err(std::io::Error::from_raw_os_error(libc::EMFILE));
            }
            for (i, &(fd, _)) in pairs.iter().enumerate() {
                staged[i] = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 64);
                if staged[i] == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            for (i, &(_, target)) in pairs.iter().enumerate() {
                if libc::dup2(staged[i], target) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// Takes ownership of a descriptor a parent handed over with `dup_before_exec`.
#[cfg(unix)]
pub fn take_handed_over_fd(fd: std::os::fd::RawFd) -> std::io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // Make sure it is open before claiming it.
    nix::fcntl::fcntl(
        // SAFETY: borrowing the raw number only for this fcntl(F_GETFD) probe.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) },
        nix::fcntl::FcntlArg::F_GETFD,
    )?;
    // SAFETY: the descriptor is open (checked above) and was placed at this number
    // by the parent for this process alone; nothing else in the process owns it.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// Forks a child that writes `bytes` to `fd` and exits: the descriptor is used
/// through fork inheritance only. Returns the child's pid.
#[cfg(unix)]
pub fn fork_writer(
    fd: std::os::fd::BorrowedFd<'_>,
    bytes: &[u8],
) -> std::io::Result<nix::unistd::Pid> {
    use std::os::fd::AsRawFd;
    let raw = fd.as_raw_fd();
    // SAFETY: in the child, between fork and _exit, only write(2) and _exit(2) run;
    // both are async-signal-safe, so the child cannot deadlock on a lock another
    // thread of this (multithreaded) test process held at fork time.
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Child => unsafe {
            let n = libc::write(raw, bytes.as_ptr().cast(), bytes.len());
            libc::_exit(if n == bytes.len() as isize { 0 } else { 1 });
        },
        nix::unistd::ForkResult::Parent { child } => Ok(child),
    }
}

/// Restores the default disposition of `sig` in this process (a peer: Rust's
/// runtime ignores SIGPIPE at start-up, which would hide the default action).
#[cfg(unix)]
pub fn default_signal_disposition(sig: nix::sys::signal::Signal) -> nix::Result<()> {
    // SAFETY: installing SIG_DFL runs no handler code; called in the single-threaded
    // peer process only, never in the test binary.
    unsafe { nix::sys::signal::signal(sig, nix::sys::signal::SigHandler::SigDfl) }.map(|_| ())
}

/// Ignores `sig` in this process (a peer: FreeBSD without the mqueuefs module
/// raises SIGSYS in mq_open before failing with ENOSYS).
#[cfg(unix)]
pub fn ignore_signal(sig: nix::sys::signal::Signal) -> nix::Result<()> {
    // SAFETY: installing SIG_IGN runs no handler code; called in a
    // single-threaded peer process only, never in the test binary.
    unsafe { nix::sys::signal::signal(sig, nix::sys::signal::SigHandler::SigIgn) }.map(|_| ())
}

/// pipe(2) with both ends close-on-exec, so children that concurrently running
/// checks spawn never hold a copy (which would, for one, delay end of file).
#[cfg(unix)]
pub fn pipe() -> nix::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))] {
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        } else {
            // No pipe2 here: set the flag right after; a fork in that window is
            // the only way to leak, and only into a child that execs anyway.
            let (r, w) = nix::unistd::pipe()?;
            for fd in [&r, &w] {
                nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC))?;
            }
            Ok((r, w))
        }
    }
}

/// "ENOSYS (Function not implemented)"-style text for an io::Error.
pub fn describe_io_error(err: &std::io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => format!("{} ({err})", errno_name(code)),
        None => err.to_string(),
    }
}

/// Errors that mean "this facility does not exist here", not "the check failed".
pub fn is_absent_at_run_time(err: &std::io::Error) -> bool {
    err.kind() == std::io::ErrorKind::Unsupported || is_absent_errno(err.raw_os_error())
}
