//! Names for IPC objects and the guards that remove them.
//!
//! Every named object gets `ipcconf-<pid>-<counter>-<random>`: the prefix lets the
//! sweep command find leftovers, the pid and counter keep concurrent checks and
//! concurrent runs apart, and the random part keeps another local user from
//! predicting (and pre-creating) a name. With a leading slash the whole name
//! stays within 30 characters, macOS's limit for a POSIX semaphore name: xnu's
//! sem_open() copies the name with copyinstr(), whose length counts the
//! terminating NUL, and refuses `pathlen > PSEMNAMLEN` (31) with ENAMETOOLONG
//! (bsd/kern/posix_sem.c, bsd/sys/posix_sem.h), so 30 characters is the most it
//! takes. shm_open() copies at most PSHMNAMLEN + 1 (32) bytes with the NUL
//! (bsd/kern/posix_shm.c pshm_get_name, bsd/sys/posix_shm.h): 31 characters.
//! macOS pids stay below 100000 (PID_MAX 99999, bsd/sys/proc_internal.h).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Every object the suite names starts with this.
pub const PREFIX: &str = "ipcconf-";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// `n` random hex digits, from std's per-process random SipHash keys mixed with
/// the clock and a counter (unpredictable to another user; not cryptographic).
pub fn random_hex(n: usize) -> String {
    let mut out = String::with_capacity(n);
    while out.len() < n {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out.truncate(n);
    out
}

/// A fresh unique name: `ipcconf-<pid>-<counter>-<6 hex>`.
pub fn unique() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    compose(std::process::id(), n, &random_hex(6))
}

fn compose(pid: u32, n: u64, random: &str) -> String {
    format!("{PREFIX}{pid}-{n}-{random}")
}

/// A fresh POSIX IPC name: `/ipcconf-...` (mq_open, shm_open, sem_open).
pub fn unique_slash() -> String {
    format!("/{}", unique())
}

/// The longest base directory that leaves room for a socket path inside a private
/// directory: `sun_path` holds 104 bytes on macOS and the BSDs (108 on Linux) with
/// the terminating NUL, and a private directory name (`ipcconf-<pid>-XXXXXX`) plus
/// a unique socket name take up to about 60 of them.
const SOCKET_ROOM_BASE_MAX: usize = 40;

/// Where private directories are made: the temporary directory, unless its path
/// is too long to hold a Unix socket path (macOS's `/var/folders/.../T/` is about
/// 50 bytes; a CI runner's TMPDIR can be longer), in which case `/tmp` on Unix,
/// when that exists. Every place that looks for leftovers uses this list.
pub fn private_dir_bases() -> Vec<PathBuf> {
    bases_for(std::env::temp_dir())
}

fn bases_for(tmp: PathBuf) -> Vec<PathBuf> {
    let short_tmp =
        cfg!(unix) && tmp.as_os_str().len() > SOCKET_ROOM_BASE_MAX && Path::new("/tmp").is_dir();
    if short_tmp {
        vec![PathBuf::from("/tmp"), tmp]
    } else {
        vec![tmp]
    }
}

/// A private directory (mode 0700 on Unix) named `ipcconf-...`, removed with
/// everything in it when dropped, also when a check panics. It is made in the
/// first of [`private_dir_bases`] that takes it, so a socket path inside fits
/// `sun_path` even under a long TMPDIR.
pub fn private_dir() -> std::io::Result<tempfile::TempDir> {
    let mut builder = tempfile::Builder::new();
    let prefix = format!("{PREFIX}{}-", std::process::id());
    builder.prefix(&prefix);
    let mut last = None;
    for base in private_dir_bases() {
        match builder.tempdir_in(&base) {
            Ok(dir) => return Ok(dir),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no base directory for a private directory")))
}

/// Runs a cleanup action when dropped, so a named object is removed even when the
/// check that made it panics.
#[must_use = "the object is removed when the guard drops"]
pub struct Cleanup<F: FnOnce()> {
    action: Option<F>,
}

impl<F: FnOnce()> Cleanup<F> {
    pub fn new(action: F) -> Self {
        Cleanup {
            action: Some(action),
        }
    }

    /// Runs the action now.
    pub fn run(mut self) {
        if let Some(f) = self.action.take() {
            f();
        }
    }
}

impl<F: FnOnce()> Drop for Cleanup<F> {
    fn drop(&mut self) {
        if let Some(f) = self.action.take() {
            f();
        }
    }
}

/// Removes a filesystem path when dropped (FIFOs, socket files).
#[must_use = "the path is removed when the guard drops"]
pub struct PathGuard {
    path: PathBuf,
}

impl PathGuard {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        PathGuard { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PathGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A uid (and gid) no account uses, for a check's dropped-privilege child when
/// the suite runs as root: no other local user runs under it, so nothing the
/// child owns (a directory, a socket, a queue) can be reached or taken over by
/// another user, and no other process's signals or queues count against it.
/// Derived from the pid, so concurrent runs use different ones.
pub fn unused_uid() -> u32 {
    2_000_000_000 + std::process::id() % 100_000
}

/// System V keys of the suite carry this top byte, so `ipcs` and the sweep can
/// tell them from everybody else's (System V objects have no names).
pub const SYSV_KEY_MARK: u32 = 0x1C00_0000;

/// A fresh System V key: the suite's top byte and 24 random bits (never
/// IPC_PRIVATE). Callers create with IPC_CREAT|IPC_EXCL and draw again on EEXIST,
/// so a key already taken (by a concurrent check, or planted by another user) is
/// never reused.
pub fn sysv_key() -> i32 {
    let low = u32::from_str_radix(&random_hex(6), 16).unwrap_or(1) & 0x00FF_FFFF;
    (SYSV_KEY_MARK | low.max(1)) as i32
}

/// Whether a System V key is one of the suite's.
pub fn is_suite_key(key: i64) -> bool {
    (key as u32) & 0xFF00_0000 == SYSV_KEY_MARK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_temporary_directory_gives_way_to_tmp_for_socket_room() {
        let short = PathBuf::from("/tmp");
        assert_eq!(bases_for(short.clone()), vec![short]);
        let long = PathBuf::from(format!("/var/folders/{}/T", "x".repeat(40)));
        let bases = bases_for(long.clone());
        assert_eq!(bases.last(), Some(&long));
        #[cfg(unix)]
        assert_eq!(bases.first(), Some(&PathBuf::from("/tmp")));
    }

    #[test]
    fn names_are_unique_prefixed_and_short() {
        let a = unique_slash();
        let b = unique_slash();
        assert_ne!(a, b);
        assert!(a.starts_with("/ipcconf-"));
        assert!(a.len() <= 30, "{a} is longer than macOS's sem_open() takes");
    }

    /// The longest name a macOS process makes: the largest pid (PID_MAX 99999)
    /// and a counter of seven digits still fit sem_open()'s 30 characters.
    #[test]
    fn longest_macos_name_fits_sem_open() {
        let name = format!("/{}", compose(99_999, 9_999_999, &random_hex(6)));
        assert!(
            name.len() <= 30,
            "{name} is longer than macOS's sem_open() takes"
        );
    }

    #[test]
    fn cleanup_runs_on_panic() {
        let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let f2 = flag.clone();
        let r = std::panic::catch_unwind(move || {
            let _g = Cleanup::new(move || f2.store(true, Ordering::SeqCst));
            panic!("check failed");
        });
        assert!(r.is_err());
        assert!(flag.load(Ordering::SeqCst));
    }
}
