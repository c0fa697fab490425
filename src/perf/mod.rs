//! Performance: round-trip latency and bulk throughput of every mechanism,
//! measured side by side, and the guide's five performance claims judged from
//! those figures.
//!
//! - [`bench`]: the timed loops and the two-process orchestration (fork, CPU
//!   pinning, watchdog); [`ends`]: the mechanisms behind one small trait;
//!   [`contention`]: the SPSC and MPMC queue experiments; [`sys`]: the narrow
//!   unsafe helpers. These run in `ipcconf-peer` processes (roles `perf-*`).
//! - [`stats`]: sample summaries, the result line, soundness checks.
//! - [`render`]: the report's performance section (tables, inline SVG chart).
//! - This module: the test side: which figures to measure with which counts,
//!   running the measuring peer, and turning figures into observations.
//!
//! A figure depends on the machine; the checks assert that each measurement is
//! sound (messages really exchanged, counts right, timings ordered and
//! plausible), never that the machine is fast. Debug builds (`cargo test`) run
//! tiny counts as a smoke test; release builds (`cargo report`) measure.

pub mod render;
pub mod stats;

#[cfg(unix)]
pub mod bench;
#[cfg(unix)]
pub mod contention;
#[cfg(unix)]
pub mod ends;
#[cfg(unix)]
pub mod sys;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::check::Ctx;
use crate::observe::{Checked, Observation};
use stats::Figure;

/// Every mechanism measured, in the order the report lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mech {
    Pipe,
    Fifo,
    UnixStream,
    UnixDgram,
    UnixSeqpacket,
    Tcp,
    Udp,
    PosixMq,
    SysvMq,
    Eventfd,
    ShmSpin,
    ShmFutex,
    ShmCondvar,
    ShmRing,
}

impl Mech {
    pub const ALL: [Mech; 14] = [
        Mech::Pipe,
        Mech::Fifo,
        Mech::UnixStream,
        Mech::UnixDgram,
        Mech::UnixSeqpacket,
        Mech::Tcp,
        Mech::Udp,
        Mech::PosixMq,
        Mech::SysvMq,
        Mech::Eventfd,
        Mech::ShmSpin,
        Mech::ShmFutex,
        Mech::ShmCondvar,
        Mech::ShmRing,
    ];

    /// The id used in claim ids (`perf.latency_<id>`) and peer arguments.
    pub fn id(self) -> &'static str {
        match self {
            Mech::Pipe => "pipe",
            Mech::Fifo => "fifo",
            Mech::UnixStream => "unix_stream",
            Mech::UnixDgram => "unix_dgram",
            Mech::UnixSeqpacket => "unix_seqpacket",
            Mech::Tcp => "tcp",
            Mech::Udp => "udp",
            Mech::PosixMq => "posix_mq",
            Mech::SysvMq => "sysv_mq",
            Mech::Eventfd => "eventfd",
            Mech::ShmSpin => "shm_spin",
            Mech::ShmFutex => "shm_futex",
            Mech::ShmCondvar => "shm_condvar",
            Mech::ShmRing => "shm_ring",
        }
    }

    /// A short human name.
    pub fn label(self) -> &'static str {
        match self {
            Mech::Pipe => "pipe",
            Mech::Fifo => "FIFO",
            Mech::UnixStream => "Unix stream",
            Mech::UnixDgram => "Unix datagram",
            Mech::UnixSeqpacket => "Unix seqpacket",
            Mech::Tcp => "TCP loopback",
            Mech::Udp => "UDP loopback",
            Mech::PosixMq => "POSIX MQ",
            Mech::SysvMq => "System V MQ",
            Mech::Eventfd => "eventfd",
            Mech::ShmSpin => "shm + spin",
            Mech::ShmFutex => "shm + futex",
            Mech::ShmCondvar => "shm + condvar",
            Mech::ShmRing => "shm ring buffer",
        }
    }

    pub fn parse(s: &str) -> Option<Mech> {
        Mech::ALL.into_iter().find(|m| m.id() == s)
    }

    /// Why this target cannot measure the mechanism at all, if it cannot:
    /// `Err(no API)` where the API is absent at compile time, `Ok(Some(reason))`
    /// where the API exists but this harness does not run there.
    pub fn unavailable(self) -> Result<Option<&'static str>, NoApi> {
        let linux_or_freebsd = cfg!(any(target_os = "linux", target_os = "freebsd"));
        if cfg!(not(unix)) {
            return match self {
                Mech::Tcp
                | Mech::Udp
                | Mech::Pipe
                | Mech::UnixStream
                | Mech::ShmSpin
                | Mech::ShmCondvar
                | Mech::ShmRing => Ok(Some(
                    "the measurement harness forks its measuring processes and runs on Unix only; this mechanism is not measured on Windows",
                )),
                _ => Err(NoApi),
            };
        }
        match self {
            Mech::PosixMq | Mech::Eventfd | Mech::ShmFutex if !linux_or_freebsd => Err(NoApi),
            _ => Ok(None),
        }
    }
}

/// The mechanism's API does not exist on the target (compile time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoApi;

/// What is measured of a mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Latency,
    Throughput,
}

impl Measure {
    pub fn id(self) -> &'static str {
        match self {
            Measure::Latency => "latency",
            Measure::Throughput => "throughput",
        }
    }
}

/// The claim id of a mechanism's figure.
pub fn claim_id(measure: Measure, mech: Mech) -> String {
    format!("perf.{}_{}", measure.id(), mech.id())
}

/// How much to measure.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    /// A release build: real figures. Otherwise a smoke run with tiny counts.
    pub release: bool,
    pub lat_iters: usize,
    pub lat_warm: usize,
    /// Bytes per throughput run (not counting the warm-up round).
    pub volume: u64,
    pub rounds: u64,
    /// Cap on messages per throughput run, for small-message mechanisms.
    pub max_msgs: u64,
    pub spsc_items: usize,
    pub spsc_warm: usize,
    pub mpmc_msgs: u64,
    /// The contended shape (producers = consumers).
    pub mpmc_parties: usize,
    /// Time budget of one latency or SPSC measurement's timed part: fewer
    /// samples are taken (at least 1024) when the machine is slow or busy.
    pub lat_budget_ms: u64,
    /// Time budget of one throughput measurement's timed rounds (at least
    /// three rounds are made).
    pub thr_budget_ms: u64,
}

impl Counts {
    /// Release: the real measurement (the whole section fits in well under a
    /// minute on two cores). Debug: a smoke run of the same code in seconds.
    pub fn for_build() -> Counts {
        if cfg!(debug_assertions) {
            Counts {
                release: false,
                lat_iters: 200,
                lat_warm: 20,
                volume: 1 << 20,
                rounds: 4,
                max_msgs: 1 << 10,
                spsc_items: 200,
                spsc_warm: 20,
                mpmc_msgs: 800,
                mpmc_parties: 4,
                lat_budget_ms: 300,
                thr_budget_ms: 300,
            }
        } else {
            Counts {
                release: true,
                lat_iters: 20_000,
                lat_warm: 2_000,
                volume: 256 << 20,
                rounds: 16,
                max_msgs: 1 << 18,
                spsc_items: 20_000,
                spsc_warm: 2_000,
                mpmc_msgs: 50_000,
                mpmc_parties: 4,
                lat_budget_ms: 1_000,
                thr_budget_ms: 1_200,
            }
        }
    }

    /// The detail's prefix for a debug smoke run.
    pub fn prefix(&self) -> &'static str {
        if self.release {
            "release build; "
        } else {
            "debug smoke run with tiny counts (figures are not meaningful; `cargo report` measures a release build); "
        }
    }
}

/// Messages of a throughput run: the volume in `chunk`-byte messages, capped,
/// rounded down to whole rounds.
pub fn plan_msgs(volume: u64, chunk: u64, max_msgs: u64, rounds: u64) -> u64 {
    let msgs = (volume / chunk.max(1)).min(max_msgs);
    (msgs / rounds.max(1)).max(1) * rounds.max(1)
}

// ------------------------------------------------------------ the peer side

/// The `perf-*` peer roles:
/// - `perf-latency <mech> <iters> <warmup> <budget_ms>`
/// - `perf-throughput <mech> <volume> <rounds> <max_msgs> <budget_ms>`
/// - `perf-spsc <lockfree|locked> <items> <warmup> <budget_ms>`
/// - `perf-mpmc <shm|mq> <producers> <consumers> <messages>`
///
/// Each prints one line: `result key=value ...`, `unsupported <why>`, or
/// (through the peer's error path) `err <why>`.
pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
    match role {
        "perf-latency" | "perf-throughput" | "perf-spsc" | "perf-mpmc" => {
            Some(run_role(role, args))
        }
        _ => None,
    }
}

#[cfg(not(unix))]
fn run_role(_role: &str, _args: &[String]) -> Result<(), String> {
    Err(format!(
        "the measurement harness is Unix-only (no fork on {})",
        crate::platform::TARGET
    ))
}

#[cfg(unix)]
fn run_role(role: &str, args: &[String]) -> Result<(), String> {
    use std::io::Write;
    #[cfg(target_os = "freebsd")]
    sys::ignore_sigsys();
    sys::watchdog_cleans_up();
    let num = |i: usize| -> Result<u64, String> {
        args.get(i)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("{role}: argument {} must be a number: {args:?}", i + 1))
    };
    let mech = || {
        args.first()
            .and_then(|s| Mech::parse(s))
            .ok_or_else(|| format!("{role}: unknown mechanism {:?}", args.first()))
    };
    let reply = match role {
        "perf-latency" => peer::latency(
            mech()?,
            num(1)? as usize,
            num(2)? as usize,
            num(3)? * 1_000_000,
        ),
        "perf-throughput" => peer::throughput(
            mech()?,
            peer::Shape {
                volume: num(1)?,
                rounds: num(2)?.max(1),
                max: num(3)?,
                budget: num(4)? * 1_000_000,
            },
        ),
        "perf-spsc" => {
            let pin = bench::pin_plan();
            let locked = match args.first().map(String::as_str) {
                Some("locked") => true,
                Some("lockfree") => false,
                other => return Err(format!("perf-spsc: lockfree or locked, not {other:?}")),
            };
            contention::spsc_latency(
                locked,
                num(1)? as usize,
                num(2)? as usize,
                num(3)? * 1_000_000,
                &pin,
            )
            .map_err(peer::Fault::Error)
        }
        "perf-mpmc" => {
            let kind = args.first().map(String::as_str).unwrap_or("");
            contention::mpmc(kind, num(1)? as usize, num(2)? as usize, num(3)?)
                .map_err(peer::Fault::Error)
        }
        _ => return Err(format!("unknown role {role}")),
    };
    let line = match reply {
        Ok(line) => line,
        Err(peer::Fault::Unsupported(why)) => format!("unsupported {why}"),
        Err(peer::Fault::Error(why)) => return Err(why),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|_| out.flush())
        .map_err(|e| e.to_string())
}

#[cfg(unix)]
mod peer {
    use super::bench::{self, Plan};
    use super::ends::{self, End};
    use super::{Mech, plan_msgs};

    /// Why a measurement did not produce figures.
    pub enum Fault {
        /// The facility is absent at run time (ENOSYS, EPROTONOSUPPORT, ...).
        Unsupported(String),
        Error(String),
    }

    /// Classifies a set-up failure per DESIGN rule 6.
    fn setup(what: &str) -> impl Fn(std::io::Error) -> Fault + '_ {
        move |e| {
            let text = format!("{what}: {}", crate::observe::describe_io_error(&e));
            if crate::observe::is_absent_at_run_time(&e) {
                Fault::Unsupported(text)
            } else {
                Fault::Error(text)
            }
        }
    }

    /// Messages of 1 byte need only small buffers.
    const SMALL_CAP: usize = 64;

    pub fn latency(mech: Mech, iters: usize, warm: usize, budget: u64) -> Result<String, Fault> {
        let pin = bench::pin_plan();
        let id = mech.id();
        let run = |r: Result<String, String>| r.map_err(Fault::Error);
        match mech {
            Mech::Pipe => run(bench::latency(
                id,
                ends::pipe_pair(SMALL_CAP).map_err(setup("pipe"))?,
                iters,
                warm,
                budget,
                &pin,
            )),
            Mech::Fifo => run(bench::latency(
                id,
                ends::fifo_pair(SMALL_CAP).map_err(setup("mkfifo/open"))?,
                iters,
                warm,
                budget,
                &pin,
            )),
            Mech::UnixStream => run(bench::latency(
                id,
                ends::unix_stream_pair(SMALL_CAP).map_err(setup("AF_UNIX SOCK_STREAM"))?,
                iters,
                warm,
                budget,
                &pin,
            )),
            Mech::UnixDgram => run(bench::latency(
                id,
                ends::unix_dgram_pair(SMALL_CAP).map_err(setup("AF_UNIX SOCK_DGRAM"))?,
                iters,
                warm,
                budget,
                &pin,
            )),
            Mech::UnixSeqpacket => run(bench::latency(
                id,
                ends::unix_seqpacket_pair(SMALL_CAP).map_err(setup("AF_UNIX SOCK_SEQPACKET"))?,
                iters,
                warm,
                budget,
                &pin,
            )),
            Mech::Tcp => run(bench::latency(
                id,
                ends::tcp_pair(SMALL_CAP).map_err(setup("TCP loopback"))?,
                iters,
                warm,
                budget,
                &pin,
            )),
            Mech::Udp => {
                let (a, b, _) = ends::udp_pair(SMALL_CAP).map_err(setup("UDP loopback"))?;
                run(bench::latency(id, (a, b), iters, warm, budget, &pin))
            }
            Mech::PosixMq => posix_mq_latency(iters, warm, budget, &pin),
            Mech::SysvMq => {
                let (a, b, _q, _) = ends::sysv_pair(SMALL_CAP).map_err(setup("msgget"))?;
                run(bench::latency(id, (a, b), iters, warm, budget, &pin))
            }
            Mech::Eventfd => run(bench::latency(
                id,
                ends::eventfd_pair().map_err(setup("eventfd"))?,
                iters,
                warm,
                budget,
                &pin,
            )),
            Mech::ShmSpin => run(bench::latency(
                id,
                ends::mailbox_pair::<{ ends::SPIN }>(SMALL_CAP).map_err(setup("shm_open"))?,
                iters,
                warm,
                budget,
                &pin,
            )),
            Mech::ShmFutex => {
                if !super::sys::HAS_FUTEX {
                    return Err(Fault::Unsupported(format!(
                        "no futex on {}",
                        crate::platform::TARGET
                    )));
                }
                run(bench::latency(
                    id,
                    ends::mailbox_pair::<{ ends::FUTEX }>(SMALL_CAP).map_err(setup("shm_open"))?,
                    iters,
                    warm,
                    budget,
                    &pin,
                ))
            }
            Mech::ShmCondvar => run(bench::latency(
                id,
                ends::mailbox_pair::<{ ends::CONDVAR }>(SMALL_CAP)
                    .map_err(setup("shm_open + process-shared pthread objects"))?,
                iters,
                warm,
                budget,
                &pin,
            )),
            Mech::ShmRing => run(bench::latency(
                id,
                ends::ring_pair(SMALL_CAP).map_err(setup("shm_open"))?,
                iters,
                warm,
                budget,
                &pin,
            )),
        }
    }

    #[cfg(any(target_os = "linux", target_os = "freebsd"))]
    fn posix_mq_latency(
        iters: usize,
        warm: usize,
        budget: u64,
        pin: &bench::Pin,
    ) -> Result<String, Fault> {
        let (a, b, _) = ends::posix_mq_pair(SMALL_CAP).map_err(setup("mq_open"))?;
        bench::latency("posix_mq", (a, b), iters, warm, budget, pin).map_err(Fault::Error)
    }

    #[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
    fn posix_mq_latency(_: usize, _: usize, _: u64, _: &bench::Pin) -> Result<String, Fault> {
        Err(Fault::Unsupported(format!(
            "no POSIX message queues on {}",
            crate::platform::TARGET
        )))
    }

    /// A throughput run's size: volume, timed rounds, message cap, time budget.
    #[derive(Clone, Copy)]
    pub struct Shape {
        pub volume: u64,
        pub rounds: u64,
        pub max: u64,
        pub budget: u64,
    }

    /// Bulk transfer in 64 KiB chunks, or the largest message the mechanism carries.
    const CHUNK: usize = 64 << 10;

    fn go<E: End>(
        mech: Mech,
        pair: (E, E),
        chunk: usize,
        s: Shape,
        window: Option<u64>,
    ) -> Result<String, Fault> {
        let msgs = plan_msgs(s.volume, chunk as u64, s.max, s.rounds);
        let plan = Plan {
            chunk,
            chunks_per_round: msgs / s.rounds,
            rounds: s.rounds,
            window,
            budget_ns: s.budget,
        };
        bench::throughput(mech.id(), pair, plan, &bench::pin_plan()).map_err(Fault::Error)
    }

    pub fn throughput(mech: Mech, s: Shape) -> Result<String, Fault> {
        match mech {
            Mech::Pipe => go(
                mech,
                ends::pipe_pair(CHUNK).map_err(setup("pipe"))?,
                CHUNK,
                s,
                None,
            ),
            Mech::Fifo => go(
                mech,
                ends::fifo_pair(CHUNK).map_err(setup("mkfifo/open"))?,
                CHUNK,
                s,
                None,
            ),
            Mech::UnixStream => go(
                mech,
                ends::unix_stream_pair(CHUNK).map_err(setup("AF_UNIX SOCK_STREAM"))?,
                CHUNK,
                s,
                None,
            ),
            Mech::Tcp => go(
                mech,
                ends::tcp_pair(CHUNK).map_err(setup("TCP loopback"))?,
                CHUNK,
                s,
                None,
            ),
            Mech::UnixDgram => {
                let (mut a, mut b) =
                    ends::unix_dgram_pair(CHUNK).map_err(setup("AF_UNIX SOCK_DGRAM"))?;
                let size = ends::probe_message_size(&mut a, &mut b, CHUNK)
                    .map_err(setup("datagram size probe"))?;
                // Linux blocks a sender whose connected receiver is full; BSD
                // kernels refuse (ENOBUFS) or drop: keep a window as for UDP there.
                let window = if cfg!(any(target_os = "linux", target_os = "android")) {
                    None
                } else {
                    let rcvbuf = ends::rcvbuf(&b).map_err(setup("SO_RCVBUF"))?;
                    Some((rcvbuf as u64 / (4 * size as u64)).max(1))
                };
                go(mech, (a, b), size, s, window)
            }
            Mech::UnixSeqpacket => {
                let (mut a, mut b) =
                    ends::unix_seqpacket_pair(CHUNK).map_err(setup("AF_UNIX SOCK_SEQPACKET"))?;
                let size = ends::probe_message_size(&mut a, &mut b, CHUNK)
                    .map_err(setup("message size probe"))?;
                go(mech, (a, b), size, s, None)
            }
            Mech::Udp => {
                let (mut a, mut b, rcvbuf) =
                    ends::udp_pair(CHUNK).map_err(setup("UDP loopback"))?;
                let size = ends::probe_message_size(&mut a, &mut b, CHUNK)
                    .map_err(setup("datagram size probe"))?;
                // UDP drops what does not fit the receive buffer: keep at most
                // a quarter of it in flight (the kernel charges more than the payload).
                let window = (rcvbuf as u64 / (4 * size as u64)).max(1);
                go(mech, (a, b), size, s, Some(window))
            }
            Mech::PosixMq => posix_mq_throughput(s),
            Mech::SysvMq => {
                let (a, b, _q, size) = ends::sysv_pair(8192).map_err(setup("msgget"))?;
                go(mech, (a, b), size, s, None)
            }
            Mech::Eventfd => go(
                mech,
                ends::eventfd_pair().map_err(setup("eventfd"))?,
                8,
                s,
                None,
            ),
            Mech::ShmSpin => go(
                mech,
                ends::mailbox_pair::<{ ends::SPIN }>(CHUNK).map_err(setup("shm_open"))?,
                CHUNK,
                s,
                None,
            ),
            Mech::ShmFutex => {
                if !super::sys::HAS_FUTEX {
                    return Err(Fault::Unsupported(format!(
                        "no futex on {}",
                        crate::platform::TARGET
                    )));
                }
                go(
                    mech,
                    ends::mailbox_pair::<{ ends::FUTEX }>(CHUNK).map_err(setup("shm_open"))?,
                    CHUNK,
                    s,
                    None,
                )
            }
            Mech::ShmCondvar => go(
                mech,
                ends::mailbox_pair::<{ ends::CONDVAR }>(CHUNK)
                    .map_err(setup("shm_open + process-shared pthread objects"))?,
                CHUNK,
                s,
                None,
            ),
            Mech::ShmRing => go(
                mech,
                ends::ring_pair(CHUNK).map_err(setup("shm_open"))?,
                CHUNK,
                s,
                None,
            ),
        }
    }

    #[cfg(any(target_os = "linux", target_os = "freebsd"))]
    fn posix_mq_throughput(s: Shape) -> Result<String, Fault> {
        let (a, b, size) = ends::posix_mq_pair(8192).map_err(setup("mq_open"))?;
        go(Mech::PosixMq, (a, b), size, s, None)
    }

    #[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
    fn posix_mq_throughput(_: Shape) -> Result<String, Fault> {
        Err(Fault::Unsupported(format!(
            "no POSIX message queues on {}",
            crate::platform::TARGET
        )))
    }
}

// ------------------------------------------------------------ the test side

/// Figures already measured in this test process, by peer arguments: each
/// measurement runs once, and only one runs at a time (the lock is held while
/// measuring, so measurements never compete for the CPUs).
static MEASURED: Mutex<BTreeMap<String, Result<Figure, Observation>>> = Mutex::new(BTreeMap::new());

/// The longest a measuring peer may take to print its result (each of its
/// steps is bounded by its own 2-second watchdog; this bounds the whole run).
pub const RUN_BOUND: Duration = Duration::from_secs(90);

/// Runs a measuring peer (or returns its cached figure).
pub fn measure(cx: &Ctx, args: &[String]) -> Checked<Figure> {
    let key = args.join(" ");
    let mut cache = MEASURED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(r) = cache.get(&key) {
        return r.clone();
    }
    let r = run_peer(cx, args);
    cache.insert(key, r.clone());
    r
}

fn run_peer(cx: &Ctx, args: &[String]) -> Checked<Figure> {
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut peer = cx.peer(&argv).spawn().map_err(Observation::from)?;
    let line = peer.line(RUN_BOUND).map_err(Observation::from)?;
    let stderr = match peer.finish() {
        Ok((_, e)) => e,
        Err(e) => return Err(Observation::from(e)),
    };
    if let Some(f) = Figure::parse(&line) {
        return Ok(f);
    }
    if let Some(why) = line.strip_prefix("unsupported ") {
        return Err(Observation::unsupported(why.to_owned()));
    }
    Err(Observation::error(format!(
        "ipcconf-peer {}: {line}; stderr: {}",
        args.join(" "),
        stderr.trim()
    )))
}

/// Peer arguments of a mechanism's figure.
pub fn args(measure: Measure, mech: Mech, c: &Counts) -> Vec<String> {
    match measure {
        Measure::Latency => vec![
            "perf-latency".into(),
            mech.id().into(),
            c.lat_iters.to_string(),
            c.lat_warm.to_string(),
            c.lat_budget_ms.to_string(),
        ],
        Measure::Throughput => vec![
            "perf-throughput".into(),
            mech.id().into(),
            c.volume.to_string(),
            c.rounds.to_string(),
            c.max_msgs.to_string(),
            c.thr_budget_ms.to_string(),
        ],
    }
}

/// "pinned to CPUs 0 and 1", "not pinned (one CPU)", ...
pub fn describe_pin(pin: &str) -> String {
    if let Some((a, b)) = pin.split_once('+') {
        let partner = b.strip_suffix("(partner-unpinned)");
        let b = partner.unwrap_or(b);
        return format!(
            "measuring process pinned to CPU {}, partner to CPU {}{}",
            a.trim_start_matches("cpu"),
            b.trim_start_matches("cpu"),
            if partner.is_some() {
                " (but the partner could not be pinned)"
            } else {
                ""
            }
        );
    }
    match pin.strip_prefix("none:") {
        Some("one-cpu") => "not pinned (one CPU available)".into(),
        Some("no-affinity-api") => "not pinned (no CPU affinity API on this OS)".into(),
        Some("scheduler-placed") => "not pinned (the scheduler places the processes)".into(),
        Some(other) => format!("not pinned ({})", other.replace('-', " ")),
        None => format!("pinning: {pin}"),
    }
}

/// Formats nanoseconds for people: "850 ns", "7.81 µs", "1.20 ms".
pub fn fmt_ns(ns: f64) -> String {
    if !ns.is_finite() {
        "n/a".into()
    } else if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

/// Formats a rate for people: "2.41 GB/s" (decimal units).
pub fn fmt_rate(bytes_per_s: f64) -> String {
    if !bytes_per_s.is_finite() {
        "n/a".into()
    } else if bytes_per_s >= 1e9 {
        format!("{:.2} GB/s", bytes_per_s / 1e9)
    } else if bytes_per_s >= 1e6 {
        format!("{:.1} MB/s", bytes_per_s / 1e6)
    } else {
        format!("{:.0} kB/s", bytes_per_s / 1e3)
    }
}

fn cpus() -> f64 {
    std::thread::available_parallelism()
        .map(|n| n.get() as f64)
        .unwrap_or(0.0)
}

/// Observes one mechanism's figure: measured, with the evidence; `error` when
/// the measurement is unsound.
pub fn observe_mechanism(cx: &mut Ctx, measure: Measure, mech: Mech) -> Checked<Observation> {
    match mech.unavailable() {
        Err(NoApi) => return Ok(Observation::no_api()),
        Ok(Some(why)) => return Ok(Observation::skipped(why)),
        Ok(None) => {}
    }
    let c = Counts::for_build();
    let f = measure_fig(cx, measure, mech, &c)?;
    Ok(match measure {
        Measure::Latency => latency_observation(mech, &c, &f),
        Measure::Throughput => throughput_observation(mech, &c, &f),
    })
}

fn measure_fig(cx: &Ctx, measure: Measure, mech: Mech, c: &Counts) -> Checked<Figure> {
    let f = self::measure(cx, &args(measure, mech, c))?;
    let sound = match measure {
        Measure::Latency => stats::check_latency(&f, c.lat_iters as u64, c.lat_warm as u64),
        Measure::Throughput => {
            let chunk = f.int("chunk").unwrap_or(0);
            let msgs = plan_msgs(c.volume, chunk, c.max_msgs, c.rounds);
            stats::check_throughput(&f, msgs / c.rounds * chunk, c.rounds)
        }
    };
    sound.map_err(|e| {
        Observation::error(format!(
            "unsound {} measurement of {}: {e}; figures: {:?}",
            measure.id(),
            mech.id(),
            f.fields
        ))
    })?;
    Ok(f)
}

/// "; stopped by its 1 s time budget after 4 of 16 planned rounds" when it was.
fn budget_note(f: &Figure, done_key: &str, planned_key: &str, what: &str) -> String {
    match (f.int(done_key), f.int(planned_key), f.int("budget_ns")) {
        (Some(d), Some(p), Some(b)) if d < p => format!(
            " (the {} time budget ended it after {d} of the {p} planned {what})",
            fmt_ns(b as f64)
        ),
        _ => String::new(),
    }
}

/// "; load average 1.20 on 2 CPUs" (how busy the machine was).
fn load_note(f: &Figure) -> String {
    match f.text("loadavg").parse::<f64>() {
        Ok(l) => format!("; load average {l:.2} on {} CPUs when it started", cpus()),
        Err(_) => String::new(),
    }
}

fn latency_observation(mech: Mech, c: &Counts, f: &Figure) -> Observation {
    let q = |k: &str| f.num(k);
    Observation::measured(format!(
        "{}{}: {} round trips{} of a {}-byte message between two processes ({} untimed first), {}: median {}, p99 {} (min {}, mean {}, max {}); every echoed message matched{}",
        c.prefix(),
        mech.label(),
        f.text("n"),
        budget_note(f, "n", "planned", "round trips"),
        f.text("msg_bytes"),
        f.text("warmup"),
        describe_pin(f.text("pin")),
        fmt_ns(q("median_ns")),
        fmt_ns(q("p99_ns")),
        fmt_ns(q("min_ns")),
        fmt_ns(q("mean_ns")),
        fmt_ns(q("max_ns")),
        load_note(f),
    ))
    .with("median_ns", q("median_ns"), "ns")
    .with("p99_ns", q("p99_ns"), "ns")
    .with("min_ns", q("min_ns"), "ns")
    .with("max_ns", q("max_ns"), "ns")
    .with("mean_ns", q("mean_ns"), "ns")
    .with("iterations", q("n"), "count")
    .with("msg_bytes", q("msg_bytes"), "bytes")
    .with("pinned", f64::from(u8::from(f.text("pin").contains('+'))), "bool")
    .with("cpus", cpus(), "count")
    .with("loadavg", f.num("loadavg"), "load")
    .with("release_build", f64::from(u8::from(c.release)), "bool")
    .finite_only()
}

fn throughput_observation(mech: Mech, c: &Counts, f: &Figure) -> Observation {
    let q = |k: &str| f.num(k);
    let checked = if f.text("counter") == "1" {
        format!(
            "the counter's reads added up to exactly the {} writes (in {} reads)",
            f.text("counter_sum"),
            f.text("reads")
        )
    } else {
        format!(
            "the consumer checked {} chunk tags ({} cut by read boundaries), none wrong",
            f.text("verified"),
            f.text("split")
        )
    };
    let window = match f.int("window") {
        Some(w) if w > 0 => format!(
            "; at most {w} datagrams unacknowledged (a datagram socket may drop what the receiver cannot hold)"
        ),
        _ => String::new(),
    };
    Observation::measured(format!(
        "{}{}: {} bytes in {} messages of {} bytes, {} timed rounds{} after one untimed round, {}: {} overall, median round {} ({}), slowest round {}; {checked}{window}{}",
        c.prefix(),
        mech.label(),
        f.text("bytes"),
        f.text("msgs"),
        f.text("chunk"),
        f.text("rounds"),
        budget_note(f, "rounds", "planned_rounds", "rounds"),
        describe_pin(f.text("pin")),
        fmt_rate(q("bytes_per_s")),
        fmt_ns(q("round_median_ns")),
        fmt_rate(q("median_round_bytes_per_s")),
        fmt_ns(q("round_max_ns")),
        load_note(f),
    ))
    .with("bytes_per_s", q("bytes_per_s"), "bytes/s")
    .with("msgs_per_s", q("msgs_per_s"), "messages/s")
    .with("msg_bytes", q("chunk"), "bytes")
    .with("total_bytes", q("bytes"), "bytes")
    .with("round_median_ns", q("round_median_ns"), "ns")
    .with("round_p99_ns", q("round_p99_ns"), "ns")
    .with(
        "median_round_bytes_per_s",
        q("median_round_bytes_per_s"),
        "bytes/s",
    )
    .with("pinned", f64::from(u8::from(f.text("pin").contains('+'))), "bool")
    .with("cpus", cpus(), "count")
    .with("loadavg", f.num("loadavg"), "load")
    .with("release_build", f64::from(u8::from(c.release)), "bool")
    .finite_only()
}

/// Drops quantities that are not finite numbers (a figure the OS did not
/// give, like the load average): JSON has no NaN.
trait FiniteOnly {
    fn finite_only(self) -> Self;
}

impl FiniteOnly for Observation {
    fn finite_only(mut self) -> Self {
        self.measured.retain(|q| q.value.is_finite());
        self
    }
}

// ----------------------------------------------------------- the verdicts

/// Why a verdict is not given in a debug build.
pub const DEBUG_SKIP: &str = "figures need a release build (cargo report); this debug run only smoke-tested the measurement with tiny counts";

fn verdict_prelude() -> Result<Counts, Observation> {
    if cfg!(not(unix)) {
        return Err(Observation::skipped(
            "the measurement harness forks its measuring processes and runs on Unix only",
        ));
    }
    Ok(Counts::for_build())
}

/// Ends a verdict in a debug build: the measurements ran (and were checked for
/// soundness), but a verdict from tiny counts would mean nothing.
fn debug_skip(c: &Counts) -> Option<Observation> {
    (!c.release).then(|| Observation::skipped(DEBUG_SKIP))
}

/// perf.shm_spin_sub_microsecond: shm + spin median round trip < 1 µs.
pub fn verdict_shm_spin(cx: &mut Ctx) -> Checked<Observation> {
    let c = verdict_prelude()?;
    let f = measure_fig(cx, Measure::Latency, Mech::ShmSpin, &c)?;
    if let Some(o) = debug_skip(&c) {
        return Ok(o);
    }
    if cpus() < 2.0 {
        return Ok(Observation::skipped(
            "one CPU: a spinning waiter holds the only CPU its partner needs",
        ));
    }
    let median = f.num("median_ns");
    Ok(Observation::holds(
        median < 1_000.0,
        format!(
            "shared memory + spin, {} one-byte round trips, {}: median {}, p99 {} (threshold 1 µs){}",
            f.text("n"),
            describe_pin(f.text("pin")),
            fmt_ns(median),
            fmt_ns(f.num("p99_ns")),
            load_note(&f)
        ),
    )
    .with("median_ns", median, "ns")
    .with("p99_ns", f.num("p99_ns"), "ns")
    .with("threshold_ns", 1_000.0, "ns"))
}

/// perf.unix_faster_than_tcp: Unix stream median round trip < TCP loopback's.
pub fn verdict_unix_vs_tcp(cx: &mut Ctx) -> Checked<Observation> {
    let c = verdict_prelude()?;
    let u = measure_fig(cx, Measure::Latency, Mech::UnixStream, &c)?;
    let t = measure_fig(cx, Measure::Latency, Mech::Tcp, &c)?;
    if let Some(o) = debug_skip(&c) {
        return Ok(o);
    }
    // Throughput as supporting evidence, when it was measured.
    let ut = measure_fig(cx, Measure::Throughput, Mech::UnixStream, &c).ok();
    let tt = measure_fig(cx, Measure::Throughput, Mech::Tcp, &c).ok();
    let (um, tm) = (u.num("median_ns"), t.num("median_ns"));
    let mut o = Observation::holds(
        um < tm,
        format!(
            "one-byte round trips ({} each, {}): Unix stream median {} (p99 {}), TCP loopback with TCP_NODELAY median {} (p99 {}): Unix/TCP = {:.2}{}",
            u.text("n"),
            describe_pin(u.text("pin")),
            fmt_ns(um),
            fmt_ns(u.num("p99_ns")),
            fmt_ns(tm),
            fmt_ns(t.num("p99_ns")),
            um / tm,
            match (&ut, &tt) {
                (Some(a), Some(b)) => format!(
                    "; bulk 64 KiB writes: Unix {} vs TCP {}",
                    fmt_rate(a.num("bytes_per_s")),
                    fmt_rate(b.num("bytes_per_s"))
                ),
                _ => String::new(),
            }
        ) + &load_note(&u),
    )
    .with("unix_median_ns", um, "ns")
    .with("unix_p99_ns", u.num("p99_ns"), "ns")
    .with("tcp_median_ns", tm, "ns")
    .with("tcp_p99_ns", t.num("p99_ns"), "ns");
    if let (Some(a), Some(b)) = (ut, tt) {
        o = o
            .with("unix_bytes_per_s", a.num("bytes_per_s"), "bytes/s")
            .with("tcp_bytes_per_s", b.num("bytes_per_s"), "bytes/s");
    }
    Ok(o)
}

/// perf.shm_ring_over_1gbps: the shared-memory ring moves more than 10^9 bytes/s.
pub fn verdict_ring(cx: &mut Ctx) -> Checked<Observation> {
    let c = verdict_prelude()?;
    let f = measure_fig(cx, Measure::Throughput, Mech::ShmRing, &c)?;
    if let Some(o) = debug_skip(&c) {
        return Ok(o);
    }
    let rate = f.num("bytes_per_s");
    Ok(Observation::holds(
        rate > 1e9,
        format!(
            "SPSC ring of {} slots of {} bytes in POSIX shared memory, {} bytes through it in {} timed rounds, {}: {} overall (median round {}), the consumer copying out and checking every chunk's tag (threshold 1 GB/s = 10^9 bytes/s){}",
            ends_slots(),
            f.text("chunk"),
            f.text("bytes"),
            f.text("rounds"),
            describe_pin(f.text("pin")),
            fmt_rate(rate),
            fmt_rate(f.num("median_round_bytes_per_s")),
            load_note(&f),
        ),
    )
    .with("bytes_per_s", rate, "bytes/s")
    .with(
        "median_round_bytes_per_s",
        f.num("median_round_bytes_per_s"),
        "bytes/s",
    )
    .with("threshold_bytes_per_s", 1e9, "bytes/s"))
}

fn ends_slots() -> u64 {
    #[cfg(unix)]
    {
        ends::RING_SLOTS
    }
    #[cfg(not(unix))]
    {
        0
    }
}

fn spsc_fig(cx: &Ctx, c: &Counts, kind: &str) -> Checked<Figure> {
    let f = measure(
        cx,
        &[
            "perf-spsc".into(),
            kind.into(),
            c.spsc_items.to_string(),
            c.spsc_warm.to_string(),
            c.lat_budget_ms.to_string(),
        ],
    )?;
    stats::check_spsc(&f, c.spsc_items as u64).map_err(|e| {
        Observation::error(format!(
            "unsound SPSC ({kind}) measurement: {e}; figures: {:?}",
            f.fields
        ))
    })?;
    Ok(f)
}

/// perf.spsc_lock_free_predictable: lock-free SPSC p99 < locked SPSC p99.
pub fn verdict_spsc(cx: &mut Ctx) -> Checked<Observation> {
    let c = verdict_prelude()?;
    let lf = spsc_fig(cx, &c, "lockfree")?;
    let lk = spsc_fig(cx, &c, "locked")?;
    if let Some(o) = debug_skip(&c) {
        return Ok(o);
    }
    let (a, b) = (lf.num("p99_ns"), lk.num("p99_ns"));
    Ok(Observation::holds(
        a < b,
        format!(
            "one-way item latency through the same 64-slot SPSC queue in shared memory, {} and {} items, {}: lock-free median {} p99 {} max {}; under a process-shared mutex median {} p99 {} max {}{}",
            lf.text("n"),
            lk.text("n"),
            describe_pin(lf.text("pin")),
            fmt_ns(lf.num("median_ns")),
            fmt_ns(a),
            fmt_ns(lf.num("max_ns")),
            fmt_ns(lk.num("median_ns")),
            fmt_ns(b),
            fmt_ns(lk.num("max_ns")),
            load_note(&lf),
        ),
    )
    .with("lockfree_median_ns", lf.num("median_ns"), "ns")
    .with("lockfree_p99_ns", a, "ns")
    .with("locked_median_ns", lk.num("median_ns"), "ns")
    .with("locked_p99_ns", b, "ns"))
}

fn mpmc_fig(cx: &Ctx, c: &Counts, kind: &str, n: usize) -> Checked<Figure> {
    let f = measure(
        cx,
        &[
            "perf-mpmc".into(),
            kind.into(),
            n.to_string(),
            n.to_string(),
            c.mpmc_msgs.to_string(),
        ],
    )?;
    stats::check_mpmc(&f, c.mpmc_msgs).map_err(|e| {
        Observation::error(format!(
            "unsound MPMC ({kind} {n}x{n}) measurement: {e}; figures: {:?}",
            f.fields
        ))
    })?;
    Ok(f)
}

/// perf.mpmc_contention: shared memory's lead over a message queue shrinks
/// from 1x1 to PxC.
pub fn verdict_mpmc(cx: &mut Ctx) -> Checked<Observation> {
    let c = verdict_prelude()?;
    let n = c.mpmc_parties;
    let s1 = mpmc_fig(cx, &c, "shm", 1)?;
    let q1 = mpmc_fig(cx, &c, "mq", 1)?;
    let sn = mpmc_fig(cx, &c, "shm", n)?;
    let qn = mpmc_fig(cx, &c, "mq", n)?;
    if let Some(o) = debug_skip(&c) {
        return Ok(o);
    }
    let r = |f: &Figure| f.num("msgs_per_s");
    let lead1 = r(&s1) / r(&q1);
    let leadn = r(&sn) / r(&qn);
    let k = |x: f64| format!("{:.0}k msg/s", x / 1e3);
    // Within 10% is no change: the two leads are measured separately and noisy.
    Ok(Observation::holds(
        leadn < 0.9 * lead1,
        format!(
            "{} messages of 64 bytes through a 10-deep queue, processes placed by the scheduler on {} CPUs; shared memory (process-shared mutex + condition variables) vs {}: 1x1 {} vs {} (lead x{:.2}); {n}x{n} {} vs {} (lead x{:.2}){}",
            c.mpmc_msgs,
            cpus(),
            q1.text("mech"),
            k(r(&s1)),
            k(r(&q1)),
            lead1,
            k(r(&sn)),
            k(r(&qn)),
            leadn,
            load_note(&s1)
        ),
    )
    .with("shm_1x1_msgs_per_s", r(&s1), "messages/s")
    .with("mq_1x1_msgs_per_s", r(&q1), "messages/s")
    .with("shm_nxn_msgs_per_s", r(&sn), "messages/s")
    .with("mq_nxn_msgs_per_s", r(&qn), "messages/s")
    .with("lead_1x1", lead1, "ratio")
    .with("lead_nxn", leadn, "ratio")
    .with("parties", n as f64, "count"))
}

/// Records a verdict claim like `check!`, but holds the test to the
/// measurement's soundness only: a figure that departs from the guide is a
/// finding about this machine, recorded (with status "fail" against the
/// guide's stance) and shown in the report, not a broken check. An `error` or
/// `timeout` (an unsound or hung measurement) fails the test.
pub fn record_verdict(
    claim: &str,
    peer_exe: std::path::PathBuf,
    body: impl FnOnce(&mut Ctx) -> Checked<Observation>,
) -> Observation {
    use crate::observe::Outcome;
    let (obs, ms) = crate::check::observe(claim, peer_exe, body);
    let (record, verdict) = crate::check::conclude(claim, obs, ms);
    let finding = matches!(record.observed, Outcome::Yes | Outcome::No)
        && matches!(record.expected.value, Some(Outcome::Yes | Outcome::No));
    match verdict {
        crate::check::Verdict::Fail(msg) if finding => {
            eprintln!("PERF FINDING {claim} (the guide's figure does not hold here): {msg}")
        }
        crate::check::Verdict::Fail(msg) => panic!("{msg}"),
        crate::check::Verdict::Skipped => eprintln!("SKIPPED {claim}: {}", record.detail),
        crate::check::Verdict::Pass => {}
    }
    Observation {
        outcome: record.observed,
        detail: record.detail,
        measured: record.measured,
    }
}

/// `record_verdict!("perf.x", |cx| ...)`, finding the peer like `check!`.
#[macro_export]
macro_rules! record_verdict {
    ($claim:expr, $body:expr) => {
        $crate::perf::record_verdict(
            $claim,
            ::std::path::PathBuf::from(env!("CARGO_BIN_EXE_ipcconf-peer")),
            $body,
        )
    };
}
