//! Named pipes (FIFOs): every `fifo.*` claim of the catalog.
//!
//! The guide: "Named Pipe (FIFO) | Byte stream | Filesystem path |
//! Unidirectional | Unrelated processes, simple IPC", present on Linux, macOS
//! and FreeBSD but not Windows ("Windows named pipes are different"), and the
//! mistake `int fd = open("/tmp/myfifo", O_RDWR); ... // Might read your own
//! request back!`.
//!
//! Every FIFO is made by `FifoPath` (mode 0600, in the check's private 0700
//! directory) and removed when its guard drops, also when a check panics.

#[cfg(unix)]
use ipc_conformance::{Checked, Observation, Step, check};

ipc_conformance::suite!();

#[cfg(unix)]
#[path = "common/cleanup.rs"]
mod cleanup;

// ---------------------------------------------------------------- availability

#[cfg(unix)]
#[test]
fn available() {
    check!("fifo.available", |cx| {
        use ipc_conformance::mech::fifo::{FifoPath, describe_path, is_fifo};
        let fifo = FifoPath::create(cx)?;
        let r = fifo.open_reader()?;
        let w = fifo.open_writer()?;
        let marker = format!("marker-{}", ipc_conformance::names::random_hex(8));
        nix::unistd::write(&w, marker.as_bytes()).step("write")?;
        let mut buf = [0u8; 64];
        let n = nix::unistd::read(&r, &mut buf).step("read")?;
        let st = nix::sys::stat::lstat(fifo.path()).step("lstat")?;
        Ok(Observation::holds(
            &buf[..n] == marker.as_bytes() && is_fifo(&st),
            format!(
                "mkfifo({}) succeeded; {}; wrote {marker:?} on an O_WRONLY end, the O_RDONLY end read {:?}",
                fifo.path().display(),
                describe_path(fifo.path()),
                String::from_utf8_lossy(&buf[..n])
            ),
        ))
    });
}

// -------------------------------------------------------- characteristics matrix

#[cfg(unix)]
mod matrix {
    ipc_conformance::matrix_properties!(
        "fifo",
        ipc_conformance::mech::fifo::FifoMechanism,
        cross_machine(
            false,
            "a filesystem path naming a FIFO node whose data lives in the local kernel (even on a network filesystem the node is not shared between hosts)"
        )
    );
}

// ------------------------------------------------------------------- behaviour

#[cfg(unix)]
mod behaviour {
    use super::*;
    use crate::cleanup::held_by_a_panicking_check;
    use std::time::{Duration, Instant};

    use ipc_conformance::channel::{Channel, Role};
    use ipc_conformance::mech::fifo::{
        Fifo, FifoMechanism, FifoPath, describe_path, is_fifo, open, pipe_buf,
    };
    use ipc_conformance::mech::process::RawPeer;
    use ipc_conformance::names::{PathGuard, random_hex};
    use ipc_conformance::observe::describe_io_error;
    use ipc_conformance::watchdog::{BOUND, bounded};
    use nix::errno::Errno;
    use nix::fcntl::OFlag;

    #[test]
    fn named_by_path() {
        check!("fifo.named_by_path", |cx| {
            let mut fifo = Fifo::create(cx)?;
            let path = fifo.path().display().to_string();
            let described = describe_path(fifo.path());
            let st = nix::sys::stat::lstat(fifo.path()).step("lstat")?;
            let mut rx = fifo.open(Role::Receiver).step("open O_RDONLY")?;
            let marker = format!("by-path-{}", random_hex(8));
            let mut peer = cx.peer(&["endpoint", "fifo", "sender", &path]);
            peer.command().env_clear();
            let mut peer = peer.start()?;
            let answer = peer.send_data(marker.as_bytes())?;
            if !answer.is_ok() {
                return Ok(Observation::no(format!(
                    "{described}; a fresh peer program given only {path:?} could not open and write it: {answer}"
                )));
            }
            let mut buf = [0u8; 256];
            let Some(n) = rx.recv(&mut buf, BOUND).step("read")? else {
                return Ok(Observation::timeout(format!(
                    "the peer wrote {marker:?} but nothing arrived within {BOUND:?}"
                )));
            };
            Ok(Observation::holds(
                is_fifo(&st) && &buf[..n] == marker.as_bytes(),
                format!(
                    "{path}: {described}; a fresh peer program (pid {}, empty environment, no inherited descriptors) given only the path opened it O_WRONLY and wrote {marker:?}; the creator read {:?}",
                    peer.pid(),
                    String::from_utf8_lossy(&buf[..n])
                ),
            ))
        });
    }

    #[test]
    fn rdwr_self_read() {
        check!("fifo.rdwr_self_read", |cx| {
            let fifo = FifoPath::create(cx)?;
            let path = fifo.path().to_owned();
            // The guide's call: a plain (blocking) open O_RDWR, under the watchdog
            // in case a kernel makes it wait for a peer.
            let opened = bounded(BOUND, move || open(&path, OFlag::O_RDWR));
            let fd = match opened {
                Some(Ok(fd)) => fd,
                Some(Err(e)) => {
                    return Ok(Observation::no(format!(
                        "open(O_RDWR) on a FIFO failed: {} (POSIX leaves O_RDWR on a FIFO undefined)",
                        describe_io_error(&e.into())
                    )));
                }
                None => {
                    // Release the blocked open: give it both a reader and a writer.
                    let r = open(fifo.path(), OFlag::O_RDONLY | OFlag::O_NONBLOCK);
                    let w = open(fifo.path(), OFlag::O_WRONLY | OFlag::O_NONBLOCK);
                    drop((r, w));
                    return Ok(Observation::timeout(format!(
                        "open(O_RDWR) with no other process on the FIFO did not return within {BOUND:?}"
                    )));
                }
            };
            ipc_conformance::channel::fd::set_nonblocking(std::os::fd::AsFd::as_fd(&fd))
                .step("O_NONBLOCK for the read")?;
            let request = format!("request-{}", random_hex(8));
            let wrote = nix::unistd::write(&fd, request.as_bytes()).step("write the request")?;
            let mut buf = [0u8; 256];
            let evidence = |got: &str| {
                format!(
                    "open(O_RDWR) returned at once with no other process on the FIFO; wrote the {wrote}-byte request {request:?}; a read on the same descriptor {got}"
                )
            };
            match nix::unistd::read(&fd, &mut buf) {
                Ok(n) => Ok(Observation::holds(
                    &buf[..n] == request.as_bytes(),
                    evidence(&format!(
                        "returned {n} bytes {:?}",
                        String::from_utf8_lossy(&buf[..n])
                    )),
                )),
                Err(Errno::EAGAIN) => Ok(Observation::no(evidence(
                    "found nothing (EAGAIN): the request did not come back",
                ))),
                Err(e) => Ok(Observation::error(evidence(&format!("failed: {e:?}")))),
            }
        });
    }

    /// How the kernel describes a process's wait (`ipc_conformance::procstate`).
    fn kernel_wait(pid: nix::unistd::Pid) -> Option<String> {
        let pid = u32::try_from(pid.as_raw()).ok()?;
        Some(ipc_conformance::procstate::describe(pid))
    }

    /// Reads the peer's `opening <pid>` line.
    fn expect_opening(peer: &mut RawPeer) -> Checked<()> {
        match peer.next_line(BOUND).step("read the peer's output")? {
            Some(l) if l.starts_with("opening") => Ok(()),
            Some(l) => Err(Observation::error(format!("{}: {l}", peer.what()))),
            None => Err(Observation::timeout(format!(
                "{} did not start within {BOUND:?}",
                peer.what()
            ))),
        }
    }

    #[test]
    fn open_blocks_until_peer() {
        // How long the watchdog watches blocked opens. Not a synchronisation
        // delay: it is the span over which "did not return" is observed.
        const WATCH: Duration = Duration::from_millis(250);
        check!("fifo.open_blocks_until_peer", |cx| {
            let rfifo = FifoPath::create(cx)?;
            let wfifo = FifoPath::create(cx)?;
            // Nobody has the reader's FIFO open yet: a non-blocking writer open
            // finds no reader (the FIFO is private to this check).
            match open(rfifo.path(), OFlag::O_WRONLY | OFlag::O_NONBLOCK) {
                Err(Errno::ENXIO) => {}
                other => {
                    return Ok(Observation::error(format!(
                        "precondition: O_WRONLY|O_NONBLOCK on a fresh FIFO gave {other:?}, not ENXIO"
                    )));
                }
            }
            let exe = cx.peer_exe().to_owned();
            let mut reader = RawPeer::spawn(&exe, &["fifo-open", &rfifo.arg(), "read"])
                .step("start the reading peer")?;
            let mut writer = RawPeer::spawn(&exe, &["fifo-open", &wfifo.arg(), "write"])
                .step("start the writing peer")?;
            expect_opening(&mut reader)?;
            expect_opening(&mut writer)?;

            // The watch: neither open may return while its other end is unopened.
            let start = Instant::now();
            let r_early = reader.next_line(WATCH).step("watch the reader")?;
            let w_early = writer
                .next_line(WATCH.saturating_sub(start.elapsed()))
                .step("watch the writer")?;
            let watched = start.elapsed();
            let kernel: Vec<String> = [reader.pid(), writer.pid()]
                .into_iter()
                .filter_map(kernel_wait)
                .collect();
            let kernel = if kernel.is_empty() {
                String::new()
            } else {
                format!(" (kernel: {})", kernel.join("; "))
            };
            if r_early.is_some() || w_early.is_some() {
                return Ok(Observation::no(format!(
                    "with nobody at the other end, the blocking O_RDONLY open answered {r_early:?} and the O_WRONLY open {w_early:?} within {watched:?}"
                )));
            }

            // Release the reader. A non-blocking writer open succeeds only when a
            // reader is registered: the peer's open, still not returned, is one.
            let deadline = Instant::now() + BOUND;
            let (_w_end, probes) = {
                let mut probes = 1;
                loop {
                    match open(rfifo.path(), OFlag::O_WRONLY | OFlag::O_NONBLOCK) {
                        Ok(fd) => break (fd, probes),
                        // The peer has not reached open() yet (a loaded machine):
                        // keep watching its output while probing again.
                        Err(Errno::ENXIO) if Instant::now() < deadline => {
                            probes += 1;
                            if let Some(l) = reader
                                .next_line(Duration::from_millis(20))
                                .step("watch the reader")?
                            {
                                return Ok(Observation::no(format!(
                                    "the blocking O_RDONLY open answered {l:?} with no writer"
                                )));
                            }
                        }
                        Err(e) => {
                            return Ok(Observation::error(format!(
                                "O_WRONLY|O_NONBLOCK to release the reader: {e:?} after {probes} probe(s)"
                            )));
                        }
                    }
                }
            };
            let released = Instant::now();
            let r_after = reader.next_line(BOUND).step("read the reader's output")?;
            let r_took = released.elapsed();

            // Release the writer with a reader of our own.
            let _r_end = open(wfifo.path(), OFlag::O_RDONLY | OFlag::O_NONBLOCK)
                .step("open O_RDONLY|O_NONBLOCK to release the writer")?;
            let released = Instant::now();
            let w_after = writer.next_line(BOUND).step("read the writer's output")?;
            let w_took = released.elapsed();

            let opened = |l: &Option<String>| l.as_deref() == Some("opened");
            Ok(Observation::holds(
                opened(&r_after) && opened(&w_after),
                format!(
                    "before the peers started, O_WRONLY|O_NONBLOCK gave ENXIO (no reader); peer {} (blocking O_RDONLY) and peer {} (blocking O_WRONLY) had not returned from open() after {watched:?} of watching{kernel}; then O_WRONLY|O_NONBLOCK on the reader's FIFO succeeded (probe {probes}: the blocked open already counts as a reader) and the reader's open answered {r_after:?} {r_took:?} later; O_RDONLY|O_NONBLOCK on the writer's FIFO made the writer's open answer {w_after:?} {w_took:?} later",
                    reader.pid(),
                    writer.pid()
                ),
            )
            .with("watched", watched.as_secs_f64() * 1e3, "ms")
            .with("reader_return_after_writer", r_took.as_secs_f64() * 1e3, "ms")
            .with("writer_return_after_reader", w_took.as_secs_f64() * 1e3, "ms"))
        });
    }

    #[test]
    fn nonblock_write_open_enxio() {
        check!("fifo.nonblock_write_open_enxio", |cx| {
            let fifo = FifoPath::create(cx)?;
            let alone = open(fifo.path(), OFlag::O_WRONLY | OFlag::O_NONBLOCK);
            let _r = fifo.open_reader()?;
            let with_reader = open(fifo.path(), OFlag::O_WRONLY | OFlag::O_NONBLOCK);
            let show = |r: &nix::Result<std::os::fd::OwnedFd>| match r {
                Ok(_) => "succeeded".to_owned(),
                Err(e) => format!("failed with {}", describe_io_error(&(*e).into())),
            };
            Ok(Observation::holds(
                matches!(alone, Err(Errno::ENXIO)) && with_reader.is_ok(),
                format!(
                    "O_WRONLY|O_NONBLOCK with no reader {}; the same open once this process held an O_RDONLY|O_NONBLOCK end {}",
                    show(&alone),
                    show(&with_reader)
                ),
            ))
        });
    }

    #[test]
    fn persists_until_unlink() {
        check!("fifo.persists_until_unlink", |cx| {
            let path = cx.path(".fifo")?;
            // The peer makes the node; the guard removes it whatever happens here.
            let _guard = PathGuard::new(&path);
            let mut creator = cx
                .peer(&["fifo-make", &path.display().to_string()])
                .spawn()?;
            let pid = creator.pid();
            let made = creator.line(BOUND)?;
            let (status, _) = creator.finish()?;
            let Some(ino) = made
                .strip_prefix("made ")
                .and_then(|s| s.trim().parse::<libc::ino_t>().ok())
            else {
                return Ok(Observation::error(format!("creator {pid}: {made}")));
            };
            let after_exit = nix::sys::stat::lstat(&path);
            let described = describe_path(&path);
            let kept = matches!(&after_exit, Ok(st) if is_fifo(st) && st.st_ino == ino);
            // The node stays; the bytes the creator left unread go with its descriptors.
            let leftover = match open(&path, OFlag::O_RDONLY | OFlag::O_NONBLOCK) {
                Ok(r) => {
                    let mut buf = [0u8; 64];
                    match nix::unistd::read(&r, &mut buf) {
                        Ok(n) => format!(
                            "a read found {n} byte(s) {:?}",
                            String::from_utf8_lossy(&buf[..n])
                        ),
                        Err(e) => format!("a read gave {e:?}"),
                    }
                }
                Err(e) => format!("reopening failed: {e:?}"),
            };
            nix::unistd::unlink(&path).step("unlink")?;
            let after_unlink = nix::sys::stat::lstat(&path).err();
            Ok(Observation::holds(
                status.success() && kept && after_unlink == Some(Errno::ENOENT),
                format!(
                    "peer {pid} made the FIFO (inode {ino}), wrote 11 bytes into it and ended ({status}); afterwards {described}; {leftover}; after unlink() lstat gave {after_unlink:?}"
                ),
            ))
        });
    }

    #[test]
    fn write_atomic_up_to_pipe_buf() {
        check!("fifo.write_atomic_up_to_pipe_buf", |cx| {
            let (size, source) = {
                let fifo = FifoPath::create(cx)?;
                let r = fifo.open_reader()?;
                pipe_buf(&r)
            };
            if size < 512 {
                return Ok(Observation::error(format!(
                    "{source}: below POSIX's minimum of 512"
                )));
            }
            let obs = ipc_conformance::matrix::concurrent_writers(cx, &FifoMechanism, 4, 24, size)?;
            Ok(Observation {
                detail: format!(
                    "records of PIPE_BUF bytes ({source}), written by peer programs that opened the FIFO by path, in non-blocking mode (a write that finds the FIFO full is retried after poll): {}",
                    obs.detail
                ),
                ..obs
            }
            .with("pipe_buf", size as f64, "bytes"))
        });
    }

    #[test]
    fn writer_blocks_when_full() {
        check!("fifo.writer_blocks_when_full", |cx| {
            use ipc_conformance::mech::pipe::{
                BLOCKED_WRITE, fill_until_full, observe_blocked_writer,
            };
            let fifo = FifoPath::create(cx)?;
            let r = fifo.open_reader()?;
            let w = fifo.open_writer()?;
            let capacity = fill_until_full(&w)?;
            let writer = cx
                .peer(&[
                    "fifo-write-blocking",
                    &fifo.arg(),
                    &BLOCKED_WRITE.to_string(),
                ])
                .start()?;
            let obs = observe_blocked_writer(
                writer,
                &r,
                capacity,
                &format!(
                    "with nobody else reading, this process's non-blocking 4 KiB writes filled {} with {capacity} bytes (one more gave EAGAIN)",
                    fifo.path().display()
                ),
            )?;
            drop(w);
            Ok(obs)
        });
    }

    #[test]
    fn write_atomic_blocking_writers() {
        check!("fifo.write_atomic_blocking_writers", |cx| {
            use ipc_conformance::mech::pipe::{
                capacity_by_filling, observe_blocking_writers, records_to_overfill,
            };
            let fifo = FifoPath::create(cx)?;
            let r = fifo.open_reader()?;
            let (size, source) = pipe_buf(&r);
            if size < 512 {
                return Ok(Observation::error(format!(
                    "{source}: below POSIX's minimum of 512"
                )));
            }
            let capacity = {
                let w = fifo.open_writer()?;
                capacity_by_filling(&w, &r).step("measure the capacity")?
            };
            let records = records_to_overfill(capacity, 4, size);
            let mut writers = Vec::new();
            for i in 1..=4u8 {
                writers.push(
                    cx.peer(&[
                        "fifo-records-blocking",
                        &fifo.arg(),
                        &i.to_string(),
                        &records.to_string(),
                        &size.to_string(),
                    ])
                    .start()?,
                );
            }
            observe_blocking_writers(
                &mut writers,
                &r,
                (records, size, capacity),
                &format!(
                    "{source}; the writers are peer programs that opened the FIFO by path with a blocking O_WRONLY"
                ),
            )
        });
    }

    // ------------------------------------------------------- cleanup guarantees

    fn gone(path: &std::path::Path) -> bool {
        matches!(std::fs::symlink_metadata(path), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
    }

    /// The FIFO guard removes its path when the code holding it panics.
    #[test]
    fn fifo_guard_removes_the_path_on_panic() {
        let dir = match ipc_conformance::names::private_dir() {
            Ok(d) => d,
            Err(e) => {
                // A machine whose temporary directory is unusable (a precondition).
                eprintln!(
                    "SKIPPED the FIFO guard test: no private directory under {}: {e}",
                    std::env::temp_dir().display()
                );
                return;
            }
        };
        let path = dir.path().join(ipc_conformance::names::unique());
        let p = path.clone();
        let r = std::panic::catch_unwind(move || {
            let fifo = FifoPath::create_at(p).expect("mkfifo");
            let st = nix::sys::stat::lstat(fifo.path()).expect("lstat");
            assert!(is_fifo(&st) && st.st_mode & 0o777 == 0o600);
            panic!("deliberate panic while holding a FIFO guard");
        });
        assert!(r.is_err());
        assert!(gone(&path), "{} survived the panic", path.display());
        assert!(dir.path().exists(), "only the FIFO was to go");
    }

    /// A check that panics while holding a FIFO channel leaves neither the FIFO
    /// nor its private directory behind (and is reported as an error).
    #[test]
    fn panicking_check_leaves_no_fifo() {
        let Some((fifo, dir)) = held_by_a_panicking_check("fifo.named_by_path", |cx, held| {
            let fifo = Fifo::create(cx)?;
            held.set((fifo.path().to_owned(), cx.dir()?.to_owned()));
            panic!("deliberate panic inside a check holding a FIFO");
        }) else {
            return;
        };
        assert!(
            fifo.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("ipcconf-"))
        );
        assert!(gone(&fifo), "{} survived the panic", fifo.display());
        assert!(gone(&dir), "{} survived the panic", dir.display());
    }
}
