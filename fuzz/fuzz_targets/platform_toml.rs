//! The platform files' readers, by the input's first byte: even, a platform
//! file (`Expectations::parse`), then every claim resolved for runs of several
//! kinds; odd, a platform file as it stands with a draft merged into it
//! (`draft::merge`, which `ipcconf expectations --patch` runs on the files
//! in platforms/): what merges must load and hold the drafted entries.
#![no_main]

use ipc_conformance::catalog::{Catalog, Os};
use ipc_conformance::draft::{Detail, Draft, merge};
use ipc_conformance::expect::{Expectations, PlatformEntry};
use ipc_conformance::observe::Outcome;
use ipc_conformance::platform::{RunInfo, Runtime};
use libfuzzer_sys::fuzz_target;

const STEMS: [&str; 4] = ["linux", "linux-musl", "windows-wine", "macos"];

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(bytes);
    let stem = STEMS[usize::from(which >> 1) % STEMS.len()];
    if which % 2 == 0 {
        parse(stem, &text);
    } else {
        merged(stem, &text);
    }
});

fn parse(stem: &str, text: &str) {
    let catalog = Catalog::get();
    let Ok(exp) = Expectations::parse(&[(stem, text)], catalog) else {
        return;
    };
    for run in runs() {
        for claim in catalog.claims() {
            exp.resolve(claim, &run).to_string();
        }
    }
    exp.all().count();
}

fn runs() -> Vec<RunInfo> {
    let mut base = RunInfo::current("fuzz".into());
    base.os = Os::Linux;
    base.platform = "linux-x86_64-gnu".into();
    base.libc = "musl".into();
    let mut out = Vec::new();
    for (runtime, kernel) in [
        (Runtime::Native, "Linux 6.18.4"),
        (Runtime::Vm, "Linux 5.10.0"),
        (Runtime::QemuUser, "Linux 6.1"),
        (Runtime::Native, "Linux"),
    ] {
        let mut r = base.clone();
        r.runtime = runtime;
        r.kernel = kernel.into();
        out.push(r);
    }
    let mut win = base.clone();
    win.os = Os::Windows;
    win.runtime = Runtime::Wine;
    out.push(win);
    let mut mac = base;
    mac.os = Os::Macos;
    mac.os_version = "macOS 15.1".into();
    out.push(mac);
    out
}

fn merged(stem: &str, text: &str) {
    let catalog = Catalog::get();
    let entry = |expect, reason: &str| PlatformEntry {
        expect: Some(expect),
        reason: reason.into(),
        source: "measured, not yet documented: run fuzz".into(),
    };
    let mut d = Draft {
        stem: stem.into(),
        entries: Default::default(),
        details: Default::default(),
        not_drafted: vec!["fifo.available: observed error".into()],
        runs: vec!["linux-x86_64-gnu run fuzz".into()],
    };
    for (claim, expect) in [
        ("unix_stream.available", Outcome::Unsupported),
        ("pipe.unidirectional", Outcome::No),
        ("fifo.rdwr_self_read", Outcome::Yes),
    ] {
        d.entries
            .insert(claim.into(), entry(expect, "observed \"x\"\n[claims.y]"));
        d.details.insert(
            claim.into(),
            Detail {
                expected: vec!["yes (guide)".into()],
                runs: d.runs.clone(),
                evidence: "e".into(),
                kept: false,
            },
        );
    }
    let Ok(m) = merge::merge(Some(text), &d, catalog) else {
        return;
    };
    let exp = Expectations::parse(&[(stem, m.text.as_str())], catalog)
        .unwrap_or_else(|e| panic!("a merged platform file does not load: {e}"));
    for claim in d.entries.keys() {
        let (_, _, e) = exp
            .all()
            .find(|(_, id, _)| id == claim)
            .expect("a drafted entry is kept");
        assert_eq!(e.expect, d.entries[claim].expect);
    }
}
