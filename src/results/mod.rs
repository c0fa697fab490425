//! The result record: what a check recorded, typed from the check that wrote it
//! to the page that shows it. A result set is a directory with `run.json` (the
//! run's [`RunInfo`](crate::platform::RunInfo)) and one `results/<claim>.json` per observed claim
//! ([`ResultRecord`]), under `target/ipc-results/` or `$IPC_RESULTS_DIR`.
//!
//! - [`write`](mod@write): the one writer (the harness records through it), every file
//!   written to a temporary name and renamed;
//! - [`read`]: the one reader, strict and bounded: each file is parsed once,
//!   into the typed record, and refused with the file and the field named
//!   when anything departs from README.md's "Result sets: what is accepted";
//! - [`record`]: the record's types;
//! - [`ids`]: the pattern of every identifier and how each field is read.
//!
//! Serde does the string form of every typed field: an
//! [`Outcome`](crate::observe::Outcome), a
//! [`Status`], the guide's [`Stance`](crate::catalog::Stance), a [`ClaimId`].

pub mod ids;
pub mod read;
pub mod record;
pub mod write;

pub use ids::ClaimId;
pub use read::{ResultSet, discover, load, load_all};
pub use record::{ResultRecord, Status};
pub use write::{results_dir, run_info, store, target_dir, write_atomic};
