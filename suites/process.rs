//! The process model: `process.*` claims of the catalog.
//!
//! The guide, scenario 1 (parent-child): the exit status is "built into process
//! model, no IPC needed".
//!
//! Each claim is one test. Where Unix and Windows observe it differently, the
//! test is `check!("<id>", os::<property>)`, `os` being this target's module
//! of observations: `unix` or `windows`, below.

use ipc_conformance::check;

ipc_conformance::suite!();

#[test]
fn exit_status_via_wait() {
    check!("process.exit_status_via_wait", os::exit_status_via_wait);
}

// ------------------------------------------------------------------------ Unix

#[cfg(unix)]
use unix as os;

#[cfg(unix)]
mod unix {
    use ipc_conformance::check::Ctx;
    use ipc_conformance::mech::process::RawPeer;
    use ipc_conformance::watchdog::BOUND;
    use ipc_conformance::{Checked, Observation, Step};
    use nix::sys::signal::{Signal, kill};
    use nix::sys::wait::WaitStatus;

    /// A child that calls exit(42) and one killed with SIGTERM, reaped with waitpid().
    pub fn exit_status_via_wait(cx: &mut Ctx) -> Checked<Observation> {
        let exe = cx.peer_exe().to_owned();
        let waited = |peer: &mut RawPeer| -> Checked<WaitStatus> {
            match peer.waitpid(BOUND) {
                Some(r) => r.step("waitpid"),
                None => Err(Observation::timeout(format!(
                    "waitpid({}) did not return within {BOUND:?}; the child was killed",
                    peer.pid()
                ))),
            }
        };

        // A child that ends by itself, with a status of its choosing.
        let mut exiting =
            RawPeer::spawn(&exe, &["process-exit", "42"]).step("start the exiting child")?;
        let exited = waited(&mut exiting)?;

        // A child that is ended from outside by a signal.
        let mut victim = RawPeer::spawn(&exe, &["process-await-signal"])
            .step("start the child to be signalled")?;
        match victim.next_line(BOUND).step("read the child's output")? {
            Some(l) if l.starts_with("ready") => {}
            other => {
                return Ok(Observation::error(format!("{}: {other:?}", victim.what())));
            }
        }
        kill(victim.pid(), Signal::SIGTERM).step("kill(SIGTERM)")?;
        let signalled = waited(&mut victim)?;

        let ok_exit = matches!(exited, WaitStatus::Exited(p, 42) if p == exiting.pid());
        let ok_signal = matches!(
            signalled,
            WaitStatus::Signaled(p, Signal::SIGTERM, _) if p == victim.pid()
        );
        Ok(Observation::holds(
            ok_exit && ok_signal,
            format!(
                "child {} called exit(42): waitpid reported {exited:?}; child {} was sent SIGTERM after it reported ready: waitpid reported {signalled:?}",
                exiting.pid(),
                victim.pid()
            ),
        ))
    }
}

// --------------------------------------------------------------------- Windows

#[cfg(windows)]
use windows as os;

#[cfg(windows)]
mod windows {
    use ipc_conformance::check::Ctx;
    use ipc_conformance::mech::process::win::{exit_code, terminate};
    use ipc_conformance::watchdog::{BOUND, bounded};
    use ipc_conformance::{Checked, Observation, Step};
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    /// The exit code TerminateProcess gives the ended child.
    const TERMINATED: u32 = 99;

    /// A child that calls exit(42) and one ended with TerminateProcess, read
    /// with GetExitCodeProcess (Windows has no signals).
    pub fn exit_status_via_wait(cx: &mut Ctx) -> Checked<Observation> {
        let exe = cx.peer_exe().to_owned();
        let spawn = |args: &[&str]| {
            Command::new(&exe)
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
        };
        let read_code = |child: &mut std::process::Child| -> Checked<u32> {
            match exit_code(child, BOUND).step("WaitForSingleObject/GetExitCodeProcess")? {
                Some(code) => {
                    let _ = child.wait();
                    Ok(code)
                }
                None => {
                    let _ = child.kill();
                    let _ = child.wait();
                    Err(Observation::timeout(format!(
                        "child {} did not end within {BOUND:?}",
                        child.id()
                    )))
                }
            }
        };

        let mut exiting = spawn(&["process-exit", "42"]).step("start the exiting child")?;
        let exited = read_code(&mut exiting)?;

        let mut victim = spawn(&["process-await-signal"]).step("start the child to be ended")?;
        let stdout = victim.stdout.take().expect("piped stdout");
        let ready = bounded(BOUND, move || {
            let mut line = String::new();
            std::io::BufReader::new(stdout)
                .read_line(&mut line)
                .map(|_| line)
        });
        if !matches!(&ready, Some(Ok(l)) if l.starts_with("ready")) {
            let _ = victim.kill();
            let _ = victim.wait();
            return Ok(Observation::error(format!(
                "the child to be ended answered {ready:?}"
            )));
        }
        terminate(&victim, TERMINATED).step("TerminateProcess")?;
        let ended = read_code(&mut victim)?;

        Ok(Observation::holds(
            exited == 42 && ended == TERMINATED,
            format!(
                "child {} called exit(42): GetExitCodeProcess reported {exited}; child {} was ended with TerminateProcess(exit code {TERMINATED}) after it reported ready: GetExitCodeProcess reported {ended} (Windows has no signals; how a process ended is its exit code)",
                exiting.id(),
                victim.id()
            ),
        ))
    }
}
