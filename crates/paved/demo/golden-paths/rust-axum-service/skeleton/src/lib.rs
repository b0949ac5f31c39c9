//! The HTTP service: routes, state, errors and metrics. `main.rs` only wires it to a socket.
#![forbid(unsafe_code)]

pub mod error;
pub mod metrics;
pub mod telemetry;

use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use error::{ApiError, FieldError};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// The OpenAPI document of this service, served at `/openapi.yaml` and registered in the catalog.
pub const OPENAPI: &str = include_str!("../openapi.yaml");

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    ready: AtomicBool,
    items: Mutex<Vec<Item>>,
    metrics: metrics::Metrics,
}

impl AppState {
    pub fn new() -> Self {
        AppState {
            inner: Arc::new(Inner {
                ready: AtomicBool::new(false),
                items: Mutex::new(Vec::new()),
                metrics: metrics::Metrics::new(),
            }),
        }
    }

    pub fn set_ready(&self, ready: bool) {
        self.inner.ready.store(ready, Ordering::SeqCst);
    }
}

impl Default for AppState {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Item {
    pub id: u64,
    pub name: String,
    pub quantity: i64,
}

/// The body of `POST /v1/items`; fields are optional here so that a missing one is reported
/// like any other rule, with its name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    pub name: Option<String>,
    pub quantity: Option<i64>,
}

impl NewItem {
    fn validate(self) -> Result<(String, i64), ApiError> {
        let mut errors = Vec::new();
        let name = self.name.map(|n| n.trim().to_string());
        match &name {
            None => errors.push(FieldError::new("name", "is required")),
            Some(n) if n.is_empty() => errors.push(FieldError::new("name", "must not be empty")),
            Some(n) if n.chars().count() > 100 => {
                errors.push(FieldError::new("name", "must be at most 100 characters"))
            }
            _ => {}
        }
        match self.quantity {
            None => errors.push(FieldError::new("quantity", "is required")),
            Some(q) if !(0..=1_000_000).contains(&q) => {
                errors.push(FieldError::new("quantity", "must be between 0 and 1000000"))
            }
            _ => {}
        }
        if errors.is_empty() {
            Ok((name.unwrap_or_default(), self.quantity.unwrap_or_default()))
        } else {
            Err(ApiError::Validation(errors))
        }
    }
}

pub fn router(state: AppState) -> Router {
    let headers = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ),
        (
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
        (header::CACHE_CONTROL, "no-store"),
    ];
    let mut app = Router::new()
        .route("/v1/items", get(list_items).post(create_item))
        .route("/v1/items/{id}", get(get_item))
        .route("/healthz/live", get(live))
        .route("/healthz/ready", get(ready))
        .route("/metrics", get(metrics_text))
        .route("/openapi.yaml", get(openapi))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .layer(RequestBodyLimitLayer::new(64 * 1024))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(10),
        ))
        .layer(TraceLayer::new_for_http());
    for (name, value) in headers {
        app = app.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ));
    }
    app.with_state(state)
}

/// Counts requests and their durations by route and status.
async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    state.inner.metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

async fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn ready(State(state): State<AppState>) -> Response {
    if state.inner.ready.load(Ordering::SeqCst) {
        Json(serde_json::json!({ "status": "ready" })).into_response()
    } else {
        ApiError::NotReady.into_response()
    }
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.inner.metrics.encode(),
    )
        .into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI).into_response()
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

async fn list_items(State(state): State<AppState>) -> Json<serde_json::Value> {
    let items = state.inner.items.lock().expect("items lock").clone();
    Json(serde_json::json!({ "items": items }))
}

#[tracing::instrument(skip_all)]
async fn create_item(
    State(state): State<AppState>,
    body: Result<Json<NewItem>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Item>), ApiError> {
    let Json(new) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let (name, quantity) = new.validate()?;
    let mut items = state.inner.items.lock().expect("items lock");
    let item = Item {
        id: items.len() as u64 + 1,
        name,
        quantity,
    };
    items.push(item.clone());
    tracing::info!(id = item.id, "item created");
    Ok((StatusCode::CREATED, Json(item)))
}

async fn get_item(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Item>, ApiError> {
    let id: u64 = id.parse().ok().filter(|id| *id >= 1).ok_or_else(|| {
        ApiError::Validation(vec![FieldError::new("id", "must be a positive integer")])
    })?;
    let items = state.inner.items.lock().expect("items lock");
    items
        .iter()
        .find(|i| i.id == id)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("item {id} does not exist")))
}
