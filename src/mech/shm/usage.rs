//! CPU accounting: what getrusage(RUSAGE_SELF) says of this process.

use std::io;

/// What getrusage(RUSAGE_SELF) says of this process so far.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// User + system CPU time, microseconds.
    pub cpu_us: u64,
    /// Voluntary context switches (the process blocked).
    pub voluntary: u64,
    /// Involuntary context switches (the process was preempted).
    pub involuntary: u64,
}

impl Usage {
    pub fn now() -> io::Result<Usage> {
        use nix::sys::resource::{UsageWho, getrusage};
        let u = getrusage(UsageWho::RUSAGE_SELF)?;
        // time_t and suseconds_t differ per target (i32 on some).
        #[allow(clippy::unnecessary_cast)]
        let us = |t: nix::sys::time::TimeVal| {
            (t.tv_sec() as i64 * 1_000_000 + t.tv_usec() as i64).max(0) as u64
        };
        Ok(Usage {
            cpu_us: us(u.user_time()) + us(u.system_time()),
            voluntary: u.voluntary_context_switches().max(0) as u64,
            involuntary: u.involuntary_context_switches().max(0) as u64,
        })
    }

    /// What happened between `earlier` and this one.
    pub fn since(&self, earlier: &Usage) -> Usage {
        Usage {
            cpu_us: self.cpu_us.saturating_sub(earlier.cpu_us),
            voluntary: self.voluntary.saturating_sub(earlier.voluntary),
            involuntary: self.involuntary.saturating_sub(earlier.involuntary),
        }
    }
}
