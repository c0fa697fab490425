//! The two-process orchestration of a measurement, and the throughput loops.
//!
//! A measurement runs in an `ipcconf-peer` process: it builds both ends of the
//! mechanism, forks, pins itself and the child to two different CPUs (where the
//! OS allows; or both to one CPU, [`pin_same`]), and runs the measuring side
//! while the child echoes (latency, `super::latency`) or consumes
//! (throughput, here). The child reports its own counts through a small
//! shared page and its exit status.
//!
//! Inside the timed loops: only the mechanism's own calls, clock reads at the
//! edges of what is timed (a latency batch, a throughput round), stores into
//! preallocated arrays, and, every few hundred steps outside anything timed,
//! the re-arming of the watchdog. No allocation, formatting or locking.

use std::fmt;

use nix::errno::Errno;

use super::ends::End;
use super::stats;
use super::sys::{self, STEP_BOUND_SECS};
use crate::sys::fork::{self, Forked};
use crate::sys::shared::Region;

/// Why a loop stopped (formatted only after the loop).
#[derive(Debug, Clone, Copy)]
pub enum Fail {
    Sys(&'static str, Errno),
    Eof(&'static str),
    Mismatch {
        what: &'static str,
        at: u64,
        expected: u64,
        got: u64,
    },
    Short {
        what: &'static str,
        expected: u64,
        got: u64,
    },
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Fail::Sys(what, e) => write!(f, "{what}: {e:?} ({})", e.desc()),
            Fail::Eof(what) => write!(f, "{what}: end of stream: the partner is gone"),
            Fail::Mismatch {
                what,
                at,
                expected,
                got,
            } => write!(f, "{what} #{at}: expected {expected:#x}, got {got:#x}"),
            Fail::Short {
                what,
                expected,
                got,
            } => write!(f, "{what}: expected {expected} bytes, got {got}"),
        }
    }
}

// ---------------------------------------------------------------- pinning

/// Where the two processes of a measurement run.
#[derive(Debug, Clone)]
pub struct Pin {
    pub parent: Option<usize>,
    pub child: Option<usize>,
    /// What was planned, for the record: `cpu0+cpu1`, `none:one-cpu`, ...
    pub plan: String,
}

/// Two different allowed CPUs when there are two or more.
pub fn pin_plan() -> Pin {
    let cpus = sys::allowed_cpus();
    match cpus.as_slice() {
        [a, b, ..] => Pin {
            parent: Some(*a),
            child: Some(*b),
            plan: format!("cpu{a}+cpu{b}"),
        },
        [_] => Pin {
            parent: None,
            child: None,
            plan: "none:one-cpu".into(),
        },
        [] => Pin {
            parent: None,
            child: None,
            plan: if cfg!(any(target_os = "linux", target_os = "freebsd")) {
                "none:affinity-unreadable".into()
            } else {
                "none:no-affinity-api".into()
            },
        },
    }
}

/// Both processes on one CPU, the first allowed (a deployment that places a
/// client and its server together): `cpu0=cpu0`.
pub fn pin_same() -> Pin {
    match sys::allowed_cpus().first() {
        Some(&a) => Pin {
            parent: Some(a),
            child: Some(a),
            plan: format!("cpu{a}=cpu{a}"),
        },
        None => Pin {
            parent: None,
            child: None,
            plan: pin_plan().plan,
        },
    }
}

/// Pins this process as planned; returns the note to record.
pub(super) fn pin_self(cpu: Option<usize>, plan: &str) -> String {
    match cpu {
        None => plan.to_owned(),
        Some(c) => match sys::pin_to(c) {
            Ok(()) => plan.to_owned(),
            Err(e) => format!("none:pin-failed-{}", crate::observe::describe_io_error(&e))
                .replace(' ', "-"),
        },
    }
}

// ------------------------------------------------------------- the child

/// The words of the child's report page, in order, 8 bytes each.
#[derive(Clone, Copy)]
pub(super) enum Rep {
    Count,
    Bytes,
    Verified,
    Split,
    Mismatch,
    Reads,
    PinFailed,
    Sum,
    /// Throughput: r + 1 once the producer has decided that round r is the last.
    Last,
}

impl Rep {
    /// The word's offset in the page.
    pub(super) const fn at(self) -> usize {
        self as usize * 8
    }
}

/// A forked child, killed and reaped if the parent leaves early.
pub struct Child {
    pid: libc::pid_t,
    reaped: bool,
}

impl Child {
    pub fn new(pid: libc::pid_t) -> Child {
        Child { pid, reaped: false }
    }

    /// Waits (bounded by the watchdog) for the child's exit code.
    pub fn wait(&mut self) -> Result<i32, String> {
        self.wait_within(STEP_BOUND_SECS)
    }

    /// Waits for the child after the measuring side's `r`, then disarms the
    /// alarm: `r`'s value when both went well, else why not (the `role`
    /// process is the child: "echoing", "consuming").
    pub fn reap<T>(&mut self, r: Result<T, Fail>, role: &str) -> Result<T, String> {
        let status = self.wait();
        sys::disarm();
        let done = r.map_err(|f| format!("{f} (partner: {status:?})"))?;
        match status {
            Ok(0) => Ok(done),
            Ok(c) => Err(format!("the {role} process exited with {c}")),
            Err(e) => Err(e),
        }
    }

    /// Waits at most `secs` seconds (the watchdog) for the child's exit code.
    pub fn wait_within(&mut self, secs: libc::time_t) -> Result<i32, String> {
        sys::arm(secs);
        let r = fork::wait_child(self.pid);
        self.reaped = true;
        r
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.reaped {
            fork::kill(self.pid);
            let _ = fork::wait_child(self.pid);
        }
    }
}

/// Runs `body` as the forked child: pinned, watched, and ended with `_exit`
/// (never unwinding into the parent's frames, whose guards remove names).
pub fn child_main(
    parent: libc::pid_t,
    cpu: Option<usize>,
    report: &Region,
    body: impl FnOnce() -> Result<(), Fail>,
) -> ! {
    fork::die_with_parent(parent);
    if let Some(c) = cpu {
        if sys::pin_to(c).is_err() {
            report.u64_at(Rep::PinFailed.at()).store(1, Relaxed);
        }
    }
    sys::arm(STEP_BOUND_SECS);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
    let code = match r {
        Ok(Ok(())) => 0,
        Ok(Err(f)) => {
            eprintln!("measurement partner: {f}");
            1
        }
        Err(_) => 101,
    };
    fork::exit_child(code)
}

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

pub(super) fn parent_pid() -> libc::pid_t {
    nix::unistd::getpid().as_raw()
}

// ------------------------------------------------------------------ loops

#[inline(always)]
pub(super) fn send_all<E: End>(e: &mut E, len: usize) -> Result<(), Fail> {
    let mut off = 0;
    while off < len {
        let n = e.send(off, len - off).map_err(|x| Fail::Sys("send", x))?;
        if !E::STREAM && n != len {
            return Err(Fail::Short {
                what: "message send",
                expected: len as u64,
                got: n as u64,
            });
        }
        off += n;
    }
    Ok(())
}

/// Appends `key=value` pairs to the figures of a result line, after
/// `measure=` and `mech=`.
pub struct Line(stats::Figure);

impl Line {
    pub fn new(measure: &str, mech: &str) -> Line {
        Line(stats::Figure::default())
            .kv("measure", measure)
            .kv("mech", mech)
    }

    pub fn kv(mut self, k: &str, v: impl fmt::Display) -> Line {
        self.0.push(k, v);
        self
    }

    /// The median, p99, minimum and maximum of a summary, in ns, as
    /// `<prefix>median_ns` and so on.
    pub fn spread(self, prefix: &str, s: &stats::Summary) -> Line {
        self.kv(&format!("{prefix}median_ns"), s.median)
            .kv(&format!("{prefix}p99_ns"), s.p99)
            .kv(&format!("{prefix}min_ns"), s.min)
            .kv(&format!("{prefix}max_ns"), s.max)
    }

    /// The load average when the measurement started ("na" where the OS
    /// does not tell).
    pub fn loadavg(self, load: Option<f64>) -> Line {
        self.kv(
            "loadavg",
            load.map(|l| format!("{l:.2}"))
                .unwrap_or_else(|| "na".into()),
        )
    }

    /// Where the processes ran: the plan as carried out, and whether the
    /// partner could not be pinned.
    pub fn pin(self, pinned: String, partner_failed: bool) -> Line {
        self.kv(
            "pin",
            if partner_failed {
                format!("{pinned}(partner-unpinned)")
            } else {
                pinned
            },
        )
    }

    pub fn finish(self) -> stats::Figure {
        self.0
    }
}

// ------------------------------------------------------------- throughput

/// The shape of a throughput run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Bytes per message (per write for streams).
    pub chunk: usize,
    pub chunks_per_round: u64,
    /// Timed rounds; one more untimed round warms up first.
    pub rounds: u64,
    /// Datagram mechanisms that may drop when the receiver is full (UDP; Unix
    /// datagrams off Linux): at most this many messages unacknowledged, the
    /// consumer acknowledging every `window / 2`.
    pub window: Option<u64>,
    /// Stop after the round that would end past this many nanoseconds of timed
    /// rounds (but not before `MIN_ROUNDS`).
    pub budget_ns: u64,
}

pub use super::stats::MIN_ROUNDS;

/// The tag at the start of chunk `i`: lets the consumer check that every chunk
/// arrived, in order, without reading the whole payload.
#[inline(always)]
pub fn tag(i: u64) -> u64 {
    0x5eed_0000_0000_0000 ^ i
}

#[inline(always)]
fn ack_value<E: End>(e: &mut E) -> Result<u64, Fail> {
    let mut got = [0u8; 8];
    let mut have = 0;
    while have < 8 {
        let n = e
            .recv()
            .map_err(|x| Fail::Sys("acknowledgement receive", x))?;
        if n == 0 {
            return Err(Fail::Eof("acknowledgement receive"));
        }
        if !E::STREAM && n != 8 {
            return Err(Fail::Short {
                what: "acknowledgement",
                expected: 8,
                got: n as u64,
            });
        }
        let take = n.min(8 - have);
        got[have..have + take].copy_from_slice(&e.rx()[..take]);
        have += take;
    }
    Ok(u64::from_le_bytes(got))
}

#[inline(always)]
fn send_ack<E: End>(e: &mut E, value: u64) -> Result<(), Fail> {
    e.tx()[..8].copy_from_slice(&value.to_le_bytes());
    send_all(e, 8)
}

/// The producing (measuring) side. Fills `round_ns` with each timed round's
/// duration: from its first send to the consumer's acknowledgement of its last
/// byte. Before a round starts it decides whether that round is the last (all
/// rounds made, or the budget would be exceeded) and tells the consumer through
/// the report page, before the round's first byte. Returns (timed rounds made,
/// wall time).
fn produce<E: End>(
    e: &mut E,
    p: &Plan,
    round_ns: &mut [u64],
    report: &Region,
) -> Result<(u64, u64), Fail> {
    let chunk = p.chunk as u64;
    let mut idx = 0u64;
    let mut sent = 0u64;
    let mut acked = 0u64;
    let start = sys::now_ns();
    let mut timed_start = start;
    let mut prev = 0u64;
    let mut r = 0u64;
    loop {
        let last =
            r == p.rounds || (r >= MIN_ROUNDS && sys::now_ns() - timed_start + prev > p.budget_ns);
        if last {
            report.u64_at(Rep::Last.at()).store(r + 1, Release);
        }
        sys::arm(STEP_BOUND_SECS);
        let t0 = sys::now_ns();
        if r == 1 {
            timed_start = t0;
        }
        for k in 0..p.chunks_per_round {
            let word = if E::COUNTER { 1 } else { tag(idx) };
            e.tx()[..8].copy_from_slice(&word.to_le_bytes());
            send_all(e, p.chunk)?;
            idx += 1;
            sent += chunk;
            if let Some(w) = p.window {
                while sent - acked >= w * chunk {
                    acked = acked.max(ack_value(e)?);
                }
            }
            if k & 63 == 63 {
                sys::arm(STEP_BOUND_SECS);
            }
        }
        while acked < sent {
            acked = acked.max(ack_value(e)?);
        }
        if acked != sent {
            return Err(Fail::Mismatch {
                what: "acknowledged bytes at round",
                at: r,
                expected: sent,
                got: acked,
            });
        }
        prev = sys::now_ns() - t0;
        if r > 0 {
            round_ns[(r - 1) as usize] = prev;
        }
        if last {
            return Ok((r, sys::now_ns() - start));
        }
        r += 1;
    }
}

/// Counts of what the consumer saw.
#[derive(Default)]
struct Seen {
    verified: u64,
    split: u64,
    mismatch: u64,
    reads: u64,
    sum: u64,
}

/// Checks the tags of the chunk starts that fall inside `data`, which begins at
/// stream offset `off`. A tag cut by the end of `data` counts as split.
#[inline(always)]
fn verify(data: &[u8], off: u64, chunk: u64, seen: &mut Seen) {
    let end = off + data.len() as u64;
    let mut b = off.div_ceil(chunk) * chunk;
    while b + 8 <= end {
        let i = (b - off) as usize;
        let v = u64::from_le_bytes(data[i..i + 8].try_into().expect("8 bytes"));
        if v == tag(b / chunk) {
            seen.verified += 1;
        } else {
            seen.mismatch += 1;
        }
        b += chunk;
    }
    if b < end {
        seen.split += 1;
    }
}

/// The consuming side (the child): receives every round, checks it, acknowledges it.
fn consume<E: End>(e: &mut E, p: &Plan, report: &Region) -> Result<(), Fail> {
    let chunk = p.chunk as u64;
    let round_bytes = chunk * p.chunks_per_round;
    let ack_every = p.window.map(|w| (w / 2).max(1));
    let mut seen = Seen::default();
    let mut got = 0u64;
    let mut msgs = 0u64;
    for r in 0..=p.rounds {
        let end = (r + 1) * round_bytes;
        while got < end {
            let n = e.recv().map_err(|x| Fail::Sys("consumer receive", x))?;
            if n == 0 {
                return Err(Fail::Eof("consumer receive"));
            }
            seen.reads += 1;
            if E::COUNTER {
                let v = u64::from_le_bytes(e.rx()[..8].try_into().expect("8 bytes"));
                seen.sum += v;
                got += v * chunk;
            } else {
                if !E::STREAM && n != p.chunk {
                    return Err(Fail::Short {
                        what: "message",
                        expected: chunk,
                        got: n as u64,
                    });
                }
                verify(&e.rx()[..n], got, chunk, &mut seen);
                got += n as u64;
                msgs += 1;
                if let Some(a) = ack_every {
                    if msgs % a == 0 {
                        send_ack(e, got)?;
                    }
                }
            }
            if seen.reads & 63 == 0 {
                sys::arm(STEP_BOUND_SECS);
            }
        }
        if got != end {
            return Err(Fail::Short {
                what: "round",
                expected: end,
                got,
            });
        }
        send_ack(e, got)?;
        // The producer decided before this round's first byte whether it is the last.
        if report.u64_at(Rep::Last.at()).load(Acquire) == r + 1 {
            break;
        }
    }
    report.u64_at(Rep::Bytes.at()).store(got, Relaxed);
    report
        .u64_at(Rep::Verified.at())
        .store(seen.verified, Relaxed);
    report.u64_at(Rep::Split.at()).store(seen.split, Relaxed);
    report
        .u64_at(Rep::Mismatch.at())
        .store(seen.mismatch, Relaxed);
    report.u64_at(Rep::Reads.at()).store(seen.reads, Relaxed);
    report.u64_at(Rep::Sum.at()).store(seen.sum, Relaxed);
    Ok(())
}

/// Bulk throughput of a pair: the figures of its result line.
pub fn throughput<E: End>(
    mech: &str,
    pair: (E, E),
    plan: Plan,
    pin: &Pin,
) -> Result<stats::Figure, String> {
    if plan.chunk < 8 || plan.rounds == 0 || plan.chunks_per_round == 0 {
        return Err(format!("bad plan {plan:?}"));
    }
    let report = Region::anonymous(4096).map_err(|e| format!("report page: {e}"))?;
    let mut round_ns = vec![0u64; plan.rounds as usize];
    let parent = parent_pid();
    let (mut a, mut b) = pair;
    match fork::fork().map_err(|e| format!("fork: {e}"))? {
        Forked::Child => {
            drop(a);
            child_main(parent, pin.child, &report, || {
                consume(&mut b, &plan, &report)
            })
        }
        Forked::Parent(pid) => {
            drop(b);
            let mut child = Child::new(pid);
            let pinned = pin_self(pin.parent, &pin.plan);
            let load = sys::loadavg();
            let r = produce(&mut a, &plan, &mut round_ns, &report);
            let (rounds, wall) = child.reap(r, "consuming")?;
            let q = |o| report.u64_at(o).load(Relaxed);
            let child_pin_failed = q(Rep::PinFailed.at()) != 0;
            let bytes = plan.chunk as u64 * plan.chunks_per_round * rounds;
            let msgs = plan.chunks_per_round * rounds;
            let s = stats::summarize(&mut round_ns[..rounds as usize]);
            let total_s = s.sum as f64 / 1e9;
            let round_bytes = plan.chunk as u64 * plan.chunks_per_round;
            Ok(Line::new("throughput", mech)
                .kv("bytes", bytes)
                .kv("chunk", plan.chunk)
                .kv("msgs", msgs)
                .kv("rounds", rounds)
                .kv("planned_rounds", plan.rounds)
                .kv("budget_ns", plan.budget_ns)
                .kv("warmup_bytes", round_bytes)
                .spread("round_", &s)
                .kv("sum_ns", s.sum)
                .kv("elapsed_ns", wall)
                .kv("bytes_per_s", format!("{:.0}", bytes as f64 / total_s))
                .kv("msgs_per_s", format!("{:.0}", msgs as f64 / total_s))
                .kv(
                    "median_round_bytes_per_s",
                    format!("{:.0}", round_bytes as f64 / (s.median as f64 / 1e9)),
                )
                .kv("consumer_bytes", q(Rep::Bytes.at()))
                .kv("verified", q(Rep::Verified.at()))
                .kv("split", q(Rep::Split.at()))
                .kv("mismatch", q(Rep::Mismatch.at()))
                .kv("reads", q(Rep::Reads.at()))
                .kv("counter_sum", q(Rep::Sum.at()))
                .kv("counter", u8::from(E::COUNTER))
                .kv("stream", u8::from(E::STREAM))
                .kv("window", plan.window.unwrap_or(0))
                .loadavg(load)
                .pin(pinned, child_pin_failed)
                .finish())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_counts_every_chunk_start_once() {
        // A stream of 4 chunks of 16 bytes, delivered in awkward pieces.
        let chunk = 16u64;
        let mut stream = vec![0u8; 64];
        for i in 0..4u64 {
            let at = (i * chunk) as usize;
            stream[at..at + 8].copy_from_slice(&tag(i).to_le_bytes());
        }
        let mut seen = Seen::default();
        let mut off = 0u64;
        for piece in [5usize, 20, 3, 36] {
            verify(
                &stream[off as usize..off as usize + piece],
                off,
                chunk,
                &mut seen,
            );
            off += piece as u64;
        }
        assert_eq!(seen.verified + seen.split, 4);
        assert_eq!(seen.mismatch, 0);
        // Chunk 0's tag [0, 8) is cut by the first piece's end at 5; chunk 1's
        // [16, 24) lies inside [5, 25); chunks 2 and 3 inside [28, 64).
        assert_eq!((seen.verified, seen.split), (3, 1));
        let mut bad = Seen::default();
        stream[16] ^= 1;
        verify(&stream, 0, chunk, &mut bad);
        assert_eq!((bad.verified, bad.mismatch), (3, 1));
    }

    #[test]
    fn verify_reports_a_cut_tag_as_split() {
        let chunk = 16u64;
        let mut stream = [0u8; 32];
        stream[16..24].copy_from_slice(&tag(1).to_le_bytes());
        stream[0..8].copy_from_slice(&tag(0).to_le_bytes());
        let mut seen = Seen::default();
        verify(&stream[..20], 0, chunk, &mut seen);
        verify(&stream[20..], 20, chunk, &mut seen);
        assert_eq!((seen.verified, seen.split), (1, 1));
    }
}
