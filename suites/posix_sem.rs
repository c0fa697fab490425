//! POSIX semaphores: every `posix_sem.*` claim of the catalog.
//!
//! The guide: "Semaphores (POSIX) | Synchronization | Name (/name) | N/A |
//! Coordination, mutual exclusion", and its abstraction layer keeps a `sem_t *`
//! next to a shared-memory region (`sem_wait; memcpy; sem_post`).

#[cfg(unix)]
use ipc_conformance::{Observation, Step, check};

ipc_conformance::suite!();

#[cfg(unix)]
#[test]
fn available() {
    check!("posix_sem.available", |_cx| {
        use ipc_conformance::mech::posix_sem::{Unlink, create};
        let name = ipc_conformance::names::unique_slash();
        let _unlink = Unlink::new(&name);
        let sem = create(&name, 0).step("sem_open(O_CREAT|O_EXCL, 0600, 0)")?;
        let empty = sem.sem().try_wait().step("sem_trywait")?;
        sem.sem().post().step("sem_post")?;
        let taken = sem.sem().try_wait().step("sem_trywait")?;
        drop(sem);
        let unlinked = ipc_conformance::mech::posix_sem::unlink(&name);
        Ok(Observation::holds(
            !empty && taken && unlinked.is_ok(),
            format!(
                "sem_open({name:?}, O_CREAT|O_EXCL, 0600, 0) succeeded; sem_trywait on 0: {}; after sem_post, sem_trywait: {}; sem_close, sem_unlink: {unlinked:?}",
                if empty { "took it (wrong)" } else { "EAGAIN" },
                if taken { "took it" } else { "EAGAIN (wrong)" }
            ),
        ))
    });
}

// These checks share memory through POSIX shm, which bionic lacks.
#[cfg(all(unix, not(target_os = "android")))]
mod unix {
    use super::*;
    use ipc_conformance::Checked;
    use std::sync::atomic::Ordering;
    use std::time::Instant;

    use ipc_conformance::check::Ctx;
    use ipc_conformance::mech::posix_sem::{
        IncrementCommand, Locking, PostCommand, Unlink, Unnamed, create, open, unlink,
    };
    use ipc_conformance::mech::posix_shm::Object;
    use ipc_conformance::mech::shm::{
        MemAnswer, bisect_name_limit, ok_of, padded_name, yield_until,
    };
    use ipc_conformance::peer::Peer;
    use ipc_conformance::peer::wire::WireLine;
    use ipc_conformance::watchdog::BOUND;

    #[test]
    fn named_slash() {
        check!("posix_sem.named_slash", |cx| {
            let name = ipc_conformance::names::unique_slash();
            let _unlink = Unlink::new(&name);
            let sem = create(&name, 0).step("sem_open")?;
            let mut cmd = cx.peer(&["posix_sem-post", &name]);
            cmd.command().env_clear();
            let mut poster = cmd.start()?;
            ok_of(&poster.request(&PostCommand::Post.to_string())?, "post")?;
            let t0 = Instant::now();
            let woke = sem.sem().wait_until(t0 + BOUND).step("sem_wait")?;
            let waited = t0.elapsed();
            // A name without the leading slash, for the evidence.
            let bare = ipc_conformance::names::unique();
            let bare_result = {
                let _unlink = Unlink::new(&bare);
                create(&bare, 0)
                    .map(|_| "accepted")
                    .map_err(|e| ipc_conformance::observe::describe_io_error(&e))
            };
            Ok(Observation::holds(
                name.starts_with('/') && woke,
                format!(
                    "sem_open({name:?}, O_CREAT, 0600, 0) here; a fresh process (pid {}, empty environment) sem_open()ed the same /name and posted; this process's wait {} after {} us; a name without the slash, {bare:?}: {bare_result:?}",
                    poster.pid(),
                    if woke { "returned" } else { "timed out" },
                    waited.as_micros()
                ),
            ))
        });
    }

    const ARRIVE: usize = 256;
    const START: usize = 260;
    const COUNTER: usize = 264;
    const ARRIVE2: usize = 272;
    const START2: usize = 276;
    const COUNTER2: usize = 280;
    /// Peer processes, the most increments each makes, and how long each runs:
    /// long enough for the processes to overlap on a busy machine.
    const N: usize = 3;
    const MAX: usize = 100_000;
    const RUN_MS: u64 = 25;

    /// What one round did: the final counter, and per peer (increments, times
    /// the semaphore was found taken).
    struct Round {
        counter: u32,
        done: Vec<(u64, u64)>,
    }

    impl Round {
        fn total(&self) -> u64 {
            self.done.iter().map(|d| d.0).sum()
        }
    }

    /// Runs one `increment` round in every peer at once.
    fn round(
        obj: &Object,
        peers: &mut [Peer],
        (arrive, start, counter): (usize, usize, usize),
        locking: Locking,
    ) -> Checked<Round> {
        let increment = IncrementCommand::Increment {
            arrive_off: arrive,
            start_off: start,
            counter_off: counter,
            max: MAX,
            locking,
            run_ms: RUN_MS,
        };
        for p in peers.iter_mut() {
            p.send_line(&increment.to_string())?;
        }
        if let Err(n) = yield_until(obj.map.atomic(arrive), |v| v as usize == peers.len(), BOUND) {
            return Err(Observation::timeout(format!(
                "only {n} of {} peers were ready within {BOUND:?}",
                peers.len()
            )));
        }
        obj.map.atomic(start).store(1, Ordering::Release);
        let mut done = Vec::new();
        for p in peers.iter_mut() {
            let a = p.line(BOUND)?;
            let nums = match MemAnswer::from_line(&a) {
                Ok(MemAnswer::Ok(nums)) => nums,
                _ => Vec::new(),
            };
            let [d, c] = nums[..] else {
                return Err(Observation::error(format!(
                    "peer {} answered {a:?}",
                    p.pid()
                )));
            };
            done.push((d, c));
        }
        Ok(Round {
            counter: obj.map.atomic(counter).load(Ordering::Acquire),
            done,
        })
    }

    fn incrementers(cx: &Ctx, obj: &Object, sem: &[&str]) -> Checked<Vec<Peer>> {
        let len = obj.map.len().to_string();
        let mut args = vec!["posix_sem-increment", &obj.name, &len];
        args.extend_from_slice(sem);
        let mut peers = Vec::new();
        for _ in 0..N {
            let mut cmd = cx.peer(&args);
            cmd.command().env_clear();
            peers.push(cmd.start()?);
        }
        Ok(peers)
    }

    #[test]
    fn cross_process_mutex() {
        check!("posix_sem.cross_process_mutex", |cx| {
            let obj = Object::create(4096).step("shm for the counter")?;
            let name = ipc_conformance::names::unique_slash();
            let _unlink = Unlink::new(&name);
            let _sem = create(&name, 1).step("sem_open(value 1)")?;
            let mut peers = incrementers(cx, &obj, &["named", &name])?;
            let locked = round(&obj, &mut peers, (ARRIVE, START, COUNTER), Locking::Locked)?;
            // The same workload without the semaphore, to show it loses updates.
            let unlocked = round(
                &obj,
                &mut peers,
                (ARRIVE2, START2, COUNTER2),
                Locking::Unlocked,
            )?;
            Ok(Observation::holds(
                locked.total() > 0 && u64::from(locked.counter) == locked.total(),
                format!(
                    "{N} processes that know only the semaphore's /name and the shm name ran at once for {RUN_MS} ms each, doing non-atomic read-modify-write increments of a shared counter inside sem_wait()/sem_post(): (increments, times sem_trywait found the semaphore taken) per process {:?}, {} increments in all, final count {}; the same workload without the semaphore made {} increments and ended at {} ({} updates lost)",
                    locked.done,
                    locked.total(),
                    locked.counter,
                    unlocked.total(),
                    unlocked.counter,
                    unlocked.total().saturating_sub(u64::from(unlocked.counter))
                ),
            ))
        });
    }

    #[test]
    fn unnamed_process_shared() {
        check!("posix_sem.unnamed_process_shared", |cx| {
            let obj = Object::create(4096).step("shm for the semaphore and the counter")?;
            let sem = Unnamed::init(&obj.map, 0, 1).step("sem_init(pshared = 1, value 1)")?;
            let mut peers = incrementers(cx, &obj, &["unnamed", "0"])?;
            let result = round(&obj, &mut peers, (ARRIVE, START, COUNTER), Locking::Locked);
            for p in peers {
                let _ = p.finish();
            }
            sem.destroy();
            let locked = result?;
            Ok(Observation::holds(
                locked.total() > 0 && u64::from(locked.counter) == locked.total(),
                format!(
                    "sem_init(pshared = 1, value 1) on a sem_t at offset 0 of a POSIX shared-memory object; {N} processes that mapped the object by name ran at once for {RUN_MS} ms each, doing non-atomic increments of a counter in it inside sem_wait()/sem_post() on that sem_t: (increments, times sem_trywait found it taken) per process {:?}, {} in all, final count {}",
                    locked.done,
                    locked.total(),
                    locked.counter
                ),
            ))
        });
    }

    #[test]
    fn name_max() {
        check!("posix_sem.name_max", |_cx| {
            let base = ipc_conformance::names::unique_slash();
            let mut probe = |len: usize| -> std::io::Result<()> {
                let name = padded_name(&base, len);
                let _unlink = Unlink::new(&name);
                create(&name, 0).map(drop)
            };
            let (limit, beyond) =
                bisect_name_limit(base.len(), 4096, &mut probe).step("sem_open probes")?;
            if !matches!(
                beyond.raw_os_error(),
                Some(libc::ENAMETOOLONG | libc::EINVAL)
            ) {
                return Ok(Observation::error(format!(
                    "names up to {limit} characters were accepted, but the next length failed with {}, not a length error",
                    ipc_conformance::observe::describe_io_error(&beyond)
                )));
            }
            // The longest name must really open the same semaphore again.
            let longest = padded_name(&base, limit);
            let _unlink = Unlink::new(&longest);
            let reopened = create(&longest, 0).and_then(|_| open(&longest)).map(drop);
            let _ = unlink(&longest);
            if let Err(e) = reopened {
                return Ok(Observation::error(format!(
                    "a {limit}-character name was created but not reopened: {e}"
                )));
            }
            Ok(Observation::measured(format!(
                "bisection with sem_open(O_CREAT|O_EXCL) of \"/ipcconf-...\" names padded with 'x': {limit} characters (leading slash included) accepted and reopened, {} refused with {}",
                limit + 1,
                ipc_conformance::observe::describe_io_error(&beyond)
            ))
            .with("name_max", limit as f64, "chars"))
        });
    }
}
