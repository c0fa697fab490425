//! The measurements' own operating-system helpers: the clock, CPU pinning and
//! the per-step alarm. Every `unsafe` block of `crate::perf` lives here, each
//! with its SAFETY comment; what perf shares with the mechanisms (fork, shared
//! regions, process-shared pthread objects, futexes) is in `crate::sys`, and
//! each mechanism's own calls (System V messages, POSIX shared memory objects,
//! sockets) in its module under `crate::mech`.
//!
//! These run in `ipcconf-peer` processes (and their forked children) only, never
//! in the multithreaded test binary: pinning, interval timers and signal
//! dispositions are process-wide state (CONTRIBUTING.md rule 3).

use std::io;

// ------------------------------------------------------------------ the clock

/// The clock of every measurement: system-wide and monotonic, so a timestamp
/// taken in one process can be compared in another. On Linux and FreeBSD
/// CLOCK_MONOTONIC is a vDSO/shared-page read with nanosecond resolution; on
/// macOS CLOCK_MONOTONIC has only microsecond resolution, so CLOCK_UPTIME_RAW
/// (mach_absolute_time's ticks) is used there.
#[cfg(target_vendor = "apple")]
const CLOCK: libc::clockid_t = libc::CLOCK_UPTIME_RAW;
#[cfg(not(target_vendor = "apple"))]
const CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC;

/// The measurement clock (see `CLOCK`) in nanoseconds.
#[inline(always)]
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK exists on the targets it
    // is chosen for, so the call cannot fail.
    unsafe { libc::clock_gettime(CLOCK, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Gives the CPU to another runnable thread (spin waits fall back to this).
#[inline]
pub fn yield_cpu() {
    // SAFETY: sched_yield takes no arguments and has no memory effects.
    unsafe { libc::sched_yield() };
}

/// The 1-minute load average (how busy the machine was), where the OS tells.
pub fn loadavg() -> Option<f64> {
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "android"))] {
            std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
        } else if #[cfg(any(target_os = "macos", target_os = "freebsd"))] {
            let mut v = [0f64; 1];
            // SAFETY: `v` has room for the one value requested.
            let n = unsafe { libc::getloadavg(v.as_mut_ptr(), 1) };
            (n == 1).then_some(v[0])
        } else {
            None
        }
    }
}

// ---------------------------------------------------------------- CPU pinning

/// The CPUs this process may run on, lowest first; empty where the OS has no
/// affinity API (macOS offers only hints).
pub fn allowed_cpus() -> Vec<usize> {
    cfg_if::cfg_if! {
        if #[cfg(target_os = "linux")] {
            // SAFETY: cpu_set_t is plain data (a bit array): all-zero is a valid value.
            let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
            // SAFETY: `set` is writable and its size is passed; pid 0 is this process.
            let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
            if rc != 0 {
                return Vec::new();
            }
            // SAFETY: CPU_ISSET reads the bit array in bounds (cpu < CPU_SETSIZE).
            (0..libc::CPU_SETSIZE as usize).filter(|&c| unsafe { libc::CPU_ISSET(c, &set) }).collect()
        } else if #[cfg(target_os = "freebsd")] {
            // SAFETY: cpuset_t is plain data (a bit array): all-zero is a valid value.
            let mut set: libc::cpuset_t = unsafe { std::mem::zeroed() };
            // SAFETY: as on Linux: `set` is writable and its size is passed.
            let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpuset_t>(), &mut set) };
            if rc != 0 {
                return Vec::new();
            }
            let bits = std::mem::size_of::<libc::cpuset_t>() * 8;
            // SAFETY: CPU_ISSET reads the bit array in bounds (cpu < bits).
            (0..bits).filter(|&c| unsafe { libc::CPU_ISSET(c, &set) }).collect()
        } else {
            Vec::new()
        }
    }
}

/// Pins this process to one CPU.
pub fn pin_to(cpu: usize) -> io::Result<()> {
    cfg_if::cfg_if! {
        if #[cfg(target_os = "linux")] {
            // SAFETY: all-zero cpu_set_t is the empty set; CPU_SET writes in bounds
            // (the caller took `cpu` from allowed_cpus, below CPU_SETSIZE).
            let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
            unsafe { libc::CPU_SET(cpu, &mut set) };
            // SAFETY: `set` is a valid set of the size passed; pid 0 is this process.
            let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
            if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
        } else if #[cfg(target_os = "freebsd")] {
            // SAFETY: as on Linux, with FreeBSD's cpuset_t.
            let mut set: libc::cpuset_t = unsafe { std::mem::zeroed() };
            unsafe { libc::CPU_SET(cpu, &mut set) };
            // SAFETY: `set` is a valid set of the size passed; pid 0 is this process.
            let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpuset_t>(), &set) };
            if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
        } else {
            let _ = cpu;
            Err(io::Error::new(io::ErrorKind::Unsupported, "no CPU affinity API on this OS"))
        }
    }
}

// ---------------------------------------------------------------- the alarm

/// The longest one step of a measurement may block: the crate's bound on
/// every blocking step ([`crate::watchdog::BOUND`], CONTRIBUTING.md rule 4), in whole
/// seconds as setitimer takes it.
///
/// The bound follows the measurement's own progress, not the wall time of the
/// whole loop: every completed step of a measuring loop counts itself
/// ([`progress`], a plain store to this process's own counter, no system
/// call), and when the SIGALRM timer fires the handler lets the process go on
/// (and re-arms the timer) if any step completed since it last looked. Only a
/// process that made no step for a whole bound ends (SIGALRM's default
/// action), so a peer that stops answering ends this process within one to two
/// bounds and the test records `timeout`, while a measurement that a busy or
/// single-CPU machine slows to many milliseconds a step goes on. (Re-arming
/// every few hundred steps instead, as before, ended such a measurement: a
/// thousand round trips of a busy-polling pair sharing one CPU with other
/// work take longer than 2 s although every one of them completes.)
///
/// `crate::watchdog` bounds a call by running it on a helper thread; that
/// cannot serve here: the measuring processes fork their partners, and fork
/// in a process with other threads leaves the child unable to do more than
/// async-signal-safe calls; a thread would also share the measured CPUs and,
/// in the timed loops, cost a hand-off per step. A process-wide interval timer
/// costs nothing until it fires and is inherited by nothing (a forked child
/// arms its own). No system call is added to the timed steps themselves; a
/// call the handler interrupts is restarted (SA_RESTART, and the ends retry
/// the calls the kernel does not restart, EINTR).
pub const STEP_BOUND_SECS: libc::time_t = crate::watchdog::BOUND.as_secs() as libc::time_t;

/// Steps this process has completed ([`progress`]), the count the alarm saw
/// when it was last armed or fired, and the interval it was armed with (µs).
/// One writer each: the measuring loop writes `STEPS`, `arm` and the handler
/// write `SEEN`.
static STEPS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static SEEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static INTERVAL_US: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// One step of a measuring loop completed (a round trip, a message, a chunk):
/// the alarm lets a process that makes steps go on. Two plain moves, no
/// read-modify-write: only the measuring thread writes the counter.
#[inline(always)]
pub fn progress() {
    use std::sync::atomic::Ordering::Relaxed;
    STEPS.store(STEPS.load(Relaxed).wrapping_add(1), Relaxed);
}

cfg_if::cfg_if! {
    if #[cfg(target_os = "android")] {
        // bionic takes it from the kernel's <linux/time.h>; the libc crate's
        // Android module lacks the constant.
        const ITIMER_REAL: libc::c_int = 0;
    } else {
        use libc::ITIMER_REAL;
    }
}

/// (Re-)arms the alarm: SIGALRM in `secs` seconds unless re-armed again;
/// from then on, the process ends once that long passes without a step
/// ([`progress`]).
#[inline]
pub fn arm(secs: libc::time_t) {
    arm_for(secs as u64 * 1_000_000);
}

/// [`arm`] for `us` microseconds (0 disarms).
fn arm_for(us: u64) {
    use std::sync::atomic::Ordering::Relaxed;
    SEEN.store(STEPS.load(Relaxed), Relaxed);
    INTERVAL_US.store(us, Relaxed);
    set_timer(us);
}

/// Sets the interval timer to fire once in `us` microseconds
/// (async-signal-safe: one system call, no memory but the argument on the
/// stack).
#[inline]
fn set_timer(us: u64) {
    let t = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        it_value: libc::timeval {
            tv_sec: (us / 1_000_000) as libc::time_t,
            tv_usec: (us % 1_000_000) as libc::suseconds_t,
        },
    };
    // SAFETY: `t` is a valid itimerval; the old value is not requested (null).
    unsafe { libc::setitimer(ITIMER_REAL, &t, std::ptr::null_mut()) };
}

/// Disarms the alarm.
pub fn disarm() {
    arm(0);
}

/// The System V queue to remove if the alarm fires (-1: none). A private
/// System V queue outlives its processes, unlike everything else a measurement
/// makes (names are unlinked as soon as both ends are open).
static QUEUE_TO_REMOVE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// Has the alarm remove System V queue `id` (until [`forget_queue`]).
pub fn remove_queue_on_alarm(id: libc::c_int) {
    QUEUE_TO_REMOVE.store(id, std::sync::atomic::Ordering::Relaxed);
}

/// The queue `id` is removed already: the alarm leaves it alone.
pub fn forget_queue(id: libc::c_int) {
    let _ = QUEUE_TO_REMOVE.compare_exchange(
        id,
        -1,
        std::sync::atomic::Ordering::Relaxed,
        std::sync::atomic::Ordering::Relaxed,
    );
}

extern "C" fn on_alarm(_: libc::c_int) {
    use std::sync::atomic::Ordering::Relaxed;
    // Steps were made since the timer was armed or last fired: the process is
    // slow, not stuck. Look again one bound later.
    let steps = STEPS.load(Relaxed);
    if steps != SEEN.load(Relaxed) {
        SEEN.store(steps, Relaxed);
        set_timer(INTERVAL_US.load(Relaxed));
        return;
    }
    #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "macos"))]
    {
        let id = QUEUE_TO_REMOVE.load(std::sync::atomic::Ordering::Relaxed);
        if id >= 0 {
            // msgctl(IPC_RMID) is a system call, async-signal-safe; the error
            // it may make carries only the errno (no allocation).
            let _ = crate::mech::sysv_mq::ffi::remove(id);
        }
    }
    // SAFETY: only async-signal-safe calls: signal(SIG_DFL) and raise, so the
    // process still ends by SIGALRM and its parent sees why.
    unsafe {
        libc::signal(libc::SIGALRM, libc::SIG_DFL);
        libc::raise(libc::SIGALRM);
    }
}

/// Installs the alarm's handler: it lets a process that makes steps go on
/// (SA_RESTART: the call it interrupted resumes), and makes the alarm remove
/// this measurement's System V queue before a stuck process ends (a peer
/// process only; forked children inherit it).
pub fn alarm_cleans_up() {
    let handler = nix::sys::signal::SigHandler::Handler(on_alarm);
    let action = nix::sys::signal::SigAction::new(
        handler,
        nix::sys::signal::SaFlags::SA_RESTART,
        nix::sys::signal::SigSet::empty(),
    );
    // SAFETY: the handler makes only async-signal-safe calls (see on_alarm);
    // this runs in a single-threaded peer process (or, in this module's test,
    // a child forked from the test binary), never in the test binary itself.
    let _ = unsafe { nix::sys::signal::sigaction(nix::sys::signal::Signal::SIGALRM, &action) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fork::{exit_child, wait_child};

    /// A forked child that arms the alarm for `us` microseconds and then
    /// spins for `run_ms`, counting a step at every turn when `steps`; it
    /// exits 0 unless the alarm ends it.
    fn child(us: u64, run_ms: u64, steps: bool) -> libc::pid_t {
        // SAFETY: the test binary has other threads, so between fork and
        // _exit the child makes only async-signal-safe calls (sigaction,
        // setitimer, clock_gettime, _exit) and atomic stores: no lock another
        // thread held at fork time is ever taken.
        match unsafe { nix::unistd::fork() }.expect("fork") {
            nix::unistd::ForkResult::Child => {
                alarm_cleans_up();
                arm_for(us);
                let end = now_ns() + run_ms * 1_000_000;
                while now_ns() < end {
                    if steps {
                        progress();
                    }
                    std::hint::spin_loop();
                }
                exit_child(0)
            }
            nix::unistd::ForkResult::Parent { child } => child.as_raw(),
        }
    }

    #[test]
    fn the_alarm_follows_progress() {
        // Making steps, it outlives its 100 ms bound five times over; without
        // a step, the alarm ends it within the bound (and not after its 3 s).
        let busy = child(100_000, 500, true);
        let stuck = child(100_000, 3_000, false);
        let start = std::time::Instant::now();
        assert_eq!(
            wait_child(stuck).map_err(|e| e.contains("signal 14")),
            Err(true)
        );
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(wait_child(busy), Ok(0));
    }
}
