//! The report: merges runs and regenerates the guide's tables from what the
//! platforms did. Writes `report.json`, `PORTABILITY.md` and a self-contained
//! `index.html`, all rendered in memory first, so a bad input leaves an existing
//! report untouched.

pub mod html;
pub mod load;
pub mod markdown;
pub mod model;

use std::path::Path;

use serde::Serialize;

use crate::catalog::{Catalog, Claim};
use crate::platform::RunInfo;
use crate::record::ResultRecord;
use load::ResultSet;
use model::{Column, Table};

/// report.json (DESIGN.md pins `runs[]` with `platform`, `run_info`, `results[]`).
#[derive(Serialize)]
pub struct ReportJson<'a> {
    pub schema: u32,
    pub generated: String,
    pub suite_revision: &'static str,
    pub runs: Vec<RunJson<'a>>,
    pub not_measured: Vec<String>,
    pub coverage: CoverageJson,
    pub claims: &'a [Claim],
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

/// Everything a report is made of, in the order it is shown.
pub struct Report {
    pub columns: Vec<Column>,
    pub sections: Vec<Table>,
    pub checked: usize,
    pub catalogued: usize,
}

/// Builds the report from result sets.
pub fn build(sets: &[ResultSet], expected_platforms: &[String]) -> Report {
    let catalog = Catalog::get();
    let columns = model::columns(sets, expected_platforms);
    let mut sections = vec![model::portability(catalog, &columns)];
    for col in columns.iter().filter(|c| c.run.is_some()) {
        sections.push(model::matrix(catalog, col));
    }
    for col in columns.iter().filter(|c| c.run.is_some()) {
        sections.push(model::mechanism_catalog(catalog, col));
    }
    sections.push(model::ledger(catalog, &columns));
    sections.push(model::facts(catalog, &columns));
    let (coverage, checked, catalogued) = model::coverage(catalog, &columns);
    sections.push(coverage);
    sections.push(model::runs(&columns));
    sections.push(model::expectations_table());
    Report {
        columns,
        sections,
        checked,
        catalogued,
    }
}

impl Report {
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
            generated: crate::record::now_rfc3339(),
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
        };
        serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())
    }
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
        crate::record::write_atomic(&path, text.as_bytes())
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
