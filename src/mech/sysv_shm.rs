//! System V shared memory: segments named by a numeric key (shmget/shmat), the
//! guards that remove them, and the peer roles of the `sysv_shm.*` checks.
//!
//! Peer roles (both serve the memory protocol of `crate::mech::shm`):
//! - `sysv_shm-attach <key>`: shmget(key, 0, 0) and shmat the segment: the key
//!   number is all the peer gets;
//! - `sysv_shm-create <key> <len>`: creates the segment (IPC_CREAT | IPC_EXCL,
//!   mode 0600) and attaches it; on `quit` it detaches and exits without
//!   removing it (the controller holds a [`KeyGuard`]).

crate::mech::api_where!(all(unix, not(target_os = "android")), unix);

#[cfg(all(unix, not(target_os = "android")))]
mod unix {
    use std::io;
    use std::ptr::NonNull;

    use crate::mech::shm::{Mapping, NoCommands, Request, ipc_key, serve_memory};

    /// What IPC_STAT says of a segment.
    #[derive(Debug, Clone, Copy)]
    pub struct Stat {
        pub size: u64,
        pub creator: i32,
        pub attached: u64,
        pub mode: u32,
    }

    fn rc(r: libc::c_int) -> io::Result<libc::c_int> {
        if r == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(r)
        }
    }

    /// shmget(key, len, IPC_CREAT | IPC_EXCL | 0600).
    pub fn create(key: libc::key_t, len: usize) -> io::Result<libc::c_int> {
        // SAFETY: plain system call on integers.
        rc(unsafe { libc::shmget(key, len, libc::IPC_CREAT | libc::IPC_EXCL | 0o600) })
    }

    /// shmget(key, 0, 0): the id of an existing segment.
    pub fn lookup(key: libc::key_t) -> io::Result<libc::c_int> {
        // SAFETY: plain system call on integers.
        rc(unsafe { libc::shmget(key, 0, 0) })
    }

    /// shmctl(IPC_STAT).
    pub fn stat(id: libc::c_int) -> io::Result<Stat> {
        let mut ds = std::mem::MaybeUninit::<libc::shmid_ds>::zeroed();
        // SAFETY: ds is a writable shmid_ds (zeroed, larger than or as large as
        // the kernel's structure); the kernel fills it on success.
        rc(unsafe { libc::shmctl(id, libc::IPC_STAT, ds.as_mut_ptr()) })?;
        // SAFETY: filled by the successful IPC_STAT above (and zeroed before).
        let ds = unsafe { ds.assume_init() };
        // The field types differ per target (shmatt_t is u16 on macOS).
        #[allow(clippy::unnecessary_cast)]
        Ok(Stat {
            size: ds.shm_segsz as u64,
            creator: ds.shm_cpid,
            attached: ds.shm_nattch as u64,
            mode: u32::from(ds.shm_perm.mode),
        })
    }

    /// shmctl(IPC_RMID): the segment goes once the last process detaches.
    pub fn remove(id: libc::c_int) -> io::Result<()> {
        // SAFETY: IPC_RMID takes no buffer.
        rc(unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) }).map(drop)
    }

    /// shmat() the whole segment, read-write.
    pub fn attach(id: libc::c_int) -> io::Result<Mapping> {
        let size = stat(id)?.size as usize;
        // SAFETY: the kernel chooses the address (null), so the attachment
        // overlaps no memory Rust owns.
        let p = unsafe { libc::shmat(id, std::ptr::null(), 0) };
        if p as isize == -1 {
            return Err(io::Error::last_os_error());
        }
        let p = NonNull::new(p).ok_or_else(|| io::Error::other("shmat returned null"))?;
        // SAFETY: p is the attachment shmat just returned, `size` bytes long,
        // owned by the Mapping alone from here on.
        Ok(unsafe { Mapping::from_shmat(p, size) })
    }

    /// A segment this process created: removed (IPC_RMID) on drop, also when
    /// the check panics.
    #[must_use = "the segment is removed when the guard drops"]
    pub struct Segment {
        pub id: libc::c_int,
        pub key: libc::key_t,
    }

    impl Segment {
        /// Creates a segment of `len` bytes under a fresh suite key, drawing again
        /// if a key is taken.
        pub fn create(len: usize) -> io::Result<Segment> {
            let mut last = None;
            for _ in 0..32 {
                let key = ipc_key();
                match create(key, len) {
                    Ok(id) => return Ok(Segment { id, key }),
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => last = Some(e),
                    Err(e) => return Err(e),
                }
            }
            Err(last.unwrap_or_else(|| io::Error::other("no free key")))
        }

        /// A private segment (IPC_PRIVATE: no key).
        pub fn private(len: usize) -> io::Result<Segment> {
            Ok(Segment {
                id: create(libc::IPC_PRIVATE, len)?,
                key: libc::IPC_PRIVATE,
            })
        }
    }

    impl Drop for Segment {
        fn drop(&mut self) {
            let _ = remove(self.id);
        }
    }

    /// Removes the segment that another process (a peer) creates under `key`,
    /// when dropped: only if its creator is one of `creators`, so a segment
    /// somebody else made under a colliding key is never touched.
    #[must_use = "the segment is removed when the guard drops"]
    pub struct KeyGuard {
        pub key: libc::key_t,
        pub creators: Vec<i32>,
    }

    impl Drop for KeyGuard {
        fn drop(&mut self) {
            if let Ok(id) = lookup(self.key) {
                if stat(id).is_ok_and(|s| self.creators.contains(&s.creator)) {
                    let _ = remove(id);
                }
            }
        }
    }

    /// A suite key no segment uses right now, for a peer to create under with
    /// IPC_EXCL.
    pub fn free_key() -> io::Result<libc::key_t> {
        for _ in 0..32 {
            let key = ipc_key();
            match lookup(key) {
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(key),
                _ => continue,
            }
        }
        Err(io::Error::other("no free key"))
    }

    pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
        let describe =
            |what: &str, e: io::Error| format!("{what}: {}", crate::observe::describe_io_error(&e));
        match (role, args) {
            ("sysv_shm-attach", [key]) => Some((|| {
                let key: libc::key_t = key.parse().map_err(|_| "bad key")?;
                let id = lookup(key).map_err(|e| describe("shmget", e))?;
                let map = attach(id).map_err(|e| describe("shmat", e))?;
                serve_memory(&map, &mut |_: &Request<NoCommands>| None)
            })()),
            ("sysv_shm-create", [key, len]) => Some((|| {
                let key: libc::key_t = key.parse().map_err(|_| "bad key")?;
                let len: usize = len.parse().map_err(|_| "bad length")?;
                let id = create(key, len).map_err(|e| describe("shmget IPC_CREAT|IPC_EXCL", e))?;
                let map = attach(id).map_err(|e| describe("shmat", e))?;
                let served = serve_memory(&map, &mut |_: &Request<NoCommands>| None);
                drop(map); // shmdt before exit
                served
            })()),
            _ => None,
        }
    }
}
