//! The socket mechanisms as the rest of the crate meets them: the `Mechanism`
//! the matrix checks create channels from, and both sides of giving a channel's
//! end to a peer process: the peer's command line here, and in the peer the
//! endpoint it opens (`ipcconf-peer endpoint <mech> <role> ...`).

use std::io;

use super::{Addr, AsSock, Conn, Dgram, DgramChannel, DgramEndpoint, Family, OwnedSock};
use super::{StreamChannel, StreamEndpoint};
use crate::channel::{Channel, Endpoint, Mechanism, Role};
use crate::check::Ctx;
use crate::observe::Checked;
use crate::peer::PeerCommand;

/// The channel a socket mechanism makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A listener and connections: [`StreamChannel`].
    Stream,
    /// A receiving and a sending socket: [`DgramChannel`].
    Dgram,
}

/// A socket mechanism (`unix_stream`, `unix_dgram`, `tcp`, `udp`) for the
/// matrix checks and the peer program.
pub struct SocketMechanism {
    pub id: &'static str,
    pub family: Family,
    pub kind: Kind,
}

impl SocketMechanism {
    /// The endpoint a peer opens (see [`open_remote_stream`],
    /// [`open_remote_dgram`]); `None` where std has no such socket (AF_UNIX off
    /// Unix).
    pub fn open_remote(&self, args: &[String]) -> Option<io::Result<Box<dyn Endpoint>>> {
        if self.family == Family::Unix && cfg!(not(unix)) {
            return None;
        }
        Some(match self.kind {
            Kind::Stream => open_remote_stream(self.family, args),
            Kind::Dgram => open_remote_dgram(self.family, args),
        })
    }
}

impl Mechanism for SocketMechanism {
    fn id(&self) -> &'static str {
        self.id
    }

    fn create(&self, cx: &mut Ctx) -> Checked<Box<dyn Channel>> {
        Ok(match self.kind {
            Kind::Stream => Box::new(StreamChannel::create(cx, self.id, self.family)?),
            Kind::Dgram => Box::new(DgramChannel::create(cx, self.id, self.family)?),
        })
    }
}

/// The peer that opens `role`'s end of channel `id`: a sender joins by `name`
/// (`endpoint <id> sender <name>`); a receiver gets `rx` handed over, as
/// descriptor 3 on Unix (`endpoint <id> receiver fd`) and on Windows through
/// WSADuplicateSocket (`endpoint <id> receiver wsa <at> <token>`, see
/// `win::offer`), followed by `reply_to` where given.
pub(super) fn peer_command(
    cx: &Ctx,
    id: &str,
    role: Role,
    name: &str,
    rx: &impl AsSock,
    reply_to: Option<&str>,
) -> io::Result<PeerCommand> {
    if role == Role::Sender {
        return Ok(cx.peer(&["endpoint", id, "sender", name]));
    }
    let mut args = vec!["endpoint", id, "receiver"];
    cfg_if::cfg_if! {
        if #[cfg(unix)] {
            args.push("fd");
            args.extend(reply_to);
            Ok(cx.peer(&args).handover(super::sock(rx), 3))
        } else {
            let (at, token) = super::win::offer(super::sock(rx).try_clone_to_owned()?)?;
            args.extend(["wsa", &at, &token]);
            args.extend(reply_to);
            Ok(cx.peer(&args))
        }
    }
}

/// In a peer: the socket handed over (see [`peer_command`]) when `args` are
/// `fd` (Unix) or `wsa <at> <token>` (Windows) and `tail` more, with those
/// `tail` arguments; `None` for any other arguments.
fn take_handed(args: &[String], tail: usize) -> io::Result<Option<(OwnedSock, &[String])>> {
    match args {
        #[cfg(unix)]
        [fd, rest @ ..] if fd == "fd" && rest.len() == tail => {
            Ok(Some((crate::sys::take_handed_over_fd(3)?, rest)))
        }
        #[cfg(windows)]
        [wsa, at, token, rest @ ..] if wsa == "wsa" && rest.len() == tail => {
            Ok(Some((super::win::adopt(at, token)?, rest)))
        }
        _ => Ok(None),
    }
}

/// `endpoint <mech> <role> fd` (descriptor 3 handed over; on Windows `wsa <at>
/// <token>`, see `win::offer`) or `endpoint <mech> <role> <name>` (connect by name).
pub fn open_remote_stream(family: Family, args: &[String]) -> io::Result<Box<dyn Endpoint>> {
    let conn = match (take_handed(args, 0)?, args) {
        (Some((sock, _)), _) => Conn::from_handed(family, sock),
        (None, [name]) => Conn::connect(&Addr::parse(family, name)?)?,
        (None, _) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "expected a handed-over socket (`fd`, `wsa <at> <token>`) or a name",
            ));
        }
    };
    Ok(Box::new(StreamEndpoint::new(conn)?))
}

/// `endpoint <mech> <role> fd <reply-to>` (descriptor 3 handed over; on Windows
/// `wsa <at> <token> <reply-to>`) or `endpoint <mech> <role> <name>` (a new
/// socket connected to the name).
pub fn open_remote_dgram(family: Family, args: &[String]) -> io::Result<Box<dyn Endpoint>> {
    match (take_handed(args, 1)?, args) {
        (Some((sock, [dest])), _) => Ok(Box::new(DgramEndpoint::new(
            Dgram::from_handed(family, sock),
            Some(Addr::parse(family, dest)?),
        )?)),
        (None, [name]) => {
            let sock = Dgram::unbound(family)?;
            sock.connect(&Addr::parse(family, name)?)?;
            Ok(Box::new(DgramEndpoint::new(sock, None)?))
        }
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "expected a handed-over socket (`fd <reply-to>`, `wsa <at> <token> <reply-to>`) or a name",
        )),
    }
}
