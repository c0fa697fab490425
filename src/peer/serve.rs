//! The peer side: what `ipcconf-peer` does. Roles:
//! - `endpoint <mechanism> <sender|receiver> [name...]`: opens an end of a channel
//!   (by name, or from descriptor 3 handed over) and serves the line protocol;
//! - `<mechanism>-<role> ...`: mechanism-specific roles (see each `crate::mech` module).

use std::io::{self, BufRead, Write};

use crate::channel::{Endpoint, Role};
use crate::peer::{hex, unhex};
use crate::watchdog::BOUND;

/// Entry point of the peer binary: returns the process exit code.
pub fn main() -> i32 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(role) = args.first() else {
        eprintln!("usage: ipcconf-peer <role> [args...]");
        return 2;
    };
    let result = match role.as_str() {
        "endpoint" => endpoint_role(&args[1..]),
        other => match crate::mech::peer_role(other, &args[1..]) {
            Some(r) => r,
            None => Err(format!("unknown role {other:?}")),
        },
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("ipcconf-peer {role}: {e}");
            let _ = writeln!(io::stdout(), "err {e}");
            1
        }
    }
}

fn endpoint_role(args: &[String]) -> Result<(), String> {
    let [mech, role, rest @ ..] = args else {
        return Err("usage: endpoint <mechanism> <sender|receiver> [name...]".into());
    };
    let role = Role::parse(role).ok_or_else(|| format!("bad role {role:?}"))?;
    let ep = crate::mech::open_remote(mech, role, rest)
        .ok_or_else(|| format!("no endpoint adapter for {mech:?} on this target"))?
        .map_err(|e| format!("open {mech} {}: {}", role.as_str(), err_text(&e)))?;
    serve(ep)
}

/// `<errno> <name (text)>` for an error, the form every peer answer uses.
pub fn err_text(e: &io::Error) -> String {
    format!(
        "{} {}",
        crate::precondition::raw_os_error(e).unwrap_or(0),
        crate::observe::describe_io_error(e)
    )
}

/// `err <errno> <name (text)>`: a failed step, as a protocol answer.
pub fn err_line(e: &io::Error) -> String {
    format!("err {}", err_text(e))
}

/// Writes one answer line to stdout, flushed: the controller waits for it.
pub fn say(line: &str) -> Result<(), String> {
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|_| out.flush())
        .map_err(|e| e.to_string())
}

/// Serves protocol commands on stdin until `quit` or end of input.
pub fn serve(mut ep: Box<dyn Endpoint>) -> Result<(), String> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "ready {}", std::process::id())
        .and_then(|_| out.flush())
        .map_err(|e| e.to_string())?;
    let stdin = io::stdin();
    for line in stdin.lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        let words: Vec<&str> = line.split_whitespace().collect();
        let answer = match words.as_slice() {
            ["quit"] => return Ok(()),
            ["send", h] => match unhex(h) {
                Some(data) => match ep.send(&data) {
                    Ok(n) => format!("ok {n}"),
                    Err(e) => err_line(&e),
                },
                None => "err 0 bad hex".to_owned(),
            },
            ["recv", max, ms] => {
                let max: usize = max.parse().unwrap_or(65536);
                let ms: u64 = ms.parse().unwrap_or(BOUND.as_millis() as u64);
                let mut buf = vec![0u8; max];
                match ep.recv(&mut buf, std::time::Duration::from_millis(ms)) {
                    Ok(Some(0)) => "eof".to_owned(),
                    Ok(Some(n)) => format!("data {}", hex(&buf[..n])),
                    Ok(None) => "empty".to_owned(),
                    Err(e) => err_line(&e),
                }
            }
            // `queued <len,len,...> <ms>`: waits until messages of those lengths
            // are all queued here (`channel::wait_all_queued`); receives nothing.
            ["queued", lens, ms] => {
                let lens: Option<Vec<usize>> = lens.split(',').map(|l| l.parse().ok()).collect();
                match (lens, ms.parse::<u64>()) {
                    (Some(lens), Ok(ms)) => match crate::channel::wait_all_queued(
                        ep.as_mut(),
                        &lens,
                        std::time::Duration::from_millis(ms),
                    ) {
                        Ok(Ok(seen)) => format!("queued {seen}"),
                        Ok(Err(seen)) => format!("short {seen}"),
                        Err(e) => err_line(&e),
                    },
                    _ => format!("err 0 bad queued command {line:?}"),
                }
            }
            ["records", writer, count, size] => {
                let (Ok(writer), Ok(count), Ok(size)) = (
                    writer.parse::<u8>(),
                    count.parse::<u16>(),
                    size.parse::<usize>(),
                ) else {
                    return Err(format!("bad records command {line:?}"));
                };
                let mut answer = format!("ok {count}");
                for seq in 0..count {
                    if let Err(e) = ep.send(&crate::matrix::record(writer, seq, size)) {
                        answer = err_line(&e);
                        break;
                    }
                }
                answer
            }
            #[cfg(unix)]
            ["recvfd", max] => {
                let mut buf = vec![0u8; max.parse().unwrap_or(64)];
                match ep.wait_readable(BOUND).and_then(|_| ep.recv_fd(&mut buf)) {
                    Ok((n, Some(fd))) => {
                        let mut content = vec![0u8; 256];
                        match nix::unistd::read(&fd, &mut content) {
                            Ok(k) => format!("fd {} {}", hex(&buf[..n]), hex(&content[..k])),
                            Err(e) => {
                                format!("err {} reading the received descriptor: {e}", e as i32)
                            }
                        }
                    }
                    Ok((n, None)) => format!("nofd {}", hex(&buf[..n])),
                    Err(e) => err_line(&e),
                }
            }
            _ => format!("err 0 unknown command {line:?}"),
        };
        writeln!(out, "{answer}")
            .and_then(|_| out.flush())
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
