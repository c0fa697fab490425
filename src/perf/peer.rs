//! The `perf-*` roles of `ipcconf-peer`: each builds a mechanism's two ends,
//! runs one measurement (`super::bench`, `super::contention`) and prints its
//! result line.

#[cfg(unix)]
use super::latency::{self, Size};
#[cfg(unix)]
use super::pairs::run::{Fault, Job, Shape, latency_polled};
#[cfg(unix)]
use super::stats::{Figure, PerfLine};
#[cfg(unix)]
use super::{Pair, bench, contention, sys};

/// The `perf-*` peer roles:
/// - `perf-latency <mech> <iters> <warmup> <budget_ms> [same-cpu]`: up to
///   `iters` batches of round trips; `same-cpu` pins both processes to one CPU
/// - `perf-latency-polled <unix_stream|tcp> <iters> <warmup> <budget_ms>`:
///   the same round trips over non-blocking sockets that both sides poll
/// - `perf-floor <iters> <warmup> <budget_ms>`: the floor, one cache line
///   written by each side in turn (`super::latency::floor`)
/// - `perf-throughput <mech> <volume> <rounds> <max_msgs> <budget_ms>`
/// - `perf-spsc <lockfree|locked> <items> <warmup> <budget_ms>`
/// - `perf-mpmc <shm|mq> <producers> <consumers> <messages>`
///
/// Each prints one line ([`super::stats::PerfLine`]): `result key=value ...`,
/// `unsupported <why>`, or (through the peer's error path) `err <why>`.
pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
    match role {
        "perf-latency"
        | "perf-latency-polled"
        | "perf-floor"
        | "perf-throughput"
        | "perf-spsc"
        | "perf-mpmc" => Some(run_role(role, args)),
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
    let _ = crate::sys::ignore_signal(nix::sys::signal::Signal::SIGSYS);
    sys::alarm_cleans_up();
    let num = |i: usize| -> Result<u64, String> {
        args.get(i)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("{role}: argument {} must be a number: {args:?}", i + 1))
    };
    let mech = || {
        args.first()
            .and_then(|s| Pair::parse(s))
            .ok_or_else(|| format!("{role}: unknown mechanism {:?}", args.first()))
    };
    let busy = Busy::start();
    let latency = || -> Result<Job, String> {
        let same_cpu = match args.get(4).map(String::as_str) {
            None | Some("cross-cpu") => false,
            Some("same-cpu") => true,
            Some(other) => return Err(format!("{role}: same-cpu or cross-cpu, not {other:?}")),
        };
        Ok(Job::Latency {
            iters: num(1)? as usize,
            warm: num(2)? as usize,
            budget: num(3)? * 1_000_000,
            same_cpu,
        })
    };
    let run = |job: Job| -> Result<Result<Figure, Fault>, String> {
        let m = mech()?;
        Ok(match m.spec() {
            Some(spec) => (spec.run)(job),
            None => Err(Fault::Error(format!(
                "{role}: no measurement of {}",
                m.id()
            ))),
        })
    };
    let reply = match role {
        "perf-latency" => run(latency()?)?,
        "perf-latency-polled" => latency_polled(mech()?.id(), latency()?),
        "perf-floor" => {
            let size = Size {
                iters: num(0)? as usize,
                warm: num(1)? as usize,
                budget_ns: num(2)? * 1_000_000,
            };
            latency::floor(size, &bench::pin_plan()).map_err(Fault::Error)
        }
        "perf-throughput" => run(Job::Throughput(Shape {
            volume: num(1)?,
            rounds: num(2)?.max(1),
            max: num(3)?,
            budget: num(4)? * 1_000_000,
        }))?,
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
            .map_err(Fault::Error)
        }
        "perf-mpmc" => {
            let kind = args.first().map(String::as_str).unwrap_or("");
            contention::mpmc(kind, num(1)? as usize, num(2)? as usize, num(3)?)
                .map_err(Fault::Error)
        }
        _ => return Err(format!("unknown role {role}")),
    };
    let line = match reply {
        Ok(mut figure) => {
            figure.push("other_cpu", busy.other_cpus());
            PerfLine::Figures(figure)
        }
        Err(Fault::Unsupported(why)) => PerfLine::Unsupported(why),
        Err(Fault::Error(why)) => return Err(why),
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
