//! paved's own catalog endpoints under `/api/paved/catalog`.

use crate::AppState;
use crate::error::ApiError;
use crate::respond;
use crate::types::{
    CatalogStatsResponse, DiagnosticItem, ProcessingErrorItem, ProcessingErrorsResponse,
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
