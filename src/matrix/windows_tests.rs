//! Unit tests of the Windows observations that the socket and signal suites call
//! (adapters in `crate::mech::windows`):
//! each observation is judged against the expectation for this run (Windows, or
//! Wine through its overlay), without recording a result. Checks that need the
//! peer program skip themselves when it has not been built (`cargo test --lib`).

use crate::check::{Ctx, observe};
use crate::expect::Expectations;
use crate::observe::{Checked, Observation, Outcome};
use crate::{catalog::Catalog, results};

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
    let expected = Expectations::get().resolve(c, results::run_info());
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

/// The stream channel code AF_UNIX uses, exercised over TCP on loopback (which
/// every Windows and Wine has) under the mechanism id `unix_stream`, so that its
/// peers go through the same `endpoint unix_stream` path.
mod stream_code_over_tcp {
    use super::*;
    use crate::channel::{Channel, Mechanism};
    use crate::matrix;
    use crate::mech::windows::winsock::{Addr, StreamChannel};
    use crate::observe::Step;

    struct OverTcp;

    impl Mechanism for OverTcp {
        fn id(&self) -> &'static str {
            "unix_stream"
        }

        fn create(&self, _cx: &mut Ctx) -> Checked<Box<dyn Channel>> {
            let any = std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 0);
            Ok(Box::new(
                StreamChannel::create("unix_stream", Addr::Inet(any)).step("TCP channel")?,
            ))
        }
    }

    fn outcome(body: impl FnOnce(&mut Ctx) -> Checked<Observation>) -> Option<Outcome> {
        let peer = crate::peer::locate();
        if !peer.is_file() {
            eprintln!("no peer program at {} (build the bins)", peer.display());
            return None;
        }
        let (obs, _) = observe("unix_stream.bidirectional", peer, body);
        eprintln!("{} — {}", obs.outcome, obs.detail);
        Some(obs.outcome)
    }

    #[test]
    fn matrix_over_the_shared_stream_code() {
        let m = OverTcp;
        for (what, want, got) in [
            (
                "unrelated",
                Outcome::Yes,
                outcome(|cx| matrix::unrelated_processes(cx, &m)),
            ),
            (
                "boundaries",
                Outcome::No,
                outcome(|cx| matrix::message_boundaries(cx, &m)),
            ),
            (
                "bidirectional",
                Outcome::Yes,
                outcome(|cx| matrix::bidirectional(cx, &m)),
            ),
            (
                "writers",
                Outcome::Yes,
                outcome(|cx| matrix::multiple_writers(cx, &m)),
            ),
            (
                "pollable",
                Outcome::Yes,
                outcome(|cx| matrix::pollable(cx, &m)),
            ),
            (
                "zero copy",
                Outcome::No,
                outcome(|cx| matrix::zero_copy(cx, &m)),
            ),
            (
                "fd passing",
                Outcome::Unsupported,
                outcome(|cx| matrix::fd_passing(cx, &m)),
            ),
        ] {
            if let Some(got) = got {
                assert_eq!(got, want, "{what}");
            }
        }
    }

    #[test]
    fn listener_handover_over_tcp() {
        let any = std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 0);
        let got = outcome(|cx| crate::mech::windows::afunix::socket_handover(cx, Addr::Inet(any)));
        if let Some(got) = got {
            assert_eq!(got, Outcome::Yes);
        }
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
        // Windows has the stream type only; Wine has no AF_UNIX at all.
        for (claim, ty) in [
            ("unix_dgram.available", ws::SOCK_DGRAM),
            ("unix_seqpacket.available", ws::SOCK_SEQPACKET),
        ] {
            let (obs, _) = observe(claim, crate::peer::locate(), |cx| {
                afunix::type_available(cx, ty)
            });
            assert_eq!(obs.outcome, Outcome::Unsupported, "{claim}: {}", obs.detail);
        }
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
