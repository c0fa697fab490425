//! The layout of the guide's three tables (portability table, characteristics
//! matrix, mechanism catalog): which row or column stands for which claim, in
//! the guide's own words and order. The data lives at the end of
//! `suites/catalog.toml`, embedded at build time; every claim it names must
//! exist in the catalog.

use std::sync::OnceLock;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::catalog::Catalog;

const FILE: &str = "suites/catalog.toml";

/// One row of the portability table: the guide's label and the availability
/// claim behind it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortabilityRow {
    pub row: String,
    pub claim: String,
}

/// An id with the guide's words for it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Labelled {
    pub id: String,
    pub label: String,
}

/// The characteristics matrix: the cell of mechanism `M` and property `P` is
/// the claim `M.P`, or one of `not_applicable` (the guide prints N/A).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matrix {
    pub mechanisms: Vec<Labelled>,
    pub properties: Vec<Labelled>,
    #[serde(default)]
    pub not_applicable: Vec<String>,
}

/// One cell of the mechanism catalog: the guide's words, and, when checked,
/// the claim and the word to show when it is observed yes or no.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogCell {
    pub guide: String,
    claim: Option<String>,
    yes: Option<String>,
    no: Option<String>,
}

/// What a checked cell of the mechanism catalog tests.
#[derive(Debug, Clone, Copy)]
pub struct CellCheck<'a> {
    pub claim: &'a str,
    /// The word shown when the claim is observed yes.
    pub yes: &'a str,
    /// The word shown when it is observed no.
    pub no: &'a str,
}

impl CatalogCell {
    /// The claim behind the cell, or `None` for a cell the report does not check.
    pub fn check(&self) -> Option<CellCheck<'_>> {
        Some(CellCheck {
            claim: self.claim.as_deref()?,
            yes: self.yes.as_deref()?,
            no: self.no.as_deref()?,
        })
    }
}

/// One row of the mechanism catalog.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogRow {
    pub row: String,
    #[serde(rename = "type")]
    pub kind: CatalogCell,
    pub naming: CatalogCell,
    pub directionality: CatalogCell,
}

impl CatalogRow {
    /// The cells in the table's column order: type, naming, directionality.
    pub fn cells(&self) -> [&CatalogCell; 3] {
        [&self.kind, &self.naming, &self.directionality]
    }
}

/// The guide's tables, as laid out in `suites/catalog.toml`.
#[derive(Debug, Clone)]
pub struct Guide {
    pub portability: Vec<PortabilityRow>,
    pub matrix: Matrix,
    pub mechanism_catalog: Vec<CatalogRow>,
}

impl Guide {
    /// The layout this binary was built with, checked against its catalog.
    pub fn get() -> &'static Guide {
        static GUIDE: OnceLock<Guide> = OnceLock::new();
        GUIDE.get_or_init(|| {
            Guide::parse(include_str!("../suites/catalog.toml"), Catalog::get())
                .unwrap_or_else(|e| panic!("{e}"))
        })
    }

    /// Parses the tables of `text` (the other keys of the file are not read)
    /// and checks every claim they name against `catalog`. An error names the
    /// file, the table and the row.
    pub fn parse(text: &str, catalog: &Catalog) -> Result<Guide, String> {
        let doc: toml::Table = toml::from_str(text).map_err(|e| format!("{FILE}: {e}"))?;
        let portability: Vec<PortabilityRow> = rows(&doc, "portability")?;
        let mechanism_catalog: Vec<CatalogRow> = rows(&doc, "mechanism_catalog")?;
        let matrix: Matrix = doc
            .get("matrix")
            .ok_or_else(|| format!("{FILE}: no [matrix] table"))?
            .clone()
            .try_into()
            .map_err(|e| format!("{FILE}: [matrix]: {e}"))?;
        let known = |table: &str, row: &str, id: &str| {
            if catalog.claim(id).is_some() {
                Ok(())
            } else {
                Err(format!(
                    "{FILE}: [[{table}]] row {row:?}: claim {id:?} is not in the catalog"
                ))
            }
        };
        for r in &portability {
            known("portability", &r.row, &r.claim)?;
        }
        for r in &mechanism_catalog {
            for cell in r.cells() {
                match (&cell.claim, &cell.yes, &cell.no) {
                    (Some(id), Some(_), Some(_)) => known("mechanism_catalog", &r.row, id)?,
                    (None, None, None) => {}
                    _ => {
                        return Err(format!(
                            "{FILE}: [[mechanism_catalog]] row {:?}: cell {:?} needs all of `claim`, `yes` and `no`, or none",
                            r.row, cell.guide
                        ));
                    }
                }
            }
        }
        check_matrix(&matrix, catalog)?;
        Ok(Guide {
            portability,
            matrix,
            mechanism_catalog,
        })
    }
}

/// The rows of the array of tables `[[name]]`, each parsed on its own so that
/// an error names its row (by its `row` label where it has one, else its number).
fn rows<T: DeserializeOwned>(doc: &toml::Table, name: &str) -> Result<Vec<T>, String> {
    let Some(value) = doc.get(name) else {
        return Err(format!("{FILE}: no [[{name}]] table"));
    };
    let items = value
        .as_array()
        .ok_or_else(|| format!("{FILE}: `{name}` is not an array of tables ([[{name}]])"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            item.clone().try_into().map_err(|e| {
                let which = match item.get("row").and_then(toml::Value::as_str) {
                    Some(label) => format!("{label:?}"),
                    None => format!("{}", i + 1),
                };
                format!("{FILE}: [[{name}]] row {which}: {e}")
            })
        })
        .collect()
}

/// Every matrix cell is a claim of the catalog or declared not applicable,
/// never both, and every declared one is a cell of the matrix.
fn check_matrix(m: &Matrix, catalog: &Catalog) -> Result<(), String> {
    let cells: Vec<String> = m
        .properties
        .iter()
        .flat_map(|p| {
            m.mechanisms
                .iter()
                .map(move |c| format!("{}.{}", c.id, p.id))
        })
        .collect();
    for id in &cells {
        let na = m.not_applicable.contains(id);
        match (catalog.claim(id).is_some(), na) {
            (true, true) => {
                return Err(format!(
                    "{FILE}: [matrix] cell {id:?} is a claim of the catalog and also listed in not_applicable"
                ));
            }
            (false, false) => {
                return Err(format!(
                    "{FILE}: [matrix] cell {id:?} is not in the catalog (list it in not_applicable if the guide prints N/A)"
                ));
            }
            _ => {}
        }
    }
    match m.not_applicable.iter().find(|id| !cells.contains(id)) {
        Some(id) => Err(format!(
            "{FILE}: [matrix] not_applicable names {id:?}, which is not a cell of the matrix"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLES: &str = include_str!("../suites/catalog.toml");

    #[test]
    fn every_claim_named_by_the_tables_is_in_the_catalog() {
        let catalog = Catalog::get();
        let guide = Guide::parse(TABLES, catalog).unwrap();
        assert_eq!(guide.portability.len(), 13);
        assert_eq!(guide.mechanism_catalog.len(), 12);
        assert_eq!(guide.matrix.mechanisms.len(), 9);
        assert_eq!(guide.matrix.properties.len(), 10);
        let named = guide.portability.iter().map(|r| r.claim.as_str()).chain(
            guide
                .mechanism_catalog
                .iter()
                .flat_map(|r| r.cells())
                .filter_map(|c| c.check().map(|c| c.claim)),
        );
        for id in named {
            assert!(catalog.claim(id).is_some(), "{id}");
        }
    }

    fn with(tail: &str) -> String {
        format!("{TABLES}\n{tail}")
    }

    fn error_of(text: &str) -> String {
        Guide::parse(text, Catalog::get()).unwrap_err()
    }

    #[test]
    fn an_unknown_claim_is_named_with_its_table_and_row() {
        let e = error_of(&with(
            "[[portability]]\nrow = \"Doors\"\nclaim = \"doors.available\"\n",
        ));
        assert!(e.contains("[[portability]] row \"Doors\""), "{e}");
        assert!(e.contains("doors.available"), "{e}");
        let e = error_of(&with(
            "[[mechanism_catalog]]\nrow = \"Doors\"\ntype = { guide = \"Messages\", claim = \"doors.messages\", yes = \"a\", no = \"b\" }\nnaming = { guide = \"x\" }\ndirectionality = { guide = \"y\" }\n",
        ));
        assert!(e.contains("[[mechanism_catalog]] row \"Doors\""), "{e}");
        assert!(e.contains("doors.messages"), "{e}");
    }

    #[test]
    fn a_malformed_row_is_named() {
        let e = error_of(&with("[[portability]]\nrow = \"Doors\"\n"));
        assert!(e.contains("[[portability]] row \"Doors\""), "{e}");
        assert!(e.contains("claim"), "{e}");
        let e = error_of(&with(
            "[[portability]]\nlabel = \"Doors\"\nclaim = \"pipe.available\"\n",
        ));
        assert!(e.contains("[[portability]] row 14"), "{e}");
        let e = error_of(&with(
            "[[mechanism_catalog]]\nrow = \"Doors\"\ntype = { guide = \"x\", claim = \"pipe.available\" }\nnaming = { guide = \"x\" }\ndirectionality = { guide = \"y\" }\n",
        ));
        assert!(e.contains("[[mechanism_catalog]] row \"Doors\""), "{e}");
        assert!(e.contains("needs all of"), "{e}");
        let e = error_of("order = []\nportability = 3\n");
        assert!(e.contains("`portability` is not an array"), "{e}");
        let e = error_of("order = [\n");
        assert!(e.starts_with(FILE), "{e}");
    }

    #[test]
    fn every_matrix_cell_is_a_claim_or_not_applicable() {
        let broken = TABLES.replace("    \"signal.zero_copy\",\n", "");
        assert_ne!(broken, TABLES);
        let e = error_of(&broken);
        assert!(e.contains("[matrix] cell \"signal.zero_copy\""), "{e}");
        let broken = TABLES.replace(
            "not_applicable = [\n",
            "not_applicable = [\n    \"pipe.bidirectional\",\n",
        );
        let e = error_of(&broken);
        assert!(e.contains("\"pipe.bidirectional\" is a claim"), "{e}");
        let broken = TABLES.replace(
            "not_applicable = [\n",
            "not_applicable = [\n    \"doors.priority\",\n",
        );
        let e = error_of(&broken);
        assert!(e.contains("not a cell of the matrix"), "{e}");
    }
}
