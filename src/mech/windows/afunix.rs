//! AF_UNIX on Windows (Winsock, Windows 10 1803+): the `unix_stream` adapter
//! over the Winsock stream channel ([`UnixStreamMechanism`]), `socket(AF_UNIX,
//! ...)` and what its refusal means ([`unix_socket`], [`classify`],
//! [`require`]), the peer's pid ([`peer_pid`]), and the `win-afunix-server`
//! peer role. What AF_UNIX offers is observed by the suites:
//! suites/unix_stream/windows.rs, suites/common/afunix_type.rs (the other socket
//! types) and the connection-cost check in suites/tcp.rs.
//!
//! A `socket(AF_UNIX, ...)` refused with an error that says the family, type or
//! protocol is absent (WSAEAFNOSUPPORT under Wine 8; the socket types Windows
//! lacks) is `unsupported` with the error and the Windows build; once the
//! socket exists, a failing call is an `error` naming the call (`winsock::Failed`).
//!
//! The constructs relied on, and code known to work on real Windows that does
//! the same:
//!
//! | construct | shown working by |
//! |---|---|
//! | `WSASocketW(AF_UNIX, SOCK_STREAM)` with WSA_FLAG_OVERLAPPED \| WSA_FLAG_NO_HANDLE_INHERIT | rust-lang/rust library/std/src/sys/net/connection/socket/windows.rs, used by library/std/src/os/windows/net/stream.rs; golang/go src/internal/syscall/windows/version_windows_test.go; Azure/mio-uds-windows src/stdnet/socket.rs |
//! | bind/listen/connect/accept on a path in the temporary directory | rust-lang/rust library/std/tests/windows_unix_socket.rs (`std::env::temp_dir().join(..)`, run by std's Windows CI); dotnet/runtime UnixDomainSocketTest.cs (`Path.GetTempPath()`) |
//! | the socket file is a reparse point: `metadata()` fails (ERROR_CANT_ACCESS_FILE), `symlink_metadata()` works, `remove_file` deletes it | rust-lang/rust#109106, #116683 |
//! | `WSADuplicateSocketW` of an AF_UNIX socket into another process | microsoft/WSL#9045 (Windows 10.0.22000); mio-uds-windows `duplicate` (same process) |
//! | `WSAIoctl(SIO_AF_UNIX_GETPEERPID)` | afunix.h (Windows SDK; mingw-w64 include/afunix.h); microsoft/WSL#9045 |
//! | ReadFile/WriteFile on a socket handle | learn.microsoft.com/windows/win32/winsock/socket-handles-2 ("can be used with ... ReadFile, WriteFile"; IFS handles natively, others through the provider) |
//! | WSAPoll readiness | learn.microsoft.com/windows/win32/api/winsock2/nf-winsock2-wsapoll; AF_UNIX sockets are ordinary Winsock sockets for readiness: mheily/libkqueue (WSAEventSelect on AF_UNIX, 2026), ncm/selectable-socketpair#8 (select() on an AF_UNIX pair) |
//! | no socketpair, no SCM_RIGHTS, SOCK_STREAM only, abstract connect refused | devblogs.microsoft.com/commandline/af_unix-comes-to-windows; microsoft/WSL#4240, #5272; rust-lang/rust#150487 |

use std::io;

use windows_sys::Win32::Networking::WinSock as ws;

use super::protocol::{ServerAnswer, ServerCommand};
use super::winsock::{Addr, Failed, Socket, StreamChannel, windows_build};
use crate::channel::{Channel, Mechanism};
use crate::check::Ctx;
use crate::observe::{Checked, Observation};
use crate::peer::wire::WireLine;
use crate::watchdog::BOUND;

/// Errors of `socket()` that mean "this family / type / protocol does not exist
/// here" (learn.microsoft.com/windows/win32/api/winsock2/nf-winsock2-wsasocketw,
/// Return value); WSAEINVAL is how a Windows without afunix.sys answers
/// socket(AF_UNIX) (golang/go src/internal/syscall/windows/version_windows_test.go:
/// "!errors.Is(err, windows.WSAEAFNOSUPPORT) && !errors.Is(err, windows.WSAEINVAL)").
/// Only `socket()` is classified with them.
const ABSENT: [i32; 5] = [
    ws::WSAEAFNOSUPPORT,
    ws::WSAEPROTONOSUPPORT,
    ws::WSAESOCKTNOSUPPORT,
    ws::WSAEPROTOTYPE,
    ws::WSAEINVAL,
];

/// An observation for a refused `socket(AF_UNIX, ...)`: `unsupported` when
/// Winsock says the family or type is absent, an `error` naming the call
/// otherwise. The evidence carries the error, its code and the Windows build.
pub fn classify(what: &str, e: &io::Error) -> Observation {
    let detail = format!(
        "{what}: {} ({}, {})",
        super::describe_error(e),
        crate::platform::TARGET,
        windows_build()
    );
    if e.raw_os_error().is_some_and(|c| ABSENT.contains(&c)) {
        Observation::unsupported(detail)
    } else {
        Observation::error(format!(
            "{detail}: not one of the errors that say the family or type is absent"
        ))
    }
}

/// `socket(AF_UNIX, ty, 0)`, classified ([`classify`]).
pub fn unix_socket(ty: i32, what: &str) -> Checked<Socket> {
    Socket::new(ws::AF_UNIX, ty).map_err(|e| classify(what, &e))
}

/// The pid of the process at the other end of a connected AF_UNIX socket
/// (`WSAIoctl(SIO_AF_UNIX_GETPEERPID)`, afunix.h); Winsock has no call for the
/// peer's user.
pub fn peer_pid(s: &Socket) -> io::Result<u32> {
    let mut pid = 0u32;
    let mut out = 0u32;
    // SAFETY: SIO_AF_UNIX_GETPEERPID writes a ULONG; the out buffer and count are
    // valid for the call; no overlapped I/O.
    let rc = unsafe {
        ws::WSAIoctl(
            s.raw(),
            ws::SIO_AF_UNIX_GETPEERPID,
            std::ptr::null(),
            0,
            (&mut pid as *mut u32).cast(),
            4,
            &mut out,
            std::ptr::null_mut(),
            None,
        )
    };
    if rc != 0 {
        return Err(super::winsock::last_error());
    }
    Ok(pid)
}

/// AF_UNIX peer roles on Windows:
/// - `win-afunix-server <address>` binds and listens at the address (a path; an
///   IPv4 `a.b.c.d:port` for this module's own tests over TCP), or
///   `win-afunix-server handed` takes a listening socket duplicated for it (first
///   stdin line `socket <hex>`); it prints `ready <pid> <address>`, then serves:
///   `accept` (one connection, bounded: writes `served-by <pid>` and closes it;
///   `ok accepted` | `err <text>`), `give <pid>` (duplicates the listener for
///   that process: `info <hex WSAPROTOCOL_INFOW>`, then exits | `err <text>`).
pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
    match (role, args) {
        ("win-afunix-server", [addr]) => Some(server_role(addr).map_err(|e| e.to_string())),
        _ => None,
    }
}

fn server_role(addr: &str) -> io::Result<()> {
    use std::io::{BufRead, Write};
    use std::os::windows::io::AsRawSocket;
    let named = |what: &str, e: io::Error| {
        io::Error::new(e.kind(), format!("{what}: {}", super::describe_error(&e)))
    };
    let listener = if addr == "handed" {
        let handed = super::take_handover().map_err(|e| {
            named(
                "taking the handed listening socket (WSASocketW with FROM_PROTOCOL_INFO)",
                e,
            )
        })?;
        match handed {
            super::Handed::Socket(s) => Socket(s),
            super::Handed::Handle(_) => {
                return Err(io::Error::other("expected a socket, got a handle"));
            }
        }
    } else {
        let addr = Addr::parse("unix_stream", addr)?;
        let s = Socket::new(addr.family(), ws::SOCK_STREAM).map_err(|e| named("socket()", e))?;
        s.bind(&addr)
            .map_err(|e| named(&format!("bind({})", addr.to_arg()), e))?;
        s.listen(8).map_err(|e| named("listen(8)", e))?;
        s
    };
    listener
        .set_nonblocking(true)
        .map_err(|e| named("ioctlsocket(FIONBIO)", e))?;
    let pid = std::process::id();
    let bound = listener
        .local_addr()
        .map(|a| a.to_arg())
        .unwrap_or_else(|_| addr.to_owned());
    let mut out = io::stdout().lock();
    writeln!(out, "ready {pid} {bound}")?;
    out.flush()?;
    for line in io::stdin().lock().lines() {
        let answer = match ServerCommand::from_line(&line?) {
            Ok(ServerCommand::Accept) => match listener.accept_within(BOUND) {
                Ok(Some(c)) => {
                    let _ = c.send(format!("served-by {pid}").as_bytes());
                    drop(c);
                    ServerAnswer::Ok("accepted".to_owned())
                }
                Ok(None) => ServerAnswer::Err(format!("no connection to accept within {BOUND:?}")),
                Err(e) => ServerAnswer::Err(format!("accept(): {}", super::describe_error(&e))),
            },
            Ok(ServerCommand::Give { pid: to }) => {
                match super::winsock::duplicate_for(listener.0.as_raw_socket(), to) {
                    Ok(info) => {
                        writeln!(out, "{}", ServerAnswer::Info(info))?;
                        out.flush()?;
                        return Ok(());
                    }
                    Err(e) => ServerAnswer::Err(e.to_string()),
                }
            }
            Ok(ServerCommand::Quit) => return Ok(()),
            Err(e) => ServerAnswer::Err(e.to_string()),
        };
        writeln!(out, "{answer}")?;
        out.flush()?;
    }
    Ok(())
}

/// Ends a check with `unsupported` (the Winsock error) where AF_UNIX stream
/// sockets do not exist at run time (Wine 8), for checks that need them only to
/// be meaningful.
pub fn require() -> Checked<()> {
    unix_socket(ws::SOCK_STREAM, "socket(AF_UNIX, SOCK_STREAM, 0)").map(drop)
}

/// AF_UNIX stream sockets through Winsock as a `Mechanism`.
pub struct UnixStreamMechanism;

impl Mechanism for UnixStreamMechanism {
    fn id(&self) -> &'static str {
        "unix_stream"
    }

    /// `unsupported` where socket(AF_UNIX, SOCK_STREAM) is refused as absent
    /// (Wine); any later failure is an error naming its call.
    fn create(&self, cx: &mut Ctx) -> Checked<Box<dyn Channel>> {
        require()?;
        let path = cx.path(".sock")?;
        StreamChannel::create("unix_stream", Addr::Path(path))
            .map(|ch| Box::new(ch) as Box<dyn Channel>)
            .failed("AF_UNIX listener at a path, connect, accept")
    }
}

#[cfg(test)]
mod tests {
    //! The `win-afunix-server` role, run over TCP on loopback (Wine has no
    //! AF_UNIX): it serves a connection, hands its listening socket to a
    //! second server process, and that process serves the connection made
    //! after the first one exited. Passes without running, with a note, when
    //! the peer program has not been built (`cargo test --lib`).

    use super::*;
    use crate::check::Ctx;
    use crate::mech::windows::protocol::HandoverLine;
    use crate::mech::windows::winsock::read_to_end_bounded;

    #[test]
    fn the_server_role_serves_and_hands_its_listener_over() {
        let peer = crate::peer::locate();
        if !peer.is_file() {
            eprintln!("no peer program at {} (build the bins)", peer.display());
            return;
        }
        let cx = Ctx::new("win-afunix-server over TCP", peer);
        let mut old = cx
            .peer(&["win-afunix-server", "127.0.0.1:0"])
            .spawn()
            .expect("the first server starts");
        let ready = old.line(BOUND).expect("its ready line");
        let at = ready
            .split_whitespace()
            .nth(2)
            .and_then(|a| Addr::parse("unix_stream", a).ok())
            .unwrap_or_else(|| panic!("the first server said {ready:?}"));
        let client = || {
            let c = Socket::new(at.family(), ws::SOCK_STREAM).expect("socket()");
            c.connect(&at).expect("connect()");
            c
        };
        let early = client();
        let accepted = ServerAnswer::Ok("accepted".into());
        let answer = old.exchange::<ServerAnswer>(&ServerCommand::Accept, BOUND);
        assert_eq!(answer.expect("answer"), accepted);
        assert_eq!(
            read_to_end_bounded(&early),
            format!("served-by {}", old.pid())
        );
        let mut new = cx
            .peer(&["win-afunix-server", "handed"])
            .spawn()
            .expect("the second server starts");
        let give = ServerCommand::Give { pid: new.pid() };
        let info = match old.exchange::<ServerAnswer>(&give, BOUND).expect("answer") {
            ServerAnswer::Info(info) => info,
            other => panic!("the first server answered {other:?}"),
        };
        let (status, _) = old.finish().expect("the first server ends");
        assert!(status.success(), "{status}");
        let late = client();
        new.send_line(&HandoverLine::Socket(info).to_string())
            .expect("handover line");
        let ready = new.line(BOUND).expect("its ready line");
        assert!(ready.starts_with("ready"), "{ready}");
        let answer = new.exchange::<ServerAnswer>(&ServerCommand::Accept, BOUND);
        assert_eq!(answer.expect("answer"), accepted);
        assert_eq!(
            read_to_end_bounded(&late),
            format!("served-by {}", new.pid())
        );
    }
}
