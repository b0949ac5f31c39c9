//! paved's own catalog endpoints under `/api/paved/catalog`.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::QueryParams;
use crate::respond;
use crate::types::{
    AuditEntryItem, AuditLogResponse, CatalogStatsResponse, DiagnosticItem, ProcessingErrorItem,
    ProcessingErrorsResponse,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

/// Every stored processing error, with the location, entity and place in the file.
#[utoipa::path(get, path = "/api/paved/catalog/errors", tag = "paved",
    responses((status = 200, description = "Processing errors", body = ProcessingErrorsResponse)))]
pub async fn processing_errors(State(state): State<AppState>) -> Result<Response, ApiError> {
    let errors = state.catalog.processing_errors().await?;
    let items = errors
        .iter()
        .map(|e| ProcessingErrorItem {
            location_id: e.location_id.0.clone(),
            location_target: e.location_target.clone(),
            entity_ref: e.entity_ref.as_ref().map(ToString::to_string),
            diagnostic: DiagnosticItem::from(&e.diagnostic),
        })
        .collect();
    respond::json_value(StatusCode::OK, &ProcessingErrorsResponse { items })
}

/// Entity counts per kind.
#[utoipa::path(get, path = "/api/paved/catalog/stats", tag = "paved",
    responses((status = 200, description = "Counts", body = CatalogStatsResponse)))]
pub async fn catalog_stats(State(state): State<AppState>) -> Result<Response, ApiError> {
    let kinds = state.catalog.count_by_kind().await?;
    let total_entities = kinds.values().sum();
    respond::json_value(
        StatusCode::OK,
        &CatalogStatsResponse {
            total_entities,
            kinds,
        },
    )
}

/// The audit log: every mutation made through the API or the portal, newest first.
#[utoipa::path(get, path = "/api/paved/audit", tag = "paved",
    params(
        ("limit" = Option<usize>, Query, description = "At most this many entries (default 100, at most 1000)"),
        ("before" = Option<i64>, Query, description = "Only entries older than this id (from `nextBefore`)"),
    ),
    responses((status = 200, description = "Audit entries", body = AuditLogResponse)))]
pub async fn audit_log(
    State(state): State<AppState>,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let limit = query.integer("limit")?.unwrap_or(100).clamp(1, 1000);
    let before = query
        .integer("before")?
        .map(|b| i64::try_from(b).unwrap_or(i64::MAX));
    let entries = state.catalog.audit_log(limit + 1, before).await?;
    let more = entries.len() > limit;
    let items: Vec<AuditEntryItem> = entries
        .into_iter()
        .take(limit)
        .map(|e| AuditEntryItem {
            id: e.id,
            at: crate::portal::iso_time(e.at),
            actor: e.actor,
            action: e.action,
            target: e.target,
            before: e.before,
            after: e.after,
        })
        .collect();
    let next_before = if more {
        items.last().map(|e| e.id)
    } else {
        None
    };
    respond::json_value(StatusCode::OK, &AuditLogResponse { items, next_before })
}
