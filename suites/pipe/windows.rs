//! Anonymous pipes on Windows: the observations of the `pipe.*` claims a
//! Windows build checks, through CreatePipe's read and write handles
//! (`mech::windows::anon_pipe`). Included by suites/pipe.rs, whose tests call
//! them as `os::<property>`.

use std::os::windows::io::{AsRawHandle, OwnedHandle};
use std::sync::Arc;

use ipc_conformance::check::Ctx;
use ipc_conformance::mech::windows::anon_pipe::{create_pipe, describe_handle, fill};
use ipc_conformance::mech::windows::{describe_code, read_once, write_once};
use ipc_conformance::watchdog::{BOUND, bounded};
use ipc_conformance::{Checked, Observation, Step};

const ERROR_ACCESS_DENIED: i32 = 5;
const ERROR_BROKEN_PIPE: i32 = 109;
const ERROR_NO_DATA: i32 = 232;

fn code(r: &std::io::Result<usize>) -> String {
    match r {
        Ok(n) => format!("Ok({n})"),
        Err(e) => describe_code(e.raw_os_error().unwrap_or(0) as u32),
    }
}

fn failed_with(r: &std::io::Result<usize>, c: i32) -> bool {
    matches!(r, Err(e) if e.raw_os_error() == Some(c))
}

pub fn unidirectional(_cx: &mut Ctx) -> Checked<Observation> {
    let (r, w) = create_pipe(0).step("CreatePipe")?;
    let write_on_read_end = write_once(r.as_raw_handle(), b"x");
    // Bounded: if the write handle allowed reading, an empty pipe would block.
    let w = Arc::new(w);
    let w2 = w.clone();
    let read_on_write_end = bounded(BOUND, move || {
        let mut buf = [0u8; 1];
        read_once(w2.as_raw_handle(), &mut buf)
    });
    let Some(read_on_write_end) = read_on_write_end else {
        return Ok(Observation::no(
            "ReadFile on the write handle blocked waiting for data: the write end reads",
        ));
    };
    let refused = |r: &std::io::Result<usize>| failed_with(r, ERROR_ACCESS_DENIED);
    Ok(Observation::holds(
        refused(&write_on_read_end) && refused(&read_on_write_end),
        format!(
            "WriteFile on the read handle: {}; ReadFile on the write handle: {}",
            code(&write_on_read_end),
            code(&read_on_write_end)
        ),
    ))
}

pub fn inherited_across_fork(_cx: &mut Ctx) -> Checked<Observation> {
    Ok(Observation::no_api_because(
        "Windows has no fork(); a child process is a new program started by CreateProcess, and a pipe reaches it through handle inheritance or duplication (observed in pipe.works_across_exec)",
    ))
}

pub fn works_across_exec(cx: &mut Ctx) -> Checked<Observation> {
    let (r, w) = create_pipe(0).step("CreatePipe")?;
    // std hands each child an inheritable duplicate at CreateProcess time.
    super::exec::pipeline(cx, r.into(), w.into(), "program started by CreateProcess")
}

pub fn eof_when_writers_closed(cx: &mut Ctx) -> Checked<Observation> {
    use std::process::{Command, Stdio};
    let (r, w) = create_pipe(0).step("CreatePipe")?;
    let child_end: OwnedHandle = w.try_clone().step("DuplicateHandle")?;
    let mut child = Command::new(cx.peer_exe())
        .args(["pipe-emit", &ipc_conformance::peer::hex(b"last words")])
        .stdin(Stdio::null())
        .stdout(Stdio::from(child_end))
        .stderr(Stdio::null())
        .spawn()
        .step("CreateProcess")?;
    let status = bounded(BOUND, move || child.wait());
    let Some(status) = status else {
        return Ok(Observation::timeout(
            "the writing child did not exit within the bound",
        ));
    };
    let status = status.step("wait")?;
    let mut ep =
        ipc_conformance::mech::windows::HandleEndpoint::receiver(r, false).step("PIPE_NOWAIT")?;
    let mut buf = [0u8; 64];
    let data = ipc_conformance::channel::Endpoint::recv(&mut ep, &mut buf, BOUND)
        .step("ReadFile")?
        .unwrap_or(0);
    let h = ep.handle.as_raw_handle();
    // The child has exited; this process still holds a write handle.
    let while_open = read_once(h, &mut buf);
    drop(w);
    let ready =
        ipc_conformance::channel::Endpoint::wait_readable(&mut ep, BOUND).step("PeekNamedPipe")?;
    let after_close = read_once(h, &mut buf);
    Ok(Observation::holds(
        failed_with(&while_open, ERROR_NO_DATA) && failed_with(&after_close, ERROR_BROKEN_PIPE),
        format!(
            "read {data} bytes written by a child that exited ({status}); with this process's write handle still open a non-blocking (PIPE_NOWAIT) ReadFile gave {} (no data, not end of file); after closing the last write handle, PeekNamedPipe reported {} and ReadFile gave {}: Windows' end of file for pipes",
            code(&while_open),
            if ready {
                "a change"
            } else {
                "nothing within the bound"
            },
            code(&after_close)
        ),
    ))
}

/// Directory entries other than other checks' private directories.
fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with("ipcconf-") && !n.starts_with(".tmp"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

pub fn no_filesystem_residue(cx: &mut Ctx) -> Checked<Observation> {
    let dirs = [
        cx.dir()?.to_path_buf(),
        std::env::current_dir().step("cwd")?,
    ];
    let before: Vec<_> = dirs.iter().map(|d| entries(d)).collect();
    let (r, _w) = create_pipe(0).step("CreatePipe")?;
    let during: Vec<_> = dirs.iter().map(|d| entries(d)).collect();
    let described = describe_handle(r.as_raw_handle());
    Ok(Observation::holds(
        before == during,
        format!(
            "{described}; entries of {} unchanged while the pipe is open: {}",
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            before == during
        ),
    ))
}

pub fn writer_blocks_when_full(_cx: &mut Ctx) -> Checked<Observation> {
    let (r, w) = create_pipe(0).step("CreatePipe")?;
    let w = Arc::new(w);
    let capacity = match fill(&w, 4096) {
        Ok(n) => n,
        Err(e) => {
            drop(r);
            return Err(Observation::from_io_error(
                "fill with PIPE_NOWAIT writes",
                &e,
            ));
        }
    };
    let full = write_once(w.as_raw_handle(), b"x");
    let mut drain = vec![0u8; 8192];
    let drained = read_once(r.as_raw_handle(), &mut drain).step("ReadFile")?;
    let after = write_once(w.as_raw_handle(), b"x");
    Ok(Observation::holds(
        matches!(full, Ok(0)) && matches!(after, Ok(1)),
        format!(
            "with nobody reading, the pipe took {capacity} bytes in 4 KiB non-blocking (PIPE_NOWAIT) writes; one more 1-byte write: {} (accepted nothing: a blocking writer would wait here); after the reader took {drained} bytes: {}; a blocked writer is not observed directly: {}",
            code(&full),
            code(&after),
            ipc_conformance::procstate::snapshot(std::process::id(), ipc_conformance::procstate::Call::Write).text
        ),
    )
    .with("capacity", capacity as f64, "bytes"))
}

pub fn write_atomic_up_to_pipe_buf(_cx: &mut Ctx) -> Checked<Observation> {
    Ok(Observation::no_api_because(
        "Windows defines no PIPE_BUF (no fpathconf; the Win32 pipe documentation names no atomicity limit), so there is no size up to which a pipe write is promised atomic; concurrent writers are observed in pipe.multiple_writers",
    ))
}

pub fn write_atomic_blocking_writers(_cx: &mut Ctx) -> Checked<Observation> {
    Ok(Observation::no_api_because(
        "Windows defines no PIPE_BUF, so there is no size up to which a blocking pipe write is promised atomic; concurrent writers are observed in pipe.multiple_writers",
    ))
}

pub fn sigpipe_on_closed_reader(cx: &mut Ctx) -> Checked<Observation> {
    let mut p = cx.peer(&["win-pipe-closed-reader"]).spawn()?;
    let said = p.line(BOUND);
    let (status, stderr) = p.finish()?;
    let said = match said {
        Ok(s) => s,
        Err(e) => {
            return Ok(Observation::no(format!(
                "the writer did not survive writing into a pipe with no reader: {e} ({status}); stderr {stderr:?}"
            )));
        }
    };
    let evidence =
        format!("a process writing into a pipe whose read handle is closed: {said} ({status})");
    if said.contains("SIG_ERR") && said.contains("ERROR_NO_DATA") {
        Ok(Observation::unsupported(format!(
            "no SIGPIPE on {}: {evidence}",
            ipc_conformance::platform::TARGET
        )))
    } else {
        Ok(Observation::no(evidence))
    }
}

// --------------------------------------------------------------- facts

pub fn pipe_buf(_cx: &mut Ctx) -> Checked<Observation> {
    Ok(Observation::no_api_because(
        "no fpathconf(_PC_PIPE_BUF) and no PIPE_BUF in the Win32 API",
    ))
}

pub fn default_capacity(_cx: &mut Ctx) -> Checked<Observation> {
    let (r, w) = create_pipe(0).step("CreatePipe(nSize = 0)")?;
    let w = Arc::new(w);
    let described = describe_handle(r.as_raw_handle());
    let filled = fill(&w, 1024).step("fill")?;
    if filled == 0 {
        return Ok(Observation::error("a fresh pipe accepted nothing"));
    }
    Ok(Observation::measured(format!(
        "CreatePipe with nSize = 0 (the default); with nobody reading it accepted {filled} bytes in 1 KiB non-blocking (PIPE_NOWAIT) writes before a write was accepted nothing; read end: {described}"
    ))
    .with("capacity", filled as f64, "bytes"))
}

pub fn max_capacity(_cx: &mut Ctx) -> Checked<Observation> {
    const ASKED: u32 = 16 << 20;
    let (_r, w) = create_pipe(ASKED).step("CreatePipe(nSize = 16 MiB)")?;
    let w = Arc::new(w);
    let filled = fill(&w, 65536).step("fill")?;
    if filled == 0 {
        return Ok(Observation::error("the pipe accepted nothing"));
    }
    Ok(Observation::measured(format!(
        "no call resizes a pipe on Windows; CreatePipe's nSize is \"only a suggestion\": asked for {ASKED} bytes, the pipe accepted {filled} bytes in 64 KiB non-blocking writes"
    ))
    .with("max_capacity", filled as f64, "bytes")
    .with("requested", f64::from(ASKED), "bytes"))
}
