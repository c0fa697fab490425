//! The process model itself: how a parent learns how a child ended, and a
//! plain child-process handle whose output can be watched with bounded waits
//! without killing the child when a wait runs out.

/// Peer roles:
/// - `process-exit <code>` exits at once with that status;
/// - `process-await-signal` (Unix: puts SIGTERM back to its default action)
///   prints `ready <pid>` and then waits for its stdin to close, so that the
///   parent can end it from outside.
pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
    match (role, args) {
        ("process-exit", [code]) => Some(match code.parse::<i32>() {
            Ok(code) => std::process::exit(code),
            Err(e) => Err(format!("bad exit code {code:?}: {e}")),
        }),
        ("process-await-signal", []) => Some(await_end()),
        _ => None,
    }
}

fn await_end() -> Result<(), String> {
    use std::io::{Read, Write};
    #[cfg(unix)]
    crate::sys::default_signal_disposition(nix::sys::signal::Signal::SIGTERM)
        .map_err(|e| format!("signal(SIGTERM, SIG_DFL): {e}"))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {}", std::process::id())
        .and_then(|_| out.flush())
        .map_err(|e| e.to_string())?;
    let mut sink = Vec::new();
    std::io::stdin()
        .read_to_end(&mut sink)
        .map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(unix)]
pub use unix::*;

#[cfg(unix)]
mod unix {
    use std::io;
    use std::os::fd::AsFd;
    use std::path::Path;
    use std::process::{Child, ChildStdout, Command, Stdio};
    use std::time::{Duration, Instant};

    use nix::poll::PollFlags;
    use nix::sys::wait::WaitStatus;
    use nix::unistd::Pid;

    /// A child process started from the peer binary, its stdout read line by line
    /// with bounded waits. Unlike `crate::peer::Peer`, a wait that runs out leaves
    /// the child alone (`Ok(None)`): checks use it to watch a child that is meant
    /// to be blocked. Dropping it kills and reaps the child unless the check
    /// reaped it itself (`reaped`).
    pub struct RawPeer {
        child: Child,
        stdout: ChildStdout,
        pending: Vec<u8>,
        reaped: bool,
        what: String,
    }

    impl RawPeer {
        /// Starts `exe args...` with piped stdin and stdout, stderr discarded
        /// (the peer reports failures on stdout as `err ...`).
        pub fn spawn(exe: &Path, args: &[&str]) -> io::Result<RawPeer> {
            let mut child = Command::new(exe)
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()?;
            let stdout = child.stdout.take().expect("piped stdout");
            Ok(RawPeer {
                child,
                stdout,
                pending: Vec::new(),
                reaped: false,
                what: format!("ipcconf-peer {}", args.join(" ")),
            })
        }

        pub fn pid(&self) -> Pid {
            Pid::from_raw(self.child.id() as i32)
        }

        pub fn what(&self) -> &str {
            &self.what
        }

        /// The next line the child prints, waiting at most `bound`: `Ok(None)` when
        /// nothing came in time (the child keeps running), an error at end of output.
        pub fn next_line(&mut self, bound: Duration) -> io::Result<Option<String>> {
            let deadline = Instant::now() + bound;
            loop {
                if let Some(i) = self.pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = self.pending.drain(..=i).collect();
                    return Ok(Some(String::from_utf8_lossy(&line).trim_end().to_owned()));
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if !crate::channel::fd::wait(self.stdout.as_fd(), PollFlags::POLLIN, left)? {
                    return Ok(None);
                }
                let mut buf = [0u8; 512];
                match nix::unistd::read(&self.stdout, &mut buf) {
                    Ok(0) => {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("{} closed its output", self.what),
                        ));
                    }
                    Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                    Err(nix::errno::Errno::EINTR) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }

        /// Reaps the child with waitpid(2), waiting at most `bound`; on timeout the
        /// child is killed (and reaped by the waiting thread) and `None` returned.
        pub fn waitpid(&mut self, bound: Duration) -> Option<nix::Result<WaitStatus>> {
            let pid = self.pid();
            // From here on the child is reaped through waitpid, never through std.
            self.reaped = true;
            let status =
                crate::watchdog::bounded(bound, move || nix::sys::wait::waitpid(pid, None));
            if status.is_none() {
                // Still unreaped (the waiting thread holds the only waitpid): the
                // pid cannot have been reused, so the kill reaches this child.
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            }
            status
        }
    }

    impl Drop for RawPeer {
        fn drop(&mut self) {
            if !self.reaped {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

/// Windows: the exit code of a process through its handle.
#[cfg(windows)]
pub mod win {
    use std::os::windows::io::AsRawHandle;
    use std::process::Child;
    use std::time::Duration;

    use windows_sys::Win32::Foundation::{HANDLE, WAIT_OBJECT_0};
    use windows_sys::Win32::System::Threading::{
        GetExitCodeProcess, TerminateProcess, WaitForSingleObject,
    };

    /// Ends `child` with TerminateProcess and the given exit code.
    pub fn terminate(child: &Child, code: u32) -> std::io::Result<()> {
        let handle = child.as_raw_handle() as HANDLE;
        // SAFETY: the handle belongs to `child`, which is borrowed for the call and
        // so stays open; TerminateProcess only reads it.
        if unsafe { TerminateProcess(handle, code) } == 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits at most `bound` for `child` to end, then reads its exit code through
    /// the process handle: `Ok(None)` when it is still running.
    pub fn exit_code(child: &Child, bound: Duration) -> std::io::Result<Option<u32>> {
        let handle = child.as_raw_handle() as HANDLE;
        let ms = u32::try_from(bound.as_millis()).unwrap_or(u32::MAX);
        // SAFETY: the handle stays open while `child` is borrowed; waiting on a
        // process handle has no other effect.
        if unsafe { WaitForSingleObject(handle, ms) } != WAIT_OBJECT_0 {
            return Ok(None);
        }
        let mut code = 0u32;
        // SAFETY: as above; `code` is a valid place for the function to write.
        if unsafe { GetExitCodeProcess(handle, &mut code) } == 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Some(code))
    }
}
