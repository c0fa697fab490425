//! Performance: every `perf.*` claim of the catalog.
//!
//! Round-trip latency and bulk throughput of every mechanism, measured side by
//! side by `ipcconf-peer perf-*` processes (see `ipc_conformance::perf`), and
//! the guide's five performance claims judged from those figures:
//!
//! - "Shared memory + spinlock | Sub-microsecond; no kernel involvement"
//! - "Faster, no TCP overhead" (Unix domain socket instead of TCP for local IPC)
//! - "Throughput critical (>1GB/s)? → Shared memory for data"
//! - "Lock-free shared memory queue | No locks = no blocking = predictable latency"
//! - "Multi-producer multi-consumer | Lock contention often negates shm advantage"
//!
//! A figure depends on the machine: these tests hold each measurement to
//! soundness (messages really exchanged, counts right, timings ordered and
//! plausible), never to a speed. `cargo test` (debug) runs the same code with
//! tiny counts and records the verdicts as skipped; `cargo ipc-report` (release)
//! measures. On an emulated CPU (qemu-user, a full-system VM under TCG) every
//! performance claim is skipped with that reason: the timings would be the
//! emulator's. In a release build every measuring test is `#[serial(perf)]`:
//! measurements run one at a time, so they never compete with each other for
//! the CPUs. A debug build's tiny smoke counts measure nothing, so they run in
//! parallel like every other check. Each figure
//! is the median of repeated independent rounds with its confidence interval,
//! and each verdict is `yes` or `no` only when the interval of its statistic
//! lies wholly on one side of the threshold, otherwise `inconclusive`.

use ipc_conformance::check;
use ipc_conformance::perf::{self, Measure, Pair};

// ------------------------------------------------- figures, one per mechanism

/// Observes one pair's figure (its claim `perf.<measure>_<id>`).
fn figure(measure: Measure, id: &str) {
    let mech = Pair::parse(id)
        .unwrap_or_else(|| panic!("the mechanism registry declares no perf pair {id}"));
    check!(&perf::claim_id(measure, mech), |cx| {
        perf::observe_mechanism(cx, measure, mech)
    });
}

/// One `#[test]` per pair in module `$module`, measuring `$measure`.
macro_rules! per_pair {
    ($module:ident, $measure:ident, [$($id:ident),*]) => {
        mod $module {
            use super::*;
            $(
                #[test]
                #[cfg_attr(not(debug_assertions), serial_test::serial(perf))]
                fn $id() {
                    figure(Measure::$measure, stringify!($id));
                }
            )*
        }
    };
}

/// The pairs, once: a latency and a throughput test each; the list is held
/// to the registry's (`pairs_are_the_registrys`).
macro_rules! pairs {
    ($($id:ident),* $(,)?) => {
        const LISTED: &[&str] = &[$(stringify!($id)),*];
        per_pair!(latency, Latency, [$($id),*]);
        per_pair!(throughput, Throughput, [$($id),*]);
    };
}

pairs!(
    pipe,
    fifo,
    unix_stream,
    unix_dgram,
    unix_seqpacket,
    tcp,
    udp,
    posix_mq,
    sysv_mq,
    eventfd,
    shm_spin,
    shm_futex,
    shm_condvar,
    shm_ring,
);

/// The floor: the cheapest round trip between two processes on two CPUs (one
/// cache line written by each in turn), measured in the same run as every
/// latency figure, which is also given as a multiple of it.
#[test]
#[cfg_attr(not(debug_assertions), serial_test::serial(perf))]
fn cross_cpu_floor() {
    check!("perf.cross_cpu_floor", perf::observe_floor);
}

/// Every pair the registry declares has its tests here, in its order.
#[test]
fn pairs_are_the_registrys() {
    let declared: Vec<&str> = Pair::all().map(Pair::id).collect();
    assert_eq!(LISTED, declared.as_slice());
}

#[test]
fn every_mechanism_has_its_claims() {
    let catalog = ipc_conformance::catalog::Catalog::get();
    for mech in Pair::all() {
        for m in [Measure::Latency, Measure::Throughput] {
            let id = perf::claim_id(m, mech);
            assert!(catalog.claim(&id).is_some(), "{id} is not in the catalog");
        }
    }
    for v in perf::Verdict::ALL {
        let id = v.claim_id();
        assert!(catalog.claim(id).is_some(), "{id} is not in the catalog");
    }
}

/// Every verdict has its test here, in the order of `perf::Verdict::ALL`.
#[test]
fn verdicts_are_the_harness() {
    let ids: Vec<&str> = perf::Verdict::ALL.iter().map(|v| v.claim_id()).collect();
    assert_eq!(VERDICTS, ids.as_slice());
}

// --------------------------------------------------------- the guide's claims

/// One `#[test]` per verdict: `claim => judge`, the claim `perf.<claim>`.
macro_rules! verdicts {
    ($($claim:ident => $judge:ident),* $(,)?) => {
        const VERDICTS: &[&str] = &[$(concat!("perf.", stringify!($claim))),*];
        $(
            #[test]
            #[cfg_attr(not(debug_assertions), serial_test::serial(perf))]
            fn $claim() {
                check!(concat!("perf.", stringify!($claim)), perf::$judge);
            }
        )*
    };
}

verdicts!(
    shm_spin_sub_microsecond => verdict_shm_spin,
    unix_faster_than_tcp => verdict_unix_vs_tcp,
    shm_ring_over_1gbps => verdict_ring,
    spsc_lock_free_predictable => verdict_spsc,
    mpmc_contention => verdict_mpmc,
);
