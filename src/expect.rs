//! Expectations: what a platform is known to do for a claim.
//!
//! Resolution, first match wins:
//! 1. `platforms/<os>-<runtime>.toml` when the run is not native (Wine, qemu-user):
//!    the emulator's own departures, never folded into the OS's file;
//! 2. `platforms/<os>-<libc>.toml` (e.g. `linux-musl`, `linux-bionic`);
//! 3. `platforms/<os>.toml`;
//! 4. the guide's stance for the OS;
//!
//! An entry may hold since a version only: `since = "5.15"` with `before =
//! "unsupported"` expects `expect` on runs of that OS version or later and
//! `before` on older ones (Linux: the kernel's major.minor; elsewhere the OS
//! release), for a facility the kernel gained in that release. Such an entry
//! applies only to runs on the OS itself (native or vm), whose version is the
//! kernel's; under qemu-user or Wine, where the emulator decides, it is passed
//! over like an absent entry.
//!
//! And a claim of a mechanism that is expected absent (its `<mech>.available` is
//! expected `no` or `unsupported` in a layer, or marked absent by the guide) is
//! expected `unsupported`. An availability claim the guide marks absent (✗, n/a)
//! is itself expected `unsupported`: absent is what `unsupported` means.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Claim, Kind, Os, Stance};
use crate::observe::Outcome;
use crate::platform::{RunInfo, Runtime, Version};

include!(concat!(env!("OUT_DIR"), "/platform_files.rs"));

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    expect: String,
    reason: String,
    source: String,
    /// The OS version from which `expect` holds ("5.15").
    #[serde(default)]
    since: Option<String>,
    /// What is expected before `since` (required with it).
    #[serde(default)]
    before: Option<String>,
}

/// An entry that holds since an OS version: `before` is expected on older
/// versions.
#[derive(Debug, Clone, PartialEq)]
struct SinceVersion {
    since: Version,
    before: Outcome,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlatformFile {
    #[serde(default)]
    claims: BTreeMap<String, RawEntry>,
}

/// An expectation written in a platform file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformEntry {
    /// `None` for `expect = "unstated"`: no source says what this platform
    /// does, so the check's sound observation is recorded, never asserted.
    pub expect: Option<Outcome>,
    pub reason: String,
    pub source: String,
}

impl PlatformEntry {
    /// The entry's `expect` as written in the file.
    pub fn expect_word(&self) -> &'static str {
        self.expect.map_or(UNSTATED, Outcome::as_str)
    }
}

/// The `expect` of an entry that holds the claim to no value on its platform.
pub const UNSTATED: &str = "unstated";

/// The expectation a check is held to, and where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expected {
    /// `None`: nobody takes a stance; any sound observation is accepted.
    pub value: Option<Outcome>,
    /// "guide", or "platforms/`<file>`.toml".
    pub origin: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub source: String,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            Some(v) => write!(f, "{v}")?,
            None => f.write_str("(no stance)")?,
        }
        write!(f, " [{}", self.origin)?;
        if !self.reason.is_empty() {
            write!(f, ": {}", self.reason)?;
        }
        if !self.source.is_empty() {
            write!(f, "; source: {}", self.source)?;
        }
        f.write_str("]")
    }
}

/// Outcomes an expectation may name.
pub const EXPECTABLE: [Outcome; 4] = [
    Outcome::Yes,
    Outcome::No,
    Outcome::Unsupported,
    Outcome::Timeout,
];

/// All platform files, parsed and validated against the catalog.
#[derive(Debug)]
pub struct Expectations {
    files: BTreeMap<String, BTreeMap<String, PlatformEntry>>,
    /// Per file stem, the entries that hold since a version.
    since: BTreeMap<String, BTreeMap<String, SinceVersion>>,
}

impl Expectations {
    pub fn get() -> &'static Expectations {
        static EXP: OnceLock<Expectations> = OnceLock::new();
        EXP.get_or_init(|| {
            Expectations::parse(PLATFORM_FILES, Catalog::get()).unwrap_or_else(|e| panic!("{e}"))
        })
    }

    /// Parses platform files; unknown claim ids, unknown values and entries
    /// without a reason or a source are errors.
    pub fn parse(files: &[(&str, &str)], catalog: &Catalog) -> Result<Expectations, String> {
        let mut out = BTreeMap::new();
        let mut since = BTreeMap::new();
        for (stem, text) in files {
            let where_ = format!("platforms/{stem}.toml");
            let raw: RawPlatformFile =
                toml::from_str(text).map_err(|e| format!("{where_}: {e}"))?;
            let mut entries = BTreeMap::new();
            let mut versioned = BTreeMap::new();
            for (id, e) in raw.claims {
                if catalog.claim(&id).is_none() {
                    return Err(format!("{where_}: unknown claim id {id:?}"));
                }
                let outcome = |field: &str, v: &str| {
                    Outcome::parse(v)
                        .filter(|o| EXPECTABLE.contains(o))
                        .ok_or_else(|| format!("{where_}: {id}: {field} must be yes, no, unsupported, timeout or (expect only) unstated, not {v:?}"))
                };
                let expect = if e.expect == UNSTATED {
                    None
                } else {
                    Some(outcome("expect", &e.expect)?)
                };
                if e.reason.trim().is_empty() || e.source.trim().is_empty() {
                    return Err(format!(
                        "{where_}: {id}: every expectation needs a reason and a source"
                    ));
                }
                let mut reason = e.reason;
                match (&e.since, &e.before) {
                    (None, None) => {}
                    (Some(v), Some(before)) => {
                        let Some(expect) = expect else {
                            return Err(format!(
                                "{where_}: {id}: an entry that holds since a version expects a value, not {UNSTATED}"
                            ));
                        };
                        let since = Version::parse(v, 2)
                            .filter(|n| n.text == *v)
                            .ok_or_else(|| format!("{where_}: {id}: since must be a version like \"5.15\", not {v:?}"))?;
                        let before = outcome("before", before)?;
                        reason = format!(
                            "{expect} since {v}, {before} before (on the OS itself; under an emulator this entry is passed over): {reason}"
                        );
                        versioned.insert(id.clone(), SinceVersion { since, before });
                    }
                    _ => {
                        return Err(format!("{where_}: {id}: since and before go together"));
                    }
                }
                entries.insert(
                    id,
                    PlatformEntry {
                        expect,
                        reason,
                        source: e.source,
                    },
                );
            }
            out.insert((*stem).to_owned(), entries);
            since.insert((*stem).to_owned(), versioned);
        }
        Ok(Expectations { files: out, since })
    }

    /// The entry of `claim` in file `stem` as it applies to `run`: as written,
    /// or, for an entry that holds since a version, its `expect` or `before`
    /// by the run's version; `None` when such an entry cannot apply (a run
    /// under an emulator, or with no version to compare).
    fn applicable(&self, stem: &str, claim: &str, run: &RunInfo) -> Option<PlatformEntry> {
        let e = self.files.get(stem)?.get(claim)?;
        let Some(s) = self.since.get(stem).and_then(|m| m.get(claim)) else {
            return Some(e.clone());
        };
        let version = run.version()?;
        let newer = version >= s.since;
        Some(PlatformEntry {
            expect: if newer { e.expect } else { Some(s.before) },
            reason: format!(
                "version {} is {} {}: {}",
                version.text,
                if newer { "at or after" } else { "before" },
                s.since.text,
                e.reason
            ),
            source: e.source.clone(),
        })
    }

    /// The stems of the files consulted for a run, most specific first
    /// (`windows-wine`, `windows`).
    pub fn layers(run: &RunInfo) -> Vec<String> {
        let os = run.os.key();
        let mut layers = Vec::new();
        if run.runtime != Runtime::Native {
            layers.push(format!("{os}-{}", run.runtime.as_str()));
        }
        if let Some(libc) = libc_key(run) {
            layers.push(format!("{os}-{libc}"));
        }
        layers.push(os.to_owned());
        layers
    }

    /// The platform-file entry for a claim on a run, with its file.
    pub fn entry(&self, claim: &str, run: &RunInfo) -> Option<(String, &PlatformEntry)> {
        Self::layers(run).into_iter().find_map(|stem| {
            let e = self.files.get(&stem)?.get(claim)?;
            self.applicable(&stem, claim, run)?;
            Some((format!("platforms/{stem}.toml"), e))
        })
    }

    /// Resolves the expectation of `claim` on `run`.
    ///
    /// Layer by layer, most specific first, the claim's own entry wins; failing
    /// that, a layer that expects the claim's mechanism absent (`<mech>.available`
    /// expected `no` or `unsupported`) makes the claim expected `unsupported`, so
    /// a runtime overlay that says "no AF_UNIX under Wine" covers every AF_UNIX
    /// claim the OS file speaks of. Then the guide's stance, where a mechanism the
    /// guide marks absent (✗ or n/a in its portability table) is expected
    /// `unsupported`: absent is what `unsupported` means (CONTRIBUTING.md rule 6).
    pub fn resolve(&self, claim: &Claim, run: &RunInfo) -> Expected {
        let avail_id = format!("{}.available", claim.mechanism);
        let avail_claim = (claim.kind != Kind::Availability)
            .then(|| Catalog::get().claim(&avail_id))
            .flatten();
        for stem in Self::layers(run) {
            if !self.files.contains_key(&stem) {
                continue;
            }
            let origin = format!("platforms/{stem}.toml");
            if let Some(e) = self.applicable(&stem, &claim.id, run) {
                return Expected {
                    value: e.expect,
                    origin,
                    reason: e.reason,
                    source: e.source,
                };
            }
            if avail_claim.is_some() {
                if let Some(a) = self
                    .applicable(&stem, &avail_id, run)
                    .filter(|a| matches!(a.expect, Some(Outcome::No | Outcome::Unsupported)))
                {
                    return Expected {
                        value: Some(Outcome::Unsupported),
                        origin,
                        reason: format!("{avail_id} is expected {}: {}", a.expect_word(), a.reason),
                        source: a.source,
                    };
                }
            }
        }
        // The guide's "absent" only stands when no platform file says otherwise:
        // FreeBSD's file expects POSIX queues available (with mqueuefs), so their
        // behaviour claims fall to the guide's stance on the behaviour itself.
        let layered_avail = self.entry(&avail_id, run).is_some();
        if let Some(avail) = avail_claim.filter(|_| !layered_avail) {
            if matches!(
                Self::guide(avail, run.os),
                Some(Outcome::No | Outcome::Unsupported)
            ) {
                return Expected {
                    value: Some(Outcome::Unsupported),
                    origin: "guide".to_owned(),
                    reason: format!(
                        "the guide marks {} absent on {}",
                        claim.mechanism,
                        run.os.key()
                    ),
                    source: String::new(),
                };
            }
        }
        Expected {
            value: Self::guide(claim, run.os),
            origin: "guide".to_owned(),
            reason: String::new(),
            source: String::new(),
        }
    }

    /// The guide's stance on `claim` for `os`, as an expected outcome.
    fn guide(claim: &Claim, os: Os) -> Option<Outcome> {
        match (claim.doc_on(os), claim.kind) {
            (Stance::Yes, _) => Some(Outcome::Yes),
            (Stance::No | Stance::NotApplicable, Kind::Availability) => Some(Outcome::Unsupported),
            (Stance::No, _) => Some(Outcome::No),
            (Stance::NotApplicable, _) => Some(Outcome::Unsupported),
            (Stance::Unstated, _) => None,
        }
    }

    /// Every entry of every file, for the report's departures list.
    pub fn all(&self) -> impl Iterator<Item = (&str, &str, &PlatformEntry)> {
        self.files
            .iter()
            .flat_map(|(stem, m)| m.iter().map(move |(id, e)| (stem.as_str(), id.as_str(), e)))
    }
}

fn libc_key(run: &RunInfo) -> Option<&'static str> {
    if run.platform.starts_with("android") {
        return Some("bionic");
    }
    if run.os == Os::Linux && run.libc.starts_with("musl") {
        return Some("musl");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::Runtime;

    fn run(os: Os, runtime: Runtime) -> RunInfo {
        let mut r = RunInfo::current("test".into());
        r.os = os;
        r.runtime = runtime;
        r.platform = format!("{}-x86_64-gnu", os.key());
        r.libc = "glibc".into();
        r
    }

    /// Why `text`, as platforms/linux.toml, is refused.
    fn linux_file_error(text: &str) -> String {
        Expectations::parse(&[("linux", text)], Catalog::get()).unwrap_err()
    }

    const ENTRY: &str = "[claims.\"unix_stream.available\"]\nexpect = \"unsupported\"\nreason = \"r\"\nsource = \"s\"\n";

    #[test]
    fn every_platform_file_is_valid() {
        Expectations::parse(PLATFORM_FILES, Catalog::get()).unwrap();
    }

    #[test]
    fn unknown_claims_and_missing_sources_are_refused() {
        for (claim, expect, source, error) in [
            ("pipe.teleports", "yes", "s", "unknown claim id"),
            ("pipe.available", "yes", "", "reason and a source"),
            ("pipe.available", "error", "s", "expect must be"),
        ] {
            let e = linux_file_error(&format!(
                "[claims.\"{claim}\"]\nexpect=\"{expect}\"\nreason=\"r\"\nsource=\"{source}\"\n"
            ));
            assert!(e.contains(error), "{claim}, {expect}, {source:?}: {e}");
        }
    }

    #[test]
    fn a_platform_file_that_expects_a_mechanism_overrides_the_guides_absence() {
        let cat = Catalog::get();
        let avail =
            "[claims.\"posix_mq.available\"]\nexpect = \"yes\"\nreason = \"r\"\nsource = \"s\"\n";
        let exp = Expectations::parse(&[("freebsd", avail)], cat).unwrap();
        let e = exp.resolve(
            cat.claim("posix_mq.priority_order").unwrap(),
            &run(Os::Freebsd, Runtime::Native),
        );
        assert_eq!((e.value, e.origin.as_str()), (Some(Outcome::Yes), "guide"));
        // Without the file, the guide's absence on FreeBSD stands.
        let none = Expectations::parse(&[], cat).unwrap();
        let e = none.resolve(
            cat.claim("posix_mq.priority_order").unwrap(),
            &run(Os::Freebsd, Runtime::Native),
        );
        assert_eq!(e.value, Some(Outcome::Unsupported));
    }

    #[test]
    fn runtime_overlay_wins_only_for_that_runtime() {
        let cat = Catalog::get();
        let exp = Expectations::parse(&[("windows-wine", ENTRY), ("windows", "")], cat).unwrap();
        let claim = cat.claim("unix_stream.available").unwrap();
        let wine = exp.resolve(claim, &run(Os::Windows, Runtime::Wine));
        assert_eq!(wine.value, Some(Outcome::Unsupported));
        assert_eq!(wine.origin, "platforms/windows-wine.toml");
        let native = exp.resolve(claim, &run(Os::Windows, Runtime::Native));
        assert_eq!(
            (native.value, native.origin.as_str()),
            (Some(Outcome::Yes), "guide")
        );
    }

    #[test]
    fn claims_of_an_absent_mechanism_are_expected_unsupported() {
        let cat = Catalog::get();
        let exp = Expectations::parse(&[], cat).unwrap();
        let e = exp.resolve(
            cat.claim("fifo.available").unwrap(),
            &run(Os::Windows, Runtime::Native),
        );
        assert_eq!(
            (e.value, e.origin.as_str()),
            (Some(Outcome::Unsupported), "guide")
        );
        // The guide: no FIFOs on Windows.
        let e = exp.resolve(
            cat.claim("fifo.rdwr_self_read").unwrap(),
            &run(Os::Windows, Runtime::Native),
        );
        assert_eq!(e.value, Some(Outcome::Unsupported));
        let e = exp.resolve(
            cat.claim("fifo.rdwr_self_read").unwrap(),
            &run(Os::Linux, Runtime::Native),
        );
        assert_eq!(e.value, Some(Outcome::Yes));
    }

    fn resolve(exp: &Expectations, id: &str, run: &RunInfo) -> Expected {
        exp.resolve(Catalog::get().claim(id).expect("claim"), run)
    }

    const WINDOWS_FD: &str =
        "[claims.\"unix_stream.fd_passing\"]\nexpect = \"no\"\nreason = \"r\"\nsource = \"s\"\n";

    #[test]
    fn runtime_absence_covers_the_os_entries() {
        let exp = Expectations::parse(
            &[("windows-wine", ENTRY), ("windows", WINDOWS_FD)],
            Catalog::get(),
        )
        .unwrap();
        for (runtime, value, origin) in [
            (
                Runtime::Wine,
                Outcome::Unsupported,
                "platforms/windows-wine.toml",
            ),
            (Runtime::Native, Outcome::No, "platforms/windows.toml"),
        ] {
            let e = resolve(&exp, "unix_stream.fd_passing", &run(Os::Windows, runtime));
            assert_eq!((e.value, e.origin.as_str()), (Some(value), origin));
        }
    }

    const SINCE_5_15: &str = "[claims.\"unix_stream.oob\"]\nexpect = \"yes\"\nsince = \"5.15\"\nbefore = \"unsupported\"\nreason = \"r\"\nsource = \"s\"\n";

    fn on_kernel(release: &str, runtime: Runtime) -> RunInfo {
        let mut r = run(Os::Linux, runtime);
        r.kernel = format!("Linux {release} (#1 SMP)");
        r
    }

    #[test]
    fn an_entry_since_a_version_expects_by_the_kernel() {
        let exp = Expectations::parse(&[("linux", SINCE_5_15)], Catalog::get()).unwrap();
        for (release, runtime, want) in [
            (
                "5.10.0-46-cloud-amd64",
                Runtime::Vm,
                Some(Outcome::Unsupported),
            ),
            ("5.15.0", Runtime::Native, Some(Outcome::Yes)),
            ("6.1.0-41-cloud-amd64", Runtime::Vm, Some(Outcome::Yes)),
            ("6.18.44-fc-v1272", Runtime::Native, Some(Outcome::Yes)),
            // Under an emulator the entry is passed over: the guide's stance (none).
            ("6.18.44", Runtime::QemuUser, None),
            ("unknown", Runtime::Native, None),
        ] {
            let e = resolve(&exp, "unix_stream.oob", &on_kernel(release, runtime));
            assert_eq!(e.value, want, "{release} {runtime:?}: {e}");
            if want.is_some() {
                assert_eq!(e.origin, "platforms/linux.toml");
                assert!(e.reason.contains("5.15"), "{}", e.reason);
            }
        }
    }

    #[test]
    fn since_needs_before_and_a_version() {
        for (extra, error) in [
            ("since = \"5.15\"\n", "go together"),
            ("before = \"no\"\n", "go together"),
            ("since = \"five\"\nbefore = \"no\"\n", "since must be"),
            ("since = \"5.15.3\"\nbefore = \"no\"\n", "since must be"),
            ("since = \"5.15\"\nbefore = \"skipped\"\n", "before must be"),
        ] {
            let e = linux_file_error(&format!(
                "[claims.\"unix_stream.oob\"]\nexpect = \"yes\"\n{extra}reason = \"r\"\nsource = \"s\"\n"
            ));
            assert!(e.contains(error), "{extra}: {e}");
        }
    }

    #[test]
    fn an_unstated_entry_holds_the_claim_to_no_value_on_its_platform() {
        let text = "[claims.\"tcp.handshake_cost\"]\nexpect = \"unstated\"\nreason = \"r\"\nsource = \"s\"\n";
        let exp = Expectations::parse(&[("windows", text)], Catalog::get()).unwrap();
        let e = resolve(
            &exp,
            "tcp.handshake_cost",
            &run(Os::Windows, Runtime::Native),
        );
        assert_eq!(
            (e.value, e.origin.as_str()),
            (None, "platforms/windows.toml")
        );
        assert_eq!(e.reason, "r");
        // Elsewhere the guide's stance stands.
        let e = resolve(&exp, "tcp.handshake_cost", &run(Os::Linux, Runtime::Native));
        assert_eq!((e.value, e.origin.as_str()), (Some(Outcome::Yes), "guide"));
        // A value that holds since a version cannot be unstated.
        let since = format!("{}since = \"6.1\"\nbefore = \"no\"\n", text);
        let err = Expectations::parse(&[("windows", &since)], Catalog::get()).unwrap_err();
        assert!(err.contains("expects a value"), "{err}");
    }

    #[test]
    fn windows_only_mechanisms_are_expected_unsupported_elsewhere() {
        let exp = Expectations::parse(&[], Catalog::get()).unwrap();
        let linux = run(Os::Linux, Runtime::Native);
        for id in ["win_named_pipe.available", "win_named_pipe.bidirectional"] {
            assert_eq!(
                resolve(&exp, id, &linux).value,
                Some(Outcome::Unsupported),
                "{id}"
            );
        }
        let windows = run(Os::Windows, Runtime::Native);
        assert_eq!(
            resolve(&exp, "win_named_pipe.available", &windows).value,
            Some(Outcome::Yes)
        );
    }
}
