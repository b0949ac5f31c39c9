//! Ingests a catalog from files into a fresh SQLite store in-process, as the refresh loop
//! does, and prints the time and peak memory: the ingest path without HTTP, for profiling.
//!
//! `cargo run --release -p paved-catalog --example ingest_files -- bench-out/catalog-100000/locations.yaml`

use paved_catalog::{CatalogService, CatalogSettings, LocationSpec};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

fn status(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .map(|l| l.trim_start_matches(field).trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let file = std::env::args()
        .nth(1)
        .ok_or("usage: ingest_files LOCATION.yaml")?;
    let file = std::path::absolute(PathBuf::from(file))?;
    let dir = tempfile::tempdir()?;
    // PAVED_INGEST_DB=path keeps the database for inspection.
    let path = std::env::var("PAVED_INGEST_DB")
        .map_or_else(|_| dir.path().join("catalog.db"), PathBuf::from);
    let store = paved_store::connect(&format!("sqlite://{}", path.display())).await?;
    let mut settings = CatalogSettings::new(dir.path().to_path_buf());
    settings.allowed_roots = vec![file.parent().ok_or("no parent folder")?.to_path_buf()];
    let service = Arc::new(CatalogService::new(store, settings));
    let spec = LocationSpec::new("file", file.display().to_string());
    let locations = service.register_config_locations(&[spec]).await?;
    let location = locations.first().ok_or("no location")?;

    if std::env::var_os("PAVED_READ_ONLY").is_some() {
        let reader = paved_catalog::ingest::Reader {
            roots: paved_catalog::AllowedRoots::new(service.allowed_roots()),
            git: paved_catalog::git::GitSettings {
                cache_dir: dir.path().join("git"),
                timeout: std::time::Duration::from_secs(60),
                max_bytes: 1 << 30,
            },
            limits: Default::default(),
            rules: Default::default(),
        };
        let started = Instant::now();
        let reading = reader
            .read_location(&LocationSpec::new("file", file.display().to_string()))
            .await;
        println!(
            "read only: {:.2?}, {} entities",
            started.elapsed(),
            reading.entities.len()
        );
        println!("peak RSS: {}", status("VmHWM:"));
        return Ok(());
    }
    let started = Instant::now();
    let outcome = service.refresh_location(&location.id).await?;
    println!("first ingest: {:.2?} ({outcome:?})", started.elapsed());
    println!("peak RSS: {}", status("VmHWM:"));
    let started = Instant::now();
    let outcome = service.refresh_location(&location.id).await?;
    println!("unchanged refresh: {:.2?} ({outcome:?})", started.elapsed());
    println!("peak RSS: {}", status("VmHWM:"));
    service.close().await;
    Ok(())
}
