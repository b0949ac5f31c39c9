//! Liveness, readiness, metrics and the OpenAPI document: open without a token.

use crate::AppState;
use crate::error::ApiError;
use crate::respond;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use paved_catalog::CatalogError;

/// Alive: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "Alive", body = String, content_type = "text/plain")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready: the store answers and its migrations ran.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "Ready", body = String, content_type = "text/plain"),
        (status = 503, description = "Not ready, with the reason", body = crate::types::ErrorResponse),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    match state.catalog.ready().await {
        Ok(()) => Ok("ok"),
        Err(CatalogError::Unavailable(reason)) => Err(ApiError::Unavailable(reason)),
        Err(other) => {
            // The detail may name files or hosts: it goes to the log, not to an open endpoint.
            tracing::warn!(error = %other, "readiness check failed");
            Err(ApiError::Unavailable(format!(
                "the {} store is not ready",
                state.catalog.backend()
            )))
        }
    }
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses(
        (status = 200, description = "Metrics in Prometheus' text format", body = String, content_type = "text/plain"),
        (status = 404, description = "Metrics are not enabled", body = crate::types::ErrorResponse),
    ))]
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let handle = state
        .metrics
        .as_ref()
        .ok_or_else(|| ApiError::NotFound("Metrics are not enabled".into()))?;
    let mut response = handle.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}

/// This API's OpenAPI document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "health",
    responses((status = 200, description = "OpenAPI 3 document", body = Object)))]
pub async fn openapi_document() -> Result<Response, ApiError> {
    let document = crate::openapi::document_json();
    Ok(respond::json_text(StatusCode::OK, document.to_owned()))
}
