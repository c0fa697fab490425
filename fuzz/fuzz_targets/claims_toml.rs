//! The claims catalog's readers, by the input's first byte: even, a claims
//! file (`suites/<suite>.toml`, `Catalog::parse`); odd, the guide's table
//! layout (`suites/catalog.toml`, `Guide::parse` against the built catalog).
#![no_main]

use ipc_conformance::catalog::{Catalog, Os};
use ipc_conformance::guide::Guide;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(bytes);
    if which % 2 == 0 {
        let Ok(catalog) = Catalog::parse(&text) else {
            return;
        };
        for claim in catalog.claims() {
            claim.property();
            for os in Os::ALL {
                claim.doc_on(os);
            }
            claim.requires.unmet();
            assert!(std::ptr::eq(catalog.claim(&claim.id).unwrap(), claim));
        }
        catalog.mechanisms();
        serde_json::to_string(catalog.claims()).expect("claims serialize");
    } else if let Ok(guide) = Guide::parse(&text, Catalog::get()) {
        for row in &guide.mechanism_catalog {
            for cell in row.cells() {
                cell.check();
            }
        }
    }
});
