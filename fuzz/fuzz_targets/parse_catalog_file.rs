//! Feeds arbitrary bytes to the catalog-file reader: it must never panic, overflow the stack or
//! run away with time or memory, whatever the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paved_model::yaml::{YamlLimits, parse_documents, parse_single};

fuzz_target!(|data: &[u8]| {
    // Small budgets keep each run fast, so the fuzzer explores more inputs per second; the
    // code paths are the same as with the defaults.
    let limits = YamlLimits {
        max_bytes: 64 * 1024,
        max_depth: 64,
        max_nodes: 20_000,
        max_documents: 1_000,
    };
    let (documents, diagnostics) = parse_documents(data, "fuzz.yaml", &limits);

    // Invariants that hold for every input.
    for diagnostic in &diagnostics {
        assert_eq!(diagnostic.file.as_deref(), Some("fuzz.yaml"));
        assert!(diagnostic.line.is_none_or(|line| line >= 1));
        assert!(diagnostic.column.is_none_or(|column| column >= 1));
    }
    for document in &documents {
        assert!(!document.value.is_null(), "empty documents are skipped");
        assert!(document.line >= 1 && document.column >= 1);
        assert_eq!(document.spans.position(""), Some((document.line, document.column)));
        // Any path, however odd, resolves to some position inside the document.
        for path in ["metadata.name", "spec.dependsOn[1]", "a.b[0].c", "[", "]", ".", "x[99999999999999999999]"] {
            assert!(document.spans.position(path).is_some());
        }
    }
    let _ = parse_single(data, "fuzz.json", &limits);

    // VALIDATION HOOK: once `paved_model::validation` exists, run each parsed document through
    // it here so the fuzzer also covers entity validation, e.g.
    //     for document in &documents { let _ = paved_model::validation::validate(...); }
    // Until then this target only calls `paved_model::yaml`.
});
