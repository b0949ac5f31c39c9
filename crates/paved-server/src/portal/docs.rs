//! Documentation pages: the entity's Docs tab (`/catalog/:ns/:kind/:name/docs/*page`, with the
//! site's navigation, the page, its table of contents and the build status) and the docs home
//! (`/docs`, every site with its owner).

use super::entity::{base_context, load};
use super::identity::Session;
use super::render::{self, Section};
use super::view::{self, RefLink, Titles};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use minijinja::value::Serde;
use paved_catalog::{CatalogError, CatalogResult};
use paved_docs::{DocsError, NavNode, Problem, docs_base_url};
use paved_model::EntityRef;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
pub struct DocsPagePath {
    namespace: String,
    kind: String,
    name: String,
    page: String,
}

/// One entry of the navigation as the template shows it.
#[derive(Serialize)]
struct NavView {
    title: String,
    href: Option<String>,
    external: bool,
    active: bool,
    children: Vec<NavView>,
}

#[derive(Serialize)]
struct SiteListItem {
    site_name: String,
    description: Option<String>,
    href: String,
    entity: RefLink,
    owner: Option<RefLink>,
    status: String,
    problems: usize,
    pages: i64,
    built_at: String,
}

fn to_catalog_error(error: DocsError) -> CatalogError {
    match error {
        DocsError::Source(e) => e,
        DocsError::Store(e) => CatalogError::from(e),
        other => CatalogError::Internal(other.to_string()),
    }
}

fn nav_views(nodes: &[NavNode], base: &str, current: &str) -> Vec<NavView> {
    nodes
        .iter()
        .map(|n| NavView {
            title: n.title.clone(),
            href: n
                .page
                .as_ref()
                .map(|p| paved_docs::markdown::page_url(base, p))
                .or_else(|| n.url.clone()),
            external: n.url.is_some(),
            active: n.page.as_deref() == Some(current),
            children: nav_views(&n.children, base, current),
        })
        .collect()
}

pub async fn entity_docs_page(
    State(state): State<AppState>,
    session: Session,
    Path(path): Path<DocsPagePath>,
) -> Response {
    // A file of the site (an image) is served as it is; anything else is a page.
    let last = path.page.rsplit('/').next().unwrap_or("");
    if last.contains('.') && !last.ends_with(".md") && !last.ends_with(".html") {
        return docs_file(&state, &session, &path).await;
    }
    match entity_docs(
        &state,
        &session,
        &path.namespace,
        &path.kind,
        &path.name,
        &path.page,
    )
    .await
    {
        Ok(response) => response,
        Err(error) => render::error_page(&state, &session, &error),
    }
}

async fn docs_file(state: &AppState, session: &Session, path: &DocsPagePath) -> Response {
    let entity = EntityRef::new(&path.kind, &path.namespace, &path.name);
    let file = match &state.docs {
        Some(docs) => docs.file(&entity, &path.page).await,
        None => Ok(None),
    };
    match file {
        Ok(Some(file)) => {
            let mut response = (StatusCode::OK, file.bytes).into_response();
            let content_type = HeaderValue::from_str(&file.content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, content_type);
            render::security_headers(&mut response);
            response
        }
        Ok(None) => render::error_page(
            state,
            session,
            &CatalogError::NotFound(format!(
                "The documentation of {entity} has no file '{}'.",
                path.page
            )),
        ),
        Err(error) => render::error_page(state, session, &to_catalog_error(error)),
    }
}

/// The Docs tab: `page` is the path after `/docs/` (empty for the first page).
pub(super) async fn entity_docs(
    state: &AppState,
    session: &Session,
    namespace: &str,
    kind: &str,
    name: &str,
    page: &str,
) -> CatalogResult<Response> {
    let loaded = load(state, namespace, kind, name).await?;
    if paved_docs::source::techdocs_ref(&loaded.value).is_none() {
        return Err(CatalogError::NotFound(format!(
            "{} has no documentation (no backstage.io/techdocs-ref annotation).",
            loaded.summary.title
        )));
    }
    let Some(docs) = state.docs.clone() else {
        let ctx = context! {
            enabled => false,
            ..base_context(&loaded, session, "docs", None)
        };
        return Ok(render::page(
            state,
            session,
            Section::Catalog,
            &format!("{} docs", loaded.summary.title),
            "entity_docs.html",
            ctx,
        ));
    };
    let entity = &loaded.entity_ref;
    let site = docs.site(entity).await.map_err(to_catalog_error)?;
    let page_row = match &site {
        Some(_) => docs.page(entity, page).await.map_err(to_catalog_error)?,
        None => None,
    };
    if site.is_some() && page_row.is_none() && site.as_ref().is_some_and(|s| s.page_count > 0) {
        return Err(CatalogError::NotFound(format!(
            "The documentation of {} has no page '{page}'.",
            loaded.summary.title
        )));
    }
    let base = docs_base_url(entity);
    let current = page_row
        .as_ref()
        .map(|p| p.path.clone())
        .unwrap_or_default();
    let nav: Vec<NavNode> = site
        .as_ref()
        .and_then(|s| serde_json::from_value(s.nav.clone()).ok())
        .unwrap_or_default();
    let problems: Vec<Problem> = site
        .as_ref()
        .and_then(|s| serde_json::from_value(s.problems.clone()).ok())
        .unwrap_or_default();
    let title = match (&page_row, &site) {
        (Some(p), Some(s)) => format!("{} · {}", p.title, s.site_name),
        _ => format!("{} docs", loaded.summary.title),
    };
    let has_mermaid = page_row
        .as_ref()
        .is_some_and(|p| p.html.contains("<pre class=\"mermaid\">"));
    let ctx = context! {
        enabled => true,
        site => site.as_ref().map(|s| context! {
            site_name => s.site_name.clone(),
            description => s.site_description.clone(),
            status => s.status.clone(),
            built_at => super::iso_time(s.built_at),
            pages => s.page_count,
        }),
        nav => Serde(nav_views(&nav, &base, &current)),
        page => page_row.as_ref().map(|p| context! {
            title => p.title.clone(),
            mermaid => has_mermaid,
            html => minijinja::Value::from_safe_string(p.html.clone()),
            toc => Serde(p.toc.clone()),
        }),
        problems => Serde(problems),
        missing_source => site
            .is_none()
            .then(|| docs.folder_without_source(&loaded.value))
            .flatten()
            .map(|folder| folder.display().to_string()),
        ..base_context(&loaded, session, "docs", None)
    };
    let mut response = render::page(
        state,
        session,
        Section::Catalog,
        &title,
        "entity_docs.html",
        ctx,
    );
    if has_mermaid {
        render::allow_inline_styles(&mut response);
    }
    Ok(response)
}

/// `/docs`: every documentation site.
pub async fn home(State(state): State<AppState>, session: Session) -> Response {
    match home_page(&state, &session).await {
        Ok(response) => response,
        Err(error) => render::error_page(&state, &session, &error),
    }
}

async fn home_page(state: &AppState, session: &Session) -> CatalogResult<Response> {
    let sites = match &state.docs {
        Some(docs) => docs.sites().await.map_err(to_catalog_error)?,
        None => Vec::new(),
    };
    let mut refs = Vec::new();
    for site in &sites {
        if let Ok(r) = EntityRef::parse_full(&site.entity_ref) {
            refs.push(r);
        }
        if let Some(owner) = site.owner.as_deref()
            && let Ok(r) = paved_model::EntityRef::parse(
                owner,
                paved_model::entity_ref::RefDefaults {
                    kind: Some("group"),
                    namespace: "default",
                },
            )
        {
            refs.push(r);
        }
    }
    let titles: Titles = super::catalog::titles_of(state, &refs).await?;
    let items: Vec<SiteListItem> = sites
        .iter()
        .filter_map(|site| {
            let entity = EntityRef::parse_full(&site.entity_ref).ok()?;
            let owner = site.owner.as_deref().and_then(|o| {
                paved_model::EntityRef::parse(
                    o,
                    paved_model::entity_ref::RefDefaults {
                        kind: Some("group"),
                        namespace: "default",
                    },
                )
                .ok()
            });
            let problems = site.problems.as_array().map_or(0, Vec::len);
            Some(SiteListItem {
                site_name: site.site_name.clone(),
                description: site.site_description.clone(),
                href: docs_base_url(&entity),
                entity: view::ref_link(&entity, None, &titles),
                owner: owner.map(|o| view::ref_link(&o, None, &titles)),
                status: site.status.clone(),
                problems,
                pages: site.page_count,
                built_at: super::iso_time(site.built_at),
            })
        })
        .collect();
    Ok(render::page(
        state,
        session,
        Section::Docs,
        "Documentation",
        "docs.html",
        context! {
            enabled => state.docs.is_some(),
            sites => Serde(items),
        },
    ))
}
