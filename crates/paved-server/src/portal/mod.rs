//! The developer portal: server-rendered HTML pages over the catalog (home, catalog table,
//! entity pages, registration, processing errors, templates and their tasks), enhanced with htmx but fully usable
//! without JavaScript. Templates and assets are compiled into the binary.
//!
//! Pages are thin like the API's handlers: they call `CatalogService`, shape what they got
//! into view models (`view`) and render a template. Pure presentation work (graph layout, API
//! definitions, highlighting) lives in `paved-render`.

mod assets;
mod catalog;
mod create;
mod docs;
mod entity;
mod errors;
mod graph;
mod home;
mod identity;
mod register;
mod render;
mod search;
mod view;

pub(crate) use home::iso_time;
pub(crate) use identity::require_portal_session;
pub(crate) use render::PortalTemplates;

use crate::AppState;
use axum::Router;
use axum::routing::{get, post};

/// The portal's share of the application state: its templates.
pub struct PortalState {
    pub(crate) templates: PortalTemplates,
}

impl PortalState {
    pub fn new() -> Result<Self, String> {
        Ok(PortalState {
            templates: PortalTemplates::load()?,
        })
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
            "/catalog/{namespace}/{kind}/{name}/docs/{*page}",
            get(docs::entity_docs_page),
        )
        .route("/docs", get(docs::home))
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
        .route("/create", get(create::gallery))
        .route(
            "/create/templates/{namespace}/{name}",
            get(create::form_page).post(create::form_submit),
        )
        .route("/create/tasks", get(create::task_list))
        .route("/create/tasks/{id}", get(create::task_page))
        .route("/create/tasks/{id}/stream", get(create::task_stream))
        .route("/create/tasks/{id}/cancel", post(create::task_cancel))
        .route("/create/tasks/{id}/retry", post(create::task_retry))
        .route("/errors", get(errors::page))
        .route("/search", get(search::page))
        .route("/search/suggest", get(search::suggestions))
        .route("/whoami", get(identity::whoami).post(identity::choose))
        .route(
            "/sign-in",
            get(identity::sign_in_form).post(identity::sign_in),
        )
        .route("/sign-out", post(identity::sign_out))
        .route("/assets/{*path}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
}
