//! The peer side's answers: one line each on stdout, flushed (the controller
//! waits for them), errors as `err <errno> <name (text)>`.

use std::io::{self, Write};

/// `<errno> <name (text)>` for an error, the form every peer answer uses.
pub fn err_text(e: &io::Error) -> String {
    format!(
        "{} {}",
        crate::precondition::raw_os_error(e).unwrap_or(0),
        crate::sys::describe_io_error(e)
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
