//! Anonymous pipes: every `pipe.*` claim of the catalog.
//!
//! The guide: "Anonymous Pipe | Byte stream | Inherited FD | Unidirectional |
//! Parent-child, shell pipelines", with automatic cleanup, flow control and
//! exec'd processes as its selling points.

use ipc_conformance::check;
use ipc_conformance::{Checked, Observation, Step};

ipc_conformance::suite!();

// ---------------------------------------------------------------- availability

#[test]
fn available() {
    check!("pipe.available", |_cx| {
        cfg_if::cfg_if! {
            if #[cfg(unix)] {
                let (r, w) = ipc_conformance::sys::pipe().step("pipe()")?;
                nix::unistd::write(&w, b"marker").step("write")?;
                let mut buf = [0u8; 16];
                let n = nix::unistd::read(&r, &mut buf).step("read")?;
                Ok(Observation::holds(&buf[..n] == b"marker", format!("pipe() gave descriptors; wrote \"marker\", read back {:?}", String::from_utf8_lossy(&buf[..n]))))
            } else {
                // CreatePipe: a read handle and a write handle.
                use std::os::windows::io::AsRawHandle;
                use ipc_conformance::mech::windows::{anon_pipe, read_once, write_once};
                let (r, w) = anon_pipe::create_pipe(0).step("CreatePipe")?;
                write_once(w.as_raw_handle(), b"marker").step("WriteFile")?;
                let mut buf = [0u8; 16];
                let n = read_once(r.as_raw_handle(), &mut buf).step("ReadFile")?;
                Ok(Observation::holds(&buf[..n] == b"marker", format!("CreatePipe gave a read and a write handle; wrote \"marker\" with WriteFile, ReadFile read back {:?}", String::from_utf8_lossy(&buf[..n]))))
            }
        }
    });
}

// -------------------------------------------------------- characteristics matrix

mod matrix {
    #[cfg(unix)]
    use ipc_conformance::mech::pipe::PipeMechanism;
    #[cfg(windows)]
    use ipc_conformance::mech::windows::anon_pipe::AnonPipeMechanism as PipeMechanism;

    ipc_conformance::matrix_properties!("pipe", PipeMechanism);
}

ipc_conformance::matrix_properties!(
    "pipe",
    cross_machine(
        false,
        "none: a pipe is reached only through descriptors of one host's kernel"
    )
);

// ------------------------------------------------------------------- behaviour

/// `cmd1 | cmd2`: two programs, the first with stdout on the write end `w` printing
/// a random marker, the second with stdin on the read end `r` reading to end of
/// file. The parent's copies of both ends go with the Command values, so only the
/// two programs hold the pipe. `how` says how the platform starts them.
#[cfg(any(unix, windows))]
fn pipeline(
    cx: &mut ipc_conformance::check::Ctx,
    r: std::process::Stdio,
    w: std::process::Stdio,
    how: &str,
) -> Checked<Observation> {
    use ipc_conformance::watchdog::{BOUND, bounded};
    use std::process::{Command, Stdio};
    let marker = format!("through-exec-{}", ipc_conformance::names::random_hex(6));
    let mut cmd1 = Command::new(cx.peer_exe());
    cmd1.args(["pipe-emit", &ipc_conformance::peer::hex(marker.as_bytes())])
        .stdin(Stdio::null())
        .stdout(w)
        .stderr(Stdio::null());
    let mut cmd2 = Command::new(cx.peer_exe());
    cmd2.arg("pipe-consume")
        .stdin(r)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut c1 = cmd1.spawn().step("start cmd1")?;
    drop(cmd1);
    let c2 = cmd2.spawn().step("start cmd2")?;
    drop(cmd2);
    let Some((s1, out2)) = bounded(BOUND, move || (c1.wait(), c2.wait_with_output())) else {
        return Ok(Observation::timeout(format!(
            "cmd1 | cmd2 did not finish within {BOUND:?}"
        )));
    };
    let out2 = out2.step("wait cmd2")?;
    let stderr = String::from_utf8_lossy(&out2.stderr);
    let got = stderr
        .lines()
        .find_map(|l| l.strip_prefix("read "))
        .and_then(ipc_conformance::peer::unhex);
    Ok(Observation::holds(
        got.as_deref() == Some(marker.as_bytes()),
        format!(
            "cmd1 ({how}, stdout = the write end) printed {marker:?}; cmd2 ({how}, stdin = the read end) read {:?} up to end of file; exits: {:?}, {}",
            got.map(|g| String::from_utf8_lossy(&g).into_owned()),
            s1.map(|s| s.to_string()),
            out2.status
        ),
    ))
}

#[cfg(unix)]
mod behaviour {
    use super::*;
    use std::os::fd::AsFd;

    use ipc_conformance::mech::pipe::{self as pipe_mech, describe_fd, fill};
    use ipc_conformance::watchdog::BOUND;
    use nix::errno::Errno;

    #[test]
    fn unidirectional() {
        check!("pipe.unidirectional", |_cx| {
            let (r, w) = ipc_conformance::sys::pipe().step("pipe()")?;
            let write_on_read_end = nix::unistd::write(&r, b"x");
            let mut buf = [0u8; 1];
            ipc_conformance::channel::fd::set_nonblocking(w.as_fd()).step("O_NONBLOCK")?;
            let read_on_write_end = nix::unistd::read(&w, &mut buf);
            let evidence = format!(
                "write() on the read end: {write_on_read_end:?}; read() on the write end: {read_on_write_end:?}"
            );
            let refused = |r: &nix::Result<usize>| {
                matches!(r, Err(Errno::EBADF | Errno::EINVAL | Errno::EPERM))
            };
            Ok(Observation::holds(
                refused(&write_on_read_end) && refused(&read_on_write_end),
                evidence,
            ))
        });
    }

    #[test]
    fn inherited_across_fork() {
        check!("pipe.inherited_across_fork", |_cx| {
            let (r, w) = ipc_conformance::sys::pipe().step("pipe()")?;
            let child = ipc_conformance::sys::fork_writer(w.as_fd(), b"from-forked-child")
                .step("fork()")?;
            drop(w);
            let mut ep = ipc_conformance::channel::fd::FdEndpoint::new(r).step("O_NONBLOCK")?;
            let mut got = Vec::new();
            let mut buf = [0u8; 64];
            while let Some(n) =
                ipc_conformance::channel::Endpoint::recv(&mut ep, &mut buf, BOUND).step("read")?
            {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            let status = nix::sys::wait::waitpid(child, None).step("waitpid")?;
            Ok(Observation::holds(
                got == b"from-forked-child",
                format!(
                    "forked child {child} wrote through the inherited write end ({status:?}); parent read {:?} then end of file",
                    String::from_utf8_lossy(&got)
                ),
            ))
        });
    }

    #[test]
    fn works_across_exec() {
        check!("pipe.works_across_exec", |cx| {
            let (r, w) = ipc_conformance::sys::pipe().step("pipe()")?;
            super::pipeline(cx, r.into(), w.into(), "exec'd peer")
        });
    }

    #[test]
    fn eof_when_writers_closed() {
        check!("pipe.eof_when_writers_closed", |cx| {
            use ipc_conformance::mech::pipe::{describe_seen, describe_state};
            use ipc_conformance::procstate::{self, Call};
            const READERS: usize = 3;
            let (r, w) = ipc_conformance::sys::pipe().step("pipe()")?;
            // Each reader gets only the read end: the write end stays with this process.
            let mut readers = Vec::new();
            for _ in 0..READERS {
                readers.push(
                    cx.peer(&["pipe-read-blocking"])
                        .handover(r.as_fd(), 3)
                        .start()?,
                );
            }
            let mut seen = Vec::new();
            for p in readers.iter_mut() {
                let (s, waited) = procstate::wait_blocked(p.pid(), Call::Read, BOUND);
                seen.push(format!("{}: {}", p.pid(), describe_seen(&s, waited)));
                if !s.not_refuted() {
                    let evidence = format!(
                        "with this process's write end open and the pipe empty, reader {} was not seen blocked: {}",
                        p.pid(),
                        describe_seen(&s, waited)
                    );
                    // Returned (end of file or data while a writer exists): no;
                    // still in it without being seen asleep: undecided.
                    return Ok(match p.line_if_any(std::time::Duration::ZERO)? {
                        Some(l) => Observation::no(format!("{evidence}; it answered {l:?}")),
                        None => Observation::timeout(evidence),
                    });
                }
            }
            // None may have returned while a writer exists.
            let mut early = Vec::new();
            for p in readers.iter_mut() {
                if let Some(l) = p.line_if_any(std::time::Duration::ZERO)? {
                    early.push(format!("{}: {l:?}", p.pid()));
                }
            }
            let before: Vec<String> = readers
                .iter()
                .map(|p| {
                    format!(
                        "{}: {}",
                        p.pid(),
                        describe_state(&procstate::snapshot(p.pid(), Call::Read))
                    )
                })
                .collect();
            drop(w);
            let closed = std::time::Instant::now();
            let mut woken = Vec::new();
            let mut all_eof = true;
            for p in readers.iter_mut() {
                let left = BOUND.saturating_sub(closed.elapsed());
                let answer = p.line_if_any(left)?;
                all_eof &= answer.as_deref() == Some("read 0");
                woken.push(format!(
                    "{}: {} after {:?}",
                    p.pid(),
                    answer.as_deref().unwrap_or("no answer"),
                    closed.elapsed()
                ));
            }
            let evidence = format!(
                "{READERS} reader processes each called a blocking read() on the empty pipe while this process held the only write end: {}; none had returned ({early:?}); just before the close: {}; after this process closed the last write end: {}",
                seen.join("; "),
                before.join("; "),
                woken.join("; ")
            );
            if woken.iter().any(|w| w.contains("no answer")) {
                return Ok(Observation::timeout(evidence));
            }
            Ok(Observation::holds(early.is_empty() && all_eof, evidence))
        });
    }

    /// FIFOs in `dir` (a pipe that left a trace would be one).
    fn fifos_in(dir: &std::path::Path) -> Vec<String> {
        use std::os::unix::fs::FileTypeExt;
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_fifo()))
                    .map(|e| e.path().display().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn no_filesystem_residue() {
        check!("pipe.no_filesystem_residue", |cx| {
            let dirs = [
                cx.dir()?.to_path_buf(),
                std::env::temp_dir(),
                std::env::current_dir().step("cwd")?,
            ];
            let before: Vec<_> = dirs.iter().map(|d| fifos_in(d)).collect();
            let (r, _w) = ipc_conformance::sys::pipe().step("pipe()")?;
            let during: Vec<_> = dirs.iter().map(|d| fifos_in(d)).collect();
            let described = describe_fd(&r);
            let proc_path = described.contains("→ \"/");
            Ok(Observation::holds(
                before == during && !proc_path,
                format!(
                    "{described}; FIFO entries in {} before/with the pipe open: {before:?} / {during:?}",
                    dirs.iter()
                        .map(|d| d.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ))
        });
    }

    #[test]
    fn writer_blocks_when_full() {
        check!("pipe.writer_blocks_when_full", |cx| {
            use ipc_conformance::mech::pipe::{
                BLOCKED_WRITE, fill_until_full, observe_blocked_writer,
            };
            let (r, w) = ipc_conformance::sys::pipe().step("pipe()")?;
            ipc_conformance::channel::fd::set_nonblocking(r.as_fd()).step("O_NONBLOCK")?;
            let capacity = fill_until_full(&w)?;
            // The writer gets the write end (its O_NONBLOCK, shared with this
            // process's copy, is cleared by the writer); nothing is written here after.
            let writer = cx
                .peer(&["pipe-write-blocking", &BLOCKED_WRITE.to_string()])
                .handover(w.as_fd(), 3)
                .start()?;
            observe_blocked_writer(
                writer,
                &r,
                capacity,
                &format!(
                    "with nobody reading, non-blocking 4 KiB writes filled the pipe with {capacity} bytes (one more gave EAGAIN)"
                ),
            )
        });
    }

    #[test]
    fn write_atomic_up_to_pipe_buf() {
        check!("pipe.write_atomic_up_to_pipe_buf", |cx| {
            let (r, _w) = ipc_conformance::sys::pipe().step("pipe()")?;
            let size = pipe_mech::pipe_buf(&r).step("fpathconf(_PC_PIPE_BUF)")?;
            drop(r);
            let obs = ipc_conformance::matrix::concurrent_writers(
                cx,
                &ipc_conformance::mech::pipe::PipeMechanism,
                4,
                24,
                size,
            )?;
            Ok(Observation {
                detail: format!(
                    "non-blocking writers (a write that finds the pipe full is retried after poll) of records of PIPE_BUF = {size} bytes: {}",
                    obs.detail
                ),
                ..obs
            })
        });
    }

    #[test]
    fn write_atomic_blocking_writers() {
        check!("pipe.write_atomic_blocking_writers", |cx| {
            use ipc_conformance::mech::pipe::{
                capacity_by_filling, observe_blocking_writers, records_to_overfill,
            };
            let (r, w) = ipc_conformance::sys::pipe().step("pipe()")?;
            let size = pipe_mech::pipe_buf(&r).step("fpathconf(_PC_PIPE_BUF)")?;
            ipc_conformance::channel::fd::set_nonblocking(r.as_fd()).step("O_NONBLOCK")?;
            let capacity = capacity_by_filling(&w, &r).step("measure the capacity")?;
            let records = records_to_overfill(capacity, 4, size);
            let mut writers = Vec::new();
            for i in 1..=4u8 {
                writers.push(
                    cx.peer(&[
                        "pipe-records-blocking",
                        &i.to_string(),
                        &records.to_string(),
                        &size.to_string(),
                    ])
                    .handover(w.as_fd(), 3)
                    .start()?,
                );
            }
            drop(w);
            observe_blocking_writers(
                &mut writers,
                &r,
                (records, size, capacity),
                "PIPE_BUF from fpathconf; each writer holds the write end, handed over",
            )
        });
    }

    #[test]
    fn sigpipe_on_closed_reader() {
        check!("pipe.sigpipe_on_closed_reader", |cx| {
            let (default, _) = cx.peer(&["pipe-sigpipe", "default"]).spawn()?.finish()?;
            let (ignored, ignored_err) = cx.peer(&["pipe-sigpipe", "ignore"]).spawn()?.finish()?;
            let ignored_err = format!("{} ({ignored})", ignored_err.trim());
            use std::os::unix::process::ExitStatusExt;
            let killed = default.signal() == Some(libc::SIGPIPE);
            let epipe = ignored_err.contains("EPIPE");
            Ok(Observation::holds(
                killed && epipe,
                format!(
                    "a process writing into a pipe with no reader: with SIGPIPE at its default action it ended with {default}; with SIGPIPE ignored it reported {:?}",
                    ignored_err.trim()
                ),
            ))
        });
    }

    // --------------------------------------------------------------- facts

    #[test]
    fn pipe_buf() {
        check!("pipe.pipe_buf", |_cx| {
            let (r, _w) = ipc_conformance::sys::pipe().step("pipe()")?;
            let runtime = pipe_mech::pipe_buf(&r).step("fpathconf(_PC_PIPE_BUF)")?;
            let constant = libc::PIPE_BUF;
            if runtime < 512 {
                return Ok(Observation::error(format!(
                    "PIPE_BUF {runtime} is below POSIX's minimum of 512"
                )));
            }
            Ok(Observation::measured(format!(
                "fpathconf(_PC_PIPE_BUF) = {runtime}; libc's PIPE_BUF constant = {constant}"
            ))
            .with("pipe_buf", runtime as f64, "bytes")
            .with("pipe_buf_constant", constant as f64, "bytes"))
        });
    }

    #[test]
    fn default_capacity() {
        check!("pipe.default_capacity", |_cx| {
            let (_r, w) = ipc_conformance::sys::pipe().step("pipe()")?;
            let filled = fill(&w, 1024).step("fill")?;
            if filled == 0 {
                return Ok(Observation::error("a fresh pipe accepted nothing"));
            }
            let obs = Observation::measured(format!("a fresh pipe with nobody reading accepted {filled} bytes in 1 KiB non-blocking writes before EAGAIN"))
                .with("capacity", filled as f64, "bytes");
            #[cfg(any(target_os = "linux", target_os = "android"))]
            let obs = {
                let sz = nix::fcntl::fcntl(&w, nix::fcntl::FcntlArg::F_GETPIPE_SZ)
                    .step("F_GETPIPE_SZ")?;
                let detail = format!("{}; F_GETPIPE_SZ = {sz}", obs.detail);
                Observation { detail, ..obs }.with("f_getpipe_sz", f64::from(sz), "bytes")
            };
            Ok(obs)
        });
    }

    #[test]
    fn max_capacity() {
        check!("pipe.max_capacity", |_cx| {
            cfg_if::cfg_if! {
                if #[cfg(any(target_os = "linux", target_os = "android"))] {
                    let limit: i32 = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
                        .step("read /proc/sys/fs/pipe-max-size")?
                        .trim()
                        .parse()
                        .map_err(|e| Observation::error(format!("pipe-max-size: {e}")))?;
                    let (_r, w) = ipc_conformance::sys::pipe().step("pipe()")?;
                    let set = nix::fcntl::fcntl(&w, nix::fcntl::FcntlArg::F_SETPIPE_SZ(limit as libc::c_int));
                    let set = match set {
                        Ok(n) => n,
                        // Over the per-user pipe quota (fs.pipe-user-pages-soft): say so.
                        Err(e) => return Ok(Observation::skipped(format!("F_SETPIPE_SZ({limit}) refused: {e} (per-user pipe quota)"))),
                    };
                    let filled = fill(&w, 65536).step("fill")?;
                    Ok(Observation::measured(format!(
                        "/proc/sys/fs/pipe-max-size = {limit}; F_SETPIPE_SZ({limit}) = {set}; the resized pipe accepted {filled} bytes"
                    ))
                    .with("max_capacity", f64::from(set), "bytes")
                    .with("filled", filled as f64, "bytes"))
                } else {
                    // No resize call: the buffer grows with large writes (BSD
                    // "big pipes"), so fill with 64 KiB writes and measure.
                    let (_r, w) = ipc_conformance::sys::pipe().step("pipe()")?;
                    let filled = fill(&w, 65536).step("fill")?;
                    Ok(Observation::measured(format!(
                        "no F_SETPIPE_SZ on this target; a fresh pipe filled with 64 KiB non-blocking writes accepted {filled} bytes"
                    ))
                    .with("max_capacity", filled as f64, "bytes"))
                }
            }
        });
    }
}

// ------------------------------------------------------- behaviour (Windows)

#[cfg(windows)]
mod behaviour {
    use super::*;
    use std::os::windows::io::{AsRawHandle, OwnedHandle};
    use std::sync::Arc;

    use ipc_conformance::mech::windows::anon_pipe::{create_pipe, describe_handle, fill};
    use ipc_conformance::mech::windows::{describe_code, read_once, write_once};
    use ipc_conformance::watchdog::{BOUND, bounded};

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

    #[test]
    fn unidirectional() {
        check!("pipe.unidirectional", |_cx| {
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
        });
    }

    #[test]
    fn inherited_across_fork() {
        check!("pipe.inherited_across_fork", |_cx| {
            Ok(Observation::no_api_because(
                "Windows has no fork(); a child process is a new program started by CreateProcess, and a pipe reaches it through handle inheritance or duplication (observed in pipe.works_across_exec)",
            ))
        });
    }

    #[test]
    fn works_across_exec() {
        check!("pipe.works_across_exec", |cx| {
            let (r, w) = create_pipe(0).step("CreatePipe")?;
            // std hands each child an inheritable duplicate at CreateProcess time.
            super::pipeline(cx, r.into(), w.into(), "program started by CreateProcess")
        });
    }

    #[test]
    fn eof_when_writers_closed() {
        check!("pipe.eof_when_writers_closed", |cx| {
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
            let mut ep = ipc_conformance::mech::windows::HandleEndpoint::receiver(r, false)
                .step("PIPE_NOWAIT")?;
            let mut buf = [0u8; 64];
            let data = ipc_conformance::channel::Endpoint::recv(&mut ep, &mut buf, BOUND)
                .step("ReadFile")?
                .unwrap_or(0);
            let h = ep.handle.as_raw_handle();
            // The child has exited; this process still holds a write handle.
            let while_open = read_once(h, &mut buf);
            drop(w);
            let ready = ipc_conformance::channel::Endpoint::wait_readable(&mut ep, BOUND)
                .step("PeekNamedPipe")?;
            let after_close = read_once(h, &mut buf);
            Ok(Observation::holds(
                failed_with(&while_open, ERROR_NO_DATA)
                    && failed_with(&after_close, ERROR_BROKEN_PIPE),
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
        });
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

    #[test]
    fn no_filesystem_residue() {
        check!("pipe.no_filesystem_residue", |cx| {
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
        });
    }

    #[test]
    fn writer_blocks_when_full() {
        check!("pipe.writer_blocks_when_full", |_cx| {
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
        });
    }

    #[test]
    fn write_atomic_up_to_pipe_buf() {
        check!("pipe.write_atomic_up_to_pipe_buf", |_cx| {
            Ok(Observation::no_api_because(
                "Windows defines no PIPE_BUF (no fpathconf; the Win32 pipe documentation names no atomicity limit), so there is no size up to which a pipe write is promised atomic; concurrent writers are observed in pipe.multiple_writers",
            ))
        });
    }

    #[test]
    fn write_atomic_blocking_writers() {
        check!("pipe.write_atomic_blocking_writers", |_cx| {
            Ok(Observation::no_api_because(
                "Windows defines no PIPE_BUF, so there is no size up to which a blocking pipe write is promised atomic; concurrent writers are observed in pipe.multiple_writers",
            ))
        });
    }

    #[test]
    fn sigpipe_on_closed_reader() {
        check!("pipe.sigpipe_on_closed_reader", |cx| {
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
            let evidence = format!(
                "a process writing into a pipe whose read handle is closed: {said} ({status})"
            );
            if said.contains("SIG_ERR") && said.contains("ERROR_NO_DATA") {
                Ok(Observation::unsupported(format!(
                    "no SIGPIPE on {}: {evidence}",
                    ipc_conformance::platform::TARGET
                )))
            } else {
                Ok(Observation::no(evidence))
            }
        });
    }

    // --------------------------------------------------------------- facts

    #[test]
    fn pipe_buf() {
        check!("pipe.pipe_buf", |_cx| {
            Ok(Observation::no_api_because(
                "no fpathconf(_PC_PIPE_BUF) and no PIPE_BUF in the Win32 API",
            ))
        });
    }

    #[test]
    fn default_capacity() {
        check!("pipe.default_capacity", |_cx| {
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
        });
    }

    #[test]
    fn max_capacity() {
        check!("pipe.max_capacity", |_cx| {
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
        });
    }
}
