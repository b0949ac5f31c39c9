//! paved's HTTP server: Backstage's catalog API over axum, paved's own endpoints, health,
//! readiness, metrics, the OpenAPI document and the web portal.
//!
//! Invariant: only this crate knows HTTP and JSON request shapes. Handlers are thin — they
//! parse the request, call `CatalogService`, and map the result; no SQL and no business rules
//! here.
#![forbid(unsafe_code)]

mod audit;
mod auth;
mod error;
mod extract;
mod handlers;
mod openapi;
mod params;
mod portal;
mod respond;
mod telemetry;
pub mod types;

pub use auth::AuthenticatedClient;
pub use error::ApiError;
pub use openapi::ApiDoc;
pub use portal::PortalState;
pub use telemetry::install_metrics_recorder;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use paved_catalog::CatalogService;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::sync::Arc;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;

/// Largest request body accepted (an entity for validate-entity, a by-refs list).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// An API token as configured: its name (for logs and audit) and the SHA-256 of its text. The
/// text itself is never kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    pub name: String,
    pub sha256: [u8; 32],
}

impl ApiToken {
    /// Hashes a token's text (for configuration read from a file or the environment).
    pub fn from_plaintext(name: impl Into<String>, token: &str) -> Self {
        ApiToken {
            name: name.into(),
            sha256: Sha256::digest(token.as_bytes()).into(),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ServerSettings {
    /// Tokens accepted on `/api/*`. Empty = no authentication (the binary allows that on
    /// loopback only).
    pub auth_tokens: Vec<ApiToken>,
}

/// Everything the handlers share. One `Arc` around it: the router clones the state for every
/// request, and a clone is then one reference count instead of one per service.
#[derive(Clone)]
pub struct AppState(Arc<AppStateParts>);

#[derive(Clone)]
pub struct AppStateParts {
    pub catalog: Arc<CatalogService>,
    pub settings: Arc<ServerSettings>,
    /// Renders `/metrics`; `None` = no metrics endpoint (404).
    pub metrics: Option<PrometheusHandle>,
    /// The web portal's templates and caches.
    pub portal: Arc<PortalState>,
    /// Software templates; `None` = the scaffolder API answers 503.
    pub scaffolder: Option<Arc<paved_scaffolder::ScaffolderService>>,
    /// Documentation sites; `None` = the docs API answers 503 and the portal shows no docs.
    pub docs: Option<Arc<paved_docs::DocsService>>,
    /// The search index; `None` = search answers 503.
    pub search: Option<Arc<paved_search::SearchService>>,
}

impl std::ops::Deref for AppState {
    type Target = AppStateParts;

    fn deref(&self) -> &AppStateParts {
        &self.0
    }
}

impl AppState {
    /// The state for `catalog`; fails only if the portal's embedded templates do not parse
    /// (a build defect that a unit test catches first).
    pub fn new(
        catalog: Arc<CatalogService>,
        settings: ServerSettings,
        metrics: Option<PrometheusHandle>,
    ) -> Result<Self, String> {
        Ok(AppState(Arc::new(AppStateParts {
            catalog,
            settings: Arc::new(settings),
            metrics,
            portal: Arc::new(PortalState::new()?),
            scaffolder: None,
            docs: None,
            search: None,
        })))
    }

    fn with(self, change: impl FnOnce(&mut AppStateParts)) -> Self {
        let mut parts = Arc::unwrap_or_clone(self.0);
        change(&mut parts);
        AppState(Arc::new(parts))
    }

    /// The same state with software templates enabled.
    pub fn with_scaffolder(self, scaffolder: Arc<paved_scaffolder::ScaffolderService>) -> Self {
        self.with(|parts| parts.scaffolder = Some(scaffolder))
    }

    /// The same state with documentation sites enabled.
    pub fn with_docs(self, docs: Arc<paved_docs::DocsService>) -> Self {
        self.with(|parts| parts.docs = Some(docs))
    }

    /// The same state with search enabled.
    pub fn with_search(self, search: Arc<paved_search::SearchService>) -> Self {
        self.with(|parts| parts.search = Some(search))
    }
}

/// The whole HTTP API.
pub fn router(state: AppState) -> Router {
    use handlers::{entities, health, locations, paved, scaffolder, search, techdocs};

    let settings = state.settings.clone();
    let routes = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/api/openapi.json", get(health::openapi_document))
        .route("/api/catalog/entities", get(entities::list_entities))
        .route(
            "/api/catalog/entities/by-query",
            get(entities::query_entities),
        )
        .route(
            "/api/catalog/entities/by-name/{kind}/{namespace}/{name}",
            get(entities::entity_by_name),
        )
        .route(
            "/api/catalog/entities/by-name/{kind}/{namespace}/{name}/ancestry",
            get(entities::entity_ancestry),
        )
        .route(
            "/api/catalog/entities/by-uid/{uid}",
            get(entities::entity_by_uid).delete(entities::delete_entity_by_uid),
        )
        .route(
            "/api/catalog/entities/by-refs",
            post(entities::entities_by_refs),
        )
        .route("/api/catalog/entity-facets", get(entities::entity_facets))
        .route(
            "/api/catalog/locations",
            get(locations::list_locations).post(locations::add_location),
        )
        .route(
            "/api/catalog/locations/{id}",
            get(locations::get_location).delete(locations::delete_location),
        )
        .route(
            "/api/catalog/locations/by-entity/{kind}/{namespace}/{name}",
            get(locations::location_by_entity),
        )
        .route("/api/catalog/refresh", post(locations::refresh))
        .route(
            "/api/catalog/validate-entity",
            post(locations::validate_entity),
        )
        .route("/api/paved/catalog/errors", get(paved::processing_errors))
        .route("/api/paved/catalog/stats", get(paved::catalog_stats))
        .route("/api/paved/audit", get(paved::audit_log))
        .route("/api/paved/docs/errors", get(techdocs::docs_errors))
        .route(
            "/api/techdocs/static/docs/{namespace}/{kind}/{name}/{*path}",
            get(techdocs::static_docs),
        )
        .route(
            "/api/techdocs/metadata/techdocs/{namespace}/{kind}/{name}",
            get(techdocs::techdocs_metadata),
        )
        .route(
            "/api/techdocs/metadata/entity/{namespace}/{kind}/{name}",
            get(techdocs::entity_metadata),
        )
        .route("/api/search/query", get(search::query))
        .route("/api/paved/search/suggest", get(search::suggest))
        .route("/api/scaffolder/v2/actions", get(scaffolder::list_actions))
        .route(
            "/api/scaffolder/v2/templates/{namespace}/{kind}/{name}/parameter-schema",
            get(scaffolder::parameter_schema),
        )
        .route(
            "/api/scaffolder/v2/tasks",
            get(scaffolder::list_tasks).post(scaffolder::create_task),
        )
        .route("/api/scaffolder/v2/tasks/{id}", get(scaffolder::get_task))
        .route(
            "/api/scaffolder/v2/tasks/{id}/events",
            get(scaffolder::task_events),
        )
        .route(
            "/api/scaffolder/v2/tasks/{id}/eventstream",
            get(scaffolder::task_eventstream),
        )
        .route(
            "/api/scaffolder/v2/tasks/{id}/cancel",
            post(scaffolder::cancel_task),
        )
        .route(
            "/api/scaffolder/v2/tasks/{id}/retry",
            post(scaffolder::retry_task),
        )
        .route("/api/scaffolder/v2/dry-run", post(scaffolder::dry_run))
        .merge(portal::routes())
        .route_layer(middleware::from_fn(telemetry::label_route))
        .fallback(portal::fallback)
        .with_state(state);

    // Outermost last: compression sees the final body; metrics time everything below it;
    // errors (including 401 and 413 produced below) get Backstage's body.
    routes
        // axum's own 2 MiB default would answer before tower-http's limit, in another shape.
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            settings.clone(),
            auth::require_token,
        ))
        .layer(middleware::from_fn_with_state(
            settings,
            portal::require_portal_session,
        ))
        .layer(middleware::from_fn(error::shape_error_responses))
        .layer(middleware::from_fn(telemetry::record_request))
        .layer(CompressionLayer::new())
}

/// Serves the API on `listener` until `shutdown` completes, then finishes the requests in
/// flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
