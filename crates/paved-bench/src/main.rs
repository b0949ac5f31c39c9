//! `paved-bench`: measures the real `paved` binary on a generated catalog — ingest and stitch
//! time, peak memory, cold start, and latency under concurrent load — after checking that the
//! answers are right. It only reports; it never judges speed.
#![forbid(unsafe_code)]

mod catalog;
mod edit;
mod http;
mod load;
mod report;
mod search;
mod server;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use serde::Deserialize;
use server::{PavedProcess, ServerSpec};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Parser)]
#[command(name = "paved-bench", about = "Benchmark harness for the paved binary")]
struct Cli {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Generate a catalog, ingest it, verify it, restart, and load-test the HTTP API.
    Run(RunArgs),
    /// The search index in this process: build time, memory, query latency, edit-to-findable.
    Search(search::SearchArgs),
    /// The load phase alone, against a paved already serving a generated catalog (for
    /// comparing changes to the read path without ingesting again).
    Load(LoadArgs),
}

#[derive(Debug, Args)]
struct LoadArgs {
    /// Where paved listens.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7007")]
    address: std::net::SocketAddr,
    /// The generated catalog paved serves (`<out>/catalog-<N>`): its sample names are
    /// requested.
    #[arg(long, default_value_t = 100_000)]
    entities: u64,
    /// Folder holding the cached catalogs.
    #[arg(long, value_name = "DIR", default_value = "bench-out")]
    out: PathBuf,
    /// Scenarios to run, in this order (default: all).
    #[arg(long, value_enum)]
    scenario: Vec<load::Scenario>,
    /// Concurrent clients for the API scenarios (portal pages use one).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Recorded time per scenario.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    duration: Duration,
    /// Unrecorded warm-up before each scenario.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "1s")]
    warmup: Duration,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The paved binary to measure (build it with `cargo build --release -p paved`).
    #[arg(long, value_name = "PATH", default_value = "target/release/paved")]
    paved: PathBuf,
    /// Number of generated entities (default 100000; 2000 with --quick).
    #[arg(long)]
    entities: Option<u64>,
    /// PostgreSQL server URL; the run uses a fresh database `paved_bench` on that server.
    /// Default: SQLite in a fresh data directory.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// Folder for the cached catalogs, server logs and results-<N>.json.
    #[arg(long, value_name = "DIR", default_value = "bench-out")]
    out: PathBuf,
    /// Concurrent clients in the load phase, each on its own keep-alive connection.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Recorded time per load scenario, e.g. `10s` (default 10s; 2s with --quick).
    #[arg(long, value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
    /// Unrecorded warm-up before each scenario (default 1s; 500ms with --quick).
    #[arg(long, value_parser = humantime::parse_duration)]
    warmup: Option<Duration>,
    /// Give up when ingestion has not finished after this long (default 120 s + 1 s per 200
    /// entities).
    #[arg(long, value_parser = humantime::parse_duration)]
    ingest_timeout: Option<Duration>,
    /// A small, fast run: 2000 entities, 2 s per scenario.
    #[arg(long)]
    quick: bool,
    /// The catalog generator (default: shared/tools/gen-catalog beside the checkout, or
    /// $PAVED_GEN_CATALOG).
    #[arg(long, value_name = "PATH")]
    gen_catalog: Option<PathBuf>,
    /// Keep the data directory (or the PostgreSQL database) after the run.
    #[arg(long)]
    keep_data: bool,
}

/// The name of the database a PostgreSQL run creates and drops on the given server.
const POSTGRES_BENCH_DATABASE: &str = "paved_bench";

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        BenchCommand::Run(args) => args,
        BenchCommand::Search(args) => return run_search(args),
        BenchCommand::Load(args) => return run_load(args),
    };
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match runtime.block_on(run(args)) {
        Ok(results) => {
            if results.total_errors > 0 || !results.correctness.ok {
                eprintln!(
                    "error: the run saw {} failed requests",
                    results.total_errors
                );
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}

/// The async runtime, or the exit code after saying why it could not start.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            eprintln!("error: starting the async runtime: {error}");
            ExitCode::from(1)
        })
}

fn run_load(args: LoadArgs) -> ExitCode {
    let catalog = args.out.join(format!("catalog-{}", args.entities));
    let expectations = match catalog::read_expectations(&catalog.join("expectations.json")) {
        Ok(expectations) => expectations,
        Err(error) => {
            eprintln!("error: {error:#} (generate it with a `run` of as many entities)");
            return ExitCode::from(1);
        }
    };
    let samples = Arc::new(load::Samples {
        component_names: expectations.components,
        owners: expectations.owners,
    });
    let scenarios = if args.scenario.is_empty() {
        load::Scenario::ALL.to_vec()
    } else {
        args.scenario
    };
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let plan = load::LoadPlan {
        address: args.address,
        samples,
        concurrency: args.concurrency,
        warmup: args.warmup,
        duration: args.duration,
    };
    let results = match runtime.block_on(load::run_scenarios(&plan, &scenarios, || Ok(()))) {
        Ok(results) => results,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(1);
        }
    };
    print!("{}", report::scenario_table(&results));
    if results.iter().any(|r| r.errors > 0) {
        eprintln!("error: some requests failed");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

fn run_search(args: search::SearchArgs) -> ExitCode {
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match runtime.block_on(search::run(args)) {
        Ok(figures) => match serde_json::to_string_pretty(&figures) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::from(1)
            }
        },
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(args: RunArgs) -> Result<report::Results> {
    let command_line: Vec<String> = std::env::args().collect();
    let loadavg_start = report::loadavg();
    let cpu_start = report::CpuTimes::now();
    let started_at_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let entities = args
        .entities
        .unwrap_or(if args.quick { 2000 } else { 100_000 });
    let duration = args
        .duration
        .unwrap_or(Duration::from_secs(if args.quick { 2 } else { 10 }));
    let warmup = args
        .warmup
        .unwrap_or(Duration::from_millis(if args.quick { 500 } else { 1000 }));
    let ingest_timeout = args
        .ingest_timeout
        .unwrap_or(Duration::from_secs(120 + entities / 200));
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    let paved = std::path::absolute(&args.paved)?;
    if !paved.is_file() {
        bail!(
            "{} does not exist; build it with `cargo build --release -p paved`",
            paved.display()
        );
    }
    let generator = match args.gen_catalog.clone().or_else(catalog::default_generator) {
        Some(path) => path,
        None => bail!("gen-catalog not found; pass --gen-catalog PATH or set PAVED_GEN_CATALOG"),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let out = std::path::absolute(&args.out)?;
    let catalog = catalog::ensure_catalog(&generator, &out, entities)?;
    let expectations = &catalog.expectations;

    let data_dir = out.join(format!("data-{entities}"));
    if data_dir.exists() {
        std::fs::remove_dir_all(&data_dir)
            .with_context(|| format!("clearing {}", data_dir.display()))?;
    }
    std::fs::create_dir_all(&data_dir)?;
    let (database_url, database_label) = match &args.database {
        Some(url) => {
            let fresh = server::fresh_postgres_database(url, POSTGRES_BENCH_DATABASE).await?;
            let label = server::redact_url(&fresh);
            (Some(fresh), label)
        }
        None => (None, "sqlite".to_string()),
    };
    let spec = ServerSpec {
        binary: paved.clone(),
        data_dir: data_dir.clone(),
        location_file: catalog.location_file.clone(),
        database: database_url,
    };

    // --- 1. ingest and stitch from an empty store ------------------------------------------
    eprintln!("ingesting {entities} entities ({database_label})");
    let cpu_at_ingest = report::CpuTimes::now();
    let mut first = PavedProcess::start(&spec, &out.join(format!("paved-{entities}-ingest.log")))?;
    let ingest = wait_for_ingest(
        &mut first,
        entities,
        expectations,
        ingest_timeout,
        cpu_at_ingest,
    )
    .await;
    let (ingest, correctness) = match ingest {
        Ok(found) => found,
        Err(error) => {
            let _ = first.stop(Duration::from_secs(5)).await;
            return Err(error);
        }
    };
    eprintln!(
        "  all entities after {:.2} s, relations verified after {:.2} s, peak RSS {} MiB, \
         CPU stolen by the host {}",
        ingest.seconds_to_all_entities,
        ingest.seconds_to_relations_verified,
        ingest.peak_rss_bytes / (1024 * 1024),
        report::percent(ingest.steal_percent)
    );
    eprintln!("editing one file and refreshing its entity on demand");
    let edit_refresh = match edit::measure(first.address, &catalog, Duration::from_secs(120)).await
    {
        Ok(figures) => figures,
        Err(error) => {
            let _ = first.stop(Duration::from_secs(5)).await;
            return Err(error);
        }
    };
    eprintln!(
        "  edited {} visible after {:.3} s",
        edit_refresh.entity_ref, edit_refresh.seconds_to_visible
    );
    let stopped = first.stop(Duration::from_secs(30)).await?;
    let shutdown = report::ShutdownFigures {
        seconds: stopped.seconds,
        clean_exit: stopped.clean,
        killed: stopped.killed,
    };

    // --- 2. cold start on the stored catalog, then load -------------------------------------
    eprintln!("restarting on the stored catalog");
    let mut second =
        PavedProcess::start(&spec, &out.join(format!("paved-{entities}-restart.log")))?;
    let outcome = cold_start_and_load(
        &mut second,
        entities,
        expectations,
        args.concurrency,
        warmup,
        duration,
    )
    .await;
    let (cold, load) = match outcome {
        Ok(found) => found,
        Err(error) => {
            let _ = second.stop(Duration::from_secs(5)).await;
            return Err(error);
        }
    };
    let second_peak = second.peak_rss_bytes()?;
    let second_stop = second.stop(Duration::from_secs(30)).await?;
    let cold_start = report::ColdStartFigures {
        seconds_to_ready: cold.seconds_to_ready,
        seconds_to_catalog_served: cold.seconds_to_catalog_served,
        seconds_until_idle: cold.seconds_until_idle,
        peak_rss_bytes: second_peak,
        shutdown_seconds: second_stop.seconds,
    };

    let total_errors = load.iter().map(|r| r.errors).sum();
    let results = report::Results {
        command_line,
        started_at_unix,
        machine: report::machine(&paved, loadavg_start, cpu_start),
        settings: report::Settings {
            entities,
            database: database_label,
            concurrency: args.concurrency,
            duration_seconds: duration.as_secs_f64(),
            warmup_seconds: warmup.as_secs_f64(),
            quick: args.quick,
        },
        catalog: report::CatalogFigures {
            dir: catalog.dir.display().to_string(),
            files: expectations.files.len(),
            counts: expectations.counts.clone(),
            relations_total: expectations.relations_total,
            generated_seconds: catalog.generated_seconds,
        },
        peak_rss_bytes: ingest.peak_rss_bytes.max(second_peak),
        ingest,
        correctness,
        edit_refresh,
        shutdown,
        cold_start,
        load,
        total_errors,
    };
    let markdown = report::markdown(&results);
    println!("{markdown}");
    let results_file = out.join(format!("results-{entities}.json"));
    std::fs::write(
        &results_file,
        serde_json::to_string_pretty(&results)? + "\n",
    )
    .with_context(|| format!("writing {}", results_file.display()))?;
    std::fs::write(out.join(format!("results-{entities}.md")), &markdown)?;
    eprintln!("wrote {}", results_file.display());

    if !args.keep_data {
        std::fs::remove_dir_all(&data_dir).ok();
        if let Some(url) = &args.database {
            server::drop_postgres_database(url, POSTGRES_BENCH_DATABASE)
                .await
                .context("dropping the bench database")?;
        }
    }
    Ok(results)
}

async fn wait_for_ingest(
    process: &mut PavedProcess,
    entities: u64,
    expectations: &catalog::Expectations,
    timeout: Duration,
    cpu_at_start: Option<report::CpuTimes>,
) -> Result<(report::IngestFigures, report::Correctness)> {
    process.wait_ready(timeout).await?;
    let mut connection = http::Connection::new(process.address, Duration::from_secs(30));
    // Frequent polls would steal CPU from the ingest on a 2-core machine; the resolution
    // lost is small next to the ingest time at these sizes.
    let poll = if entities >= 50_000 {
        Duration::from_millis(200)
    } else {
        Duration::from_millis(50)
    };
    let mut last_reported = 0;
    let mut last_progress = Instant::now();
    let counted = loop {
        process.check_alive()?;
        if let Ok(stats) = process.stats(&mut connection).await {
            let count = stats.non_location_entities();
            if count >= entities {
                break stats;
            }
            if count != last_reported && last_progress.elapsed() > Duration::from_secs(5) {
                eprintln!(
                    "  {count} / {entities} entities after {:.0} s",
                    process.started.elapsed().as_secs_f64()
                );
                last_progress = Instant::now();
            }
            last_reported = count;
        }
        if process.started.elapsed() > timeout {
            bail!(
                "ingestion incomplete after {timeout:?}: {last_reported} of {entities} entities; log: {}",
                process.log_file.display()
            );
        }
        tokio::time::sleep(poll).await;
    };
    let seconds_to_all_entities = process.started.elapsed().as_secs_f64();
    let steal_percent = report::CpuTimes::steal_percent(cpu_at_start, report::CpuTimes::now());
    let peak_rss_bytes = process.peak_rss_bytes()?;
    let rss_after_bytes = process.rss_bytes()?;
    if counted.non_location_entities() > entities {
        bail!(
            "the stats endpoint counts {} entities besides Locations, the catalog has {entities}",
            counted.non_location_entities()
        );
    }

    // Counting every entity does not prove that stitching has caught up with every relation;
    // the sampled relations must be there too, and the time until they are is reported.
    let (correctness, seconds_to_relations_verified) = loop {
        let correctness = check_relations(&mut connection, expectations).await?;
        if correctness.ok {
            break (correctness, process.started.elapsed().as_secs_f64());
        }
        process.check_alive()?;
        if process.started.elapsed() > timeout {
            let shown: Vec<&str> = correctness
                .missing
                .iter()
                .take(20)
                .map(String::as_str)
                .collect();
            bail!(
                "{} sampled relations still missing after {timeout:?}, e.g.:\n  {}",
                correctness.missing.len(),
                shown.join("\n  ")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // The peak may have grown while stitching finished.
    let peak_rss_bytes = peak_rss_bytes.max(process.peak_rss_bytes()?);
    Ok((
        report::IngestFigures {
            seconds_to_all_entities,
            seconds_to_relations_verified,
            entities_per_second: entities as f64 / seconds_to_all_entities,
            peak_rss_bytes,
            rss_after_bytes,
            total_entities_reported: counted.total_entities,
            steal_percent,
        },
        correctness,
    ))
}

#[derive(Deserialize)]
struct EntityRelations {
    #[serde(default)]
    relations: Vec<RelationJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RelationJson {
    #[serde(rename = "type")]
    relation_type: String,
    target_ref: String,
}

/// Fetches each sampled entity by name and lists the expected relations it lacks.
async fn check_relations(
    connection: &mut http::Connection,
    expectations: &catalog::Expectations,
) -> Result<report::Correctness> {
    let mut missing = Vec::new();
    let mut relations_checked = 0;
    for (entity_ref, expected) in &expectations.checks {
        let Some((kind, namespace, name)) = split_ref(entity_ref) else {
            bail!("expectations.json holds a malformed ref {entity_ref:?}");
        };
        let path = format!(
            "/api/catalog/entities/by-name/{}/{}/{}",
            http::encode_component(kind),
            http::encode_component(namespace),
            http::encode_component(name)
        );
        relations_checked += expected.len();
        let (status, body) = connection.get(&path).await?;
        if !status.is_success() {
            missing.push(format!("{entity_ref}: GET {path} answered {status}"));
            continue;
        }
        let entity: EntityRelations = serde_json::from_slice(&body)
            .with_context(|| format!("parsing the answer to GET {path}"))?;
        let present: BTreeSet<(String, String)> = entity
            .relations
            .into_iter()
            .map(|r| (r.relation_type, r.target_ref.to_lowercase()))
            .collect();
        for (relation_type, target) in expected {
            if !present.contains(&(relation_type.clone(), target.to_lowercase())) {
                missing.push(format!("{entity_ref} {relation_type} {target}"));
            }
        }
    }
    Ok(report::Correctness {
        entities_checked: expectations.checks.len(),
        relations_checked,
        ok: missing.is_empty(),
        missing,
    })
}

/// `kind:namespace/name` as written by gen-catalog (always complete).
fn split_ref(entity_ref: &str) -> Option<(&str, &str, &str)> {
    let (kind, rest) = entity_ref.split_once(':')?;
    let (namespace, name) = rest.split_once('/')?;
    Some((kind, namespace, name))
}

struct ColdStart {
    seconds_to_ready: f64,
    seconds_to_catalog_served: f64,
    seconds_until_idle: f64,
}

async fn cold_start_and_load(
    process: &mut PavedProcess,
    entities: u64,
    expectations: &catalog::Expectations,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<(ColdStart, Vec<load::ScenarioResult>)> {
    let seconds_to_ready = process
        .wait_ready(Duration::from_secs(120))
        .await?
        .as_secs_f64();
    let mut connection = http::Connection::new(process.address, Duration::from_secs(30));
    let seconds_to_catalog_served = loop {
        process.check_alive()?;
        if let Ok(stats) = process.stats(&mut connection).await
            && stats.non_location_entities() >= entities
        {
            break process.started.elapsed().as_secs_f64();
        }
        if process.started.elapsed() > Duration::from_secs(120) {
            bail!("after the restart the catalog was not served whole within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let idle_after = process.wait_idle(Duration::from_secs(120)).await?;
    let seconds_until_idle = seconds_to_catalog_served + idle_after.as_secs_f64();
    eprintln!(
        "  /readyz after {seconds_to_ready:.3} s, catalog served after {seconds_to_catalog_served:.3} s"
    );

    let samples = Arc::new(load::Samples {
        component_names: expectations.components.clone(),
        owners: expectations.owners.clone(),
    });
    let plan = load::LoadPlan {
        address: process.address,
        samples,
        concurrency,
        warmup,
        duration,
    };
    let results =
        load::run_scenarios(&plan, &load::Scenario::ALL, || process.check_alive()).await?;
    Ok((
        ColdStart {
            seconds_to_ready,
            seconds_to_catalog_served,
            seconds_until_idle,
        },
        results,
    ))
}
