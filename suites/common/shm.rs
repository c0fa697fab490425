//! Shared by the POSIX and System V shared-memory suites: the two-way exchange
//! through a region that this process and a peer both have mapped.

use ipc_conformance::mech::shm::Mapping;

/// What both suites' checks use.
pub use ipc_conformance::check::Ctx;
pub use ipc_conformance::mech::shm::{pattern, peer_read, peer_write};
pub use ipc_conformance::peer::Peer;
pub use ipc_conformance::watchdog::BOUND;
pub use ipc_conformance::{Checked, Observation, Step, check};

/// This process stores 32 bytes at offset 0 and the peer loads them (`there`);
/// the peer stores a 32-byte reply at offset 64 and this process loads it
/// (`back`): each is true when the bytes arrived unchanged.
pub struct Exchange {
    pub there: bool,
    pub back: bool,
}

/// A peer started with an empty environment and no inherited descriptors,
/// given only `args` (the object's name or key).
pub fn stranger(cx: &Ctx, args: &[&str]) -> Checked<Peer> {
    let mut cmd = cx.peer(args);
    cmd.command().env_clear();
    Ok(cmd.start()?)
}

/// Stores a `len`-byte marker at offset 0 of `region` and has the peer load
/// `len` bytes there: (what was stored, what the peer loaded).
pub fn marker_seen_by(
    region: &Mapping,
    peer: &mut Peer,
    len: usize,
) -> Checked<(Vec<u8>, Vec<u8>)> {
    let marker = pattern(len);
    region.write(0, &marker);
    let got = peer_read(peer, 0, len)?;
    Ok((marker, got))
}

/// Has a peer that created a shared object store a 32-byte pattern at offset
/// 0 and exit: what it stored, and how it ended.
pub fn stored_by_a_peer_that_exits(
    mut creator: Peer,
) -> Checked<(Vec<u8>, std::process::ExitStatus)> {
    let data = pattern(32);
    peer_write(&mut creator, 0, &data)?;
    let (status, _) = creator.finish()?;
    Ok((data, status))
}

impl Exchange {
    pub fn run(region: &Mapping, peer: &mut Peer) -> Checked<Exchange> {
        let (mine, peer_saw) = marker_seen_by(region, peer, 32)?;
        let reply = pattern(32);
        peer_write(peer, 64, &reply)?;
        Ok(Exchange {
            there: peer_saw == mine,
            back: region.read(64, 32) == reply,
        })
    }

    pub fn holds(&self) -> bool {
        self.there && self.back
    }
}

/// How bytes that crossed a region arrived, for the evidence.
pub fn intact(unchanged: bool) -> &'static str {
    if unchanged { "intact" } else { "CHANGED" }
}
