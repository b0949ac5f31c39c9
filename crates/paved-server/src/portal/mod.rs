//! The developer portal: server-rendered HTML pages over the catalog (home, catalog table,
//! entity pages, registration, processing errors), enhanced with htmx but fully usable
//! without JavaScript. Templates and assets are compiled into the binary.
//!
//! Pages are thin like the API's handlers: they call `CatalogService`, shape what they got
//! into view models (`view`) and render a template. Pure presentation work (graph layout, API
//! definitions, highlighting) lives in `paved-render`.

mod assets;
mod catalog;
mod entity;
mod errors;
mod graph;
mod home;
mod identity;
mod register;
mod render;
mod view;

pub(crate) use home::iso_time;
pub(crate) use identity::require_portal_session;
pub(crate) use render::PortalTemplates;

use crate::AppState;
use axum::Router;
use axum::routing::{get, post};
use paved_store::FacetCount;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The portal's share of the application state: its templates and a small cache of facet
/// counts, which are the costly part of the catalog page at scale and change only when the
/// catalog does.
pub struct PortalState {
    pub(crate) templates: PortalTemplates,
    facet_cache: Mutex<HashMap<String, CachedFacets>>,
    facets_refreshing: Mutex<HashSet<String>>,
}

struct CachedFacets {
    /// The catalog's latest change sequence when the counts were taken.
    version: i64,
    taken: Instant,
    facets: BTreeMap<String, Vec<FacetCount>>,
}

/// Facet counts are reused while the catalog's change sequence has not moved, and at most this
/// long even then (a replica's own writes move the sequence; this bounds staleness from
/// whatever the sequence cannot see, such as a restore of the database).
const FACET_CACHE_TTL: Duration = Duration::from_secs(60);
const FACET_CACHE_ENTRIES: usize = 256;

impl PortalState {
    pub fn new() -> Result<Self, String> {
        Ok(PortalState {
            templates: PortalTemplates::load()?,
            facet_cache: Mutex::new(HashMap::new()),
            facets_refreshing: Mutex::new(HashSet::new()),
        })
    }

    /// The cached counts for `key` and whether they are current for `version`. Stale counts
    /// are still returned: the page shows them while fresh ones are computed in the
    /// background, so only the very first page pays for a computation.
    fn cached_facets(
        &self,
        key: &str,
        version: i64,
    ) -> Option<(BTreeMap<String, Vec<FacetCount>>, bool)> {
        let cache = self.facet_cache.lock().ok()?;
        let entry = cache.get(key)?;
        let current = entry.version == version && entry.taken.elapsed() < FACET_CACHE_TTL;
        Some((entry.facets.clone(), current))
    }

    /// Marks `key` as being recomputed; false if a recomputation is already under way.
    fn start_refresh(&self, key: &str) -> bool {
        self.facets_refreshing
            .lock()
            .map(|mut set| set.insert(key.to_owned()))
            .unwrap_or(false)
    }

    fn end_refresh(&self, key: &str) {
        if let Ok(mut set) = self.facets_refreshing.lock() {
            set.remove(key);
        }
    }

    fn store_facets(&self, key: String, version: i64, facets: BTreeMap<String, Vec<FacetCount>>) {
        if let Ok(mut cache) = self.facet_cache.lock() {
            if cache.len() >= FACET_CACHE_ENTRIES {
                cache.retain(|_, entry| entry.version == version);
                if cache.len() >= FACET_CACHE_ENTRIES {
                    cache.clear();
                }
            }
            cache.insert(
                key,
                CachedFacets {
                    version,
                    taken: Instant::now(),
                    facets,
                },
            );
        }
    }
}

/// Unknown paths: the API's JSON 404 under `/api` (and for non-browser paths), the portal's
/// 404 page elsewhere.
pub(crate) async fn fallback(
    axum::extract::State(state): axum::extract::State<AppState>,
    session: identity::Session,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = request.uri().path();
    if path == "/api" || path.starts_with("/api/") {
        return crate::error::not_found_fallback(request)
            .await
            .into_response();
    }
    render::page_with_status(
        &state,
        &session,
        render::Section::Home,
        "Page not found",
        "error.html",
        minijinja::context! {
            heading => "Page not found",
            message => format!("There is no page at {path}."),
        },
        axum::http::StatusCode::NOT_FOUND,
    )
}

/// The portal's routes. Paths follow Backstage's portal where one exists
/// (`/catalog/:namespace/:kind/:name`, `/catalog-import`).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home::page))
        .route("/catalog", get(catalog::page))
        .route("/catalog/{namespace}/{kind}/{name}", get(entity::overview))
        .route("/catalog/{namespace}/{kind}/{name}/{tab}", get(entity::tab))
        .route(
            "/catalog/{namespace}/{kind}/{name}/actions/refresh",
            post(entity::refresh),
        )
        .route(
            "/catalog/{namespace}/{kind}/{name}/actions/unregister",
            post(entity::unregister),
        )
        .route(
            "/catalog/{namespace}/{kind}/{name}/actions/star",
            post(entity::toggle_star),
        )
        .route(
            "/catalog-import",
            get(register::form).post(register::submit),
        )
        .route("/errors", get(errors::page))
        .route("/whoami", get(identity::whoami).post(identity::choose))
        .route(
            "/sign-in",
            get(identity::sign_in_form).post(identity::sign_in),
        )
        .route("/sign-out", post(identity::sign_out))
        .route("/assets/{*path}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
}
