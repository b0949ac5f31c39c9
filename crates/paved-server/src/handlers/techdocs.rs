//! Documentation sites: Backstage's TechDocs paths (`/api/techdocs/static/docs/…`,
//! `/api/techdocs/metadata/…`) over the built sites, and `/api/paved/docs/errors` with every
//! site's build problems.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::respond;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use paved_docs::{DocsError, DocsService};
use paved_model::EntityRef;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

impl From<DocsError> for ApiError {
    fn from(error: DocsError) -> Self {
        match error {
            DocsError::Source(e) => ApiError::from(e),
            DocsError::Store(e) => ApiError::from(paved_catalog::CatalogError::from(e)),
            DocsError::NoTechDocsRef => ApiError::NotFound(error.to_string()),
            DocsError::Internal(m) => ApiError::Internal(m),
            other => ApiError::Invalid(other.to_string()),
        }
    }
}

pub(crate) fn service(state: &AppState) -> Result<Arc<DocsService>, ApiError> {
    state
        .docs
        .clone()
        .ok_or_else(|| ApiError::Unavailable("documentation is not enabled on this server".into()))
}

#[derive(Deserialize)]
pub struct EntityPathParams {
    namespace: String,
    kind: String,
    name: String,
}

#[derive(Deserialize)]
pub struct StaticPathParams {
    namespace: String,
    kind: String,
    name: String,
    path: String,
}

/// A built page as its own HTML document; the page's body is the sanitized rendering.
fn page_document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n</head>\n<body>\n<article class=\"docs-content\">\n{body}</article>\n</body>\n</html>\n",
        paved_docs::markdown::escape_html(title)
    )
}

fn with_static_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    // Docs are untrusted input: whatever slipped through runs nothing here.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src 'self' data:; style-src 'self'; sandbox",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A built page (`index.html`, `guide/index.html`, `guide.html`, or the Markdown path) or a
/// file of the site (an image).
#[utoipa::path(get, path = "/api/techdocs/static/docs/{namespace}/{kind}/{name}/{path}", tag = "techdocs",
    params(
        ("namespace" = String, Path, description = "Entity namespace"),
        ("kind" = String, Path, description = "Entity kind"),
        ("name" = String, Path, description = "Entity name"),
        ("path" = String, Path, description = "`index.html` for the first page, `<page>/index.html` for others, or a file's path"),
    ),
    responses(
        (status = 200, description = "The page as an HTML document, or the file", content_type = "text/html"),
        (status = 404, description = "No such site, page or file", body = crate::types::ErrorResponse),
    ))]
pub async fn static_docs(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<StaticPathParams>,
) -> Result<Response, ApiError> {
    let docs = service(&state)?;
    let entity = EntityRef::new(&p.kind, &p.namespace, &p.name);
    if docs.site(&entity).await?.is_none() {
        return Err(ApiError::NotFound(format!(
            "no documentation site is built for {entity}"
        )));
    }
    let is_page = p.path.is_empty()
        || p.path.ends_with('/')
        || p.path.ends_with(".html")
        || p.path.ends_with(".md")
        || !p.path.rsplit('/').next().unwrap_or("").contains('.');
    if is_page && let Some(page) = docs.page(&entity, &p.path).await? {
        let body = page_document(&page.title, &page.html);
        let response = (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response();
        return Ok(with_static_headers(response));
    }
    match docs.file(&entity, &p.path).await? {
        Some(file) => {
            let content_type = HeaderValue::from_str(&file.content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
            let mut response = (StatusCode::OK, file.bytes).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, content_type);
            Ok(with_static_headers(response))
        }
        None => Err(ApiError::NotFound(format!(
            "the documentation of {entity} has no page or file '{}'",
            p.path
        ))),
    }
}

/// `techdocs_metadata.json` of a site, as Backstage's TechDocs backend returns it.
#[derive(Serialize, ToSchema)]
pub struct TechDocsMetadata {
    pub site_name: String,
    pub site_description: Option<String>,
    /// Hash of the site's sources.
    pub etag: Option<String>,
    /// Unix seconds of the last build.
    pub build_timestamp: i64,
    /// Every page, as the static path that serves it (`index.html`, `guide/index.html`).
    pub files: Vec<String>,
    /// `built` or `failed` (the pages of the last good build stay).
    pub status: String,
}

/// The static path of a page: MkDocs' directory URLs.
fn static_path(page: &str) -> String {
    let stem = page.strip_suffix(".md").unwrap_or(page);
    if stem == "index" {
        "index.html".into()
    } else {
        let stem = stem.strip_suffix("/index").unwrap_or(stem);
        format!("{stem}/index.html")
    }
}

/// The site's metadata: name, description, build time and its pages.
#[utoipa::path(get, path = "/api/techdocs/metadata/techdocs/{namespace}/{kind}/{name}", tag = "techdocs",
    params(
        ("namespace" = String, Path, description = "Entity namespace"),
        ("kind" = String, Path, description = "Entity kind"),
        ("name" = String, Path, description = "Entity name"),
    ),
    responses(
        (status = 200, description = "The site's metadata", body = TechDocsMetadata),
        (status = 404, description = "No site built for the entity", body = crate::types::ErrorResponse),
    ))]
pub async fn techdocs_metadata(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<EntityPathParams>,
) -> Result<Response, ApiError> {
    let docs = service(&state)?;
    let entity = EntityRef::new(&p.kind, &p.namespace, &p.name);
    let site = docs.site(&entity).await?.ok_or_else(|| {
        ApiError::NotFound(format!("no documentation site is built for {entity}"))
    })?;
    let files = docs
        .page_titles(&entity)
        .await?
        .into_iter()
        .map(|(path, _)| static_path(&path))
        .collect();
    respond::json_value(
        StatusCode::OK,
        &TechDocsMetadata {
            site_name: site.site_name,
            site_description: site.site_description,
            etag: site.fingerprint,
            build_timestamp: site.built_at / 1000,
            files,
            status: site.status,
        },
    )
}

/// The entity the documentation belongs to.
#[utoipa::path(get, path = "/api/techdocs/metadata/entity/{namespace}/{kind}/{name}", tag = "techdocs",
    params(
        ("namespace" = String, Path, description = "Entity namespace"),
        ("kind" = String, Path, description = "Entity kind"),
        ("name" = String, Path, description = "Entity name"),
    ),
    responses(
        (status = 200, description = "The entity", body = crate::types::Entity),
        (status = 404, description = "No such entity", body = crate::types::ErrorResponse),
    ))]
pub async fn entity_metadata(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<EntityPathParams>,
) -> Result<Response, ApiError> {
    let entity = EntityRef::new(&p.kind, &p.namespace, &p.name);
    let raw = state
        .catalog
        .entity_by_ref(&entity)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("{entity} not found")))?;
    Ok(respond::json_text(StatusCode::OK, raw.json))
}

/// One build problem of a site.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocsErrorItem {
    pub entity_ref: String,
    /// `built` (the site is up, with problems) or `failed`.
    pub status: String,
    /// Relative to the site's source folder.
    pub file: String,
    pub line: Option<usize>,
    pub link: Option<String>,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct DocsErrorsResponse {
    pub items: Vec<DocsErrorItem>,
}

/// Every documentation site's build problems: failed builds, broken links, missing nav files.
#[utoipa::path(get, path = "/api/paved/docs/errors", tag = "paved",
    responses((status = 200, description = "Build problems", body = DocsErrorsResponse)))]
pub async fn docs_errors(State(state): State<AppState>) -> Result<Response, ApiError> {
    let docs = service(&state)?;
    let items = docs
        .problems()
        .await?
        .into_iter()
        .flat_map(|site| {
            let entity_ref = site.entity_ref;
            let status = site.status;
            site.problems.into_iter().map(move |p| DocsErrorItem {
                entity_ref: entity_ref.clone(),
                status: status.clone(),
                file: p.file,
                line: p.line,
                link: p.link,
                message: p.message,
            })
        })
        .collect();
    respond::json_value(StatusCode::OK, &DocsErrorsResponse { items })
}
