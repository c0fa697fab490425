//! The crate's layers import one way only (CONTRIBUTING.md, "Layers"): every
//! `crate::<module>` path in a top-level module of `src/` names a module of a
//! strictly lower layer. `cargo test --test layering -- --nocapture` prints
//! who imports whom.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Every top-level module of `src/`, bottom layer first. A module may import
/// any module of a lower layer, none of its own layer or above.
const LAYERS: &[&[&str]] = &[
    &["sys", "names", "watchdog", "catalog", "markup"],
    &["guide", "precondition"],
    &["observe"],
    &["platform"],
    &["expect", "sweep"],
    &["results"],
    &["peer"],
    &["check"],
    &["procstate"],
    &["channel"],
    &["mech"],
    &["matrix", "perf"],
    &["report", "draft"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable src/") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for lib.rs and the
/// binaries, which sit above every layer).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    match first {
        "lib.rs" | "bin" => None,
        f => Some(f.trim_end_matches(".rs").to_owned()),
    }
}

/// The top-level modules a file names through `crate::x` or `crate::{x, ...}`,
/// comments stripped.
fn imports(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                let name = ident(item.trim());
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(&src, f)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(from) = module_of(&src, file) else {
            continue;
        };
        let text = fs::read_to_string(file).expect("readable source");
        let targets = edges.entry(from.clone()).or_default();
        for to in imports(&text) {
            if to != from && modules.contains(&to) {
                targets.insert(to);
            }
        }
    }
    edges
}

#[test]
fn every_module_has_a_layer() {
    let unplaced: Vec<String> = graph()
        .into_keys()
        .filter(|m| layer_of(m).is_none())
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules without a layer in tests/layering.rs: {unplaced:?}"
    );
}

#[test]
fn top_level_modules_import_one_way() {
    let edges = graph();
    let mut upward = Vec::new();
    for (from, targets) in &edges {
        println!(
            "{from} (layer {}) -> {}",
            layer_of(from).map_or("?".into(), |l| l.to_string()),
            targets.iter().cloned().collect::<Vec<_>>().join(", ")
        );
        for to in targets {
            if let (Some(a), Some(b)) = (layer_of(from), layer_of(to))
                && b >= a
            {
                upward.push(format!("{from} (layer {a}) imports {to} (layer {b})"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that do not point down:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_scan_sees_grouped_and_plain_paths() {
    let found = imports(
        "use crate::{observe::Outcome, platform};\nlet x = crate::sys::TARGET; // crate::report\n",
    );
    let expected: BTreeSet<String> = ["observe", "platform", "sys"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(found, expected);
}
