//! The OpenAPI document of every endpoint, generated from the handlers' `#[utoipa::path]`
//! attributes and the request/response types.

use crate::handlers::{entities, health, locations, paved, scaffolder, search, techdocs};
use crate::types;
use std::sync::OnceLock;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "paved API",
        description = "Backstage's catalog API (`/api/catalog`), search (`/api/search`) and paved's own endpoints (`/api/paved`). \
            When API tokens are configured every `/api` request needs `Authorization: Bearer <token>`. \
            Errors have Backstage's shape: `{error:{name,message}, request:{method,url}, response:{statusCode}}`."
    ),
    paths(
        entities::list_entities,
        entities::query_entities,
        entities::entity_by_name,
        entities::entity_ancestry,
        entities::entity_by_uid,
        entities::delete_entity_by_uid,
        entities::entities_by_refs,
        entities::entity_facets,
        locations::list_locations,
        locations::add_location,
        locations::get_location,
        locations::delete_location,
        locations::location_by_entity,
        locations::refresh,
        locations::validate_entity,
        paved::processing_errors,
        paved::catalog_stats,
        paved::audit_log,
        techdocs::docs_errors,
        techdocs::static_docs,
        techdocs::techdocs_metadata,
        techdocs::entity_metadata,
        search::query,
        search::suggest,
        scaffolder::list_actions,
        scaffolder::parameter_schema,
        scaffolder::create_task,
        scaffolder::list_tasks,
        scaffolder::get_task,
        scaffolder::task_events,
        scaffolder::task_eventstream,
        scaffolder::cancel_task,
        scaffolder::retry_task,
        scaffolder::dry_run,
        health::healthz,
        health::readyz,
        health::metrics,
        health::openapi_document,
    ),
    components(schemas(
        types::Entity,
        types::PageInfo,
        types::QueryEntitiesResponse,
        types::AncestryItem,
        types::AncestryResponse,
        types::EntitiesByRefsRequest,
        types::EntitiesByRefsResponse,
        types::FacetValue,
        types::FacetsResponse,
        types::Location,
        types::LocationListItem,
        types::AddLocationRequest,
        types::AddLocationResponse,
        types::DiagnosticItem,
        types::RefreshRequest,
        types::ValidateEntityRequest,
        types::ValidationError,
        types::ValidateEntityErrors,
        types::ErrorResponse,
        types::AuditEntryItem,
        types::AuditLogResponse,
        types::ErrorDetail,
        types::ErrorRequest,
        types::ErrorStatus,
        types::ProcessingErrorItem,
        types::ProcessingErrorsResponse,
        types::CatalogStatsResponse,
        techdocs::TechDocsMetadata,
        techdocs::DocsErrorItem,
        techdocs::DocsErrorsResponse,
        types::SearchResultItem,
        types::SearchHighlight,
        types::SearchFacets,
        types::SearchResponse,
        types::SearchSuggestion,
        types::SearchSuggestResponse,
    )),
    modifiers(&BearerSecurity),
    tags(
        (name = "catalog", description = "Entities (Backstage-compatible)"),
        (name = "locations", description = "Locations (Backstage-compatible)"),
        (name = "paved", description = "paved's own catalog endpoints"),
        (name = "techdocs", description = "Documentation sites (Backstage's TechDocs paths)"),
        (name = "search", description = "Search over the catalog, templates, API operations and documentation (Backstage-compatible query)"),
        (name = "health", description = "Probes, metrics and this document; open without a token"),
    )
)]
pub struct ApiDoc;

struct BearerSecurity;

impl Modify for BearerSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The document as JSON, built once.
pub fn document_json() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        ApiDoc::openapi().to_json().unwrap_or_else(|error| {
            tracing::error!(%error, "OpenAPI document not serialisable");
            "{}".to_owned()
        })
    })
}
