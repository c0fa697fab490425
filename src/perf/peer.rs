//! The `perf-*` roles of `ipcconf-peer`: each builds a mechanism's two ends,
//! runs one measurement (`super::bench`, `super::contention`) and prints its
//! result line.

#[cfg(unix)]
use super::{Mech, bench, contention, sys};

/// The `perf-*` peer roles:
/// - `perf-latency <mech> <iters> <warmup> <budget_ms>`
/// - `perf-latency-polled <unix_stream|tcp> <iters> <warmup> <budget_ms>`:
///   the same round trips over non-blocking sockets that both sides poll
/// - `perf-throughput <mech> <volume> <rounds> <max_msgs> <budget_ms>`
/// - `perf-spsc <lockfree|locked> <items> <warmup> <budget_ms>`
/// - `perf-mpmc <shm|mq> <producers> <consumers> <messages>`
///
/// Each prints one line: `result key=value ...`, `unsupported <why>`, or
/// (through the peer's error path) `err <why>`.
pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
    match role {
        "perf-latency" | "perf-latency-polled" | "perf-throughput" | "perf-spsc" | "perf-mpmc" => {
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
    let busy = Busy::start();
    let reply = match role {
        "perf-latency" => imp::latency(
            mech()?,
            num(1)? as usize,
            num(2)? as usize,
            num(3)? * 1_000_000,
        ),
        "perf-latency-polled" => imp::latency_polled(
            mech()?,
            num(1)? as usize,
            num(2)? as usize,
            num(3)? * 1_000_000,
        ),
        "perf-throughput" => imp::throughput(
            mech()?,
            imp::Shape {
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
            .map_err(imp::Fault::Error)
        }
        "perf-mpmc" => {
            let kind = args.first().map(String::as_str).unwrap_or("");
            contention::mpmc(kind, num(1)? as usize, num(2)? as usize, num(3)?)
                .map_err(imp::Fault::Error)
        }
        _ => return Err(format!("unknown role {role}")),
    };
    let line = match reply {
        Ok(line) => format!("{line} other_cpu={}", busy.other_cpus()),
        Err(imp::Fault::Unsupported(why)) => format!("unsupported {why}"),
        Err(imp::Fault::Error(why)) => return Err(why),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|_| out.flush())
        .map_err(|e| e.to_string())
}

/// How much CPU time processes other than this measurement's took while it
/// ran: the machine's busy time (Linux `/proc/stat`) minus this process's and
/// its reaped children's CPU time, per second of wall time. A measurement
/// that other work competed with can only look slower than the mechanism is.
#[cfg(unix)]
struct Busy {
    wall: u64,
    machine: Option<(f64, f64)>,
    own: f64,
}

#[cfg(unix)]
impl Busy {
    fn start() -> Busy {
        Busy {
            wall: sys::now_ns(),
            machine: machine_busy_secs(),
            own: own_cpu_secs(),
        }
    }

    /// Other processes' CPUs in use on average ("na" where the OS does not say).
    fn other_cpus(&self) -> String {
        let wall = (sys::now_ns() - self.wall) as f64 / 1e9;
        match (self.machine, machine_busy_secs()) {
            (Some((a, tick)), Some((b, _))) if wall > 0.0 => {
                // The machine's counters advance in ticks: two ticks of
                // slack, so that a short round is not called disturbed by
                // the rounding of its own CPU time.
                let other = (b - a) - (own_cpu_secs() - self.own) - 2.0 * tick;
                format!("{:.2}", (other / wall).max(0.0))
            }
            _ => "na".into(),
        }
    }
}

/// CPU seconds of this process and its reaped children.
#[cfg(unix)]
fn own_cpu_secs() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    let secs = |w| {
        getrusage(w)
            .map(|u| {
                let t =
                    |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
                t(u.user_time()) + t(u.system_time())
            })
            .unwrap_or(0.0)
    };
    secs(UsageWho::RUSAGE_SELF) + secs(UsageWho::RUSAGE_CHILDREN)
}

/// Seconds every CPU of the machine spent running processes (user, system,
/// or stolen by the hypervisor) since boot, and the length of one of its
/// ticks: Linux's `/proc/stat`; `None` elsewhere.
#[cfg(unix)]
fn machine_busy_secs() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let f: Vec<f64> = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: interrupt time is left
    // out (a loopback socket's own packets are processed there).
    let busy = f.first()? + f.get(1)? + f.get(2)? + f.get(7)?;
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok()??;
    (hz > 0).then(|| (busy / hz as f64, 1.0 / hz as f64))
}

#[cfg(unix)]
mod imp {
    use super::super::bench::{self, Plan};
    use super::super::ends::{self, End};
    use super::super::{Mech, plan_msgs};

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
                if !super::super::sys::HAS_FUTEX {
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

    /// Round trips over a socket pair that both sides busy-poll (see
    /// `ends::PolledEnd`); the mechanism's id gains `+polled`.
    pub fn latency_polled(
        mech: Mech,
        iters: usize,
        warm: usize,
        budget: u64,
    ) -> Result<String, Fault> {
        let pin = bench::pin_plan();
        let pair = match mech {
            Mech::UnixStream => {
                ends::unix_stream_pair(SMALL_CAP).map_err(setup("AF_UNIX SOCK_STREAM"))?
            }
            Mech::Tcp => ends::tcp_pair(SMALL_CAP).map_err(setup("TCP loopback"))?,
            m => {
                return Err(Fault::Error(format!(
                    "perf-latency-polled: stream sockets only (unix_stream, tcp), not {}",
                    m.id()
                )));
            }
        };
        let pair = ends::polled(pair).map_err(setup("O_NONBLOCK"))?;
        bench::latency(
            &format!("{}+polled", mech.id()),
            pair,
            iters,
            warm,
            budget,
            &pin,
        )
        .map_err(Fault::Error)
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
                if !super::super::sys::HAS_FUTEX {
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
