//! The claims catalog: every checkable statement of the reference guide, loaded
//! from the claim files beside the suites (`suites/<suite>.toml`, in the order
//! `suites/catalog.toml` lists them; embedded at build time, so every binary
//! carries the catalog it was built with).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The operating systems the guide's portability table speaks of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    Linux,
    Macos,
    Freebsd,
    Windows,
}

impl Os {
    pub const ALL: [Os; 4] = [Os::Linux, Os::Macos, Os::Freebsd, Os::Windows];

    pub fn key(self) -> &'static str {
        match self {
            Os::Linux => "linux",
            Os::Macos => "macos",
            Os::Freebsd => "freebsd",
            Os::Windows => "windows",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Os::Linux => "Linux",
            Os::Macos => "macOS",
            Os::Freebsd => "FreeBSD",
            Os::Windows => "Windows",
        }
    }

    pub fn from_key(key: &str) -> Option<Os> {
        Os::ALL.into_iter().find(|os| os.key() == key)
    }
}

/// What the guide says of a claim on one OS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stance {
    #[serde(rename = "yes")]
    Yes,
    #[serde(rename = "no")]
    No,
    /// The guide marks the cell N/A, or the mechanism does not exist there per the guide.
    #[serde(rename = "n/a")]
    NotApplicable,
    /// The guide takes no stance (measured facts, cells it never fills).
    #[serde(rename = "unstated")]
    Unstated,
}

impl Stance {
    pub fn as_str(self) -> &'static str {
        match self {
            Stance::Yes => "yes",
            Stance::No => "no",
            Stance::NotApplicable => "n/a",
            Stance::Unstated => "unstated",
        }
    }
}

impl fmt::Display for Stance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Availability,
    Matrix,
    Behaviour,
    Perf,
    Fact,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Availability => "availability",
            Kind::Matrix => "matrix",
            Kind::Behaviour => "behaviour",
            Kind::Perf => "perf",
            Kind::Fact => "fact",
        }
    }
}

/// The guide's stance: one word for every OS, or one per OS.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum DocSpec {
    All(Stance),
    PerOs(BTreeMap<String, Stance>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClaim {
    id: String,
    mechanism: String,
    kind: Kind,
    statement: String,
    check: String,
    section: String,
    quote: String,
    doc: DocSpec,
    #[serde(default)]
    doc_note: Option<String>,
    #[serde(default)]
    requires: Option<RequiresSpec>,
}

/// `requires`: one clause, or a list of clauses that must all hold.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum RequiresSpec {
    One(String),
    All(Vec<String>),
}

/// A property of the compile target a claim can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetWord {
    Unix,
    Windows,
    Linux,
    Android,
    Macos,
    Freebsd,
    Glibc,
    Musl,
}

impl TargetWord {
    pub const ALL: [TargetWord; 8] = [
        TargetWord::Unix,
        TargetWord::Windows,
        TargetWord::Linux,
        TargetWord::Android,
        TargetWord::Macos,
        TargetWord::Freebsd,
        TargetWord::Glibc,
        TargetWord::Musl,
    ];

    pub fn key(self) -> &'static str {
        match self {
            TargetWord::Unix => "unix",
            TargetWord::Windows => "windows",
            TargetWord::Linux => "linux",
            TargetWord::Android => "android",
            TargetWord::Macos => "macos",
            TargetWord::Freebsd => "freebsd",
            TargetWord::Glibc => "glibc",
            TargetWord::Musl => "musl",
        }
    }

    /// Whether the target this binary was compiled for has the property
    /// (`linux` is the Linux OS proper: Android is `android`, as in `target_os`).
    pub fn holds(self) -> bool {
        match self {
            TargetWord::Unix => cfg!(unix),
            TargetWord::Windows => cfg!(windows),
            TargetWord::Linux => cfg!(target_os = "linux"),
            TargetWord::Android => cfg!(target_os = "android"),
            TargetWord::Macos => cfg!(target_os = "macos"),
            TargetWord::Freebsd => cfg!(target_os = "freebsd"),
            TargetWord::Glibc => cfg!(all(target_os = "linux", target_env = "gnu")),
            TargetWord::Musl => cfg!(all(target_os = "linux", target_env = "musl")),
        }
    }
}

/// What a claim needs of the compile target: every clause must hold; a clause
/// holds when one of its alternatives does (`"linux | freebsd"`), and an
/// alternative is a [`TargetWord`], or `!word` for its absence. Empty: nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requires {
    clauses: Vec<Vec<(bool, TargetWord)>>,
}

impl Requires {
    fn parse(spec: &RequiresSpec) -> Result<Requires, String> {
        let texts: Vec<&str> = match spec {
            RequiresSpec::One(s) => vec![s.as_str()],
            RequiresSpec::All(v) => v.iter().map(String::as_str).collect(),
        };
        let mut clauses = Vec::new();
        for text in texts {
            let mut clause = Vec::new();
            for alt in text.split('|').map(str::trim) {
                let (negated, word) = match alt.strip_prefix('!') {
                    Some(w) => (true, w.trim()),
                    None => (false, alt),
                };
                let word = TargetWord::ALL
                    .into_iter()
                    .find(|w| w.key() == word)
                    .ok_or_else(|| {
                        let known: Vec<&str> = TargetWord::ALL.iter().map(|w| w.key()).collect();
                        format!(
                            "unknown word {alt:?} in requires {text:?} (known: {}, each may be negated with '!', alternatives joined with '|')",
                            known.join(", ")
                        )
                    })?;
                clause.push((negated, word));
            }
            clauses.push(clause);
        }
        Ok(Requires { clauses })
    }

    /// Whether the target this binary was compiled for meets every clause.
    pub fn met(&self) -> bool {
        self.unmet().is_none()
    }

    /// The first clause this target does not meet, as written (`"linux | freebsd"`).
    pub fn unmet(&self) -> Option<String> {
        self.clauses
            .iter()
            .find(|clause| !clause.iter().any(|&(neg, w)| w.holds() != neg))
            .map(|clause| {
                clause
                    .iter()
                    .map(|&(neg, w)| format!("{}{}", if neg { "!" } else { "" }, w.key()))
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    claim: Vec<RawClaim>,
}

/// One claim of the catalog.
#[derive(Debug, Clone, Serialize)]
pub struct Claim {
    pub id: String,
    pub mechanism: String,
    pub kind: Kind,
    pub statement: String,
    pub check: String,
    pub section: String,
    pub quote: String,
    /// The guide's stance per OS, every OS present.
    pub doc: BTreeMap<Os, Stance>,
    pub doc_note: Option<String>,
    /// The claims file it comes from: `suites/<suite>.toml`.
    #[serde(skip)]
    pub suite: String,
    /// What it needs of the compile target; unmet, the harness records it
    /// `unsupported` without a check.
    #[serde(skip)]
    pub requires: Requires,
}

impl Claim {
    /// The part of the id after the mechanism: `fifo.rdwr_self_read` → `rdwr_self_read`.
    pub fn property(&self) -> &str {
        &self.id[self.mechanism.len() + 1..]
    }

    pub fn doc_on(&self, os: Os) -> Stance {
        self.doc[&os]
    }
}

#[derive(Debug)]
pub struct Catalog {
    claims: Vec<Claim>,
    index: BTreeMap<String, usize>,
}

// `CLAIM_FILES: &[(&str, &str)]`: (suite, text of `suites/<suite>.toml`) in
// catalog order, written by build.rs.
include!(concat!(env!("OUT_DIR"), "/claim_files.rs"));

impl Catalog {
    /// The catalog this binary was built with.
    pub fn get() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| Catalog::parse_files(CLAIM_FILES).unwrap_or_else(|e| panic!("{e}")))
    }

    /// Parses and validates one claims file as a whole catalog.
    pub fn parse(text: &str) -> Result<Catalog, String> {
        Catalog::parse_files(&[("inline", text)])
    }

    /// Parses and validates claim files `(suite, text)` into one catalog, in
    /// the order given; every problem is reported with the file and the claim id.
    pub fn parse_files(files: &[(&str, &str)]) -> Result<Catalog, String> {
        let mut catalog = Catalog {
            claims: Vec::new(),
            index: BTreeMap::new(),
        };
        for (suite, text) in files {
            catalog
                .add_file(suite, text)
                .map_err(|e| format!("suites/{suite}.toml: {e}"))?;
        }
        Ok(catalog)
    }

    fn add_file(&mut self, suite: &str, text: &str) -> Result<(), String> {
        let raw: RawCatalog = toml::from_str(text).map_err(|e| e.to_string())?;
        let Catalog { claims, index } = self;
        for rc in raw.claim {
            let id = rc.id.clone();
            let (mech, prop) = id
                .split_once('.')
                .ok_or_else(|| format!("claim {id}: id is not mechanism.property"))?;
            if mech != rc.mechanism || prop.is_empty() {
                return Err(format!("claim {id}: mechanism is {:?}", rc.mechanism));
            }
            if !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
            {
                return Err(format!(
                    "claim {id}: id must be lowercase ascii, digits, '_' and '.'"
                ));
            }
            for (field, value) in [
                ("statement", &rc.statement),
                ("check", &rc.check),
                ("section", &rc.section),
            ] {
                if value.trim().is_empty() {
                    return Err(format!("claim {id}: empty {field}"));
                }
            }
            let doc = match rc.doc {
                DocSpec::All(s) => Os::ALL.into_iter().map(|os| (os, s)).collect(),
                DocSpec::PerOs(map) => {
                    let mut doc = BTreeMap::new();
                    for (key, stance) in map {
                        let os = Os::from_key(&key)
                            .ok_or_else(|| format!("claim {id}: unknown OS {key:?} in doc"))?;
                        doc.insert(os, stance);
                    }
                    if doc.len() != Os::ALL.len() {
                        return Err(format!(
                            "claim {id}: doc must give every OS or one word for all"
                        ));
                    }
                    doc
                }
            };
            let requires = match &rc.requires {
                Some(spec) => Requires::parse(spec).map_err(|e| format!("claim {id}: {e}"))?,
                None => Requires::default(),
            };
            if index.insert(id.clone(), claims.len()).is_some() {
                return Err(format!("claim {id}: duplicated"));
            }
            claims.push(Claim {
                id,
                mechanism: rc.mechanism,
                kind: rc.kind,
                statement: rc.statement,
                check: rc.check,
                section: rc.section,
                quote: rc.quote,
                doc,
                doc_note: rc.doc_note,
                suite: suite.to_owned(),
                requires,
            });
        }
        Ok(())
    }

    pub fn claim(&self, id: &str) -> Option<&Claim> {
        self.index.get(id).map(|&i| &self.claims[i])
    }

    pub fn claims(&self) -> &[Claim] {
        &self.claims
    }

    /// Mechanisms in catalog order.
    pub fn mechanisms(&self) -> Vec<&str> {
        let mut seen = Vec::new();
        for c in &self.claims {
            if !seen.contains(&c.mechanism.as_str()) {
                seen.push(c.mechanism.as_str());
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_parses() {
        assert!(Catalog::get().claims().len() >= 151);
    }

    /// Every pinned id (`src/pinned-claim-ids.txt`: the ids other tools read)
    /// is catalogued under exactly that id.
    #[test]
    fn every_pinned_claim_id_is_catalogued() {
        let text = include_str!("pinned-claim-ids.txt");
        let cat = Catalog::get();
        let pinned: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert!(pinned.len() >= 178, "the pinned list lost ids");
        let missing: Vec<&str> = pinned
            .iter()
            .copied()
            .filter(|id| cat.claim(id).is_none())
            .collect();
        assert!(
            missing.is_empty(),
            "pinned claim ids missing from the catalog: {missing:?}"
        );
    }

    #[test]
    fn malformed_catalogs_are_refused() {
        let one = |extra: &str| {
            format!(
                "[[claim]]\nid = \"pipe.x\"\nmechanism = \"pipe\"\nkind = \"behaviour\"\nstatement = \"s\"\ncheck = \"c\"\nsection = \"S\"\nquote = \"\"\n{extra}"
            )
        };
        assert!(Catalog::parse(&one("doc = \"maybe\"\n")).is_err());
        assert!(
            Catalog::parse(&one("doc = { linux = \"yes\" }\n"))
                .unwrap_err()
                .contains("every OS")
        );
        let dup = format!("{}\n{}", one("doc = \"yes\"\n"), one("doc = \"yes\"\n"));
        assert!(Catalog::parse(&dup).unwrap_err().contains("duplicated"));
        assert!(
            Catalog::parse(
                &one("doc = \"yes\"\n").replace("mechanism = \"pipe\"", "mechanism = \"fifo\"")
            )
            .is_err()
        );
        let err =
            Catalog::parse_files(&[("pipe", &one("doc = \"yes\"\nrequires = \"unix | plan9\"\n"))])
                .unwrap_err();
        assert!(
            err.contains("suites/pipe.toml")
                && err.contains("claim pipe.x")
                && err.contains("\"plan9\""),
            "{err}"
        );
        assert!(Catalog::parse(&one("doc = \"yes\"\nrequires = [\"unix\", \"!\"]\n")).is_err());
        assert!(Catalog::parse(&one("doc = \"yes\"\nrequires = 3\n")).is_err());
    }

    #[test]
    fn requirements_are_evaluated_for_this_target() {
        let req = |text: &str| {
            let one = format!(
                "[[claim]]\nid = \"pipe.x\"\nmechanism = \"pipe\"\nkind = \"behaviour\"\nstatement = \"s\"\ncheck = \"c\"\nsection = \"S\"\nquote = \"\"\ndoc = \"yes\"\nrequires = {text}\n"
            );
            Catalog::parse(&one).unwrap().claims()[0].requires.clone()
        };
        assert_eq!(req("\"unix\"").met(), cfg!(unix));
        assert_eq!(req("\"!unix\"").met(), !cfg!(unix));
        assert!(req("\"unix | windows\"").met() || !cfg!(any(unix, windows)));
        assert_eq!(
            req("[\"unix\", \"!android\"]").met(),
            cfg!(all(unix, not(target_os = "android")))
        );
        assert_eq!(
            req("\"linux | freebsd\"").met(),
            cfg!(any(target_os = "linux", target_os = "freebsd"))
        );
        assert_eq!(
            req("\"glibc\"").met(),
            cfg!(all(target_os = "linux", target_env = "gnu"))
        );
        if !cfg!(windows) {
            assert_eq!(
                req("[\"unix\", \"windows\"]").unmet().as_deref(),
                Some("windows")
            );
        }
        assert!(Requires::default().met());
        // Every word names exactly the targets its cfg does: one of unix and windows holds.
        assert!(TargetWord::Unix.holds() != TargetWord::Windows.holds());
    }
}
