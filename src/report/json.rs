//! report.json: the model as JSON (`runs[]` with `platform`, `run_info` and
//! `results[]` are pinned: other tools read them; README.md, "Reading the
//! report"), and reading one back into result sets.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::document::Report;
use super::versions::OsVersions;
use crate::catalog::{Catalog, Claim};
use crate::platform::RunInfo;
use crate::results::{ResultRecord, ResultSet, read};

#[derive(Serialize)]
struct ReportJson<'a> {
    schema: u32,
    generated: String,
    suite_revision: &'static str,
    runs: Vec<RunJson<'a>>,
    not_measured: Vec<&'a str>,
    coverage: CoverageJson,
    claims: &'a [Claim],
    /// Versions as a dimension (see [`super::versions`]): per OS, its versions
    /// with their runs, the columns they fold into, and every claim whose
    /// observation differs between versions, since when, with the evidence.
    versions: &'a [OsVersions],
}

#[derive(Serialize)]
struct RunJson<'a> {
    platform: &'a str,
    column: &'a str,
    run_info: &'a RunInfo,
    results: &'a [ResultRecord],
}

#[derive(Serialize)]
struct CoverageJson {
    catalogued: usize,
    checked: usize,
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

/// report.json of `r`: every run as given, with its info and its results.
pub fn render(r: &Report) -> Result<String, String> {
    let m = &r.model;
    let doc = ReportJson {
        schema: 1,
        generated: generated(),
        suite_revision: crate::platform::SUITE_REVISION,
        runs: m
            .runs
            .iter()
            .map(|run| RunJson {
                platform: &run.info().platform,
                column: &run.column,
                run_info: run.info(),
                results: run.results(),
            })
            .collect(),
        not_measured: m.not_measured().collect(),
        coverage: CoverageJson {
            catalogued: m.catalogued,
            checked: m.checked,
        },
        claims: Catalog::get().claims(),
        versions: &m.versions.by_os,
    };
    serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())
}

/// Largest report.json read back (a report of many runs is a few MiB).
pub const MAX_REPORT: u64 = 64 << 20;

/// What is read back of report.json: its runs, each read as strictly as a
/// result set's files, and the platforms it names not measured.
#[derive(Deserialize)]
struct ReportFile {
    runs: Vec<RunFile>,
    #[serde(default)]
    not_measured: Vec<String>,
}

#[derive(Deserialize)]
struct RunFile {
    #[serde(deserialize_with = "read::run_info")]
    run_info: RunInfo,
    results: Vec<ResultRecord>,
}

/// The runs of a report.json as result sets (each named after the file), and
/// the platforms it shows not measured. Every run's info and every result is
/// held to the rules of a result set's files ([`crate::results::read`]).
pub fn read(path: &Path) -> Result<(Vec<ResultSet>, Vec<String>), String> {
    let bytes = read::read_bounded(path, MAX_REPORT)?;
    let file: ReportFile =
        serde_json::from_slice(&bytes).map_err(|e| read::refusal(path, "malformed report", &e))?;
    let catalog = Catalog::get();
    let mut sets = Vec::new();
    for run in file.runs {
        for rec in &run.results {
            read::check_record(path, rec, catalog)?;
        }
        sets.push(ResultSet {
            dir: path.to_path_buf(),
            run: run.run_info,
            results: run.results,
        });
    }
    read::refuse_duplicates(&sets)?;
    Ok((sets, file.not_measured))
}
