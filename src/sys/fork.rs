//! fork(2) for single-threaded peer processes, and reaping the children.

use std::io;

use nix::errno::Errno;

/// Which side of a fork this is.
pub enum Forked {
    Child,
    Parent(libc::pid_t),
}

/// fork(2), in a peer process that has no other threads (the peer binary starts
/// none), so the child may run ordinary Rust code.
pub fn fork() -> io::Result<Forked> {
    // SAFETY: the calling peer process is single-threaded (the perf roles start
    // no threads), so no lock can be held by a thread that does not exist in the
    // child; the child ends with `exit_child`, never returning into the caller's
    // frames (whose destructors would remove shared names).
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Child => Ok(Forked::Child),
        nix::unistd::ForkResult::Parent { child } => Ok(Forked::Parent(child.as_raw())),
    }
}

/// Ends a forked child at once, without unwinding or running destructors.
pub fn exit_child(code: i32) -> ! {
    // SAFETY: _exit ends the process immediately; nothing of this process is used
    // after it.
    unsafe { libc::_exit(code) }
}

/// On Linux, asks for SIGKILL when the parent dies, so a child never outlives
/// the measurement; elsewhere the watchdog bounds it.
pub fn die_with_parent(parent: libc::pid_t) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_PDEATHSIG takes a signal number; no memory is passed.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    }
    // SAFETY: getppid has no arguments and cannot fail.
    if unsafe { libc::getppid() } != parent {
        exit_child(90);
    }
}

/// Sends SIGKILL to a child of this process.
pub fn kill(pid: libc::pid_t) {
    // SAFETY: kill takes plain integers; `pid` is a child this process forked and
    // has not reaped, so the number cannot name another process.
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

/// waitpid(pid): Ok(exit code) for a normal exit, Err(description) otherwise.
pub fn wait_child(pid: libc::pid_t) -> Result<i32, String> {
    let mut status = 0;
    loop {
        // SAFETY: `status` is writable; `pid` is an unreaped child of this process.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            break;
        }
        let e = Errno::last();
        if e != Errno::EINTR {
            return Err(format!("waitpid({pid}): {e}"));
        }
    }
    if libc::WIFEXITED(status) {
        Ok(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        Err(format!(
            "child {pid} was killed by signal {sig}{}",
            if sig == libc::SIGALRM {
                " (its watchdog: one step blocked for 2 s)"
            } else {
                ""
            }
        ))
    } else {
        Err(format!("child {pid} ended with wait status {status:#x}"))
    }
}
