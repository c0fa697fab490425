//! Removing leftovers of a run that was killed before its guards ran: only the
//! current user's objects, only those with the suite's `ipcconf-` prefix (or, for
//! System V, the suite's key prefix), and never one a running process of the
//! suite still uses: a name carries its creator's pid (`ipcconf-<pid>-...`), a
//! System V segment or queue the pids that last used it; while such a process
//! runs, the object belongs to a run in progress (another checkout's, say) and
//! is kept. (A reused pid keeps an object too; sweep again later.)

/// What a sweep did: one line per object removed (or, dry, to remove), and one
/// per object kept because its process still runs.
#[derive(Debug, Default)]
pub struct Swept {
    pub removed: Vec<String>,
    pub kept: Vec<String>,
}

/// Removes (or with `dry_run`, lists) this user's leftover objects.
pub fn sweep(dry_run: bool) -> Swept {
    let mut done = Swept::default();
    temp_dirs(dry_run, &mut done);
    #[cfg(any(target_os = "linux", target_os = "android"))]
    linux::sweep(dry_run, &mut done);
    done
}

/// The creator's pid in a suite name: `ipcconf-<pid>-...`, `sem.ipcconf-<pid>-...`.
pub fn name_pid(name: &str) -> Option<u32> {
    let rest = name.split_once(crate::names::PREFIX)?.1;
    rest.split('-').next()?.parse().ok()
}

/// Whether process `pid` exists (any owner).
pub fn alive(pid: u32) -> bool {
    cfg_if::cfg_if! {
        if #[cfg(unix)] {
            let Ok(pid) = i32::try_from(pid) else { return false };
            if pid <= 0 {
                return false;
            }
            match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
                Ok(()) => true,
                Err(e) => e == nix::errno::Errno::EPERM,
            }
        } else {
            let _ = pid;
            false
        }
    }
}

/// Whether `name` is one the suite makes: `<kind>ipcconf-<pid>-...`
/// (`names::unique`, `names::private_dir`). Another file that merely starts
/// with the prefix (`ipcconf-old`, a lock file) is not the suite's to remove.
fn ours(name: &str, kind: &str) -> bool {
    name.strip_prefix(kind)
        .is_some_and(|rest| rest.starts_with(crate::names::PREFIX))
        && name_pid(name).is_some()
}

/// Why an object named `name` must stay: its creator is still running.
fn in_use(name: &str) -> Option<String> {
    let pid = name_pid(name)?;
    alive(pid).then(|| format!("its creator, process {pid}, is still running"))
}

fn owned_by_me(meta: &std::fs::Metadata) -> bool {
    cfg_if::cfg_if! {
        if #[cfg(unix)] {
            use std::os::unix::fs::MetadataExt;
            i64::from(meta.uid()) == crate::platform::effective_uid()
        } else {
            let _ = meta;
            true
        }
    }
}

fn temp_dirs(dry_run: bool, done: &mut Swept) {
    for base in crate::names::private_dir_bases() {
        temp_dir(&base, dry_run, done);
    }
}

fn temp_dir(base: &std::path::Path, dry_run: bool, done: &mut Swept) {
    let Ok(rd) = std::fs::read_dir(base) else {
        return;
    };
    for e in rd.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        if !ours(&name, "") {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        if !owned_by_me(&meta) {
            continue;
        }
        if let Some(why) = in_use(&name) {
            done.kept.push(format!("{}: {why}", e.path().display()));
            continue;
        }
        let ok = dry_run
            || if meta.is_dir() {
                std::fs::remove_dir_all(e.path()).is_ok()
            } else {
                std::fs::remove_file(e.path()).is_ok()
            };
        if ok {
            done.removed.push(e.path().display().to_string());
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux {

    #[cfg(not(target_os = "android"))]
    use super::alive;
    use super::{Swept, in_use, ours, owned_by_me};

    pub fn sweep(dry_run: bool, done: &mut Swept) {
        // POSIX queues, shared memory and (glibc) named semaphores appear as files.
        for (dir, prefix) in [("/dev/mqueue", ""), ("/dev/shm", ""), ("/dev/shm", "sem.")] {
            let Ok(rd) = std::fs::read_dir(dir) else {
                continue;
            };
            for e in rd.filter_map(Result::ok) {
                let name = e.file_name().to_string_lossy().into_owned();
                if !ours(&name, prefix) {
                    continue;
                }
                if !std::fs::symlink_metadata(e.path()).is_ok_and(|m| owned_by_me(&m)) {
                    continue;
                }
                if let Some(why) = in_use(&name) {
                    done.kept.push(format!("{}: {why}", e.path().display()));
                    continue;
                }
                if dry_run || std::fs::remove_file(e.path()).is_ok() {
                    done.removed.push(e.path().display().to_string());
                }
            }
        }
        // bionic has no System V IPC calls (and the suite makes no objects there).
        #[cfg(not(target_os = "android"))]
        for (kind, file) in [
            ("msg", "/proc/sysvipc/msg"),
            ("shm", "/proc/sysvipc/shm"),
            ("sem", "/proc/sysvipc/sem"),
        ] {
            for (key, id, pids) in suite_objects(std::path::Path::new(file)) {
                let what = format!("System V {kind} key {key:#x} id {id}");
                if let Some(pid) = pids.into_iter().find(|&p| p != 0 && alive(p)) {
                    done.kept.push(format!(
                        "{what}: process {pid}, which last used it, is still running"
                    ));
                    continue;
                }
                if dry_run || remove(kind, id) {
                    done.removed.push(what);
                }
            }
        }
    }

    #[cfg(not(target_os = "android"))]
    /// (key, id, pids that used it) of this user's objects with the suite's key
    /// prefix: a segment's creator and last attacher (cpid, lpid), a queue's last
    /// sender and receiver (lspid, lrpid); a semaphore set records none.
    fn suite_objects(file: &std::path::Path) -> Vec<(i64, i32, Vec<u32>)> {
        let Ok(text) = std::fs::read_to_string(file) else {
            return Vec::new();
        };
        let mut lines = text.lines();
        let Some(header) = lines.next() else {
            return Vec::new();
        };
        let cols: Vec<&str> = header.split_whitespace().collect();
        let (Some(k), Some(i), Some(u)) = (
            cols.iter().position(|c| *c == "key"),
            cols.iter()
                .position(|c| *c == "shmid" || *c == "msqid" || *c == "semid"),
            cols.iter().position(|c| *c == "uid"),
        ) else {
            return Vec::new();
        };
        let pid_cols: Vec<usize> = ["cpid", "lpid", "lspid", "lrpid"]
            .iter()
            .filter_map(|name| cols.iter().position(|c| c == name))
            .collect();
        let me = crate::platform::effective_uid();
        lines
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let key: i64 = f.get(k)?.parse().ok()?;
                let id: i32 = f.get(i)?.parse().ok()?;
                let uid: i64 = f.get(u)?.parse().ok()?;
                let pids = pid_cols
                    .iter()
                    .filter_map(|&c| f.get(c)?.parse().ok())
                    .collect();
                (uid == me && crate::names::is_suite_key(key)).then_some((key, id, pids))
            })
            .collect()
    }

    #[cfg(not(target_os = "android"))]
    fn remove(kind: &str, id: i32) -> bool {
        // SAFETY: IPC_RMID takes no buffer (null is allowed for msgctl/shmctl, and
        // semctl's fourth argument is unused for IPC_RMID); `id` came from the kernel.
        let rc = unsafe {
            match kind {
                "msg" => libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()),
                "shm" => libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()),
                _ => libc::semctl(id, 0, libc::IPC_RMID),
            }
        };
        rc == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_their_creator() {
        assert_eq!(name_pid("ipcconf-4242-7-abcdef"), Some(4242));
        assert_eq!(name_pid("sem.ipcconf-17-0-012345"), Some(17));
        assert_eq!(name_pid("ipcconf-x-1"), None);
        assert_eq!(name_pid("other-1-2"), None);
    }

    #[test]
    fn only_the_suites_names_are_swept() {
        assert!(ours("ipcconf-4242-7-abcdef", ""));
        assert!(ours("ipcconf-4242-Ab12Cd", "")); // a private directory
        assert!(ours("sem.ipcconf-17-0-012345", "sem."));
        assert!(!ours("sem.ipcconf-17-0-012345", ""));
        assert!(!ours("ipcconf-old", ""));
        assert!(!ours("ipcconf-heavy.lock", ""));
        assert!(!ours("x-ipcconf-17-0-012345", ""));
    }

    #[test]
    fn a_file_that_only_starts_with_the_prefix_stays() {
        let base = tempfile::tempdir().unwrap();
        let theirs = base.path().join("ipcconf-quiet");
        std::fs::write(&theirs, b"").unwrap();
        // u32::MAX is no process: a leftover of a dead run.
        let left = base.path().join(format!("ipcconf-{}-0-000000", u32::MAX));
        std::fs::write(&left, b"").unwrap();
        let mut done = Swept {
            removed: Vec::new(),
            kept: Vec::new(),
        };
        temp_dir(base.path(), false, &mut done);
        assert!(theirs.exists());
        assert!(!left.exists());
        assert_eq!(done.removed, [left.display().to_string()]);
    }

    #[cfg(unix)]
    #[test]
    fn a_running_creator_keeps_its_object() {
        assert!(alive(std::process::id()));
        let name = format!("ipcconf-{}-0-000000", std::process::id());
        assert!(in_use(&name).is_some());
        // pid 0 and absurd pids are not processes.
        assert!(!alive(0));
        assert!(!alive(u32::MAX));
    }
}
