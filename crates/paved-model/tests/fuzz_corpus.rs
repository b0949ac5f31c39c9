//! Runs every input of the fuzz corpus through the YAML reader in a plain `cargo test`, so CI
//! checks the corpus (seeds and any input that once crashed) without a fuzzer.

use paved_model::yaml::{YamlLimits, parse_documents, parse_single};
use std::path::{Path, PathBuf};

fn corpus_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/parse_catalog_file");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Seeds written to fail: each must yield at least one error, and no others may.
const SEEDS_WITH_ERRORS: &[&str] = &[
    "alias-bomb.yaml",
    "broken-flow.yaml",
    "broken-indentation.yaml",
    "complex-keys.yaml",
    "duplicate-keys.yaml",
    "too-deep.yaml",
];

/// Seeds that must read cleanly, with how many documents each holds.
const VALID_SEEDS: &[(&str, usize)] = &[
    ("anchors.yaml", 1),
    ("api-with-definition.yaml", 2),
    ("component.yaml", 1),
    ("crlf-no-final-newline.yaml", 1),
    ("deep-flow.yaml", 1),
    ("directives-and-tags.yaml", 1),
    ("multi-document.yaml", 2),
    ("scalars.yaml", 1),
];

#[test]
fn every_corpus_input_is_read_without_panicking() {
    let files = corpus_files();
    assert!(
        files.len() >= VALID_SEEDS.len() + SEEDS_WITH_ERRORS.len(),
        "{files:?}"
    );
    let limits = YamlLimits::default();
    for path in &files {
        let bytes =
            std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        let (documents, diagnostics) = parse_documents(&bytes, name, &limits);
        for diagnostic in &diagnostics {
            assert_eq!(diagnostic.file.as_deref(), Some(name));
        }
        for document in &documents {
            assert_eq!(
                document.spans.position(""),
                Some((document.line, document.column))
            );
        }
        let _ = parse_single(&bytes, name, &limits);

        if SEEDS_WITH_ERRORS.contains(&name) {
            assert!(
                diagnostics.iter().any(|d| d.is_error()),
                "{name} should fail to read"
            );
        }
        if let Some((_, count)) = VALID_SEEDS.iter().find(|(seed, _)| *seed == name) {
            let messages: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
            assert_eq!(messages, Vec::<String>::new(), "{name}");
            assert_eq!(documents.len(), *count, "{name}");
        }
    }
}
