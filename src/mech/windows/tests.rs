//! Unit tests of the Windows observations that the socket and signal suites call:
//! each observation is judged against the expectation for this run (Windows, or
//! Wine through its overlay), without recording a result. Checks that need the
//! peer program skip themselves when it has not been built (`cargo test --lib`).

use crate::check::{Ctx, observe};
use crate::expect::Expectations;
use crate::observe::{Checked, Observation, Outcome};
use crate::{catalog::Catalog, record};

fn judge(claim: &str, body: impl FnOnce(&mut Ctx) -> Checked<Observation>) {
    let peer = crate::peer::locate();
    if !peer.is_file() {
        eprintln!(
            "{claim}: no peer program at {} (build the bins)",
            peer.display()
        );
        return;
    }
    let (obs, _) = observe(claim, peer, body);
    let c = Catalog::get().claim(claim).expect("claim in the catalog");
    let expected = Expectations::get().resolve(c, record::run_info());
    eprintln!("{claim}: {} — {}", obs.outcome, obs.detail);
    assert!(!obs.detail.trim().is_empty(), "{claim}: no evidence");
    assert_ne!(obs.outcome, Outcome::Error, "{claim}: {}", obs.detail);
    if let Some(v) = expected.value {
        assert_eq!(
            obs.outcome, v,
            "{claim}: expected {expected}; evidence: {}",
            obs.detail
        );
    }
}

mod inet {
    use super::*;
    use crate::matrix;
    use crate::mech::windows::winsock::{TcpMechanism, UdpMechanism};

    #[test]
    fn tcp_available() {
        judge("tcp.available", |_| {
            super::super::winsock::inet_available(true)
        });
    }

    #[test]
    fn udp_available() {
        judge("udp.available", |_| {
            super::super::winsock::inet_available(false)
        });
    }

    #[test]
    fn tcp_matrix() {
        judge("tcp.unrelated_processes", |cx| {
            matrix::unrelated_processes(cx, &TcpMechanism)
        });
        judge("tcp.message_boundaries", |cx| {
            matrix::message_boundaries(cx, &TcpMechanism)
        });
        judge("tcp.bidirectional", |cx| {
            matrix::bidirectional(cx, &TcpMechanism)
        });
        judge("tcp.multiple_readers", |cx| {
            matrix::multiple_readers(cx, &TcpMechanism)
        });
        judge("tcp.multiple_writers", |cx| {
            matrix::multiple_writers(cx, &TcpMechanism)
        });
        judge("tcp.fd_passing", |cx| matrix::fd_passing(cx, &TcpMechanism));
        judge("tcp.pollable", |cx| matrix::pollable(cx, &TcpMechanism));
        judge("tcp.zero_copy", |cx| matrix::zero_copy(cx, &TcpMechanism));
    }

    #[test]
    fn udp_matrix() {
        judge("udp.unrelated_processes", |cx| {
            matrix::unrelated_processes(cx, &UdpMechanism)
        });
        judge("udp.message_boundaries", |cx| {
            matrix::message_boundaries(cx, &UdpMechanism)
        });
        judge("udp.bidirectional", |cx| {
            matrix::bidirectional(cx, &UdpMechanism)
        });
        judge("udp.multiple_readers", |cx| {
            matrix::multiple_readers(cx, &UdpMechanism)
        });
        judge("udp.multiple_writers", |cx| {
            matrix::multiple_writers(cx, &UdpMechanism)
        });
        judge("udp.fd_passing", |cx| matrix::fd_passing(cx, &UdpMechanism));
        judge("udp.pollable", |cx| matrix::pollable(cx, &UdpMechanism));
        judge("udp.zero_copy", |cx| matrix::zero_copy(cx, &UdpMechanism));
    }
}

mod afunix {
    use super::*;
    use crate::matrix;
    use crate::mech::windows::afunix;
    use crate::mech::windows::winsock::UnixStreamMechanism;
    use windows_sys::Win32::Networking::WinSock as ws;

    #[test]
    fn availability_of_each_socket_type() {
        judge("unix_stream.available", afunix::stream_available);
        judge("unix_dgram.available", |cx| {
            afunix::type_available(cx, ws::SOCK_DGRAM)
        });
        judge("unix_seqpacket.available", |cx| {
            afunix::type_available(cx, ws::SOCK_SEQPACKET)
        });
    }

    #[test]
    fn features() {
        judge("unix_stream.named_by_path", afunix::named_by_path);
        judge("unix_stream.abstract_namespace", afunix::abstract_namespace);
        judge("unix_stream.socketpair_bidirectional", |_| {
            afunix::socketpair()
        });
        judge("unix_stream.peer_credentials", afunix::peer_credentials);
        judge(
            "unix_stream.read_write_like_pipe",
            afunix::read_write_like_pipe,
        );
        judge("unix_stream.many_clients", afunix::many_clients);
        judge("unix_stream.sun_path_max", afunix::sun_path_max);
        judge("unix_stream.default_buffer_sizes", |_| {
            afunix::default_buffer_sizes()
        });
    }

    #[test]
    fn matrix() {
        let m = UnixStreamMechanism;
        judge("unix_stream.unrelated_processes", |cx| {
            matrix::unrelated_processes(cx, &m)
        });
        judge("unix_stream.message_boundaries", |cx| {
            matrix::message_boundaries(cx, &m)
        });
        judge("unix_stream.bidirectional", |cx| {
            matrix::bidirectional(cx, &m)
        });
        judge("unix_stream.fd_passing", |cx| matrix::fd_passing(cx, &m));
        judge("unix_stream.pollable", |cx| matrix::pollable(cx, &m));
    }
}
