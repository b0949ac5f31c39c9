//! `paved-bench search`: the search index in this process on a generated catalog — build time
//! from the store, memory, query latency over a mix of terms, and the time from a one-file
//! refresh until the edited entity is findable.
//!
//! The catalog is ingested once into `OUT/search-data-N/paved.db` (reused while it holds the
//! whole catalog), so repeated runs measure the index, not the ingest.

use crate::catalog::{Catalog, ensure_catalog};
use anyhow::{Context, Result, bail};
use hdrhistogram::Histogram;
use paved_catalog::{CatalogService, CatalogSettings};
use paved_model::EntityRef;
use paved_search::{DocPage, SearchRequest, SearchService, SearchSettings};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// Number of generated entities.
    #[arg(long, default_value_t = 100_000)]
    pub entities: u64,
    /// Synthetic documentation pages indexed after the build (spread over the sampled
    /// components).
    #[arg(long, default_value_t = 10_000)]
    pub doc_pages: usize,
    /// Queries measured (after as many unmeasured ones).
    #[arg(long, default_value_t = 2_000)]
    pub queries: usize,
    /// Folder for the cached catalogs, the ingested store and search-results-<N>.json.
    #[arg(long, value_name = "DIR", default_value = "bench-out")]
    pub out: PathBuf,
    /// The catalog generator (default: shared/tools/gen-catalog beside the checkout).
    #[arg(long, value_name = "PATH")]
    pub gen_catalog: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
pub struct SearchFigures {
    pub entities: u64,
    pub documents_indexed: usize,
    pub doc_pages: usize,
    /// Seconds to ingest the catalog into the store (None: the stored one was reused).
    pub ingest_seconds: Option<f64>,
    pub build_seconds: f64,
    pub doc_pages_seconds: f64,
    pub rss_before_build_bytes: u64,
    pub rss_after_build_bytes: u64,
    pub queries: usize,
    pub query_p50_ms: f64,
    pub query_p90_ms: f64,
    pub query_p99_ms: f64,
    pub query_max_ms: f64,
    /// The edited entity's refresh call itself.
    pub refresh_seconds: f64,
    /// From the start of the refresh until a search finds the edited entity.
    pub refresh_to_findable_seconds: f64,
}

fn rss_kib(key: &str) -> Result<u64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .with_context(|| format!("{key} not in /proc/self/status"))
}

async fn stored_catalog(
    catalog: &Catalog,
    data_dir: &Path,
    entities: u64,
) -> Result<(Arc<CatalogService>, Option<f64>)> {
    std::fs::create_dir_all(data_dir)?;
    let url = format!("sqlite://{}", data_dir.join("paved.db").display());
    let store = paved_store::connect(&url)
        .await
        .context("opening the store")?;
    let mut settings = CatalogSettings::new(data_dir.join("data"));
    settings.allowed_roots = vec![catalog.dir.clone()];
    let service = Arc::new(CatalogService::new(store, settings));
    let stored: u64 = service
        .count_by_kind()
        .await?
        .into_iter()
        .filter(|(kind, _)| kind != "location")
        .map(|(_, count)| count)
        .sum();
    if stored >= entities {
        return Ok((service, None));
    }
    eprintln!("ingesting {entities} entities into {}", data_dir.display());
    let started = Instant::now();
    service
        .add_location("file", &catalog.location_file.display().to_string(), false)
        .await
        .context("ingesting the generated catalog")?;
    Ok((service, Some(started.elapsed().as_secs_f64())))
}

/// Terms a portal user types: exact names, name prefixes, typos, description words, owners.
fn query_mix(catalog: &Catalog) -> Vec<String> {
    let mut terms = Vec::new();
    let names = &catalog.expectations.components;
    for (i, name) in names.iter().take(200).enumerate() {
        terms.push(name.clone());
        let prefix_len = (name.len() / 2).max(2).min(name.len());
        terms.push(name[..prefix_len].to_owned());
        // A typo: two neighbouring letters swapped, where the name allows it.
        let bytes = name.as_bytes();
        if bytes.len() > 5 && bytes.is_ascii() {
            let mut typo = bytes.to_vec();
            typo.swap(2, 3);
            terms.push(String::from_utf8_lossy(&typo).into_owned());
        }
        if i % 4 == 0 {
            terms.push(format!("the {name} service"));
        }
    }
    for owner in catalog.expectations.owners.iter().take(50) {
        terms.push(owner.clone());
    }
    terms.extend(
        [
            "service", "api", "runbook", "deploy", "website", "library", "alpha", "falc",
        ]
        .map(str::to_owned),
    );
    terms
}

/// `count` pages spread evenly over the sampled components of the catalog.
fn synthetic_pages(catalog: &Catalog, count: usize) -> Vec<(EntityRef, Vec<DocPage>)> {
    let names = &catalog.expectations.components;
    if names.is_empty() || count == 0 {
        return Vec::new();
    }
    let per_entity = count.div_ceil(names.len());
    names
        .iter()
        .take(count.div_ceil(per_entity))
        .enumerate()
        .map(|(i, name)| {
            let entity = EntityRef::new("component", "default", name);
            let pages = (0..per_entity.min(count - i * per_entity))
                .map(|p| DocPage {
                    entity_ref: entity.clone(),
                    path: format!("page-{p}/"),
                    location: format!("/docs/default/component/{name}/page-{p}/"),
                    title: format!("{name} page {p}"),
                    headings: vec![
                        "Overview".into(),
                        format!("Runbook step {p}"),
                        "Deploy".into(),
                    ],
                    text: format!(
                        "How to operate {name}. Deploy with the pipeline, watch the dashboards, \
                         page the owners when latency grows. Section {p} of the runbook."
                    ),
                })
                .collect();
            (entity, pages)
        })
        .collect()
}

pub async fn run(args: SearchArgs) -> Result<SearchFigures> {
    let generator = match args
        .gen_catalog
        .clone()
        .or_else(crate::catalog::default_generator)
    {
        Some(path) => path,
        None => bail!("gen-catalog not found; pass --gen-catalog PATH or set PAVED_GEN_CATALOG"),
    };
    std::fs::create_dir_all(&args.out)?;
    let out = std::path::absolute(&args.out)?;
    let catalog = ensure_catalog(&generator, &out, args.entities)?;
    let data_dir = out.join(format!("search-data-{}", args.entities));
    let (service, ingest_seconds) = stored_catalog(&catalog, &data_dir, args.entities).await?;

    // --- build -----------------------------------------------------------------------------
    let rss_before_build_bytes = rss_kib("VmRSS:")? * 1024;
    let search = Arc::new(SearchService::new(
        service.clone(),
        SearchSettings::default(),
    )?);
    eprintln!("building the search index");
    let started = Instant::now();
    let report = search.build().await?;
    let build_seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "  {} entities, {} documents in {build_seconds:.2} s",
        report.entities, report.documents
    );
    let started = Instant::now();
    let mut doc_pages = 0;
    for (entity, pages) in synthetic_pages(&catalog, args.doc_pages) {
        doc_pages += search.replace_doc_pages(entity, pages).await?;
    }
    let doc_pages_seconds = started.elapsed().as_secs_f64();
    eprintln!("  {doc_pages} doc pages in {doc_pages_seconds:.2} s (one commit per entity)");
    let rss_after_build_bytes = rss_kib("VmRSS:")? * 1024;

    // --- queries ---------------------------------------------------------------------------
    let terms = query_mix(&catalog);
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for round in 0..2 {
        for i in 0..args.queries {
            let term = &terms[i % terms.len()];
            let started = Instant::now();
            let results = search
                .search(SearchRequest {
                    term: term.clone(),
                    limit: 25,
                    ..SearchRequest::default()
                })
                .await?;
            let micros = started.elapsed().as_micros() as u64;
            if round == 1 {
                histogram.record(micros.max(1))?;
            }
            if i < terms.len() && round == 0 && results.total == 0 && !term.contains(' ') {
                eprintln!("  note: no result for {term:?}");
            }
        }
    }
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    eprintln!(
        "  {} queries: p50 {:.2} ms, p99 {:.2} ms",
        args.queries,
        ms(0.5),
        ms(0.99)
    );

    // --- one-file refresh until findable ---------------------------------------------------
    let follower = search.clone().spawn();
    let edited = edit_until_findable(&catalog, &service, &search).await;
    follower.abort();
    let (refresh_seconds, refresh_to_findable_seconds) = edited?;
    eprintln!(
        "  edited entity findable {refresh_to_findable_seconds:.3} s after the refresh started (refresh itself {refresh_seconds:.3} s)"
    );

    let figures = SearchFigures {
        entities: args.entities,
        documents_indexed: report.documents,
        doc_pages,
        ingest_seconds,
        build_seconds,
        doc_pages_seconds,
        rss_before_build_bytes,
        rss_after_build_bytes,
        queries: args.queries,
        query_p50_ms: ms(0.5),
        query_p90_ms: ms(0.9),
        query_p99_ms: ms(0.99),
        query_max_ms: histogram.max() as f64 / 1000.0,
        refresh_seconds,
        refresh_to_findable_seconds,
    };
    let file = out.join(format!("search-results-{}.json", args.entities));
    std::fs::write(&file, serde_json::to_string_pretty(&figures)? + "\n")
        .with_context(|| format!("writing {}", file.display()))?;
    eprintln!("wrote {}", file.display());
    service.close().await;
    Ok(figures)
}

/// Edits one component's description, refreshes that entity (one file read again) and polls
/// the index until a search for the new word finds it. The file is put back afterwards.
async fn edit_until_findable(
    catalog: &Catalog,
    service: &CatalogService,
    search: &SearchService,
) -> Result<(f64, f64)> {
    {
        let Some(name) = catalog.expectations.components.get(1) else {
            bail!("expectations.json names no component to edit");
        };
        let (path, original) = crate::edit::file_of(catalog, name)?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let word = format!("benchword{nanos}");
        let Some(edited) = crate::edit::with_description(&original, name, &word) else {
            bail!("component {name} not found in {}", path.display());
        };
        let _restore = crate::edit::Restore {
            path: path.clone(),
            original,
        };
        std::fs::write(&path, edited)?;
        let entity = EntityRef::new("component", "default", name);
        let started = Instant::now();
        service.refresh_entity(&entity).await?;
        let refresh_seconds = started.elapsed().as_secs_f64();
        loop {
            let found = search
                .search(SearchRequest {
                    term: word.clone(),
                    limit: 1,
                    ..SearchRequest::default()
                })
                .await?;
            if found.total == 1 {
                return Ok((refresh_seconds, started.elapsed().as_secs_f64()));
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!("the edited entity was not findable within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}
