//! Embeds the platform expectation files and the suite revision.
use std::env;
use std::fs;
use std::path::Path;
use std::process::Command;

fn main() {
    let manifest = env::var("CARGO_MANIFEST_DIR").unwrap();
    let platforms = Path::new(&manifest).join("platforms");
    println!("cargo:rerun-if-changed=platforms");
    let mut files: Vec<_> = fs::read_dir(&platforms)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    files.sort();
    let mut out = String::from(
        "/// Every `platforms/*.toml`, embedded at build time: (file stem, text).\npub static PLATFORM_FILES: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let stem = f.file_stem().unwrap().to_string_lossy();
        out.push_str(&format!(
            "    ({stem:?}, include_str!({:?})),\n",
            f.display().to_string()
        ));
    }
    out.push_str("];\n");
    fs::write(
        Path::new(&env::var("OUT_DIR").unwrap()).join("platform_files.rs"),
        out,
    )
    .unwrap();

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
