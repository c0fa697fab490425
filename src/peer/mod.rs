//! Peer processes: the `ipcconf-peer` helper binary, started as a separate program
//! with only a role and a name (CONTRIBUTING.md rule 2), and driven over its stdin/stdout
//! with a line protocol. Every wait for a peer is bounded by the watchdog.
//!
//! The endpoint protocol (`ipcconf-peer endpoint ...`) is typed: each line is
//! one [`endpoint_protocol::Command`] or [`endpoint_protocol::Answer`], written with
//! `Display` and read with [`wire::WireLine::from_line`] on both sides
//! (`channel::serve_endpoint` serves it, [`Peer::call`] asks). A line that is not
//! a message of the protocol is an error naming the line: the peer answers
//! `err 0 not an endpoint command: "<line>" (<reason>)`, the controller ends
//! the check with an error. Data is lower-case hex, `-` for no bytes.
//! - the peer first prints `ready <pid>` once its endpoint is open, or `err <text>`;
//! - `send <hex>` → `ok <n>` | `err <errno> <text>`
//! - `recv <max> <timeout_ms>` → `data <hex>` | `eof` | `empty` | `err <errno> <text>`
//!   (timeout 0: receive without waiting)
//! - `queued <len,len,...> <timeout_ms>` → `queued <seen>` once messages of those
//!   lengths are all queued at the peer's end | `short <seen>` when the bound
//!   passed first | `err <errno> <text>` (receives nothing)
//! - `records <writer> <count> <size>` → `ok <count>` | `err <errno> <text>`
//!   (tagged fixed-size records, `channel::record`)
//! - `recvfd <max>` (Unix) → `fd <payload hex> <content hex>` (a message with a
//!   descriptor, and up to 256 bytes read from it) | `nofd <payload hex>` |
//!   `err <errno> <text>`
//! - `quit` → the peer exits 0.
//!
//! Mechanism roles keep protocols of their own, typed the same way: each is
//! declared with [`wire::messages!`] in its mechanism's `protocol` module
//! (`mech::signal::protocol`, `mech::shm::protocol`,
//! `mech::windows::protocol`), or beside its role in a mechanism of one file.
//!
//! The first launch of the program can be slow (an executable scan): the
//! harness pays it once per test process before any check starts a peer
//! ([`first_launch::warm_up`], the `warm-up` role: `ready <pid>`, then exit).

pub mod answer;
pub mod codec;
pub mod endpoint_protocol;
pub mod first_launch;
pub mod wire;

pub use wire::{hex, unhex};

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::watchdog::BOUND;

/// Why a peer did not answer as asked.
#[derive(Debug)]
pub enum PeerError {
    /// No answer within the bound; the peer was killed.
    Timeout(String),
    /// The peer exited or closed its output; its stderr is attached.
    Gone(String),
    Io(io::Error),
    /// The peer's answer is not a message of the protocol.
    Protocol(wire::ProtocolError),
}

impl std::fmt::Display for PeerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerError::Timeout(s) => write!(f, "peer timed out: {s}"),
            PeerError::Gone(s) => write!(f, "peer gone: {s}"),
            PeerError::Io(e) => write!(f, "peer i/o: {e}"),
            PeerError::Protocol(e) => write!(f, "peer answered {e}"),
        }
    }
}

impl From<PeerError> for crate::observe::Observation {
    fn from(e: PeerError) -> Self {
        match e {
            PeerError::Timeout(s) => crate::observe::Observation::timeout(format!("peer: {s}")),
            other => crate::observe::Observation::error(other.to_string()),
        }
    }
}

enum Line {
    Text(String),
    Eof,
}

/// How a peer's start ended (`PeerCommand::start_or_refused`).
pub enum Started {
    /// The peer opened its endpoint and serves the protocol.
    Ready(Peer),
    /// The peer could not open its endpoint: `error` is its own account,
    /// `open <mechanism> <role>: <code> <name (text)>`.
    Refused { what: String, error: String },
}

/// A running peer process. Dropping it kills and reaps the process.
pub struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Line>,
    stderr: Arc<Mutex<String>>,
    stderr_done: Receiver<()>,
    what: String,
}

/// How to start a peer.
pub struct PeerCommand {
    cmd: Command,
    what: String,
    #[cfg(unix)]
    handover: Vec<(std::os::fd::RawFd, std::os::fd::RawFd)>,
    #[cfg(windows)]
    handover_windows: Vec<Box<dyn Handover>>,
}

/// Something a peer receives on Windows by duplication into its process (a
/// handle, a socket): the adapter that owns it duplicates it into the started
/// child and returns the line that tells the child what it got.
#[cfg(windows)]
pub trait Handover: std::fmt::Debug + Send {
    fn line_for(&self, child: &Child) -> io::Result<String>;
}

impl PeerCommand {
    /// `ipcconf-peer <args...>`.
    pub fn new(exe: &Path, args: &[&str]) -> Self {
        let mut cmd = Command::new(exe);
        cmd.args(args);
        PeerCommand {
            cmd,
            what: format!("ipcconf-peer {}", args.join(" ")),
            #[cfg(unix)]
            handover: Vec::new(),
            #[cfg(windows)]
            handover_windows: Vec::new(),
        }
    }

    /// Hands descriptor `fd` to the peer as descriptor `target` (a related process:
    /// only for mechanisms that have no name, like a pipe). Descriptors stay
    /// close-on-exec in this process, so children that other checks start
    /// concurrently never inherit them.
    #[cfg(unix)]
    pub fn handover(mut self, fd: std::os::fd::BorrowedFd<'_>, target: std::os::fd::RawFd) -> Self {
        use std::os::fd::AsRawFd;
        self.handover.push((fd.as_raw_fd(), target));
        self
    }

    /// Hands a handle or socket to the peer (Windows): once the peer has started,
    /// it is duplicated into the peer's process and named on the peer's stdin in a
    /// first line, which the peer reads before anything else. Nothing is made
    /// inheritable, so other children never receive it.
    #[cfg(windows)]
    pub fn handover_windows(mut self, h: impl Handover + 'static) -> Self {
        self.handover_windows.push(Box::new(h));
        self
    }

    /// Starts the peer with an empty environment, as a process that inherited
    /// nothing; on Windows it keeps SystemRoot, without which Winsock cannot
    /// start.
    pub fn empty_environment(mut self) -> Self {
        self.cmd.env_clear();
        if let Some(root) = std::env::var_os("SystemRoot").filter(|_| cfg!(windows)) {
            self.cmd.env("SystemRoot", root);
        }
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.cmd.env(key, value);
        self
    }

    pub fn command(&mut self) -> &mut Command {
        &mut self.cmd
    }

    /// Starts the peer and waits (bounded) for its `ready` line.
    #[track_caller]
    pub fn start(self) -> Result<Peer, PeerError> {
        match self.start_or_refused()? {
            Started::Ready(peer) => Ok(peer),
            Started::Refused { what, error } => {
                Err(PeerError::Gone(format!("{what}: err {error}")))
            }
        }
    }

    /// Starts the peer and waits (bounded) for its first line. A peer that
    /// could not open its endpoint (connect or open by name) says `err <text>`
    /// with the error code: that is `Started::Refused`, an answer for a check
    /// whose claim is whether such a process can join, not a failure to start.
    #[track_caller]
    pub fn start_or_refused(self) -> Result<Started, PeerError> {
        let mut peer = self.spawn()?;
        let line = peer.line(BOUND)?;
        if line.starts_with("ready") {
            Ok(Started::Ready(peer))
        } else if let Some(error) = line.strip_prefix("err ") {
            Ok(Started::Refused {
                what: peer.what.clone(),
                error: error.to_owned(),
            })
        } else {
            Err(PeerError::Gone(format!("{}: {line}", peer.what)))
        }
    }

    /// Starts the peer without waiting for `ready` (roles that print other things).
    pub fn spawn(mut self) -> Result<Peer, PeerError> {
        self.cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        if !self.handover.is_empty() {
            crate::sys::dup_before_exec(&mut self.cmd, self.handover.clone());
        }
        let mut child = self.cmd.spawn().map_err(PeerError::Io)?;
        #[allow(unused_mut)]
        let mut stdin = child.stdin.take();
        #[cfg(windows)]
        for h in &self.handover_windows {
            let sent = h.line_for(&child).and_then(|line| {
                let s = stdin.as_mut().ok_or_else(|| io::Error::other("no stdin"))?;
                writeln!(s, "{line}").and_then(|_| s.flush())
            });
            if let Err(e) = sent {
                let _ = child.kill();
                let _ = child.wait();
                return Err(PeerError::Io(io::Error::new(
                    e.kind(),
                    format!("handing {h:?} to {}: {e}", self.what),
                )));
            }
        }
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr_pipe = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(Line::Eof);
                        return;
                    }
                    Ok(_) => {
                        if tx.send(Line::Text(line.trim_end().to_owned())).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let (done_tx, stderr_done) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = String::new();
            let _ = BufReader::new(stderr_pipe)
                .take(64 * 1024)
                .read_to_string(&mut buf);
            *sink.lock().unwrap_or_else(|e| e.into_inner()) = buf;
            let _ = done_tx.send(());
        });
        Ok(Peer {
            child,
            stdin,
            lines,
            stderr,
            stderr_done,
            what: self.what,
        })
    }
}

impl Peer {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The peer's program and role, for the timing of its answers
    /// (`ipcconf-peer shm-waiter`).
    fn role(&self) -> String {
        let mut words = self.what.split(' ');
        let program = words.next().unwrap_or("");
        match words.next() {
            Some(role) => format!("{program} {role}"),
            None => program.to_owned(),
        }
    }

    /// The peer closed its output: it exited (reaped here), with its stderr.
    fn gone(&mut self) -> PeerError {
        let status = self.child.wait().ok();
        PeerError::Gone(format!(
            "{} exited ({}) — stderr: {}",
            self.what,
            status.map(|s| s.to_string()).unwrap_or_default(),
            self.stderr_text().trim()
        ))
    }

    /// The next line the peer prints, waiting at most `bound`.
    #[track_caller]
    pub fn line(&mut self, bound: Duration) -> Result<String, PeerError> {
        let start = std::time::Instant::now();
        let got = self.lines.recv_timeout(bound);
        crate::watchdog::timing::waited(&self.role(), start.elapsed(), bound);
        match got {
            Ok(Line::Text(s)) => Ok(s),
            Ok(Line::Eof) | Err(RecvTimeoutError::Disconnected) => Err(self.gone()),
            Err(RecvTimeoutError::Timeout) => {
                let _ = self.child.kill();
                Err(PeerError::Timeout(format!(
                    "{} gave no answer within {bound:?}",
                    self.what
                )))
            }
        }
    }

    /// The next line the peer prints, if one comes within `bound`: `Ok(None)`
    /// when nothing came, and unlike [`Peer::line`] the peer keeps running (for
    /// watching a peer that is expected to stay blocked).
    #[track_caller]
    pub fn line_if_any(&mut self, bound: Duration) -> Result<Option<String>, PeerError> {
        let start = std::time::Instant::now();
        let got = self.lines.recv_timeout(bound);
        if let Ok(Line::Text(_)) = got {
            // A line that came; a watch that saw none lasted its bound by design.
            crate::watchdog::timing::waited(&self.role(), start.elapsed(), bound);
        }
        match got {
            Ok(Line::Text(s)) => Ok(Some(s)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Ok(Line::Eof) | Err(RecvTimeoutError::Disconnected) => Err(self.gone()),
        }
    }

    /// Sends one command line.
    pub fn send_line(&mut self, line: &str) -> Result<(), PeerError> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| PeerError::Gone("stdin closed".into()))?;
        writeln!(stdin, "{line}")
            .and_then(|_| stdin.flush())
            .map_err(|e| {
                PeerError::Gone(format!(
                    "{}: cannot write command ({e}); stderr: {}",
                    self.what,
                    self.stderr_text()
                ))
            })
    }

    /// Sends a command and returns the peer's one-line answer (bounded).
    #[track_caller]
    pub fn request(&mut self, line: &str) -> Result<String, PeerError> {
        self.request_within(line, BOUND)
    }

    #[track_caller]
    pub fn request_within(&mut self, line: &str, bound: Duration) -> Result<String, PeerError> {
        self.send_line(line)?;
        self.line(bound)
    }

    /// Sends a typed command and reads the typed answer (bounded): an answer
    /// that is not a message of the protocol is [`PeerError::Protocol`].
    #[track_caller]
    pub fn exchange<A: wire::WireLine>(
        &mut self,
        command: &impl std::fmt::Display,
        bound: Duration,
    ) -> Result<A, PeerError> {
        self.send_line(&command.to_string())?;
        self.answer(bound)
    }

    /// Reads the next line as a typed answer (bounded).
    #[track_caller]
    pub fn answer<A: wire::WireLine>(&mut self, bound: Duration) -> Result<A, PeerError> {
        let line = self.line(bound)?;
        A::from_line(&line).map_err(PeerError::Protocol)
    }

    /// One command of the endpoint protocol and its answer (bounded).
    #[track_caller]
    pub fn call(
        &mut self,
        command: &endpoint_protocol::Command,
    ) -> Result<endpoint_protocol::Answer, PeerError> {
        self.exchange(command, BOUND)
    }

    /// `send <data>` of the endpoint protocol and its answer (bounded).
    #[track_caller]
    pub fn send_data(&mut self, data: &[u8]) -> Result<endpoint_protocol::Answer, PeerError> {
        self.call(&endpoint_protocol::Command::Send(data.to_vec()))
    }

    /// `recv <max> <ms>` of the endpoint protocol, waiting at most [`BOUND`]
    /// for a message, and its answer.
    #[track_caller]
    pub fn recv_data(&mut self, max: usize) -> Result<endpoint_protocol::Answer, PeerError> {
        self.call(&endpoint_protocol::Command::Recv {
            max,
            ms: BOUND.as_millis() as u64,
        })
    }

    /// Closes the peer's stdin and waits (bounded) for it to exit.
    #[track_caller]
    pub fn finish(mut self) -> Result<(ExitStatus, String), PeerError> {
        self.stdin.take();
        let start = std::time::Instant::now();
        loop {
            match self.lines.recv_timeout(BOUND) {
                Ok(Line::Text(_)) => continue,
                Ok(Line::Eof) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    return Err(PeerError::Timeout(format!(
                        "{} did not exit within {BOUND:?}",
                        self.what
                    )));
                }
            }
        }
        crate::watchdog::timing::waited(
            &format!("{}: its exit", self.role()),
            start.elapsed(),
            BOUND,
        );
        let status = self.child.wait().map_err(PeerError::Io)?;
        // stderr reaches end of file when the peer exits (bounded, in case a
        // grandchild kept it open).
        let _ = self.stderr_done.recv_timeout(BOUND);
        Ok((status, self.stderr_text()))
    }

    /// Everything the peer printed to stderr so far (complete once it exited).
    pub fn stderr_text(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl endpoint_protocol::Answer {
    /// The bytes of a `data` answer; `None` for any other answer.
    pub fn into_data(self) -> Option<Vec<u8>> {
        match self {
            endpoint_protocol::Answer::Data(d) => Some(d),
            _ => None,
        }
    }

    /// Whether the step succeeded (`ok <n>`).
    pub fn is_ok(&self) -> bool {
        matches!(self, endpoint_protocol::Answer::Ok(_))
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Where the peer binary is: `$IPCCONF_PEER`, else beside this executable or in its
/// parent directory (test binaries live in `deps/` below the bins).
pub fn locate() -> PathBuf {
    if let Some(p) = std::env::var_os("IPCCONF_PEER") {
        return PathBuf::from(p);
    }
    let name = format!("ipcconf-peer{}", std::env::consts::EXE_SUFFIX);
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1).take(2) {
            let candidate = dir.join(&name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    PathBuf::from(name)
}
