//! The pipeline `cmd1 | cmd2` of `pipe.works_across_exec`, the same on Unix and
//! Windows: each platform's observation gives it its two ends. Included by
//! suites/pipe.rs.

use ipc_conformance::{Checked, Observation, Step};

/// `cmd1 | cmd2`: two programs, the first with stdout on the write end `w` printing
/// a random marker, the second with stdin on the read end `r` reading to end of
/// file. The parent's copies of both ends go with the Command values, so only the
/// two programs hold the pipe. `how` says how the platform starts them.
pub fn pipeline(
    cx: &mut ipc_conformance::check::Ctx,
    r: std::process::Stdio,
    w: std::process::Stdio,
    how: &str,
) -> Checked<Observation> {
    use ipc_conformance::watchdog::{BOUND, bounded};
    use std::process::{Command, Stdio};
    let marker = format!("through-exec-{}", ipc_conformance::names::random_hex(6));
    let mut cmd1 = Command::new(cx.peer_exe());
    cmd1.args(["pipe-emit", &ipc_conformance::peer::hex(marker.as_bytes())])
        .stdin(Stdio::null())
        .stdout(w)
        .stderr(Stdio::null());
    let mut cmd2 = Command::new(cx.peer_exe());
    cmd2.arg("pipe-consume")
        .stdin(r)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut c1 = cmd1.spawn().step("start cmd1")?;
    drop(cmd1);
    let c2 = cmd2.spawn().step("start cmd2")?;
    drop(cmd2);
    let Some((s1, out2)) = bounded(BOUND, move || (c1.wait(), c2.wait_with_output())) else {
        return Ok(Observation::timeout(format!(
            "cmd1 | cmd2 did not finish within {BOUND:?}"
        )));
    };
    let out2 = out2.step("wait cmd2")?;
    let stderr = String::from_utf8_lossy(&out2.stderr);
    let got = stderr
        .lines()
        .find_map(|l| l.strip_prefix("read "))
        .and_then(ipc_conformance::peer::unhex);
    Ok(Observation::holds(
        got.as_deref() == Some(marker.as_bytes()),
        format!(
            "cmd1 ({how}, stdout = the write end) printed {marker:?}; cmd2 ({how}, stdin = the read end) read {:?} up to end of file; exits: {:?}, {}",
            got.map(|g| String::from_utf8_lossy(&g).into_owned()),
            s1.map(|s| s.to_string()),
            out2.status
        ),
    ))
}
