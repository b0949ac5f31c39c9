//! `/api/scaffolder/v2/…`: Backstage's scaffolder API — actions, parameter schemas, tasks (create,
//! list, get, events, live event stream, cancel, retry) and dry runs.

use crate::AppState;
use crate::audit::{self, Actor};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, QueryParams};
use crate::respond;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use paved_scaffolder::{FieldError, ScaffolderError, ScaffolderService};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

impl From<ScaffolderError> for ApiError {
    fn from(e: ScaffolderError) -> Self {
        match e {
            ScaffolderError::Invalid(m) => ApiError::Invalid(m),
            ScaffolderError::Fields(errors) => ApiError::Invalid(
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            ScaffolderError::NotFound(m) => ApiError::NotFound(m),
            ScaffolderError::Conflict(m) => ApiError::Conflict(m),
            ScaffolderError::Unavailable(m) => ApiError::Unavailable(m),
            ScaffolderError::Internal(m) => ApiError::Internal(m),
        }
    }
}

fn service(state: &AppState) -> Result<Arc<ScaffolderService>, ApiError> {
    state
        .scaffolder
        .clone()
        .ok_or_else(|| ApiError::Unavailable("the scaffolder is not enabled on this server".into()))
}

/// Backstage answers invalid values with 400 `{errors: [...]}` (jsonschema's error objects);
/// each names its field in `property` (`instance.name`) and `path`.
fn field_errors_response(errors: &[FieldError]) -> Response {
    let items: Vec<Value> = errors
        .iter()
        .map(|e| {
            json!({
                "property": if e.field.is_empty() { "instance".to_string() } else { format!("instance.{}", e.field) },
                "path": if e.field.is_empty() { json!([]) } else { json!([e.field]) },
                "message": e.message,
                "stack": format!("instance.{} {}", e.field, e.message),
                "name": "guardrail",
            })
        })
        .collect();
    let body = json!({
        "errors": items,
        "error": { "name": "InputError", "message": errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ") },
    });
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

#[utoipa::path(get, path = "/api/scaffolder/v2/actions", tag = "scaffolder",
    responses((status = 200, description = "Every installed action with its input and output JSON Schemas: `[{id, description, examples, schema: {input, output}}]`")))]
pub async fn list_actions(State(state): State<AppState>) -> Result<Response, ApiError> {
    let service = service(&state)?;
    respond::json_value(StatusCode::OK, &service.registry().describe())
}

#[utoipa::path(get, path = "/api/scaffolder/v2/templates/{namespace}/{kind}/{name}/parameter-schema", tag = "scaffolder",
    params(("namespace" = String, Path), ("kind" = String, Path), ("name" = String, Path)),
    responses(
        (status = 200, description = "`{title, description, steps: [{title, description, schema}]}`"),
        (status = 404, description = "No such template", body = crate::types::ErrorResponse),
    ))]
pub async fn parameter_schema(
    State(state): State<AppState>,
    ApiPath((namespace, kind, name)): ApiPath<(String, String, String)>,
) -> Result<Response, ApiError> {
    let schema = service(&state)?
        .parameter_schema(&namespace, &kind, &name)
        .await?;
    respond::json_value(StatusCode::OK, &schema)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateTaskRequest {
    template_ref: String,
    #[serde(default)]
    values: Value,
    #[serde(default)]
    secrets: Option<Map<String, Value>>,
}

#[utoipa::path(post, path = "/api/scaffolder/v2/tasks", tag = "scaffolder",
    request_body(content = Value, description = "`{templateRef, values, secrets?}`"),
    responses(
        (status = 201, description = "`{id}` of the queued task"),
        (status = 400, description = "Invalid values: `{errors: [{property, path, message}]}`; nothing was created"),
        (status = 404, description = "No such template", body = crate::types::ErrorResponse),
    ))]
pub async fn create_task(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(request): ApiJson<CreateTaskRequest>,
) -> Result<Response, ApiError> {
    let service = service(&state)?;
    let values = if request.values.is_null() {
        json!({})
    } else {
        request.values
    };
    let created_by = created_by(&actor);
    match service
        .create_task(
            &request.template_ref,
            values.clone(),
            request.secrets.unwrap_or_default(),
            created_by,
        )
        .await
    {
        Ok(id) => {
            audit::record(
                &state,
                &actor.0,
                "task.create",
                &id,
                None,
                Some(json!({ "templateRef": request.template_ref, "values": values })),
            )
            .await;
            respond::json_value(StatusCode::CREATED, &json!({ "id": id }))
        }
        Err(ScaffolderError::Fields(errors)) => Ok(field_errors_response(&errors)),
        Err(e) => Err(e.into()),
    }
}

/// The task's creator as an entity ref: the API token's name or the portal user.
pub fn created_by(actor: &Actor) -> Option<String> {
    if actor.0 == audit::ANONYMOUS {
        None
    } else if let Some(user) = actor.0.strip_prefix("user:") {
        Some(format!("user:{user}"))
    } else {
        Some(actor.0.clone())
    }
}

#[utoipa::path(get, path = "/api/scaffolder/v2/tasks", tag = "scaffolder",
    params(("createdBy" = Option<String>, Query), ("limit" = Option<usize>, Query), ("offset" = Option<usize>, Query)),
    responses((status = 200, description = "`{tasks, totalTasks}`, newest first")))]
pub async fn list_tasks(
    State(state): State<AppState>,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let limit = query.integer("limit")?.unwrap_or(100);
    let offset = query.integer("offset")?.unwrap_or(0);
    let body = service(&state)?
        .list_tasks(query.single("createdBy")?, limit, offset)
        .await?;
    respond::json_value(StatusCode::OK, &body)
}

#[utoipa::path(get, path = "/api/scaffolder/v2/tasks/{taskId}", tag = "scaffolder",
    params(("taskId" = String, Path)),
    responses((status = 200, description = "The task: `{id, spec, status, createdAt, lastHeartbeatAt, createdBy}`"),
        (status = 404, description = "No such task", body = crate::types::ErrorResponse)))]
pub async fn get_task(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let task = service(&state)?.task(&id).await?;
    respond::json_value(StatusCode::OK, &task)
}

#[utoipa::path(get, path = "/api/scaffolder/v2/tasks/{taskId}/events", tag = "scaffolder",
    params(("taskId" = String, Path), ("after" = Option<i64>, Query, description = "Only events with a greater id")),
    responses((status = 200, description = "`[{id, taskId, type, body, createdAt}]`, oldest first")))]
pub async fn task_events(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let after = after_param(&query)?;
    let events = service(&state)?.events(&id, after).await?;
    respond::json_value(StatusCode::OK, &events)
}

fn after_param(query: &QueryParams) -> Result<Option<i64>, ApiError> {
    query
        .single("after")?
        .map(|a| {
            a.parse::<i64>()
                .map_err(|_| ApiError::Invalid(format!("after must be an integer, got '{a}'")))
        })
        .transpose()
}

/// An mpsc receiver as a body stream.
struct ChunkStream(tokio::sync::mpsc::Receiver<String>);

impl futures_core::Stream for ChunkStream {
    type Item = Result<String, std::convert::Infallible>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|chunk| chunk.map(Ok))
    }
}

#[utoipa::path(get, path = "/api/scaffolder/v2/tasks/{taskId}/eventstream", tag = "scaffolder",
    params(("taskId" = String, Path), ("after" = Option<i64>, Query)),
    responses((status = 200, description = "Server-sent events (`text/event-stream`): one `event: log|completion|cancelled|recovered` per task event, `data` the event as JSON; the stream ends after the completion")))]
pub async fn task_eventstream(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let service = service(&state)?;
    let after = after_param(&query)?;
    Ok(event_stream(service, id, after).await?)
}

/// A task's events after `after` as server-sent events (`event: <type>`, `data: <event JSON>`),
/// live until the completion event; the API and the portal's task page both stream this. Fails
/// (before the stream starts) when there is no such task.
pub(crate) async fn event_stream(
    service: Arc<ScaffolderService>,
    id: String,
    mut after: Option<i64>,
) -> Result<Response, ScaffolderError> {
    service.events(&id, Some(i64::MAX)).await?;
    let (sender, receiver) = tokio::sync::mpsc::channel::<String>(64);
    tokio::spawn(async move {
        let mut wake = service.subscribe();
        loop {
            let events = match service.events(&id, after).await {
                Ok(events) => events,
                Err(_) => return,
            };
            let mut done = false;
            for event in events {
                after = event.get("id").and_then(Value::as_i64).or(after);
                let kind = event
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("log")
                    .to_string();
                done |= kind == "completion";
                let chunk = format!("event: {kind}\ndata: {event}\n\n");
                if sender.send(chunk).await.is_err() {
                    return;
                }
            }
            if done {
                return;
            }
            // Events written by this process wake us at once; other replicas' within a second.
            tokio::select! {
                _ = wake.changed() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = sender.closed() => return,
            }
        }
    });
    let mut response = Response::new(Body::from_stream(ChunkStream(receiver)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

#[utoipa::path(post, path = "/api/scaffolder/v2/tasks/{taskId}/cancel", tag = "scaffolder",
    params(("taskId" = String, Path)),
    responses((status = 200, description = "`{status: \"cancelled\"}`"),
        (status = 404, description = "No such task", body = crate::types::ErrorResponse),
        (status = 409, description = "The task has already finished", body = crate::types::ErrorResponse)))]
pub async fn cancel_task(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let body = service(&state)?.cancel(&id).await?;
    audit::record(&state, &actor.0, "task.cancel", &id, None, None).await;
    respond::json_value(StatusCode::OK, &body)
}

#[utoipa::path(post, path = "/api/scaffolder/v2/tasks/{taskId}/retry", tag = "scaffolder",
    params(("taskId" = String, Path)),
    responses((status = 201, description = "`{id}`: the task runs again from the start"),
        (status = 409, description = "Only failed or cancelled tasks can be retried", body = crate::types::ErrorResponse)))]
pub async fn retry_task(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    service(&state)?.retry(&id).await?;
    audit::record(&state, &actor.0, "task.retry", &id, None, None).await;
    respond::json_value(StatusCode::CREATED, &json!({ "id": id }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DryRunRequest {
    template: Value,
    #[serde(default)]
    values: Value,
    #[serde(default)]
    secrets: Option<Map<String, Value>>,
    #[serde(default)]
    directory_contents: Vec<DirectoryEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryEntry {
    path: String,
    base64_content: String,
}

#[utoipa::path(post, path = "/api/scaffolder/v2/dry-run", tag = "scaffolder",
    request_body(content = Value, description = "`{template, values, secrets?, directoryContents?: [{path, base64Content}]}`"),
    responses((status = 200, description = "`{log: [{body}], directoryContents: [{path, executable, base64Content}], output, steps}`; nothing is published or registered"),
        (status = 400, description = "Invalid template or values")))]
pub async fn dry_run(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(request): ApiJson<DryRunRequest>,
) -> Result<Response, ApiError> {
    use base64::Engine;
    let mut files = Vec::new();
    for entry in request.directory_contents {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(entry.base64_content.as_bytes())
            .map_err(|e| {
                ApiError::Invalid(format!(
                    "directoryContents '{}': not base64: {e}",
                    entry.path
                ))
            })?;
        files.push((entry.path, bytes));
    }
    let values = if request.values.is_null() {
        json!({})
    } else {
        request.values
    };
    match service(&state)?
        .dry_run(
            &request.template,
            values,
            request.secrets.unwrap_or_default(),
            &files,
            created_by(&actor),
        )
        .await
    {
        Ok(body) => respond::json_value(StatusCode::OK, &body),
        Err(ScaffolderError::Fields(errors)) => Ok(field_errors_response(&errors)),
        Err(e) => Err(e.into()),
    }
}
