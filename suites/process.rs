//! The process model: `process.*` claims of the catalog.
//!
//! The guide, scenario 1 (parent-child): the exit status is "built into process
//! model, no IPC needed".

use ipc_conformance::{Checked, Observation, Step, check};

ipc_conformance::suite!();

#[cfg(unix)]
#[test]
fn exit_status_via_wait() {
    use ipc_conformance::mech::process::RawPeer;
    use ipc_conformance::watchdog::BOUND;
    use nix::sys::signal::{Signal, kill};
    use nix::sys::wait::WaitStatus;

    check!("process.exit_status_via_wait", |cx| {
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
    });
}

#[cfg(windows)]
#[test]
fn exit_status_via_wait() {
    use ipc_conformance::mech::process::win::{exit_code, terminate};
    use ipc_conformance::watchdog::{BOUND, bounded};
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    /// The exit code TerminateProcess gives the ended child.
    const TERMINATED: u32 = 99;

    check!("process.exit_status_via_wait", |cx| {
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
    });
}
