//! Removing leftovers of a run that was killed before its guards ran: only the
//! current user's objects, only those with the suite's `ipcconf-` prefix (or, for
//! System V, the suite's key prefix).

/// Removes (or with `dry_run`, lists) this user's leftover objects; returns one
/// line per object.
pub fn sweep(dry_run: bool) -> Vec<String> {
    let mut done = Vec::new();
    temp_dirs(dry_run, &mut done);
    #[cfg(any(target_os = "linux", target_os = "android"))]
    linux::sweep(dry_run, &mut done);
    done
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

fn temp_dirs(dry_run: bool, done: &mut Vec<String>) {
    let tmp = std::env::temp_dir();
    let Ok(rd) = std::fs::read_dir(&tmp) else {
        return;
    };
    for e in rd.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with(crate::names::PREFIX) {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        if !owned_by_me(&meta) {
            continue;
        }
        let ok = dry_run
            || if meta.is_dir() {
                std::fs::remove_dir_all(e.path()).is_ok()
            } else {
                std::fs::remove_file(e.path()).is_ok()
            };
        if ok {
            done.push(e.path().display().to_string());
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux {

    use super::owned_by_me;

    pub fn sweep(dry_run: bool, done: &mut Vec<String>) {
        // POSIX queues, shared memory and (glibc) named semaphores appear as files.
        for (dir, prefix) in [("/dev/mqueue", ""), ("/dev/shm", ""), ("/dev/shm", "sem.")] {
            let Ok(rd) = std::fs::read_dir(dir) else {
                continue;
            };
            for e in rd.filter_map(Result::ok) {
                let name = e.file_name().to_string_lossy().into_owned();
                if !name.starts_with(&format!("{prefix}{}", crate::names::PREFIX)) {
                    continue;
                }
                if !std::fs::symlink_metadata(e.path()).is_ok_and(|m| owned_by_me(&m)) {
                    continue;
                }
                if dry_run || std::fs::remove_file(e.path()).is_ok() {
                    done.push(e.path().display().to_string());
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
            for (key, id) in suite_objects(std::path::Path::new(file)) {
                if dry_run || remove(kind, id) {
                    done.push(format!("System V {kind} key {key:#x} id {id}"));
                }
            }
        }
    }

    /// (key, id) of this user's objects with the suite's key prefix.
    #[cfg(not(target_os = "android"))]
    fn suite_objects(file: &std::path::Path) -> Vec<(i64, i32)> {
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
        let me = crate::platform::effective_uid();
        lines
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let key: i64 = f.get(k)?.parse().ok()?;
                let id: i32 = f.get(i)?.parse().ok()?;
                let uid: i64 = f.get(u)?.parse().ok()?;
                (uid == me && crate::names::is_suite_key(key)).then_some((key, id))
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
