//! The C baseline, measured in the same run as the suite: `ci/perf/ipc_rtt.c`
//! is the minimal program for each mechanism (one message in flight, its
//! smallest calls; for shared memory one word per direction, no other cache
//! line), timed over batches as the suite's measuring peer times them. Built once per
//! test process with the system's C compiler (`$CC`, else `cc`) into the
//! target directory; where there is no compiler or no source, the latency
//! figure says so and carries no ratio.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use super::stats::{self, Figure, PerfLine};
use super::{Counts, Pair};
use crate::check::Ctx;
use crate::peer::wire::WireLine;

/// The C program's source, where this crate was built.
const SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/ci/perf/ipc_rtt.c");

/// Whether the C program measures `mech` (its row in `super::pairs::SPECS`).
pub fn covers(mech: Pair) -> bool {
    mech.spec().is_some_and(|s| s.c_baseline)
}

static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
static ROUNDS: Mutex<BTreeMap<&'static str, Result<Vec<Figure>, String>>> =
    Mutex::new(BTreeMap::new());

/// Compiles the C program (once per process).
fn build() -> Result<PathBuf, String> {
    BUILT
        .get_or_init(|| {
            if !std::path::Path::new(SOURCE).is_file() {
                return Err(format!("its source {SOURCE} is not on this machine"));
            }
            let dir = crate::results::target_dir().join("perf-baseline");
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            // Built under a private name, then renamed into place: concurrent
            // test processes never run a half-written program.
            let exe = dir.join("ipc_rtt");
            let tmp = dir.join(format!(".ipc_rtt-{}", std::process::id()));
            let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
            let mut cmd = Command::new(&cc);
            cmd.args(["-O2", "-pthread", "-o"]).arg(&tmp).arg(SOURCE);
            if cfg!(target_os = "linux") {
                cmd.arg("-lrt");
            }
            let out = cmd.output().map_err(|e| {
                format!(
                    "no C compiler: {} could not be started ({e})",
                    cc.to_string_lossy()
                )
            })?;
            if !out.status.success() {
                let _ = std::fs::remove_file(&tmp);
                let err = String::from_utf8_lossy(&out.stderr);
                return Err(format!(
                    "{} failed ({}): {}",
                    cc.to_string_lossy(),
                    out.status,
                    err.lines().next().unwrap_or("")
                ));
            }
            std::fs::rename(&tmp, &exe).map_err(|e| format!("{}: {e}", exe.display()))?;
            Ok(exe)
        })
        .clone()
}

/// The C program's rounds for `mech` (as many as the suite's minimum), or why
/// there are none. Runs after the suite's own rounds of the same figure.
pub fn rounds(_cx: &Ctx, mech: Pair, c: &Counts) -> Result<Vec<Figure>, String> {
    let mut cache = ROUNDS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(r) = cache.get(mech.id()) {
        return r.clone();
    }
    let r = measure(mech, c);
    cache.insert(mech.id(), r.clone());
    r
}

fn measure(mech: Pair, c: &Counts) -> Result<Vec<Figure>, String> {
    let exe = build()?;
    let mut figs = Vec::new();
    for _ in 0..c.min_rounds {
        // The program bounds itself (alarm(10)) and removes what it made.
        let out = Command::new(&exe)
            .args([
                mech.id(),
                &c.lat_iters.to_string(),
                &c.lat_warm.to_string(),
                &c.lat_budget_ms.to_string(),
            ])
            .output()
            .map_err(|e| format!("{}: {e}", exe.display()))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().next().unwrap_or("").trim();
        let f = match PerfLine::from_line(line) {
            Ok(PerfLine::Figures(f)) => f,
            Ok(PerfLine::Unsupported(why)) => return Err(format!("the C program: {why}")),
            Err(_) => {
                return Err(format!(
                    "the C program printed {line:?} ({}; {})",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
        };
        stats::check_latency(&f, c.lat_iters as u64, c.lat_warm as u64)
            .map_err(|e| format!("unsound C baseline round: {e}"))?;
        figs.push(f);
    }
    Ok(figs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_covers_every_mechanism_it_claims() {
        let src = std::fs::read_to_string(SOURCE).unwrap();
        for m in Pair::all().filter(|&m| covers(m)) {
            assert!(src.contains(&format!("\"{}\"", m.id())), "{}", m.id());
        }
    }
}
