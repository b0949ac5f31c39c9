//! Fixtures shared by the server's integration tests: a catalog on a real SQLite file, seeded
//! from YAML text in a temporary folder.
// Each test file compiles this module on its own and uses a part of it.
#![allow(dead_code)]

use paved_catalog::{CatalogService, CatalogSettings};
use std::path::PathBuf;
use std::sync::Arc;

/// A catalog service whose one location is `catalog-info.yaml` in `root`, already read.
pub struct SeededCatalog {
    pub catalog: Arc<CatalogService>,
    /// The temporary folder (canonical): the catalog file, `paved.db` and `data/`.
    pub root: PathBuf,
    /// Removes the folder when dropped.
    pub dir: tempfile::TempDir,
}

/// Writes `yaml` to `catalog-info.yaml` in a new temporary folder, opens a SQLite store there
/// and registers the file as a location (the folder is the allowed root).
pub async fn seeded_catalog(yaml: &str) -> SeededCatalog {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().canonicalize().expect("canonical");
    let file = root.join("catalog-info.yaml");
    std::fs::write(&file, yaml).expect("write catalog");
    let store = paved_store::connect(&format!("sqlite://{}", root.join("paved.db").display()))
        .await
        .expect("store");
    let mut settings = CatalogSettings::new(root.join("data"));
    settings.allowed_roots = vec![root.clone()];
    let catalog = Arc::new(CatalogService::new(store, settings));
    catalog
        .add_location("file", &file.display().to_string(), false)
        .await
        .expect("seed");
    SeededCatalog { catalog, root, dir }
}
