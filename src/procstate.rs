//! What the kernel says another process is doing: whether it sleeps inside a
//! given system call. Checks use it to see a peer blocked in `read()` or
//! `write()` instead of inferring the block from a non-blocking EAGAIN.
//!
//! Per OS, the best the system offers to an unprivileged process about its own
//! children:
//! - Linux, Android: `/proc/<pid>/stat` (state `S`: interruptible sleep),
//!   `/proc/<pid>/syscall` (the number of the system call it is in) and
//!   `/proc/<pid>/wchan` (the kernel function it sleeps in: `pipe_write`,
//!   `anon_pipe_write`, `pipe_read`, ...). Under qemu-user the syscall number is
//!   the host's, so a matching wait channel is accepted instead (proc(5)).
//! - FreeBSD: `sysctl {CTL_KERN, KERN_PROC, KERN_PROC_PID, pid}` fills a
//!   `struct kinfo_proc`; `ki_stat == SSLEEP` and `ki_wmesg` the sleep message
//!   (`pipewr` for a pipe or FIFO write waiting for room, `piperd` for a read
//!   waiting for data: freebsd-src sys/kern/sys_pipe.c pipe_write/pipe_read).
//! - macOS: XNU fills `kinfo_proc.kp_proc.p_stat` from `p->p_stat`, which is
//!   `SRUN` for every live process (never `SSLEEP`), and never fills `p_wmesg`
//!   (apple-oss-distributions/xnu bsd/kern/kern_sysctl.c fill_user64_externproc).
//!   The usable fact is `proc_pidinfo(PROC_PIDTASKALLINFO)`: `pti_numrunning`
//!   counts threads whose state has TH_RUN (osfmk/kern/bsd_kern.c
//!   fill_taskprocinfo), so 0 means every thread waits; `pti_syscalls_unix`
//!   is recorded so two snapshots show whether the process made system calls in
//!   between. Which call it waits in is not exposed without privileges.
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
    /// `Some(true)`: the kernel reports the process asleep inside the call;
    /// `Some(false)`: it reports something else (running, another call, gone);
    /// `None`: this OS offers no way to tell (`text` says why).
    pub blocked: Option<bool>,
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
    imp::probe(pid, Call::Read).1
}

/// One look at `pid`: is it asleep inside `call`?
pub fn snapshot(pid: u32, call: Call) -> Snapshot {
    let (blocked, text) = imp::probe(pid, call);
    Snapshot { pid, blocked, text }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod imp {
    use super::Call;

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

    pub fn probe(pid: u32, call: Call) -> (Option<bool>, String) {
        let state = match read(pid, "stat") {
            // The state follows the command name, which is in parentheses.
            Ok(s) => s
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next().map(str::to_owned))
                .unwrap_or_default(),
            Err(e) => return (Some(false), format!("/proc/{pid}/stat {e}")),
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
        let text = format!(
            "/proc/{pid}: state {state}, syscall {syscall_text}, wchan {}",
            if wchan_known {
                wchan.as_str()
            } else {
                "unknown"
            }
        );
        (Some(state == "S" && in_call), text)
    }
}

#[cfg(target_os = "freebsd")]
mod imp {
    use super::Call;

    pub fn probe(pid: u32, call: Call) -> (Option<bool>, String) {
        let Ok(pid_c) = libc::pid_t::try_from(pid) else {
            return (Some(false), format!("pid {pid} out of range"));
        };
        let mut mib = [libc::CTL_KERN, libc::KERN_PROC, libc::KERN_PROC_PID, pid_c];
        // SAFETY: kinfo_proc is plain data (integers and arrays); all-zero is valid.
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
        if rc != 0 || len < std::mem::size_of::<libc::kinfo_proc>() {
            return (
                Some(false),
                format!(
                    "sysctl kern.proc.pid.{pid}: {} (length {len})",
                    std::io::Error::last_os_error()
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
        // pipe_write sleeps in "pipewr" (buffered) or "pipdw*"/"pipbww" (direct
        // writes); pipe_read in "piperd"; both may wait for the pipe lock ("pipelk").
        let in_call = match call {
            Call::Read => wmesg == "piperd",
            Call::Write => wmesg == "pipewr" || wmesg.starts_with("pipdw") || wmesg == "pipbww",
        };
        (
            Some(sleeping && in_call),
            format!(
                "kinfo_proc of {pid}: ki_stat {}{}, ki_wmesg {wmesg:?}",
                kp.ki_stat,
                if sleeping { " (SSLEEP)" } else { "" }
            ),
        )
    }
}

#[cfg(target_os = "macos")]
mod imp {
    use super::Call;

    pub fn probe(pid: u32, call: Call) -> (Option<bool>, String) {
        let _ = call;
        let Ok(pid_c) = libc::c_int::try_from(pid) else {
            return (Some(false), format!("pid {pid} out of range"));
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
        if got != size {
            return (
                Some(false),
                format!(
                    "proc_pidinfo({pid}, PROC_PIDTASKALLINFO): {} bytes, {}",
                    got,
                    std::io::Error::last_os_error()
                ),
            );
        }
        let alive = info.pbsd.pbi_status != libc::SZOMB;
        let waiting = info.ptinfo.pti_numrunning == 0;
        (
            Some(alive && waiting),
            format!(
                "proc_pidinfo of {pid}: pbi_status {} (p_stat; XNU reports SRUN for sleeping processes too), {} thread(s), pti_numrunning {}, pti_syscalls_unix {} (XNU exposes no wait message or current system call)",
                info.pbsd.pbi_status,
                info.ptinfo.pti_threadnum,
                info.ptinfo.pti_numrunning,
                info.ptinfo.pti_syscalls_unix
            ),
        )
    }
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "macos"
)))]
mod imp {
    use super::Call;

    pub fn probe(pid: u32, call: Call) -> (Option<bool>, String) {
        let _ = (pid, call);
        (
            None,
            format!(
                "no process-state probe on {}: {}",
                crate::platform::TARGET,
                if cfg!(windows) {
                    "Windows documents no call that tells which wait another process's thread is in (the thread state and wait reason of NtQuerySystemInformation are internal and may change)"
                } else {
                    "this target has no probe"
                }
            ),
        )
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
