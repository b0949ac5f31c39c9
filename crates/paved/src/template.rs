//! `paved template run|dry-run`: runs a Software Template on this machine with the scaffolder
//! engine the server uses (same rendering, same actions, same guardrails).
//!
//! The template is a `template.yaml` (or a folder holding one), or a Template entity of the
//! catalog of `--server`, read from its location (a local folder, or a git checkout). With a
//! server, the guardrails ask its catalog whether the owner exists and the name is free, and
//! `catalog:register` registers there; without one, only the schema and the naming pattern are
//! checked and catalog actions fail with a message that says to pass `--server`.

use crate::client::Api;
use anyhow::{Context, anyhow, bail};
use async_trait::async_trait;
use clap::{Args, Subcommand};
use paved_model::{EntityRef, RefDefaults};
use paved_scaffolder::actions::{
    ActionRegistry, CatalogAccess, Services, location_type, registered_refs,
};
use paved_scaffolder::service::check_values;
use paved_scaffolder::{RunOptions, TaskLog, Template, parse_template, run_template};
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Run a template: render it into --output and run every step (publish, register) for real.
    Run(RunArgs),
    /// Render a template without publishing or registering anything; --output keeps the files.
    DryRun(RunArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A template.yaml file, a folder holding one, or a Template entity reference
    /// (`template:default/rust-axum-service`, `rust-axum-service`) in the catalog of --server.
    template: String,
    /// A YAML or JSON file with the form's values.
    #[arg(long, value_name = "FILE")]
    values: Option<PathBuf>,
    /// One value, over those of --values (repeatable). The value is read as YAML: `port=8080`
    /// is a number, `name=orders` a string.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// The task's workspace: where the rendered files are left. Must be empty or not exist.
    #[arg(long, value_name = "DIR")]
    output: Option<PathBuf>,
    /// A paved server whose catalog checks owners and names, provides templates by reference and
    /// receives catalog:register.
    #[arg(long, env = "PAVED_URL", value_name = "URL")]
    server: Option<String>,
    /// API token for --server (sent as a bearer token).
    #[arg(long, env = "PAVED_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Configuration file for publishing (`scaffolder.git_hosts`, `scaffolder.local_git_roots`,
    /// naming); default ./paved.yaml when it exists.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
}

pub fn run(command: TemplateCommand) -> anyhow::Result<ExitCode> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (args, dry_run) = match command {
        TemplateCommand::Run(args) => (args, false),
        TemplateCommand::DryRun(args) => (args, true),
    };
    runtime.block_on(run_async(args, dry_run))
}

/// A template ready to run: parsed, with the folder its relative sources start from.
struct Source {
    template: Template,
    dir: Option<PathBuf>,
    /// Where it came from, for messages.
    origin: String,
}

async fn run_async(args: RunArgs, dry_run: bool) -> anyhow::Result<ExitCode> {
    let config = crate::serve::load_config(&crate::ConfigArgs {
        config: args.config.clone(),
        port: None,
        bind: None,
        data_dir: None,
        database: None,
        locations: Vec::new(),
    })?;
    let mut settings = crate::serve::scaffolder_settings(&config)?;
    let api = match &args.server {
        Some(server) => Some(Arc::new(Api::new(server, args.token.clone())?)),
        None => None,
    };
    let scratch = tempfile::tempdir().context("cannot create a scratch folder")?;
    let git = paved_catalog::git::GitSettings {
        cache_dir: scratch.path().join("git"),
        timeout: config.catalog.git.timeout.0,
        max_bytes: config.catalog.git.max_bytes,
    };
    let source = load_source(&args.template, api.as_deref(), &git).await?;
    let mut values = read_values(args.values.as_deref(), &args.set)?;
    // What the portal's form pre-fills, a values file may leave out.
    if let Value::Object(map) = &mut values {
        for step in &source.template.parameters {
            paved_scaffolder::form::apply_defaults(&step.schema, map);
        }
    }

    let workspace = match &args.output {
        Some(dir) => prepare_output(dir)?,
        None if dry_run => scratch.path().join("workspace"),
        None => bail!("--output is required: the folder the template renders into"),
    };
    // A local remote next to the output is fine to publish to when no roots are configured.
    if settings.git.local_roots.is_empty()
        && let Some(parent) = workspace.parent()
    {
        settings.git.local_roots.push(parent.to_path_buf());
    }

    let catalog: Option<Arc<dyn CatalogAccess>> = api
        .clone()
        .map(|api| Arc::new(RemoteCatalog(api)) as Arc<dyn CatalogAccess>);
    let errors = check_values(&source.template, &values, &settings, catalog.as_deref()).await;
    if !errors.is_empty() {
        let mut message = format!("{}: the values are not valid:", source.origin);
        for e in &errors {
            let field = if e.field.is_empty() {
                "(form)"
            } else {
                &e.field
            };
            message.push_str(&format!("\n  {field}: {}", e.message));
        }
        bail!(message);
    }

    let services = Services {
        catalog,
        git: settings.git.clone(),
        fetch_git: Some(git),
    };
    let registry = ActionRegistry::builtin();
    let log = TaskLog::collect(&Map::new(), true);
    let (_cancel, cancel) = tokio::sync::watch::channel(false);
    eprintln!(
        "{} {} into {}",
        if dry_run { "dry run of" } else { "running" },
        source.template.entity_ref,
        workspace.display()
    );
    let outcome = run_template(
        &registry,
        &services,
        RunOptions {
            task_id: format!("cli-{}", uuid::Uuid::new_v4()),
            template: &source.template,
            template_dir: source.dir.clone(),
            values,
            secrets: Map::new(),
            user: json!({ "ref": Value::Null }),
            workspace: workspace.clone(),
            dry_run,
        },
        &log,
        cancel,
    )
    .await
    .map_err(|e| anyhow!("{}: {e}", source.origin))?;

    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(&workspace)
        .sort_by_file_name()
        .min_depth(1)
        .into_iter()
        .filter_map(Result::ok)
    {
        if entry.file_type().is_file()
            && !entry
                .path()
                .strip_prefix(&workspace)
                .is_ok_and(|p| p.starts_with(".git"))
        {
            files.push(entry.path().to_path_buf());
        }
    }
    if args.output.is_some() {
        outln!("{} files in {}", files.len(), workspace.display())?;
    } else {
        for file in &files {
            outln!(
                "{}",
                file.strip_prefix(&workspace).unwrap_or(file).display()
            )?;
        }
    }
    print_output(&outcome.output)?;
    Ok(ExitCode::SUCCESS)
}

/// The template named on the command line: a file, a folder, or a catalog reference.
async fn load_source(
    text: &str,
    api: Option<&Api>,
    git: &paved_catalog::git::GitSettings,
) -> anyhow::Result<Source> {
    let path = Path::new(text);
    if path.exists() {
        let file = if path.is_dir() {
            path.join("template.yaml")
        } else {
            path.to_path_buf()
        };
        let file = std::path::absolute(&file)
            .with_context(|| format!("cannot resolve {}", file.display()))?;
        let entity = read_template_file(&file)?;
        let template = parse_entity(&entity, &file.display().to_string())?;
        return Ok(Source {
            template,
            dir: file.parent().map(Path::to_path_buf),
            origin: file.display().to_string(),
        });
    }
    if text.ends_with(".yaml")
        || text.ends_with(".yml")
        || text.contains('/') && !text.contains(':')
    {
        bail!("{text}: no such file");
    }
    let entity_ref = EntityRef::parse(
        text,
        RefDefaults {
            kind: Some("template"),
            namespace: "default",
        },
    )
    .map_err(|e| anyhow!("'{text}' is neither a file nor an entity reference: {e}"))?;
    let Some(api) = api else {
        bail!(
            "{text} is not a file; to run a template of the catalog, pass --server (or PAVED_URL)"
        );
    };
    let entity = api
        .call(
            Method::GET,
            &format!(
                "entities/by-name/{}/{}/{}",
                entity_ref.kind(),
                entity_ref.namespace(),
                entity_ref.name()
            ),
            &[],
            None,
        )
        .await
        .with_context(|| format!("cannot read {entity_ref}"))?;
    let template = parse_entity(&entity, &entity_ref.to_string())?;
    let location = entity
        .pointer("/metadata/annotations/backstage.io~1managed-by-location")
        .and_then(Value::as_str)
        .unwrap_or("");
    let dir = if let Some(file) = location.strip_prefix("file:") {
        let dir = Path::new(file).parent().map(Path::to_path_buf);
        match dir {
            Some(d) if d.is_dir() => Some(d),
            _ => bail!(
                "{entity_ref} is read from {file} on the server's machine, which is not here; \
                 pass the path of its template.yaml instead"
            ),
        }
    } else if let Some(target) = location.strip_prefix("url:") {
        let git_target = paved_catalog::location::GitTarget::parse(target)?;
        let checkout = paved_catalog::git::checkout(git, &git_target).await?;
        let folder = Path::new(&git_target.path)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        Some(
            paved_scaffolder::confine::resolve_inside(&checkout, &folder.to_string_lossy())
                .map_err(|e| anyhow!(e.0))?,
        )
    } else {
        None
    };
    Ok(Source {
        template,
        dir,
        origin: entity_ref.to_string(),
    })
}

/// The Template entity of a file (the first document of kind Template).
fn read_template_file(file: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let documents: Vec<Value> = serde_saphyr::from_multiple(&text)
        .map_err(|e| anyhow!("{}: not valid YAML: {e}", file.display()))?;
    documents
        .into_iter()
        .find(|d| {
            d.get("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| k.eq_ignore_ascii_case("template"))
        })
        .ok_or_else(|| anyhow!("{}: holds no entity of kind Template", file.display()))
}

fn parse_entity(entity: &Value, origin: &str) -> anyhow::Result<Template> {
    let (template, diagnostics) = parse_template(entity);
    match template {
        Some(t) if !diagnostics.iter().any(|d| d.is_error()) => Ok(t),
        _ => {
            let mut message = format!("{origin}: not a usable template:");
            for d in &diagnostics {
                message.push_str(&format!("\n  {d}"));
            }
            bail!(message)
        }
    }
}

/// The values: the file's, then each `--set`.
fn read_values(file: Option<&Path>, set: &[String]) -> anyhow::Result<Value> {
    let mut values = match file {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let value: Value = serde_saphyr::from_str(&text)
                .map_err(|e| anyhow!("{}: not valid YAML: {e}", file.display()))?;
            match value {
                Value::Object(map) => map,
                Value::Null => Map::new(),
                _ => bail!(
                    "{}: the values must be a mapping of names to values",
                    file.display()
                ),
            }
        }
        None => Map::new(),
    };
    for item in set {
        let (key, text) = item
            .split_once('=')
            .ok_or_else(|| anyhow!("--set {item}: expected KEY=VALUE"))?;
        let value: Value = if text.is_empty() {
            Value::String(String::new())
        } else {
            serde_saphyr::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
        };
        values.insert(key.trim().to_string(), value);
    }
    Ok(Value::Object(values))
}

/// The output folder: created when missing, refused when it holds anything (a run never writes
/// over files it did not make).
fn prepare_output(dir: &Path) -> anyhow::Result<PathBuf> {
    if dir.exists() {
        let mut entries =
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
        if entries.next().is_some() {
            bail!("--output {}: the folder is not empty", dir.display());
        }
    } else {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::path::absolute(dir).with_context(|| format!("cannot resolve {}", dir.display()))
}

fn print_output(output: &Value) -> std::io::Result<()> {
    if let Some(links) = output.get("links").and_then(Value::as_array) {
        for link in links {
            let title = link.get("title").and_then(Value::as_str).unwrap_or("link");
            if let Some(url) = link.get("url").and_then(Value::as_str) {
                outln!("{title}: {url}")?;
            } else if let Some(entity) = link.get("entityRef").and_then(Value::as_str) {
                outln!("{title}: {entity}")?;
            }
        }
    }
    if let Some(text) = output.get("text").and_then(Value::as_array) {
        for item in text {
            if let Some(content) = item.get("content").and_then(Value::as_str) {
                outln!("{content}")?;
            }
        }
    }
    Ok(())
}

/// The catalog of `--server`, for the guardrails and catalog actions.
struct RemoteCatalog(Arc<Api>);

#[async_trait]
impl CatalogAccess for RemoteCatalog {
    async fn register_location(&self, target: &str) -> Result<Vec<String>, String> {
        let result = self
            .0
            .call(
                Method::POST,
                "locations",
                &[],
                Some(json!({ "type": location_type(target), "target": target })),
            )
            .await
            .map_err(|e| format!("{e:#}"))?;
        let entities = result
            .get("entities")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(registered_refs(&entities))
    }

    async fn entity(&self, entity_ref: &str) -> Result<Option<Value>, String> {
        let parsed = EntityRef::parse_full(entity_ref).map_err(|e| e.to_string())?;
        let path = format!(
            "entities/by-name/{}/{}/{}",
            parsed.kind(),
            parsed.namespace(),
            parsed.name()
        );
        self.0
            .call_optional(Method::GET, &path, &[], None, false)
            .await
            .map_err(|e| format!("{e:#}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_values_are_yaml_scalars_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("values.yaml");
        std::fs::write(&file, "name: a\nport: 1\n").unwrap();
        let values = read_values(
            Some(&file),
            &[
                "port=8080".into(),
                "name=orders".into(),
                "public=true".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            values,
            json!({ "name": "orders", "port": 8080, "public": true })
        );
        assert!(read_values(None, &["novalue".into()]).is_err());
    }

    #[test]
    fn output_must_be_empty() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
        let error = prepare_output(dir.path()).unwrap_err().to_string();
        assert!(error.contains("not empty"), "{error}");
        let fresh = dir.path().join("new/out");
        assert!(prepare_output(&fresh).unwrap().is_dir());
    }
}
