//! `paved serve`: builds the configuration, opens the store, starts the catalog and serves
//! HTTP until Ctrl-C or SIGTERM.

use crate::config::{
    Config, ConfigSources, FlagOverrides, LocationConfig, LocationType, RuleConfig,
};
use crate::{ConfigArgs, ServeArgs};
use anyhow::{Context, bail};
use paved_catalog::maintenance::{PruneHandler, Retention, schedule_pruning};
use paved_catalog::{
    CatalogRule, CatalogRules, CatalogService, CatalogSettings, LocationSpec, RuleLocation,
};
use paved_server::{ApiToken, AppState, ServerSettings};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The demo organisation's catalog, written to `<data_dir>/demo/` by `--demo`.
#[derive(rust_embed::RustEmbed)]
#[folder = "demo/"]
struct DemoCatalog;

/// Builds the layered configuration from the flags, the process environment and the file.
pub fn load_config(args: &ConfigArgs) -> anyhow::Result<Config> {
    let mut flags = FlagOverrides {
        bind: args.bind,
        port: args.port,
        data_dir: args.data_dir.clone(),
        database_url: args.database.clone(),
        ..Default::default()
    };
    for value in &args.locations {
        let location = location_from_argument(value)?;
        if location.kind == LocationType::File {
            flags
                .allowed_roots
                .push(folder_of(Path::new(&location.target)));
        }
        flags.locations.push(location);
    }
    let sources = ConfigSources {
        explicit_file: args.config.clone(),
        implicit_file: Some(PathBuf::from("paved.yaml")),
        env: std::env::vars().collect(),
        flags,
    };
    Ok(Config::load(&sources)?)
}

/// `--location` values: anything with a scheme or `git@`, and a local git repository
/// (`paved_catalog::location::is_local_git_target`), is a `url`; otherwise it must be an
/// existing path, registered as `file` with its absolute path.
fn location_from_argument(value: &str) -> anyhow::Result<LocationConfig> {
    if value.contains("://")
        || value.starts_with("git@")
        || paved_catalog::location::is_local_git_target(value)
    {
        return Ok(LocationConfig {
            kind: LocationType::Url,
            target: value.to_owned(),
            rules: None,
        });
    }
    let path = Path::new(value);
    if paved_catalog::location::is_glob(value) {
        // A glob: its fixed prefix must exist; the pattern may match nothing yet.
        let base = paved_catalog::location::glob_base(path);
        let base = if base.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            base
        };
        if !base.is_dir() {
            bail!(
                "--location {value}: the folder {} does not exist (give an existing path, a glob under an existing folder, or a URL)",
                base.display()
            );
        }
    } else if !path.exists() {
        bail!("--location {value}: no such file or folder (give an existing path or a URL)");
    }
    let absolute = std::path::absolute(path)
        .with_context(|| format!("--location {value}: cannot resolve the path"))?;
    Ok(LocationConfig {
        kind: LocationType::File,
        target: absolute.display().to_string(),
        rules: None,
    })
}

/// The folder a file location may read from: the folder itself, a file's parent, or the
/// fixed prefix of a glob.
fn folder_of(path: &Path) -> PathBuf {
    if paved_catalog::location::is_glob(&path.to_string_lossy()) {
        return paved_catalog::location::glob_base(path);
    }
    if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"))
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut config = load_config(&args.config)?;
    if args.print_config {
        out!("{}", config.to_redacted_yaml())?;
        return Ok(ExitCode::SUCCESS);
    }
    let tokens = config.resolve_tokens()?;
    let bind = config.server.bind;
    if !bind.is_loopback() && tokens.is_empty() {
        bail!(
            "refusing to listen on {bind}: it is not a loopback address and no API tokens are \
             configured, so anyone who can reach it could change the catalog. Configure \
             `auth.tokens` in paved.yaml (for example `auth: {{tokens: [{{name: ci, token_file: \
             /run/secrets/paved-token}}]}}`, or `sha256:` with the hex SHA-256 of the token), \
             or listen on 127.0.0.1"
        );
    }
    init_logging(&config)?;

    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data folder {}",
            config.data_dir.display()
        )
    })?;
    if args.demo {
        let catalog_file = write_demo(&config.data_dir)?;
        config.catalog.allowed_roots.push(folder_of(&catalog_file));
        config.catalog.locations.push(LocationConfig {
            kind: LocationType::File,
            target: catalog_file.display().to_string(),
            rules: None,
        });
        demo_git_host(&mut config)?;
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(config, tokens))?;
    Ok(ExitCode::SUCCESS)
}

/// The demo's golden paths publish to `github.com`; unless git hosts are configured, the demo
/// sends those pushes to local bare repositories under `<data_dir>/git/` (created on first
/// push), so a template runs end to end without an account anywhere.
fn demo_git_host(config: &mut Config) -> anyhow::Result<()> {
    if !config.scaffolder.git_hosts.is_empty() {
        return Ok(());
    }
    let root = std::path::absolute(config.data_dir.join("git"))
        .context("cannot resolve the data folder")?;
    std::fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
    config
        .scaffolder
        .git_hosts
        .push(crate::config::GitHostConfig {
            host: "github.com".into(),
            remote: format!("file://{}/{{owner}}/{{repo}}.git", root.display()),
            kind: None,
            api_base_url: None,
            username: None,
            token_env: None,
            token_file: None,
        });
    // catalog:register reads the new repository back through git (see `catalog_settings`).
    config.scaffolder.local_git_roots.push(root);
    Ok(())
}

fn init_logging(config: &Config) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.is_empty() => EnvFilter::try_new(directives),
        _ => EnvFilter::try_new(&config.log.level),
    }
    .with_context(|| format!("invalid log.level '{}'", config.log.level))?;
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for people; log files and collectors get plain text.
        .with_ansi(std::io::stderr().is_terminal());
    // A second initialisation (tests) is harmless; ignore it.
    let _ = match config.log.format {
        crate::config::LogFormat::Text => builder.try_init(),
        crate::config::LogFormat::Json => builder.json().try_init(),
    };
    Ok(())
}

/// Writes the embedded demo catalog under `<data_dir>/demo/` (replacing what an older
/// version wrote) and returns its root `catalog-info.yaml`.
fn write_demo(data_dir: &Path) -> anyhow::Result<PathBuf> {
    let root =
        std::path::absolute(data_dir.join("demo")).context("cannot resolve the data folder")?;
    for name in DemoCatalog::iter() {
        let Some(file) = DemoCatalog::get(&name) else {
            continue;
        };
        // The catalog needs its YAML and the files it pulls in (API definitions in JSON,
        // GraphQL, protobuf; docs; the golden paths' skeletons); the folder's consistency-check
        // script is not part of it.
        if name.as_ref() == "check_demo.py" {
            continue;
        }
        let target = root.join(name.as_ref());
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&target, file.data.as_ref())
            .with_context(|| format!("cannot write {}", target.display()))?;
    }
    let catalog_file = root.join("catalog-info.yaml");
    if !catalog_file.is_file() {
        bail!("this build has no demo catalog (demo/catalog-info.yaml is missing)");
    }
    Ok(catalog_file)
}

fn catalog_settings(config: &Config) -> CatalogSettings {
    let mut settings = CatalogSettings::new(config.data_dir.clone());
    let mut roots = config.catalog.allowed_roots.clone();
    // The folders of configured file locations, configured repositories on this machine and
    // the folders templates publish repositories to are readable without listing them again.
    roots.extend(config.scaffolder.local_git_roots.iter().cloned());
    for location in &config.catalog.locations {
        match location.kind {
            LocationType::File => roots.push(folder_of(Path::new(&location.target))),
            LocationType::Url => roots.extend(
                paved_catalog::location::GitTarget::parse(&location.target)
                    .ok()
                    .and_then(|git| git.local_repository()),
            ),
        }
    }
    roots.sort();
    roots.dedup();
    settings.allowed_roots = roots;
    settings.refresh_interval = config.catalog.refresh_interval.0;
    settings.git_timeout = config.catalog.git.timeout.0;
    settings.git_max_bytes = config.catalog.git.max_bytes;
    settings.max_file_bytes = usize::try_from(config.catalog.max_file_bytes).unwrap_or(usize::MAX);
    settings
}

/// The scaffolder's settings from `scaffolder.*`; git host tokens are read from their
/// environment variable or file here, so they never sit in the configuration file.
pub(crate) fn scaffolder_settings(
    config: &Config,
) -> anyhow::Result<paved_scaffolder::ScaffolderSettings> {
    use paved_scaffolder::actions::{ForgeKind, GitHost};
    let mut settings =
        paved_scaffolder::ScaffolderSettings::new(config.data_dir.join("scaffolder"));
    settings.naming_pattern = config.scaffolder.naming.pattern.clone();
    settings.naming_max_length = config.scaffolder.naming.max_length;
    settings.git.local_roots = config.scaffolder.local_git_roots.clone();
    settings.git.timeout = config.scaffolder.git_timeout.0;
    settings.git.author_name = config.scaffolder.git_author_name.clone();
    settings.git.author_email = config.scaffolder.git_author_email.clone();
    for host in &config.scaffolder.git_hosts {
        let kind = match host.kind.as_deref().unwrap_or("git") {
            "git" => ForgeKind::Git,
            "github" => ForgeKind::Github,
            "gitlab" => ForgeKind::Gitlab,
            other => anyhow::bail!(
                "scaffolder.git_hosts: host {}: kind '{other}' is not git, github or gitlab",
                host.host
            ),
        };
        let token = match (&host.token_env, &host.token_file) {
            (Some(var), _) => Some(std::env::var(var).with_context(|| {
                format!(
                    "scaffolder.git_hosts: host {}: environment variable {var} is not set",
                    host.host
                )
            })?),
            (None, Some(file)) => Some(
                std::fs::read_to_string(file)
                    .with_context(|| {
                        format!(
                            "scaffolder.git_hosts: host {}: cannot read {}",
                            host.host,
                            file.display()
                        )
                    })?
                    .trim()
                    .to_string(),
            ),
            (None, None) => None,
        };
        settings.git.hosts.push(GitHost {
            host: host.host.clone(),
            remote: host.remote.clone(),
            kind,
            api_base_url: host.api_base_url.clone(),
            username: host.username.clone(),
            token,
        });
    }
    Ok(settings)
}

async fn serve(config: Config, tokens: Vec<crate::config::ResolvedToken>) -> anyhow::Result<()> {
    let database_url = config.database_url();
    let stores = paved_store::connect_stores(&database_url)
        .await
        .with_context(|| {
            format!(
                "cannot open the database {}",
                crate::config::redact_url(&database_url)
            )
        })?;
    let mut settings = catalog_settings(&config);
    settings.rules = Arc::new(catalog_rules(&config)?);
    let catalog = Arc::new(CatalogService::new(stores.catalog.clone(), settings));
    // Work that outlives a request runs as jobs; capabilities register their handlers here.
    let job_runner = paved_jobs::JobRunner::new(stores.jobs.clone(), worker_id());
    let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);

    let listener = tokio::net::TcpListener::bind((config.server.bind, config.server.port))
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}:{}",
                config.server.bind, config.server.port
            )
        })?;
    let address = listener
        .local_addr()
        .context("cannot read the bound address")?;

    let specs: Vec<LocationSpec> = config
        .catalog
        .locations
        .iter()
        .map(|l| LocationSpec::new(location_kind(l.kind), l.target.clone()))
        .collect();
    catalog
        .register_config_locations(&specs)
        .await
        .context("cannot register the configured catalog locations")?;
    let refresh_loop = catalog.clone().spawn_refresh_loop();
    let retention = Retention {
        changes: config.retention.changes.0,
        audit: config.retention.audit.0,
        jobs: config.retention.jobs.0,
        every: config.retention.prune_every.0,
    };
    let job_queue = job_runner.queue();
    let job_runner = job_runner.register(Arc::new(PruneHandler::new(
        catalog.clone(),
        stores.jobs.clone(),
        job_queue.clone(),
        retention,
    )));
    let scaffolder = Arc::new(paved_scaffolder::ScaffolderService::new(
        catalog.clone(),
        stores.tasks.clone(),
        scaffolder_settings(&config)?,
    ));
    let job_runner = job_runner
        .register(Arc::new(paved_scaffolder::TaskJobHandler(
            scaffolder.clone(),
        )))
        .concurrency(config.scaffolder.concurrency);
    scaffolder.set_queue(job_queue.clone());
    let docs = config.docs.enabled.then(|| {
        Arc::new(paved_docs::DocsService::new(
            catalog.clone(),
            stores.docs.clone(),
            paved_docs::DocsSettings {
                limits: paved_docs::Limits {
                    max_site_bytes: config.docs.max_site_bytes,
                    max_file_bytes: config.docs.max_file_bytes,
                    max_pages: config.docs.max_pages,
                },
                ..Default::default()
            },
        ))
    });
    let job_runner = match &docs {
        Some(docs) => {
            docs.set_queue(job_queue.clone());
            job_runner.register(Arc::new(paved_docs::BuildJobHandler(docs.clone())))
        }
        None => job_runner,
    };
    let (_job_queue, job_runner) = job_runner.spawn(jobs_stopped);
    let docs_follower = docs.clone().map(|docs| docs.spawn_follower());
    // A minute after start: starting stays quick, and a crash loop does not prune in a loop.
    schedule_pruning(&job_queue, Duration::from_secs(60))
        .await
        .context("cannot schedule the pruning of old history")?;

    let state = AppState::new(
        catalog.clone(),
        ServerSettings {
            auth_tokens: tokens
                .into_iter()
                .map(|t| ApiToken {
                    name: t.name,
                    sha256: t.sha256,
                })
                .collect(),
        },
        Some(paved_server::install_metrics_recorder()),
    )
    .map_err(|e| anyhow::anyhow!("the portal's templates do not load: {e}"))?
    .with_scaffolder(scaffolder);
    let state = match &docs {
        Some(docs) => state.with_docs(docs.clone()),
        None => state,
    };
    // The index builds in the background: /readyz answers as soon as the catalog does, and
    // search answers 503 ("being built") until the index is complete.
    let (state, search_task) = if config.search.enabled {
        let search = Arc::new(
            paved_search::SearchService::new(
                catalog.clone(),
                paved_search::SearchSettings {
                    poll_interval: config.search.poll_interval.0,
                    ..paved_search::SearchSettings::default()
                },
            )
            .context("cannot create the search index")?
            .with_docs(stores.docs.clone()),
        );
        let task = search.clone().spawn();
        (state.with_search(search), Some(task))
    } else {
        (state, None)
    };

    // The address goes to stdout (port 0 picks one; scripts and tests read it from here).
    // A server whose stdout cannot be written keeps serving: the log says where it listens.
    if let Err(error) = outln!("paved listening on http://{address}") {
        tracing::warn!(%error, "cannot print the address to stdout");
    }
    tracing::info!(%address, backend = catalog.backend(), locations = specs.len(), "paved listening on http://{address}");
    let served = paved_server::serve(listener, state, shutdown_signal()).await;
    refresh_loop.abort();
    let _ = refresh_loop.await;
    if let Some(follower) = docs_follower {
        follower.abort();
        let _ = follower.await;
    }
    if let Some(task) = search_task {
        task.abort();
        let _ = task.await;
    }
    let _ = stop_jobs.send(true);
    let _ = job_runner.await;
    catalog.close().await;
    served.context("the HTTP server stopped")
}

/// `catalog.rules` and the locations' own rules, checked: a bad pattern stops the start with
/// the rule's place in the configuration.
fn catalog_rules(config: &Config) -> anyhow::Result<CatalogRules> {
    fn convert(rules: &[RuleConfig], key: &str) -> anyhow::Result<Vec<CatalogRule>> {
        rules
            .iter()
            .enumerate()
            .map(|(i, rule)| {
                let mut converted = CatalogRule::allow(&rule.allow);
                if let Some(locations) = &rule.locations {
                    let locations = locations
                        .iter()
                        .enumerate()
                        .map(|(j, l)| {
                            RuleLocation::new(
                                l.kind.map(location_kind),
                                l.exact.as_deref().or(l.target.as_deref()),
                                l.pattern.as_deref(),
                            )
                            .map_err(|e| anyhow::anyhow!("{key}[{i}].locations[{j}]: {e}"))
                        })
                        .collect::<anyhow::Result<Vec<_>>>()?;
                    converted = converted.from_locations(locations);
                }
                Ok(converted)
            })
            .collect()
    }
    let mut rules = match &config.catalog.rules {
        None => CatalogRules::allow_all(),
        Some(global) => CatalogRules::global(convert(global, "catalog.rules")?),
    };
    for (i, location) in config.catalog.locations.iter().enumerate() {
        if let Some(own) = &location.rules {
            let spec = LocationSpec::new(location_kind(location.kind), location.target.clone());
            rules = rules.with_location_rules(
                &spec,
                convert(own, &format!("catalog.locations[{i}].rules"))?,
            );
        }
    }
    Ok(rules)
}

/// This process's name on the leases it takes: unique per process, readable in the jobs table.
fn worker_id() -> String {
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("paved-{}-{started}", std::process::id())
}

fn location_kind(kind: LocationType) -> &'static str {
    match kind {
        LocationType::File => "file",
        LocationType::Url => "url",
    }
}

/// Resolves on Ctrl-C or SIGTERM, so in-flight requests finish before exit.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_arguments_are_classified() {
        let url = location_from_argument("https://git.example/org/repo.git").expect("url");
        assert_eq!(url.kind, LocationType::Url);
        assert_eq!(
            location_from_argument("git@git.example:org/repo.git")
                .expect("ssh")
                .kind,
            LocationType::Url
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("catalog-info.yaml");
        std::fs::write(&file, "").expect("write");
        let local = location_from_argument(&file.display().to_string()).expect("file");
        assert_eq!(
            (local.kind, PathBuf::from(&local.target)),
            (LocationType::File, file.clone())
        );
        assert_eq!(folder_of(&file), dir.path());
        let err = location_from_argument("./no/such/catalog.yaml").expect_err("missing");
        assert!(err.to_string().contains("no such file"), "{err}");

        // A glob under an existing folder is a file location whose root is that folder.
        let pattern = format!("{}/*/catalog-info.yaml", dir.path().display());
        let glob = location_from_argument(&pattern).expect("glob");
        assert_eq!(
            (glob.kind, glob.target.as_str()),
            (LocationType::File, pattern.as_str())
        );
        assert_eq!(folder_of(Path::new(&glob.target)), dir.path());
        let err = location_from_argument("/no/such/folder/*.yaml").expect_err("missing base");
        assert!(err.to_string().contains("/no/such/folder"), "{err}");
    }

    #[test]
    fn a_local_git_repository_is_read_through_git() {
        let dir = tempfile::tempdir().expect("temp dir");
        let git = |args: &[&str]| {
            let status = std::process::Command::new("git")
                .args(args)
                .current_dir(dir.path())
                .status()
                .expect("git runs");
            assert!(status.success(), "git {args:?}");
        };
        git(&["init", "-q", "--bare", "web.git"]);
        git(&["init", "-q", "work"]);
        let bare = dir.path().join("web.git").display().to_string();
        let work = dir.path().join("work").display().to_string();
        for (value, kind) in [
            (bare.clone(), LocationType::Url),
            (
                format!("{bare}?ref=v2&path=svc/catalog-info.yaml"),
                LocationType::Url,
            ),
            (format!("{work}?ref=main"), LocationType::Url),
            // A working tree named alone is a folder of files, uncommitted changes included.
            (work.clone(), LocationType::File),
        ] {
            let location = location_from_argument(&value).expect("classified");
            assert_eq!((location.kind, location.target), (kind, value));
        }
    }

    #[test]
    fn configured_local_repositories_and_publish_folders_are_allowed_roots() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("paved.yaml");
        std::fs::write(
            &path,
            concat!(
                "catalog:\n",
                "  allowed_roots: [/srv/extra]\n",
                "  locations:\n",
                "    - {type: file, target: /srv/catalog/all.yaml}\n",
                "    - {type: url, target: '/srv/git/web.git?ref=v2'}\n",
                "    - {type: url, target: 'file:///srv/git/api.git'}\n",
                "    - {type: url, target: 'https://git.example/org/repo.git'}\n",
                "scaffolder:\n",
                "  local_git_roots: [/srv/published]\n",
            ),
        )
        .expect("write config");
        let config = Config::load(&ConfigSources {
            explicit_file: Some(path),
            ..Default::default()
        })
        .expect("loads");
        let roots = catalog_settings(&config).allowed_roots;
        assert_eq!(
            roots,
            [
                "/srv/catalog",
                "/srv/extra",
                "/srv/git/api.git",
                "/srv/git/web.git",
                "/srv/published"
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn catalog_rules_come_from_the_configuration_and_bad_patterns_name_their_place() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("paved.yaml");
        let load = |yaml: &str| {
            std::fs::write(&path, yaml).expect("write config");
            Config::load(&ConfigSources {
                explicit_file: Some(path.clone()),
                ..Default::default()
            })
        };
        let config = load(
            "catalog:\n  rules:\n    - allow: [Component]\n    - allow: [Group]\n      \
             locations:\n        - type: url\n          pattern: 'https://git.example/org/*'\n  \
             locations:\n    - type: file\n      target: /srv/people.yaml\n      rules:\n        \
             - allow: [User]\n",
        )
        .expect("loads");
        let rules = catalog_rules(&config).expect("valid rules");
        let people = LocationSpec::new("file", "/srv/people.yaml");
        let other = LocationSpec::new("file", "/srv/other.yaml");
        assert!(rules.allows("component", &other, "file:/srv/other.yaml"));
        assert!(!rules.allows("user", &other, "file:/srv/other.yaml"));
        assert!(rules.allows("user", &people, "file:/srv/people.yaml"));
        assert!(rules.allows("group", &other, "url:https://git.example/org/people"));
        assert!(!rules.allows("group", &other, "file:/srv/other.yaml"));

        let bad = load(
            "catalog:\n  rules:\n    - allow: [Group]\n      locations:\n        - pattern: 'a['\n",
        )
        .expect("loads");
        let error = catalog_rules(&bad).expect_err("bad pattern").to_string();
        assert!(
            error.starts_with("catalog.rules[0].locations[0]"),
            "{error}"
        );
        let unknown = load("catalog:\n  rules:\n    - allow: [Group]\n      deny: [User]\n")
            .expect_err("unknown key");
        assert!(unknown.to_string().contains("deny"), "{unknown}");
    }

    #[test]
    fn demo_is_written_to_the_data_dir() {
        let dir = tempfile::tempdir().expect("temp dir");
        let catalog_file = write_demo(dir.path()).expect("demo written");
        assert_eq!(catalog_file, dir.path().join("demo/catalog-info.yaml"));
        assert!(catalog_file.is_file());
        // Files referred to by `$text` placeholders come along; the check script does not.
        assert!(dir.path().join("demo/apis/specs/payments.proto").is_file());
        assert!(!dir.path().join("demo/check_demo.py").exists());
        // The golden paths come whole: templates, skeleton sources in every language, dotfiles.
        let skeletons = dir.path().join("demo/golden-paths");
        assert!(skeletons.join("all.yaml").is_file());
        assert!(
            skeletons
                .join("python-fastapi-service/skeleton/src/app/main.py")
                .is_file()
        );
        assert!(
            skeletons
                .join("rust-axum-service/skeleton/.github/workflows/ci.yml")
                .is_file()
        );
        assert!(skeletons.join("go-service/skeleton/.gitignore").is_file());
        // Files referred to by `$text` placeholders come along; the check script does not.
        assert!(dir.path().join("demo/apis/specs/payments.proto").is_file());
        assert!(!dir.path().join("demo/check_demo.py").exists());
    }
}
