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

    // The rest of the pure pipeline: validation, then relation emission for valid entities,
    // and the field-index rows of what would be stored. None of it may panic.
    for document in documents {
        let diagnostics = paved_model::validation::validate_entity(&document.value);
        for diagnostic in &diagnostics {
            if let Some(field) = &diagnostic.field {
                assert!(document.spans.position(field).is_some());
            }
        }
        if diagnostics.iter().any(|d| d.is_error()) {
            continue;
        }
        if let Some(entity) = paved_model::Entity::from_value(document.value) {
            let (relations, _) = paved_model::relations::emit_relations(&entity);
            let stitched = paved_model::entity::stitch(entity, "uid", 1, relations.into_iter().map(|r| paved_model::Relation { relation_type: r.relation_type, target_ref: r.target }).collect(), &[]);
            let _ = paved_model::search::search_rows(&stitched);
        }
    }
});
