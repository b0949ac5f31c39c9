//! Scaffolder actions: what a template step can do. Each action declares JSON Schemas for its
//! input and output (listed by `GET /api/scaffolder/v2/actions`); the runner checks a step's
//! rendered input against the input schema before running it.

mod catalog;
mod debug;
mod fetch;
mod fs;
mod publish;

pub use publish::{ForgeKind, GitHost, GitPublishSettings, resolve_remote};

use crate::log::TaskLog;
use async_trait::async_trait;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why an action failed. The message is shown in the task's log.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Failed(String),
    #[error("cancelled")]
    Cancelled,
}

impl From<crate::confine::PathEscape> for ActionError {
    fn from(e: crate::confine::PathEscape) -> Self {
        ActionError::Invalid(e.0)
    }
}

pub(crate) fn io_error(what: &str, path: &Path, e: std::io::Error) -> ActionError {
    ActionError::Failed(format!("{what} {}: {e}", path.display()))
}

/// What catalog actions need of the catalog. Implemented over `CatalogService` on a server;
/// absent in the offline CLI (catalog actions then fail clearly).
#[async_trait]
pub trait CatalogAccess: Send + Sync {
    /// Registers a location (`url` target or absolute file path) and returns the refs of the
    /// entities it provides.
    async fn register_location(&self, target: &str) -> Result<Vec<String>, String>;
    /// The entity with this full ref, as stored.
    async fn entity(&self, entity_ref: &str) -> Result<Option<Value>, String>;
}

/// `kind:namespace/name` (lower case) of each entity a registration returned, as catalog
/// actions report them.
pub fn registered_refs(entities: &[Value]) -> Vec<String> {
    entities
        .iter()
        .filter_map(|e| {
            let kind = e.get("kind")?.as_str()?;
            let namespace = e
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("default");
            let name = e.pointer("/metadata/name")?.as_str()?;
            Some(format!("{kind}:{namespace}/{name}").to_ascii_lowercase())
        })
        .collect()
}

/// The location type of a registration target: an absolute path is a `file`, anything else a
/// `url`.
pub fn location_type(target: &str) -> &'static str {
    if target.starts_with('/') {
        "file"
    } else {
        "url"
    }
}

/// What actions may use besides their input.
#[derive(Clone, Default)]
pub struct Services {
    pub catalog: Option<Arc<dyn CatalogAccess>>,
    pub git: GitPublishSettings,
    /// For `fetch:*` from git URLs: where checkouts go and their limits.
    pub fetch_git: Option<paved_catalog::git::GitSettings>,
}

/// Everything an action sees while it runs.
pub struct ActionContext<'a> {
    pub task_id: &'a str,
    pub step_id: &'a str,
    pub input: Value,
    pub workspace: &'a Path,
    /// The folder holding the template's `template.yaml`; relative `fetch:*` sources start here
    /// and may not leave it. `None` when the template has no files (then relative sources fail).
    pub template_dir: Option<&'a Path>,
    pub services: &'a Services,
    pub log: &'a TaskLog,
    pub secrets: &'a Map<String, Value>,
    pub user: &'a Value,
    pub dry_run: bool,
    pub(crate) output: Map<String, Value>,
}

impl ActionContext<'_> {
    pub fn output(&mut self, name: &str, value: Value) {
        self.output.insert(name.to_string(), value);
    }

    pub fn info(&self, message: impl AsRef<str>) {
        self.log.step(self.step_id, message.as_ref());
    }

    pub fn str_input(&self, key: &str) -> Option<&str> {
        self.input.get(key).and_then(Value::as_str)
    }

    pub fn bool_input(&self, key: &str) -> bool {
        self.input
            .get(key)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// `input.targetPath` (default `./`) inside the workspace.
    pub fn target_path(&self) -> Result<PathBuf, ActionError> {
        let target = self.str_input("targetPath").unwrap_or("./");
        Ok(crate::confine::resolve_inside(self.workspace, target)?)
    }
}

#[async_trait]
pub trait Action: Send + Sync {
    fn id(&self) -> &'static str;
    fn description(&self) -> &'static str;
    fn input_schema(&self) -> Value;
    fn output_schema(&self) -> Value {
        json!({ "type": "object", "properties": {} })
    }
    /// Whether the action runs in a dry run (writes only to the workspace, publishes nothing).
    fn supports_dry_run(&self) -> bool {
        false
    }
    fn examples(&self) -> Vec<Value> {
        Vec::new()
    }
    async fn run(&self, ctx: &mut ActionContext<'_>) -> Result<(), ActionError>;
}

/// The actions a runner knows, by id.
#[derive(Clone)]
pub struct ActionRegistry {
    actions: BTreeMap<&'static str, Arc<dyn Action>>,
}

impl ActionRegistry {
    /// Every built-in action.
    pub fn builtin() -> Self {
        let actions: Vec<Arc<dyn Action>> = vec![
            Arc::new(fetch::FetchTemplate),
            Arc::new(fetch::FetchTemplateFile),
            Arc::new(fetch::FetchPlain),
            Arc::new(fetch::FetchPlainFile),
            Arc::new(fs::Rename),
            Arc::new(fs::Delete),
            Arc::new(debug::Log),
            Arc::new(debug::Wait),
            Arc::new(catalog::Register),
            Arc::new(catalog::Write),
            Arc::new(catalog::Fetch),
            Arc::new(publish::PublishGit),
            Arc::new(publish::PublishGithub),
            Arc::new(publish::PublishGithubPullRequest),
            Arc::new(publish::PublishGitlab),
        ];
        ActionRegistry {
            actions: actions.into_iter().map(|a| (a.id(), a)).collect(),
        }
    }

    pub fn get(&self, id: &str) -> Option<&Arc<dyn Action>> {
        self.actions.get(id)
    }

    pub fn ids(&self) -> Vec<&'static str> {
        self.actions.keys().copied().collect()
    }

    /// Backstage's `GET /v2/actions` body: `[{id, description, examples, schema: {input, output}}]`.
    pub fn describe(&self) -> Value {
        Value::Array(
            self.actions
                .values()
                .map(|a| {
                    json!({
                        "id": a.id(),
                        "description": a.description(),
                        "examples": a.examples(),
                        "schema": { "input": a.input_schema(), "output": a.output_schema() },
                    })
                })
                .collect(),
        )
    }
}

/// Checks `input` against an action's input schema; the messages name the field.
pub fn validate_input(schema: &Value, input: &Value) -> Result<(), Vec<String>> {
    let validator = match jsonschema::validator_for(schema) {
        Ok(v) => v,
        Err(e) => return Err(vec![format!("the action's input schema is invalid: {e}")]),
    };
    let errors: Vec<String> = validator
        .iter_errors(input)
        .map(|e| {
            let path = e.instance_path().to_string();
            if path.is_empty() {
                e.to_string()
            } else {
                format!("{}: {e}", path.trim_start_matches('/').replace('/', "."))
            }
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}
