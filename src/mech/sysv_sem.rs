//! System V semaphores: sets named by a numeric key (semget/semop/semctl), the
//! guard that removes them, and the peer role of `sysv_sem.undo_on_exit`.
//!
//! Peer role:
//! - `sysv_sem-hold <key>`: semget(key, 1, 0), then semop(-1, SEM_UNDO |
//!   IPC_NOWAIT) on semaphore 0; prints `ready <pid>` once it holds it (or `err
//!   ...`), then blocks reading its stdin until it is killed or told `quit`.

crate::mech::api_where!(all(unix, not(target_os = "android")), unix);

#[cfg(all(unix, not(target_os = "android")))]
mod unix {
    use std::io;

    use crate::mech::shm::ipc_key;

    cfg_if::cfg_if! {
        if #[cfg(target_os = "freebsd")] {
            // <sys/sem.h>; the libc crate has no FreeBSD binding for these.
            pub const SEM_UNDO: libc::c_int = 0o10000;
            pub const GETPID: libc::c_int = 4;
            pub const GETVAL: libc::c_int = 5;
        } else {
            pub const SEM_UNDO: libc::c_int = libc::SEM_UNDO;
            pub const GETPID: libc::c_int = libc::GETPID;
            pub const GETVAL: libc::c_int = libc::GETVAL;
        }
    }

    fn rc(r: libc::c_int) -> io::Result<libc::c_int> {
        if r == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(r)
        }
    }

    /// semget(key, 1, IPC_CREAT | IPC_EXCL | 0600).
    pub fn create(key: libc::key_t) -> io::Result<libc::c_int> {
        // SAFETY: plain system call on integers.
        rc(unsafe { libc::semget(key, 1, libc::IPC_CREAT | libc::IPC_EXCL | 0o600) })
    }

    /// semget(key, 1, 0): an existing set.
    pub fn lookup(key: libc::key_t) -> io::Result<libc::c_int> {
        // SAFETY: plain system call on integers.
        rc(unsafe { libc::semget(key, 1, 0) })
    }

    /// semop of `delta` on semaphore 0 with `flags` (SEM_UNDO, IPC_NOWAIT).
    pub fn op(id: libc::c_int, delta: i16, flags: libc::c_int) -> io::Result<()> {
        let mut b = libc::sembuf {
            sem_num: 0,
            sem_op: delta,
            sem_flg: flags as libc::c_short,
        };
        // SAFETY: one valid sembuf, nsops = 1.
        rc(unsafe { libc::semop(id, &mut b, 1) }).map(drop)
    }

    /// semctl(id, 0, GETVAL).
    pub fn value(id: libc::c_int) -> io::Result<i32> {
        // SAFETY: GETVAL reads no fourth argument.
        rc(unsafe { libc::semctl(id, 0, GETVAL) })
    }

    /// semctl(id, 0, GETPID): the process of the last semop on semaphore 0.
    pub fn last_pid(id: libc::c_int) -> io::Result<i32> {
        // SAFETY: GETPID reads no fourth argument.
        rc(unsafe { libc::semctl(id, 0, GETPID) })
    }

    /// semctl(IPC_RMID).
    pub fn remove(id: libc::c_int) -> io::Result<()> {
        // SAFETY: IPC_RMID reads no fourth argument.
        rc(unsafe { libc::semctl(id, 0, libc::IPC_RMID) }).map(drop)
    }

    /// A set of one semaphore this process created: removed on drop, also when
    /// the check panics.
    #[must_use = "the set is removed when the guard drops"]
    pub struct SemSet {
        pub id: libc::c_int,
        pub key: libc::key_t,
    }

    impl SemSet {
        /// A new set under a fresh suite key, drawing again if a key is taken.
        pub fn create() -> io::Result<SemSet> {
            let mut last = None;
            for _ in 0..32 {
                let key = ipc_key();
                match create(key) {
                    Ok(id) => return Ok(SemSet { id, key }),
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => last = Some(e),
                    Err(e) => return Err(e),
                }
            }
            Err(last.unwrap_or_else(|| io::Error::other("no free key")))
        }

        /// A private set (IPC_PRIVATE).
        pub fn private() -> io::Result<SemSet> {
            Ok(SemSet {
                id: create(libc::IPC_PRIVATE)?,
                key: libc::IPC_PRIVATE,
            })
        }
    }

    impl Drop for SemSet {
        fn drop(&mut self) {
            let _ = remove(self.id);
        }
    }

    pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
        match (role, args) {
            ("sysv_sem-hold", [key]) => Some((|| {
                use std::io::BufRead;
                let key: libc::key_t = key.parse().map_err(|_| "bad key")?;
                let id = lookup(key)
                    .map_err(|e| format!("semget: {}", crate::observe::describe_io_error(&e)))?;
                op(id, -1, SEM_UNDO | libc::IPC_NOWAIT).map_err(|e| {
                    format!(
                        "semop(-1, SEM_UNDO): {}",
                        crate::observe::describe_io_error(&e)
                    )
                })?;
                crate::mech::shm::say(&format!("ready {}", std::process::id()))?;
                for line in std::io::stdin().lock().lines() {
                    if line.map_err(|e| e.to_string())?.trim() == "quit" {
                        break;
                    }
                }
                Ok(())
            })()),
            _ => None,
        }
    }
}
