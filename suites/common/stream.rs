//! Shared by the TCP and Unix stream suites: one round trip over a fresh
//! listener-accepted connection.

use ipc_conformance::channel::Endpoint;
use ipc_conformance::check::Ctx;
use ipc_conformance::mech::socket::{Family, StreamChannel, recv_exact};
use ipc_conformance::watchdog::BOUND;
use ipc_conformance::{Checked, Observation, Step};

/// Creates a stream channel of `mechanism` in `family` (listen, connect,
/// accept), sends "ping" from the client and "pong" back from the server;
/// `yes` when both arrive whole. `setup` says what was set up, for the
/// evidence; it gets the channel's name.
pub fn ping_pong(
    cx: &mut Ctx,
    mechanism: &'static str,
    family: Family,
    setup: impl FnOnce(&str) -> String,
) -> Checked<Observation> {
    let ch = StreamChannel::create(cx, mechanism, family)?;
    let (mut client, mut server) = ch.ends().step("open both ends")?;
    client.send(b"ping").step("client send")?;
    let up = recv_exact(&mut server, 4, BOUND).step("server receive")?;
    server.send(b"pong").step("server send")?;
    let down = recv_exact(&mut client, 4, BOUND).step("client receive")?;
    let name = ipc_conformance::channel::Channel::name(&ch).unwrap_or_default();
    Ok(Observation::holds(
        up == b"ping" && down == b"pong",
        format!(
            "{}; the server received {:?}, the client {:?}",
            setup(&name),
            String::from_utf8_lossy(&up),
            String::from_utf8_lossy(&down)
        ),
    ))
}
