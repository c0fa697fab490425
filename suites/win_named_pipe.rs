//! Windows named pipes: every `win_named_pipe.*` claim of the catalog.
//!
//! The guide's portability table marks named pipes (FIFOs) absent on Windows and
//! adds "Windows named pipes are different": a server creates instances of a
//! `\\.\pipe\` name, clients open the name, an instance is duplex, and a
//! message-type pipe keeps each write whole. Elsewhere the API does not exist
//! and the checks record `unsupported`.

use ipc_conformance::check;
#[allow(unused_imports)]
use ipc_conformance::{Checked, Observation};

#[test]
fn available() {
    check!("win_named_pipe.available", |_cx| {
        cfg_if::cfg_if! {
            if #[cfg(windows)] {
                ipc_conformance::mech::windows::named_pipe::available(_cx)
            } else {
                Ok(Observation::no_api())
            }
        }
    });
}

#[test]
fn bidirectional() {
    check!("win_named_pipe.bidirectional", |_cx| {
        cfg_if::cfg_if! {
            if #[cfg(windows)] {
                ipc_conformance::mech::windows::named_pipe::bidirectional(_cx)
            } else {
                Ok(Observation::no_api())
            }
        }
    });
}

#[test]
fn message_mode_boundaries() {
    check!("win_named_pipe.message_mode_boundaries", |_cx| {
        cfg_if::cfg_if! {
            if #[cfg(windows)] {
                ipc_conformance::mech::windows::named_pipe::message_mode_boundaries(_cx)
            } else {
                Ok(Observation::no_api())
            }
        }
    });
}
