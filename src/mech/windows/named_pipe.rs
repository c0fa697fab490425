//! Windows named pipes (`\\.\pipe\<name>`): the server end, the client end and
//! the peer's endpoint that the `win_named_pipe` suite (suites/win_named_pipe.rs)
//! observes with.
//!
//! "Windows named pipes are different" from FIFOs: a server creates pipe
//! instances with `CreateNamedPipeW`, clients open the name with `CreateFileW`,
//! one instance is duplex, and a message-type pipe keeps each write whole.
//!
//! The server end lives in the test binary and uses overlapped I/O, so every wait
//! is a bounded `WaitForSingleObject` (a timed-out operation is cancelled and
//! reaped before its buffer goes away). The client is a peer process that gets
//! only the pipe's name.

use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle, RawHandle};
use std::time::Duration;

use windows_sys::Win32::Foundation::{
    ERROR_IO_PENDING, ERROR_MORE_DATA, ERROR_PIPE_CONNECTED, GENERIC_READ, GENERIC_WRITE, HANDLE,
    INVALID_HANDLE_VALUE, LocalFree, WAIT_OBJECT_0,
};
use windows_sys::Win32::Security::Authorization::{
    ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::{PSECURITY_DESCRIPTOR, SECURITY_ATTRIBUTES};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_FLAG_FIRST_PIPE_INSTANCE, FILE_FLAG_OVERLAPPED, OPEN_EXISTING,
    PIPE_ACCESS_DUPLEX, ReadFile, WriteFile,
};
use windows_sys::Win32::System::IO::{CancelIoEx, GetOverlappedResult, OVERLAPPED};
use windows_sys::Win32::System::Pipes::{
    ConnectNamedPipe, CreateNamedPipeW, PIPE_READMODE_BYTE, PIPE_READMODE_MESSAGE,
    PIPE_REJECT_REMOTE_CLIENTS, PIPE_TYPE_BYTE, PIPE_TYPE_MESSAGE, PIPE_WAIT,
};
use windows_sys::Win32::System::Threading::{CreateEventW, WaitForSingleObject};

use super::{HandleEndpoint, cvt, wide};
use crate::channel::{Endpoint, Role};

/// A fresh pipe name: `\\.\pipe\ipcconf-<pid>-<n>-<hex>`.
pub fn unique_name() -> String {
    format!(r"\\.\pipe\{}", crate::names::unique())
}

/// The server end of one named-pipe instance (overlapped handle).
pub struct Server {
    pub handle: OwnedHandle,
    pub name: String,
}

/// What one overlapped read returned.
#[derive(Debug)]
pub struct Read {
    pub data: Vec<u8>,
    /// ERROR_MORE_DATA: the message was longer than the buffer.
    pub more: bool,
}

impl Server {
    /// `CreateNamedPipeW` for one duplex instance, byte or message type, local
    /// clients only, with a DACL granting access to the owner alone (the
    /// counterpart of mode 0600).
    pub fn create(name: &str, message: bool) -> io::Result<Server> {
        let sddl = wide("D:P(A;;GA;;;OW)");
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: NUL-terminated SDDL string; `sd` receives a LocalAlloc'd
        // descriptor, freed below.
        cvt(unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                sddl.as_ptr(),
                SDDL_REVISION_1,
                &mut sd,
                std::ptr::null_mut(),
            )
        })?;
        let sa = SECURITY_ATTRIBUTES {
            nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
            lpSecurityDescriptor: sd,
            bInheritHandle: 0,
        };
        let mode = if message {
            PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE
        } else {
            PIPE_TYPE_BYTE | PIPE_READMODE_BYTE
        } | PIPE_WAIT
            | PIPE_REJECT_REMOTE_CLIENTS;
        let wname = wide(name);
        // SAFETY: NUL-terminated name; `sa` and the descriptor it points to outlive
        // the call.
        let h = unsafe {
            CreateNamedPipeW(
                wname.as_ptr(),
                PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
                mode,
                1,
                65536,
                65536,
                0,
                &sa,
            )
        };
        let err = io::Error::last_os_error();
        // SAFETY: `sd` came from ConvertStringSecurityDescriptorToSecurityDescriptorW
        // and is no longer used.
        unsafe { LocalFree(sd) };
        if h == INVALID_HANDLE_VALUE {
            return Err(err);
        }
        Ok(Server {
            // SAFETY: CreateNamedPipeW returned a new handle that nothing else owns.
            handle: unsafe { OwnedHandle::from_raw_handle(h as RawHandle) },
            name: name.to_owned(),
        })
    }

    fn raw(&self) -> HANDLE {
        self.handle.as_raw_handle() as HANDLE
    }

    /// Waits (bounded) for a client: `ConnectNamedPipe`, overlapped.
    pub fn connect(&self, bound: Duration) -> io::Result<()> {
        match overlapped(self.raw(), bound, |ov| {
            // SAFETY: the handle is open and overlapped; `ov` is valid until the
            // operation completes (the helper waits or cancels and reaps).
            unsafe { ConnectNamedPipe(self.raw(), ov) }
        }) {
            Ok(_) => Ok(()),
            Err(e) if e.raw_os_error() == Some(ERROR_PIPE_CONNECTED as i32) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// One read of at most `max` bytes (bounded).
    pub fn read(&self, max: usize, bound: Duration) -> io::Result<Read> {
        let mut buf = vec![0u8; max];
        let ptr = buf.as_mut_ptr();
        let len = max as u32;
        let r = overlapped(self.raw(), bound, |ov| {
            // SAFETY: `buf` outlives the operation (the helper returns only once it
            // completed or was cancelled and reaped); the handle is overlapped.
            unsafe { ReadFile(self.raw(), ptr, len, std::ptr::null_mut(), ov) }
        });
        match r {
            Ok(n) => {
                buf.truncate(n as usize);
                Ok(Read {
                    data: buf,
                    more: false,
                })
            }
            Err(e) if e.raw_os_error() == Some(ERROR_MORE_DATA as i32) => Ok(Read {
                data: buf,
                more: true,
            }),
            Err(e) => Err(e),
        }
    }

    /// One write (bounded).
    pub fn write(&self, data: &[u8], bound: Duration) -> io::Result<usize> {
        let ptr = data.as_ptr();
        let len = data.len() as u32;
        overlapped(self.raw(), bound, |ov| {
            // SAFETY: `data` outlives the operation (see `read`).
            unsafe { WriteFile(self.raw(), ptr, len, std::ptr::null_mut(), ov) }
        })
        .map(|n| n as usize)
    }
}

/// Runs one overlapped operation and waits at most `bound` for it. On timeout the
/// operation is cancelled and reaped before returning, so the caller's buffer is
/// never written after this returns. `Err` carries ERROR_MORE_DATA and the like.
fn overlapped(
    h: HANDLE,
    bound: Duration,
    start: impl FnOnce(*mut OVERLAPPED) -> i32,
) -> io::Result<u32> {
    // SAFETY: a manual-reset, unnamed, non-inheritable event.
    let ev = unsafe { CreateEventW(std::ptr::null(), 1, 0, std::ptr::null()) };
    if ev.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: CreateEventW returned a new handle; OwnedHandle closes it at the end.
    let ev = unsafe { OwnedHandle::from_raw_handle(ev as RawHandle) };
    // SAFETY: OVERLAPPED is plain data; zero plus the event is the documented start.
    let mut ov: OVERLAPPED = unsafe { std::mem::zeroed() };
    ov.hEvent = ev.as_raw_handle() as HANDLE;
    let ok = start(&mut ov);
    if ok == 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(ERROR_IO_PENDING as i32) {
            return Err(e);
        }
        let ms = bound.as_millis().min(u128::from(u32::MAX - 1)) as u32;
        // SAFETY: the event handle is open.
        if unsafe { WaitForSingleObject(ov.hEvent, ms) } != WAIT_OBJECT_0 {
            let mut n = 0u32;
            // SAFETY: cancel this operation, then wait for it to finish so that
            // nothing writes into `ov` or the caller's buffer afterwards.
            unsafe {
                CancelIoEx(h, &ov);
                GetOverlappedResult(h, &ov, &mut n, 1);
            }
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the operation did not complete within {bound:?}"),
            ));
        }
    }
    let mut n = 0u32;
    // SAFETY: the operation has completed (event signalled or synchronous success).
    if unsafe { GetOverlappedResult(h, &ov, &mut n, 0) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n)
}

/// Opens the client end of a named pipe by name (`CreateFileW`), not inheritable.
pub fn open_client(name: &str) -> io::Result<OwnedHandle> {
    let w = wide(name);
    // SAFETY: NUL-terminated name; null security attributes (not inheritable).
    let h = unsafe {
        CreateFileW(
            w.as_ptr(),
            GENERIC_READ | GENERIC_WRITE,
            0,
            std::ptr::null(),
            OPEN_EXISTING,
            0,
            std::ptr::null_mut(),
        )
    };
    if h == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: CreateFileW returned a new handle that nothing else owns.
    Ok(unsafe { OwnedHandle::from_raw_handle(h as RawHandle) })
}

/// In a peer: `endpoint win_named_pipe <role> <name>` opens the client end by name.
pub fn open_remote(_role: Role, args: &[String]) -> io::Result<Box<dyn Endpoint>> {
    let [name] = args else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "endpoint win_named_pipe <role> <\\\\.\\pipe\\name>",
        ));
    };
    let h = open_client(name)?;
    Ok(Box::new(HandleEndpoint::receiver(h, false)?))
}
