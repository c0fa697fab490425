//! A draft written into a platform file as it stands: a drafted claim that
//! already has an entry there gets the drafted entry in its place, a drafted
//! claim without one is added after the last entry of its mechanism (or at the
//! end of the file), and every other byte of the file (comments, other
//! entries, their order) stays as it was. A file that does not exist yet is
//! created with a header saying where its entries come from.
//!
//! Entries are found through the TOML parser's spans, so a string that
//! happens to contain `[claims.` cannot fool it; an entry not written as a
//! `[claims."<id>"]` table is refused with its claim named. The result is
//! checked before it is returned: it loads as a platform file, holds every
//! drafted entry, and every entry the draft does not touch is unchanged.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::{Draft, comment, entry_toml};
use crate::catalog::Catalog;
use crate::expect::{Expectations, PlatformEntry};

/// A platform file with a draft merged into it.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The file's new text.
    pub text: String,
    /// Drafted claims whose entry in the file the draft replaced.
    pub replaced: Vec<String>,
    /// Drafted claims the file had no entry for.
    pub added: Vec<String>,
    /// Drafted claims whose entry in the file already expects what the draft
    /// would: that entry, with its documentation, stays (the file changed
    /// since the run, or the run was made without it).
    pub unchanged: Vec<String>,
    /// Whether the file is new.
    pub created: bool,
}

/// Merges `draft` into the platform file whose text is `existing` (`None`:
/// the file does not exist yet).
pub fn merge(existing: Option<&str>, draft: &Draft, catalog: &Catalog) -> Result<Merged, String> {
    let file = format!("platforms/{}.toml", draft.stem);
    if draft.entries.is_empty() {
        // Nothing to write: an existing file stays, a missing one stays missing.
        if let Some(old) = existing {
            entries_of(&draft.stem, old, catalog).map_err(|e| format!("{file}: {e}"))?;
        }
        return Ok(Merged {
            text: existing.unwrap_or_default().to_owned(),
            replaced: Vec::new(),
            added: Vec::new(),
            unchanged: Vec::new(),
            created: false,
        });
    }
    let Some(old) = existing else {
        let text = new_file(draft);
        check(&file, "", &text, draft, catalog)?;
        return Ok(Merged {
            text,
            replaced: Vec::new(),
            added: draft.entries.keys().cloned().collect(),
            unchanged: Vec::new(),
            created: true,
        });
    };
    let before = entries_of(&draft.stem, old, catalog).map_err(|e| format!("{file}: {e}"))?;
    let ranges = entry_ranges(old).map_err(|e| format!("{file}: {e}"))?;
    if let Some(id) = before.keys().find(|id| !ranges.contains_key(*id)) {
        return Err(format!(
            "{file}: the entry of {id} is not written as a [claims.\"{id}\"] table: merge the draft by hand"
        ));
    }
    let mechanism = |id: &str| catalog.claim(id).map(|c| c.mechanism.clone());

    // (start, end, replacement) of every edit; insertions have start == end.
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let (mut replaced, mut added, mut unchanged) = (Vec::new(), Vec::new(), Vec::new());
    // New entries go after the last entry of their mechanism, else at the end.
    let mut inserts: BTreeMap<usize, String> = BTreeMap::new();
    for (id, entry) in &draft.entries {
        if before.get(id).is_some_and(|e| e.expect == entry.expect) {
            unchanged.push(id.clone());
            continue;
        }
        if let Some(r) = ranges.get(id) {
            edits.push((r.start, r.end, entry_toml(id, entry)));
            replaced.push(id.clone());
            continue;
        }
        let mech = mechanism(id);
        let at = ranges
            .iter()
            .filter(|(other, _)| mech.is_some() && mechanism(other) == mech)
            .map(|(_, r)| r.end)
            .max()
            .unwrap_or(old.len());
        let text = inserts.entry(at).or_default();
        if text.is_empty() && at == old.len() && !old.is_empty() && !old.ends_with('\n') {
            text.push('\n');
        }
        if at > 0 {
            text.push('\n');
        }
        text.push_str(&entry_toml(id, entry));
        added.push(id.clone());
    }
    for (at, mut text) in inserts {
        // A blank line between the insertion and whatever follows it.
        if old[at..].starts_with(|c: char| c != '\n') {
            text.push('\n');
        }
        edits.push((at, at, text));
    }
    // From the end of the file backwards; where an insertion and a replaced
    // entry start at one place, the replacement goes first, so the insertion
    // ends up before it.
    edits.sort_by_key(|e| std::cmp::Reverse((e.0, e.1)));
    let mut text = old.to_owned();
    for (start, end, replacement) in edits {
        text.replace_range(start..end, &replacement);
    }
    check(&file, old, &text, draft, catalog)?;
    Ok(Merged {
        text,
        replaced,
        added,
        unchanged,
        created: false,
    })
}

/// A new platform file holding the draft's entries, with a header.
fn new_file(draft: &Draft) -> String {
    let mut out = String::new();
    out.push_str(&comment(&format!(
        "Expectations for {} that depart from the guide. Each entry names the claim,",
        draft.stem
    )));
    out.push_str(
        "# the expected observation (yes, no, unsupported, timeout), why, and the source.\n",
    );
    out.push_str("# Drafted by ipcconf expectations --from-results from the run(s) below: each\n");
    out.push_str("# entry is a measurement of those runs until its source names the\n");
    out.push_str("# documentation that shows it.\n");
    for run in &draft.runs {
        out.push_str(&comment(&format!("From {run}")));
    }
    for (claim, e) in &draft.entries {
        out.push('\n');
        out.push_str(&entry_toml(claim, e));
    }
    out
}

/// Claim → entry of one platform file's text.
fn entries_of(
    stem: &str,
    text: &str,
    catalog: &Catalog,
) -> Result<BTreeMap<String, PlatformEntry>, String> {
    let exp = Expectations::parse(&[(stem, text)], catalog)?;
    Ok(exp
        .all()
        .map(|(_, id, e)| (id.to_owned(), e.clone()))
        .collect())
}

/// Where each entry of a platform file lies: claim → the bytes from the start
/// of its `[claims."<id>"]` header line to the end of the line its last key
/// ends on (the line break included).
fn entry_ranges(text: &str) -> Result<BTreeMap<String, Range<usize>>, String> {
    let doc = DeTable::parse(text).map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for (key, value) in doc.get_ref().iter() {
        if key.get_ref() != "claims" {
            continue;
        }
        let DeValue::Table(claims) = value.get_ref() else {
            return Err("claims is not a table".to_owned());
        };
        for (id, entry) in claims.iter() {
            let id = id.get_ref().to_string();
            let DeValue::Table(keys) = entry.get_ref() else {
                return Err(format!("the entry of {id} is not a table"));
            };
            let header = entry.span();
            let start = line_start(text, header.start);
            let header_line = &text[start..line_end(text, header.start)];
            if !header_line.trim_start().starts_with("[claims.") {
                return Err(format!(
                    "the entry of {id} is not written as a [claims.\"{id}\"] table: merge the draft by hand"
                ));
            }
            let last = keys
                .iter()
                .map(|(k, v)| k.span().end.max(v.span().end))
                .max()
                .unwrap_or(header.end);
            out.insert(id, start..line_end(text, last.max(header.end)));
        }
    }
    Ok(out)
}

/// The byte index where the line holding `at` starts.
fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// The byte index just past the line break ending the line that holds `at`
/// (the end of the text when that line has none).
fn line_end(text: &str, at: usize) -> usize {
    let at = at.min(text.len());
    text[at..].find('\n').map_or(text.len(), |i| at + i + 1)
}

/// The merged text loads as a platform file, holds every drafted entry as
/// drafted, and every other entry of `old` unchanged, and nothing else.
fn check(file: &str, old: &str, new: &str, draft: &Draft, catalog: &Catalog) -> Result<(), String> {
    let internal = |e: String| format!("internal error: the draft merged into {file} {e}");
    let before = entries_of(&draft.stem, old, catalog).map_err(|e| format!("{file}: {e}"))?;
    let after = entries_of(&draft.stem, new, catalog)
        .map_err(|e| internal(format!("does not load: {e}")))?;
    let mut expected = before;
    for (id, e) in &draft.entries {
        if expected.get(id).is_none_or(|old| old.expect != e.expect) {
            expected.insert(id.clone(), e.clone());
        }
    }
    if after != expected {
        let differ: Vec<&String> = expected
            .keys()
            .chain(after.keys())
            .filter(|id| expected.get(*id) != after.get(*id))
            .collect();
        return Err(internal(format!("differs at {differ:?}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::Outcome;

    fn entry(expect: Outcome, reason: &str) -> PlatformEntry {
        PlatformEntry {
            expect: Some(expect),
            reason: reason.into(),
            source: "run r1".into(),
        }
    }

    fn draft(stem: &str, entries: &[(&str, PlatformEntry)]) -> Draft {
        Draft {
            stem: stem.into(),
            entries: entries
                .iter()
                .map(|(k, e)| ((*k).to_owned(), e.clone()))
                .collect(),
            details: BTreeMap::new(),
            not_drafted: Vec::new(),
            runs: vec!["run r1 of the suite".into()],
        }
    }

    const FILE: &str = "# Header comment.\n\
        \n\
        # --- signal ---\n\
        [claims.\"signal.realtime_queue\"]\n\
        expect = \"unsupported\"\n\
        reason = \"no [claims.\\\"x\\\"] here\"\n\
        source = \"s1\"\n\
        \n\
        [claims.\"signal.priority\"] # trailing comment\n\
        expect = \"unsupported\"\n\
        reason = \"\"\"multi\n\
        line\"\"\"\n\
        source = \"s2\"\n\
        # --- eventfd ---\n\
        [claims.\"eventfd.available\"]\n\
        expect = \"unsupported\"\n\
        reason = \"r3\"\n\
        source = \"s3\"\n\
        # closing comment\n";

    #[test]
    fn replaces_in_place_adds_beside_the_mechanism_and_keeps_the_rest() {
        let d = draft(
            "macos",
            &[
                ("signal.priority", entry(Outcome::Yes, "observed yes")),
                ("signal.rt_range", entry(Outcome::Unsupported, "new signal")),
                ("pipe.unidirectional", entry(Outcome::No, "new pipe")),
            ],
        );
        let m = merge(Some(FILE), &d, Catalog::get()).unwrap();
        assert_eq!(m.replaced, ["signal.priority"]);
        assert!(m.unchanged.is_empty());
        assert_eq!(m.added, ["pipe.unidirectional", "signal.rt_range"]);
        let t = &m.text;
        // Comments and untouched entries survive byte for byte.
        for kept in [
            "# Header comment.\n\n# --- signal ---\n[claims.\"signal.realtime_queue\"]",
            "reason = \"no [claims.\\\"x\\\"] here\"\nsource = \"s1\"\n",
            "# --- eventfd ---\n[claims.\"eventfd.available\"]\nexpect = \"unsupported\"\nreason = \"r3\"\nsource = \"s3\"\n# closing comment\n",
        ] {
            assert!(t.contains(kept), "lost {kept:?}:\n{t}");
        }
        // The replaced entry is gone, multi-line string and all.
        assert!(
            !t.contains("multi\nline") && !t.contains("trailing comment"),
            "{t}"
        );
        // The new signal entry sits after the last signal entry, before eventfd's section.
        let rt = t.find("[claims.\"signal.rt_range\"]").unwrap();
        let prio = t.find("[claims.\"signal.priority\"]").unwrap();
        let eventfd = t.find("# --- eventfd ---").unwrap();
        assert!(prio < rt && rt < eventfd, "{t}");
        // The pipe entry, of a mechanism the file has no entry for, is at the end.
        assert!(t.find("[claims.\"pipe.unidirectional\"]").unwrap() > eventfd);
        assert!(t.ends_with("source = \"run r1\"\n"), "{t}");
    }

    #[test]
    fn an_entry_that_already_expects_the_observation_stays() {
        let d = draft(
            "macos",
            &[(
                "signal.realtime_queue",
                entry(Outcome::Unsupported, "measured"),
            )],
        );
        let m = merge(Some(FILE), &d, Catalog::get()).unwrap();
        assert_eq!(m.unchanged, ["signal.realtime_queue"]);
        assert_eq!(m.text, FILE);
    }

    #[test]
    fn a_missing_file_is_created_with_a_header() {
        let d = draft(
            "linux-musl",
            &[("pipe.unidirectional", entry(Outcome::No, "r"))],
        );
        let m = merge(None, &d, Catalog::get()).unwrap();
        assert!(m.created && m.replaced.is_empty());
        assert!(m.text.starts_with("# Expectations for linux-musl"));
        assert!(m.text.contains("# From run r1 of the suite\n"));
        // Without entries, no file is created.
        let m = merge(None, &draft("linux-musl", &[]), Catalog::get()).unwrap();
        assert!(!m.created && m.text.is_empty());
        // An empty draft leaves an existing file as it is.
        let m = merge(Some(FILE), &draft("macos", &[]), Catalog::get()).unwrap();
        assert_eq!(m.text, FILE);
        // A file without a final line break gets one before the addition.
        let cut = FILE.trim_end_matches('\n');
        let d = draft("macos", &[("pipe.unidirectional", entry(Outcome::No, "r"))]);
        let m = merge(Some(cut), &d, Catalog::get()).unwrap();
        assert!(m.text.starts_with(cut) && m.text[cut.len()..].starts_with("\n\n[claims."));
    }

    #[test]
    fn an_entry_written_otherwise_is_refused() {
        let inline =
            "[claims]\n\"pipe.available\" = { expect = \"yes\", reason = \"r\", source = \"s\" }\n";
        let d = draft("linux", &[("pipe.unidirectional", entry(Outcome::No, "r"))]);
        let e = merge(Some(inline), &d, Catalog::get()).unwrap_err();
        assert!(e.contains("pipe.available") && e.contains("by hand"), "{e}");
        let e = merge(Some("[claims.\"pipe.teleports\"]\n"), &d, Catalog::get()).unwrap_err();
        assert!(e.contains("platforms/linux.toml"), "{e}");
    }
}
