//! Windows: the mechanisms the guide gives a Windows column, through the Win32
//! and Winsock APIs (windows-sys): their adapters, the calls the checks make
//! (narrow wrappers, each `unsafe` block with its SAFETY comment), and the peer
//! roles the peer program runs. The checks themselves are the suites', beside
//! the Unix checks of the same claims (CONTRIBUTING.md, "Adding a claim").
//!
//! - [`anon_pipe`]: anonymous pipes (`CreatePipe`): the adapter, filling a pipe,
//!   describing a handle, the `win-pipe-closed-reader` role;
//! - [`named_pipe`]: Windows named pipes (`\\.\pipe\...`): server, client, peer endpoint;
//! - [`winsock`]: stream sockets through Winsock (AF_UNIX, and TCP for its own
//!   tests) as a channel, and [`sockaddr`], the addresses it takes;
//! - [`afunix`]: AF_UNIX on Windows: the `Mechanism` adapter over that channel,
//!   the classified `socket()`, the peer's pid, the `win-afunix-server` role;
//! - [`crt_signal`]: the C runtime's `signal()`/`raise()`, the `win-crt-*`
//!   roles and their protocol, and the console route into another process.
//!
//! Handles go to peers by duplication into the started child (`DuplicateHandle`,
//! `WSADuplicateSocketW`), never by inheritance: std starts every child with
//! `bInheritHandles`, so an inheritable handle in the multithreaded test binary
//! would leak into children that other checks start at the same moment. Every
//! handle and socket made here is created non-inheritable.

pub mod afunix;
pub mod anon_pipe;
pub mod crt_signal;
pub mod named_pipe;
pub mod protocol;
pub mod sockaddr;
pub mod winsock;

use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle, RawHandle};
use std::sync::Arc;
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::{
    DUPLICATE_SAME_ACCESS, DuplicateHandle, ERROR_BROKEN_PIPE, ERROR_MORE_DATA, ERROR_NO_DATA,
    ERROR_PIPE_NOT_CONNECTED, HANDLE,
};
use windows_sys::Win32::Storage::FileSystem::{ReadFile, WriteFile};
use windows_sys::Win32::System::Pipes::{
    PIPE_NOWAIT, PIPE_READMODE_BYTE, PIPE_READMODE_MESSAGE, PIPE_WAIT, PeekNamedPipe,
    SetNamedPipeHandleState,
};
use windows_sys::Win32::System::Threading::GetCurrentProcess;

use crate::channel::{Endpoint, Role};
use crate::watchdog::BOUND;

/// How often the bounded waits below look again: Windows gives anonymous pipes
/// no readiness wait (no overlapped I/O, no WSAPoll), so a bounded wait on them
/// is a probe loop with this pause, ended by the deadline.
pub const PROBE_PAUSE: Duration = Duration::from_millis(1);

/// `Err(last error)` unless the Win32 call returned TRUE.
pub fn cvt(ok: i32) -> io::Result<()> {
    if ok != 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A Win32 or Winsock error code as `NAME (code)` where the suite knows the
/// name, `error <code>` otherwise (names: learn.microsoft.com/windows/win32/winsock/windows-sockets-error-codes-2,
/// .../debug/system-error-codes).
pub fn describe_code(code: u32) -> String {
    let named = crate::sys::errno_name(code as i32);
    if !named.starts_with("OS error") {
        return format!("{named} ({code})");
    }
    let name = match code {
        1 => "ERROR_INVALID_FUNCTION",
        3 => "ERROR_PATH_NOT_FOUND",
        6 => "ERROR_INVALID_HANDLE",
        995 => "ERROR_OPERATION_ABORTED",
        997 => "ERROR_IO_PENDING",
        1920 => "ERROR_CANT_ACCESS_FILE",
        10004 => "WSAEINTR",
        10013 => "WSAEACCES",
        10014 => "WSAEFAULT",
        10022 => "WSAEINVAL",
        10024 => "WSAEMFILE",
        10036 => "WSAEINPROGRESS",
        10037 => "WSAEALREADY",
        10038 => "WSAENOTSOCK",
        10039 => "WSAEDESTADDRREQ",
        10041 => "WSAEPROTOTYPE",
        10042 => "WSAENOPROTOOPT",
        10046 => "WSAEPFNOSUPPORT",
        10048 => "WSAEADDRINUSE",
        10049 => "WSAEADDRNOTAVAIL",
        10050 => "WSAENETDOWN",
        10053 => "WSAECONNABORTED",
        10055 => "WSAENOBUFS",
        10056 => "WSAEISCONN",
        10057 => "WSAENOTCONN",
        10058 => "WSAESHUTDOWN",
        10060 => "WSAETIMEDOUT",
        10063 => "WSAENAMETOOLONG",
        10093 => "WSANOTINITIALISED",
        10106 => "WSAEPROVIDERFAILEDINIT",
        _ => return format!("error {code}"),
    };
    format!("{name} ({code})")
}

/// An I/O error as the suite names it: `NAME (code)` for an OS error (see
/// [`describe_code`]), else its text.
pub fn describe_error(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => describe_code(code as u32),
        None => e.to_string(),
    }
}

/// UTF-16, NUL-terminated, for the W functions.
pub fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// A handle or socket this process hands to a peer it starts.
#[derive(Debug, Clone, Copy)]
pub enum Handover {
    /// A kernel handle, duplicated into the child with `DuplicateHandle`.
    Handle(RawHandle),
    /// A Winsock socket, duplicated for the child with `WSADuplicateSocketW`.
    Socket(std::os::windows::io::RawSocket),
}

// SAFETY: a raw handle value is an index into this process's handle table; moving
// the number between threads is harmless, and it is only used while its owner
// (the channel) keeps it open.
unsafe impl Send for Handover {}

impl crate::peer::Handover for Handover {
    /// Duplicates the handle or socket into `child` and returns the line that tells
    /// the child what it got (`handle <value>` or `socket <hex WSAPROTOCOL_INFOW>`).
    fn line_for(&self, child: &std::process::Child) -> io::Result<String> {
        match *self {
            Handover::Handle(h) => {
                let mut out: HANDLE = std::ptr::null_mut();
                // SAFETY: `h` is open in this process (its owner outlives the peer
                // command); the child's process handle comes from std's Child and has
                // PROCESS_DUP_HANDLE access; `out` is a valid out-pointer. The copy is
                // not inheritable and lives in the child's handle table.
                cvt(unsafe {
                    DuplicateHandle(
                        GetCurrentProcess(),
                        h as HANDLE,
                        child.as_raw_handle() as HANDLE,
                        &mut out,
                        0,
                        0,
                        DUPLICATE_SAME_ACCESS,
                    )
                })?;
                Ok(protocol::HandoverLine::Handle(out as usize).to_string())
            }
            Handover::Socket(s) => {
                let info = winsock::duplicate_for(s, child.id())?;
                Ok(protocol::HandoverLine::Socket(info).to_string())
            }
        }
    }
}

/// What a peer received from its parent.
pub enum Handed {
    Handle(OwnedHandle),
    Socket(std::os::windows::io::OwnedSocket),
}

/// In a peer: reads the parent's handover line from stdin and takes ownership of
/// what it names.
pub fn take_handover() -> io::Result<Handed> {
    use crate::peer::wire::WireLine;
    let mut line = String::new();
    io::stdin().read_line(&mut line)?;
    let line = protocol::HandoverLine::from_line(line.trim_end())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    match line {
        protocol::HandoverLine::Handle(v) => {
            // SAFETY: the parent duplicated this handle into this process for it alone
            // (DuplicateHandle with this process as the target); nothing else here
            // owns it.
            Ok(Handed::Handle(unsafe {
                OwnedHandle::from_raw_handle(v as RawHandle)
            }))
        }
        protocol::HandoverLine::Socket(info) => {
            Ok(Handed::Socket(winsock::socket_from_info(&info)?))
        }
    }
}

/// Takes a handed-over handle (not a socket).
pub fn take_handle() -> io::Result<OwnedHandle> {
    match take_handover()? {
        Handed::Handle(h) => Ok(h),
        Handed::Socket(_) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "expected a handle, got a socket",
        )),
    }
}

/// Sets a pipe handle's read mode and wait mode (`SetNamedPipeHandleState`).
pub fn set_pipe_mode(h: RawHandle, message: bool, nowait: bool) -> io::Result<()> {
    let mode = if message {
        PIPE_READMODE_MESSAGE
    } else {
        PIPE_READMODE_BYTE
    } | if nowait { PIPE_NOWAIT } else { PIPE_WAIT };
    // SAFETY: `h` is an open pipe handle owned by the caller; `mode` outlives the
    // call; the two optional pointers are null (left unchanged).
    cvt(unsafe { SetNamedPipeHandleState(h as HANDLE, &mode, std::ptr::null(), std::ptr::null()) })
}

/// Bytes waiting in a pipe (`PeekNamedPipe`); `Err` with ERROR_BROKEN_PIPE once the
/// other end is gone and nothing is left.
pub fn bytes_available(h: RawHandle) -> io::Result<u32> {
    let mut avail = 0u32;
    // SAFETY: `h` is an open pipe handle; no buffer is passed (size 0), only the
    // total-available out-pointer, which outlives the call.
    cvt(unsafe {
        PeekNamedPipe(
            h as HANDLE,
            std::ptr::null_mut(),
            0,
            std::ptr::null_mut(),
            &mut avail,
            std::ptr::null_mut(),
        )
    })?;
    Ok(avail)
}

/// One synchronous transfer of at most `len` bytes: `call(len as u32, &mut n)`
/// is a ReadFile or WriteFile whose count lands in `n`; the count, or the error.
fn transfer_once(len: usize, call: impl FnOnce(u32, &mut u32) -> i32) -> io::Result<usize> {
    let mut n = 0u32;
    cvt(call(u32::try_from(len).unwrap_or(u32::MAX), &mut n))?;
    Ok(n as usize)
}

/// One `ReadFile` into `buf` (synchronous handle); `Ok(n)` or the error.
pub fn read_once(h: RawHandle, buf: &mut [u8]) -> io::Result<usize> {
    transfer_once(buf.len(), |len, n| {
        // SAFETY: `h` is an open handle opened without FILE_FLAG_OVERLAPPED; `buf`
        // is valid for `len` bytes and `n` for the count, both outliving the call.
        unsafe { ReadFile(h as HANDLE, buf.as_mut_ptr(), len, n, std::ptr::null_mut()) }
    })
}

/// One `WriteFile` of `data` (synchronous handle); the count written.
pub fn write_once(h: RawHandle, data: &[u8]) -> io::Result<usize> {
    transfer_once(data.len(), |len, n| {
        // SAFETY: `h` is an open handle opened without FILE_FLAG_OVERLAPPED; `data`
        // is valid for `len` bytes and `n` for the count, both outliving the call.
        unsafe { WriteFile(h as HANDLE, data.as_ptr(), len, n, std::ptr::null_mut()) }
    })
}

/// Writes all of `data` to a pipe handle, waiting at most `bound` in all. The write
/// runs on a helper thread so that a pipe that stays full ends in `TimedOut`
/// instead of a hang; the thread holds its own reference to the handle and ends
/// when the pipe drains or its reader goes away.
pub fn write_all_bounded(h: &Arc<OwnedHandle>, data: &[u8], bound: Duration) -> io::Result<usize> {
    let h = h.clone();
    let data = data.to_vec();
    let deadline = Instant::now() + bound;
    let r = crate::watchdog::bounded(bound, move || {
        let mut done = 0;
        while done < data.len() {
            let n = write_once(h.as_raw_handle(), &data[done..])?;
            if n == 0 {
                // A handle in non-blocking mode whose pipe is full: look again.
                if Instant::now() >= deadline {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "the pipe took {done} of {} bytes within the bound",
                            data.len()
                        ),
                    ));
                }
                std::thread::sleep(PROBE_PAUSE);
            }
            done += n;
        }
        Ok(done)
    });
    r.unwrap_or_else(|| {
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the pipe accepted nothing more within the bound",
        ))
    })
}

/// A pipe end (anonymous pipe end, or one end of a named pipe) as an `Endpoint`.
/// A receiving end is switched to `PIPE_NOWAIT`, so a read never blocks (two
/// readers draining one pipe cannot strand each other); waits are bounded probe
/// loops over `PeekNamedPipe`.
pub struct HandleEndpoint {
    pub handle: Arc<OwnedHandle>,
}

impl HandleEndpoint {
    /// A sending end: writes block (as `WriteFile` on a pipe does), bounded.
    pub fn sender(h: OwnedHandle) -> Self {
        HandleEndpoint {
            handle: Arc::new(h),
        }
    }

    /// A receiving end, switched to non-blocking reads in byte or message read mode.
    pub fn receiver(h: OwnedHandle, message: bool) -> io::Result<Self> {
        set_pipe_mode(h.as_raw_handle(), message, true)?;
        Ok(HandleEndpoint {
            handle: Arc::new(h),
        })
    }
}

impl Endpoint for HandleEndpoint {
    fn send(&mut self, msg: &[u8]) -> io::Result<usize> {
        write_all_bounded(&self.handle, msg, BOUND)
    }

    fn try_recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match read_once(self.handle.as_raw_handle(), buf) {
            Ok(0) => Ok(None),
            Ok(n) => Ok(Some(n)),
            Err(e) => match e.raw_os_error().map(|c| c as u32) {
                Some(ERROR_NO_DATA) => Ok(None),
                Some(ERROR_BROKEN_PIPE | ERROR_PIPE_NOT_CONNECTED) => Ok(Some(0)),
                // Message read mode, buffer shorter than the message: a partial read.
                Some(ERROR_MORE_DATA) => Ok(Some(buf.len())),
                _ => Err(e),
            },
        }
    }

    fn wait_readable(&mut self, bound: Duration) -> io::Result<bool> {
        let deadline = Instant::now() + bound;
        loop {
            match bytes_available(self.handle.as_raw_handle()) {
                Ok(0) => {}
                Ok(_) => return Ok(true),
                Err(e)
                    if matches!(
                        e.raw_os_error().map(|c| c as u32),
                        Some(ERROR_BROKEN_PIPE | ERROR_PIPE_NOT_CONNECTED)
                    ) =>
                {
                    return Ok(true);
                }
                Err(e) => return Err(e),
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            std::thread::sleep(PROBE_PAUSE);
        }
    }

    fn poll_sockets(&self) -> Vec<u64> {
        vec![self.handle.as_raw_handle() as u64]
    }

    /// PeekNamedPipe's lpTotalBytesAvail: "the total number of bytes available to
    /// be read from the pipe", every message together
    /// (learn.microsoft.com/windows/win32/api/namedpipeapi/nf-namedpipeapi-peeknamedpipe).
    fn queued(&mut self) -> io::Result<Option<crate::channel::Queued>> {
        let n = bytes_available(self.handle.as_raw_handle())?;
        Ok(Some(crate::channel::Queued::Bytes(n as usize)))
    }
}

/// The endpoint adapters a peer opens (`ipcconf-peer endpoint <mech> ...`) for
/// the mechanisms this module adapts (see [`crate::mech::REGISTRY`]).
pub fn open_remote_pipe(role: Role, _args: &[String]) -> Option<io::Result<Box<dyn Endpoint>>> {
    Some(anon_pipe::open_remote(role))
}

pub fn open_remote_named_pipe(
    role: Role,
    args: &[String],
) -> Option<io::Result<Box<dyn Endpoint>>> {
    Some(named_pipe::open_remote(role, args))
}

pub fn open_remote_unix_stream(
    role: Role,
    args: &[String],
) -> Option<io::Result<Box<dyn Endpoint>>> {
    Some(winsock::open_remote("unix_stream", role, args))
}

/// Windows peer roles: `win_named_pipe-*`, `win-crt-*`, `win-*`.
pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
    if role.starts_with("win-crt-") {
        return crt_signal::peer_role(role, args);
    }
    if role.starts_with("win-afunix-") {
        return afunix::peer_role(role, args);
    }
    if role.starts_with("win-pipe-") {
        return anon_pipe::peer_role(role, args);
    }
    None
}
