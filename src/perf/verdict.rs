//! The test side: runs the measuring peers (each measurement once, one at a
//! time), holds every figure to soundness, and turns figures into the
//! observations of the per-mechanism claims and the verdicts on the guide's
//! five performance claims.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use super::stats::{self, Figure};
use super::{Counts, Measure, Mech, NoApi, cpus, describe_pin, fmt_ns, fmt_rate, plan_msgs};
use crate::check::Ctx;
use crate::observe::{Checked, Observation};

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
    // A measuring process that its own watchdog ended (a step blocked for 2 s)
    // is a timeout, not an error of the check.
    let line = peer.line(RUN_BOUND).map_err(|e| match e {
        crate::peer::PeerError::Gone(s) if s.contains("SIGALRM") => Observation::timeout(format!(
            "the measurement's watchdog ended it (one step blocked for 2 s): {s}"
        )),
        e => Observation::from(e),
    })?;
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
    let what = format!(
        "ipcconf-peer {}: {line}; stderr: {}",
        args.join(" "),
        stderr.trim()
    );
    Err(if line.contains("(its watchdog") {
        Observation::timeout(what)
    } else if let Some(reason) = lacking_precondition(&line) {
        Observation::skipped(format!("{what}; {reason}"))
    } else {
        Observation::error(what)
    })
}

/// Whether a measuring peer failed for a precondition this machine lacks (the
/// same diagnoses `.step()` applies in the checks), judged from the machine's
/// state: an unusable /dev/shm, lowered fs.mqueue limits, a temporary directory
/// nothing can be created in. An ordinary failure stays an error.
fn lacking_precondition(line: &str) -> Option<String> {
    if line.contains("shm_open") || line.contains("sem_open") {
        if let Some(r) = crate::precondition::shm_dir_unusable() {
            return Some(format!(
                "{r}: POSIX shared memory needs a writable tmpfs there"
            ));
        }
    }
    if line.contains("mq_open") {
        let errno = line
            .split("(os error ")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .and_then(|n| n.parse().ok());
        // Every measuring queue is 10 messages deep (ends::posix_mq_pair).
        if let Some(r) = errno.and_then(|e| crate::precondition::mqueue_refusal(e, Some((10, 1)))) {
            return Some(r);
        }
    }
    let tmp = std::env::temp_dir();
    if line.contains(&*tmp.to_string_lossy()) {
        if let Err(e) = crate::names::private_dir() {
            return Some(format!(
                "cannot create a private directory under {}: {e}",
                tmp.display()
            ));
        }
    }
    None
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

/// Observes one mechanism's figure: measured, with the evidence; `error` when
/// the measurement is unsound.
pub fn observe_mechanism(cx: &mut Ctx, measure: Measure, mech: Mech) -> Checked<Observation> {
    measurable(mech)?;
    let c = Counts::for_build();
    let f = measure_fig(cx, measure, mech, &c)?;
    Ok(match measure {
        Measure::Latency => latency_observation(mech, &c, &f),
        Measure::Throughput => throughput_observation(mech, &c, &f),
    })
}

/// Ends the check when this target cannot measure `mech`: `unsupported` where the
/// API is absent, `skipped` where the harness does not run it there.
fn measurable(mech: Mech) -> Checked<()> {
    match mech.unavailable() {
        Err(NoApi) => Err(Observation::no_api()),
        Ok(Some(why)) => Err(Observation::skipped(why)),
        Ok(None) => not_emulated(),
    }
}

/// Ends a performance check on an emulated CPU (qemu-user, a VM under TCG):
/// its timings would be the emulator's, not the mechanism's.
fn not_emulated() -> Checked<()> {
    match crate::record::run_info().emulated_cpu() {
        Some(why) => Err(Observation::skipped(format!(
            "{why}: timings under emulation measure the emulator, not the IPC mechanism, so performance is not measured on this run"
        ))),
        None => Ok(()),
    }
}

fn measure_fig(cx: &Ctx, measure: Measure, mech: Mech, c: &Counts) -> Checked<Figure> {
    measurable(mech)?;
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
pub const DEBUG_SKIP: &str = "figures need a release build (cargo ipc-report); this debug run only smoke-tested the measurement with tiny counts";

fn verdict_prelude() -> Result<Counts, Observation> {
    if cfg!(not(unix)) {
        return Err(Observation::skipped(
            "the measurement harness forks its measuring processes and runs on Unix only",
        ));
    }
    not_emulated()?;
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
        super::ends::RING_SLOTS
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
    // Both queues live in a shared-memory region, as the shm mechanisms' do.
    measurable(Mech::ShmRing)?;
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
    // Shared memory against a System V queue: both must be measurable here.
    measurable(Mech::ShmRing)?;
    measurable(Mech::SysvMq)?;
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
