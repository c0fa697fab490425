//! Anonymous pipes: every `pipe.*` claim of the catalog.
//!
//! The guide: "Anonymous Pipe | Byte stream | Inherited FD | Unidirectional |
//! Parent-child, shell pipelines", with automatic cleanup, flow control and
//! exec'd processes as its selling points.
//!
//! Each claim is one test. Where Unix and Windows observe it differently, the
//! test is `check!("<id>", os::<property>)`, `os` being this target's module
//! of observations: `unix` below or `windows` (pipe/windows.rs).

use ipc_conformance::check;
use ipc_conformance::{Observation, Step};

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

#[test]
fn unidirectional() {
    check!("pipe.unidirectional", os::unidirectional);
}

#[test]
fn inherited_across_fork() {
    check!("pipe.inherited_across_fork", os::inherited_across_fork);
}

#[test]
fn works_across_exec() {
    check!("pipe.works_across_exec", os::works_across_exec);
}

#[test]
fn eof_when_writers_closed() {
    check!("pipe.eof_when_writers_closed", os::eof_when_writers_closed);
}

#[test]
fn no_filesystem_residue() {
    check!("pipe.no_filesystem_residue", os::no_filesystem_residue);
}

#[test]
fn writer_blocks_when_full() {
    check!("pipe.writer_blocks_when_full", os::writer_blocks_when_full);
}

#[test]
fn write_atomic_up_to_pipe_buf() {
    check!(
        "pipe.write_atomic_up_to_pipe_buf",
        os::write_atomic_up_to_pipe_buf
    );
}

#[test]
fn write_atomic_blocking_writers() {
    check!(
        "pipe.write_atomic_blocking_writers",
        os::write_atomic_blocking_writers
    );
}

#[test]
fn sigpipe_on_closed_reader() {
    check!(
        "pipe.sigpipe_on_closed_reader",
        os::sigpipe_on_closed_reader
    );
}

// ----------------------------------------------------------------------- facts

#[test]
fn pipe_buf() {
    check!("pipe.pipe_buf", os::pipe_buf);
}

#[test]
fn default_capacity() {
    check!("pipe.default_capacity", os::default_capacity);
}

#[test]
fn max_capacity() {
    check!("pipe.max_capacity", os::max_capacity);
}

/// `cmd1 | cmd2` between two programs, on either platform.
#[cfg(any(unix, windows))]
#[path = "pipe/exec.rs"]
mod exec;

// ------------------------------------------------------------------------ Unix

#[cfg(unix)]
use unix as os;

#[cfg(unix)]
mod unix {
    use std::os::fd::AsFd;

    use ipc_conformance::check::Ctx;
    use ipc_conformance::mech::pipe::{self as pipe_mech, describe_fd, fill};
    use ipc_conformance::watchdog::BOUND;
    use ipc_conformance::{Checked, Observation, Step};
    use nix::errno::Errno;

    pub fn unidirectional(_cx: &mut Ctx) -> Checked<Observation> {
        let (r, w) = ipc_conformance::sys::pipe().step("pipe()")?;
        let write_on_read_end = nix::unistd::write(&r, b"x");
        let mut buf = [0u8; 1];
        ipc_conformance::channel::fd::set_nonblocking(w.as_fd()).step("O_NONBLOCK")?;
        let read_on_write_end = nix::unistd::read(&w, &mut buf);
        let evidence = format!(
            "write() on the read end: {write_on_read_end:?}; read() on the write end: {read_on_write_end:?}"
        );
        let refused =
            |r: &nix::Result<usize>| matches!(r, Err(Errno::EBADF | Errno::EINVAL | Errno::EPERM));
        Ok(Observation::holds(
            refused(&write_on_read_end) && refused(&read_on_write_end),
            evidence,
        ))
    }

    pub fn inherited_across_fork(_cx: &mut Ctx) -> Checked<Observation> {
        let (r, w) = ipc_conformance::sys::pipe().step("pipe()")?;
        let child =
            ipc_conformance::sys::fork_writer(w.as_fd(), b"from-forked-child").step("fork()")?;
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
    }

    pub fn works_across_exec(cx: &mut Ctx) -> Checked<Observation> {
        let (r, w) = ipc_conformance::sys::pipe().step("pipe()")?;
        super::exec::pipeline(cx, r.into(), w.into(), "exec'd peer")
    }

    pub fn eof_when_writers_closed(cx: &mut Ctx) -> Checked<Observation> {
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

    pub fn no_filesystem_residue(cx: &mut Ctx) -> Checked<Observation> {
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
    }

    pub fn writer_blocks_when_full(cx: &mut Ctx) -> Checked<Observation> {
        use ipc_conformance::mech::pipe::{BLOCKED_WRITE, fill_until_full, observe_blocked_writer};
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
    }

    pub fn write_atomic_up_to_pipe_buf(cx: &mut Ctx) -> Checked<Observation> {
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
    }

    pub fn write_atomic_blocking_writers(cx: &mut Ctx) -> Checked<Observation> {
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
    }

    pub fn sigpipe_on_closed_reader(cx: &mut Ctx) -> Checked<Observation> {
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
    }

    // --------------------------------------------------------------- facts

    pub fn pipe_buf(_cx: &mut Ctx) -> Checked<Observation> {
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
    }

    pub fn default_capacity(_cx: &mut Ctx) -> Checked<Observation> {
        let (_r, w) = ipc_conformance::sys::pipe().step("pipe()")?;
        let filled = fill(&w, 1024).step("fill")?;
        if filled == 0 {
            return Ok(Observation::error("a fresh pipe accepted nothing"));
        }
        let obs = Observation::measured(format!("a fresh pipe with nobody reading accepted {filled} bytes in 1 KiB non-blocking writes before EAGAIN"))
            .with("capacity", filled as f64, "bytes");
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let obs = {
            let sz =
                nix::fcntl::fcntl(&w, nix::fcntl::FcntlArg::F_GETPIPE_SZ).step("F_GETPIPE_SZ")?;
            let detail = format!("{}; F_GETPIPE_SZ = {sz}", obs.detail);
            Observation { detail, ..obs }.with("f_getpipe_sz", f64::from(sz), "bytes")
        };
        Ok(obs)
    }

    pub fn max_capacity(_cx: &mut Ctx) -> Checked<Observation> {
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
    }
}

// --------------------------------------------------------------------- Windows

#[cfg(windows)]
use windows as os;

/// Windows: CreatePipe's anonymous pipes, observed.
#[cfg(windows)]
#[path = "pipe/windows.rs"]
mod windows;
