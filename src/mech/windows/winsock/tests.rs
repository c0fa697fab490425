//! The stream channel code of the AF_UNIX adapter, run over TCP on loopback,
//! which every Windows and Wine has (Wine 8 has no AF_UNIX), so that the code
//! runs wherever the Windows build does. The channel is made under the id
//! `unix_stream`, so its peers take the adapter's own `endpoint unix_stream`
//! path: a socket handed over with `WSADuplicateSocketW`, or an address to
//! connect to. Tests that start a peer pass without it, with a note, when the
//! peer program has not been built (`cargo test --lib`).

use std::net::{Ipv4Addr, SocketAddrV4};

use super::*;
use crate::channel::Queued;
use crate::peer::Peer;
use crate::peer::endpoint_protocol::Answer;

/// A listener on 127.0.0.1 (port 0), one connection, under the id `unix_stream`.
fn channel() -> StreamChannel {
    let any = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0);
    StreamChannel::create("unix_stream", Addr::Inet(any)).expect("a TCP channel on loopback")
}

/// What starts peers: `None`, with a note, when the peer program is not built.
fn peers() -> Option<Ctx> {
    let peer = crate::peer::locate();
    if !peer.is_file() {
        eprintln!("no peer program at {} (build the bins)", peer.display());
        return None;
    }
    Some(Ctx::new("winsock stream channel over TCP", peer))
}

/// One receive within the bound; a test failure when nothing comes.
fn recv(ep: &mut dyn Endpoint) -> Vec<u8> {
    let mut buf = [0u8; 256];
    let n = ep
        .recv(&mut buf, BOUND)
        .expect("receive")
        .unwrap_or_else(|| panic!("nothing arrived within {BOUND:?}"));
    buf[..n].to_vec()
}

/// Whether WSAPoll finds the receiving end readable within `bound`.
fn readable(rx: &dyn Endpoint, bound: Duration) -> bool {
    let socks: Vec<ws::SOCKET> = rx
        .poll_sockets()
        .into_iter()
        .map(|s| s as ws::SOCKET)
        .collect();
    assert!(
        !socks.is_empty(),
        "the receiving end offers no socket to poll"
    );
    let revents = poll(&socks, ws::POLLRDNORM, bound).expect("WSAPoll");
    revents.iter().any(|r| r & ws::POLLRDNORM != 0)
}

/// A channel and its two ends, both in this process.
fn both_ends() -> (StreamChannel, Box<dyn Endpoint>, Box<dyn Endpoint>) {
    let mut ch = channel();
    let a = ch.open(Role::Sender).expect("sending end");
    let b = ch.open(Role::Receiver).expect("receiving end");
    (ch, a, b)
}

#[test]
fn both_ends_send_and_receive() {
    let (_ch, mut a, mut b) = both_ends();
    a.send(b"ping").expect("send A to B");
    assert_eq!(recv(b.as_mut()), b"ping");
    b.send(b"pong").expect("send B to A");
    assert_eq!(recv(a.as_mut()), b"pong");
}

/// A byte stream: once both sends are queued (FIONREAD), one receive returns
/// them together.
#[test]
fn queued_sends_come_back_as_one_stream() {
    let (_ch, mut a, mut b) = both_ends();
    a.send(b"abc").expect("first send");
    a.send(b"defgh").expect("second send");
    let queued = crate::channel::wait_all_queued(b.as_mut(), &[3, 5], BOUND).expect("FIONREAD");
    assert!(queued.is_ok(), "{queued:?}");
    assert_eq!(b.queued().expect("FIONREAD"), Some(Queued::Bytes(8)));
    assert_eq!(recv(b.as_mut()), b"abcdefgh");
}

/// A channel, this process's `keep` end of it, and a peer holding the other end,
/// handed over with WSADuplicateSocketW.
fn with_handed_peer(cx: &Ctx, keep: Role) -> (StreamChannel, Box<dyn Endpoint>, Peer) {
    let mut ch = channel();
    let end = ch.open(keep).expect("this process's end");
    let other = match keep {
        Role::Sender => Role::Receiver,
        Role::Receiver => Role::Sender,
    };
    let cmd = ch.peer(cx, other).expect("the peer command");
    let peer = cmd.start().expect("the peer takes the handed socket");
    (ch, end, peer)
}

/// A peer given the accepted end receives on it and answers back on the same
/// socket.
#[test]
fn a_handed_socket_carries_both_ways_in_the_peer() {
    let Some(cx) = peers() else { return };
    let (_ch, mut a, mut b) = with_handed_peer(&cx, Role::Sender);
    a.send(b"a-to-b").expect("send to the peer");
    assert_eq!(
        b.recv_data(64).expect("the peer's answer"),
        Answer::Data(b"a-to-b".to_vec())
    );
    let sent = b.send_data(b"b-to-a").expect("the peer's answer");
    assert!(sent.is_ok(), "{sent}");
    assert_eq!(recv(a.as_mut()), b"b-to-a");
}

/// WSAPoll on the receiving end: nothing readable while empty, readable once a
/// peer holding the sending end sent.
#[test]
fn the_receiving_end_polls_readable_after_a_peer_sends() {
    let Some(cx) = peers() else { return };
    let (_ch, mut rx, mut tx) = with_handed_peer(&cx, Role::Receiver);
    assert!(
        !readable(rx.as_ref(), Duration::ZERO),
        "readable while empty"
    );
    let sent = tx.send_data(b"poll-me").expect("the peer's answer");
    assert!(sent.is_ok(), "{sent}");
    assert!(
        readable(rx.as_ref(), BOUND),
        "not readable after the peer sent"
    );
    assert_eq!(recv(rx.as_mut()), b"poll-me");
}

/// Fresh peers given only the channel's address connect one after another; the
/// receiving end accepts each connection and reads what each sent.
#[test]
fn peers_join_by_the_address_alone() {
    let Some(cx) = peers() else { return };
    let mut ch = channel();
    let name = ch.name().expect("the listener's address");
    let mut rx = ch.open(Role::Receiver).expect("receiving end");
    for i in 0..2 {
        let mut p = cx
            .peer(&["endpoint", "unix_stream", "sender", &name])
            .empty_environment()
            .start()
            .expect("a peer connects by the address");
        let msg = format!("writer-{i}");
        let sent = p.send_data(msg.as_bytes()).expect("the peer's answer");
        assert!(sent.is_ok(), "{sent}");
        assert_eq!(recv(rx.as_mut()), msg.as_bytes());
    }
}
