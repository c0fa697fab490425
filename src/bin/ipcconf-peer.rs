//! The peer helper: a separate program that checks start with only a role and a
//! name (path, /name, key, pid), so "unrelated process" means unrelated.
//!
//! Roles:
//! - `endpoint <mechanism> <sender|receiver> [name...]`: opens an end of a
//!   channel (by name, or from a descriptor handed over) with the mechanism's
//!   adapter in [`mech::REGISTRY`] and serves the endpoint protocol
//!   ([`ipc_conformance::channel::serve_endpoint`]);
//! - `perf-*`: the measuring processes of the performance harness;
//! - `<prefix>-<role> ...`: a mechanism's own roles, found through
//!   [`mech::REGISTRY`] by prefix;
//! - `warm-up`: prints `ready <pid>` and exits (the harness's first launch,
//!   [`ipc_conformance::peer::first_launch`]).
//!
//! Before any role, an injected first-launch delay is waited out when
//! `IPCCONF_INJECT_FIRST_LAUNCH_DELAY_MS` asks for one
//! ([`ipc_conformance::peer::first_launch::inject_first_launch_delay`]).
//!
//! This dispatch sits above every layer of the library: the mechanisms and the
//! performance harness never call back into it.

use std::io::Write;

use ipc_conformance::channel::{Role, serve_endpoint};
use ipc_conformance::mech;
use ipc_conformance::peer::first_launch;

fn main() {
    std::process::exit(run());
}

/// Returns the process exit code.
fn run() -> i32 {
    if let Err(e) = first_launch::inject_first_launch_delay() {
        eprintln!("ipcconf-peer: {e}");
        return 2;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(role) = args.first() else {
        eprintln!("usage: ipcconf-peer <role> [args...]");
        return 2;
    };
    let rest = &args[1..];
    let result = if role == first_launch::WARM_UP_ROLE {
        ipc_conformance::peer::answer::say(&format!("ready {}", std::process::id()))
    } else if role == "endpoint" {
        endpoint_role(rest)
    } else if let Some(r) = ipc_conformance::perf::peer_role(role, rest) {
        r
    } else {
        mech::serving(role)
            .and_then(|e| (e.peer_role?)(role, rest))
            .unwrap_or_else(|| Err(format!("unknown role {role:?}")))
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("ipcconf-peer {role}: {e}");
            let _ = writeln!(std::io::stdout(), "err {e}");
            1
        }
    }
}

fn endpoint_role(args: &[String]) -> Result<(), String> {
    let [id, role, rest @ ..] = args else {
        return Err("usage: endpoint <mechanism> <sender|receiver> [name...]".into());
    };
    let role = Role::parse(role).ok_or_else(|| format!("bad role {role:?}"))?;
    let ep = mech::entry(id)
        .and_then(|e| e.open_remote)
        .and_then(|open| open(role, rest))
        .ok_or_else(|| format!("no endpoint adapter for {id:?} on this target"))?
        .map_err(|e| {
            format!(
                "open {id} {}: {}",
                role.as_str(),
                ipc_conformance::peer::answer::err_text(&e)
            )
        })?;
    serve_endpoint(ep)
}
