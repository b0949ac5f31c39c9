//! The typed configuration of `paved serve`, layered defaults → `paved.yaml` → `PAVED_*`
//! environment → flags, and the generator of `docs/configuration.md`.
//!
//! Every key is declared once, in a `config_section!` below, with its doc string and default;
//! the reference page is generated from those declarations (`paved config docs`) and a test
//! fails when the committed page is stale.
//!
//! Each layer is checked on its own before the layers are merged, so an unknown key or a bad
//! value is reported against the file (with line and column) or the environment variable it
//! came from, rather than against whichever layer first created its section.

use figment::Figment;
use figment::providers::Serialized;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What went wrong while building the configuration; the message names the key and its source.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

/// One documented key, as shown in `docs/configuration.md`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldDoc {
    /// Dotted key (`server.port`).
    pub key: String,
    /// The default, rendered as it would be written in `paved.yaml`.
    pub default: String,
    pub doc: String,
}

/// A configuration section that can list its keys with their docs and defaults.
pub trait Documented {
    fn field_docs(prefix: &str, out: &mut Vec<FieldDoc>);
}

fn join_key(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}.{field}")
    }
}

/// Renders a default value the way a user would write it in YAML.
fn render_default<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Json::String(s)) => s,
        Ok(Json::Null) => "(unset)".to_owned(),
        Ok(other) => other.to_string(),
        Err(_) => "(unset)".to_owned(),
    }
}

/// Joins `///` lines into one paragraph-preserving text.
fn doc_text(lines: &[&str]) -> String {
    let mut out = String::new();
    for line in lines {
        let line = line.strip_prefix(' ').unwrap_or(line);
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
    }
    out
}

/// Declares a section struct: leaf keys with doc and default (optionally the default as shown
/// in the docs when it is computed), then nested sections.
macro_rules! config_section {
    (
        $(#[doc = $sdoc:literal])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:literal])*
                pub $field:ident : $ty:ty = $default:expr $(; shown $shown:literal)?,
            )*
        }
        $(sections {
            $(
                $(#[doc = $ndoc:literal])*
                pub $sfield:ident : $sty:ty,
            )*
        })?
    ) => {
        $(#[doc = $sdoc])*
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            $( $(#[doc = $doc])* pub $field: $ty, )*
            $($( $(#[doc = $ndoc])* pub $sfield: $sty, )*)?
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    $( $field: $default, )*
                    $($( $sfield: <$sty>::default(), )*)?
                }
            }
        }

        impl Documented for $name {
            fn field_docs(prefix: &str, out: &mut Vec<FieldDoc>) {
                let defaults = <$name>::default();
                $(
                    let shown: Option<&str> = None $(.or(Some($shown)))?;
                    out.push(FieldDoc {
                        key: join_key(prefix, stringify!($field)),
                        default: shown
                            .map(str::to_owned)
                            .unwrap_or_else(|| render_default(&defaults.$field)),
                        doc: doc_text(&[$($doc),*]),
                    });
                )*
                $($( <$sty as Documented>::field_docs(&join_key(prefix, stringify!($sfield)), out); )*)?
                let _ = defaults;
            }
        }
    };
}

config_section! {
    /// The effective configuration of `paved serve`.
    pub struct Config {
        /// Folder for paved's own files: the SQLite database (unless `database.url` says
        /// otherwise), git checkouts and the demo catalog. Created if missing.
        pub data_dir: PathBuf = PathBuf::from("./paved-data"),
    }
    sections {
        pub server: ServerConfig,
        pub database: DatabaseConfig,
        pub catalog: CatalogConfig,
        pub auth: AuthConfig,
        pub log: LogConfig,
        pub retention: RetentionConfig,
        pub scaffolder: ScaffolderConfig,
        pub docs: DocsConfig,
        pub search: SearchConfig,
    }
}

config_section! {
    /// Documentation sites (TechDocs): built from the `mkdocs.yml` and Markdown next to each
    /// entity with a `backstage.io/techdocs-ref` annotation, as background jobs.
    pub struct DocsConfig {
        /// Whether sites are built and served (the Docs tab, `/docs`, `/api/techdocs`).
        pub enabled: bool = true,
        /// Size limit of all files of one site's docs folder together (bytes); a larger site
        /// fails to build with that message.
        pub max_site_bytes: u64 = 64 * 1024 * 1024,
        /// Size limit of one page or image (bytes); a larger file is skipped as a build problem.
        pub max_file_bytes: u64 = 4 * 1024 * 1024,
        /// Most pages one site may have.
        pub max_pages: usize = 5000,
    }
}

config_section! {
    /// Search: each process keeps its own index in memory, built from the catalog at start
    /// (searches answer 503 until then) and kept current from the catalog's change events.
    pub struct SearchConfig {
        /// Whether this process builds an index and answers `/api/search` and `/search`.
        pub enabled: bool = true,
        /// How often the index reads new change events (an edit is findable within about this
        /// long after its refresh, plus the time to index it).
        pub poll_interval: HumanDuration = HumanDuration(Duration::from_millis(250)),
    }
}

config_section! {
    /// Software templates: where tasks run, where they may publish, the naming convention.
    pub struct ScaffolderConfig {
        /// Git hosts that RepoUrlPicker values (`host?owner=o&repo=r`) resolve through:
        /// `[{host, remote: "file:///srv/git/{owner}/{repo}.git", kind: git|github|gitlab,
        /// api_base_url, username, token_env, token_file}]`. The token is read from the named
        /// environment variable or file, never written in this file.
        pub git_hosts: Vec<GitHostConfig> = Vec::new(),
        /// Folders local git remotes (`file://…` or absolute paths) may be in. Publishing to,
        /// or fetching (`fetch:plain`, `fetch:template`) from, a local path elsewhere is
        /// refused. The catalog may read repositories here (a template's `catalog:register`
        /// of what it published).
        pub local_git_roots: Vec<PathBuf> = Vec::new(),
        /// Time limit for one git command of a publish action.
        pub git_timeout: HumanDuration = HumanDuration(Duration::from_secs(120)),
        /// Author of the commits templates make.
        pub git_author_name: String = "paved scaffolder".to_owned(),
        /// Author e-mail of the commits templates make.
        pub git_author_email: String = "scaffolder@paved.local".to_owned(),
        /// How many jobs (template tasks and other background work) run at once in this process.
        pub concurrency: usize = 2,
    }
    sections {
        pub naming: NamingConfig,
    }
}

config_section! {
    /// The naming convention checked before anything is created.
    pub struct NamingConfig {
        /// A regular expression the EntityNamePicker value must match (default kebab-case).
        pub pattern: String = "^[a-z0-9]+(-[a-z0-9]+)*$".to_owned(),
        /// Longest name allowed.
        pub max_length: usize = 63,
    }
}

/// One entry of `scaffolder.git_hosts`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitHostConfig {
    pub host: String,
    #[serde(default)]
    pub remote: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
}

config_section! {
    /// Where the HTTP server listens.
    pub struct ServerConfig {
        /// Address to listen on. Anything but a loopback address is refused unless
        /// `auth.tokens` is configured.
        pub bind: IpAddr = IpAddr::from([127, 0, 0, 1]),
        /// TCP port. `0` picks a free port (the address is printed at start).
        pub port: u16 = 7007,
    }
}

config_section! {
    /// The database.
    pub struct DatabaseConfig {
        /// `sqlite://path/to/file.db` (created if missing) or `postgres://user@host:port/db`. An
        /// in-memory SQLite database (`sqlite::memory:`) and a read-only one (`?mode=ro`) are
        /// refused at start: paved writes to its database from several connections, which must
        /// open the same file. Being a secret when it holds a password, it may come from a file:
        /// `PAVED_DATABASE__URL_FILE=/run/secrets/db-url`.
        pub url: Option<String> = None; shown "sqlite://<data_dir>/paved.db",
    }
}

config_section! {
    /// Reading the catalog.
    pub struct CatalogConfig {
        /// Where the catalog is read from, in the shape of Backstage's app-config:
        /// a list of `{type: file, target: ./catalog-info.yaml}` or
        /// `{type: url, target: https://git.example/org/repo.git}`. Relative `file` targets are
        /// resolved against the folder of the configuration file. A location's own `rules`
        /// (`rules: [{allow: [User, Group]}]`) add to `catalog.rules` for everything read
        /// through it. A location taken out of this list is removed, with its entities, in
        /// the background once paved starts again (it serves meanwhile).
        pub locations: Vec<LocationConfig> = Vec::new(),
        /// Which kinds of entity locations may provide, as Backstage's `catalog.rules`:
        /// `[{allow: [Component, API, Location]}, {allow: [Group, User], locations: [{type:
        /// url, exact: https://git.example/org/people.git}, {type: file, pattern:
        /// /srv/org/**/*.yaml}]}]`. An entity no rule allows is not stored and is reported as
        /// a processing error on its location. Unset, every kind is allowed (Backstage's
        /// default is `[{allow: [Component, API, Location]}]`).
        pub rules: Option<Vec<RuleConfig>> = None; shown "unset: every kind is allowed",
        /// How often every location is read again (`30s`, `5m`, `1h`).
        pub refresh_interval: HumanDuration = HumanDuration(Duration::from_secs(300)),
        /// Folders `file` locations, and `url` locations of git repositories on this machine
        /// (`/srv/git/web.git`, `file:///…`), may read from (no `../` escapes). The folders of
        /// the configured and `--location` file locations, the configured local
        /// repositories, and `scaffolder.local_git_roots` are always added.
        pub allowed_roots: Vec<PathBuf> = Vec::new(),
        /// Largest catalog file read, in bytes.
        pub max_file_bytes: u64 = 2 * 1024 * 1024,
    }
    sections {
        pub git: GitConfig,
    }
}

config_section! {
    /// Git locations.
    pub struct GitConfig {
        /// Time limit for one clone or fetch.
        pub timeout: HumanDuration = HumanDuration(Duration::from_secs(120)),
        /// Largest checkout kept, in bytes on disk.
        pub max_bytes: u64 = 512 * 1024 * 1024,
    }
}

config_section! {
    /// How long history is kept. A background job prunes it (one replica at a time).
    pub struct RetentionConfig {
        /// Catalog change events (what search, caches and "recently changed" read). A reader
        /// that falls further behind than this rebuilds from the catalog.
        pub changes: HumanDuration = HumanDuration(Duration::from_secs(7 * 24 * 3600)),
        /// Audit log entries.
        pub audit: HumanDuration = HumanDuration(Duration::from_secs(400 * 24 * 3600)),
        /// Finished background jobs (template tasks' jobs, docs builds, …).
        pub jobs: HumanDuration = HumanDuration(Duration::from_secs(30 * 24 * 3600)),
        /// How often pruning runs.
        pub prune_every: HumanDuration = HumanDuration(Duration::from_secs(3600)),
    }
}

config_section! {
    /// Authentication of API clients.
    pub struct AuthConfig {
        /// API tokens accepted as `Authorization: Bearer <token>`, each
        /// `{name, sha256}` (hex SHA-256 of the token, e.g. from `sha256sum`) or
        /// `{name, token_file}` (a file holding the token, read and hashed at start).
        /// A plain token is never accepted in the configuration.
        pub tokens: Vec<TokenConfig> = Vec::new(),
    }
}

config_section! {
    /// Logging.
    pub struct LogConfig {
        /// Level or filter directives (`info`, `debug`, `paved_catalog=debug,info`).
        /// `RUST_LOG`, when set, wins.
        pub level: String = "info".to_owned(),
        /// `text` (for people) or `json` (one object per line, for log collectors).
        pub format: LogFormat = LogFormat::Text,
    }
}

/// How logs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The kind of a catalog location.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LocationType {
    File,
    Url,
}

/// One entry of `catalog.locations`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationConfig {
    #[serde(rename = "type")]
    pub kind: LocationType,
    pub target: String,
    /// Backstage's `rules: [{allow: [Component, …]}]`: kinds this location may provide in
    /// addition to `catalog.rules`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<RuleConfig>>,
}

/// One catalog rule: kinds allowed, optionally only from some locations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    pub allow: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locations: Option<Vec<RuleLocationConfig>>,
}

/// Where a rule applies: `{type, exact}` (one file or repository target) or `{type,
/// pattern}` (a glob over targets); `target` is read as `exact`, as older Backstage configs
/// wrote it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleLocationConfig {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<LocationType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

/// One entry of `auth.tokens`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// Present only to refuse it with a helpful message: plain tokens do not belong in files.
    #[serde(default, skip_serializing)]
    pub token: Option<String>,
}

/// An API token as the server checks it: a name and the SHA-256 of the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedToken {
    pub name: String,
    pub sha256: [u8; 32],
}

/// A duration written the human way (`90s`, `5m`, `1h30m`); a bare number is seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&humantime::format_duration(self.0).to_string())
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as `30s`, `5m` or `1h`")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<HumanDuration, E> {
                Ok(HumanDuration(Duration::from_secs(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<HumanDuration, E> {
                u64::try_from(v)
                    .map(|v| HumanDuration(Duration::from_secs(v)))
                    .map_err(|_| E::custom("a duration cannot be negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<HumanDuration, E> {
                let v = v.trim();
                if let Ok(secs) = v.parse::<u64>() {
                    return Ok(HumanDuration(Duration::from_secs(secs)));
                }
                humantime::parse_duration(v)
                    .map(HumanDuration)
                    .map_err(|e| {
                        E::custom(format!(
                            "invalid duration `{v}`: {e} (try `30s`, `5m`, `1h`)"
                        ))
                    })
            }
        }
        deserializer.deserialize_any(DurationVisitor)
    }
}

// ---- sources and layering ------------------------------------------------------------------

/// Values given as command-line flags; `None` = not given.
#[derive(Clone, Debug, Default)]
pub struct FlagOverrides {
    pub bind: Option<IpAddr>,
    pub port: Option<u16>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    /// Added to `catalog.locations`.
    pub locations: Vec<LocationConfig>,
    /// Added to `catalog.allowed_roots`.
    pub allowed_roots: Vec<PathBuf>,
}

/// Where the layers come from; the environment is passed in so tests need not touch the
/// process's own.
#[derive(Clone, Debug, Default)]
pub struct ConfigSources {
    /// `--config PATH`: must exist.
    pub explicit_file: Option<PathBuf>,
    /// Read when present and no explicit file is given (`./paved.yaml`).
    pub implicit_file: Option<PathBuf>,
    pub env: Vec<(String, String)>,
    pub flags: FlagOverrides,
}

/// Whether a `PAVED_*` variable (its name after the prefix, without `_FILE`) is meant as
/// configuration. One with `__` always is, so a misspelt section is reported; one without
/// must name a top-level key, because other tools share the prefix (`PAVED_TOKEN` and
/// `PAVED_URL` of the `paved catalog` client, `PAVED_TEST_*` of the tests, benchmark knobs).
fn is_config_env(key_part: &str) -> bool {
    if key_part.contains("__") {
        return true;
    }
    let key = key_part.to_ascii_lowercase();
    field_docs()
        .iter()
        .any(|field| field.key.split('.').next() == Some(key.as_str()))
}

impl Config {
    /// Builds the configuration from its layers and checks it.
    pub fn load(sources: &ConfigSources) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));

        let file = match (&sources.explicit_file, &sources.implicit_file) {
            (Some(path), _) => Some(path.clone()),
            (None, Some(path)) if path.is_file() => Some(path.clone()),
            _ => None,
        };
        let mut file_dir = None;
        if let Some(path) = &file {
            let mut value = read_config_file(path)?;
            let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
            resolve_relative_paths(&mut value, &base);
            figment = figment.merge(Serialized::defaults(value));
            file_dir = Some(base);
        }

        for (name, raw) in &sources.env {
            let Some(rest) = name.strip_prefix("PAVED_") else {
                continue;
            };
            if !is_config_env(rest.strip_suffix("_FILE").unwrap_or(rest)) {
                continue;
            }
            let (key_part, value) = match rest.strip_suffix("_FILE") {
                Some(stem) => {
                    let text = std::fs::read_to_string(raw)
                        .map_err(|e| ConfigError(format!("cannot read {name}={raw}: {e}")))?;
                    (
                        stem,
                        Json::String(text.trim_end_matches(['\n', '\r']).to_owned()),
                    )
                }
                None => (rest, env_value(name, raw)?),
            };
            let dotted = key_part.to_ascii_lowercase().replace("__", ".");
            let layer = nest(&dotted, value);
            // Checked alone first, so the error names this variable.
            Figment::from(Serialized::defaults(&layer))
                .extract_lossy::<Config>()
                .map_err(|e| layer_error(&e, &format!("environment variable {name}")))?;
            figment = figment.merge(Serialized::defaults(layer));
        }

        let flags = &sources.flags;
        if let Some(bind) = flags.bind {
            figment = figment.merge(Serialized::default("server.bind", bind));
        }
        if let Some(port) = flags.port {
            figment = figment.merge(Serialized::default("server.port", port));
        }
        if let Some(dir) = &flags.data_dir {
            figment = figment.merge(Serialized::default("data_dir", dir));
        }
        if let Some(url) = &flags.database_url {
            figment = figment.merge(Serialized::default("database.url", url));
        }
        if !flags.locations.is_empty() {
            figment = figment.admerge(Serialized::default("catalog.locations", &flags.locations));
        }
        if !flags.allowed_roots.is_empty() {
            figment = figment.admerge(Serialized::default(
                "catalog.allowed_roots",
                &flags.allowed_roots,
            ));
        }

        let config: Config = figment
            .extract_lossy()
            .map_err(|e| layer_error(&e, "the configuration"))?;
        config.check(file_dir.as_deref())?;
        Ok(config)
    }

    /// Checks what the types cannot say.
    fn check(&self, _file_dir: Option<&Path>) -> Result<(), ConfigError> {
        for (index, token) in self.auth.tokens.iter().enumerate() {
            let at = format!("auth.tokens[{index}] ({})", token.name);
            if token.token.is_some() {
                return Err(ConfigError(format!(
                    "{at}: a plain `token` is not accepted in the configuration; give `sha256` \
                     (the hex SHA-256 of the token, e.g. `printf %s \"$TOKEN\" | sha256sum`) or \
                     `token_file` (a file holding the token)"
                )));
            }
            match (&token.sha256, &token.token_file) {
                (Some(_), Some(_)) | (None, None) => {
                    return Err(ConfigError(format!(
                        "{at}: give exactly one of `sha256` and `token_file`"
                    )));
                }
                (Some(hash), None) => {
                    parse_sha256(hash).map_err(|m| ConfigError(format!("{at}.sha256: {m}")))?;
                }
                (None, Some(_)) => {}
            }
        }
        if self.catalog.refresh_interval.0.is_zero() {
            return Err(ConfigError(
                "catalog.refresh_interval must be more than 0s".into(),
            ));
        }
        Ok(())
    }

    /// `database.url`, or SQLite in the data folder.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("paved.db").display()),
        }
    }

    /// The API tokens, with `token_file`s read and hashed.
    pub fn resolve_tokens(&self) -> Result<Vec<ResolvedToken>, ConfigError> {
        self.auth
            .tokens
            .iter()
            .map(|token| {
                let sha256 = match (&token.sha256, &token.token_file) {
                    (Some(hash), _) => parse_sha256(hash).map_err(|m| {
                        ConfigError(format!("auth.tokens ({}).sha256: {m}", token.name))
                    })?,
                    (None, Some(file)) => {
                        let text = std::fs::read_to_string(file).map_err(|e| {
                            ConfigError(format!(
                                "auth.tokens ({}): cannot read token_file {}: {e}",
                                token.name,
                                file.display()
                            ))
                        })?;
                        let secret = text.trim();
                        if secret.is_empty() {
                            return Err(ConfigError(format!(
                                "auth.tokens ({}): token_file {} is empty",
                                token.name,
                                file.display()
                            )));
                        }
                        Sha256::digest(secret.as_bytes()).into()
                    }
                    (None, None) => {
                        return Err(ConfigError(format!(
                            "auth.tokens ({}): give `sha256` or `token_file`",
                            token.name
                        )));
                    }
                };
                Ok(ResolvedToken {
                    name: token.name.clone(),
                    sha256,
                })
            })
            .collect()
    }

    /// The configuration as YAML, with secrets hidden (for `paved config show`).
    pub fn to_redacted_yaml(&self) -> String {
        let mut shown = self.clone();
        shown.database.url = Some(redact_url(&self.database_url()));
        for token in &mut shown.auth.tokens {
            if token.sha256.is_some() {
                token.sha256 = Some("<redacted>".to_owned());
            }
        }
        let mut text =
            serde_saphyr::to_string(&shown).unwrap_or_else(|e| format!("# cannot render: {e}"));
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text
    }
}

fn parse_sha256(hex_text: &str) -> Result<[u8; 32], String> {
    let bytes = hex::decode(hex_text.trim())
        .map_err(|_| "must be 64 hexadecimal characters (a SHA-256)".to_owned())?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| "must be 64 hexadecimal characters (a SHA-256)".to_owned())
}

/// Hides the password of a URL (`postgres://user:secret@host/db` → `postgres://user:***@host/db`).
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &url[..scheme_end + 3],
            &authority[..colon],
            &rest[at..]
        ),
        _ => url.to_owned(),
    }
}

/// An environment value: a YAML flow list or map when it starts with `[` or `{` (so lists can
/// be set from the environment), else the text itself (typed later, leniently: `8080` → port).
fn env_value(name: &str, raw: &str) -> Result<Json, ConfigError> {
    let trimmed = raw.trim_start();
    if trimmed.starts_with('[') || trimmed.starts_with('{') {
        serde_saphyr::from_str::<Json>(raw)
            .map_err(|e| ConfigError(format!("environment variable {name}: invalid YAML: {e}")))
    } else {
        Ok(Json::String(raw.to_owned()))
    }
}

fn nest(dotted: &str, value: Json) -> Json {
    dotted.rsplit('.').fold(value, |inner, key| {
        let mut map = serde_json::Map::new();
        map.insert(key.to_owned(), inner);
        Json::Object(map)
    })
}

/// Reads `paved.yaml`, checking it strictly against [`Config`] first so an unknown key or a
/// wrong type is reported with its line and column.
fn read_config_file(path: &Path) -> Result<Json, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError(format!(
            "cannot read configuration file {}: {e}",
            path.display()
        ))
    })?;
    if text.trim().is_empty() {
        return Ok(Json::Object(Default::default()));
    }
    serde_saphyr::from_str::<Config>(&text)
        .map_err(|e| ConfigError(describe_yaml_error(path, &e)))?;
    let value: Json =
        serde_saphyr::from_str(&text).map_err(|e| ConfigError(describe_yaml_error(path, &e)))?;
    match value {
        Json::Object(_) => Ok(value),
        Json::Null => Ok(Json::Object(Default::default())),
        _ => Err(ConfigError(format!(
            "{}: the configuration must be a mapping",
            path.display()
        ))),
    }
}

/// `paved.yaml:3:3: unknown configuration key `prot`, expected one of bind, port` — the
/// editor-friendly shape, without serde-saphyr's multi-line snippet.
fn describe_yaml_error(path: &Path, e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let mut message = text.strip_prefix("error: ").unwrap_or(&text).to_owned();
    let mut position = String::new();
    if let Some(location) = e.location() {
        let prefix = format!("line {} column {}: ", location.line(), location.column());
        if let Some(rest) = message.strip_prefix(&prefix) {
            message = rest.to_owned();
        }
        let suffix = format!(" at line {}, column {}", location.line(), location.column());
        if let Some(rest) = message.strip_suffix(&suffix) {
            message = rest.to_owned();
        }
        position = format!(":{}:{}", location.line(), location.column());
    }
    // serde says "unknown field"; users think in configuration keys.
    let message = message.replace("unknown field", "unknown configuration key");
    format!("{}{position}: {message}", path.display())
}

/// `file` locations and `allowed_roots` written relative to `paved.yaml` mean relative to it,
/// not to wherever `paved` was started.
fn resolve_relative_paths(value: &mut Json, base: &Path) {
    let absolutize = |text: &str| -> String {
        let path = Path::new(text);
        if path.is_absolute() {
            text.to_owned()
        } else {
            base.join(path).display().to_string()
        }
    };
    let Some(catalog) = value.get_mut("catalog").and_then(Json::as_object_mut) else {
        return;
    };
    if let Some(Json::Array(locations)) = catalog.get_mut("locations") {
        for location in locations {
            let is_file = location.get("type").and_then(Json::as_str) == Some("file");
            if let (true, Some(Json::String(target))) = (is_file, location.get_mut("target")) {
                *target = absolutize(target);
            }
        }
    }
    if let Some(Json::Array(roots)) = catalog.get_mut("allowed_roots") {
        for root in roots {
            if let Json::String(text) = root {
                *text = absolutize(text);
            }
        }
    }
}

/// Words a layer's extraction error: the key, then what is wrong.
fn layer_error(error: &figment::Error, source: &str) -> ConfigError {
    use figment::error::Kind;
    let mut messages = Vec::new();
    for e in error.clone() {
        let path = e.path.join(".");
        let message = match &e.kind {
            Kind::UnknownField(field, expected) => {
                // figment's path usually ends with the unknown field already.
                let key = if e.path.last() == Some(field) {
                    path
                } else {
                    join_key(&path, field)
                };
                format!(
                    "unknown configuration key `{key}` in {source} (expected one of: {})",
                    expected.join(", ")
                )
            }
            Kind::UnknownVariant(found, expected) => format!(
                "invalid value `{found}` for `{path}` in {source} (expected one of: {})",
                expected.join(", ")
            ),
            other => format!("invalid value for `{path}` in {source}: {other}"),
        };
        messages.push(message);
    }
    ConfigError(messages.join("\n"))
}

// ---- reference documentation ---------------------------------------------------------------

/// Every key with its docs and default, in declaration order.
pub fn field_docs() -> Vec<FieldDoc> {
    let mut out = Vec::new();
    Config::field_docs("", &mut out);
    out
}

/// The environment variable that sets a key (`server.port` → `PAVED_SERVER__PORT`).
pub fn env_name(key: &str) -> String {
    format!("PAVED_{}", key.to_ascii_uppercase().replace('.', "__"))
}

/// `docs/configuration.md`, generated from the declarations above.
pub fn reference_markdown() -> String {
    let mut out = String::new();
    out.push_str(
        "<!-- Generated by `paved config docs` from crates/paved/src/config.rs; do not edit. -->\n\
         # Configuration\n\n\
         `paved serve` reads its configuration in layers, each overriding the one before:\n\n\
         1. the defaults below;\n\
         2. `paved.yaml` (`--config PATH`, or `./paved.yaml` when it exists);\n\
         3. environment variables `PAVED_<SECTION>__<KEY>` (`__` nests: `PAVED_SERVER__PORT=8080`,\n   \
            `PAVED_CATALOG__REFRESH_INTERVAL=60s`); a value starting with `[` or `{` is read as YAML,\n   \
            so lists can be set too; `PAVED_<KEY>_FILE=/path` reads the value from a file (for\n   \
            secrets such as `PAVED_DATABASE__URL_FILE`). Variables without `__` that name no\n   \
            top-level key (`PAVED_TOKEN` and `PAVED_URL` of `paved catalog`) are left alone;\n\
         4. command-line flags (`--port`, `--bind`, `--data-dir`, `--database`, `--location`).\n\n\
         An unknown key is an error naming the key and where it came from. `paved config show`\n\
         prints the effective configuration with secrets hidden.\n\n\
         Example:\n\n\
         ```yaml\n\
         server:\n  bind: 0.0.0.0\n  port: 7007\n\
         database:\n  url: postgres://paved@db.internal:5432/paved\n\
         catalog:\n  locations:\n    - type: file\n      target: ./catalog-info.yaml\n    \
         - type: url\n      target: https://git.example/org/repo.git\n  refresh_interval: 5m\n\
         auth:\n  tokens:\n    - name: ci\n      token_file: /run/secrets/paved-ci-token\n\
         ```\n\n## Keys\n",
    );
    for field in field_docs() {
        let _ = write!(
            out,
            "\n### `{}`\n\nDefault: `{}` · Environment: `{}`\n\n{}\n",
            field.key,
            field.default,
            env_name(&field.key),
            field.doc
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources_with_file(yaml: &str) -> (tempfile::TempDir, ConfigSources) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("paved.yaml");
        std::fs::write(&path, yaml).expect("write config");
        (
            dir,
            ConfigSources {
                explicit_file: Some(path),
                ..Default::default()
            },
        )
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let config = Config::load(&ConfigSources::default()).expect("defaults load");
        assert_eq!(config.server.port, 7007);
        assert_eq!(config.server.bind.to_string(), "127.0.0.1");
        assert_eq!(config.database_url(), "sqlite://./paved-data/paved.db");
        assert_eq!(config.catalog.refresh_interval.0, Duration::from_secs(300));
    }

    #[test]
    fn unknown_key_in_file_names_the_key_and_file() {
        let (_dir, sources) = sources_with_file("server:\n  port: 80\n  prot: 81\n");
        let err = Config::load(&sources).expect_err("unknown key").to_string();
        assert!(err.contains("prot"), "{err}");
        assert!(err.contains("paved.yaml"), "{err}");
        assert!(err.contains("unknown configuration key"), "{err}");
    }

    #[test]
    fn env_overrides_file_and_flags_override_env() {
        let (_dir, mut sources) =
            sources_with_file("server:\n  port: 8000\ncatalog:\n  refresh_interval: 10m\n");
        sources.env = vec![
            ("PAVED_SERVER__PORT".into(), "8080".into()),
            ("PAVED_CATALOG__REFRESH_INTERVAL".into(), "60s".into()),
            ("PAVED_TOKEN".into(), "not a config key".into()),
            ("PAVED_GEN_CATALOG".into(), "a benchmark knob".into()),
            (
                "PAVED_TEST_DATABASE_URL".into(),
                "postgres://x@y/test".into(),
            ),
        ];
        let config = Config::load(&sources).expect("loads");
        assert_eq!(config.server.port, 8080);
        assert_eq!(config.catalog.refresh_interval.0, Duration::from_secs(60));
        sources.flags.port = Some(9090);
        assert_eq!(Config::load(&sources).expect("loads").server.port, 9090);
    }

    #[test]
    fn unknown_env_key_names_the_variable() {
        let sources = ConfigSources {
            env: vec![("PAVED_SERVR__PORT".into(), "1".into())],
            ..Default::default()
        };
        let err = Config::load(&sources).expect_err("unknown").to_string();
        assert_eq!(
            err.lines().next(),
            Some(
                "unknown configuration key `servr` in environment variable PAVED_SERVR__PORT \
                 (expected one of: data_dir, server, database, catalog, auth, log, retention, scaffolder, docs, search)"
            )
        );
    }

    #[test]
    fn bad_env_value_names_the_key() {
        let sources = ConfigSources {
            env: vec![("PAVED_CATALOG__REFRESH_INTERVAL".into(), "soon".into())],
            ..Default::default()
        };
        let err = Config::load(&sources).expect_err("bad").to_string();
        assert!(err.contains("catalog.refresh_interval"), "{err}");
        assert!(err.contains("PAVED_CATALOG__REFRESH_INTERVAL"), "{err}");
    }

    #[test]
    fn secrets_come_from_file_variables() {
        let dir = tempfile::tempdir().expect("temp dir");
        let secret = dir.path().join("db-url");
        std::fs::write(&secret, "postgres://paved:hunter2@db/paved\n").expect("write");
        let sources = ConfigSources {
            env: vec![(
                "PAVED_DATABASE__URL_FILE".into(),
                secret.display().to_string(),
            )],
            ..Default::default()
        };
        let config = Config::load(&sources).expect("loads");
        assert_eq!(config.database_url(), "postgres://paved:hunter2@db/paved");
        let shown = config.to_redacted_yaml();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("postgres://paved:***@db/paved"), "{shown}");
    }

    #[test]
    fn env_lists_are_yaml() {
        let sources = ConfigSources {
            env: vec![(
                "PAVED_CATALOG__LOCATIONS".into(),
                "[{type: url, target: 'https://git.example/a.git'}]".into(),
            )],
            ..Default::default()
        };
        let config = Config::load(&sources).expect("loads");
        assert_eq!(config.catalog.locations.len(), 1);
        assert_eq!(config.catalog.locations[0].kind, LocationType::Url);
    }

    #[test]
    fn plain_tokens_are_refused_and_hashes_checked() {
        let (_dir, sources) =
            sources_with_file("auth:\n  tokens:\n    - name: ci\n      token: abc\n");
        let err = Config::load(&sources).expect_err("plain token").to_string();
        assert!(err.contains("plain `token` is not accepted"), "{err}");
        let (_dir, sources) =
            sources_with_file("auth:\n  tokens:\n    - name: ci\n      sha256: abc\n");
        let err = Config::load(&sources).expect_err("short hash").to_string();
        assert!(err.contains("auth.tokens[0] (ci).sha256"), "{err}");
    }

    #[test]
    fn token_files_are_read_and_hashed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, "s3cret\n").expect("write");
        let yaml = format!(
            "auth:\n  tokens:\n    - name: ci\n      token_file: {}\n",
            token_file.display()
        );
        let (_dir, sources) = sources_with_file(&yaml);
        let tokens = Config::load(&sources)
            .expect("loads")
            .resolve_tokens()
            .expect("tokens");
        let expected: [u8; 32] = Sha256::digest(b"s3cret").into();
        assert_eq!(
            tokens,
            vec![ResolvedToken {
                name: "ci".into(),
                sha256: expected
            }]
        );
    }

    #[test]
    fn relative_file_locations_are_relative_to_the_config_file() {
        let (dir, sources) = sources_with_file(
            "catalog:\n  locations:\n    - type: file\n      target: ./catalog-info.yaml\n      \
             rules:\n        - allow: [Component]\n",
        );
        let config = Config::load(&sources).expect("loads");
        assert_eq!(
            PathBuf::from(&config.catalog.locations[0].target),
            dir.path().join("./catalog-info.yaml")
        );
    }

    #[test]
    fn flag_locations_are_added_to_configured_ones() {
        let (_dir, mut sources) = sources_with_file(
            "catalog:\n  locations:\n    - type: url\n      target: https://git.example/a.git\n",
        );
        sources.flags.locations.push(LocationConfig {
            kind: LocationType::Url,
            target: "https://git.example/b.git".into(),
            rules: None,
        });
        let config = Config::load(&sources).expect("loads");
        let targets: Vec<_> = config
            .catalog
            .locations
            .iter()
            .map(|l| l.target.as_str())
            .collect();
        assert_eq!(
            targets,
            ["https://git.example/a.git", "https://git.example/b.git"]
        );
    }

    #[test]
    fn redact_url_hides_only_the_password() {
        assert_eq!(
            redact_url("postgres://u:p@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://./x.db"), "sqlite://./x.db");
    }

    /// rust-analyzer's pattern: the reference page is generated, and this test regenerates it
    /// when stale (`UPDATE_EXPECT=1`) or fails.
    #[test]
    fn configuration_reference_is_current() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
        let expected = reference_markdown();
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        if actual != expected {
            if std::env::var_os("UPDATE_EXPECT").is_some() {
                std::fs::write(&path, &expected).expect("write docs/configuration.md");
            } else {
                panic!(
                    "docs/configuration.md is stale: run `UPDATE_EXPECT=1 cargo test -p paved \
                     configuration_reference_is_current` or `paved config docs > docs/configuration.md`"
                );
            }
        }
    }

    #[test]
    fn every_key_has_a_doc() {
        for field in field_docs() {
            assert!(!field.doc.trim().is_empty(), "{} has no doc", field.key);
        }
        let keys: Vec<_> = field_docs().into_iter().map(|f| f.key).collect();
        assert!(keys.contains(&"catalog.git.timeout".to_owned()), "{keys:?}");
    }
}
