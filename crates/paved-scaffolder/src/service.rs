//! `ScaffolderService`: templates from the catalog, guardrails on values, tasks kept in the
//! store and run as `scaffolder.task` jobs, dry runs. The HTTP server, the portal and the CLI
//! call this; it knows neither HTTP nor SQL.
//!
//! Secrets are kept in this process's memory for the run only. A task whose run is cut off
//! (crash, restart: the job's lease expired and another start begins, `attempt() > 1`) is marked
//! failed with an "interrupted" event — or started over when its template asks for it with
//! `spec.EXPERIMENTAL_recovery.EXPERIMENTAL_strategy: startOver` — never left "processing".

use crate::actions::{ActionRegistry, CatalogAccess, GitPublishSettings, Services};
use crate::log::{LogLine, TaskLog};
use crate::runner::{RunError, RunOptions, run_template};
use crate::template::{Template, parse_template};
use async_trait::async_trait;
use paved_catalog::CatalogService;
use paved_jobs::{JobContext, JobHandler, JobQueue};
use paved_model::EntityRef;
use paved_store::{
    Job, JobOutcome, JobState, NewJob, NewTask, StoreError, StoredTask, TaskStatus, TaskStore,
};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::watch;

pub const TASK_JOB_KIND: &str = "scaffolder.task";

/// One problem with one form field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The parameter's name (`name`, `owner`); empty for the form as a whole.
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ScaffolderError {
    #[error("{0}")]
    Invalid(String),
    #[error("the values are not valid: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Fields(Vec<FieldError>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for ScaffolderError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => ScaffolderError::NotFound(m),
            StoreError::Conflict(m) => ScaffolderError::Conflict(m),
            StoreError::Invalid(m) => ScaffolderError::Invalid(m),
            StoreError::Unavailable(m) => ScaffolderError::Unavailable(m),
            StoreError::Database(m) => ScaffolderError::Internal(m),
        }
    }
}

impl From<paved_catalog::CatalogError> for ScaffolderError {
    fn from(e: paved_catalog::CatalogError) -> Self {
        use paved_catalog::CatalogError as C;
        match e {
            C::Invalid(m) => ScaffolderError::Invalid(m),
            C::NotFound(m) => ScaffolderError::NotFound(m),
            C::Conflict(m) => ScaffolderError::Conflict(m),
            C::Forbidden(m) => ScaffolderError::Invalid(m),
            C::Unavailable(m) => ScaffolderError::Unavailable(m),
            C::Internal(m) => ScaffolderError::Internal(m),
        }
    }
}

pub type ScaffolderResult<T> = Result<T, ScaffolderError>;

#[derive(Clone, Debug)]
pub struct ScaffolderSettings {
    /// Task workspaces live in `<work_dir>/<task id>` while a task runs.
    pub work_dir: PathBuf,
    /// The pattern EntityNamePicker values must match (`scaffolder.naming.pattern`).
    pub naming_pattern: String,
    /// Longest name allowed.
    pub naming_max_length: usize,
    pub git: GitPublishSettings,
}

impl ScaffolderSettings {
    pub fn new(work_dir: PathBuf) -> Self {
        ScaffolderSettings {
            work_dir,
            naming_pattern: DEFAULT_NAMING_PATTERN.into(),
            naming_max_length: 63,
            git: GitPublishSettings::default(),
        }
    }
}

/// kebab-case: lower-case letters and digits in words joined by single hyphens.
pub const DEFAULT_NAMING_PATTERN: &str = "^[a-z0-9]+(-[a-z0-9]+)*$";

/// The catalog seen through what catalog actions need.
struct CatalogPort(Arc<CatalogService>);

#[async_trait]
impl CatalogAccess for CatalogPort {
    async fn register_location(&self, target: &str) -> Result<Vec<String>, String> {
        let outcome = self
            .0
            .add_location(crate::actions::location_type(target), target, false)
            .await
            .map_err(|e| e.to_string())?;
        Ok(crate::actions::registered_refs(&outcome.entities))
    }

    async fn entity(&self, entity_ref: &str) -> Result<Option<Value>, String> {
        let parsed = EntityRef::parse_full(entity_ref).map_err(|e| e.to_string())?;
        match self
            .0
            .entity_by_ref(&parsed)
            .await
            .map_err(|e| e.to_string())?
        {
            Some(raw) => serde_json::from_str(&raw.json)
                .map(Some)
                .map_err(|e| e.to_string()),
            None => Ok(None),
        }
    }
}

/// A template ready to run: the parsed template, its folder, its base URL.
pub struct LoadedTemplate {
    pub template: Template,
    pub dir: Option<PathBuf>,
    pub base_url: Option<String>,
}

pub struct ScaffolderService {
    catalog: Arc<CatalogService>,
    tasks: Arc<dyn TaskStore>,
    queue: OnceLock<JobQueue>,
    registry: ActionRegistry,
    services: Services,
    settings: ScaffolderSettings,
    secrets: Mutex<HashMap<String, Map<String, Value>>>,
    /// Bumped after every event this process writes, so live logs wake at once.
    events: watch::Sender<u64>,
}

impl ScaffolderService {
    pub fn new(
        catalog: Arc<CatalogService>,
        tasks: Arc<dyn TaskStore>,
        settings: ScaffolderSettings,
    ) -> Self {
        let catalog_settings = catalog.settings();
        let services = Services {
            catalog: Some(Arc::new(CatalogPort(catalog.clone()))),
            git: settings.git.clone(),
            fetch_git: Some(paved_catalog::git::GitSettings {
                cache_dir: catalog_settings.data_dir.join("scaffolder-git"),
                timeout: catalog_settings.git_timeout,
                max_bytes: catalog_settings.git_max_bytes,
            }),
        };
        ScaffolderService {
            catalog,
            tasks,
            queue: OnceLock::new(),
            registry: ActionRegistry::builtin(),
            services,
            settings,
            secrets: Mutex::new(HashMap::new()),
            events: watch::channel(0).0,
        }
    }

    /// Hands the service the job queue (the runner is built after the service's handler).
    pub fn set_queue(&self, queue: JobQueue) {
        let _ = self.queue.set(queue);
    }

    fn queue(&self) -> ScaffolderResult<&JobQueue> {
        self.queue
            .get()
            .ok_or_else(|| ScaffolderError::Unavailable("the task runner is not started".into()))
    }

    pub fn registry(&self) -> &ActionRegistry {
        &self.registry
    }

    pub fn settings(&self) -> &ScaffolderSettings {
        &self.settings
    }

    /// Changes whenever this process wrote a task event.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.events.subscribe()
    }

    /// Every Template entity of the catalog (for the gallery), parsed.
    pub async fn templates(&self) -> ScaffolderResult<Vec<Template>> {
        let query = paved_store::EntityQuery {
            filter: paved_model::filter::parse_filter_params(&["kind=template".to_string()])
                .map_err(|e| ScaffolderError::Internal(e.to_string()))?,
            limit: Some(1000),
            ..Default::default()
        };
        let page = self.catalog.query_entities(&query).await?;
        Ok(page
            .items
            .iter()
            .filter_map(|raw| serde_json::from_str::<Value>(&raw.json).ok())
            .filter_map(|v| parse_template(&v).0)
            .collect())
    }

    /// A template from the catalog with its folder (file locations) or checkout (git).
    pub async fn load_template(
        &self,
        namespace: &str,
        kind: &str,
        name: &str,
    ) -> ScaffolderResult<LoadedTemplate> {
        if !kind.eq_ignore_ascii_case("template") {
            return Err(ScaffolderError::Invalid(format!(
                "kind '{kind}' is not a template kind"
            )));
        }
        let entity_ref = EntityRef::new("template", namespace, name);
        let raw = self
            .catalog
            .entity_by_ref(&entity_ref)
            .await?
            .ok_or_else(|| ScaffolderError::NotFound(format!("Template {entity_ref} not found")))?;
        let entity: Value = serde_json::from_str(&raw.json)
            .map_err(|e| ScaffolderError::Internal(e.to_string()))?;
        self.loaded_from_entity(&entity).await
    }

    async fn loaded_from_entity(&self, entity: &Value) -> ScaffolderResult<LoadedTemplate> {
        let (template, diagnostics) = parse_template(entity);
        let template = template.ok_or_else(|| {
            ScaffolderError::Invalid(
                diagnostics
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        let location = template
            .annotations
            .get("backstage.io/managed-by-location")
            .and_then(Value::as_str)
            .map(str::to_string);
        let (dir, base_url) = match location.as_deref() {
            Some(l) if l.starts_with("file:") => {
                let path = PathBuf::from(&l["file:".len()..]);
                let dir = path.parent().map(Path::to_path_buf);
                (dir.clone(), dir.map(|d| format!("file://{}/", d.display())))
            }
            Some(l) if l.starts_with("url:") => {
                let target = &l["url:".len()..];
                let dir = self.git_template_dir(target).await?;
                (Some(dir), Some(target.to_string()))
            }
            _ => (None, None),
        };
        Ok(LoadedTemplate {
            template,
            dir,
            base_url,
        })
    }

    /// The folder of a template read from git: a checkout, then the template file's folder.
    async fn git_template_dir(&self, target: &str) -> ScaffolderResult<PathBuf> {
        let settings = self
            .services
            .fetch_git
            .as_ref()
            .ok_or_else(|| ScaffolderError::Unavailable("git is not configured".into()))?;
        let git_target = paved_catalog::location::GitTarget::parse(target)?;
        let checkout = paved_catalog::git::checkout(settings, &git_target).await?;
        let file_dir = Path::new(&git_target.path)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        crate::confine::resolve_inside(&checkout, &file_dir.to_string_lossy())
            .map_err(|e| ScaffolderError::Invalid(e.0))
    }

    pub async fn parameter_schema(
        &self,
        namespace: &str,
        kind: &str,
        name: &str,
    ) -> ScaffolderResult<Value> {
        Ok(self
            .load_template(namespace, kind, name)
            .await?
            .template
            .parameter_schema())
    }

    /// Every check the values must pass before anything runs (see [`check_values`]).
    pub async fn check_values(&self, template: &Template, values: &Value) -> Vec<FieldError> {
        check_values(
            template,
            values,
            &self.settings,
            Some(&CatalogPort(self.catalog.clone())),
        )
        .await
    }

    /// Creates a task for a template of the catalog and queues it. Values are checked first;
    /// failures are field errors and nothing is created.
    pub async fn create_task(
        &self,
        template_ref: &str,
        values: Value,
        secrets: Map<String, Value>,
        created_by: Option<String>,
    ) -> ScaffolderResult<String> {
        let parsed = EntityRef::parse(
            template_ref,
            paved_model::RefDefaults {
                kind: Some("template"),
                namespace: "default",
            },
        )
        .map_err(|e| ScaffolderError::Invalid(format!("templateRef: {e}")))?;
        let loaded = self
            .load_template(parsed.namespace(), parsed.kind(), parsed.name())
            .await?;
        let errors = self.check_values(&loaded.template, &values).await;
        if !errors.is_empty() {
            return Err(ScaffolderError::Fields(errors));
        }
        let user_entity = match &created_by {
            Some(r) => match EntityRef::parse_full(r) {
                Ok(parsed) => self
                    .catalog
                    .entity_by_ref(&parsed)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|raw| serde_json::from_str::<Value>(&raw.json).ok()),
                Err(_) => None,
            },
            None => None,
        };
        let template = &loaded.template;
        let spec = json!({
            "apiVersion": template.entity.get("apiVersion").cloned().unwrap_or(Value::Null),
            "steps": template.entity.pointer("/spec/steps").cloned().unwrap_or(json!([])),
            "output": template.output,
            "parameters": values,
            "user": { "ref": created_by, "entity": user_entity },
            "templateInfo": {
                "entityRef": template.entity_ref,
                "baseUrl": loaded.base_url,
                "entity": { "metadata": template.entity.get("metadata").cloned().unwrap_or(Value::Null) },
            },
            "EXPERIMENTAL_recovery": template.entity.pointer("/spec/EXPERIMENTAL_recovery").cloned().unwrap_or(Value::Null),
            // Which secrets there were (never their values), so a resumed run can tell they are gone.
            "secretKeys": secrets.keys().cloned().collect::<Vec<_>>(),
        });
        let id = uuid::Uuid::new_v4().to_string();
        self.tasks
            .create_task(NewTask {
                id: id.clone(),
                spec,
                created_by,
            })
            .await?;
        if !secrets.is_empty() {
            self.secrets
                .lock()
                .map_err(|_| ScaffolderError::Internal("secrets lock".into()))?
                .insert(id.clone(), secrets);
        }
        self.enqueue(&id).await?;
        Ok(id)
    }

    async fn enqueue(&self, id: &str) -> ScaffolderResult<()> {
        let job = self
            .queue()?
            .enqueue(NewJob {
                kind: TASK_JOB_KIND.into(),
                dedupe_key: Some(id.to_string()),
                payload: json!({ "taskId": id }),
                // The second start only reports (or recovers) an interrupted first one.
                max_attempts: 2,
                delay: Duration::ZERO,
            })
            .await?;
        self.tasks.set_task_job(id, job.id.0).await?;
        Ok(())
    }

    /// A task, in Backstage's `SerializedTask` shape. A task whose job ended without finishing
    /// it (the store gave up on an interrupted job) is marked failed here.
    pub async fn task(&self, id: &str) -> ScaffolderResult<Value> {
        let task = self.stored_task(id).await?;
        let task = self.settle_abandoned(task).await?;
        Ok(serialize_task(&task))
    }

    async fn stored_task(&self, id: &str) -> ScaffolderResult<StoredTask> {
        self.tasks
            .task(id)
            .await?
            .ok_or_else(|| ScaffolderError::NotFound(format!("Task with id {id} does not exist")))
    }

    async fn settle_abandoned(&self, task: StoredTask) -> ScaffolderResult<StoredTask> {
        if task.status.is_final() {
            return Ok(task);
        }
        let (Some(job_id), Some(queue)) = (task.job_id, self.queue.get()) else {
            return Ok(task);
        };
        let Some(job) = queue.job(paved_store::JobId(job_id)).await? else {
            return Ok(task);
        };
        if job.state.is_final()
            && self
                .tasks
                .task(&task.id)
                .await?
                .is_some_and(|t| !t.status.is_final())
        {
            let message = job
                .last_error
                .clone()
                .unwrap_or_else(|| "the task was interrupted before it finished".into());
            let status = if job.state == JobState::Cancelled {
                TaskStatus::Cancelled
            } else {
                TaskStatus::Failed
            };
            self.finish(
                &task.id,
                status,
                None,
                Some(&format!("The task was interrupted: {message}")),
            )
            .await?;
            return self.stored_task(&task.id).await;
        }
        Ok(task)
    }

    pub async fn list_tasks(
        &self,
        created_by: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> ScaffolderResult<Value> {
        let (tasks, total) = self
            .tasks
            .list_tasks(created_by, limit.clamp(1, 1000), offset)
            .await?;
        Ok(
            json!({ "tasks": tasks.iter().map(serialize_task).collect::<Vec<_>>(), "totalTasks": total }),
        )
    }

    /// Events after `after`, in Backstage's shape: `{id, taskId, type, body, createdAt}`.
    pub async fn events(&self, id: &str, after: Option<i64>) -> ScaffolderResult<Vec<Value>> {
        let task = self.stored_task(id).await?;
        self.settle_abandoned(task).await?;
        let events = self.tasks.task_events(id, after, 1000).await?;
        Ok(events
            .into_iter()
            .map(|e| json!({ "id": e.id, "taskId": e.task_id, "type": e.event_type, "body": e.body, "createdAt": iso_time(e.created_at) }))
            .collect())
    }

    pub async fn cancel(&self, id: &str) -> ScaffolderResult<Value> {
        let task = self.stored_task(id).await?;
        if task.status.is_final() {
            return Err(ScaffolderError::Conflict(format!(
                "Task {id} has already {}",
                task.status.as_str()
            )));
        }
        self.append_event(id, "cancelled", json!({ "message": "Cancelling the task" }))
            .await?;
        if let Some(job_id) = task.job_id {
            let job = self.queue()?.cancel(paved_store::JobId(job_id)).await?;
            // A task whose job had not started is cancelled at once.
            if job.is_some_and(|j| j.state == JobState::Cancelled) {
                self.finish(id, TaskStatus::Cancelled, None, None).await?;
            }
        }
        Ok(json!({ "status": "cancelled" }))
    }

    /// Runs a failed or cancelled task again from the start.
    pub async fn retry(&self, id: &str) -> ScaffolderResult<()> {
        let task = self.stored_task(id).await?;
        if !self.tasks.reopen_task(id).await? {
            return Err(ScaffolderError::Conflict(format!(
                "Task {id} is {}; only failed or cancelled tasks can be retried",
                task.status.as_str()
            )));
        }
        self.append_event(id, "recovered", json!({ "message": "Retrying the task" }))
            .await?;
        self.enqueue(id).await
    }

    async fn append_event(&self, id: &str, event_type: &str, body: Value) -> ScaffolderResult<()> {
        self.tasks.append_task_event(id, event_type, body).await?;
        self.events.send_modify(|n| *n += 1);
        Ok(())
    }

    /// Final status, with Backstage's completion event.
    async fn finish(
        &self,
        id: &str,
        status: TaskStatus,
        output: Option<Value>,
        error: Option<&str>,
    ) -> ScaffolderResult<()> {
        if !self
            .tasks
            .set_task_status(id, status, output.clone())
            .await?
        {
            return Ok(());
        }
        let mut body = json!({ "message": format!("Run completed with status: {}", status.as_str()), "status": status.as_str() });
        if let Some(output) = output {
            body["output"] = output;
        }
        if let Some(error) = error {
            body["error"] = json!({ "name": "Error", "message": error });
        }
        self.append_event(id, "completion", body).await?;
        if let Ok(mut secrets) = self.secrets.lock() {
            secrets.remove(id);
        }
        Ok(())
    }

    /// The job: runs a task's steps, writing its log as events.
    pub async fn run_task_job(&self, job: &Job, ctx: JobContext) -> JobOutcome {
        let Some(task_id) = job
            .payload
            .get("taskId")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            return JobOutcome::Failed("the job names no task".into());
        };
        match self.run_task(&task_id, ctx).await {
            Ok(outcome) => outcome,
            Err(e) => {
                let _ = self
                    .finish(&task_id, TaskStatus::Failed, None, Some(&e.to_string()))
                    .await;
                JobOutcome::Failed(e.to_string())
            }
        }
    }

    async fn run_task(&self, task_id: &str, ctx: JobContext) -> ScaffolderResult<JobOutcome> {
        let task = self.stored_task(task_id).await?;
        if task.status.is_final() {
            return Ok(JobOutcome::Succeeded);
        }
        let start_over = task
            .spec
            .pointer("/EXPERIMENTAL_recovery/EXPERIMENTAL_strategy")
            .and_then(Value::as_str)
            == Some("startOver");
        if ctx.attempt() > 1 || task.status == TaskStatus::Processing {
            if !start_over {
                self.append_event(task_id, "log", json!({ "message": "The task was interrupted: the server running it stopped or crashed before it finished. Retry it to run it again." })).await?;
                self.finish(
                    task_id,
                    TaskStatus::Failed,
                    None,
                    Some("The task was interrupted before it finished"),
                )
                .await?;
                return Ok(JobOutcome::Succeeded);
            }
            self.append_event(task_id, "recovered", json!({ "message": "The task was interrupted; starting it over (EXPERIMENTAL_recovery: startOver)" })).await?;
        }
        let secrets = self
            .secrets
            .lock()
            .ok()
            .and_then(|s| s.get(task_id).cloned())
            .unwrap_or_default();
        let had_secrets = task
            .spec
            .get("secretKeys")
            .and_then(Value::as_array)
            .is_some_and(|k| !k.is_empty());
        if had_secrets && secrets.is_empty() {
            self.finish(task_id, TaskStatus::Failed, None, Some("The task's secrets are no longer available (they are kept in memory only, and the server that received them restarted); create the task again")).await?;
            return Ok(JobOutcome::Succeeded);
        }
        self.tasks
            .set_task_status(task_id, TaskStatus::Processing, None)
            .await?;
        self.tasks.heartbeat_task(task_id).await?;

        // The template as it was when the task was created.
        let metadata = task
            .spec
            .pointer("/templateInfo/entity/metadata")
            .cloned()
            .unwrap_or(json!({}));
        let entity = json!({
            "apiVersion": crate::template::TEMPLATE_API_VERSION,
            "kind": "Template",
            "metadata": metadata,
            "spec": { "steps": task.spec.get("steps").cloned().unwrap_or(json!([])), "output": task.spec.get("output").cloned().unwrap_or(json!({})) },
        });
        let loaded = self.loaded_from_entity(&entity).await?;
        let workspace = self.settings.work_dir.join(task_id);
        let _ = std::fs::remove_dir_all(&workspace);

        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<LogLine>();
        let log = TaskLog::channel(sender, &secrets);
        let writer = {
            let tasks = self.tasks.clone();
            let events = self.events.clone();
            let id = task_id.to_string();
            tokio::spawn(async move {
                while let Some(line) = receiver.recv().await {
                    let body = serde_json::to_value(&line).unwrap_or(Value::Null);
                    if let Err(e) = tasks.append_task_event(&id, "log", body).await {
                        tracing::warn!(task = %id, error = %e, "cannot store a task log line");
                    }
                    let _ = tasks.heartbeat_task(&id).await;
                    events.send_modify(|n| *n += 1);
                }
            })
        };
        let (cancel_tx, cancel_rx) = watch::channel(false);
        let bridge = {
            let ctx = ctx.clone();
            tokio::spawn(async move {
                ctx.cancellation().await;
                let _ = cancel_tx.send(true);
            })
        };
        let result = run_template(
            &self.registry,
            &self.services,
            RunOptions {
                task_id: task_id.to_string(),
                template: &loaded.template,
                template_dir: loaded.dir.clone(),
                values: task.spec.get("parameters").cloned().unwrap_or(json!({})),
                secrets,
                user: task.spec.get("user").cloned().unwrap_or(json!({})),
                workspace: workspace.clone(),
                dry_run: false,
            },
            &log,
            cancel_rx,
        )
        .await;
        bridge.abort();
        drop(log);
        let _ = writer.await;
        let _ = std::fs::remove_dir_all(&workspace);
        match result {
            Ok(outcome) => {
                self.finish(task_id, TaskStatus::Completed, Some(outcome.output), None)
                    .await?;
                Ok(JobOutcome::Succeeded)
            }
            Err(RunError::Cancelled { .. }) => {
                self.finish(task_id, TaskStatus::Cancelled, None, None)
                    .await?;
                Ok(JobOutcome::Cancelled)
            }
            Err(e) => {
                self.finish(task_id, TaskStatus::Failed, None, Some(&e.to_string()))
                    .await?;
                Ok(JobOutcome::Succeeded)
            }
        }
    }

    /// Backstage's dry run: renders the template with `values` in a scratch workspace, skipping
    /// actions that would publish or register, and returns the files, the log and the output.
    /// `directory_contents` (`[{path, base64Content}]`) are the template's own files.
    pub async fn dry_run(
        &self,
        entity: &Value,
        values: Value,
        secrets: Map<String, Value>,
        directory_contents: &[(String, Vec<u8>)],
        created_by: Option<String>,
    ) -> ScaffolderResult<Value> {
        let scratch = self
            .settings
            .work_dir
            .join(format!("dry-run-{}", uuid::Uuid::new_v4()));
        let template_dir = scratch.join("template");
        let workspace = scratch.join("workspace");
        let result = async {
            std::fs::create_dir_all(&template_dir).map_err(|e| ScaffolderError::Internal(e.to_string()))?;
            let loaded = if directory_contents.is_empty() {
                self.loaded_from_entity(entity).await?
            } else {
                for (path, bytes) in directory_contents {
                    let target = crate::confine::resolve_inside(&template_dir, path).map_err(|e| ScaffolderError::Invalid(e.0))?;
                    if let Some(parent) = target.parent() {
                        std::fs::create_dir_all(parent).map_err(|e| ScaffolderError::Internal(e.to_string()))?;
                    }
                    std::fs::write(&target, bytes).map_err(|e| ScaffolderError::Internal(e.to_string()))?;
                }
                let (template, diagnostics) = parse_template(entity);
                let template = template.ok_or_else(|| {
                    ScaffolderError::Invalid(diagnostics.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("; "))
                })?;
                LoadedTemplate { template, dir: Some(template_dir.clone()), base_url: None }
            };
            let errors = schema_errors(&loaded.template, &values);
            if !errors.is_empty() {
                return Err(ScaffolderError::Fields(errors));
            }
            let log = TaskLog::collect(&secrets, false);
            let (_cancel_tx, cancel) = watch::channel(false);
            let outcome = run_template(
                &self.registry,
                &self.services,
                RunOptions {
                    task_id: "dry-run".into(),
                    template: &loaded.template,
                    template_dir: loaded.dir.clone(),
                    values,
                    secrets,
                    user: json!({ "ref": created_by }),
                    workspace: workspace.clone(),
                    dry_run: true,
                },
                &log,
                cancel,
            )
            .await;
            let lines: Vec<Value> = log.lines().iter().map(|l| json!({ "body": l })).collect();
            let (output, steps, error) = match outcome {
                Ok(o) => (o.output, o.steps, None),
                Err(e) => (json!({}), Map::new(), Some(e.to_string())),
            };
            let mut files = Vec::new();
            for entry in walkdir::WalkDir::new(&workspace).follow_links(false).sort_by_file_name().min_depth(1) {
                let entry = entry.map_err(|e| ScaffolderError::Internal(e.to_string()))?;
                if !entry.file_type().is_file() {
                    continue;
                }
                use base64::Engine;
                use std::os::unix::fs::PermissionsExt;
                let bytes = std::fs::read(entry.path()).map_err(|e| ScaffolderError::Internal(e.to_string()))?;
                let executable = entry.metadata().map(|m| m.permissions().mode() & 0o111 != 0).unwrap_or(false);
                files.push(json!({
                    "path": crate::confine::relative_display(&workspace, entry.path()),
                    "executable": executable,
                    "base64Content": base64::engine::general_purpose::STANDARD.encode(bytes),
                }));
            }
            let mut body = json!({
                "log": lines,
                "directoryContents": files,
                "output": output,
                "steps": loaded.template.steps.iter().map(|s| json!({ "id": s.id, "name": s.name, "action": s.action })).collect::<Vec<_>>(),
                "stepOutputs": steps,
            });
            if let Some(error) = error {
                body["error"] = json!({ "name": "Error", "message": error });
            }
            Ok(body)
        }
        .await;
        let _ = std::fs::remove_dir_all(&scratch);
        result
    }
}

/// Checks values against each parameters step's JSON Schema (`ui:*` keys are ignored by the
/// validator as unknown keywords).
pub fn schema_errors(template: &Template, values: &Value) -> Vec<FieldError> {
    let mut errors: Vec<FieldError> = Vec::new();
    for step in &template.parameters {
        for error in crate::form::step_errors(&step.schema, values) {
            if !errors.contains(&error) {
                errors.push(error);
            }
        }
    }
    errors
}

/// Every check values must pass before anything runs: each parameters step's JSON Schema, then
/// the guardrails — the EntityNamePicker value follows the naming pattern and is not taken in
/// the catalog, OwnerPicker values exist in the catalog. Without a catalog (the CLI run offline)
/// only the schema and the naming pattern are checked.
pub async fn check_values(
    template: &Template,
    values: &Value,
    settings: &ScaffolderSettings,
    catalog: Option<&dyn CatalogAccess>,
) -> Vec<FieldError> {
    let mut errors = schema_errors(template, values);
    let namespace = values
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    for field in template.fields_with_widget("EntityNamePicker") {
        let Some(name) = values.get(&field).and_then(Value::as_str) else {
            continue;
        };
        if errors.iter().any(|e| e.field == field) {
            continue;
        }
        if let Some(message) =
            naming_violation(name, &settings.naming_pattern, settings.naming_max_length)
        {
            errors.push(FieldError {
                field: field.clone(),
                message,
            });
            continue;
        }
        let Some(catalog) = catalog else { continue };
        for kind in ["component", "api", "resource", "system", "domain"] {
            let entity_ref = EntityRef::new(kind, namespace, name);
            if let Ok(Some(_)) = catalog.entity(&entity_ref.to_string()).await {
                errors.push(FieldError {
                    field: field.clone(),
                    message: format!("the name '{name}' is already taken by {entity_ref}"),
                });
                break;
            }
        }
    }
    let Some(catalog) = catalog else {
        return errors;
    };
    for (field, schema) in template.parameter_properties() {
        if schema.get("ui:field").and_then(Value::as_str) != Some("OwnerPicker") {
            continue;
        }
        let Some(owner) = values.get(&field).and_then(Value::as_str) else {
            continue;
        };
        let parsed = EntityRef::parse(
            owner,
            paved_model::RefDefaults {
                kind: Some("group"),
                namespace: "default",
            },
        );
        let exists = match &parsed {
            Ok(r) => matches!(catalog.entity(&r.to_string()).await, Ok(Some(_))),
            Err(_) => false,
        };
        if !exists {
            errors.push(FieldError {
                field,
                message: format!("owner '{owner}' does not exist in the catalog"),
            });
        }
    }
    errors
}

/// Why a name breaks the naming convention, if it does.
pub fn naming_violation(name: &str, pattern: &str, max_length: usize) -> Option<String> {
    if name.len() > max_length {
        return Some(format!(
            "the name must be at most {max_length} characters (it has {})",
            name.len()
        ));
    }
    let schema = json!({ "type": "string", "pattern": pattern });
    match jsonschema::validator_for(&schema) {
        Ok(v) if v.is_valid(&json!(name)) => None,
        Ok(_) => Some(format!(
            "the name '{name}' does not follow the naming convention {pattern}"
        )),
        Err(e) => Some(format!("the naming pattern {pattern} is invalid: {e}")),
    }
}

fn iso_time(millis: i64) -> String {
    // RFC 3339 in UTC without a date library: civil-from-days (Howard Hinnant's algorithm).
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Backstage's `SerializedTask`.
pub fn serialize_task(task: &StoredTask) -> Value {
    let mut spec = task.spec.clone();
    if let Some(obj) = spec.as_object_mut() {
        obj.remove("secretKeys");
    }
    json!({
        "id": task.id,
        "spec": spec,
        "status": task.status.as_str(),
        "createdAt": iso_time(task.created_at),
        "lastHeartbeatAt": task.last_heartbeat_at.map(iso_time),
        "createdBy": task.created_by,
        "output": task.output,
    })
}

/// Runs `scaffolder.task` jobs.
pub struct TaskJobHandler(pub Arc<ScaffolderService>);

#[async_trait]
impl JobHandler for TaskJobHandler {
    fn kind(&self) -> &'static str {
        TASK_JOB_KIND
    }
    async fn run(&self, job: Job, ctx: JobContext) -> JobOutcome {
        self.0.run_task_job(&job, ctx).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_time(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn naming_convention() {
        assert_eq!(
            naming_violation("payments-api", DEFAULT_NAMING_PATTERN, 63),
            None
        );
        assert!(
            naming_violation("Payments_API", DEFAULT_NAMING_PATTERN, 63)
                .unwrap()
                .contains("naming convention")
        );
        assert!(
            naming_violation(&"a".repeat(64), DEFAULT_NAMING_PATTERN, 63)
                .unwrap()
                .contains("at most 63")
        );
    }

    #[test]
    fn schema_errors_name_the_field() {
        let entity = json!({
            "apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template", "metadata": {"name": "t"},
            "spec": {"parameters": [
                {"required": ["name"], "properties": {"name": {"type": "string", "pattern": "^[a-z]+$", "ui:field": "EntityNamePicker"}}},
                {"properties": {"port": {"type": "integer", "minimum": 1024}}},
            ]},
        });
        let template = parse_template(&entity).0.unwrap();
        let errors = schema_errors(&template, &json!({"port": 80}));
        assert_eq!(
            errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            vec!["name", "port"]
        );
        assert_eq!(errors[0].message, "is required");
        let errors = schema_errors(&template, &json!({"name": "ABC", "port": 2000}));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "name");
    }
}
