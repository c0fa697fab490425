//! The report: merges runs and regenerates the guide's tables from what the
//! platforms did. One way through: the result sets become one [`Model`]
//! (runs, columns, versions folded once), the model becomes a [`Report`]
//! (its sections: tables, paragraphs, the performance figures), and the
//! renderers draw it: `report.json` ([`json`]), `PORTABILITY.md`
//! ([`markdown`]), a self-contained `index.html` ([`html`]) and the terminal
//! summary ([`summary`]). All three files are rendered in memory first, so a
//! bad input leaves an existing report untouched.
//!
//! Inside the folder imports point one way: `text` and `versions` at the
//! bottom, then `model`, `document`, the section builders (`tables`, `since`,
//! `perf`), the renderers (`markdown`, `chart` → `html`, `json`, `summary`),
//! and this module, which only puts them together.

pub mod chart;
pub mod document;
pub mod html;
pub mod json;
pub mod markdown;
pub mod model;
pub mod perf;
pub mod since;
pub mod summary;
pub mod tables;
pub mod text;
pub mod versions;

use std::path::Path;

pub use document::{Report, Section};
pub use model::Model;

use crate::catalog::Catalog;
use crate::results::ResultSet;

/// Builds the report from result sets: the model, then its sections in the
/// order they are shown.
pub fn build<'a>(sets: &'a [ResultSet], expected_platforms: &[String]) -> Report<'a> {
    let catalog = Catalog::get();
    let model = Model::build(sets, expected_platforms);
    let m = &model;
    let mut sections = vec![Section::Table(tables::portability(catalog, m))];
    for (col, run) in m.measured() {
        sections.push(Section::Table(tables::matrix(catalog, col, run)));
    }
    for (col, run) in m.measured() {
        sections.push(Section::Table(tables::mechanism_catalog(catalog, col, run)));
    }
    sections.push(Section::Table(tables::ledger(catalog, m)));
    sections.push(Section::Table(tables::facts(catalog, m)));
    sections.push(perf::section(m));
    sections.push(Section::Table(since::table(&m.versions.by_os)));
    sections.extend(since::sections(&m.versions.by_os));
    sections.push(Section::Table(tables::coverage(catalog, m)));
    sections.push(Section::Table(tables::runs(m)));
    sections.push(Section::Table(tables::expectations_table()));
    Report { model, sections }
}

/// Renders all three files of `report` in memory, then writes them (each
/// atomically) into `out`.
pub fn write(out: &Path, report: &Report) -> Result<Vec<String>, String> {
    let files = [
        ("report.json", json::render(report)?),
        ("PORTABILITY.md", markdown::render(report)),
        ("index.html", html::render(report)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::Expected;
    use crate::observe::Outcome;
    use crate::observe::Quantity;
    use crate::perf::Pair;
    use crate::platform::RunInfo;
    use crate::results::ResultRecord;

    fn rec(claim: &str, observed: Outcome, q: &[(&str, f64)], detail: &str) -> ResultRecord {
        ResultRecord {
            claim: crate::results::ClaimId::new(claim).unwrap(),
            observed,
            expected: Expected {
                value: None,
                origin: "guide".into(),
                reason: String::new(),
                source: String::new(),
            },
            doc: crate::catalog::Stance::Unstated,
            detail: detail.into(),
            measured: q
                .iter()
                .map(|(n, v)| Quantity {
                    name: (*n).into(),
                    value: *v,
                    unit: String::new(),
                })
                .collect(),
            duration_ms: 1.0,
            status: crate::results::Status::Pass,
            time: "2026-01-01T00:00:00Z".into(),
        }
    }

    /// One Linux run (no version: its kernel names none) with perf records.
    fn sample() -> Vec<ResultSet> {
        let mut run = RunInfo::current("r1".into());
        run.os = crate::catalog::Os::Linux;
        run.platform = "linux-x86_64-gnu".into();
        run.runtime = crate::platform::Runtime::Native;
        run.kernel = "Linux".into();
        vec![ResultSet {
            dir: "r1".into(),
            run,
            results: vec![
                rec(
                    "perf.latency_pipe",
                    Outcome::Measured,
                    &[
                        ("median_ns", 7800.0),
                        ("median_ns_low", 7600.0),
                        ("median_ns_high", 8100.0),
                        ("suite_over_c", 1.04),
                        ("suite_over_c_low", 0.98),
                        ("suite_over_c_high", 1.1),
                        ("over_floor", 65.0),
                        ("over_floor_low", 61.2),
                        ("over_floor_high", 70.0),
                        ("same_cpu_median_ns", 5200.0),
                        ("same_cpu_median_ns_low", 5100.0),
                        ("same_cpu_median_ns_high", 5400.0),
                        ("rounds", 6.0),
                        ("p99_ns", 12000.0),
                        ("release_build", 1.0),
                        ("cpus", 2.0),
                        ("pinned", 1.0),
                    ],
                    "pipe <figures>",
                ),
                rec(
                    "perf.cross_cpu_floor",
                    Outcome::Measured,
                    &[
                        ("median_ns", 120.0),
                        ("median_ns_low", 117.0),
                        ("median_ns_high", 124.0),
                        ("p99_ns", 160.0),
                        ("release_build", 1.0),
                    ],
                    "the floor <figures>",
                ),
                rec(
                    "perf.throughput_pipe",
                    Outcome::Measured,
                    &[
                        ("bytes_per_s", 2.4e9),
                        ("msg_bytes", 65536.0),
                        ("release_build", 1.0),
                    ],
                    "pipe bulk",
                ),
                rec(
                    "perf.latency_posix_mq",
                    Outcome::Unsupported,
                    &[],
                    "no API on x86_64-apple-darwin",
                ),
                rec(
                    "perf.mpmc_contention",
                    Outcome::Inconclusive,
                    &[("lead_change", 0.97)],
                    "the interval contains the threshold",
                ),
                rec(
                    "perf.shm_spin_sub_microsecond",
                    Outcome::Yes,
                    &[("median_ns", 180.0)],
                    "median 180 ns | p99 300 ns",
                ),
            ],
        }]
    }

    fn markdown_of(sets: &[ResultSet]) -> String {
        markdown::render(&build(sets, &[]))
    }

    fn html_of(sets: &[ResultSet]) -> String {
        html::render(&build(sets, &[]))
    }

    #[test]
    fn markdown_has_a_row_per_mechanism_and_the_verdicts() {
        // Brackets are escaped like every other table text, so they show literally.
        let md = markdown_of(&sample());
        assert!(md.contains("### linux-x86_64-gnu"));
        assert!(
            md.contains(
                "| pipe | 7.80 µs \\[7.60 µs–8.10 µs\\] | 12.00 µs | 65.00 \\[61.20–70.00\\] | 1.04 \\[0.98–1.10\\] | 5.20 µs \\[5.10 µs–5.40 µs\\] | 2.40 GB/s | 64 KiB |"
            ),
            "{md}"
        );
        // The floor heads the run's figures, before the note.
        let floor = md
            .find("**Floor: 120 ns \\[117 ns–124 ns\\]")
            .expect("the floor");
        assert!(floor < md.find("Release build.").expect("the note"), "{md}");
        assert!(md.contains("unsupported: no API on x86_64-apple-darwin"));
        // The guide's stance is the catalog's, as in every other table.
        assert!(
            md.contains(
                "| `perf.shm_spin_sub_microsecond` | yes | **yes** | median 180 ns \\| p99 300 ns |"
            ),
            "{md}"
        );
        assert!(md.contains("| `perf.spsc_lock_free_predictable` | | not measured | |"));
        assert!(md.contains("**inconclusive**"), "{md}");
        for m in Pair::all() {
            assert!(md.contains(&format!("| {} |", m.label())), "{}", m.label());
        }
        assert!(md.contains("Release build."));
    }

    #[test]
    fn html_is_self_contained_with_an_svg_chart() {
        let page = html_of(&sample());
        let at = page
            .find("<h2 id=\"performance\"")
            .expect("the performance section");
        let end = page[at + 1..]
            .find("<h2")
            .map_or(page.len(), |e| at + 1 + e);
        let h = &page[at..end];
        assert!(h.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(h.contains("</svg>"));
        assert!(!h.contains("<script"));
        assert!(!h.contains("href="));
        assert!(h.contains("median 180 ns | p99 300 ns"));
        assert_eq!(
            h.matches("<section").count(),
            h.matches("</section>").count()
        );
        // Bars exist for the measured mechanism.
        assert!(h.contains("<title>pipe: median 7.80 µs</title>"));
        assert!(h.contains("<title>pipe: 2.40 GB/s</title>"));
        // The interval is drawn.
        assert!(
            h.contains("<title>95% interval 7.60 µs to 8.10 µs</title>"),
            "{h}"
        );
        // An inconclusive verdict gets its own class (colour).
        assert!(
            h.contains("class=\"obs-inconclusive\"><strong>inconclusive</strong>"),
            "{h}"
        );
    }

    /// The policy comes before anything the page loads or styles, and forbids
    /// every script and every load; the page needs nothing it forbids.
    #[test]
    fn html_carries_its_content_security_policy() {
        let page = html_of(&sample());
        let meta = format!(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
            html::CSP
        );
        let at = page.find(&meta).expect("the policy");
        assert!(at < page.find("<style>").unwrap() && at < page.find("<title>").unwrap());
        assert!(html::CSP.starts_with("default-src 'none';"));
        assert!(!html::CSP.contains("script") && !html::CSP.contains("http"));
        for load in [
            "<script", "<img", "<link", "<iframe", "src=", "url(", "@import",
        ] {
            assert!(!page.contains(load), "the page loads {load}");
        }
    }

    #[test]
    fn no_perf_records_say_so() {
        let mut runs = sample();
        runs[0].results.retain(|r| !r.claim.starts_with("perf."));
        assert!(markdown_of(&runs).contains("No run recorded"));
        assert!(html_of(&runs).contains("No run recorded"));
    }
}
