//! ipc-conformance: checks what a well-known guide to Unix IPC claims, on the
//! platform it runs on, and regenerates the guide's tables from the results.
//!
//! - [`catalog`]: the claims (data in `suites/<suite>.toml`, listed by `suites/catalog.toml`);
//! - [`guide`]: the layout of the guide's tables (end of `suites/catalog.toml`);
//! - [`check`]: observe → record → compare with the expectation ([`expect`]);
//! - [`draft`]: platform-file entries drafted from a run's departures;
//! - [`peer`], [`watchdog`], [`names`]: unrelated peer processes, bounded waits,
//!   unique names and cleanup guards;
//! - [`procstate`]: whether another process sleeps inside a given system call;
//! - [`channel`] and [`matrix`]: the characteristics matrix over any mechanism;
//! - [`mech`]: one module per mechanism;
//! - [`perf`]: latency and throughput of every mechanism, side by side;
//! - [`report`]: merging runs and rendering report.json, PORTABILITY.md, index.html.

pub mod catalog;
pub mod channel;
pub mod check;
pub mod draft;
pub mod expect;
pub mod guide;
pub mod matrix;
pub mod mech;
pub mod names;
pub mod observe;
pub mod peer;
pub mod perf;
pub mod platform;
pub mod precondition;
pub mod procstate;
pub mod record;
pub mod report;
pub mod sweep;
pub mod sys;
pub mod watchdog;

pub use observe::{Checked, Observation, Outcome, Step};
