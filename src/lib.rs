//! ipc-conformance: checks what a well-known guide to Unix IPC claims, on the
//! platform it runs on, and regenerates the guide's tables from the results.
//!
//! The modules form layers that import one way only, bottom to top
//! (CONTRIBUTING.md, "Layers"; `tests/layering.rs` holds the order):
//!
//! - leaves: [`sys`] (narrow FFI helpers), [`names`] (unique names, cleanup
//!   guards), [`watchdog`] (bounded waits), [`catalog`] (the claims, in
//!   `suites/<suite>.toml`, listed by `suites/catalog.toml`), [`markup`] (the
//!   one Markdown escape and the one HTML escape);
//! - [`guide`] (the layout of the guide's tables, end of `suites/catalog.toml`),
//!   [`precondition`] → [`observe`]: what a check saw, with its evidence;
//! - [`platform`] → [`expect`] → [`results`]: the run, expectations, the result
//!   record (its one writer and its one strict reader);
//! - [`peer`]: the peer program's client side and its typed line protocols;
//! - [`check`](mod@check): observe → compare with the expectation → record
//!   through [`results`]; [`procstate`]:
//!   whether another process sleeps inside a given system call;
//! - [`channel`]: endpoints and channels of any mechanism;
//! - [`mech`]: one module per mechanism, and [`mech::REGISTRY`];
//! - [`matrix`] (the characteristics matrix over any mechanism) and [`perf`]
//!   (latency and throughput of every mechanism, side by side);
//! - [`report`] and [`draft`], neither importing the other: the report reads
//!   result sets once into one model ([`report::Model`]: runs, columns,
//!   versions folded once) and renders it as report.json, PORTABILITY.md,
//!   index.html and the terminal summary (`ipcconf summary`); drafting turns a
//!   run's departures into platform-file entries;
//! - the binaries `ipcconf` and `ipcconf-peer` (whose role dispatch sits above
//!   every layer). [`sweep`] removes what a killed run left.

pub mod catalog;
pub mod channel;
pub mod check;
pub mod draft;
pub mod expect;
pub mod guide;
pub mod markup;
pub mod matrix;
pub mod mech;
pub mod names;
pub mod observe;
pub mod peer;
pub mod perf;
pub mod platform;
pub mod precondition;
pub mod procstate;
pub mod report;
pub mod results;
pub mod sweep;
pub mod sys;
pub mod watchdog;

pub use observe::{Checked, Observation, Outcome, Step};
