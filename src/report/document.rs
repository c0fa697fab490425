//! The report as a document, independent of its format: the model it was
//! built from and its sections, each a table, a paragraph, or the performance
//! figures (tables and a chart's data). The renderers (Markdown, HTML) draw
//! these elements; none of them computes anything about the runs.

use super::model::{Model, Standing};

/// One table cell: text for Markdown, a class for colour, evidence for a tooltip.
#[derive(Debug, Clone)]
pub struct Cell {
    pub text: String,
    pub standing: Option<Standing>,
    pub title: String,
}

impl Cell {
    pub fn plain(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            standing: None,
            title: String::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Table {
    pub title: String,
    pub intro: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// A run of text and how it is set: plain, strong, or code (a command).
#[derive(Debug, Clone, PartialEq)]
pub enum Span {
    Plain(String),
    Strong(String),
    Code(String),
}

/// One performance figure in a table: its text, and the evidence behind it.
#[derive(Debug, Clone)]
pub struct Figure {
    pub text: String,
    pub title: String,
}

/// One mechanism's row of a run's figures: its round trip (median with its
/// interval, p99, the multiple of the floor, the suite/C ratio, and for a
/// blocking mechanism the round trip with both processes on one CPU) and its
/// throughput (rate, message size).
#[derive(Debug, Clone)]
pub struct FigureRow {
    pub mechanism: String,
    pub latency: Figure,
    pub p99: String,
    pub over_floor: String,
    pub suite_over_c: String,
    pub same_cpu: String,
    pub throughput: Figure,
    pub message_size: String,
    /// Its bars in the chart (drawn in HTML only).
    pub bars: Bars,
}

impl FigureRow {
    /// The columns of a run's figures table, in order.
    pub const HEADINGS: [&'static str; 8] = [
        "Mechanism",
        "Round trip (median [95% interval])",
        "p99",
        "x floor",
        "suite/C",
        "Same CPU",
        "Throughput [95% interval]",
        "Message size",
    ];

    /// Its cells, one per heading: the text, and the evidence behind it where
    /// there is some (the latency and throughput figures).
    pub fn cells(&self) -> [(&str, Option<&str>); 8] {
        [
            (&self.mechanism, None),
            (&self.latency.text, Some(&self.latency.title)),
            (&self.p99, None),
            (&self.over_floor, None),
            (&self.suite_over_c, None),
            (&self.same_cpu, None),
            (&self.throughput.text, Some(&self.throughput.title)),
            (&self.message_size, None),
        ]
    }
}

/// One of the guide's performance claims on a run: `observed` is `None` when
/// the run has no result for it.
#[derive(Debug, Clone)]
pub struct VerdictRow {
    pub claim: String,
    pub guide: String,
    pub observed: Option<String>,
    pub evidence: String,
}

/// A median and its interval, each where recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Median(pub Option<f64>, pub Option<(f64, f64)>);

/// One mechanism's bars in the chart: its round trip (ns) and p99, and its
/// throughput (bytes/s).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Bars {
    pub latency: Median,
    pub p99: Option<f64>,
    pub throughput: Median,
}

/// The performance figures of one run.
#[derive(Debug, Clone)]
pub struct PerfRun {
    pub label: String,
    /// How the run measured (build, CPUs, pinning, load, rounds).
    pub note: Vec<Span>,
    pub figures: Vec<FigureRow>,
    pub verdicts: Vec<VerdictRow>,
    /// The run's floor (shown first), which every round trip is a multiple of.
    pub floor: Figure,
}

/// One part of the report, in the order it is shown.
#[derive(Debug, Clone)]
pub enum Section {
    Table(Table),
    /// A section that is one paragraph.
    Text {
        title: String,
        intro: String,
    },
    /// Per run that recorded figures, its figures, verdicts and chart; no run
    /// at all when none did.
    Performance {
        title: String,
        intro: String,
        runs: Vec<PerfRun>,
    },
}

impl Section {
    pub fn title(&self) -> &str {
        match self {
            Section::Table(t) => &t.title,
            Section::Text { title, .. } | Section::Performance { title, .. } => title,
        }
    }
}

/// What the performance section says when no run recorded a figure.
pub const NO_FIGURES: &str = "No run recorded performance figures.";

/// A renderer: how it draws each element of a section into its output.
pub struct Draw {
    pub table: fn(&mut String, &Table),
    /// A section's heading and its paragraph.
    pub heading: fn(&mut String, &str, &str),
    /// A paragraph of plain text.
    pub paragraph: fn(&mut String, &str),
    /// One run's performance figures.
    pub perf_run: fn(&mut String, &PerfRun),
}

/// What draws a table, a heading, a paragraph, a run's performance figures.
type Drawers = (
    fn(&mut String, &Table),
    fn(&mut String, &str, &str),
    fn(&mut String, &str),
    fn(&mut String, &PerfRun),
);

impl Draw {
    pub fn new((table, heading, paragraph, perf_run): Drawers) -> Draw {
        Draw {
            table,
            heading,
            paragraph,
            perf_run,
        }
    }
}

/// Everything a report is made of: the model, and the sections built from it.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    pub model: Model<'a>,
    pub sections: Vec<Section>,
}

impl Report<'_> {
    /// Draws every section, in order, into `out` (a section that is no table
    /// ends with an empty line).
    pub fn draw(&self, d: &Draw, out: &mut String) {
        for section in &self.sections {
            match section {
                Section::Table(t) => (d.table)(out, t),
                Section::Text { title, intro } => (d.heading)(out, title, intro),
                Section::Performance { title, intro, runs } => {
                    (d.heading)(out, title, intro);
                    if runs.is_empty() {
                        (d.paragraph)(out, NO_FIGURES);
                    }
                    for run in runs {
                        (d.perf_run)(out, run);
                    }
                }
            }
            if !matches!(section, Section::Table(_)) {
                out.push('\n');
            }
        }
    }

    /// "Runs: …. Not measured: …. Coverage: N of M catalogued claims checked.",
    /// each list of column labels (measured or not) put in the format's markup
    /// by `labels`.
    pub fn overview(&self, labels: impl Fn(bool, &str) -> String) -> String {
        format!(
            "Runs: {}. Not measured: {}. Coverage: {} of {} catalogued claims checked.",
            labels(true, &self.model.column_labels(true)),
            labels(false, &self.model.column_labels(false)),
            self.model.checked,
            self.model.catalogued
        )
    }
}
