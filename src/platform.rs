//! Who is running: platform id, OS and version, kernel, arch, libc, runtime.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::catalog::Os;

/// The Rust target triple this binary was compiled for.
pub use crate::sys::TARGET;

/// The suite revision this binary was built from.
pub const SUITE_REVISION: &str = env!("IPCCONF_SUITE_REVISION");

/// The OS column this binary reports under.
pub fn os() -> Os {
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "android"))] {
            Os::Linux
        } else if #[cfg(any(target_os = "macos", target_os = "ios"))] {
            Os::Macos
        } else if #[cfg(target_os = "freebsd")] {
            Os::Freebsd
        } else if #[cfg(windows)] {
            Os::Windows
        } else {
            compile_error!("ipc-conformance has no OS column for this target")
        }
    }
}

/// How the binary runs: natively, or through an emulation layer whose quirks are
/// its own and never stand for the OS it imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    Native,
    QemuUser,
    Wine,
    Vm,
}

impl Runtime {
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Native => "native",
            Runtime::QemuUser => "qemu-user",
            Runtime::Wine => "wine",
            Runtime::Vm => "vm",
        }
    }

    pub fn parse(s: &str) -> Option<Runtime> {
        [
            Runtime::Native,
            Runtime::QemuUser,
            Runtime::Wine,
            Runtime::Vm,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// Identity of one run: where, on what and by which suite revision it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunInfo {
    /// Identity of this result set, shared by every process that records into it.
    pub run_id: String,
    /// Platform id, e.g. `linux-x86_64-gnu` (pinned: result sets and CI jobs use them).
    pub platform: String,
    pub os: Os,
    /// Human OS name and version, e.g. "Debian GNU/Linux 12", "macOS 14.5".
    pub os_version: String,
    /// Kernel name and release.
    pub kernel: String,
    pub arch: String,
    /// C library and version.
    pub libc: String,
    pub runtime: Runtime,
    /// Further runtime detail (Wine version, qemu binary), empty when native.
    #[serde(default)]
    pub runtime_detail: String,
    pub target: String,
    pub suite_revision: String,
    /// RFC 3339 UTC time the run started.
    pub started: String,
    /// Logical CPUs seen by the run.
    pub cpus: usize,
    /// Effective user id (Unix), or -1.
    pub uid: i64,
}

/// A version number that compares numerically: `6.1 < 6.18`, `14.3 < 15.0`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Version {
    /// The numeric components, e.g. `[6, 18]`.
    pub numbers: Vec<u64>,
    /// As shown: "6.18", "14.3".
    pub text: String,
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.numbers.len().max(other.numbers.len());
        let at = |v: &Version, i: usize| v.numbers.get(i).copied().unwrap_or(0);
        (0..n)
            .map(|i| at(self, i).cmp(&at(other, i)))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
            .then_with(|| self.text.cmp(&other.text))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Version {
    /// The first dotted run of digits in `s`, at most `keep` components
    /// (`"Linux 6.18.44-fc"`, 2 → 6.18).
    pub fn parse(s: &str, keep: usize) -> Option<Version> {
        let start = s.find(|c: char| c.is_ascii_digit())?;
        let numbers: Vec<u64> = s[start..]
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .next()?
            .split('.')
            .take_while(|p| !p.is_empty())
            .take(keep)
            .map(|p| p.parse().ok())
            .collect::<Option<_>>()?;
        if numbers.is_empty() {
            return None;
        }
        let text = numbers
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(".");
        Some(Version { numbers, text })
    }
}

impl RunInfo {
    /// The version a run stands for: on Linux its kernel's major.minor (from the
    /// kernel's release, `Linux 6.18.44-...`), elsewhere the OS release's number
    /// (`FreeBSD 14.3-RELEASE`, `macOS 15.1`, `Windows 10.0.26100`). `None` for a
    /// run that is no version of its OS (qemu-user, Wine) or names none.
    pub fn version(&self) -> Option<Version> {
        if !matches!(self.runtime, Runtime::Native | Runtime::Vm) {
            return None;
        }
        match self.os {
            Os::Linux => {
                let release = self.kernel.split_whitespace().nth(1)?;
                Version::parse(release, 2)
            }
            _ => Version::parse(&self.os_version, 4),
        }
    }

    /// The column key of this run in the report: platform, plus the runtime when
    /// it is not native, so a Wine run never poses as Windows.
    pub fn column(&self) -> String {
        match self.runtime {
            Runtime::Native => self.platform.clone(),
            r => format!("{} ({})", self.platform, r.as_str()),
        }
    }

    /// Why this run's timings would measure an emulator rather than the machine:
    /// qemu-user translates every instruction, and a full-system VM under TCG
    /// (its runner says so in `runtime_detail`) emulates the CPU in software.
    /// `None` where the CPU runs the code natively (also a KVM guest).
    pub fn emulated_cpu(&self) -> Option<String> {
        match self.runtime {
            Runtime::QemuUser => Some(format!(
                "the CPU is emulated by qemu-user ({})",
                self.runtime_detail
            )),
            Runtime::Vm if self.runtime_detail.contains("TCG") => Some(format!(
                "the CPU is emulated in software ({})",
                self.runtime_detail
            )),
            _ => None,
        }
    }

    /// Describes this machine, now.
    pub fn current(run_id: String) -> RunInfo {
        let runtime_detected = detect_runtime();
        let runtime = std::env::var("IPC_RUNTIME")
            .ok()
            .and_then(|s| Runtime::parse(&s))
            .unwrap_or(runtime_detected.0);
        RunInfo {
            run_id,
            platform: std::env::var("IPC_PLATFORM").unwrap_or_else(|_| platform_id()),
            os: os(),
            os_version: os_version(),
            kernel: kernel(),
            arch: std::env::consts::ARCH.to_owned(),
            libc: libc_version(),
            runtime,
            runtime_detail: std::env::var("IPC_RUNTIME_DETAIL")
                .ok()
                .filter(|d| !d.trim().is_empty())
                .unwrap_or(runtime_detected.1),
            target: TARGET.to_owned(),
            suite_revision: SUITE_REVISION.to_owned(),
            started: now_rfc3339(),
            cpus: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            uid: effective_uid(),
        }
    }
}

/// The pinned platform id for the compile target. 32-bit x86 is named `i686`,
/// as its target triple and the CI columns name it (Rust's arch name is `x86`).
pub fn platform_id() -> String {
    let arch = match std::env::consts::ARCH {
        "x86" => "i686",
        arch => arch,
    };
    cfg_if::cfg_if! {
        if #[cfg(target_os = "android")] {
            format!("android-{arch}")
        } else if #[cfg(any(target_os = "linux", windows))] {
            let env = if cfg!(target_env = "musl") {
                "musl"
            } else if cfg!(target_env = "msvc") {
                "msvc"
            } else {
                "gnu"
            };
            format!("{}-{arch}-{env}", os().key())
        } else {
            format!("{}-{arch}", os().key())
        }
    }
}

pub fn effective_uid() -> i64 {
    cfg_if::cfg_if! {
        if #[cfg(unix)] {
            i64::from(nix::unistd::geteuid().as_raw())
        } else {
            -1
        }
    }
}

#[cfg(unix)]
fn kernel() -> String {
    match nix::sys::utsname::uname() {
        Ok(u) => format!(
            "{} {} ({})",
            u.sysname().to_string_lossy(),
            u.release().to_string_lossy(),
            u.version().to_string_lossy()
        ),
        Err(e) => format!("unknown (uname: {e})"),
    }
}

#[cfg(windows)]
fn kernel() -> String {
    let (major, minor, build) = crate::sys::windows_version();
    format!("Windows NT {major}.{minor} build {build}")
}

fn os_version() -> String {
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "android"))] {
            std::fs::read_to_string("/etc/os-release")
                .ok()
                .and_then(|text| {
                    text.lines()
                        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                        .map(|v| v.trim_matches('"').to_owned())
                })
                .unwrap_or_else(|| "Linux".to_owned())
        } else if #[cfg(target_os = "macos")] {
            format!("macOS {}", crate::sys::sysctl_string("kern.osproductversion").unwrap_or_default())
        } else if #[cfg(target_os = "freebsd")] {
            format!("FreeBSD {}", crate::sys::sysctl_string("kern.osrelease").unwrap_or_default())
        } else if #[cfg(windows)] {
            let (major, minor, build) = crate::sys::windows_version();
            format!("Windows {major}.{minor}.{build}")
        } else {
            "unknown".to_owned()
        }
    }
}

fn libc_version() -> String {
    cfg_if::cfg_if! {
        if #[cfg(all(target_os = "linux", target_env = "gnu"))] {
            format!("glibc {}", crate::sys::glibc_version())
        } else if #[cfg(all(target_os = "linux", target_env = "musl"))] {
            "musl".to_owned()
        } else if #[cfg(target_os = "android")] {
            "bionic".to_owned()
        } else if #[cfg(target_os = "macos")] {
            "libSystem".to_owned()
        } else if #[cfg(target_os = "freebsd")] {
            "FreeBSD libc".to_owned()
        } else if #[cfg(all(windows, target_env = "msvc"))] {
            "MSVC UCRT".to_owned()
        } else if #[cfg(all(windows, target_env = "gnu"))] {
            "mingw-w64 (msvcrt/ucrt)".to_owned()
        } else {
            "unknown".to_owned()
        }
    }
}

/// Detects an emulation layer: (runtime, detail).
fn detect_runtime() -> (Runtime, String) {
    cfg_if::cfg_if! {
        if #[cfg(windows)] {
            match crate::sys::wine_version() {
                Some(v) => (Runtime::Wine, format!("Wine {v}")),
                None => (Runtime::Native, String::new()),
            }
        } else if #[cfg(any(target_os = "linux", target_os = "android"))] {
            match detect_qemu_user() {
                (Runtime::Native, detail) if detail.is_empty() => (Runtime::Native, compat_process()),
                emulated => emulated,
            }
        } else {
            (Runtime::Native, String::new())
        }
    }
}

/// A 32-bit process on a 64-bit kernel (i686 on x86_64) runs natively, through the
/// kernel's compat syscall layer: said in the runtime detail, empty otherwise.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn compat_process() -> String {
    if cfg!(target_pointer_width = "32") {
        if let Ok(u) = nix::sys::utsname::uname() {
            let machine = u.machine().to_string_lossy();
            if machine.contains("64") {
                return format!(
                    "32-bit {} process on a 64-bit {machine} kernel (uname -m)",
                    std::env::consts::ARCH
                );
            }
        }
    }
    String::new()
}

/// qemu-user runs foreign-architecture binaries on the host's kernel. It fakes
/// /proc/self/exe to be the emulated program, but not /proc/thread-self/exe, which
/// still names the emulator; older qemu also passes the host's /proc/cpuinfo through.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn detect_qemu_user() -> (Runtime, String) {
    let process = std::fs::read_link("/proc/self/exe").ok();
    let thread = std::fs::read_link("/proc/thread-self/exe").ok();
    if let (Some(p), Some(t)) = (&process, &thread) {
        if p != t
            && t.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("qemu-"))
        {
            return (
                Runtime::QemuUser,
                format!("{} through {}", std::env::consts::ARCH, t.display()),
            );
        }
    }
    let Ok(cpuinfo) = std::fs::read_to_string("/proc/cpuinfo") else {
        return (Runtime::Native, String::new());
    };
    let x86_host = cpuinfo.contains("vendor_id") && cpuinfo.contains("flags");
    let arm_host = cpuinfo.contains("CPU implementer");
    let x86_target = cfg!(any(target_arch = "x86_64", target_arch = "x86"));
    let arm_target = cfg!(any(target_arch = "aarch64", target_arch = "arm"));
    if (x86_host && !x86_target) || (arm_host && !arm_target) {
        let host = if x86_host { "x86" } else { "arm" };
        (
            Runtime::QemuUser,
            format!(
                "{} binary on a {host} host's kernel (/proc/cpuinfo)",
                std::env::consts::ARCH
            ),
        )
    } else {
        (Runtime::Native, String::new())
    }
}

/// Current UTC time as RFC 3339 with seconds.
pub fn now_rfc3339() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

/// Formats seconds since the Unix epoch (UTC) as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod time_tests {
    use super::rfc3339;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_651_200), "2026-11-26T00:00:00Z");
    }
}
