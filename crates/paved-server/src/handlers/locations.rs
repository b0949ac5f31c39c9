//! `/api/catalog/locations…`, `/api/catalog/refresh` and `/api/catalog/validate-entity`.

use crate::AppState;
use crate::audit::{self, Actor};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, QueryParams};
use crate::respond;
use crate::types::{
    AddLocationRequest, AddLocationResponse, DiagnosticItem, ErrorResponse, Location,
    LocationListItem, RefreshRequest, ValidateEntityErrors, ValidateEntityRequest, ValidationError,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use paved_model::EntityRef;
use paved_store::LocationId;
use serde_json::Value;
use serde_json::json;

#[utoipa::path(get, path = "/api/catalog/locations", tag = "locations",
    responses((status = 200, description = "Every registered location", body = Vec<LocationListItem>)))]
pub async fn list_locations(State(state): State<AppState>) -> Result<Response, ApiError> {
    let locations = state.catalog.locations().await?;
    let items: Vec<LocationListItem> = locations
        .iter()
        .map(|l| LocationListItem {
            data: Location::from(l),
        })
        .collect();
    respond::json_value(StatusCode::OK, &items)
}

/// Registers a location and reads it at once; `dryRun=true` only reads it.
#[utoipa::path(post, path = "/api/catalog/locations", tag = "locations",
    params(("dryRun" = Option<bool>, Query, description = "Read the location without registering it")),
    request_body = AddLocationRequest,
    responses(
        (status = 201, description = "Registered (or read, on a dry run)", body = AddLocationResponse),
        (status = 400, description = "Malformed body or location", body = ErrorResponse),
        (status = 409, description = "Already registered", body = ErrorResponse),
    ))]
pub async fn add_location(
    State(state): State<AppState>,
    actor: Actor,
    query: QueryParams,
    ApiJson(request): ApiJson<AddLocationRequest>,
) -> Result<Response, ApiError> {
    let dry_run = query.flag("dryRun")?;
    let kind = request.kind.trim();
    let target = request.target.trim();
    if kind.is_empty() || target.is_empty() {
        return Err(ApiError::Invalid(
            "Location type and target must not be empty".into(),
        ));
    }
    let outcome = state.catalog.add_location(kind, target, dry_run).await?;
    if !dry_run {
        audit::record(
            &state,
            &actor.0,
            "location.add",
            &format!("{kind}:{target}"),
            None,
            Some(json!({
                "location": Location::from(&outcome.location),
                "entities": outcome.entities.len(),
                "errors": outcome.errors.len(),
            })),
        )
        .await;
    }
    let response = AddLocationResponse {
        location: Location::from(&outcome.location),
        entities: outcome.entities,
        exists: outcome.exists,
        errors: outcome.errors.iter().map(DiagnosticItem::from).collect(),
    };
    respond::json_value(StatusCode::CREATED, &response)
}

#[utoipa::path(get, path = "/api/catalog/locations/{id}", tag = "locations",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The location", body = Location),
        (status = 404, description = "No such location", body = ErrorResponse),
    ))]
pub async fn get_location(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let location = state.catalog.location(&LocationId(id)).await?;
    respond::json_value(StatusCode::OK, &Location::from(&location))
}

/// Unregisters a location and removes the entities it provided.
#[utoipa::path(delete, path = "/api/catalog/locations/{id}", tag = "locations",
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such location", body = ErrorResponse),
    ))]
pub async fn delete_location(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id = LocationId(id);
    let before = state.catalog.location(&id).await?;
    state.catalog.delete_location(&id).await?;
    audit::record(
        &state,
        &actor.0,
        "location.delete",
        &format!("{}:{}", before.kind, before.target),
        Some(json!(Location::from(&before))),
        None,
    )
    .await;
    Ok(respond::empty(StatusCode::NO_CONTENT))
}

/// The location that provides an entity.
#[utoipa::path(get, path = "/api/catalog/locations/by-entity/{kind}/{namespace}/{name}", tag = "locations",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses(
        (status = 200, description = "The location", body = Location),
        (status = 404, description = "No such entity or location", body = ErrorResponse),
    ))]
pub async fn location_by_entity(
    State(state): State<AppState>,
    ApiPath((kind, namespace, name)): ApiPath<(String, String, String)>,
) -> Result<Response, ApiError> {
    let location = state
        .catalog
        .location_by_entity(&EntityRef::new(&kind, &namespace, &name))
        .await?;
    respond::json_value(StatusCode::OK, &Location::from(&location))
}

/// Reads again, now, the location that provides an entity.
#[utoipa::path(post, path = "/api/catalog/refresh", tag = "catalog",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "Refreshed"),
        (status = 400, description = "Malformed body or entity ref", body = ErrorResponse),
        (status = 404, description = "No such entity", body = ErrorResponse),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> Result<Response, ApiError> {
    let entity_ref = EntityRef::parse_full(&request.entity_ref)
        .map_err(|e| ApiError::Invalid(format!("Invalid entityRef: {e}")))?;
    let outcome = state.catalog.refresh_entity(&entity_ref).await?;
    audit::record(
        &state,
        &actor.0,
        "entity.refresh",
        &entity_ref.to_string(),
        None,
        Some(json!(outcome)),
    )
    .await;
    Ok(respond::empty(StatusCode::OK))
}

/// Validates an entity as if read from `location`, without storing it. As Backstage, problems
/// with the entity (including a body without `entity` or `location`) are a 400 with
/// `{errors:[…]}` rather than the usual error body.
#[utoipa::path(post, path = "/api/catalog/validate-entity", tag = "catalog",
    request_body = ValidateEntityRequest,
    responses(
        (status = 200, description = "Valid"),
        (status = 400, description = "Invalid", body = ValidateEntityErrors),
    ))]
pub async fn validate_entity(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let entity = body.get("entity");
    let location = body.get("location").and_then(Value::as_str);
    let (entity, location) = match (entity, location) {
        (Some(entity @ Value::Object(_)), Some(location)) => (entity, location),
        (entity, location) => {
            let message = if !matches!(entity, Some(Value::Object(_))) {
                "Request body must have an 'entity' object"
            } else if location.is_none() {
                "Request body must have a 'location' string"
            } else {
                "Invalid request body"
            };
            return validation_failure(vec![ValidationError {
                name: "InputError".into(),
                message: message.into(),
                field: None,
                line: None,
                column: None,
            }]);
        }
    };
    let report = state.catalog.validate_entity(entity, location);
    let errors: Vec<ValidationError> = report
        .errors
        .iter()
        .filter(|d| d.is_error())
        .map(|d| ValidationError {
            name: "InputError".into(),
            message: d.message.clone(),
            field: d.field.clone(),
            line: d.line,
            column: d.column,
        })
        .collect();
    if errors.is_empty() {
        Ok(respond::empty(StatusCode::OK))
    } else {
        validation_failure(errors)
    }
}

fn validation_failure(errors: Vec<ValidationError>) -> Result<Response, ApiError> {
    respond::json_value(StatusCode::BAD_REQUEST, &ValidateEntityErrors { errors })
}
