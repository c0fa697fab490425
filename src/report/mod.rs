//! The report: merges runs and regenerates the guide's tables from what the
//! platforms did. Writes `report.json`, `PORTABILITY.md` and a self-contained
//! `index.html`, all rendered in memory first, so a bad input leaves an existing
//! report untouched.

pub mod html;
pub mod markdown;
pub mod model;
pub mod perf;
pub mod summary;
pub mod versions;

use std::path::Path;

use serde::Serialize;

use crate::catalog::{Catalog, Claim};
use crate::platform::RunInfo;
use crate::results::{ResultRecord, ResultSet};
use model::{Column, Table};

/// report.json: `runs[]` with `platform`, `run_info` and `results[]` are pinned
/// (other tools read them; README.md, "Reading the report").
#[derive(Serialize)]
pub struct ReportJson<'a> {
    pub schema: u32,
    pub generated: String,
    pub suite_revision: &'static str,
    pub runs: Vec<RunJson<'a>>,
    pub not_measured: Vec<String>,
    pub coverage: CoverageJson,
    pub claims: &'a [Claim],
    /// Versions as a dimension (see [`versions`]): per OS, its versions with
    /// their runs, the columns they collapse into, and every claim whose
    /// observation differs between versions, since when, with the evidence.
    pub versions: &'a [versions::OsVersions],
}

#[derive(Serialize)]
pub struct RunJson<'a> {
    pub platform: &'a str,
    pub column: String,
    pub run_info: &'a RunInfo,
    pub results: &'a [ResultRecord],
}

#[derive(Serialize)]
pub struct CoverageJson {
    pub catalogued: usize,
    pub checked: usize,
}

/// One part of the report: a table, or a fragment rendered by its own module
/// (the performance figures and their chart).
pub enum Section {
    Table(Table),
    Fragment {
        title: String,
        intro: String,
        markdown: String,
        html: String,
    },
}

impl Section {
    pub fn title(&self) -> &str {
        match self {
            Section::Table(t) => &t.title,
            Section::Fragment { title, .. } => title,
        }
    }
}

/// Everything a report is made of, in the order it is shown.
pub struct Report {
    pub columns: Vec<Column>,
    pub versions: Vec<versions::OsVersions>,
    pub sections: Vec<Section>,
    pub checked: usize,
    pub catalogued: usize,
}

/// Builds the report from result sets.
pub fn build(sets: &[ResultSet], expected_platforms: &[String]) -> Report {
    let catalog = Catalog::get();
    let columns = model::columns(sets, expected_platforms);
    let mut sections = vec![Section::Table(model::portability(catalog, &columns))];
    for col in columns.iter().filter(|c| c.run.is_some()) {
        sections.push(Section::Table(model::matrix(catalog, col)));
    }
    for col in columns.iter().filter(|c| c.run.is_some()) {
        sections.push(Section::Table(model::mechanism_catalog(catalog, col)));
    }
    sections.push(Section::Table(model::ledger(catalog, &columns)));
    sections.push(Section::Table(model::facts(catalog, &columns)));
    let perf_runs: Vec<(String, Vec<ResultRecord>)> = columns
        .iter()
        .filter(|c| c.run.is_some())
        .map(|c| (c.label.clone(), c.results.clone()))
        .collect();
    sections.push(Section::Fragment {
        title: "Performance".into(),
        intro: "Round-trip latency and bulk throughput of each mechanism between two processes, and the guide's performance claims judged from them. Figures belong to the machine that ran them (see Runs); a debug-build run records tiny smoke counts, a release run (cargo ipc-report) the real ones.".into(),
        markdown: perf::markdown(&perf_runs),
        html: perf::html(&perf_runs),
    });
    let versions = versions::analyze(sets);
    sections.push(Section::Table(versions::table(&versions)));
    sections.extend(versions::sections(&versions));
    let (coverage, checked, catalogued) = model::coverage(catalog, &columns);
    sections.push(Section::Table(coverage));
    sections.push(Section::Table(model::runs(&columns)));
    sections.push(Section::Table(model::expectations_table()));
    Report {
        columns,
        versions,
        sections,
        checked,
        catalogued,
    }
}

impl Report {
    /// Labels of the columns with a run (`measured`) or without one, comma
    /// separated, "none" when empty.
    pub fn column_labels(&self, measured: bool) -> String {
        let labels: Vec<&str> = self
            .columns
            .iter()
            .filter(|c| c.run.is_some() == measured)
            .map(|c| c.label.as_str())
            .collect();
        if labels.is_empty() {
            "none".to_owned()
        } else {
            labels.join(", ")
        }
    }

    /// "Runs: …. Not measured: …. Coverage: N of M catalogued claims checked.",
    /// each list of column labels (measured or not) put in the format's markup
    /// by `labels`.
    pub fn overview(&self, labels: impl Fn(bool, &str) -> String) -> String {
        format!(
            "Runs: {}. Not measured: {}. Coverage: {} of {} catalogued claims checked.",
            labels(true, &self.column_labels(true)),
            labels(false, &self.column_labels(false)),
            self.checked,
            self.catalogued
        )
    }

    pub fn json(&self, sets: &[ResultSet]) -> Result<String, String> {
        let runs = sets
            .iter()
            .map(|s| RunJson {
                platform: &s.run.platform,
                column: s.run.column(),
                run_info: &s.run,
                results: &s.results,
            })
            .collect();
        let doc = ReportJson {
            schema: 1,
            generated: generated(),
            suite_revision: crate::platform::SUITE_REVISION,
            runs,
            not_measured: self
                .columns
                .iter()
                .filter(|c| c.run.is_none())
                .map(|c| c.label.clone())
                .collect(),
            coverage: CoverageJson {
                catalogued: self.catalogued,
                checked: self.checked,
            },
            claims: Catalog::get().claims(),
            versions: &self.versions,
        };
        serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())
    }
}

/// When the report is generated: now, or `$SOURCE_DATE_EPOCH` (seconds since
/// the Unix epoch, the reproducible-builds convention) when set, so that the
/// same input renders byte for byte the same report.
pub fn generated() -> String {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map_or_else(crate::platform::now_rfc3339, crate::platform::rfc3339)
}

/// Renders all three files in memory, then writes them (each atomically).
pub fn write(
    out: &Path,
    sets: &[ResultSet],
    expected_platforms: &[String],
) -> Result<Vec<String>, String> {
    let report = build(sets, expected_platforms);
    let files = [
        ("report.json", report.json(sets)?),
        ("PORTABILITY.md", markdown::render(&report)),
        ("index.html", html::render(&report)),
    ];
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut written = Vec::new();
    for (name, text) in files {
        let path = out.join(name);
        crate::results::write_atomic(&path, text.as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        // A report is for reading and publishing: world-readable, unlike results.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        written.push(path.display().to_string());
    }
    Ok(written)
}
