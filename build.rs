//! Embeds the claim files, the platform expectation files and the suite revision.
use std::env;
use std::fs;
use std::path::Path;
use std::process::Command;

fn main() {
    let manifest = env::var("CARGO_MANIFEST_DIR").unwrap();
    let platforms = Path::new(&manifest).join("platforms");
    println!("cargo:rerun-if-changed=platforms");
    let mut files: Vec<(String, std::path::PathBuf)> = toml_files(&platforms)
        .into_iter()
        .map(|stem| (stem.clone(), platforms.join(format!("{stem}.toml"))))
        .collect();
    files.sort();
    write_embedded(
        "platform_files.rs",
        "/// Every `platforms/*.toml`, embedded at build time: (file stem, text).\npub static PLATFORM_FILES",
        &files,
    );

    embed_claim_files(&manifest);

    // The suite revision recorded in every run: CI may pin it, else git, else unknown.
    println!("cargo:rerun-if-env-changed=IPCCONF_REVISION");
    for file in git_state_files(&manifest) {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    let rev = env::var("IPCCONF_REVISION").ok().or_else(|| {
        let out = Command::new("git")
            .args(["describe", "--always", "--dirty", "--abbrev=12"])
            .current_dir(&manifest)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    });
    println!(
        "cargo:rustc-env=IPCCONF_SUITE_REVISION={}",
        rev.unwrap_or_else(|| "unknown".into())
    );
    println!(
        "cargo:rustc-env=IPCCONF_TARGET={}",
        env::var("TARGET").unwrap()
    );
}

/// The files whose change means a new revision or a changed work tree: HEAD,
/// the index, the branch HEAD points at and packed-refs. Asked of git, because
/// in a linked worktree `.git` is a file and the refs live in the common dir.
fn git_state_files(manifest: &str) -> Vec<std::path::PathBuf> {
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(manifest)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let (Some(git_dir), Some(common_dir)) = (
        git(&["rev-parse", "--absolute-git-dir"]),
        git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]),
    ) else {
        return Vec::new();
    };
    let mut files = vec![
        Path::new(&git_dir).join("HEAD"),
        Path::new(&git_dir).join("index"),
        Path::new(&common_dir).join("packed-refs"),
    ];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        files.push(Path::new(&common_dir).join(branch));
    }
    files.retain(|f| f.exists());
    files
}

/// Writes `claim_files.rs`: every `suites/<suite>.toml` in the order
/// `suites/catalog.toml` lists them. A claims file missing from the list, or a
/// listed file that does not exist, stops the build with both named.
fn embed_claim_files(manifest: &str) {
    let suites = Path::new(manifest).join("suites");
    let index = suites.join("catalog.toml");
    println!("cargo:rerun-if-changed={}", suites.display());
    println!("cargo:rerun-if-changed={}", index.display());
    let text = fs::read_to_string(&index).unwrap_or_else(|e| panic!("{}: {e}", index.display()));
    let order = catalog_order(&text).unwrap_or_else(|e| panic!("{}: {e}", index.display()));
    let mut present: Vec<String> = toml_files(&suites);
    present.retain(|s| s != "catalog");
    present.sort();
    let unlisted: Vec<&String> = present.iter().filter(|s| !order.contains(s)).collect();
    let missing: Vec<&String> = order.iter().filter(|s| !present.contains(s)).collect();
    if !unlisted.is_empty() || !missing.is_empty() {
        panic!(
            "suites/catalog.toml: claims files not in `order`: {unlisted:?}; listed but absent: {missing:?}"
        );
    }
    let files: Vec<(String, std::path::PathBuf)> = order
        .iter()
        .map(|suite| (suite.clone(), suites.join(format!("{suite}.toml"))))
        .collect();
    write_embedded(
        "claim_files.rs",
        "/// Every `suites/<suite>.toml`, embedded at build time, in catalog order: (suite, text).\npub static CLAIM_FILES",
        &files,
    );
}

/// The stems of the `*.toml` files in `dir`.
fn toml_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .filter_map(|p| Some(p.file_stem()?.to_string_lossy().into_owned()))
        .collect()
}

/// Writes `$OUT_DIR/<out>`: `<head>: &[(&str, &str)]` of (name, include_str!(file)),
/// in the order given; each file is watched for changes.
fn write_embedded(out: &str, head: &str, files: &[(String, std::path::PathBuf)]) {
    let mut text = format!("{head}: &[(&str, &str)] = &[\n");
    for (name, f) in files {
        println!("cargo:rerun-if-changed={}", f.display());
        text.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            f.display().to_string()
        ));
    }
    text.push_str("];\n");
    fs::write(Path::new(&env::var("OUT_DIR").unwrap()).join(out), text).unwrap();
}

/// The `order = [...]` list of `suites/catalog.toml` (one quoted name per
/// line; the build script has no TOML parser of its own).
fn catalog_order(text: &str) -> Result<Vec<String>, String> {
    let start = text.find("order = [").ok_or("no `order = [` list")?;
    let rest = &text[start + "order = [".len()..];
    let end = rest.find(']').ok_or("`order` list is not closed")?;
    rest[..end]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .filter(|n| {
                    n.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                })
                .map(str::to_owned)
                .ok_or_else(|| format!("bad entry {s:?} in `order`"))
        })
        .collect()
}
