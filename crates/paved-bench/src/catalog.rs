//! The generated catalog: running `gen-catalog` once per size and reading its expectations.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// What `gen-catalog` promises about the catalog it wrote (`expectations.json`).
#[derive(Debug, Deserialize)]
pub struct Expectations {
    pub n: u64,
    /// Kind as written in the YAML (`Component`, `API`, …) → number of entities.
    pub counts: BTreeMap<String, u64>,
    pub relations_total: u64,
    pub files: Vec<String>,
    /// Component names for the by-name scenario.
    pub components: Vec<String>,
    /// Group names that own components, for the by-query scenario.
    pub owners: Vec<String>,
    /// Full lower-cased entity ref → `[relation type, target ref]` pairs that must be present.
    pub checks: BTreeMap<String, Vec<(String, String)>>,
}

pub struct Catalog {
    pub dir: PathBuf,
    pub location_file: PathBuf,
    pub expectations: Expectations,
    /// `None` when a cached catalog was reused.
    pub generated_seconds: Option<f64>,
}

/// Where `gen-catalog` is looked for when `--gen-catalog` is not given: the shared tools folder
/// that sits beside the repository checkout, here and in CI.
pub fn default_generator() -> Option<PathBuf> {
    let from_manifest =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tools/gen-catalog");
    let candidates = [
        std::env::var_os("PAVED_GEN_CATALOG").map(PathBuf::from),
        Some(from_manifest),
        Some(PathBuf::from("../shared/tools/gen-catalog")),
        Some(PathBuf::from("/work/shared/tools/gen-catalog")),
    ];
    candidates.into_iter().flatten().find(|path| path.is_file())
}

/// Returns the catalog of `n` entities under `out_dir/catalog-<n>`, generating it unless a
/// complete one (expectations written last, with the same `n`) is already there.
pub fn ensure_catalog(generator: &Path, out_dir: &Path, n: u64) -> Result<Catalog> {
    let dir = out_dir.join(format!("catalog-{n}"));
    let dir = std::path::absolute(&dir).with_context(|| format!("resolving {}", dir.display()))?;
    let expectations_file = dir.join("expectations.json");
    let cached = read_expectations(&expectations_file)
        .ok()
        .filter(|e| e.n == n && e.files.iter().all(|f| dir.join(f).is_file()));
    let (expectations, generated_seconds) = match cached {
        Some(expectations) => (expectations, None),
        None => {
            if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("removing the incomplete {}", dir.display()))?;
            }
            eprintln!("generating a catalog of {n} entities in {}", dir.display());
            let started = Instant::now();
            let status = Command::new("python3")
                .arg(generator)
                .arg(n.to_string())
                .arg(&dir)
                .stdout(std::process::Stdio::null())
                .status()
                .with_context(|| format!("running python3 {}", generator.display()))?;
            if !status.success() {
                bail!(
                    "{} {n} {} failed: {status}",
                    generator.display(),
                    dir.display()
                );
            }
            let seconds = started.elapsed().as_secs_f64();
            (read_expectations(&expectations_file)?, Some(seconds))
        }
    };
    if expectations.components.is_empty() || expectations.owners.is_empty() {
        bail!(
            "{} lists no sample components or owners",
            expectations_file.display()
        );
    }
    Ok(Catalog {
        location_file: dir.join("locations.yaml"),
        dir,
        expectations,
        generated_seconds,
    })
}

pub fn read_expectations(path: &Path) -> Result<Expectations> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}
