//! Windows named pipes: every `win_named_pipe.*` claim of the catalog.
//!
//! The guide's portability table marks named pipes (FIFOs) absent on Windows and
//! adds "Windows named pipes are different": a server creates instances of a
//! `\\.\pipe\` name, clients open the name, an instance is duplex, and a
//! message-type pipe keeps each write whole. Elsewhere the API does not exist:
//! the claims require windows, and the harness records them `unsupported`.

ipc_conformance::suite!();

#[cfg(windows)]
mod windows {
    use ipc_conformance::mech::windows::named_pipe;

    ipc_conformance::check_fns!(
        "win_named_pipe",
        named_pipe: available,
        bidirectional,
        message_mode_boundaries
    );
}
