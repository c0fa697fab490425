//! Windows named pipes: every `win_named_pipe.*` claim of the catalog.
//!
//! The guide's portability table marks named pipes (FIFOs) absent on Windows and
//! adds "Windows named pipes are different": a server creates instances of a
//! `\\.\pipe\` name, clients open the name, an instance is duplex, and a
//! message-type pipe keeps each write whole. Elsewhere the API does not exist:
//! the claims require windows, and the harness records them `unsupported`.
//!
//! The checks observe here; `mech::windows::named_pipe` has the server end
//! (overlapped I/O, every wait bounded) and the client a peer opens by name.

ipc_conformance::suite!();

#[cfg(windows)]
mod windows {
    use std::os::windows::io::AsRawHandle;

    use ipc_conformance::check;
    use ipc_conformance::check::Ctx;
    use ipc_conformance::mech::windows::named_pipe::{Server, unique_name};
    use ipc_conformance::mech::windows::{PROBE_PAUSE, anon_pipe, bytes_available};
    use ipc_conformance::peer::Peer;
    use ipc_conformance::peer::endpoint_protocol::Answer;
    use ipc_conformance::watchdog::BOUND;
    use ipc_conformance::{Checked, Observation, Step};

    /// The server instance of `name`; a refusal ends the check with the call and
    /// its error.
    fn create(name: &str, message: bool) -> Checked<Server> {
        Server::create(name, message).map_err(|e| {
            Observation::from_io_error(
                &format!(
                    "CreateNamedPipeW({name}, {})",
                    if message {
                        "PIPE_TYPE_MESSAGE"
                    } else {
                        "PIPE_TYPE_BYTE"
                    }
                ),
                &e,
            )
        })
    }

    /// A fresh pipe name, its server instance (`message`: PIPE_TYPE_MESSAGE), and
    /// a client process that got only the name (empty environment but
    /// SystemRoot, no inherited handles), connected.
    fn connected(cx: &Ctx, message: bool) -> Checked<(String, Server, Peer)> {
        let name = unique_name();
        let server = create(&name, message)?;
        let client = cx
            .peer(&["endpoint", "win_named_pipe", "sender", &name])
            .empty_environment()
            .start()?;
        server.connect(BOUND).step("ConnectNamedPipe")?;
        Ok((name, server, client))
    }

    /// A server creates a fresh name, a client process given only the name opens it
    /// and sends a marker; yes when it arrives.
    #[test]
    fn available() {
        check!("win_named_pipe.available", |cx| {
            let (name, server, mut client) = connected(cx, false)?;
            let answer = client.send_data(b"named-pipe-marker")?;
            if !answer.is_ok() {
                return Ok(Observation::no(format!("client could not write: {answer}")));
            }
            let got = server.read(256, BOUND).step("ReadFile (server)")?;
            Ok(Observation::holds(
                got.data == b"named-pipe-marker",
                format!(
                    "CreateNamedPipeW({name}); a client process (pid {}, given only the name) opened it with CreateFileW and wrote 17 bytes; the server read {:?}; server end: {}",
                    client.pid(),
                    String::from_utf8_lossy(&got.data),
                    anon_pipe::describe_handle(server.handle.as_raw_handle())
                ),
            ))
        });
    }

    /// PIPE_ACCESS_DUPLEX; server and client each send and receive on their one
    /// handle.
    #[test]
    fn bidirectional() {
        check!("win_named_pipe.bidirectional", |cx| {
            let (name, server, mut client) = connected(cx, false)?;
            server
                .write(b"server-to-client", BOUND)
                .step("WriteFile (server)")?;
            let at_client = client.recv_data(256)?;
            let at_client_text = match &at_client {
                Answer::Data(d) => format!("received {:?}", String::from_utf8_lossy(d)),
                other => format!("answered {:?}", other.to_string()),
            };
            let answer = client.send_data(b"client-to-server")?;
            if !answer.is_ok() {
                return Ok(Observation::no(format!(
                    "the client {at_client_text} but could not write on its handle: {answer}"
                )));
            }
            let at_server = server.read(256, BOUND).step("ReadFile (server)")?;
            let ok = at_client == Answer::Data(b"server-to-client".to_vec())
                && at_server.data == b"client-to-server";
            Ok(Observation::holds(
                ok,
                format!(
                    "one PIPE_ACCESS_DUPLEX instance {name}: the server wrote \"server-to-client\", the client process (pid {}) {at_client_text}; the client wrote \"client-to-server\", the server read {:?}",
                    client.pid(),
                    String::from_utf8_lossy(&at_server.data)
                ),
            ))
        });
    }

    /// PIPE_TYPE_MESSAGE with PIPE_READMODE_MESSAGE; the client writes 10 then 20
    /// bytes before the server reads; one 64-byte ReadFile returns exactly the 10,
    /// the next the 20. A third message of 20 bytes read with an 8-byte buffer
    /// shows the partial read (ERROR_MORE_DATA) that message mode gives instead of
    /// merging.
    #[test]
    fn message_mode_boundaries() {
        check!("win_named_pipe.message_mode_boundaries", |cx| {
            let (_, server, mut client) = connected(cx, true)?;
            let first = vec![b'a'; 10];
            let second = vec![b'b'; 20];
            let third = vec![b'c'; 20];
            for m in [&first, &second, &third] {
                let answer = client.send_data(m)?;
                if !answer.is_ok() {
                    return Ok(Observation::error(format!("client write: {answer}")));
                }
            }
            // All three messages queued before the first read (PeekNamedPipe's total).
            let queued = ipc_conformance::channel::wait_counted(
                || {
                    bytes_available(server.handle.as_raw_handle())
                        .map(|n| Some(ipc_conformance::channel::Queued::Bytes(n as usize)))
                },
                |left| {
                    std::thread::sleep(left.min(PROBE_PAUSE));
                    Ok(false)
                },
                &[10, 20, 20],
                BOUND,
            )
            .step("PeekNamedPipe")?;
            let queued = match queued {
                Ok(seen) => seen,
                Err(seen) => {
                    return Ok(Observation::timeout(format!(
                        "the client wrote 10, 20 and 20 bytes; {seen}"
                    )));
                }
            };
            let r1 = server.read(64, BOUND).step("first ReadFile(64)")?;
            let r2 = server.read(64, BOUND).step("second ReadFile(64)")?;
            let r3 = server
                .read(8, BOUND)
                .step("ReadFile(8) of a 20-byte message")?;
            let r4 = server.read(64, BOUND).step("ReadFile of the rest")?;
            let ok = r1.data == first && !r1.more && r2.data == second && !r2.more;
            Ok(Observation::holds(
                ok,
                format!(
                    "PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE: the client process wrote 10, 20 and 20 bytes; {queued}; ReadFile(64) returned {} bytes, then {} bytes; ReadFile(8) on the third returned {} bytes with ERROR_MORE_DATA = {}, and the next read the remaining {}",
                    r1.data.len(),
                    r2.data.len(),
                    r3.data.len(),
                    r3.more,
                    r4.data.len()
                ),
            ))
        });
    }
}
