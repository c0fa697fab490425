//! Shared by the POSIX and System V shared-memory suites: the two-way exchange
//! through a region that this process and a peer both have mapped.

use ipc_conformance::mech::shm::Mapping;

/// What both suites' checks use.
pub use ipc_conformance::check::Ctx;
pub use ipc_conformance::mech::shm::{data_of, ok_of, pattern};
pub use ipc_conformance::peer::{Peer, hex};
pub use ipc_conformance::watchdog::BOUND;
pub use ipc_conformance::{Checked, Observation, Step, check};

/// This process stores 32 bytes at offset 0 and the peer loads them (`there`);
/// the peer stores a 32-byte reply at offset 64 and this process loads it
/// (`back`): each is true when the bytes arrived unchanged.
pub struct Exchange {
    pub there: bool,
    pub back: bool,
}

impl Exchange {
    pub fn run(region: &Mapping, peer: &mut Peer) -> Checked<Exchange> {
        let mine = pattern(32);
        region.write(0, &mine);
        let peer_saw = data_of(&peer.request("read 0 32")?, "read")?;
        let reply = pattern(32);
        ok_of(
            &peer.request(&format!("write 64 {}", hex(&reply)))?,
            "write",
        )?;
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
