//! The peer roles of the `shm.*` claims (the guide's "common mistakes" around
//! shared memory).

// The roles map a POSIX shared-memory object: none on bionic.
#[cfg(not(target_os = "android"))]
use std::sync::atomic::Ordering;
#[cfg(not(target_os = "android"))]
use std::time::{Duration, Instant};

#[cfg(not(target_os = "android"))]
use crate::peer::wire;

#[cfg(not(target_os = "android"))]
use super::{
    PROBE_WAIT, PROCESSED, READY, Request, SYNC_DATA, SYNC_DATA_LEN, SYNC_PROBE, SYNC_RESULT,
    SharedSync, Usage, WaitHow, WaitThen, WaiterCommand, err_line, say, serve_memory, spin_until,
};

/// What the consumer of the guide's example does to the data: reverses it.
pub fn process(data: &[u8]) -> Vec<u8> {
    data.iter().rev().copied().collect()
}

/// Peer roles of the `shm.*` claims: `shm-waiter <name> <len>` maps a POSIX
/// shared-memory object holding a [`SharedSync`] block and serves the memory
/// protocol plus [`WaiterCommand`], `wait <spin|cond> <leave|process> <ms>`:
/// prints `waiting`, waits
/// for the flag to become READY (spinning on it, or in the guide's
/// pthread_cond_wait() loop), processes the data when asked, then answers `ok
/// <cpu_us> <wall_us> <loads|wakeups> <voluntary> <involuntary>` (getrusage
/// deltas over the wait, from just after `waiting` to the flag seen: CPU time
/// and context switches).
/// `shm-condvar-same-address <name> <len>`: see `same_address_probe`.
pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
    match (role, args) {
        // The waiter maps a POSIX shared-memory object: none on bionic.
        #[cfg(not(target_os = "android"))]
        ("shm-waiter", [name, len]) => Some(waiter(name, len)),
        #[cfg(not(target_os = "android"))]
        ("shm-condvar-same-address", [name, len]) => Some(same_address_probe(name, len)),
        _ => None,
    }
}

/// What a second wait on a process-shared condition variable returned while
/// another process's wait was pending, in words.
///
/// macOS records the waiting mutex's address in the condition variable
/// (`cond->busy = mutex`, cleared when no waiter is left) and refuses a wait
/// through a mutex at any other address with EINVAL (apple-oss-distributions/
/// libpthread src/pthread_cond.c, _pthread_cond_wait: `if (!ulock &&
/// cond->busy != NULL && cond->busy != mutex) return EINVAL;` and
/// _pthread_psynch_cond_wait, _pthread_cond_updateval). Two processes that
/// map the object separately usually see it at different addresses; a child
/// forked after the mapping sees the parent's.
pub fn second_waiter_rule(rc: libc::c_int) -> String {
    match rc {
        0 | libc::ETIMEDOUT => format!(
            "accepted ({})",
            if rc == 0 {
                "woken"
            } else {
                "ETIMEDOUT after its 20 ms"
            }
        ),
        rc => format!("refused: {}", crate::sys::errno_name(rc)),
    }
}

/// `shm-condvar-same-address <name> <len>`: maps the object, forks (the
/// child sees the mapping, so the mutex, at the parent's address), lets the
/// child wait on the condition variable, and while that wait is pending
/// waits once more from the parent through the same mutex address.
/// Answers `probe <rc> child <exit>`.
#[cfg(not(target_os = "android"))]
fn same_address_probe(name: &str, len: &str) -> Result<(), String> {
    use crate::sys::fork::{Forked, exit_child, fork, kill, wait_child};
    const IN_WAIT: u32 = 1;
    const RELEASED: u32 = 2;
    let len: usize = wire::num(len, "length")?;
    let obj = crate::mech::posix_shm::Object::open(name, len)
        .map_err(|e| format!("open {name}: {}", crate::observe::describe_io_error(&e)))?;
    let sync = SharedSync::attach(&obj.map);
    let word = obj.map.atomic(SYNC_PROBE);
    word.store(0, Ordering::Release);
    let deadline = Instant::now() + crate::watchdog::BOUND;
    match fork().map_err(|e| format!("fork: {e}"))? {
        Forked::Child => {
            // Announce the wait while holding the mutex: the parent, once it
            // holds the mutex and sees IN_WAIT, knows this wait is pending.
            let code = match sync.lock(deadline) {
                Err(_) => 3,
                Ok(locked) => {
                    word.store(IN_WAIT, Ordering::Release);
                    let mut code = 0;
                    while word.load(Ordering::Acquire) != RELEASED {
                        let left = deadline.saturating_duration_since(Instant::now());
                        match locked.wait_rc(left) {
                            0 => {}
                            libc::ETIMEDOUT => {
                                code = 4;
                                break;
                            }
                            _ => {
                                code = 5;
                                break;
                            }
                        }
                    }
                    drop(locked);
                    code
                }
            };
            exit_child(code)
        }
        Forked::Parent(pid) => {
            let rc = loop {
                let locked = match sync.lock(deadline) {
                    Ok(l) => l,
                    Err(e) => {
                        kill(pid);
                        let _ = wait_child(pid);
                        return Err(format!("lock: {e}"));
                    }
                };
                if word.load(Ordering::Acquire) == IN_WAIT {
                    let rc = locked.wait_rc(PROBE_WAIT);
                    word.store(RELEASED, Ordering::Release);
                    let _ = locked.broadcast();
                    break rc;
                }
                drop(locked);
                if Instant::now() >= deadline {
                    kill(pid);
                    let _ = wait_child(pid);
                    return Err("the forked child never waited".into());
                }
                std::thread::yield_now();
            };
            // The child's own waits end by its deadline: this wait is bounded.
            let child = match wait_child(pid) {
                Ok(code) => code.to_string(),
                Err(e) => e.replace(' ', "_"),
            };
            say(&format!("probe {rc} child {child}"))
        }
    }
}

#[cfg(not(target_os = "android"))]
fn waiter(name: &str, len: &str) -> Result<(), String> {
    let len: usize = wire::num(len, "length")?;
    let obj = crate::mech::posix_shm::Object::open(name, len)
        .map_err(|e| format!("open {name}: {}", crate::observe::describe_io_error(&e)))?;
    let sync = SharedSync::attach(&obj.map);
    serve_memory(
        &obj.map,
        &mut |request: &Request<WaiterCommand>| match *request {
            Request::Role(WaiterCommand::Wait { how, then, ms }) => {
                Some(wait_for_ready(&sync, how, then, ms))
            }
            Request::Memory(_) => None,
        },
    )
}

/// `wait <spin|cond> <leave|process> <ms>`.
#[cfg(not(target_os = "android"))]
fn wait_for_ready(
    sync: &SharedSync<'_>,
    how: WaitHow,
    then: WaitThen,
    ms: u64,
) -> Result<String, String> {
    let bound = Duration::from_millis(ms);
    let process_it = then == WaitThen::Process;
    let deadline = Instant::now() + bound;
    let mut wakeups: u64 = 0;
    // The figures cover the wait itself: from just after saying "waiting" to
    // seeing the flag. What comes before (the first touch of the mapping and
    // the mutex, the first write to stdout of a fresh process) is no part of
    // waiting, and under emulation costs milliseconds of CPU.
    let waited: (Usage, Duration);
    match how {
        WaitHow::Spin => {
            // The guide's mistake: while (shared->flag != READY) {}
            say("waiting")?;
            let (usage0, t0) = (Usage::now().map_err(|e| e.to_string())?, Instant::now());
            match spin_until(sync.flag(), |v| v == READY, bound) {
                Ok((_, spins)) => wakeups = spins,
                Err(v) => return Ok(format!("timeout flag {v}")),
            }
            waited = (usage(&usage0)?, t0.elapsed());
            if process_it {
                let data = sync.map().read(SYNC_DATA, SYNC_DATA_LEN);
                sync.map().write(SYNC_RESULT, &process(&data));
                sync.flag().store(PROCESSED, Ordering::Release);
            }
        }
        WaitHow::Cond => {
            // The guide's correction, line by line.
            let locked = match sync.lock(deadline) {
                Ok(l) => l,
                Err(e) => return Ok(err_line(&e)),
            };
            say("waiting")?;
            let (usage0, t0) = (Usage::now().map_err(|e| e.to_string())?, Instant::now());
            while sync.flag().load(Ordering::Acquire) != READY {
                match locked.wait(deadline) {
                    Ok(true) => wakeups += 1,
                    Ok(false) => {
                        return Ok(format!(
                            "timeout flag {}",
                            sync.flag().load(Ordering::Acquire)
                        ));
                    }
                    Err(e) => return Ok(err_line(&e)),
                }
            }
            waited = (usage(&usage0)?, t0.elapsed());
            if process_it {
                let data = sync.map().read(SYNC_DATA, SYNC_DATA_LEN);
                sync.map().write(SYNC_RESULT, &process(&data));
                sync.flag().store(PROCESSED, Ordering::Release);
                if let Err(e) = locked.signal() {
                    return Ok(err_line(&e));
                }
            }
            drop(locked);
        }
    }
    let (u, wall) = waited;
    Ok(format!(
        "ok {} {} {wakeups} {} {}",
        u.cpu_us,
        wall.as_micros(),
        u.voluntary,
        u.involuntary
    ))
}

/// What getrusage says this process used since `earlier`.
#[cfg(not(target_os = "android"))]
fn usage(earlier: &Usage) -> Result<Usage, String> {
    Ok(Usage::now().map_err(|e| e.to_string())?.since(earlier))
}
