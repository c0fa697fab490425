//! Every line protocol declared with `messages!`: the input's first byte
//! chooses the protocol, the rest is the line. A line is refused with an error
//! naming it, or read into a message whose own line reads back to the same
//! message (`from_line(&m.to_string()) == Ok(m)`, as the wire module
//! promises), also with trailing blanks trimmed as the controller reads lines.
//! `PROTOCOLS` lists them all; a unit test of the library
//! (`peer::wire::tests::the_fuzzer_reads_every_protocol`) fails when a
//! protocol declared in src/ is missing here.
#![no_main]

use std::fmt::Debug;

use ipc_conformance::mech::{newcomers, posix_sem, shm, signal, unix_stream, windows};
use ipc_conformance::peer::endpoint_protocol;
use ipc_conformance::peer::wire::WireLine;
use ipc_conformance::perf::stats::PerfLine;
use libfuzzer_sys::fuzz_target;

/// Reads `line` as a `T`; what is read must survive its own line.
fn check<T: WireLine + PartialEq + Debug>(line: &str) {
    let Ok(m) = T::from_line(line) else {
        let e = T::from_line(line).unwrap_err();
        assert_eq!(e.line, line, "the error names the line");
        return;
    };
    let written = m.to_string();
    assert!(
        !written.contains('\n'),
        "a message's line holds a line break: {written:?}"
    );
    assert_eq!(
        T::from_line(&written).as_ref(),
        Ok(&m),
        "line {line:?} written as {written:?}"
    );
    let trimmed = written.trim_end();
    assert_eq!(
        T::from_line(trimmed).as_ref(),
        Ok(&m),
        "line {written:?} trimmed"
    );
}

/// Every protocol, by name (the name as declared in src/, checked by a unit
/// test of the library).
const PROTOCOLS: &[(&str, fn(&str))] = &[
    (
        "endpoint_protocol::Command",
        check::<endpoint_protocol::Command>,
    ),
    (
        "endpoint_protocol::Answer",
        check::<endpoint_protocol::Answer>,
    ),
    ("signal::protocol::Ready", check::<signal::protocol::Ready>),
    (
        "signal::protocol::Command",
        check::<signal::protocol::Command>,
    ),
    (
        "signal::protocol::Answer",
        check::<signal::protocol::Answer>,
    ),
    ("shm::MemCommand", check::<shm::MemCommand>),
    ("shm::MemAnswer", check::<shm::MemAnswer>),
    ("shm::WaitHow", check::<shm::WaitHow>),
    ("shm::WaitThen", check::<shm::WaitThen>),
    ("shm::WaiterCommand", check::<shm::WaiterCommand>),
    ("shm::NoCommands", check::<shm::NoCommands>),
    ("unix_stream::Forged", check::<unix_stream::Forged>),
    (
        "unix_stream::HandoverCommand",
        check::<unix_stream::HandoverCommand>,
    ),
    (
        "unix_stream::HandoverAnswer",
        check::<unix_stream::HandoverAnswer>,
    ),
    ("posix_sem::PostCommand", check::<posix_sem::PostCommand>),
    ("posix_sem::Locking", check::<posix_sem::Locking>),
    (
        "posix_sem::IncrementCommand",
        check::<posix_sem::IncrementCommand>,
    ),
    ("newcomers::ScopeAnswer", check::<newcomers::ScopeAnswer>),
    ("perf::stats::PerfLine", check::<PerfLine>),
    (
        "windows::protocol::HandoverLine",
        check::<windows::protocol::HandoverLine>,
    ),
    (
        "windows::protocol::ServerCommand",
        check::<windows::protocol::ServerCommand>,
    ),
    (
        "windows::protocol::ServerAnswer",
        check::<windows::protocol::ServerAnswer>,
    ),
    (
        "windows::protocol::ReceiverCommand",
        check::<windows::protocol::ReceiverCommand>,
    ),
    (
        "windows::protocol::ReceiverAnswer",
        check::<windows::protocol::ReceiverAnswer>,
    ),
];

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let (_, check) = PROTOCOLS[usize::from(which) % PROTOCOLS.len()];
    check(&String::from_utf8_lossy(bytes));
});
