//! The controller side: starts signal peers, sends them typed commands and reads
//! their typed answers.

use super::Delivery;
use super::protocol::{Answer, Command, FdList, Ready, Sig};
use crate::check::Ctx;
use crate::observe::{Checked, Observation};
use crate::peer::wire::WireLine;
use crate::peer::{Peer, PeerCommand};
use crate::watchdog::BOUND;
use std::time::Duration;

/// A running `signal-peer`.
pub struct SigPeer {
    pub peer: Peer,
    pub pid: i32,
    /// The `ready` line, read: pid, uid, process group, threads, descriptors.
    pub info: Ready,
}

impl SigPeer {
    /// Starts a peer that records and blocks `sigs`.
    pub fn start(cx: &Ctx, sigs: &[Sig]) -> Checked<SigPeer> {
        let names: Vec<String> = sigs.iter().map(Sig::to_string).collect();
        let mut args = vec!["signal-peer"];
        args.extend(names.iter().map(String::as_str));
        SigPeer::launch(cx.peer(&args))
    }

    /// Starts a prepared `signal-peer` command (process group, environment).
    pub fn launch(cmd: PeerCommand) -> Checked<SigPeer> {
        let mut peer = cmd.spawn()?;
        let ready = peer.line(BOUND)?;
        let info = Ready::from_line(&ready).map_err(|e| {
            Observation::error(format!(
                "signal peer did not start: {e} — stderr: {}",
                peer.stderr_text().trim()
            ))
        })?;
        let pid = peer.pid() as i32;
        Ok(SigPeer { peer, pid, info })
    }

    /// Sends a typed command without waiting for its answer (so that several
    /// peers act at once); [`SigPeer::answer`] reads it.
    pub fn send(&mut self, command: &Command) -> Checked<()> {
        self.peer.send_line(&command.to_string())?;
        Ok(())
    }

    /// Reads the typed answer to `command`, sent with [`SigPeer::send`], waiting
    /// at most `bound`.
    pub fn answer(&mut self, command: &Command, bound: Duration) -> Checked<Answer> {
        let line = self.peer.line(bound)?;
        Answer::from_line(&line)
            .map_err(|e| Observation::error(format!("peer {} answered {command}: {e}", self.pid)))
    }

    /// Sends a typed command and returns the typed answer.
    pub fn request(&mut self, command: &Command) -> Checked<Answer> {
        self.request_within(command, BOUND)
    }

    /// [`SigPeer::request`] for a command that may take up to `bound`.
    pub fn request_within(&mut self, command: &Command, bound: Duration) -> Checked<Answer> {
        self.send(command)?;
        self.answer(command, bound)
    }

    /// kill() `count` × `sig` to `pid`; every one must be sent.
    pub fn kill(&mut self, pid: i32, sig: Sig, count: u64) -> Checked<()> {
        self.sent(&Command::Kill { pid, sig, count })
    }

    /// sigqueue() `count` × `sig` to `pid` carrying `first`, `first + 1`, ...;
    /// every one must be sent.
    pub fn sigqueue(&mut self, pid: i32, sig: Sig, first: usize, count: u64) -> Checked<()> {
        self.sent(&Command::Sigqueue {
            pid,
            sig,
            first,
            count,
        })
    }

    /// Sends a command whose answer must be `ok`.
    pub fn sent(&mut self, command: &Command) -> Checked<()> {
        self.send(command)?;
        self.sent_answer(command)
    }

    /// Reads the answer to `command`, sent with [`SigPeer::send`], which must be
    /// `ok`. A sigqueue() refused with EAGAIN is the machine's queued-signal
    /// limit (a tiny RLIMIT_SIGPENDING), so the check ends `skipped` with that
    /// reason.
    pub fn sent_answer(&mut self, command: &Command) -> Checked<()> {
        let answer = self.answer(command, BOUND)?;
        if matches!(answer, Answer::Ok(_)) {
            return Ok(());
        }
        let line = answer.to_string();
        if let Some(reason) = matches!(command, Command::Sigqueue { .. })
            .then(|| crate::precondition::sigqueue_refused(&line))
            .flatten()
        {
            Err(Observation::skipped(format!(
                "peer {} answered {:?}: {reason}",
                self.pid,
                command.to_string()
            )))
        } else {
            Err(Observation::error(format!(
                "peer {} answered {:?} with {line:?}",
                self.pid,
                command.to_string()
            )))
        }
    }

    /// Unblocks the peer's signals, lets the pending ones be delivered to its
    /// handler, blocks them again and returns what the handler recorded.
    pub fn unblock(&mut self) -> Checked<Vec<Delivery>> {
        self.deliveries(Command::Unblock)
    }

    /// Unblocks the peer's signals for good: each is handled on arrival.
    pub fn handle(&mut self) -> Checked<()> {
        match self.request(&Command::Handle)? {
            Answer::Ok(_) => Ok(()),
            other => Err(self.unexpected(&Command::Handle, &other)),
        }
    }

    /// What the handler recorded since last asked (signals handled on arrival).
    pub fn report(&mut self) -> Checked<Vec<Delivery>> {
        self.deliveries(Command::Report)
    }

    fn deliveries(&mut self, command: Command) -> Checked<Vec<Delivery>> {
        match self.request(&command)? {
            Answer::Got { got, .. } => Ok(got),
            other => Err(self.unexpected(&command, &other)),
        }
    }

    /// The peer's open descriptors now.
    pub fn fds(&mut self) -> Checked<FdList> {
        match self.request(&Command::Fds)? {
            Answer::Fds(list) => Ok(list),
            other => Err(self.unexpected(&Command::Fds, &other)),
        }
    }

    /// The peer's signals that are pending now.
    pub fn pending(&mut self) -> Checked<Vec<i32>> {
        match self.request(&Command::Pending)? {
            Answer::Pending(p) => Ok(p),
            other => Err(self.unexpected(&Command::Pending, &other)),
        }
    }

    fn unexpected(&self, command: &Command, answer: &Answer) -> Observation {
        Observation::error(format!(
            "peer {} answered {command} with {:?}",
            self.pid,
            answer.to_string()
        ))
    }
}
