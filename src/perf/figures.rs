//! The test side: runs the measuring peers (each measurement once, one at a
//! time), holds every figure to soundness, and turns figures into the
//! observations of the per-mechanism claims; `super::verdicts` decides the
//! guide's five performance claims from the same rounds.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::interval::{self, LEVEL};
use super::stats::{self, Figure, PerfLine};
use super::{Counts, Measure, NoApi, Pair, cpus, describe_pin, fmt_ns, fmt_rate, plan_msgs};
use crate::check::Ctx;
use crate::observe::{Checked, Observation};
use crate::peer::wire::WireLine;

/// Rounds already measured in this test process, by peer arguments: a figure
/// shared by a mechanism's claim and a verdict is measured once, and a verdict
/// adds rounds to it where its interval is still wide. The tests that measure
/// run one at a time (`serial_test`), so measurements never compete for the
/// CPUs; the lock only guards the map.
static MEASURED: Mutex<BTreeMap<String, Result<Vec<Figure>, Observation>>> =
    Mutex::new(BTreeMap::new());

/// When this process measured first: extra rounds stop once the section has
/// run for [`SECTION_BUDGET`].
static STARTED: OnceLock<Instant> = OnceLock::new();

/// The time after which no verdict adds rounds beyond the minimum.
pub const SECTION_BUDGET: Duration = Duration::from_secs(40);

/// The longest a measuring peer may take to print its result (each of its
/// steps is bounded by its own 2-second watchdog; this bounds the whole run).
pub const RUN_BOUND: Duration = Duration::from_secs(90);

/// A round whose measurement had other processes using more than this many
/// CPUs on average (see the `other_cpu` field) was disturbed.
pub const DISTURBED_CPUS: f64 = 0.3;

/// Runs one measuring peer: one round (uncached).
pub fn measure(cx: &Ctx, args: &[String]) -> Checked<Figure> {
    run_peer(cx, args)
}

/// At least `want` sound rounds of the measurement `args` (fewer only when an
/// earlier call already failed), measuring the missing ones now. A round that
/// fails or is unsound ends every later call with the same observation.
pub(super) fn rounds(
    cx: &Ctx,
    args: &[String],
    want: usize,
    sound: &dyn Fn(&Figure) -> Result<(), String>,
) -> Checked<Vec<Figure>> {
    let key = args.join(" ");
    STARTED.get_or_init(Instant::now);
    loop {
        let have = {
            let cache = MEASURED.lock().unwrap_or_else(|e| e.into_inner());
            match cache.get(&key) {
                Some(Err(o)) => return Err(o.clone()),
                Some(Ok(v)) if v.len() >= want => return Ok(v.clone()),
                Some(Ok(v)) => v.len(),
                None => 0,
            }
        };
        let _ = have;
        let r = run_peer(cx, args).and_then(|f| {
            sound(&f).map(|()| f.clone()).map_err(|e| {
                Observation::error(format!(
                    "unsound measurement (ipcconf-peer {key}): {e}; figures: {:?}",
                    f.fields()
                ))
            })
        });
        let mut cache = MEASURED.lock().unwrap_or_else(|e| e.into_inner());
        match r {
            Ok(f) => match cache.entry(key.clone()).or_insert_with(|| Ok(Vec::new())) {
                Ok(v) => v.push(f),
                Err(o) => return Err(o.clone()),
            },
            Err(o) => {
                cache.insert(key.clone(), Err(o.clone()));
                return Err(o);
            }
        }
    }
}

/// Whether the section still has time for extra rounds.
pub(super) fn may_extend() -> bool {
    STARTED.get().is_none_or(|t| t.elapsed() < SECTION_BUDGET)
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
    match PerfLine::from_line(&line) {
        Ok(PerfLine::Figures(f)) => return Ok(f),
        Ok(PerfLine::Unsupported(why)) => return Err(Observation::unsupported(why)),
        Err(_) => {}
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
pub fn args(measure: Measure, mech: Pair, c: &Counts) -> Vec<String> {
    let (role, counts) = match measure {
        Measure::Latency => (
            "perf-latency",
            vec![c.lat_iters as u64, c.lat_warm as u64, c.lat_budget_ms],
        ),
        Measure::Throughput => (
            "perf-throughput",
            vec![c.volume, c.rounds, c.max_msgs, c.thr_budget_ms],
        ),
    };
    [role.to_owned(), mech.id().to_owned()]
        .into_iter()
        .chain(counts.iter().map(u64::to_string))
        .collect()
}

/// Peer arguments of a mechanism's round trips with both processes on one CPU.
fn same_cpu_args(mech: Pair, c: &Counts) -> Vec<String> {
    let mut a = args(Measure::Latency, mech, c);
    a[4] = c.same_cpu_budget_ms.to_string();
    a.push("same-cpu".into());
    a
}

/// Peer arguments of the floor.
fn floor_args(c: &Counts) -> Vec<String> {
    ["perf-floor".to_owned()]
        .into_iter()
        .chain(
            [c.lat_iters as u64, c.lat_warm as u64, c.lat_budget_ms]
                .iter()
                .map(u64::to_string),
        )
        .collect()
}

/// Latency rounds held to soundness.
fn latency_sound(c: &Counts) -> impl Fn(&Figure) -> Result<(), String> + use<> {
    let (iters, warm) = (c.lat_iters as u64, c.lat_warm as u64);
    move |f: &Figure| stats::check_latency(f, iters, warm)
}

/// At least `want` sound rounds of the floor: one cache line written by
/// each process in turn, the two pinned to different CPUs.
pub(super) fn floor_rounds(cx: &Ctx, c: &Counts, want: usize) -> Checked<Vec<Figure>> {
    if cfg!(not(unix)) {
        return Err(Observation::skipped(
            "the measurement harness forks its measuring processes and runs on Unix only",
        ));
    }
    not_emulated()?;
    rounds(cx, &floor_args(c), want, &latency_sound(c))
}

/// perf.cross_cpu_floor: the floor of this machine, measured like every
/// latency figure (rounds, batches), which every latency figure is also
/// given as a multiple of.
pub fn observe_floor(cx: &mut Ctx) -> Checked<Observation> {
    let c = Counts::for_build();
    let figs = floor_rounds(cx, &c, c.min_rounds)?;
    let med = interval::median_interval(&field(&figs, "median_ns"), LEVEL);
    let p99 = interval::median(&field(&figs, "p99_ns"));
    let f0 = &figs[0];
    let min = field(&figs, "min_ns")
        .into_iter()
        .fold(f64::INFINITY, f64::min);
    let detail = format!(
        "{}the floor, the cheapest round trip between two processes: one 64-byte cache line (one 8-byte word) that each side writes in turn, the measuring side an odd count and its partner the next even one, each spinning until it sees the other's; {} rounds (each its own pair of processes; {}), {}: median round trip {} ({}), p99 {} of the sampled single round trips (median over rounds; smallest batch mean {}){}",
        c.prefix(),
        med.rounds,
        batches_note(&figs),
        describe_pin(f0.text("pin")),
        fmt_ns(med.estimate),
        med.describe(&|x| fmt_ns(x)),
        fmt_ns(p99),
        fmt_ns(min),
        load_note(&figs),
    );
    Ok(round_trip_quantities(Observation::measured(detail), &figs, &c).finite_only())
}

/// "after 500 untimed round trips, 5000 batches of 83 round trips (one per
/// batch also timed on its own), 2075000 in all".
fn batches_note(figs: &[Figure]) -> String {
    let trips: u64 = figs.iter().filter_map(|f| f.int("round_trips")).sum();
    format!(
        "after {} untimed round trips, {} batches of {} round trips each timed as a whole (the first of each batch also timed on its own), {trips} round trips in all",
        budget_range(figs, "warmup"),
        budget_range(figs, "n"),
        budget_range(figs, "batch"),
    )
}

/// Observes one mechanism's figure over repeated rounds: measured, with the
/// median over rounds and its interval (and, for latency in a release build,
/// the C baseline's figure measured alongside); `error` when a round is unsound.
pub fn observe_mechanism(cx: &mut Ctx, measure: Measure, mech: Pair) -> Checked<Observation> {
    measurable(mech)?;
    let c = Counts::for_build();
    let figs = mech_rounds(cx, measure, mech, &c, c.min_rounds)?;
    Ok(match measure {
        Measure::Latency => {
            let base = if c.release && super::baseline::covers(mech) {
                Some(super::baseline::rounds(cx, mech, &c))
            } else {
                None
            };
            let floor = floor_rounds(cx, &c, c.min_rounds).map_err(|o| o.detail);
            let same = match mech.spec() {
                Some(s) if s.blocking => Some(
                    rounds(
                        cx,
                        &same_cpu_args(mech, &c),
                        c.min_rounds,
                        &latency_sound(&c),
                    )
                    .map_err(|o| o.detail),
                ),
                _ => None,
            };
            let o = latency_observation(mech, &c, &figs, base);
            with_placements(with_floor(o, &figs, floor), same)
        }
        Measure::Throughput => throughput_observation(mech, &c, &figs),
    })
}

/// Ends the check when this target cannot measure `mech`: `unsupported` where the
/// API is absent, `skipped` where the harness does not run it there.
pub(super) fn measurable(mech: Pair) -> Checked<()> {
    match mech.unavailable() {
        Err(NoApi) => Err(Observation::no_api()),
        Ok(Some(why)) => Err(Observation::skipped(why)),
        Ok(None) => not_emulated(),
    }
}

/// Ends a performance check on an emulated CPU (qemu-user, a VM under TCG):
/// its timings would be the emulator's, not the mechanism's.
pub(super) fn not_emulated() -> Checked<()> {
    match crate::results::run_info().emulated_cpu() {
        Some(why) => Err(Observation::skipped(format!(
            "{why}: timings under emulation measure the emulator, not the IPC mechanism, so performance is not measured on this run"
        ))),
        None => Ok(()),
    }
}

/// At least `want` sound rounds of a mechanism's figure.
pub(super) fn mech_rounds(
    cx: &Ctx,
    measure: Measure,
    mech: Pair,
    c: &Counts,
    want: usize,
) -> Checked<Vec<Figure>> {
    measurable(mech)?;
    let c = *c;
    let lat = latency_sound(&c);
    let sound = move |f: &Figure| match measure {
        Measure::Latency => lat(f),
        Measure::Throughput => {
            let chunk = f.int("chunk").unwrap_or(0);
            let msgs = plan_msgs(c.volume, chunk, c.max_msgs, c.rounds);
            stats::check_throughput(f, msgs / c.rounds * chunk, c.rounds)
        }
    };
    rounds(cx, &args(measure, mech, &c), want, &sound)
}

/// One numeric field of every round.
pub(super) fn field(figs: &[Figure], key: &str) -> Vec<f64> {
    figs.iter().map(|f| f.num(key)).collect()
}

/// Rounds whose measurement other processes competed with.
pub(super) fn disturbed(figs: &[Figure]) -> usize {
    figs.iter()
        .filter(|f| f.num("other_cpu") > DISTURBED_CPUS)
        .count()
}

/// "; other processes used 1.8 CPUs in 5 of 6 rounds" when they did, else
/// the load average when the first round started.
pub(super) fn load_note(figs: &[Figure]) -> String {
    let d = disturbed(figs);
    let most = field(figs, "other_cpu")
        .into_iter()
        .filter(|x| x.is_finite())
        .fold(f64::NAN, f64::max);
    let load = figs
        .first()
        .and_then(|f| f.text("loadavg").parse::<f64>().ok());
    let mut s = String::new();
    if d > 0 {
        s = format!(
            "; other processes used CPU time in {d} of {} rounds (up to {most:.1} CPUs)",
            figs.len()
        );
    } else if most.is_finite() {
        s = format!("; other processes used at most {most:.2} CPUs during any round");
    }
    if let Some(l) = load {
        s.push_str(&format!(
            "; load average {l:.2} on {} CPUs when it started",
            cpus()
        ));
    }
    s
}

fn latency_observation(
    mech: Pair,
    c: &Counts,
    figs: &[Figure],
    base: Option<Result<Vec<Figure>, String>>,
) -> Observation {
    let med = interval::median_interval(&field(figs, "median_ns"), LEVEL);
    let p99 = interval::median(&field(figs, "p99_ns"));
    let f0 = &figs[0];
    let mut o = round_trip_quantities(Observation::measured(String::new()), figs, c);
    let baseline = match base {
        None => String::new(),
        Some(Err(why)) => format!("; C baseline not measured: {why}"),
        Some(Ok(b)) => {
            let cm = interval::median(&field(&b, "median_ns"));
            let ratio =
                interval::ratio_interval(&field(figs, "median_ns"), &field(&b, "median_ns"), LEVEL);
            o = o
                .with("c_median_ns", cm, "ns")
                .with("suite_over_c", ratio.estimate, "ratio")
                .with("suite_over_c_low", ratio.low, "ratio")
                .with("suite_over_c_high", ratio.high, "ratio");
            format!(
                "; the C baseline (ci/perf/ipc_rtt.c, the same exchange in {} rounds in this run): median {}, suite/C = {:.2} ({:.0}% interval {:.2} to {:.2})",
                b.len(),
                fmt_ns(cm),
                ratio.estimate,
                ratio.level * 100.0,
                ratio.low,
                ratio.high
            )
        }
    };
    o.detail = format!(
        "{}{}: {} rounds (each its own pair of processes; {}), {}: median round trip {} ({}; each round's median of its batch means), p99 {} of the sampled single round trips (median over rounds; smallest batch mean {}, largest sample {}); every echoed {}-byte message matched{baseline}{}",
        c.prefix(),
        mech.label(),
        med.rounds,
        batches_note(figs),
        describe_pin(f0.text("pin")),
        fmt_ns(med.estimate),
        med.describe(&|x| fmt_ns(x)),
        fmt_ns(p99),
        fmt_ns(
            field(figs, "min_ns")
                .into_iter()
                .fold(f64::INFINITY, f64::min)
        ),
        fmt_ns(field(figs, "max_ns").into_iter().fold(0.0, f64::max)),
        f0.text("msg_bytes"),
        load_note(figs),
    );
    o.finite_only()
}

/// The figures of rounds of round trips (a latency figure's, the floor's):
/// the median over rounds with its interval, the median p99, the smallest
/// batch mean and the largest sample, counts, and how the rounds ran.
fn round_trip_quantities(o: Observation, figs: &[Figure], c: &Counts) -> Observation {
    let med = interval::median_interval(&field(figs, "median_ns"), LEVEL);
    let trips: u64 = figs.iter().filter_map(|f| f.int("round_trips")).sum();
    let f0 = &figs[0];
    let extreme = |k: &str, start: f64, pick: fn(f64, f64) -> f64| {
        field(figs, k).into_iter().fold(start, pick)
    };
    o.with("median_ns", med.estimate, "ns")
        .with("median_ns_low", med.low, "ns")
        .with("median_ns_high", med.high, "ns")
        .with("p99_ns", interval::median(&field(figs, "p99_ns")), "ns")
        .with("min_ns", extreme("min_ns", f64::INFINITY, f64::min), "ns")
        .with("max_ns", extreme("max_ns", 0.0, f64::max), "ns")
        .with("confidence", med.level, "ratio")
        .with("rounds", med.rounds as f64, "count")
        .with("iterations", trips as f64, "count")
        .with("msg_bytes", f0.num("msg_bytes"), "bytes")
        .with(
            "pinned",
            f64::from(u8::from(f0.text("pin").contains('+'))),
            "bool",
        )
        .with("cpus", cpus(), "count")
        .with("loadavg", f0.num("loadavg"), "load")
        .with("disturbed_rounds", disturbed(figs) as f64, "count")
        .with("release_build", f64::from(u8::from(c.release)), "bool")
}

/// The latency figure as a multiple of the floor measured in the same run
/// (a bootstrap interval of the ratio of medians), or why there is none.
fn with_floor(o: Observation, figs: &[Figure], floor: Result<Vec<Figure>, String>) -> Observation {
    let mut o = o;
    match floor {
        Ok(fl) => {
            let fm = interval::median(&field(&fl, "median_ns"));
            let r = interval::ratio_interval(
                &field(figs, "median_ns"),
                &field(&fl, "median_ns"),
                LEVEL,
            );
            o.detail.push_str(&format!(
                "; {:.2}x the floor measured in the same run (perf.cross_cpu_floor, one cache line written by each side in turn: {}; {:.0}% interval {:.2} to {:.2})",
                r.estimate,
                fmt_ns(fm),
                r.level * 100.0,
                r.low,
                r.high
            ));
            o = o
                .with("floor_ns", fm, "ns")
                .with("over_floor", r.estimate, "ratio")
                .with("over_floor_low", r.low, "ratio")
                .with("over_floor_high", r.high, "ratio");
        }
        Err(why) => o
            .detail
            .push_str(&format!("; no floor to compare with: {why}")),
    }
    o.finite_only()
}

/// A blocking mechanism's figure with both processes on one CPU beside it
/// (the two placements a deployment chooses between), or why there is none.
fn with_placements(o: Observation, same: Option<Result<Vec<Figure>, String>>) -> Observation {
    let mut o = o;
    match same {
        None => {}
        Some(Ok(f)) => {
            let med = interval::median_interval(&field(&f, "median_ns"), LEVEL);
            let p99 = interval::median(&field(&f, "p99_ns"));
            o.detail.push_str(&format!(
                "; with both processes on one CPU ({}, {} rounds; {}): median round trip {} ({}), p99 {}: a blocking round trip between two CPUs is mostly the wake-up of a process on the other CPU, on one CPU a switch between the two",
                describe_pin(f[0].text("pin")),
                med.rounds,
                batches_note(&f),
                fmt_ns(med.estimate),
                med.describe(&|x| fmt_ns(x)),
                fmt_ns(p99),
            ));
            o = o
                .with("same_cpu_median_ns", med.estimate, "ns")
                .with("same_cpu_median_ns_low", med.low, "ns")
                .with("same_cpu_median_ns_high", med.high, "ns")
                .with("same_cpu_p99_ns", p99, "ns");
        }
        Some(Err(why)) => o.detail.push_str(&format!(
            "; not measured with both processes on one CPU: {why}"
        )),
    }
    o.finite_only()
}

/// "5000" or "1024 to 5000" (the time budget cut some rounds short).
pub(super) fn budget_range(figs: &[Figure], key: &str) -> String {
    let v: Vec<u64> = figs.iter().filter_map(|f| f.int(key)).collect();
    let (lo, hi) = (
        v.iter().copied().min().unwrap_or(0),
        v.iter().copied().max().unwrap_or(0),
    );
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo} to {hi}")
    }
}

fn throughput_observation(mech: Pair, c: &Counts, figs: &[Figure]) -> Observation {
    let rate = interval::median_interval(&field(figs, "bytes_per_s"), LEVEL);
    let f0 = &figs[0];
    let checked = if f0.text("counter") == "1" {
        "in every round the counter's reads added up to exactly the writes made".to_owned()
    } else {
        let v: u64 = figs.iter().filter_map(|f| f.int("verified")).sum();
        let sp: u64 = figs.iter().filter_map(|f| f.int("split")).sum();
        format!("the consumer checked {v} chunk tags ({sp} cut by read boundaries), none wrong")
    };
    let window = match f0.int("window") {
        Some(w) if w > 0 => format!(
            "; at most {w} datagrams unacknowledged (a datagram socket may drop what the receiver cannot hold)"
        ),
        _ => String::new(),
    };
    Observation::measured(format!(
        "{}{}: {} rounds (each its own pair of processes, {} bytes in messages of {} bytes, timed in {} parts after one untimed), {}: {} ({}); {checked}{window}{}",
        c.prefix(),
        mech.label(),
        rate.rounds,
        budget_range(figs, "bytes"),
        f0.text("chunk"),
        budget_range(figs, "rounds"),
        describe_pin(f0.text("pin")),
        fmt_rate(rate.estimate),
        rate.describe(&|x| fmt_rate(x)),
        load_note(figs),
    ))
    .with("bytes_per_s", rate.estimate, "bytes/s")
    .with("bytes_per_s_low", rate.low, "bytes/s")
    .with("bytes_per_s_high", rate.high, "bytes/s")
    .with("confidence", rate.level, "ratio")
    .with("rounds", rate.rounds as f64, "count")
    .with("msgs_per_s", interval::median(&field(figs, "msgs_per_s")), "messages/s")
    .with("msg_bytes", f0.num("chunk"), "bytes")
    .with("pinned", f64::from(u8::from(f0.text("pin").contains('+'))), "bool")
    .with("cpus", cpus(), "count")
    .with("loadavg", f0.num("loadavg"), "load")
    .with("disturbed_rounds", disturbed(figs) as f64, "count")
    .with("release_build", f64::from(u8::from(c.release)), "bool")
    .finite_only()
}

/// Drops quantities that are not finite numbers (a figure the OS did not
/// give, like the load average): JSON has no NaN.
pub(super) trait FiniteOnly {
    fn finite_only(self) -> Self;
}

impl FiniteOnly for Observation {
    fn finite_only(mut self) -> Self {
        self.measured.retain(|q| q.value.is_finite());
        self
    }
}
