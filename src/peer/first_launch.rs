//! The first launch of a freshly built program, paid outside every check.
//!
//! macOS scans a newly linked executable (Gatekeeper, XProtect) the first time
//! it is launched, one executable at a time, queued: 120 to 180 ms each on a
//! CI runner, more when many wait (rust-lang/cargo#15908). Windows Defender
//! scans new executables too. A check that starts `ipcconf-peer` waits for its
//! `ready` line at most [`crate::watchdog::BOUND`] (2 s), so a first launch
//! that waits behind a queue of scans would turn the first checks of a run
//! into `timeout`.
//!
//! The harness therefore launches the peer program once per test process
//! before any check starts it ([`warm_up`], called by `check::Ctx` the first
//! time a check asks for the peer), and waits for that launch up to
//! [`WARM_UP_BOUND`]: a generous bound, since this is no step of a check, but
//! still a bound. `ci/run-native.sh` goes further and launches every built
//! executable once before the suites run.
//!
//! The knobs, read from the environment:
//! - `IPCCONF_INJECT_FIRST_LAUNCH_DELAY_MS=<ms>` with
//!   `IPCCONF_INJECT_FIRST_LAUNCH_DIR=<dir>`: fault injection. The peer
//!   program, at its start, behaves as a scanned first launch
//!   ([`inject_first_launch_delay`]): the first launch of each executable path
//!   opens a "scan" lasting `<ms>` and every launch of that path waits until
//!   the scan is over, the first one included, as the launches queued behind a
//!   real scan do. The scan is a marker file per executable path in `<dir>`
//!   holding the time it ends, created atomically, so that every process of a
//!   run (parallel test threads, one test binary after another) agrees on one
//!   scan per executable; a fresh `<dir>` is a fresh machine.
//! - `IPCCONF_PEER_WARM_UP=off`: no warm-up launch. Only for demonstrating
//!   that the injection bites (`ci/first-launch.sh`): without the warm-up, the
//!   first checks of a run with an injected delay above the bound record
//!   `timeout`.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The longest the harness waits for the warm-up launch of the peer program:
/// a queue of first-launch scans, not a check's step, hence well above the
/// watchdog's 2 s; below the 60 s harness ceiling, so that a check that waited
/// for it still has room for its own steps.
pub const WARM_UP_BOUND: Duration = Duration::from_secs(30);

/// The injected length of a first launch, in milliseconds.
pub const DELAY_VAR: &str = "IPCCONF_INJECT_FIRST_LAUNCH_DELAY_MS";
/// Where the injected scans keep their marker files.
pub const DIR_VAR: &str = "IPCCONF_INJECT_FIRST_LAUNCH_DIR";
/// `off` disables the warm-up launch (for the demonstration only).
pub const WARM_UP_VAR: &str = "IPCCONF_PEER_WARM_UP";

/// The role that makes the peer program print `ready <pid>` and exit.
pub const WARM_UP_ROLE: &str = "warm-up";

/// Whether the warm-up launch is switched off (`IPCCONF_PEER_WARM_UP=off`).
pub fn warm_up_disabled() -> bool {
    std::env::var(WARM_UP_VAR).is_ok_and(|v| v.trim().eq_ignore_ascii_case("off"))
}

/// What the warm-up launch of one executable came to.
#[derive(Debug, Clone)]
pub struct WarmUp {
    pub exe: PathBuf,
    pub took: Duration,
    /// `Ok(())` once the program printed `ready` and exited; otherwise why not
    /// (the checks then start the program themselves and see for themselves).
    pub result: Result<(), String>,
}

static WARMED: Mutex<Vec<WarmUp>> = Mutex::new(Vec::new());

/// Launches `exe` (the peer program) once in this process, in its warm-up
/// role, and waits up to [`WARM_UP_BOUND`] for it to say `ready` and exit.
/// Later calls for the same path return at once with the first outcome;
/// concurrent callers wait for the launch in progress, so that no check starts
/// the program while its first launch is still being scanned. Never fails: a
/// warm-up that did not succeed is reported on stderr and returned.
pub fn warm_up(exe: &Path) -> Option<WarmUp> {
    if warm_up_disabled() {
        return None;
    }
    let mut warmed = WARMED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(done) = warmed.iter().find(|w| w.exe == exe) {
        return Some(done.clone());
    }
    let start = Instant::now();
    let result = launch(exe);
    let done = WarmUp {
        exe: exe.to_owned(),
        took: start.elapsed(),
        result,
    };
    if done.result.is_err() || done.took >= crate::watchdog::BOUND / 2 {
        eprintln!(
            "ipcconf: warm-up launch of {} took {:.2?}: {} (paid once, before any check's step bound; a first launch is slow while the executable is scanned)",
            exe.display(),
            done.took,
            match &done.result {
                Ok(()) => "ready".to_owned(),
                Err(e) => e.clone(),
            }
        );
    }
    warmed.push(done.clone());
    Some(done)
}

fn launch(exe: &Path) -> Result<(), String> {
    let mut peer = super::PeerCommand::new(exe, &[WARM_UP_ROLE])
        .spawn()
        .map_err(|e| e.to_string())?;
    let line = peer.line(WARM_UP_BOUND).map_err(|e| e.to_string())?;
    if !line.starts_with("ready") {
        return Err(format!("it answered {line:?}"));
    }
    let (status, stderr) = peer.finish().map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("it exited {status}: {}", stderr.trim()))
    }
}

/// The injected first launch, for the peer program to call first thing:
/// without `IPCCONF_INJECT_FIRST_LAUNCH_DELAY_MS` nothing happens; with it,
/// this launch waits until the scan of this executable is over (opening the
/// scan when it is the first launch). Returns how long it waited. Sleeping is
/// the injected fault itself, not a synchronisation.
pub fn inject_first_launch_delay() -> Result<Duration, String> {
    let Some(ms) = std::env::var_os(DELAY_VAR) else {
        return Ok(Duration::ZERO);
    };
    let ms: u64 = ms
        .to_string_lossy()
        .trim()
        .parse()
        .map_err(|e| format!("{DELAY_VAR}={ms:?}: {e}"))?;
    let dir = std::env::var_os(DIR_VAR).ok_or_else(|| {
        format!(
            "{DELAY_VAR} is set but {DIR_VAR} is not: name a fresh directory for the scan markers"
        )
    })?;
    let exe = std::env::current_exe().map_err(|e| format!("the path of this program: {e}"))?;
    let exe = exe.canonicalize().unwrap_or(exe);
    let wait = first_launch_wait(Path::new(&dir), &exe, Duration::from_millis(ms))
        .map_err(|e| format!("{DIR_VAR}={}: {e}", Path::new(&dir).display()))?;
    if !wait.is_zero() {
        eprintln!(
            "ipcconf-peer: injected first-launch delay ({DELAY_VAR}={ms}): waiting {wait:.2?}"
        );
        std::thread::sleep(wait);
    }
    Ok(wait)
}

/// How long a launch of `exe` now waits for its injected scan: the scan ends
/// `delay` after the first launch of `exe` recorded in `dir` (this one, when
/// none was), and every launch waits until then; zero after it.
pub fn first_launch_wait(dir: &Path, exe: &Path, delay: Duration) -> io::Result<Duration> {
    let end = scan_end(dir, exe, delay)?;
    Ok(end
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO))
}

/// The marker file of `exe` in the scan directory: the program's file name and
/// a hash of its whole path (so that two copies are two executables).
pub fn marker_name(exe: &Path) -> String {
    // FNV-1a, 64 bits: a stable hash, the same in every process.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in exe.to_string_lossy().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let name: String = exe
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{name}-{h:016x}.scan")
}

/// When the scan of `exe` ends: read from its marker, or, when there is none,
/// `delay` from now, recorded in a new marker. The marker is written whole to a
/// file of this process and linked into place, which fails when another
/// process was first: every launcher reads the same end.
fn scan_end(dir: &Path, exe: &Path, delay: Duration) -> io::Result<SystemTime> {
    let marker = dir.join(marker_name(exe));
    let end = SystemTime::now() + delay;
    let end_ms = end
        .duration_since(UNIX_EPOCH)
        .map_err(io::Error::other)?
        .as_millis();
    let own = dir.join(format!(
        "{}.{}.{}",
        marker_name(exe),
        std::process::id(),
        crate::names::random_hex(4)
    ));
    std::fs::write(&own, end_ms.to_string())?;
    let linked = std::fs::hard_link(&own, &marker);
    let _ = std::fs::remove_file(&own);
    match linked {
        Ok(()) => Ok(end),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(&marker)?;
            let ms: u64 = text.trim().parse().map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {text:?}: {e}", marker.display()),
                )
            })?;
            Ok(UNIX_EPOCH + Duration::from_millis(ms))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_scan_per_executable_path_and_every_launch_waits_for_it() {
        let dir = tempfile::tempdir().expect("a scan directory");
        let exe = Path::new("/some/target/debug/ipcconf-peer");
        let delay = Duration::from_millis(150);
        let first = first_launch_wait(dir.path(), exe, delay).expect("first launch");
        assert!(first > Duration::from_millis(100), "{first:?}");
        // A launch queued behind the scan waits for the same end, not longer.
        let queued = first_launch_wait(dir.path(), exe, delay).expect("second launch");
        assert!(queued <= first && queued > Duration::ZERO, "{queued:?}");
        // Another path is another executable: a scan of its own.
        let other = Path::new("/elsewhere/ipcconf-peer");
        let fresh = first_launch_wait(dir.path(), other, delay).expect("other program");
        assert!(fresh > delay / 2, "{fresh:?}");
        // The injected fault itself: wait out the scan, then launches are quick.
        std::thread::sleep(first);
        let after = first_launch_wait(dir.path(), exe, delay).expect("later launch");
        assert_eq!(after, Duration::ZERO);
        let markers = std::fs::read_dir(dir.path()).expect("list").count();
        assert_eq!(markers, 2, "one marker per executable, nothing else left");
    }

    #[test]
    fn concurrent_first_launches_agree_on_one_scan() {
        let dir = tempfile::tempdir().expect("a scan directory");
        let exe = PathBuf::from("/some/target/debug/deps/suite-0123");
        let ends: Vec<SystemTime> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| scan_end(dir.path(), &exe, Duration::from_secs(5))))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("no panic").expect("a scan end"))
                .collect()
        });
        let first = ends[0]
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_millis();
        for e in &ends {
            let ms = e
                .duration_since(UNIX_EPOCH)
                .expect("after 1970")
                .as_millis();
            assert!(ms.abs_diff(first) <= 1, "{ends:?}");
        }
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
    }

    #[test]
    fn marker_names_are_file_names() {
        let a = marker_name(Path::new("/t/debug/ipcconf-peer"));
        let b = marker_name(Path::new("/u/debug/ipcconf-peer"));
        assert_ne!(a, b);
        assert!(
            a.starts_with("ipcconf_peer-") && a.ends_with(".scan"),
            "{a}"
        );
        assert!(!a.contains('/'));
    }
}
