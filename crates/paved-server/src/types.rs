//! The JSON shapes of requests and responses, as Backstage's catalog API has them, plus paved's
//! own. Entities themselves are served from their stored text, so their schema here is only
//! descriptive.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A catalog entity: Backstage's envelope (`apiVersion`, `kind`, `metadata`, `spec`,
/// `relations`, `status`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    pub api_version: String,
    pub kind: String,
    #[schema(value_type = Object)]
    pub metadata: Value,
    #[schema(value_type = Option<Object>)]
    pub spec: Option<Value>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub relations: Option<Vec<Value>>,
    #[schema(value_type = Option<Object>)]
    pub status: Option<Value>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev_cursor: Option<String>,
}

/// `GET /entities/by-query`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryEntitiesResponse {
    pub items: Vec<Entity>,
    pub total_items: u64,
    pub page_info: PageInfo,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AncestryItem {
    pub entity: Entity,
    pub parent_entity_refs: Vec<String>,
}

/// `GET /entities/by-name/{kind}/{namespace}/{name}/ancestry`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AncestryResponse {
    pub root_entity_ref: String,
    pub items: Vec<AncestryItem>,
}

/// `POST /entities/by-refs`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntitiesByRefsRequest {
    pub entity_refs: Vec<String>,
    #[serde(default)]
    pub fields: Option<Vec<String>>,
}

/// One slot per requested ref, in request order; `null` where there is no such entity.
#[derive(Serialize, ToSchema)]
pub struct EntitiesByRefsResponse {
    pub items: Vec<Option<Entity>>,
}

#[derive(Serialize, ToSchema)]
pub struct FacetValue {
    pub value: String,
    pub count: u64,
}

/// `GET /entity-facets`.
#[derive(Serialize, ToSchema)]
pub struct FacetsResponse {
    pub facets: BTreeMap<String, Vec<FacetValue>>,
}

/// A registered location.
#[derive(Serialize, ToSchema)]
pub struct Location {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub target: String,
}

impl From<&paved_store::StoredLocation> for Location {
    fn from(location: &paved_store::StoredLocation) -> Self {
        Location {
            id: location.id.0.clone(),
            kind: location.kind.clone(),
            target: location.target.clone(),
        }
    }
}

/// `GET /locations` wraps each location (Backstage's shape).
#[derive(Serialize, ToSchema)]
pub struct LocationListItem {
    pub data: Location,
}

/// `POST /locations`.
#[derive(Deserialize, ToSchema)]
pub struct AddLocationRequest {
    #[serde(rename = "type")]
    pub kind: String,
    pub target: String,
}

/// A problem found in a file, with where it is.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticItem {
    /// `error` or `warning`.
    pub severity: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl From<&paved_model::Diagnostic> for DiagnosticItem {
    fn from(d: &paved_model::Diagnostic) -> Self {
        DiagnosticItem {
            severity: match d.severity {
                paved_model::Severity::Error => "error".into(),
                paved_model::Severity::Warning => "warning".into(),
            },
            message: d.message.clone(),
            file: d.file.clone(),
            line: d.line,
            column: d.column,
            field: d.field.clone(),
        }
    }
}

/// `POST /locations` → 201.
#[derive(Serialize, ToSchema)]
pub struct AddLocationResponse {
    pub location: Location,
    /// Final form when stored; as processed on a dry run.
    #[schema(value_type = Vec<Entity>)]
    pub entities: Vec<Value>,
    /// On a dry run: whether the location is registered already.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
    /// paved's addition: problems found while reading the location (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<DiagnosticItem>,
}

/// `POST /refresh`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    pub entity_ref: String,
    /// Accepted for Backstage compatibility; paved authenticates the request itself.
    #[serde(default)]
    pub authorization_token: Option<String>,
}

/// `POST /validate-entity`.
#[derive(Deserialize, ToSchema)]
pub struct ValidateEntityRequest {
    #[schema(value_type = Object)]
    pub entity: Value,
    /// A location reference, `type:target` (e.g. `url:https://host/path/catalog-info.yaml`).
    pub location: String,
}

/// One validation error, as Backstage's `serializeError` writes it, plus where it is.
#[derive(Serialize, ToSchema)]
pub struct ValidationError {
    pub name: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

/// `POST /validate-entity` → 400.
#[derive(Serialize, ToSchema)]
pub struct ValidateEntityErrors {
    pub errors: Vec<ValidationError>,
}

/// Backstage's error body.
#[derive(Serialize, ToSchema)]
pub struct ErrorResponse {
    pub error: ErrorDetail,
    pub request: ErrorRequest,
    pub response: ErrorStatus,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `InputError`, `AuthenticationError`, `NotAllowedError`, `NotFoundError`,
    /// `ConflictError`, `ServiceUnavailableError` or `Error`.
    pub name: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorRequest {
    pub method: String,
    pub url: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorStatus {
    pub status_code: u16,
}

/// One stored processing error (`GET /api/paved/catalog/errors`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProcessingErrorItem {
    pub location_id: String,
    pub location_target: String,
    /// The entity the error is shown on; absent when it concerns the location as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_ref: Option<String>,
    #[serde(flatten)]
    pub diagnostic: DiagnosticItem,
}

#[derive(Serialize, ToSchema)]
pub struct ProcessingErrorsResponse {
    pub items: Vec<ProcessingErrorItem>,
}

/// `GET /api/paved/catalog/stats`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CatalogStatsResponse {
    pub total_entities: u64,
    /// Lower-case kind → number of entities.
    pub kinds: BTreeMap<String, u64>,
}

/// One audited mutation.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntryItem {
    pub id: i64,
    /// RFC 3339 UTC.
    pub at: String,
    /// `token:<name>`, `portal:<session>` or `anonymous (loopback)`.
    pub actor: String,
    /// `location.add`, `location.delete`, `entity.delete`, `entity.refresh`, `session.sign-in`, …
    pub action: String,
    pub target: String,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditLogResponse {
    /// Newest first.
    pub items: Vec<AuditEntryItem>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_before: Option<i64>,
}

/// One result of `GET /api/search/query` (Backstage's `Result<SearchDocument>`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchResultItem {
    /// `software-catalog`, `templates`, `api-operations` or `techdocs`.
    #[serde(rename = "type")]
    pub result_type: String,
    /// `title`, `text`, `location`, `kind`, `namespace`, `name`, `owner`, `lifecycle`, and
    /// per type: `type`/`componentType`/`tags` (entities), `method`/`path`/`operationId`
    /// (operations), `path` (doc pages).
    #[schema(value_type = Object)]
    pub document: serde_json::Map<String, serde_json::Value>,
    /// Present when a field matched: HTML-escaped text with the matches between the tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub highlight: Option<SearchHighlight>,
    /// 1-based position over all pages.
    pub rank: usize,
}

/// Highlighted fields of a result.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchHighlight {
    pub pre_tag: String,
    pub post_tag: String,
    /// Field (`title`, `text`) → escaped HTML with the matches marked.
    pub fields: BTreeMap<String, String>,
}

/// Counts over the whole result set (paved's addition to Backstage's shape).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchFacets {
    pub types: Vec<FacetValue>,
    pub kinds: Vec<FacetValue>,
    pub owners: Vec<FacetValue>,
}

/// `GET /api/search/query`: Backstage's `SearchResultSet`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchResponse {
    pub results: Vec<SearchResultItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_page_cursor: Option<String>,
    pub number_of_results: usize,
    pub facets: SearchFacets,
}

/// One suggestion of `GET /api/paved/search/suggest`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchSuggestion {
    pub title: String,
    pub kind: String,
    #[serde(rename = "type")]
    pub result_type: String,
    /// The portal page to open.
    pub link: String,
}

/// `GET /api/paved/search/suggest`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchSuggestResponse {
    pub suggestions: Vec<SearchSuggestion>,
}
