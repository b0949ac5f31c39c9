//! `paved`: the command line. Parses arguments, builds the configuration and hands over to the
//! layers below; no business logic lives here.
//!
//! Exit codes: 0 success, 1 a user error (one clear message on stderr), 2 a usage error (clap).
#![forbid(unsafe_code)]
// Commands print through `out!`/`outln!` (the `output` module), which survive a closed pipe.
#![deny(clippy::print_stdout)]

#[macro_use]
mod output;

mod client;

/// mimalloc instead of glibc's malloc: glibc keeps freed memory in per-thread arenas, and a
/// 100k ingestion followed by the search index's build left the process at ~590 MiB where
/// ~300 MiB were live (docs/PERFORMANCE.md, "2026-12-02: peak memory"). `paved_alloc::tune`
/// makes it give freed memory back sooner.
#[global_allocator]
static ALLOCATOR: paved_alloc::MiMalloc = paved_alloc::MiMalloc;

mod config;
mod serve;
mod template;
mod validate;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// paved: an Internal Developer Platform in one binary. Reads Backstage's catalog-info.yaml
/// unchanged and serves Backstage's catalog API.
#[derive(Debug, Parser)]
#[command(name = "paved", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: catalog API, portal, health and metrics.
    Serve(ServeArgs),
    /// Check catalog files offline; `file:line:col` errors and a non-zero exit when any.
    Validate(ValidateArgs),
    /// Talk to a running paved server.
    #[command(subcommand)]
    Catalog(client::CatalogCommand),
    /// Run a Software Template on this machine (`run`) or render it without publishing
    /// (`dry-run`), with the server's scaffolder engine.
    #[command(subcommand)]
    Template(template::TemplateCommand),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// Flags shared by `serve` and `config show`: the layers of the configuration.
#[derive(Debug, Args, Clone)]
pub struct ConfigArgs {
    /// Configuration file (default: ./paved.yaml when it exists).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Port to listen on (0 picks a free one).
    #[arg(long)]
    port: Option<u16>,
    /// Address to listen on.
    #[arg(long, value_name = "ADDRESS")]
    bind: Option<std::net::IpAddr>,
    /// Folder for the database, checkouts and the demo.
    #[arg(long, value_name = "PATH")]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://file.db or postgres://user@host/db.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// Catalog location to read: a file path or a URL (repeatable).
    #[arg(long = "location", value_name = "PATH_OR_URL")]
    locations: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Load the demo organisation's catalog.
    #[arg(long)]
    demo: bool,
    /// Print the effective configuration (secrets hidden) and exit.
    #[arg(long)]
    print_config: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Files, folders (every *.yaml and *.yml inside) or glob patterns.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the configuration reference (docs/configuration.md) as Markdown.
    Docs,
    /// Print the effective configuration, with secrets hidden.
    Show(ConfigArgs),
}

fn main() -> ExitCode {
    paved_alloc::tune();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Validate(args) => validate::run(&args),
        Command::Catalog(command) => client::run(command),
        Command::Template(command) => template::run(command),
        Command::Config(ConfigCommand::Docs) => out!("{}", config::reference_markdown())
            .map(|()| ExitCode::SUCCESS)
            .map_err(anyhow::Error::from),
        Command::Config(ConfigCommand::Show(args)) => {
            serve::load_config(&args).and_then(|config| {
                out!("{}", config.to_redacted_yaml())?;
                Ok(ExitCode::SUCCESS)
            })
        }
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            // `{:#}` prints the context chain on one line; no backtrace for user errors.
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}
