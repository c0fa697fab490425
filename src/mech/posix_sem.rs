//! POSIX semaphores: named ("/name", sem_open) and unnamed process-shared ones
//! (sem_init with pshared 1 in shared memory), their guards, and the peer roles
//! of the `posix_sem.*` checks.
//!
//! Peer roles:
//! - `posix_sem-post <name>`: sem_open()s an existing semaphore by name (nothing
//!   inherited), prints `ready <pid>`, and answers `post` with `ok` after
//!   sem_post();
//! - `posix_sem-increment <shm name> <len> named <sem name>` or
//!   `... unnamed <offset>`: maps a POSIX shared-memory object, opens the named
//!   semaphore or uses the sem_t at `offset` of the mapping, and serves the memory
//!   protocol plus `increment <arrive_off> <start_off> <counter_off> <max>
//!   <locked|unlocked> <run_ms>`: announces itself (fetch-add on `arrive_off`),
//!   waits (yielding) until `start_off` is non-zero, then for `run_ms` (at most
//!   `max` times) does non-atomic read-modify-write increments of the u32 at
//!   `counter_off` (an atomic load, a pause, then an atomic store: a lost update
//!   is possible, a torn one is not), each inside sem_wait()/sem_post() when
//!   `locked`; answers `ok <done> <contended>`: increments made, and how many
//!   times sem_trywait() found the semaphore taken.

crate::mech::api_where!(unix, unix);

use crate::peer::wire::{OneOf, messages};

messages! {
    /// A command to the `posix_sem-post` peer.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum PostCommand: "a posix_sem-post command" {
        /// `post` → `ok` | `err <errno> sem_post: <text>`: one sem_post().
        "post" Post,
        /// `quit`: the peer exits 0 (no answer).
        "quit" Quit,
    }
}

messages! {
    /// Whether the `increment` workload holds the semaphore around each
    /// increment.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Locking: "locked or unlocked" {
        "locked" Locked,
        "unlocked" Unlocked,
    }
}

messages! {
    /// The `posix_sem-increment` peer's own command, besides the memory
    /// protocol (the module doc says what it does).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum IncrementCommand: "a posix_sem-increment command" {
        /// `increment <arrive_off> <start_off> <counter_off> <max>
        /// <locked|unlocked> <run_ms>` → `ok <done> <contended>` |
        /// `timeout <text>` | `err <errno> <text>`.
        "increment" Increment {
            arrive_off: usize,
            start_off: usize,
            counter_off: usize,
            max: usize,
            locking: Locking as OneOf,
            run_ms: u64,
        },
    }
}

/// Whether this target has unnamed semaphores (sem_init) to call at all.
pub const HAS_SEM_INIT: bool = cfg!(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd"
));

#[cfg(unix)]
mod unix {
    use std::ffi::CString;
    use std::io;
    use std::marker::PhantomData;
    use std::time::Instant;

    use super::PostCommand;
    #[cfg(not(target_os = "android"))]
    use super::{IncrementCommand, Locking};
    #[cfg(not(target_os = "android"))]
    use crate::mech::shm::Request;
    use crate::mech::shm::{Mapping, MemAnswer, NameGuard, Unlinker};
    use crate::peer::wire::WireLine;

    fn cname(name: &str) -> io::Result<CString> {
        CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
    }

    /// SEM_FAILED is null on Linux and FreeBSD, -1 on macOS.
    fn failed(p: *mut libc::sem_t) -> bool {
        p.is_null() || p as isize == -1
    }

    /// The namespace of named semaphores (sem_unlink).
    pub enum SemNames {}

    impl Unlinker for SemNames {
        fn unlink(name: &str) {
            let _ = unlink(name);
        }
    }

    /// Removes a semaphore name when dropped, also when the check panics. Made
    /// before the semaphore is created.
    pub type Unlink = NameGuard<SemNames>;

    /// Calls `call` (a sem_* call: 0, or -1 and errno) again while it fails with
    /// EINTR: Ok(true) when it returned 0, Ok(false) when it failed with `busy`
    /// (the errno that means "not now": EAGAIN, ETIMEDOUT).
    fn retry_eintr(busy: libc::c_int, mut call: impl FnMut() -> libc::c_int) -> io::Result<bool> {
        loop {
            if call() == 0 {
                return Ok(true);
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(errno) if errno == busy => return Ok(false),
                Some(libc::EINTR) => continue,
                _ => return Err(e),
            }
        }
    }

    /// A semaphore operation target: a named semaphore or one in shared memory.
    #[derive(Clone, Copy)]
    pub struct Sem {
        ptr: *mut libc::sem_t,
    }

    // SAFETY: a sem_t is made to be used from several threads and processes.
    unsafe impl Send for Sem {}

    impl Sem {
        pub fn post(&self) -> io::Result<()> {
            // SAFETY: ptr is a live semaphore (named: open; unnamed: initialised
            // in a live mapping), by construction of the owning value.
            if unsafe { libc::sem_post(self.ptr) } == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        }

        /// sem_trywait: Ok(false) when the semaphore is zero (EAGAIN).
        pub fn try_wait(&self) -> io::Result<bool> {
            // SAFETY: as in post.
            retry_eintr(libc::EAGAIN, || unsafe { libc::sem_trywait(self.ptr) })
        }

        /// Waits for the semaphore until `deadline`: Ok(false) on timeout.
        pub fn wait_until(&self, deadline: Instant) -> io::Result<bool> {
            cfg_if::cfg_if! {
                if #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))] {
                    retry_eintr(libc::ETIMEDOUT, || {
                        let now_rt = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .unwrap_or_default();
                        let left = deadline.saturating_duration_since(Instant::now());
                        let ts = nix::sys::time::TimeSpec::from_duration(now_rt + left);
                        // SAFETY: as in post; ts outlives the call.
                        unsafe { libc::sem_timedwait(self.ptr, ts.as_ref()) }
                    })
                } else {
                    // No sem_timedwait (macOS): try, yielding, until the deadline.
                    loop {
                        if self.try_wait()? {
                            return Ok(true);
                        }
                        if Instant::now() >= deadline {
                            return Ok(false);
                        }
                        std::thread::yield_now();
                    }
                }
            }
        }
    }

    /// A named semaphore this process opened: sem_close() on drop.
    pub struct Named {
        sem: Sem,
    }

    impl Named {
        pub fn sem(&self) -> Sem {
            self.sem
        }
    }

    impl Drop for Named {
        fn drop(&mut self) {
            // SAFETY: the handle sem_open returned, closed once.
            unsafe { libc::sem_close(self.sem.ptr) };
        }
    }

    /// sem_open(name, O_CREAT | O_EXCL, 0600, value).
    pub fn create(name: &str, value: u32) -> io::Result<Named> {
        let c = cname(name)?;
        // SAFETY: c is NUL-terminated; with O_CREAT sem_open reads two more
        // arguments, a mode and an unsigned value, passed here as c_uint (what
        // both promote to in a variadic call).
        let p = unsafe {
            libc::sem_open(
                c.as_ptr(),
                libc::O_CREAT | libc::O_EXCL,
                0o600 as libc::c_uint,
                value as libc::c_uint,
            )
        };
        if failed(p) {
            // glibc and musl make named semaphores as files in /dev/shm.
            return Err(crate::precondition::shm_dir(io::Error::last_os_error()));
        }
        Ok(Named {
            sem: Sem { ptr: p },
        })
    }

    /// sem_open(name, 0): an existing semaphore.
    pub fn open(name: &str) -> io::Result<Named> {
        let c = cname(name)?;
        // SAFETY: c is NUL-terminated; without O_CREAT no further arguments are read.
        let p = unsafe { libc::sem_open(c.as_ptr(), 0) };
        if failed(p) {
            return Err(io::Error::last_os_error());
        }
        Ok(Named {
            sem: Sem { ptr: p },
        })
    }

    /// sem_unlink(name) now.
    pub fn unlink(name: &str) -> io::Result<()> {
        let c = cname(name)?;
        // SAFETY: c is NUL-terminated.
        if unsafe { libc::sem_unlink(c.as_ptr()) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Bytes a sem_t takes in shared memory.
    pub const SEM_T_SIZE: usize = std::mem::size_of::<libc::sem_t>();

    /// An unnamed semaphore inside a shared mapping.
    pub struct Unnamed<'a> {
        sem: Sem,
        _map: PhantomData<&'a Mapping>,
    }

    impl<'a> Unnamed<'a> {
        /// sem_init(pshared = 1, value) on the sem_t at `off` of `map`.
        pub fn init(map: &'a Mapping, off: usize, value: u32) -> io::Result<Unnamed<'a>> {
            let p = map.at(off, SEM_T_SIZE).cast::<libc::sem_t>();
            cfg_if::cfg_if! {
                if #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))] {
                    // SAFETY: p is inside the live mapping, aligned (callers use
                    // offsets that are multiples of 64), and no process uses it yet.
                    if unsafe { libc::sem_init(p, 1, value as libc::c_uint) } != 0 {
                        return Err(io::Error::last_os_error());
                    }
                    Ok(Unnamed { sem: Sem { ptr: p }, _map: PhantomData })
                } else {
                    let _ = (p, value);
                    Err(io::Error::new(
                        io::ErrorKind::Unsupported,
                        format!("no API on {}: sem_init", crate::platform::TARGET),
                    ))
                }
            }
        }

        /// Uses the semaphore another process initialised at `off` of `map`.
        pub fn attach(map: &'a Mapping, off: usize) -> Unnamed<'a> {
            let p = map.at(off, SEM_T_SIZE).cast::<libc::sem_t>();
            Unnamed {
                sem: Sem { ptr: p },
                _map: PhantomData,
            }
        }

        pub fn sem(&self) -> Sem {
            self.sem
        }

        /// sem_destroy (the creator, once no process uses it).
        pub fn destroy(self) {
            #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
            // SAFETY: initialised by `init`; by the caller's contract unused now.
            unsafe {
                libc::sem_destroy(self.sem.ptr);
            }
        }
    }

    /// One increment workload (see the module doc).
    #[cfg(not(target_os = "android"))]
    fn increment(
        map: &Mapping,
        sem: Option<Sem>,
        command: IncrementCommand,
    ) -> Result<MemAnswer, String> {
        use crate::mech::shm::yield_until;
        use std::sync::atomic::Ordering;
        use std::time::Duration;
        let IncrementCommand::Increment {
            arrive_off,
            start_off,
            counter_off,
            max,
            locking,
            run_ms,
        } = command;
        let (arrive, start, counter) = (
            map.atomic(arrive_off),
            map.atomic(start_off),
            map.atomic(counter_off),
        );
        let locked = locking == Locking::Locked;
        let run = Duration::from_millis(run_ms);
        arrive.fetch_add(1, Ordering::AcqRel);
        if let Err(v) = yield_until(start, |v| v != 0, crate::watchdog::BOUND) {
            return Ok(MemAnswer::Timeout(format!("start flag still {v}")));
        }
        let t0 = Instant::now();
        let (mut done, mut contended) = (0usize, 0u64);
        while done < max && (done % 64 != 0 || t0.elapsed() < run) {
            if locked {
                let sem = sem.ok_or("no semaphore")?;
                match sem.try_wait() {
                    Ok(true) => {}
                    Ok(false) => {
                        contended += 1;
                        match sem.wait_until(Instant::now() + crate::watchdog::BOUND) {
                            Ok(true) => {}
                            Ok(false) => {
                                return Ok(MemAnswer::Timeout("waiting for the semaphore".into()));
                            }
                            Err(e) => return Ok(sem_error("sem_wait", &e)),
                        }
                    }
                    Err(e) => return Ok(sem_error("sem_trywait", &e)),
                }
            }
            // The non-atomic read-modify-write the semaphore must protect, with a
            // gap between the load and the store that another process can hit.
            let v = counter.load(Ordering::Relaxed);
            for _ in 0..64 {
                std::hint::spin_loop();
            }
            counter.store(v.wrapping_add(1), Ordering::Relaxed);
            if locked {
                if let Err(e) = sem.ok_or("no semaphore")?.post() {
                    return Ok(sem_error("sem_post", &e));
                }
            }
            done += 1;
        }
        Ok(MemAnswer::Ok(vec![done as u64, contended]))
    }

    /// `err <errno> <call>: <error>`, as the roles answer a failed call.
    fn sem_error(call: &str, e: &io::Error) -> MemAnswer {
        MemAnswer::Err {
            errno: e.raw_os_error().unwrap_or(0),
            text: format!("{call}: {e}"),
        }
    }

    pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
        let describe =
            |what: &str, e: io::Error| format!("{what}: {}", crate::observe::describe_io_error(&e));
        match (role, args) {
            ("posix_sem-post", [name]) => Some((|| {
                use std::io::BufRead;
                let sem = open(name).map_err(|e| describe("sem_open", e))?;
                crate::mech::shm::say(&format!("ready {}", std::process::id()))?;
                for line in std::io::stdin().lock().lines() {
                    let answer = match PostCommand::from_line(&line.map_err(|e| e.to_string())?) {
                        Ok(PostCommand::Post) => match sem.sem().post() {
                            Ok(()) => MemAnswer::Ok(Vec::new()),
                            Err(e) => sem_error("sem_post", &e),
                        },
                        Ok(PostCommand::Quit) => break,
                        Err(e) => MemAnswer::refused(e.to_string()),
                    };
                    crate::mech::shm::say(&answer.to_string())?;
                }
                Ok(())
            })()),
            // Maps a POSIX shared-memory object: none on bionic.
            #[cfg(not(target_os = "android"))]
            ("posix_sem-increment", [shm, len, kind, which]) => Some((|| {
                let len: usize = len.parse().map_err(|_| "bad length")?;
                let obj =
                    crate::mech::posix_shm::Object::open(shm, len).map_err(|e| describe(shm, e))?;
                let named;
                let sem = match kind.as_str() {
                    "named" => {
                        named = open(which).map_err(|e| describe("sem_open", e))?;
                        named.sem()
                    }
                    "unnamed" => {
                        let off: usize = which.parse().map_err(|_| "bad offset")?;
                        Unnamed::attach(&obj.map, off).sem()
                    }
                    _ => return Err(format!("bad kind {kind:?}")),
                };
                crate::mech::shm::serve_memory(&obj.map, &mut |request: &Request<
                    IncrementCommand,
                >| match request {
                    Request::Role(command) => {
                        Some(increment(&obj.map, Some(sem), *command).map(|a| a.to_string()))
                    }
                    Request::Memory(_) => None,
                })
            })()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::wire::testing::{refused, round_trip_all};

    #[test]
    fn role_commands_round_trip() {
        round_trip_all([PostCommand::Post, PostCommand::Quit]);
        refused::<PostCommand>(&["", "post 1", "pots"]);
        let increment = |locking| IncrementCommand::Increment {
            arrive_off: 256,
            start_off: 260,
            counter_off: 264,
            max: 100_000,
            locking,
            run_ms: 25,
        };
        round_trip_all([increment(Locking::Locked), increment(Locking::Unlocked)]);
        assert_eq!(
            increment(Locking::Unlocked).to_string(),
            "increment 256 260 264 100000 unlocked 25"
        );
        let bad = "increment 256 260 264 100000 maybe 25";
        refused::<IncrementCommand>(&[
            "",
            "increment 1 2 3 4 locked",
            bad,
            "increment x 2 3 4 locked 5",
        ]);
    }
}
