//! `paved catalog …`: a small client of a running server's Backstage-compatible catalog API.

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use paved_model::{EntityRef, RefDefaults, RefError};
use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// List entities, page by page.
    List {
        #[command(flatten)]
        server: ServerArgs,
        /// Only entities of this kind.
        #[arg(long)]
        kind: Option<String>,
        /// A Backstage filter such as `spec.owner=team-a` or `kind=component,spec.type=service`
        /// (repeatable: an entity matching any of them is listed).
        #[arg(long = "filter", value_name = "FILTER")]
        filters: Vec<String>,
        /// Most entities shown.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Entities asked for per request (the rest is fetched with the page's cursor).
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u16).range(1..=1000))]
        page_size: u16,
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Show one entity as JSON.
    Get {
        #[command(flatten)]
        server: ServerArgs,
        /// Entity reference: kind:namespace/name or kind:name.
        entity: String,
    },
    /// Register a catalog location (a file path or a URL) and show what it provides.
    Import {
        #[command(flatten)]
        server: ServerArgs,
        /// A path to a catalog file on the server's machine, or a URL.
        target: String,
        /// Show what would be imported without registering anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Read again the location that provides an entity.
    Refresh {
        #[command(flatten)]
        server: ServerArgs,
        /// Entity reference: kind:namespace/name or kind:name.
        entity: String,
    },
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Base URL of the paved server.
    #[arg(long, env = "PAVED_URL", default_value = "http://127.0.0.1:7007")]
    server: String,
    /// API token (sent as a bearer token).
    #[arg(long, env = "PAVED_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

pub fn run(command: CatalogCommand) -> anyhow::Result<ExitCode> {
    // One TLS provider in the tree: ring. Installing fails only if one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_async(command))?;
    Ok(ExitCode::SUCCESS)
}

async fn run_async(command: CatalogCommand) -> anyhow::Result<()> {
    match command {
        CatalogCommand::List {
            server,
            kind,
            filters,
            limit,
            page_size,
            format,
        } => {
            let api = Api::from_args(&server)?;
            let filters = combined_filters(kind.as_deref(), &filters);
            let items = list_entities(&api, &filters, limit, usize::from(page_size)).await?;
            match format {
                ListFormat::Json => outln!("{}", serde_json::to_string_pretty(&items)?)?,
                ListFormat::Table => out!("{}", entity_table(&items))?,
            }
        }
        CatalogCommand::Get { server, entity } => {
            let api = Api::from_args(&server)?;
            let entity_ref = parse_ref(&entity)?;
            let path = format!(
                "entities/by-name/{}/{}/{}",
                segment(entity_ref.kind()),
                segment(entity_ref.namespace()),
                segment(entity_ref.name())
            );
            let entity = api.call(Method::GET, &path, &[], None).await?;
            outln!("{}", serde_json::to_string_pretty(&entity)?)?;
        }
        CatalogCommand::Import {
            server,
            target,
            dry_run,
        } => {
            let api = Api::from_args(&server)?;
            let (kind, target) = location_of(&target);
            let query: Vec<(&str, String)> = if dry_run {
                vec![("dryRun", "true".to_owned())]
            } else {
                Vec::new()
            };
            let spinner = spinner(&format!("reading {kind}:{target}"));
            let result = api
                .call(
                    Method::POST,
                    "locations",
                    &query,
                    Some(json!({"type": kind, "target": target})),
                )
                .await;
            spinner.finish_and_clear();
            out!("{}", import_summary(&result?, dry_run))?;
        }
        CatalogCommand::Refresh { server, entity } => {
            let api = Api::from_args(&server)?;
            let entity_ref = parse_ref(&entity)?;
            api.call(
                Method::POST,
                "refresh",
                &[],
                Some(json!({"entityRef": entity_ref.to_string()})),
            )
            .await?;
            outln!("refreshed {entity_ref}")?;
        }
    }
    Ok(())
}

fn parse_ref(text: &str) -> anyhow::Result<EntityRef> {
    let hint = "give it as kind:namespace/name or kind:name (e.g. component:default/checkout)";
    EntityRef::parse(text, RefDefaults::default()).map_err(|e| match e {
        RefError::MissingKind(_) => anyhow!("entity reference '{text}' has no kind; {hint}"),
        other => anyhow!("{other}; {hint}"),
    })
}

/// `--kind` is ANDed into every `--filter` (Backstage ORs separate filter parameters and ANDs
/// the conditions inside one).
fn combined_filters(kind: Option<&str>, filters: &[String]) -> Vec<String> {
    match (kind, filters.is_empty()) {
        (None, _) => filters.to_vec(),
        (Some(kind), true) => vec![format!("kind={kind}")],
        (Some(kind), false) => filters.iter().map(|f| format!("kind={kind},{f}")).collect(),
    }
}

/// A path that exists is a `file` location (absolute, as the server needs); anything else is
/// a `url` (`https://…`, `git@host:org/repo.git`).
fn location_of(target: &str) -> (&'static str, String) {
    let path = Path::new(target);
    if !target.contains("://")
        && !target.starts_with("git@")
        && !paved_catalog::location::is_local_git_target(target)
        && path.exists()
    {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        ("file", absolute.display().to_string())
    } else {
        ("url", target.to_owned())
    }
}

fn segment(text: &str) -> String {
    // Entity names are [a-z0-9-_.]; percent-encode anything else rather than trust it.
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn spinner(message: &str) -> ProgressBar {
    if !std::io::stdout().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// Pages through `by-query` with its cursor until `limit` entities or the end.
async fn list_entities(
    api: &Api,
    filters: &[String],
    limit: usize,
    page_size: usize,
) -> anyhow::Result<Vec<Value>> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    while items.len() < limit {
        let page_size = (limit - items.len()).min(page_size);
        let mut query: Vec<(&str, String)> = vec![("limit", page_size.to_string())];
        match &cursor {
            // A cursor carries the filters of the first page; Backstage rejects both together.
            Some(cursor) => query.push(("cursor", cursor.clone())),
            None => {
                query.push(("orderField", "metadata.name,asc".to_owned()));
                query.extend(filters.iter().map(|f| ("filter", f.clone())));
            }
        }
        let page = api
            .call(Method::GET, "entities/by-query", &query, None)
            .await?;
        let page_items = page
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let got = page_items.len();
        items.extend(page_items);
        cursor = page
            .pointer("/pageInfo/nextCursor")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if cursor.is_none() || got == 0 {
            break;
        }
    }
    items.truncate(limit);
    Ok(items)
}

fn text_at<'a>(entity: &'a Value, pointer: &str) -> &'a str {
    entity
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn entity_table(items: &[Value]) -> String {
    let header = ["KIND", "NAMESPACE", "NAME", "TYPE", "OWNER"];
    let rows: Vec<[String; 5]> = items
        .iter()
        .map(|e| {
            let namespace = match text_at(e, "/metadata/namespace") {
                "" => "default",
                ns => ns,
            };
            [
                text_at(e, "/kind").to_owned(),
                namespace.to_owned(),
                text_at(e, "/metadata/name").to_owned(),
                text_at(e, "/spec/type").to_owned(),
                text_at(e, "/spec/owner").to_owned(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push_row = |cells: &[&str]| {
        let line: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    };
    push_row(&header);
    for row in &rows {
        push_row(&row.each_ref().map(String::as_str));
    }
    out
}

fn import_summary(result: &Value, dry_run: bool) -> String {
    let location = result.get("location").cloned().unwrap_or(Value::Null);
    let entities = result
        .get("entities")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out = String::new();
    let where_ = format!(
        "{}:{}",
        text_at(&location, "/type"),
        text_at(&location, "/target")
    );
    if dry_run {
        let exists = result
            .get("exists")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        out.push_str(&format!(
            "dry run: {where_} would provide {} entit{}{}\n",
            entities.len(),
            if entities.len() == 1 { "y" } else { "ies" },
            if exists { " (already registered)" } else { "" }
        ));
    } else {
        out.push_str(&format!(
            "registered location {} ({where_}): {} entit{}\n",
            text_at(&location, "/id"),
            entities.len(),
            if entities.len() == 1 { "y" } else { "ies" }
        ));
    }
    for entity in &entities {
        let namespace = match text_at(entity, "/metadata/namespace") {
            "" => "default",
            ns => ns,
        };
        out.push_str(&format!(
            "  {}:{}/{}\n",
            text_at(entity, "/kind").to_ascii_lowercase(),
            namespace,
            text_at(entity, "/metadata/name")
        ));
    }
    out
}

/// The catalog API of one server.
pub(crate) struct Api {
    client: reqwest::Client,
    /// `--server` as given, for messages.
    server: String,
    base: Url,
    token: Option<String>,
}

impl Api {
    fn from_args(args: &ServerArgs) -> anyhow::Result<Self> {
        Api::new(&args.server, args.token.clone())
    }

    pub(crate) fn new(server: &str, token: Option<String>) -> anyhow::Result<Self> {
        let mut base =
            Url::parse(server).with_context(|| format!("invalid --server URL '{server}'"))?;
        if !matches!(base.scheme(), "http" | "https") {
            bail!("--server must be an http:// or https:// URL, not '{server}'");
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let base = base.join("api/catalog/").context("invalid --server URL")?;
        let client = reqwest::Client::builder()
            .user_agent(concat!("paved-cli/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .build()
            .context("cannot set up the HTTP client")?;
        Ok(Api {
            client,
            server: server.to_string(),
            base,
            token,
        })
    }

    /// Calls the API; a non-2xx answer becomes an error carrying Backstage's `error.message`.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        self.call_optional(method, path, query, body, true)
            .await?
            .ok_or_else(|| anyhow!("the server answered 404 Not Found"))
    }

    /// Like [`Api::call`]; a 404 answer is `None` unless `not_found_is_error`.
    pub(crate) async fn call_optional(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
        not_found_is_error: bool,
    ) -> anyhow::Result<Option<Value>> {
        let mut url = self.base.join(path).context("invalid request path")?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in query {
                pairs.append_pair(key, value);
            }
        }
        let mut request = self.client.request(method, url.clone());
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| anyhow!("cannot reach {}: {}", self.server, root_cause(&e)))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .context("cannot read the server's answer")?;
        if status == StatusCode::NOT_FOUND && !not_found_is_error {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(anyhow!(server_error_message(status, &text)));
        }
        if text.trim().is_empty() {
            return Ok(Some(Value::Null));
        }
        serde_json::from_str(&text)
            .map(Some)
            .with_context(|| format!("the server's answer to {url} is not JSON"))
    }
}

/// The innermost cause ("Connection refused (os error 111)"): reqwest's outer layers only
/// repeat the URL.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

/// Backstage's error body is `{"error": {"name", "message"}, …}`; anything else is shown as
/// the status alone.
fn server_error_message(status: StatusCode, body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v.pointer("/error/message"))
        .and_then(Value::as_str);
    match message {
        Some(message) if status == StatusCode::UNAUTHORIZED => {
            format!("{message} ({status}); give a token with --token or PAVED_TOKEN")
        }
        Some(message) => format!("{message} ({status})"),
        None => format!("the server answered {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_is_anded_into_each_filter() {
        assert_eq!(combined_filters(Some("Component"), &[]), ["kind=Component"]);
        assert_eq!(
            combined_filters(Some("api"), &["spec.owner=a".into(), "spec.owner=b".into()]),
            ["kind=api,spec.owner=a", "kind=api,spec.owner=b"]
        );
        assert_eq!(combined_filters(None, &["x=y".into()]), ["x=y"]);
    }

    #[test]
    fn server_errors_show_backstage_message() {
        let body = r#"{"error":{"name":"NotFoundError","message":"no entity named 'component:default/x'"}}"#;
        assert_eq!(
            server_error_message(StatusCode::NOT_FOUND, body),
            "no entity named 'component:default/x' (404 Not Found)"
        );
        assert_eq!(
            server_error_message(StatusCode::BAD_GATEWAY, "<html>"),
            "the server answered 502 Bad Gateway"
        );
    }

    #[test]
    fn urls_and_missing_paths_are_url_locations() {
        assert_eq!(location_of("https://git.example/a.git").0, "url");
        assert_eq!(location_of("git@git.example:org/a.git").0, "url");
        let dir = tempfile::tempdir().expect("temp dir");
        let (kind, target) = location_of(&dir.path().display().to_string());
        assert_eq!((kind, target), ("file", dir.path().display().to_string()));
    }

    #[test]
    fn table_aligns_columns() {
        let items = vec![
            json!({"kind": "Component", "metadata": {"name": "checkout"}, "spec": {"type": "service", "owner": "team-a"}}),
            json!({"kind": "API", "metadata": {"name": "payments-api", "namespace": "shop"}, "spec": {}}),
        ];
        assert_eq!(
            entity_table(&items),
            "KIND       NAMESPACE  NAME          TYPE     OWNER\n\
             Component  default    checkout      service  team-a\n\
             API        shop       payments-api\n"
        );
    }
}
