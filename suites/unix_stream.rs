//! Unix domain stream sockets: every `unix_stream.*` claim of the catalog.
//!
//! The guide: "Unix Domain Socket (STREAM) | Byte stream | Path or abstract |
//! Bidirectional | Client-server, complex protocols"; socketpair() for a
//! bidirectional parent-child channel, SO_PEERCRED for "kernel-verified
//! credentials", handing the listening socket over for a hot restart, and
//! read()/write() as on a pipe. On Windows the same claims are observed through
//! Winsock's AF_UNIX (`mech::windows`).
//!
//! Each claim is one test. Where Unix and Windows observe it differently, the
//! test is `check!("<id>", os::<property>)`, `os` being this target's module
//! of observations: `unix` (unix_stream/unix.rs) or `windows`
//! (unix_stream/windows.rs). What Linux added after 5.10 is in
//! unix_stream/since_linux.rs.

use ipc_conformance::check;
#[cfg(unix)]
use ipc_conformance::{Observation, Step};

ipc_conformance::suite!();

#[cfg(unix)]
#[path = "common/stream.rs"]
mod stream;

// ---------------------------------------------------------------- availability

/// A peer that cannot connect by name answers with the failure and its error
/// code (`Started::Refused`), which checks whose claim is "another process can
/// join by the name" record as their observation rather than as an error.
#[test]
fn peer_connect_failure_is_an_answer() {
    use ipc_conformance::peer::Started;
    let mut cx = ipc_conformance::check::Ctx::new(
        "unix_stream.unrelated_processes",
        std::path::PathBuf::from(env!("CARGO_BIN_EXE_ipcconf-peer")),
    );
    let missing = cx.path(".sock").expect("a private directory");
    let name = missing.display().to_string();
    match cx
        .peer(&["endpoint", "unix_stream", "sender", &name])
        .start_or_refused()
    {
        Ok(Started::Refused { error, .. }) => {
            let code = error
                .strip_prefix("open unix_stream sender: ")
                .and_then(|rest| rest.split(' ').next())
                .and_then(|c| c.parse::<i32>().ok());
            assert!(matches!(code, Some(c) if c != 0), "{error}");
        }
        Ok(Started::Ready(_)) => panic!("a peer connected to {name}, which nothing listens on"),
        Err(e) => panic!("the refusal was not an answer: {e}"),
    }
}

#[test]
fn available() {
    check!("unix_stream.available", |cx| {
        #[cfg(unix)]
        return stream::ping_pong(
            cx,
            "unix_stream",
            ipc_conformance::mech::socket::Family::Unix,
            |_| {
                "socket(AF_UNIX, SOCK_STREAM), bind() to a path, listen(), connect(), accept() all succeeded".to_owned()
            },
        );
        #[cfg(windows)]
        {
            use ipc_conformance::mech::windows::winsock::{Addr, Failed, StreamChannel};
            ipc_conformance::mech::windows::afunix::require()?;
            let path = cx.path(".sock")?;
            let mut ch = StreamChannel::create("unix_stream", Addr::Path(path.clone()))
                .failed("AF_UNIX listener at a path, connect, accept")?;
            windows::exchange(&mut ch, "AF_UNIX SOCK_STREAM", &path.display().to_string())
        }
    });
}

// -------------------------------------------------------- characteristics matrix

mod matrix {
    #[cfg(unix)]
    use ipc_conformance::mech::unix_stream::MECHANISM;
    /// Windows: AF_UNIX through Winsock (`mech::windows`), the same generic checks.
    #[cfg(windows)]
    use ipc_conformance::mech::windows::afunix::UnixStreamMechanism as MECHANISM;

    ipc_conformance::matrix_properties!("unix_stream", MECHANISM);
}

#[test]
fn cross_machine() {
    check!("unix_stream.cross_machine", |_cx| {
        // Where AF_UNIX is absent at run time (Wine), there is no address to judge.
        #[cfg(windows)]
        ipc_conformance::mech::windows::afunix::require()?;
        Ok(ipc_conformance::matrix::cross_machine_structural(
            false,
            "an AF_UNIX name: a filesystem path or abstract name resolved by this host's kernel, which cannot name another host",
        ))
    });
}

// ------------------------------------------------------------------- behaviour

#[test]
fn named_by_path() {
    check!("unix_stream.named_by_path", os::named_by_path);
}

#[test]
fn abstract_namespace() {
    check!("unix_stream.abstract_namespace", os::abstract_namespace);
}

#[test]
fn socketpair_bidirectional() {
    check!(
        "unix_stream.socketpair_bidirectional",
        os::socketpair_bidirectional
    );
}

#[test]
fn many_clients() {
    check!("unix_stream.many_clients", os::many_clients);
}

#[test]
fn peer_credentials() {
    check!("unix_stream.peer_credentials", os::peer_credentials);
}

#[test]
fn credentials_unforgeable() {
    check!(
        "unix_stream.credentials_unforgeable",
        os::credentials_unforgeable
    );
}

#[test]
fn socket_handover() {
    check!("unix_stream.socket_handover", os::socket_handover);
}

#[test]
fn read_write_like_pipe() {
    check!("unix_stream.read_write_like_pipe", os::read_write_like_pipe);
}

// ----------------------------------------------------------------------- facts

#[test]
fn sun_path_max() {
    check!("unix_stream.sun_path_max", os::sun_path_max);
}

#[test]
fn default_buffer_sizes() {
    check!("unix_stream.default_buffer_sizes", os::default_buffer_sizes);
}

// ------------------------------------------------------------------------ Unix

#[cfg(unix)]
use unix as os;

/// Unix: the sockets API, observed.
#[cfg(unix)]
#[path = "unix_stream/unix.rs"]
mod unix;

// --------------------------------------------------------------------- Windows

#[cfg(windows)]
use windows as os;

/// Windows: what AF_UNIX through Winsock offers, observed.
#[cfg(windows)]
#[path = "unix_stream/windows.rs"]
mod windows;

// ---------------------------------------------------------------- Linux since 5.10

/// What Linux added to Unix stream sockets after 5.10.
#[cfg(unix)]
#[path = "unix_stream/since_linux.rs"]
mod since_linux;
