//! How each pair of the registry (`crate::mech::REGISTRY`, entries' `perf`) is
//! measured: the one place where a pair's id meets its implementation. A pair
//! is measured once it has a row in [`SPECS`]: whether its API exists on the
//! target, whether the C baseline covers it, and (on Unix) the function that
//! builds its two ends and runs one measurement. Adding a mechanism's pair is
//! its registry entry, its ends (`super::ends`) and its row here.

use super::NoApi;

/// One pair's measurement.
pub struct Spec {
    pub id: &'static str,
    /// Whether the API exists on this target (compile time).
    pub api: bool,
    /// Whether the two processes share memory through shm_open (bionic has none).
    pub shm_open: bool,
    /// Whether the C baseline (`ci/perf/ipc_rtt.c`) makes the same round trips.
    pub c_baseline: bool,
    /// Whether a waiting side sleeps in the kernel (every mechanism but the
    /// spinning ones): its round trips are measured in both placements, the
    /// two processes on different CPUs and on the same one.
    pub blocking: bool,
    /// Builds the pair's two ends and runs one measurement: the figures of
    /// its result line.
    #[cfg(unix)]
    pub run: fn(run::Job) -> Result<super::stats::Figure, run::Fault>,
}

impl Spec {
    /// Why this target cannot measure the pair, if it cannot (see
    /// [`super::Pair::unavailable`]).
    pub fn unavailable(&self) -> Result<Option<&'static str>, NoApi> {
        if !self.api {
            Err(NoApi)
        } else if cfg!(not(unix)) {
            Ok(Some(
                "the measurement harness forks its measuring processes and runs on Unix only; this mechanism is not measured on Windows",
            ))
        } else if self.shm_open && cfg!(target_os = "android") {
            Ok(Some(
                "the measuring processes share memory through shm_open, which bionic lacks; not measured on Android",
            ))
        } else {
            Ok(None)
        }
    }
}

/// The row of pair `id`.
pub fn spec(id: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.id == id)
}

const LINUX_OR_FREEBSD: bool = cfg!(any(target_os = "linux", target_os = "freebsd"));
const UNIX: bool = cfg!(unix);
const SYSV_MQ: bool = cfg!(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "macos"
));

macro_rules! specs {
    ($($id:literal: api $api:expr, shm $shm:expr, c $c:expr, blocks $b:expr, $run:ident;)*) => {
        /// Every pair the harness measures, keyed by the registry's pair id.
        pub static SPECS: &[Spec] = &[$(Spec {
            id: $id,
            api: $api,
            shm_open: $shm,
            c_baseline: $c,
            blocking: $b,
            #[cfg(unix)]
            run: run::$run,
        }),*];
    };
}

specs! {
    "pipe": api true, shm false, c true, blocks true, pipe;
    "fifo": api UNIX, shm false, c true, blocks true, fifo;
    "unix_stream": api true, shm false, c true, blocks true, unix_stream;
    "unix_dgram": api UNIX, shm false, c true, blocks true, unix_dgram;
    "unix_seqpacket": api UNIX, shm false, c true, blocks true, unix_seqpacket;
    "tcp": api true, shm false, c true, blocks true, tcp;
    "udp": api true, shm false, c true, blocks true, udp;
    "posix_mq": api LINUX_OR_FREEBSD, shm false, c true, blocks true, posix_mq;
    "sysv_mq": api SYSV_MQ, shm false, c true, blocks true, sysv_mq;
    "eventfd": api LINUX_OR_FREEBSD, shm false, c true, blocks true, eventfd;
    "shm_spin": api true, shm true, c true, blocks false, shm_spin;
    "shm_futex": api LINUX_OR_FREEBSD, shm true, c true, blocks true, shm_futex;
    "shm_condvar": api true, shm true, c true, blocks true, shm_condvar;
    "shm_ring": api true, shm true, c true, blocks false, shm_ring;
}

/// The measurement functions of [`SPECS`] (run in `ipcconf-peer perf-*`
/// processes).
#[cfg(unix)]
pub mod run {
    use super::super::bench::{self, Plan};
    use super::super::ends::{self, End};
    use super::super::latency::{self, Size};
    use super::super::plan_msgs;
    use super::super::stats::Figure;

    /// Why a measurement did not produce figures.
    pub enum Fault {
        /// The facility is absent at run time (ENOSYS, EPROTONOSUPPORT, ...).
        Unsupported(String),
        Error(String),
    }

    /// Classifies a set-up failure per CONTRIBUTING.md rule 6.
    pub fn setup(what: &str) -> impl Fn(std::io::Error) -> Fault + '_ {
        move |e| {
            let text = format!("{what}: {}", crate::observe::describe_io_error(&e));
            if crate::observe::is_absent_at_run_time(&e) {
                Fault::Unsupported(text)
            } else {
                Fault::Error(text)
            }
        }
    }

    /// A throughput run's size: volume, timed rounds, message cap, time budget.
    #[derive(Clone, Copy)]
    pub struct Shape {
        pub volume: u64,
        pub rounds: u64,
        pub max: u64,
        pub budget: u64,
    }

    /// One measurement of a pair.
    #[derive(Clone, Copy)]
    pub enum Job {
        /// One-byte round trips: at most `iters` timed batches after `warm`
        /// untimed round trips, within `budget` ns; the two processes on
        /// different CPUs, or on the same one (`same_cpu`).
        Latency {
            iters: usize,
            warm: usize,
            budget: u64,
            same_cpu: bool,
        },
        Throughput(Shape),
    }

    /// Messages of 1 byte need only small buffers.
    const SMALL_CAP: usize = 64;

    /// Bulk transfer in 64 KiB chunks, or the largest message the mechanism carries.
    const CHUNK: usize = 64 << 10;

    impl Job {
        /// The buffer capacity the job's messages need: 1-byte round trips, or
        /// up to `bulk` bytes.
        fn cap(self, bulk: usize) -> usize {
            match self {
                Job::Latency { .. } => SMALL_CAP,
                Job::Throughput(_) => bulk,
            }
        }

        /// Runs the job over `pair` (`id`: the pair's id in the result line):
        /// throughput in messages of `chunk` bytes, at most `window`
        /// unacknowledged.
        fn on<E: End>(self, id: &str, pair: (E, E), chunk: usize, window: Option<u64>) -> Run {
            match self {
                Job::Latency {
                    iters,
                    warm,
                    budget,
                    same_cpu,
                } => {
                    let pin = if same_cpu {
                        bench::pin_same()
                    } else {
                        bench::pin_plan()
                    };
                    let size = Size {
                        iters,
                        warm,
                        budget_ns: budget,
                    };
                    latency::latency(id, pair, size, &pin)
                }
                Job::Throughput(s) => {
                    let pin = bench::pin_plan();
                    let msgs = plan_msgs(s.volume, chunk as u64, s.max, s.rounds);
                    let plan = Plan {
                        chunk,
                        chunks_per_round: msgs / s.rounds,
                        rounds: s.rounds,
                        window,
                        budget_ns: s.budget,
                    };
                    bench::throughput(id, pair, plan, &pin)
                }
            }
            .map_err(Fault::Error)
        }

        /// A pair whose messages may be any size up to 64 KiB (streams and
        /// shared memory): `make(capacity)` builds it.
        fn bulk<E: End>(
            self,
            id: &str,
            what: &str,
            make: impl FnOnce(usize) -> std::io::Result<(E, E)>,
        ) -> Run {
            let pair = make(self.cap(CHUNK)).map_err(setup(what))?;
            self.on(id, pair, CHUNK, None)
        }

        /// A datagram pair: for throughput, messages of the largest
        /// power-of-two size it carries, at most `window(receiver, size)`
        /// unacknowledged.
        fn datagrams(
            self,
            id: &str,
            what: &str,
            (mut a, mut b): (ends::MsgEnd, ends::MsgEnd),
            window: impl FnOnce(&ends::MsgEnd, usize) -> std::io::Result<Option<u64>>,
        ) -> Run {
            if let Job::Latency { .. } = self {
                return self.on(id, (a, b), SMALL_CAP, None);
            }
            let size = ends::probe_message_size(&mut a, &mut b, CHUNK)
                .map_err(setup(&format!("{what} size probe")))?;
            let w = window(&b, size).map_err(setup("SO_RCVBUF"))?;
            self.on(id, (a, b), size, w)
        }
    }

    /// At most a quarter of the receive buffer in flight (the kernel charges
    /// more than the payload): a datagram socket drops what does not fit.
    fn quarter(rcvbuf: usize, size: usize) -> Option<u64> {
        Some((rcvbuf as u64 / (4 * size as u64)).max(1))
    }

    type Run = Result<Figure, Fault>;

    pub fn pipe(j: Job) -> Run {
        j.bulk("pipe", "pipe", ends::pipe_pair)
    }

    pub fn fifo(j: Job) -> Run {
        j.bulk("fifo", "mkfifo/open", ends::fifo_pair)
    }

    pub fn unix_stream(j: Job) -> Run {
        j.bulk("unix_stream", "AF_UNIX SOCK_STREAM", ends::unix_stream_pair)
    }

    pub fn tcp(j: Job) -> Run {
        j.bulk("tcp", "TCP loopback", ends::tcp_pair)
    }

    pub fn unix_dgram(j: Job) -> Run {
        let what = "AF_UNIX SOCK_DGRAM";
        let pair = ends::unix_dgram_pair(j.cap(CHUNK)).map_err(setup(what))?;
        j.datagrams("unix_dgram", "datagram", pair, |b, size| {
            // Linux blocks a sender whose connected receiver is full; BSD
            // kernels refuse (ENOBUFS) or drop: keep a window as for UDP there.
            Ok(if cfg!(any(target_os = "linux", target_os = "android")) {
                None
            } else {
                quarter(ends::rcvbuf(b)?, size)
            })
        })
    }

    pub fn unix_seqpacket(j: Job) -> Run {
        let what = "AF_UNIX SOCK_SEQPACKET";
        let pair = ends::unix_seqpacket_pair(j.cap(CHUNK)).map_err(setup(what))?;
        j.datagrams("unix_seqpacket", "message", pair, |_, _| Ok(None))
    }

    pub fn udp(j: Job) -> Run {
        let (a, b, rcvbuf) = ends::udp_pair(j.cap(CHUNK)).map_err(setup("UDP loopback"))?;
        j.datagrams("udp", "datagram", (a, b), |_, size| {
            Ok(quarter(rcvbuf, size))
        })
    }

    /// Where the API is absent: nothing to measure.
    fn absent(what: &str) -> Run {
        Err(Fault::Unsupported(format!(
            "no {what} on {}",
            crate::platform::TARGET
        )))
    }

    #[cfg(any(target_os = "linux", target_os = "freebsd"))]
    pub fn posix_mq(j: Job) -> Run {
        let (a, b, size) = ends::posix_mq_pair(j.cap(8192)).map_err(setup("mq_open"))?;
        j.on("posix_mq", (a, b), size, None)
    }

    #[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
    pub fn posix_mq(_: Job) -> Run {
        absent("POSIX message queues")
    }

    #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "macos"))]
    pub fn sysv_mq(j: Job) -> Run {
        let (a, b, size) = ends::sysv_pair(j.cap(8192)).map_err(setup("msgget"))?;
        j.on("sysv_mq", (a, b), size, None)
    }

    #[cfg(not(any(target_os = "linux", target_os = "freebsd", target_os = "macos")))]
    pub fn sysv_mq(_: Job) -> Run {
        absent("System V message queues")
    }

    pub fn eventfd(j: Job) -> Run {
        let pair = ends::eventfd_pair().map_err(setup("eventfd"))?;
        j.on("eventfd", pair, 8, None)
    }

    pub fn shm_spin(j: Job) -> Run {
        j.bulk("shm_spin", "shm_open", ends::mailbox_pair::<{ ends::SPIN }>)
    }

    pub fn shm_futex(j: Job) -> Run {
        if !crate::sys::futex::HAS_FUTEX {
            return absent("futex");
        }
        j.bulk(
            "shm_futex",
            "shm_open",
            ends::mailbox_pair::<{ ends::FUTEX }>,
        )
    }

    pub fn shm_condvar(j: Job) -> Run {
        j.bulk(
            "shm_condvar",
            "shm_open + process-shared pthread objects",
            ends::mailbox_pair::<{ ends::CONDVAR }>,
        )
    }

    pub fn shm_ring(j: Job) -> Run {
        j.bulk("shm_ring", "shm_open", ends::ring_pair)
    }

    /// Round trips over a stream socket pair that both sides busy-poll (see
    /// `ends::PolledEnd`); the pair's id gains `+polled`.
    pub fn latency_polled(id: &str, j: Job) -> Run {
        let pair = match id {
            "unix_stream" => {
                ends::unix_stream_pair(SMALL_CAP).map_err(setup("AF_UNIX SOCK_STREAM"))?
            }
            "tcp" => ends::tcp_pair(SMALL_CAP).map_err(setup("TCP loopback"))?,
            m => {
                return Err(Fault::Error(format!(
                    "perf-latency-polled: stream sockets only (unix_stream, tcp), not {m}"
                )));
            }
        };
        let pair = ends::polled(pair).map_err(setup("O_NONBLOCK"))?;
        j.on(&format!("{id}+polled"), pair, SMALL_CAP, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pair the registry declares has its row, and every row a pair.
    #[test]
    fn the_table_is_the_registry() {
        let declared: Vec<&str> = crate::mech::perf_pairs().map(|p| p.id).collect();
        let rows: Vec<&str> = SPECS.iter().map(|s| s.id).collect();
        for id in &declared {
            assert!(rows.contains(id), "registry pair {id} has no row in SPECS");
        }
        for id in &rows {
            assert!(declared.contains(id), "SPECS row {id} is no registry pair");
        }
    }
}
