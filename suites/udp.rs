//! UDP over loopback, the guide's network comparison: every `udp.*` claim of
//! the catalog. Everything binds 127.0.0.1 with port 0 and uses std::net, so
//! these checks run on every target.
//!
//! The guide's row "UDP Socket ✓ ✓ ✓ N/A ✓ ✗ ✗" gives seven values for ten
//! properties; the catalog reads them as unrelated, bidirectional, boundaries,
//! connection-oriented, connectionless, fd passing, zero-copy.

use ipc_conformance::check;
use ipc_conformance::matrix;
use ipc_conformance::mech::udp::MECHANISM;
use ipc_conformance::watchdog::BOUND;
use ipc_conformance::{Observation, Step};
use rstest::rstest;

ipc_conformance::suite!();

// ---------------------------------------------------------------- availability

#[test]
fn available() {
    check!("udp.available", |_cx| {
        use std::net::UdpSocket;
        let rx = UdpSocket::bind(("127.0.0.1", 0)).step("bind(127.0.0.1:0)")?;
        let addr = rx.local_addr().step("getsockname()")?;
        rx.set_read_timeout(Some(BOUND)).step("SO_RCVTIMEO")?;
        let tx = UdpSocket::bind(("127.0.0.1", 0)).step("bind() the sender")?;
        tx.send_to(b"udp-marker", addr).step("sendto()")?;
        let mut buf = [0u8; 64];
        let (n, from) = rx.recv_from(&mut buf).step("recvfrom()")?;
        Ok(Observation::holds(
            &buf[..n] == b"udp-marker",
            format!(
                "a UDP socket bound to {addr}; another socket sent 10 bytes; one recvfrom() returned {n} bytes {:?} from {from}",
                String::from_utf8_lossy(&buf[..n])
            ),
        ))
    });
}

// -------------------------------------------------------- characteristics matrix

ipc_conformance::matrix_properties!(
    "udp",
    MECHANISM,
    cross_machine(
        true,
        "an IP address and port, which can name another host (these runs use 127.0.0.1 only)"
    )
);

/// The boundary check's verdict does not depend on when the second datagram
/// arrives: the sender pausing between its two sends (the test's pause; the
/// check waits for what is queued) still gives two whole datagrams.
#[rstest]
fn message_boundaries_verdict_ignores_pauses(#[values(0, 150)] pause_ms: u64) {
    let pause = std::time::Duration::from_millis(pause_ms);
    let peer = std::path::PathBuf::from(env!("CARGO_BIN_EXE_ipcconf-peer"));
    let (obs, _) = ipc_conformance::check::observe("udp.message_boundaries", peer, |cx| {
        matrix::message_boundaries_sent_by(cx, &MECHANISM, move |tx| {
            matrix::boundary_sends(tx, pause)
        })
    });
    assert_eq!(
        obs.outcome,
        ipc_conformance::Outcome::Yes,
        "pause {pause:?}: {}",
        obs.detail
    );
}
