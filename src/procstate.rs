//! What the kernel says another process is doing: whether it sleeps, and what
//! the kernel tells of where. Checks use it to see a peer blocked in `read()`
//! or `write()` instead of inferring the block from a non-blocking EAGAIN.
//!
//! What "blocked" rests on differs per OS, and the evidence says which
//! ([`Snapshot::sign`]): each OS offers an unprivileged process something
//! different about its own children.
//! - Linux, Android: `/proc/<pid>/stat` (state `S`: interruptible sleep),
//!   `/proc/<pid>/syscall` (the number of the system call it is in) and
//!   `/proc/<pid>/wchan` (the kernel function it sleeps in: `pipe_write`,
//!   `anon_pipe_write`, `pipe_read`, ...). Under qemu-user the syscall number is
//!   the host's, so a matching wait channel is accepted instead (proc(5)). The
//!   system call is named: "asleep in write()".
//! - FreeBSD: `sysctl {CTL_KERN, KERN_PROC, KERN_PROC_PID, pid}` fills a
//!   `struct kinfo_proc` (freebsd-src sys/sys/user.h; sys/kern/kern_proc.c
//!   fill_kinfo_proc); `ki_stat == SSLEEP` and `ki_wmesg`, the wait message of
//!   the sleep (`pipewr` for a pipe or FIFO write waiting for room, `pipbww` and
//!   `pipdw*` around direct writes, `piperd` for a read waiting for data:
//!   sys/kern/sys_pipe.c pipe_write, pipe_direct_write, pipe_read; a FIFO is a
//!   pipe inside, sys/fs/fifofs/fifo_vnops.c). The wait message is named, not
//!   the system call. Without KERN_PROC_INC_THREAD the record describes the
//!   process through one thread, which is the peer's only thread.
//! - macOS: XNU fills `kinfo_proc.kp_proc.p_stat` from `p->p_stat`, which is
//!   `SRUN` for every live process (never `SSLEEP`), and never fills `p_wmesg`
//!   (apple-oss-distributions/xnu bsd/kern/kern_sysctl.c fill_user64_externproc).
//!   The usable fact is `proc_pidinfo(pid, PROC_PIDTASKALLINFO)` (libproc;
//!   bsd/kern/proc_info.c proc_pidinfo, same-user check in
//!   proc_security_policy; struct proc_taskallinfo in bsd/sys/proc_info.h):
//!   `pti_numrunning` counts the threads whose state has TH_RUN
//!   (osfmk/kern/bsd_kern.c fill_taskprocinfo), so 0 of `pti_threadnum` means
//!   every thread waits; `pti_syscalls_unix` is recorded so two snapshots show
//!   whether the process made system calls in between. Neither that record nor
//!   a thread's (PROC_PIDTHREADINFO: `pth_run_state` TH_STATE_WAITING, sleep
//!   time, name) names the call or the wait: "every thread waiting" is all the
//!   evidence says.
//! - Windows and other targets: no probe here (reason given).
//!
//! Waiting for a state is a bounded poll with a deadline: the outcome never
//! depends on the pause between two looks.

use std::time::{Duration, Instant};

/// The system call a check expects the process to sleep in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Read,
    Write,
}

impl Call {
    pub fn name(self) -> &'static str {
        match self {
            Call::Read => "read",
            Call::Write => "write",
        }
    }
}

/// One look at a process.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub pid: u32,
    /// `Some(true)`: the kernel reports the process as [`Snapshot::sign`] says;
    /// `Some(false)`: it reports something else (running, another call or
    /// wait, gone); `None`: this OS offers no way to tell (`text` says why).
    pub blocked: Option<bool>,
    /// What `blocked` asserts on this OS, in the words of the evidence: "asleep
    /// in write()" on Linux, "asleep with a pipe write's wait message ..." on
    /// FreeBSD, "with every thread waiting ..." on macOS (which names no call);
    /// empty where there is no probe.
    pub sign: String,
    /// What the kernel said, for the evidence.
    pub text: String,
}

impl Snapshot {
    /// Not contradicted: blocked, or no probe on this OS.
    pub fn not_refuted(&self) -> bool {
        self.blocked != Some(false)
    }
}

/// Polls `pid` until the kernel reports it asleep in `call`, at most `bound`.
/// Returns the last snapshot and how long it took. Stops at once when this OS
/// has no probe.
pub fn wait_blocked(pid: u32, call: Call, bound: Duration) -> (Snapshot, Duration) {
    let start = Instant::now();
    loop {
        let s = snapshot(pid, call);
        if s.blocked != Some(false) || start.elapsed() >= bound {
            return (s, start.elapsed());
        }
        // The pause between two looks of a deadline-bounded poll.
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// What the kernel says of `pid` now, whatever it waits in (for evidence; on
/// Linux the system call is named when it is one the checks watch: read,
/// write, mq_timedsend, mq_timedreceive).
pub fn describe(pid: u32) -> String {
    imp::probe(pid, Call::Read).text
}

/// One look at `pid`: is it asleep inside `call` (as far as this OS tells)?
pub fn snapshot(pid: u32, call: Call) -> Snapshot {
    let Probe {
        blocked,
        sign,
        text,
    } = imp::probe(pid, call);
    Snapshot {
        pid,
        blocked,
        sign,
        text,
    }
}

/// What one OS probe found: see the fields of [`Snapshot`].
struct Probe {
    blocked: Option<bool>,
    sign: String,
    text: String,
}

#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "macos"
))]
impl Probe {
    /// The process could not be read: not seen asleep, and why.
    fn unread(sign: String, text: String) -> Probe {
        Probe {
            blocked: Some(false),
            sign,
            text,
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod imp {
    use super::{Call, Probe};

    fn read(pid: u32, what: &str) -> Result<String, String> {
        std::fs::read_to_string(format!("/proc/{pid}/{what}"))
            .map(|s| s.trim().to_owned())
            .map_err(|e| format!("unreadable ({e})"))
    }

    /// The name of a system call the suite's checks watch a peer sleep in.
    fn call_name(n: libc::c_long) -> Option<&'static str> {
        match n {
            libc::SYS_read => Some("read"),
            libc::SYS_write => Some("write"),
            libc::SYS_mq_timedsend => Some("mq_timedsend"),
            libc::SYS_mq_timedreceive => Some("mq_timedreceive"),
            _ => None,
        }
    }

    pub fn probe(pid: u32, call: Call) -> Probe {
        let sign = format!("asleep in {}()", call.name());
        let state = match read(pid, "stat") {
            // The state follows the command name, which is in parentheses.
            Ok(s) => s
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next().map(str::to_owned))
                .unwrap_or_default(),
            Err(e) => {
                return Probe::unread(sign, format!("/proc/{pid}/stat {e}"));
            }
        };
        let want = match call {
            Call::Read => libc::SYS_read,
            Call::Write => libc::SYS_write,
        };
        let syscall = read(pid, "syscall");
        let nr = syscall
            .as_ref()
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<libc::c_long>().ok());
        let syscall_text = match (&syscall, nr) {
            (_, Some(n)) => match call_name(n) {
                Some(name) => format!("{n} ({name})"),
                None => n.to_string(),
            },
            (Ok(s), None) => s.split_whitespace().next().unwrap_or("").to_owned(),
            (Err(e), None) => e.clone(),
        };
        let wchan = read(pid, "wchan").unwrap_or_default();
        let wchan_known = !wchan.is_empty() && wchan != "0";
        let wchan_match = wchan_known && wchan.contains(&format!("pipe_{}", call.name()));
        let in_call = nr == Some(want) || wchan_match || (nr.is_none() && !wchan_known);
        // With neither the system call nor the wait channel readable, the
        // state is all there is: the sign says so rather than naming a call.
        let sign = if nr.is_none() && !wchan_known {
            "asleep (state S; neither /proc/PID/syscall nor wchan was readable, so not which call)"
                .to_owned()
        } else {
            sign
        };
        let text = format!(
            "/proc/{pid}: state {state}, syscall {syscall_text}, wchan {}",
            if wchan_known {
                wchan.as_str()
            } else {
                "unknown"
            }
        );
        Probe {
            blocked: Some(state == "S" && in_call),
            sign,
            text,
        }
    }
}

#[cfg(target_os = "freebsd")]
mod imp {
    use super::{Call, Probe};

    // The layout libc 0.2 declares (FreeBSD 12's, which later releases keep)
    // against sys/sys/user.h: KINFO_PROC_SIZE is 1088 on every 64-bit
    // architecture; ki_stat and ki_wmesg have kept their offsets since
    // ki_tdname (then ki_ocomm) was added. A mismatch fails the build.
    #[cfg(target_pointer_width = "64")]
    const _: () = {
        assert!(std::mem::size_of::<libc::kinfo_proc>() == 1088);
        assert!(std::mem::offset_of!(libc::kinfo_proc, ki_stat) == 388);
        assert!(std::mem::offset_of!(libc::kinfo_proc, ki_wmesg) == 411);
        assert!(libc::WMESGLEN == 8);
    };

    /// The wait messages of a pipe (or FIFO) call waiting for the other side,
    /// from freebsd-src sys/kern/sys_pipe.c: pipe_read sleeps in "piperd";
    /// pipe_write in "pipewr" (no room), "pipbww" (a direct write in
    /// progress), pipe_direct_write in "pipdww"/"pipdwt"/"pipdwc".
    fn matches(call: Call, wmesg: &str) -> bool {
        match call {
            Call::Read => wmesg == "piperd",
            Call::Write => wmesg == "pipewr" || wmesg.starts_with("pipdw") || wmesg == "pipbww",
        }
    }

    pub fn probe(pid: u32, call: Call) -> Probe {
        let sign = match call {
            Call::Read => "asleep with pipe_read's wait message \"piperd\"",
            Call::Write => {
                "asleep with a pipe write's wait message (\"pipewr\", \"pipbww\" or \"pipdw*\")"
            }
        }
        .to_owned();
        let Ok(pid_c) = libc::pid_t::try_from(pid) else {
            return Probe::unread(sign, format!("pid {pid} out of range"));
        };
        let mut mib = [libc::CTL_KERN, libc::KERN_PROC, libc::KERN_PROC_PID, pid_c];
        // SAFETY: kinfo_proc is plain data (integers, arrays, pointers the
        // kernel fills as numbers and this code never follows); all-zero is valid.
        let mut kp: libc::kinfo_proc = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::kinfo_proc>();
        // SAFETY: mib names 4 valid integers; kp is a writable buffer of `len`
        // bytes that outlives the call; no new value is set (null, 0).
        let rc = unsafe {
            libc::sysctl(
                mib.as_mut_ptr(),
                mib.len() as libc::c_uint,
                (&mut kp as *mut libc::kinfo_proc).cast(),
                &mut len,
                std::ptr::null(),
                0,
            )
        };
        let size = std::mem::size_of::<libc::kinfo_proc>();
        if rc != 0 || len < size || usize::try_from(kp.ki_structsize).ok() != Some(size) {
            return Probe::unread(
                sign,
                format!(
                    "sysctl kern.proc.pid.{pid}: {} (length {len}, ki_structsize {}, expected {size})",
                    if rc != 0 {
                        std::io::Error::last_os_error().to_string()
                    } else {
                        "no process record of the expected size".to_owned()
                    },
                    kp.ki_structsize
                ),
            );
        }
        let wmesg: String = kp
            .ki_wmesg
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8 as char)
            .collect();
        let sleeping = kp.ki_stat == libc::SSLEEP;
        Probe {
            blocked: Some(sleeping && matches(call, &wmesg)),
            sign,
            text: format!(
                "kinfo_proc of {pid}: ki_stat {}{}, ki_wmesg {wmesg:?}",
                kp.ki_stat,
                if sleeping { " (SSLEEP)" } else { "" }
            ),
        }
    }
}

#[cfg(target_os = "macos")]
mod imp {
    use super::{Call, Probe};

    // The layout libc 0.2 declares against bsd/sys/proc_info.h: proc_bsdinfo
    // is 136 bytes (MAXCOMLEN 16, pbi_name 2 * MAXCOMLEN), proc_taskinfo 96,
    // pti_numrunning the 11th int32 after six uint64 (PROC_PIDTASKALLINFO_SIZE
    // is their sum). A mismatch fails the build.
    const _: () = {
        assert!(std::mem::size_of::<libc::proc_bsdinfo>() == 136);
        assert!(std::mem::size_of::<libc::proc_taskinfo>() == 96);
        assert!(std::mem::size_of::<libc::proc_taskallinfo>() == 232);
        assert!(std::mem::offset_of!(libc::proc_taskinfo, pti_numrunning) == 88);
        assert!(std::mem::offset_of!(libc::proc_bsdinfo, pbi_status) == 4);
    };

    pub fn probe(pid: u32, call: Call) -> Probe {
        let _ = call;
        let sign =
            "with every thread waiting (no thread in TH_RUN; XNU does not tell which call or wait)"
                .to_owned();
        let Ok(pid_c) = libc::c_int::try_from(pid) else {
            return Probe::unread(sign, format!("pid {pid} out of range"));
        };
        // SAFETY: proc_taskallinfo is plain data; all-zero is valid.
        let mut info: libc::proc_taskallinfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::proc_taskallinfo>() as libc::c_int;
        // SAFETY: `info` is a writable buffer of `size` bytes that outlives the call.
        let got = unsafe {
            libc::proc_pidinfo(
                pid_c,
                libc::PROC_PIDTASKALLINFO,
                0,
                (&mut info as *mut libc::proc_taskallinfo).cast(),
                size,
            )
        };
        // proc_pidinfo returns the bytes copied out: the whole record, or 0
        // with errno set (EPERM for another user's process, ESRCH when gone).
        if got != size {
            return Probe::unread(
                sign,
                format!(
                    "proc_pidinfo({pid}, PROC_PIDTASKALLINFO): {} bytes, {}",
                    got,
                    std::io::Error::last_os_error()
                ),
            );
        }
        let alive = info.pbsd.pbi_status != libc::SZOMB;
        let waiting = info.ptinfo.pti_threadnum > 0 && info.ptinfo.pti_numrunning == 0;
        Probe {
            blocked: Some(alive && waiting),
            sign,
            text: format!(
                "proc_pidinfo(PROC_PIDTASKALLINFO) of {pid}: {} thread(s), {} of them in TH_RUN (pti_numrunning), pti_syscalls_unix {}, pbi_status {} (p_stat, SRUN for any live process); no wait message or system call is exposed",
                info.ptinfo.pti_threadnum,
                info.ptinfo.pti_numrunning,
                info.ptinfo.pti_syscalls_unix,
                info.pbsd.pbi_status
            ),
        }
    }
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "macos"
)))]
mod imp {
    use super::{Call, Probe};

    pub fn probe(pid: u32, call: Call) -> Probe {
        let _ = (pid, call);
        Probe {
            blocked: None,
            sign: String::new(),
            text: format!(
                "no process-state probe on {}: {}",
                crate::platform::TARGET,
                if cfg!(windows) {
                    "Windows documents no call that tells which wait another process's thread is in (the thread state and wait reason of NtQuerySystemInformation are internal and may change)"
                } else {
                    "this target has no probe"
                }
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This very thread is running, not asleep in a read.
    #[test]
    fn a_running_process_is_not_blocked() {
        let s = snapshot(std::process::id(), Call::Read);
        assert!(!s.text.is_empty());
        if cfg!(any(target_os = "linux", target_os = "android")) {
            assert_eq!(s.blocked, Some(false), "{}", s.text);
        }
    }

    /// `cat` with an empty pipe as its input sleeps in read(): the probe says so.
    #[cfg(unix)]
    #[test]
    fn a_reader_of_an_empty_pipe_is_blocked_in_read() {
        let mut child = match std::process::Command::new("cat")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("SKIPPED: no cat to watch: {e}");
                return;
            }
        };
        let (s, _) = wait_blocked(child.id(), Call::Read, crate::watchdog::BOUND);
        let w = snapshot(child.id(), Call::Write);
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(s.blocked, Some(true), "{}", s.text);
        assert!(!s.sign.is_empty(), "a probe says what it saw: {}", s.text);
        if cfg!(any(
            target_os = "linux",
            target_os = "android",
            target_os = "freebsd"
        )) {
            assert_eq!(
                w.blocked,
                Some(false),
                "asleep in read, not write: {}",
                w.text
            );
        }
    }

    #[test]
    fn a_missing_process_is_not_blocked() {
        // Pids are below 2^22 on Linux (pid_max) and 99999 on FreeBSD.
        let s = snapshot(i32::MAX as u32 - 1, Call::Write);
        if cfg!(unix) {
            assert_eq!(s.blocked, Some(false), "{}", s.text);
        }
    }
}
