//! Shared memory in general: the `shm.*` claims, from the guide's "common
//! mistakes" (polling shared memory; its corrected example with a mutex and a
//! condition variable) and its selection checklist ("Processes don't fully
//! trust each other? → Avoid shared memory"). Also proves that every object the
//! shared-memory suites make is removed when a check panics.
//!
//! The checks use POSIX shared memory between separate peer processes.

#[cfg(any(unix, windows))]
use ipc_conformance::{Observation, Step, check};

ipc_conformance::suite!();

#[cfg(all(unix, not(target_os = "android")))]
#[path = "common/cleanup.rs"]
mod cleanup;

// These checks share memory through POSIX shm, which bionic lacks.
#[cfg(all(unix, not(target_os = "android")))]
mod unix {
    use super::*;
    use crate::cleanup::held_by_a_panicking_check;
    use ipc_conformance::Checked;
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};

    use ipc_conformance::check::Ctx;
    use ipc_conformance::mech::posix_shm::Object;
    use ipc_conformance::mech::shm::{
        PROBE_WAIT, PROCESSED, READY, SYNC_DATA, SYNC_DATA_LEN, SYNC_LEN, SYNC_RESULT, SharedSync,
        WaitHow, WaitThen, WaiterCommand, pattern, process, second_waiter_rule,
    };
    use ipc_conformance::peer::Peer;
    use ipc_conformance::watchdog::BOUND;

    /// A peer that maps the object by name and waits on its flag.
    fn waiter(cx: &Ctx, obj: &Object) -> Checked<Peer> {
        let len = obj.map.len().to_string();
        let mut cmd = cx.peer(&["shm-waiter", &obj.name, &len]);
        cmd.command().env_clear();
        Ok(cmd.start()?)
    }

    /// A waiter's report: `ok <cpu_us> <wall_us> <count> <voluntary> <involuntary>`.
    struct Waited {
        cpu: u64,
        wall: u64,
        count: u64,
        voluntary: u64,
        involuntary: u64,
    }

    fn usage(answer: &str, who: &str) -> Checked<Waited> {
        let nums: Vec<u64> = answer
            .strip_prefix("ok ")
            .map(|s| s.split(' ').filter_map(|w| w.parse().ok()).collect())
            .unwrap_or_default();
        match nums[..] {
            [cpu, wall, count, voluntary, involuntary] => Ok(Waited {
                cpu,
                wall,
                count,
                voluntary,
                involuntary,
            }),
            _ => Err(Observation::error(format!("{who} answered {answer:?}"))),
        }
    }

    /// How long both waiters of `spin_wait_burns_cpu` wait for the flag.
    const INTERVAL: Duration = Duration::from_millis(150);

    /// Experiments `spin_wait_burns_cpu` makes at most. CPU accounting on a busy
    /// or emulated machine only ever adds time to a process (a preemption, a
    /// timer tick charged to it), never removes any, so one experiment in which
    /// the sleeper stayed idle while the spinner burned settles the claim; a
    /// sleeper that really burned CPU would do so in every attempt.
    const ATTEMPTS: usize = 3;

    /// One experiment: a spinner and a condition-variable sleeper wait for the
    /// same flag, set after [`INTERVAL`]; each reports its CPU time and wall time.
    fn wait_once(cx: &Ctx) -> Checked<Result<(Waited, Waited), Observation>> {
        let obj = Object::create(SYNC_LEN).step("shm_open")?;
        let sync = SharedSync::init(&obj.map).step("process-shared mutex and condvar")?;
        let mut spinner = waiter(cx, &obj)?;
        let mut sleeper = waiter(cx, &obj)?;
        let bound = BOUND.as_millis() as u64;
        for (p, how) in [(&mut spinner, WaitHow::Spin), (&mut sleeper, WaitHow::Cond)] {
            let wait = WaiterCommand::Wait {
                how,
                then: WaitThen::Leave,
                ms: bound,
            };
            let said = p.request(&wait.to_string())?;
            if said != "waiting" {
                return Ok(Err(Observation::error(format!(
                    "the {how} waiter said {said:?}"
                ))));
            }
        }
        // The experiment's interval, not synchronisation: both waiters have
        // already said they are waiting; each now waits this long for the flag.
        std::thread::sleep(INTERVAL);
        {
            let locked = sync.lock(Instant::now() + BOUND).step("lock")?;
            sync.flag().store(READY, Ordering::Release);
            locked.broadcast().step("pthread_cond_broadcast")?;
        }
        let spin = usage(&spinner.line(BOUND)?, "spinner")?;
        let cond = usage(&sleeper.line(BOUND)?, "sleeper")?;
        drop((spinner.finish(), sleeper.finish()));
        sync.destroy();
        let half = INTERVAL.as_micros() as u64 / 2;
        if spin.wall < half || cond.wall < half {
            return Ok(Err(Observation::error(format!(
                "a waiter returned too early: spinner after {} us, sleeper after {} us",
                spin.wall, cond.wall
            ))));
        }
        Ok(Ok((spin, cond)))
    }

    #[test]
    fn spin_wait_burns_cpu() {
        check!("shm.spin_wait_burns_cpu", |cx| {
            let mut earlier = Vec::new();
            for attempt in 1..=ATTEMPTS {
                let (spin, cond) = match wait_once(cx)? {
                    Ok(waited) => waited,
                    Err(o) => return Ok(o),
                };
                // The spinner's share of a core depends on how busy the machine is, so
                // compare the two waiters: the spinner burns CPU for the whole wait
                // (it only ever leaves the CPU when preempted), the sleeper next to none.
                let (spin_cpu, cond_cpu) = (spin.cpu, cond.cpu);
                let burns = spin_cpu >= cond_cpu.max(100) * 20;
                let idle = cond_cpu * 20 <= cond.wall;
                if !(burns && idle) && attempt < ATTEMPTS {
                    earlier.push(format!(
                        "attempt {attempt}: spinner {spin_cpu} us of CPU in {} us, sleeper {cond_cpu} us in {} us",
                        spin.wall, cond.wall
                    ));
                    continue;
                }
                let load = std::fs::read_to_string("/proc/loadavg")
                    .ok()
                    .and_then(|l| {
                        l.split(' ').next().map(|s| {
                            format!(
                                "; load average {s} on {} CPUs",
                                std::thread::available_parallelism().map_or(0, |n| n.get())
                            )
                        })
                    })
                    .unwrap_or_default();
                let before = if earlier.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; attempt {attempt} of {ATTEMPTS} (before it, {})",
                        earlier.join("; ")
                    )
                };
                return Ok(Observation::holds(
                    burns && idle,
                    format!(
                        "two peer processes waited for the same flag in shared memory, set by this process {} ms after both said they were waiting: the spinner (while flag != READY, {} loads) used {spin_cpu} us of CPU in {} us ({:.0}%; context switches: {} voluntary, {} involuntary); the pthread_cond_wait() waiter on a process-shared condition variable used {cond_cpu} us in {} us ({:.2}%; {} wake-up(s); context switches: {} voluntary, {} involuntary); CPU times from getrusage(RUSAGE_SELF) in each peer, from just after it said it was waiting until it saw the flag{load}{before}",
                        INTERVAL.as_millis(),
                        spin.count,
                        spin.wall,
                        100.0 * spin_cpu as f64 / spin.wall.max(1) as f64,
                        spin.voluntary,
                        spin.involuntary,
                        cond.wall,
                        100.0 * cond_cpu as f64 / cond.wall.max(1) as f64,
                        cond.count,
                        cond.voluntary,
                        cond.involuntary
                    ),
                )
                .with("spinner_cpu", spin_cpu as f64, "us")
                .with("spinner_wall", spin.wall as f64, "us")
                .with("condvar_cpu", cond_cpu as f64, "us")
                .with("condvar_wall", cond.wall as f64, "us")
                .with("attempts", attempt as f64, "count"));
            }
            unreachable!("the last attempt always returns")
        });
    }

    #[test]
    fn process_shared_condvar() {
        check!("shm.process_shared_condvar", |cx| {
            let obj = Object::create(SYNC_LEN).step("shm_open")?;
            let sync = SharedSync::init(&obj.map)
                .step("pthread_mutexattr/condattr_setpshared(PTHREAD_PROCESS_SHARED)")?;
            let mut consumer = waiter(cx, &obj)?;
            // The consumer holds the mutex when it says "waiting"; it releases
            // it only inside pthread_cond_wait.
            let wait = WaiterCommand::Wait {
                how: WaitHow::Cond,
                then: WaitThen::Process,
                ms: BOUND.as_millis() as u64,
            };
            let said = consumer.request(&wait.to_string())?;
            if said != "waiting" {
                return Ok(Observation::error(format!("the consumer said {said:?}")));
            }
            let data = pattern(SYNC_DATA_LEN);
            let deadline = Instant::now() + BOUND;
            let other_address = {
                let locked = sync.lock(deadline).step("pthread_mutex_lock")?;
                // The consumer's wait is pending now. A second wait through this
                // process's own mapping of the mutex (another address than the
                // consumer's): implementations differ (second_waiter_rule).
                let rc = locked.wait_rc(PROBE_WAIT);
                // Producer: fill the data, flag = READY, signal.
                obj.map.write(SYNC_DATA, &data);
                sync.flag().store(READY, Ordering::Release);
                locked.signal().step("pthread_cond_signal")?;
                rc
            };
            // The consumer answers once it has processed, set PROCESSED,
            // signalled and unlocked: no second wait races with its wake-up.
            let answer = consumer.line(BOUND)?;
            let (flag, result) = {
                let _locked = sync.lock(deadline).step("pthread_mutex_lock")?;
                (
                    sync.flag().load(Ordering::Acquire),
                    obj.map.read(SYNC_RESULT, SYNC_DATA_LEN),
                )
            };
            let Waited {
                cpu,
                wall,
                count: wakeups,
                ..
            } = usage(&answer, "consumer")?;
            drop(consumer.finish());
            // The same second wait where both waiters see the mutex at one
            // address: a peer that maps the object and forks.
            let len = obj.map.len().to_string();
            let mut forked = cx
                .peer(&["shm-condvar-same-address", &obj.name, &len])
                .spawn()?;
            let probe = forked.line(BOUND)?;
            drop(forked.finish());
            let same_address = match probe.split(' ').collect::<Vec<_>>()[..] {
                ["probe", rc, "child", "0"] => rc.parse::<i32>().ok(),
                _ => None,
            };
            let Some(same_address) = same_address else {
                return Ok(Observation::error(format!(
                    "the same-address probe answered {probe:?}"
                )));
            };
            sync.destroy();
            let processed = result == process(&data);
            Ok(Observation::holds(
                flag == PROCESSED && processed,
                format!(
                    "a mutex and condition variable initialised PTHREAD_PROCESS_SHARED in a POSIX shared-memory object; a peer process (its own mapping) ran the guide's loop (lock; while flag != READY pthread_cond_wait; process; flag = PROCESSED; signal; unlock) and said it was waiting; this process locked, stored {SYNC_DATA_LEN} bytes, set READY and signalled; the peer woke ({wakeups} wake-up(s), {wall} us, {cpu} us of CPU), processed the data {}, and this process then saw the flag {}. A second wait while the peer's was pending: through this process's mapping (another address) {}; in a process that mapped the object and forked, through the same address {}",
                    if processed { "correctly" } else { "WRONGLY" },
                    match flag {
                        PROCESSED => "PROCESSED".to_owned(),
                        other => format!("{other} (not PROCESSED within {BOUND:?})"),
                    },
                    second_waiter_rule(other_address),
                    second_waiter_rule(same_address),
                ),
            ))
        });
    }

    /// Every kind of object the shared-memory suites make, created inside a
    /// check that then panics: all of them must be gone afterwards.
    #[test]
    fn guards_remove_everything_when_a_check_panics() {
        use ipc_conformance::mech::{mmap_file, posix_sem, posix_shm, sysv_sem, sysv_shm};

        #[derive(Default)]
        struct Made {
            shm: String,
            peer_shm: String,
            sem: String,
            sysv_shm_id: i32,
            peer_key: libc::key_t,
            sysv_sem_id: i32,
            file: std::path::PathBuf,
        }
        let made = held_by_a_panicking_check("shm.untrusted_peer_can_mutate", |cx, held| {
            let mut m = Made::default();
            let obj = posix_shm::Object::create(4096).step("shm")?;
            m.shm = obj.name.clone();
            // A POSIX shm object a peer creates (the controller holds the guard).
            let peer_shm = ipc_conformance::names::unique_slash();
            let _peer_shm_guard = posix_shm::Unlink::new(&peer_shm);
            let _p1 = cx.peer(&["posix_shm-create", &peer_shm, "4096"]).start()?;
            m.peer_shm = peer_shm;
            let seg = sysv_shm::Segment::create(4096).step("sysv shm")?;
            let _seg_map = sysv_shm::attach(seg.id).step("shmat")?;
            m.sysv_shm_id = seg.id;
            // A System V segment a peer creates under a key.
            let key = sysv_shm::free_key().step("key")?;
            let mut key_guard = sysv_shm::KeyGuard {
                key,
                creators: Vec::new(),
            };
            let mut p2 = cx
                .peer(&["sysv_shm-create", &key.to_string(), "4096"])
                .spawn()?;
            key_guard.creators.push(p2.pid() as i32);
            assert!(p2.line(BOUND)?.starts_with("ready"));
            m.peer_key = key;
            let set = sysv_sem::SemSet::create().step("sysv sem")?;
            m.sysv_sem_id = set.id;
            let sem = ipc_conformance::names::unique_slash();
            let _sem_guard = posix_sem::Unlink::new(&sem);
            let _sem = posix_sem::create(&sem, 1).step("sem_open")?;
            m.sem = sem;
            let file = cx.path(".map")?;
            std::fs::write(&file, [0u8; 4096]).step("file")?;
            let _file_map =
                mmap_file::map_file(&file, 4096, mmap_file::Mode::Shared).step("mmap")?;
            m.file = file;
            held.set(m);
            panic!("deliberate panic while holding every kind of guard");
        });
        // A precondition the machine lacks (no usable /dev/shm, ...) skips it.
        let Some(m) = made else {
            return;
        };
        for name in [&m.shm, &m.peer_shm] {
            assert_eq!(
                posix_shm::open_fd(name, false).err(),
                Some(nix::errno::Errno::ENOENT),
                "{name} is left"
            );
        }
        assert!(
            sysv_shm::stat(m.sysv_shm_id).is_err(),
            "segment {} is left",
            m.sysv_shm_id
        );
        assert!(
            sysv_shm::lookup(m.peer_key).is_err(),
            "a segment under key {:#x} is left",
            m.peer_key
        );
        assert!(
            sysv_sem::value(m.sysv_sem_id).is_err(),
            "semaphore set {} is left",
            m.sysv_sem_id
        );
        assert_eq!(
            posix_sem::open(&m.sem).err().and_then(|e| e.raw_os_error()),
            Some(libc::ENOENT),
            "semaphore {} is left",
            m.sem
        );
        assert!(!m.file.exists(), "{} is left", m.file.display());
        assert!(
            m.file.parent().is_some_and(|d| !d.exists()),
            "the private directory is left"
        );
    }
}

#[cfg(any(unix, windows))]
#[test]
fn untrusted_peer_can_mutate() {
    check!("shm.untrusted_peer_can_mutate", |cx| {
        cfg_if::cfg_if! {
            if #[cfg(all(unix, not(target_os = "android")))] {
                // A POSIX shared-memory object the peer opens by name.
                use ipc_conformance::mech::posix_shm::Object;
                let obj = Object::create(4096).step("shm_open")?;
                let region = &obj.map;
                let mut cmd = cx.peer(&["posix_shm-map", &obj.name, "4096"]);
                let what = format!("the POSIX shared-memory object {:?}", obj.name);
            } else if #[cfg(any(windows, target_os = "android"))] {
                // A file both processes map shared (Windows and bionic have no
                // POSIX shm).
                use ipc_conformance::mech::mmap_file::{Mode, map_file};
                let path = cx.path(".map")?;
                std::fs::write(&path, [0u8; 4096]).step("create the file")?;
                let map = map_file(&path, 4096, Mode::Shared).step("map the file shared")?;
                let region = &map;
                let p = path.display().to_string();
                let mut cmd = cx.peer(&["mmap_file-map", &p, "4096", "shared"]);
                let what = format!("a file mapped shared ({p})");
            }
        }
        use std::sync::atomic::Ordering;
        const BUF: u32 = 64;
        region.atomic(0).store(16, Ordering::Release);
        cmd.command().env_clear();
        let mut peer = cmd.start()?;
        // Time of check: the length field fits the buffer.
        let checked = region.atomic(0).load(Ordering::Acquire);
        let valid = checked <= BUF;
        // Take write permission away (Unix); the peer's mapping is already
        // made, so this cannot stop it.
        #[cfg(all(unix, not(target_os = "android")))]
        let revoke = format!(
            "fchmod(0400) of the object: {:?}",
            nix::sys::stat::fchmod(&obj.fd, nix::sys::stat::Mode::S_IRUSR)
        );
        #[cfg(any(windows, target_os = "android"))]
        let revoke = "no attempt to revoke the peer's access (its view is already mapped)";
        // The untrusted peer changes the field after the check.
        use ipc_conformance::mech::shm::{MemCommand, counts, mem_call};
        let store = MemCommand::Store {
            off: 0,
            value: 4096,
        };
        counts(mem_call(&mut peer, &store)?, "store")?;
        // Time of use.
        let used = region.atomic(0).load(Ordering::Acquire);
        Ok(Observation::holds(
            valid && used != checked,
            format!(
                "in {what}, this process read the length field {checked} and validated it against its {BUF}-byte buffer ({}); {revoke}; then the peer (pid {}), which had mapped the region, stored 4096 into the field: no system call of this process was involved and nothing told it; its next read (the use) returned {used}",
                if valid { "ok" } else { "rejected" },
                peer.pid()
            ),
        ))
    });
}
