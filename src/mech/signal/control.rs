//! The controller side: starts signal peers, sends them typed commands and reads
//! their typed answers.

use super::Delivery;
use super::protocol::{Answer, Command, Ready};
use crate::check::Ctx;
use crate::observe::{Checked, Observation};
use crate::peer::wire::WireLine;
use crate::peer::{Peer, PeerCommand};
use crate::watchdog::BOUND;

/// A running `signal-peer`.
pub struct SigPeer {
    pub peer: Peer,
    pub pid: i32,
    /// The `ready` line as the peer printed it.
    pub ready: String,
    /// The `ready` line, read: pid, uid, process group, threads, descriptors.
    pub info: Ready,
}

impl SigPeer {
    /// Starts a peer that records and blocks `sigs`.
    pub fn start(cx: &Ctx, sigs: &[&str]) -> Checked<SigPeer> {
        let mut args = vec!["signal-peer"];
        args.extend_from_slice(sigs);
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
        Ok(SigPeer {
            peer,
            pid,
            ready,
            info,
        })
    }

    /// A `key=value` field of the ready line (`uid`, `pgid`, `threads`, `fds`).
    pub fn field(&self, key: &str) -> Option<&str> {
        self.ready
            .split_whitespace()
            .skip(2)
            .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
    }

    /// Sends a typed command and returns the peer's answer line and the answer
    /// read from it.
    fn exchange(&mut self, command: &Command) -> Checked<(String, Answer)> {
        self.peer.send_line(&command.to_string())?;
        let line = self.peer.line(BOUND)?;
        match Answer::from_line(&line) {
            Ok(answer) => Ok((line, answer)),
            Err(e) => Err(Observation::error(format!(
                "peer {} answered {command}: {e}",
                self.pid
            ))),
        }
    }

    /// Sends a typed command and returns the typed answer.
    pub fn request(&mut self, command: &Command) -> Checked<Answer> {
        self.exchange(command).map(|(_, answer)| answer)
    }

    /// A command given as its line: `Err` when it is not one of the protocol.
    fn command(&self, line: &str) -> Checked<Command> {
        Command::from_line(line).map_err(|e| Observation::error(e.to_string()))
    }

    /// Sends a command given as its line (checked against the protocol before
    /// it is sent) and returns the answer line (checked too).
    pub fn ask(&mut self, line: &str) -> Checked<String> {
        let command = self.command(line)?;
        self.exchange(&command).map(|(line, _)| line)
    }

    /// Sends a command whose answer must be `ok`. A sigqueue() refused with
    /// EAGAIN is the machine's queued-signal limit (a tiny RLIMIT_SIGPENDING),
    /// so the check ends `skipped` with that reason.
    pub fn ok(&mut self, line: &str) -> Checked<String> {
        let command = self.command(line)?;
        let (answer, typed) = self.exchange(&command)?;
        if matches!(typed, Answer::Ok(_)) {
            Ok(answer)
        } else if let Some(reason) = matches!(command, Command::Sigqueue { .. })
            .then(|| crate::precondition::sigqueue_refused(&answer))
            .flatten()
        {
            Err(Observation::skipped(format!(
                "peer {} answered {line:?}: {reason}",
                self.pid
            )))
        } else {
            Err(Observation::error(format!(
                "peer {} answered {line:?} with {answer:?}",
                self.pid
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
