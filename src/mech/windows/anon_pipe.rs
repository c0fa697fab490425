//! Windows anonymous pipes (`CreatePipe`): the adapter for the matrix checks, and
//! the calls and the peer role the pipe suite's Windows checks use.
//!
//! "Windows anonymous pipes are similar but not identical to Unix pipes": a read
//! handle and a write handle, both non-inheritable here; a peer gets its end by
//! `DuplicateHandle` into its process.

use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle, RawHandle};
use std::sync::Arc;

use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::Storage::FileSystem::{
    FILE_NAME_INFO, FILE_TYPE_PIPE, FileNameInfo, GetFileInformationByHandleEx, GetFileType,
};
use windows_sys::Win32::System::Pipes::{CreatePipe, GetNamedPipeInfo};

use super::{HandleEndpoint, Handover, cvt};
use crate::channel::{Channel, Endpoint, Role, unit_mechanism};
use crate::check::Ctx;
use crate::observe::Step;
use crate::peer::PeerCommand;

/// `CreatePipe(nSize = size)`: (read end, write end), neither inheritable.
pub fn create_pipe(size: u32) -> io::Result<(OwnedHandle, OwnedHandle)> {
    let mut r: HANDLE = std::ptr::null_mut();
    let mut w: HANDLE = std::ptr::null_mut();
    // SAFETY: both out-pointers are valid; a null SECURITY_ATTRIBUTES gives
    // handles that are not inheritable.
    cvt(unsafe { CreatePipe(&mut r, &mut w, std::ptr::null(), size) })?;
    // SAFETY: CreatePipe succeeded, so both handles are open and owned by no one else.
    Ok(unsafe {
        (
            OwnedHandle::from_raw_handle(r as RawHandle),
            OwnedHandle::from_raw_handle(w as RawHandle),
        )
    })
}

/// What the system says a pipe handle is: file type, pipe flags and buffer
/// sizes, and the name the object manager gives it.
pub fn describe_handle(h: RawHandle) -> String {
    // SAFETY: `h` is an open handle owned by the caller.
    let ftype = unsafe { GetFileType(h as HANDLE) };
    let mut s = format!(
        "GetFileType = {ftype} ({})",
        if ftype == FILE_TYPE_PIPE {
            "FILE_TYPE_PIPE"
        } else {
            "not a pipe"
        }
    );
    let (mut flags, mut out, mut inb, mut max) = (0u32, 0u32, 0u32, 0u32);
    // SAFETY: `h` is an open pipe handle; the four out-pointers are valid.
    match cvt(unsafe { GetNamedPipeInfo(h as HANDLE, &mut flags, &mut out, &mut inb, &mut max) }) {
        Ok(()) => s.push_str(&format!(
            "; GetNamedPipeInfo: flags {flags:#x}, out buffer {out}, in buffer {inb}, max instances {max}"
        )),
        Err(e) => s.push_str(&format!("; GetNamedPipeInfo: {e}")),
    }
    match handle_name(h) {
        Ok(n) => s.push_str(&format!("; FileNameInfo: {n:?}")),
        Err(e) => s.push_str(&format!("; FileNameInfo: {e}")),
    }
    s
}

/// The name of the object behind a handle (`GetFileInformationByHandleEx`, FileNameInfo).
pub fn handle_name(h: RawHandle) -> io::Result<String> {
    // FILE_NAME_INFO is a u32 length followed by UTF-16: keep the buffer u32-aligned.
    let mut buf = [0u32; 520];
    // SAFETY: `h` is an open handle; the buffer is valid, writable and aligned for
    // FILE_NAME_INFO for its whole size.
    cvt(unsafe {
        GetFileInformationByHandleEx(
            h as HANDLE,
            FileNameInfo,
            buf.as_mut_ptr().cast(),
            std::mem::size_of_val(&buf) as u32,
        )
    })?;
    // SAFETY: the call succeeded and filled a FILE_NAME_INFO at the start of the buffer.
    let info = unsafe { &*(buf.as_ptr() as *const FILE_NAME_INFO) };
    let units = (info.FileNameLength as usize / 2).min(1036);
    // SAFETY: FileName holds FileNameLength bytes inside the buffer (capped above).
    let name = unsafe { std::slice::from_raw_parts(info.FileName.as_ptr(), units) };
    Ok(String::from_utf16_lossy(name))
}

/// An anonymous pipe: the read end and the write end.
pub struct AnonPipe {
    pub read: OwnedHandle,
    pub write: OwnedHandle,
}

impl Channel for AnonPipe {
    fn open(&mut self, role: Role) -> io::Result<Box<dyn Endpoint>> {
        Ok(match role {
            Role::Sender => Box::new(HandleEndpoint::sender(self.write.try_clone()?)),
            Role::Receiver => Box::new(HandleEndpoint::receiver(self.read.try_clone()?, false)?),
        })
    }

    fn peer(&mut self, cx: &Ctx, role: Role) -> io::Result<PeerCommand> {
        let end = role.pick(&self.write, &self.read).as_raw_handle();
        Ok(cx
            .peer(&["endpoint", "pipe", role.as_str()])
            .handover_windows(Handover::Handle(end)))
    }

    fn name(&self) -> Option<String> {
        None
    }

    fn nameless_evidence(&self) -> String {
        format!(
            "CreatePipe returns a read handle and a write handle and no name to open; read end: {}",
            describe_handle(self.read.as_raw_handle())
        )
    }
}

unit_mechanism!(
    /// The anonymous pipe as a `Mechanism`.
    AnonPipeMechanism,
    "pipe",
    |_cx| {
        let (read, write) = create_pipe(0).step("CreatePipe")?;
        Ok(Box::new(AnonPipe { read, write }))
    }
);

/// Opens the handed-over pipe end in a peer.
pub fn open_remote(role: Role) -> io::Result<Box<dyn Endpoint>> {
    let h = super::take_handle()?;
    Ok(match role {
        Role::Sender => Box::new(HandleEndpoint::sender(h)),
        Role::Receiver => Box::new(HandleEndpoint::receiver(h, false)?),
    })
}

/// Fills a pipe through its write end with non-blocking (`PIPE_NOWAIT`) writes of
/// `chunk` bytes until a write is accepted no byte; returns the bytes accepted.
/// The write end stays in non-blocking mode. Runs bounded: if the write end does
/// not honour PIPE_NOWAIT the fill ends in `TimedOut` (the caller then closes the
/// read end, which ends the blocked write).
pub fn fill(write: &Arc<OwnedHandle>, chunk: usize) -> io::Result<usize> {
    super::set_pipe_mode(write.as_raw_handle(), false, true)?;
    let w = write.clone();
    let r = crate::watchdog::bounded(crate::watchdog::BOUND, move || {
        let buf = vec![0x5a; chunk];
        let mut total = 0usize;
        loop {
            let n = super::write_once(w.as_raw_handle(), &buf)?;
            if n == 0 {
                return Ok(total);
            }
            total += n;
            if total > 256 << 20 {
                return Err(io::Error::other(
                    "the pipe accepted more than 256 MiB without filling",
                ));
            }
        }
    });
    r.unwrap_or_else(|| {
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "a PIPE_NOWAIT write did not return within the bound (non-blocking mode not honoured)",
        ))
    })
}

/// Pipe peer roles on Windows:
/// - `win-pipe-closed-reader`: asks the C runtime for SIGPIPE, then writes into a
///   pipe whose read end it closed, and reports on stdout what happened
///   (`survived signal=<...> write=<...>`).
pub fn peer_role(role: &str, _args: &[String]) -> Option<Result<(), String>> {
    match role {
        "win-pipe-closed-reader" => Some(closed_reader_probe()),
        _ => None,
    }
}

fn closed_reader_probe() -> Result<(), String> {
    // 13 is SIGPIPE on Unix; the C runtimes on Windows define no SIGPIPE.
    let sig = super::crt_signal::try_signal(13, super::crt_signal::SIG_DFL);
    let (r, w) = create_pipe(0).map_err(|e| format!("CreatePipe: {e}"))?;
    drop(r);
    let write = match super::write_once(w.as_raw_handle(), b"x") {
        Ok(n) => format!("wrote {n} byte(s)"),
        Err(e) => format!(
            "WriteFile failed with {}",
            super::describe_code(e.raw_os_error().unwrap_or(0) as u32)
        ),
    };
    println!("survived signal(13, SIG_DFL) -> {sig}; {write}");
    Ok(())
}
