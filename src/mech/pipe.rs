//! Anonymous pipes: the adapter for the matrix checks, the pipe peer roles, and
//! the measurements the pipe suite makes.

use crate::channel::{Endpoint, Role};

/// Opens the handed-over pipe end (descriptor 3) in a peer.
pub fn open_remote(role: Role, _args: &[String]) -> Option<std::io::Result<Box<dyn Endpoint>>> {
    cfg_if::cfg_if! {
        if #[cfg(unix)] {
            let _ = role;
            Some(crate::sys::take_handed_over_fd(3).and_then(crate::channel::fd::FdEndpoint::new).map(|e| Box::new(e) as Box<dyn Endpoint>))
        } else {
            let _ = role;
            None
        }
    }
}

/// Peer roles, for the exec'd halves of `cmd1 | cmd2` and for SIGPIPE:
/// - `pipe-emit <hex>` writes the bytes to its stdout and exits;
/// - `pipe-consume` reads its stdin to end of file and prints `read <hex>` on stderr;
/// - `pipe-sigpipe default|ignore` writes into a pipe whose reader is gone, with
///   SIGPIPE at its default action or ignored, and reports on stderr how the
///   write failed if it survives;
/// - `pipe-write-blocking <len>`, `pipe-read-blocking` and
///   `pipe-records-blocking <writer> <count> <size>` take the pipe end handed
///   over as descriptor 3, switch it to blocking and make blocking calls (see
///   [`write_blocking_body`], [`read_blocking_body`], [`records_blocking_body`]).
pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
    use std::io::{Read, Write};
    match (role, args) {
        ("pipe-emit", [h]) => Some((|| {
            let data = crate::peer::unhex(h).ok_or("bad hex")?;
            let mut out = std::io::stdout().lock();
            out.write_all(&data)
                .and_then(|_| out.flush())
                .map_err(|e| e.to_string())
        })()),
        ("pipe-consume", []) => Some((|| {
            let mut data = Vec::new();
            std::io::stdin()
                .read_to_end(&mut data)
                .map_err(|e| e.to_string())?;
            eprintln!("read {}", crate::peer::hex(&data));
            Ok(())
        })()),
        #[cfg(unix)]
        ("pipe-sigpipe", [mode]) => Some(sigpipe_probe(mode == "ignore")),
        #[cfg(unix)]
        ("pipe-write-blocking", [len]) => {
            Some(handed_over(3).and_then(|fd| write_blocking_body(fd, len)))
        }
        #[cfg(unix)]
        ("pipe-read-blocking", []) => Some(handed_over(3).and_then(read_blocking_body)),
        #[cfg(unix)]
        ("pipe-records-blocking", [writer, count, size]) => {
            Some(handed_over(3).and_then(|fd| records_blocking_body(fd, writer, count, size)))
        }
        _ => None,
    }
}

#[cfg(unix)]
fn sigpipe_probe(ignore: bool) -> Result<(), String> {
    use nix::sys::signal::Signal;
    // Rust's runtime starts with SIGPIPE ignored; put back the default unless asked.
    if !ignore {
        crate::sys::default_signal_disposition(Signal::SIGPIPE)
            .map_err(|e| format!("signal(SIGPIPE, SIG_DFL): {e}"))?;
    }
    let (r, w) = crate::sys::pipe().map_err(|e| format!("pipe: {e}"))?;
    drop(r);
    match nix::unistd::write(&w, b"x") {
        Ok(n) => Err(format!("survived: write returned {n}")),
        Err(e) => Err(format!("survived: write failed with {e:?}")),
    }
}

#[cfg(unix)]
pub use unix::*;

#[cfg(unix)]
mod unix {
    use std::io;
    use std::os::fd::{AsFd, AsRawFd, OwnedFd};

    use crate::channel::fd::FdEndpoint;
    use crate::channel::{Channel, Endpoint, Role, unit_mechanism};
    use crate::check::Ctx;
    use crate::observe::Step;
    use crate::peer::PeerCommand;

    /// `pipe(2)`: the read end and the write end.
    pub struct Pipe {
        pub read: OwnedFd,
        pub write: OwnedFd,
    }

    impl Channel for Pipe {
        fn open(&mut self, role: Role) -> io::Result<Box<dyn Endpoint>> {
            let end = role.pick(&self.write, &self.read).try_clone()?;
            Ok(Box::new(FdEndpoint::new(end)?))
        }

        fn peer(&mut self, cx: &Ctx, role: Role) -> io::Result<PeerCommand> {
            let end = role.pick(&self.write, &self.read).as_fd();
            Ok(cx
                .peer(&["endpoint", "pipe", role.as_str()])
                .handover(end, 3))
        }

        fn name(&self) -> Option<String> {
            None
        }

        fn nameless_evidence(&self) -> String {
            format!(
                "pipe(2) returns two descriptors and no name; {}",
                describe_fd(&self.read)
            )
        }
    }

    /// What the system says a pipe descriptor is: on Linux its /proc link, else fstat.
    pub fn describe_fd(fd: &OwnedFd) -> String {
        let raw = fd.as_raw_fd();
        let link = std::fs::read_link(format!("/proc/self/fd/{raw}"));
        let stat = nix::sys::stat::fstat(fd);
        let mut s = String::new();
        if let Ok(l) = link {
            s.push_str(&format!(
                "/proc/self/fd/{raw} → {:?}; ",
                l.display().to_string()
            ));
        }
        match stat {
            Ok(st) => s.push_str(&format!(
                "fstat: mode {:o} (FIFO: {}), st_nlink {}",
                st.st_mode,
                (st.st_mode & libc::S_IFMT) == libc::S_IFIFO,
                st.st_nlink
            )),
            Err(e) => s.push_str(&format!("fstat: {e}")),
        }
        s
    }

    unit_mechanism!(
        /// The anonymous pipe as a `Mechanism`.
        PipeMechanism,
        "pipe",
        |_cx| {
            let (read, write) = crate::sys::pipe().step("pipe()")?;
            Ok(Box::new(Pipe { read, write }))
        }
    );

    /// Fills a fresh pipe with non-blocking writes of `chunk` bytes until EAGAIN;
    /// returns the bytes accepted.
    pub fn fill(write: &OwnedFd, chunk: usize) -> io::Result<usize> {
        crate::channel::fd::set_nonblocking(write.as_fd())?;
        let buf = vec![0x5a; chunk];
        let mut total = 0;
        loop {
            match nix::unistd::write(write, &buf) {
                Ok(n) => total += n,
                Err(nix::errno::Errno::EAGAIN) => return Ok(total),
                Err(e) => return Err(e.into()),
            }
            if total > 64 << 20 {
                return Err(io::Error::other(
                    "pipe accepted over 64 MiB without filling",
                ));
            }
        }
    }

    /// PIPE_BUF as the system reports it for a pipe at run time.
    pub fn pipe_buf(fd: &OwnedFd) -> io::Result<usize> {
        match nix::unistd::fpathconf(fd, nix::unistd::PathconfVar::PIPE_BUF)? {
            Some(n) => Ok(n as usize),
            None => Err(io::Error::other("fpathconf(_PC_PIPE_BUF) reports no limit")),
        }
    }
}

/// Blocking peers and what a check observes of them: a writer blocked in a
/// full pipe or FIFO, readers blocked in an empty one, writers of PIPE_BUF
/// records that block while a slow reader lets the pipe fill.
#[cfg(unix)]
pub use blocking::*;

#[cfg(unix)]
mod blocking {
    use std::io;
    use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
    use std::time::{Duration, Instant};

    use nix::errno::Errno;
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    use nix::poll::PollFlags;

    use crate::observe::{Checked, Observation, Step};
    use crate::peer::Peer;
    use crate::peer::answer::{err_text, say};
    use crate::procstate::{self, Call, Snapshot};
    use crate::watchdog::BOUND;

    /// How long a peer seen blocked is watched for not returning. Not a
    /// synchronisation delay: the span over which "still blocked" is observed.
    pub const WATCH: Duration = Duration::from_millis(250);

    /// The size of the blocked writer's one write() (at most PIPE_BUF on Linux,
    /// below FreeBSD's direct-write threshold of 8 KiB, so it waits in "pipewr").
    pub const BLOCKED_WRITE: usize = 4096;

    /// The byte the blocked writer writes (the fill writes 0x5a).
    pub const WRITER_BYTE: u8 = 0xa5;

    /// The descriptor a parent handed over, as a role's error text.
    pub fn handed_over(fd: std::os::fd::RawFd) -> Result<OwnedFd, String> {
        crate::sys::take_handed_over_fd(fd).map_err(|e| format!("descriptor {fd}: {e}"))
    }

    /// Clears O_NONBLOCK: calls on `fd` wait again.
    pub fn set_blocking(fd: BorrowedFd<'_>) -> io::Result<()> {
        let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
        fcntl(fd, FcntlArg::F_SETFL(flags - OFlag::O_NONBLOCK))?;
        Ok(())
    }

    fn retry_eintr<T>(mut f: impl FnMut() -> nix::Result<T>) -> nix::Result<T> {
        loop {
            match f() {
                Err(Errno::EINTR) => continue,
                r => return r,
            }
        }
    }

    /// Blocking writer: prints `ready <pid>`, makes one blocking write() of
    /// `len` bytes of [`WRITER_BYTE`], then prints `wrote <n>` (what write()
    /// returned) or `err <errno> <text>`.
    pub fn write_blocking_body(fd: OwnedFd, len: &str) -> Result<(), String> {
        let len: usize = len.parse().map_err(|e| format!("length {len:?}: {e}"))?;
        set_blocking(fd.as_fd()).map_err(|e| format!("clear O_NONBLOCK: {e}"))?;
        let data = vec![WRITER_BYTE; len];
        say(&format!("ready {}", std::process::id()))?;
        match retry_eintr(|| nix::unistd::write(&fd, &data)) {
            Ok(n) => say(&format!("wrote {n}")),
            Err(e) => say(&format!("err {}", err_text(&e.into()))),
        }
    }

    /// Blocking reader: prints `ready <pid>`, makes one blocking read() of at
    /// most 64 bytes, then prints `read <n>` (0 at end of file) or `err ...`.
    pub fn read_blocking_body(fd: OwnedFd) -> Result<(), String> {
        set_blocking(fd.as_fd()).map_err(|e| format!("clear O_NONBLOCK: {e}"))?;
        say(&format!("ready {}", std::process::id()))?;
        let mut buf = [0u8; 64];
        match retry_eintr(|| nix::unistd::read(&fd, &mut buf)) {
            Ok(n) => say(&format!("read {n}")),
            Err(e) => say(&format!("err {}", err_text(&e.into()))),
        }
    }

    /// Blocking writer of records: prints `ready <pid>`, waits for a `go` line on
    /// stdin, writes `count` tagged records of `size` bytes ([`crate::channel::record`])
    /// with one blocking write() each, and prints `ok <count> short=<k>`, `k`
    /// being the writes that returned less than a whole record (the rest is then
    /// written, so that the stream stays aligned for the reader's verdict).
    pub fn records_blocking_body(
        fd: OwnedFd,
        writer: &str,
        count: &str,
        size: &str,
    ) -> Result<(), String> {
        let (Ok(writer), Ok(count), Ok(size)) = (
            writer.parse::<u8>(),
            count.parse::<u16>(),
            size.parse::<usize>(),
        ) else {
            return Err(format!("bad arguments {writer:?} {count:?} {size:?}"));
        };
        if size < 4 {
            return Err(format!("record size {size} below 4"));
        }
        set_blocking(fd.as_fd()).map_err(|e| format!("clear O_NONBLOCK: {e}"))?;
        say(&format!("ready {}", std::process::id()))?;
        let mut go = String::new();
        io::stdin()
            .read_line(&mut go)
            .map_err(|e| format!("stdin: {e}"))?;
        if go.trim() != "go" {
            return Err(format!("expected \"go\", got {go:?}"));
        }
        let mut short = 0;
        for seq in 0..count {
            let rec = crate::channel::record(writer, seq, size);
            let mut done = 0;
            while done < size {
                match retry_eintr(|| nix::unistd::write(&fd, &rec[done..])) {
                    Ok(n) => {
                        if done == 0 && n < size {
                            short += 1;
                        }
                        done += n;
                    }
                    Err(e) => return say(&format!("err {}", err_text(&e.into()))),
                }
            }
        }
        say(&format!("ok {count} short={short}"))
    }

    /// Reads (non-blocking `read`, bounded poll) until `want` bytes came or the
    /// deadline passed, at most `chunk` bytes per read; returns the bytes.
    fn read_up_to(
        read: &OwnedFd,
        want: usize,
        chunk: usize,
        deadline: Instant,
    ) -> io::Result<Vec<u8>> {
        let mut got = Vec::with_capacity(want);
        let mut buf = vec![0u8; chunk];
        while got.len() < want {
            let room = chunk.min(want - got.len());
            match nix::unistd::read(read, &mut buf[..room]) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(Errno::EAGAIN) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero()
                        || !crate::channel::fd::wait(read.as_fd(), PollFlags::POLLIN, left)?
                    {
                        break;
                    }
                }
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(got)
    }

    /// Fills `write` (made non-blocking) with 4 KiB writes until EAGAIN and
    /// confirms that one more byte is refused with EAGAIN: the capacity, or an
    /// `error` observation when the precondition fails.
    pub fn fill_until_full(write: &OwnedFd) -> Checked<usize> {
        let capacity = super::fill(write, 4096).step("fill")?;
        match nix::unistd::write(write, b"x") {
            Err(Errno::EAGAIN) => Ok(capacity),
            other => Err(Observation::error(format!(
                "precondition: after {capacity} bytes one more non-blocking write gave {other:?}, not EAGAIN"
            ))),
        }
    }

    /// The writer blocks when full: `writer` (started, `ready` read) is making
    /// one blocking write() of [`BLOCKED_WRITE`] bytes into a pipe or FIFO that
    /// already holds `capacity` bytes and whose non-blocking read end is `read`.
    /// Yes when the kernel reports it blocked (where this OS says; what it
    /// says is in [`crate::procstate`]), it has not returned [`WATCH`] later
    /// and is still reported blocked, and once this process has read
    /// everything, its write() returned all its bytes.
    /// `setup` opens the evidence (how the pipe was filled).
    pub fn observe_blocked_writer(
        mut writer: Peer,
        read: &OwnedFd,
        capacity: usize,
        setup: &str,
    ) -> Checked<Observation> {
        let pid = writer.pid();
        let (seen, waited) = procstate::wait_blocked(pid, Call::Write, BOUND);
        let early = writer.line_if_any(WATCH)?;
        let still = procstate::snapshot(pid, Call::Write);
        let deadline = Instant::now() + BOUND;
        let want = capacity + BLOCKED_WRITE;
        let mut drained = read_up_to(read, capacity, 65536, deadline).step("read")?;
        let answer = match &early {
            Some(l) => Some(l.clone()),
            None => writer.line_if_any(deadline.saturating_duration_since(Instant::now()))?,
        };
        drained.extend(read_up_to(read, want - drained.len(), 65536, deadline).step("read")?);
        let tail_ok =
            drained.len() == want && drained[capacity..].iter().all(|&b| b == WRITER_BYTE);
        let wrote = answer
            .as_deref()
            .and_then(|a| a.strip_prefix("wrote "))
            .and_then(|n| n.parse::<usize>().ok());
        let evidence = format!(
            "{setup}; peer {pid} then called a blocking write() of {BLOCKED_WRITE} bytes: {}; {WATCH:?} later it {} and {}; this process then read {} bytes ({} of them the writer's), and the writer reported {}",
            describe_seen(&seen, waited),
            match &early {
                None => "had not returned".to_owned(),
                Some(l) => format!("had returned ({l:?})"),
            },
            describe_state(&still),
            drained.len(),
            drained.len().saturating_sub(capacity),
            match &answer {
                Some(a) => format!(
                    "{a:?} (write() returned {})",
                    wrote.map_or("?".to_owned(), |n| n.to_string())
                ),
                None => format!("nothing within {BOUND:?}"),
            }
        );
        // Neither returned nor seen asleep in write() within the bound (a
        // machine too loaded to tell), or never completed: undecided.
        if early.is_none() && (answer.is_none() || seen.blocked == Some(false)) {
            return Ok(Observation::timeout(evidence));
        }
        Ok(Observation::holds(
            seen.not_refuted()
                && early.is_none()
                && still.not_refuted()
                && wrote == Some(BLOCKED_WRITE)
                && tail_ok,
            evidence,
        )
        .with("capacity", capacity as f64, "bytes"))
    }

    /// "after 3ms the kernel reported it asleep in write() (...)", or why not.
    /// What the kernel reported is the snapshot's [`Snapshot::sign`], which
    /// differs per OS: a system call on Linux, a wait message on FreeBSD,
    /// thread run states only on macOS.
    pub fn describe_seen(s: &Snapshot, waited: Duration) -> String {
        match s.blocked {
            Some(true) => format!(
                "after {waited:?} the kernel reported it {} ({})",
                s.sign, s.text
            ),
            Some(false) => format!(
                "within {waited:?} the kernel never reported it {} ({})",
                s.sign, s.text
            ),
            None => s.text.clone(),
        }
    }

    /// A snapshot as "the kernel reported it asleep in write() (...)", "the
    /// kernel did not report it asleep in write() (...)" (the words of
    /// [`Snapshot::sign`]), or why this OS cannot tell.
    pub fn describe_state(s: &Snapshot) -> String {
        match s.blocked {
            Some(true) => format!("the kernel reported it {} ({})", s.sign, s.text),
            Some(false) => format!("the kernel did not report it {} ({})", s.sign, s.text),
            None => s.text.clone(),
        }
    }

    /// The capacity of an empty pipe or FIFO: `write` (left non-blocking) is
    /// filled until EAGAIN, then `read` (non-blocking) takes everything back, so
    /// the pipe is empty again (at the size the fill grew it to, on systems
    /// whose pipes grow with large writes).
    pub fn capacity_by_filling(write: &OwnedFd, read: &OwnedFd) -> io::Result<usize> {
        let capacity = super::fill(write, 4096)?;
        let back = read_up_to(read, capacity, 65536, Instant::now() + BOUND)?;
        if back.len() != capacity {
            return Err(io::Error::other(format!(
                "filled {capacity} bytes but read back {}",
                back.len()
            )));
        }
        Ok(capacity)
    }

    /// Records per writer so that `writers` writers of `size`-byte records
    /// write at least three times `capacity` (and at least 24 records each).
    pub fn records_to_overfill(capacity: usize, writers: u8, size: usize) -> u16 {
        let per_writer = (3 * capacity).div_ceil(usize::from(writers.max(1)) * size.max(1));
        u16::try_from(per_writer.max(24)).unwrap_or(u16::MAX)
    }

    /// Atomic writes with blocking writers: each of `writers` (started, `ready`
    /// read, numbered 1..) is told `go` and writes `records` records of `size`
    /// bytes with blocking write() calls. This process reads nothing until the
    /// kernel reports a writer blocked (asleep in write() on Linux, a pipe
    /// write's wait message on FreeBSD, every thread waiting on macOS: the
    /// pipe is full), then reads
    /// in small pieces (a slow reader), so writers keep blocking and waking.
    /// Yes when every record arrived whole, in order per writer, none torn or
    /// interleaved, and no write() returned less than a record. `setup` opens
    /// the evidence; `capacity` (from [`capacity_by_filling`]) and the record
    /// size are recorded.
    pub fn observe_blocking_writers(
        writers: &mut [Peer],
        read: &OwnedFd,
        (records, size, capacity): (u16, usize, usize),
        setup: &str,
    ) -> Checked<Observation> {
        let n = u8::try_from(writers.len()).unwrap_or(u8::MAX);
        for w in writers.iter_mut() {
            w.send_line("go")?;
        }
        let pids: Vec<u32> = writers.iter().map(Peer::pid).collect();
        // The slow reader waits (bounded) until the pipe is full: a writer asleep in write().
        let start = Instant::now();
        let snaps = loop {
            let snaps: Vec<Snapshot> = pids
                .iter()
                .map(|&p| procstate::snapshot(p, Call::Write))
                .collect();
            let any = snaps.iter().any(|s| s.blocked != Some(false));
            if any || start.elapsed() >= BOUND {
                break snaps;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let waited = start.elapsed();
        let asleep = snaps.iter().filter(|s| s.blocked == Some(true)).count();
        let (sign, probe) = snaps
            .iter()
            .find(|s| s.blocked == Some(true))
            .or(snaps.first())
            .map(|s| (s.sign.clone(), s.text.clone()))
            .unwrap_or_default();
        let total = usize::from(n) * usize::from(records) * size;
        // A read size that is no multiple of the record size: records are
        // taken apart by the reader, never by the writers.
        let chunk = size * 3 / 4 + 1;
        let deadline = Instant::now() + BOUND * 3;
        let mut stream = Vec::with_capacity(total);
        let mut reads = 0usize;
        while stream.len() < total {
            let got = read_up_to(read, (total - stream.len()).min(chunk), chunk, deadline)
                .step("read")?;
            if got.is_empty() {
                break;
            }
            reads += 1;
            stream.extend(got);
        }
        let mut answers = Vec::new();
        for w in writers.iter_mut() {
            answers.push(w.line(BOUND)?);
        }
        let short: usize = answers
            .iter()
            .filter_map(|a| a.split_once("short=")?.1.parse::<usize>().ok())
            .sum();
        let all_ok = answers
            .iter()
            .all(|a| a.starts_with(&format!("ok {records} ")));
        let broken = crate::channel::broken_records(&stream, n, size);
        let evidence = format!(
            "{setup}; records of {size} bytes, enough to fill its {capacity} bytes three times: {n} writer processes (pids {pids:?}) × {records} records of {size} bytes, one blocking write() per record; this process read nothing until, after {waited:?}, the kernel reported {asleep} of the {n} {sign} ({probe}); then it read {} of {total} bytes in {reads} reads of at most {chunk} bytes; writers answered {answers:?}; {broken} record(s) torn, interleaved or out of order; {short} short write(s)",
            stream.len()
        );
        if stream.len() < total {
            return Ok(Observation::timeout(evidence));
        }
        if asleep == 0 && snaps.iter().all(|s| s.blocked.is_some()) {
            return Ok(Observation::error(format!(
                "precondition: no writer was seen blocked, so the pipe never filled: {evidence}"
            )));
        }
        Ok(
            Observation::holds(broken == 0 && short == 0 && all_ok, evidence)
                .with("pipe_buf", size as f64, "bytes")
                .with("capacity", capacity as f64, "bytes"),
        )
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::records_to_overfill;

    #[test]
    fn enough_records_to_overfill() {
        // Linux: PIPE_BUF 4096, 64 KiB pipe: the floor of 24 records already triples it.
        assert_eq!(records_to_overfill(65536, 4, 4096), 24);
        // BSD: PIPE_BUF 512, 64 KiB pipe: 96 records each, 3 × 64 KiB in all.
        assert_eq!(records_to_overfill(65536, 4, 512), 96);
        assert!(usize::from(records_to_overfill(1 << 20, 4, 512)) * 4 * 512 >= 3 << 20);
    }
}
