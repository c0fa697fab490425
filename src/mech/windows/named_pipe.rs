//! Windows named pipes (`\\.\pipe\<name>`): the `win_named_pipe.*` claims.
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
use crate::check::Ctx;
use crate::observe::{Checked, Observation, Step};
use crate::peer::Peer;
use crate::peer::endpoint_proto::Answer;
use crate::watchdog::BOUND;

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

/// Starts a client peer that gets only the pipe's name (empty environment but
/// SystemRoot, no inherited handles).
fn start_client(cx: &Ctx, name: &str) -> Checked<Peer> {
    let mut cmd = cx.peer(&["endpoint", "win_named_pipe", "sender", name]);
    cmd.command().env_clear();
    if let Some(root) = std::env::var_os("SystemRoot") {
        cmd.command().env("SystemRoot", root);
    }
    Ok(cmd.start()?)
}

fn create(name: &str, message: bool) -> Checked<Server> {
    Server::create(name, message).map_err(|e| {
        Observation::from_io_error(
            &format!(
                "CreateNamedPipeW({name}, {})",
                if message {
                    "PIPE_TYPE_MESSAGE"
                } else {
                    "PIPE_TYPE_BYTE"
                }
            ),
            &e,
        )
    })
}

/// `win_named_pipe.available`: a server creates a fresh name, a client process
/// given only the name opens it and sends a marker; yes when it arrives.
pub fn available(cx: &mut Ctx) -> Checked<Observation> {
    let name = unique_name();
    let server = create(&name, false)?;
    let mut client = start_client(cx, &name)?;
    server.connect(BOUND).step("ConnectNamedPipe")?;
    let answer = client.send_data(b"named-pipe-marker")?;
    if !answer.is_ok() {
        return Ok(Observation::no(format!("client could not write: {answer}")));
    }
    let got = server.read(256, BOUND).step("ReadFile (server)")?;
    Ok(Observation::holds(
        got.data == b"named-pipe-marker",
        format!(
            "CreateNamedPipeW({name}); a client process (pid {}, given only the name) opened it with CreateFileW and wrote 17 bytes; the server read {:?}; server end: {}",
            client.pid(),
            String::from_utf8_lossy(&got.data),
            super::anon_pipe::describe_handle(server.handle.as_raw_handle())
        ),
    ))
}

/// `win_named_pipe.bidirectional`: PIPE_ACCESS_DUPLEX; server and client each send
/// and receive on their one handle.
pub fn bidirectional(cx: &mut Ctx) -> Checked<Observation> {
    let name = unique_name();
    let server = create(&name, false)?;
    let mut client = start_client(cx, &name)?;
    server.connect(BOUND).step("ConnectNamedPipe")?;
    server
        .write(b"server-to-client", BOUND)
        .step("WriteFile (server)")?;
    let at_client = client.recv_data(256)?;
    let at_client_text = match &at_client {
        Answer::Data(d) => format!("received {:?}", String::from_utf8_lossy(d)),
        other => format!("answered {:?}", other.to_string()),
    };
    let answer = client.send_data(b"client-to-server")?;
    if !answer.is_ok() {
        return Ok(Observation::no(format!(
            "the client {at_client_text} but could not write on its handle: {answer}"
        )));
    }
    let at_server = server.read(256, BOUND).step("ReadFile (server)")?;
    let ok = at_client == Answer::Data(b"server-to-client".to_vec())
        && at_server.data == b"client-to-server";
    Ok(Observation::holds(
        ok,
        format!(
            "one PIPE_ACCESS_DUPLEX instance {name}: the server wrote \"server-to-client\", the client process (pid {}) {at_client_text}; the client wrote \"client-to-server\", the server read {:?}",
            client.pid(),
            String::from_utf8_lossy(&at_server.data)
        ),
    ))
}

/// `win_named_pipe.message_mode_boundaries`: PIPE_TYPE_MESSAGE with
/// PIPE_READMODE_MESSAGE; the client writes 10 then 20 bytes before the server
/// reads; one 64-byte ReadFile returns exactly the 10, the next the 20. A third
/// message of 20 bytes read with an 8-byte buffer shows the partial read
/// (ERROR_MORE_DATA) that message mode gives instead of merging.
pub fn message_mode_boundaries(cx: &mut Ctx) -> Checked<Observation> {
    let name = unique_name();
    let server = create(&name, true)?;
    let mut client = start_client(cx, &name)?;
    server.connect(BOUND).step("ConnectNamedPipe")?;
    let first = vec![b'a'; 10];
    let second = vec![b'b'; 20];
    let third = vec![b'c'; 20];
    for m in [&first, &second, &third] {
        let answer = client.send_data(m)?;
        if !answer.is_ok() {
            return Ok(Observation::error(format!("client write: {answer}")));
        }
    }
    // All three messages queued before the first read (PeekNamedPipe's total).
    let queued = crate::channel::wait_counted(
        || {
            super::bytes_available(server.handle.as_raw_handle())
                .map(|n| Some(crate::channel::Queued::Bytes(n as usize)))
        },
        |left| {
            std::thread::sleep(left.min(super::PROBE_PAUSE));
            Ok(false)
        },
        &[10, 20, 20],
        BOUND,
    )
    .step("PeekNamedPipe")?;
    let queued = match queued {
        Ok(seen) => seen,
        Err(seen) => {
            return Ok(Observation::timeout(format!(
                "the client wrote 10, 20 and 20 bytes; {seen}"
            )));
        }
    };
    let r1 = server.read(64, BOUND).step("first ReadFile(64)")?;
    let r2 = server.read(64, BOUND).step("second ReadFile(64)")?;
    let r3 = server
        .read(8, BOUND)
        .step("ReadFile(8) of a 20-byte message")?;
    let r4 = server.read(64, BOUND).step("ReadFile of the rest")?;
    let ok = r1.data == first && !r1.more && r2.data == second && !r2.more;
    Ok(Observation::holds(
        ok,
        format!(
            "PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE: the client process wrote 10, 20 and 20 bytes; {queued}; ReadFile(64) returned {} bytes, then {} bytes; ReadFile(8) on the third returned {} bytes with ERROR_MORE_DATA = {}, and the next read the remaining {}",
            r1.data.len(),
            r2.data.len(),
            r3.data.len(),
            r3.more,
            r4.data.len()
        ),
    ))
}
