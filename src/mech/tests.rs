//! The registry against the catalog, the claim files and the test targets:
//! adding a mechanism means its entry, its suite and its claims, and these
//! tests say which of the three is missing.

use super::{REGISTRY, entry, perf_pairs};
use crate::catalog::Catalog;

/// The `[[test]]` targets of Cargo.toml: (name, path).
fn test_targets() -> Vec<(String, String)> {
    let manifest: toml::Table =
        toml::from_str(include_str!("../../Cargo.toml")).expect("Cargo.toml parses");
    manifest["test"]
        .as_array()
        .expect("[[test]] tables")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().expect("name").to_owned(),
                t["path"].as_str().expect("path").to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_catalog_mechanism_has_one_entry() {
    let catalog = Catalog::get();
    for mech in catalog.mechanisms() {
        if mech == "perf" {
            // The performance claims span mechanisms: each entry's perf pairs.
            continue;
        }
        let n = REGISTRY.iter().filter(|e| e.id == mech).count();
        assert_eq!(n, 1, "mechanism {mech:?}: {n} registry entries");
    }
    for e in REGISTRY {
        assert!(
            catalog.claims().iter().any(|c| c.mechanism == e.id),
            "registry entry {:?} has no claim in the catalog",
            e.id
        );
    }
}

#[test]
fn every_suite_is_a_test_target_with_a_claims_file() {
    let targets = test_targets();
    let suites = REGISTRY.iter().map(|e| e.suite).chain(["perf"]);
    for suite in suites {
        let path = format!("suites/{suite}.rs");
        assert!(
            targets.iter().any(|(n, p)| n == suite && *p == path),
            "Cargo.toml has no [[test]] name = {suite:?}, path = {path:?}"
        );
        assert!(
            crate::catalog::CLAIM_FILES.iter().any(|(s, _)| *s == suite),
            "no claims file suites/{suite}.toml for suite {suite:?}"
        );
    }
    // And no suite target without a registry entry (the tooling tests live in tests/).
    for (name, path) in &targets {
        if path.starts_with("suites/") {
            assert!(
                name == "perf" || REGISTRY.iter().any(|e| e.suite == name),
                "test target {name:?} ({path}) is not any registry entry's suite"
            );
        }
    }
}

#[test]
fn peer_role_prefixes_are_unambiguous() {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for e in REGISTRY {
        for p in e.role_prefixes {
            assert!(
                e.peer_role.is_some(),
                "{}: prefixes without a role fn",
                e.id
            );
            if let Some((_, other)) = seen.iter().find(|(q, _)| q == p) {
                panic!("role prefix {p:?} claimed by {other} and {}", e.id);
            }
            seen.push((p, e.id));
        }
    }
    assert!(super::serving("fifo-open-rdwr").is_some_and(|e| e.id == "fifo"));
    assert!(super::serving("fifoX-open").is_none());
    assert!(
        super::serving("perf-latency").is_none(),
        "perf roles are the harness's"
    );
}

#[test]
fn perf_pairs_have_unique_ids_and_claims() {
    let catalog = Catalog::get();
    let mut ids: Vec<&str> = perf_pairs().map(|p| p.id).collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "duplicate perf pair ids");
    for id in ids {
        let claim = format!("perf.latency_{id}");
        assert!(
            catalog.claim(&claim).is_some(),
            "{claim} is not in the catalog"
        );
    }
    assert!(entry("shm").is_some_and(|e| e.perf.len() == 4));
}
