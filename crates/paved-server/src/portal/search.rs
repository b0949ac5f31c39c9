//! The search page (`/search?query=…&type=…&kind=…&owner=…&page=…`): ranked results of the
//! search index with highlighted snippets, facets with counts as checkboxes, paging; and
//! `/search/suggest`, the fragment of suggestions under the header's search box.
//!
//! Facet counts are disjunctive: a facet with a selection counts as if that facet alone were
//! unselected, so more values of it stay reachable.

use super::identity::Session;
use super::render::{self, Section};
use super::view;
use super::view::FacetValueView;
use crate::AppState;
use crate::extract::QueryParams;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;
use paved_search::{FacetCount, SearchError, SearchRequest, SearchResults};
use serde::Serialize;
use serde_json::Value;

const PAGE_SIZE: usize = 20;
/// Facets: URL parameter (also the index's filter key), heading.
const FACETS: [(&str, &str); 3] = [("type", "Type"), ("kind", "Kind"), ("owner", "Owner")];
/// Facet values listed at most.
const FACET_CAP: usize = 30;

#[derive(Clone, Debug, Default)]
struct SearchParams {
    query: String,
    /// (facet parameter, selected values) in FACETS order.
    selected: Vec<(&'static str, Vec<String>)>,
    page: usize,
}

impl SearchParams {
    fn from_query(query: &QueryParams) -> SearchParams {
        SearchParams {
            query: query.all("query").next().unwrap_or("").trim().to_owned(),
            selected: FACETS
                .iter()
                .map(|(param, _)| {
                    let mut values: Vec<String> = query
                        .all(param)
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .map(str::to_owned)
                        .collect();
                    values.dedup();
                    (*param, values)
                })
                .collect(),
            page: query
                .all("page")
                .next()
                .and_then(|p| p.parse::<usize>().ok())
                .unwrap_or(1)
                .max(1),
        }
    }

    fn values(&self, param: &str) -> &[String] {
        self.selected
            .iter()
            .find(|(p, _)| *p == param)
            .map_or(&[], |(_, v)| v.as_slice())
    }

    fn href(&self) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if !self.query.is_empty() {
            pairs.push(("query", self.query.clone()));
        }
        for (param, values) in &self.selected {
            for value in values {
                pairs.push((param, value.clone()));
            }
        }
        if self.page > 1 {
            pairs.push(("page", self.page.to_string()));
        }
        let query: Vec<String> = pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={}", view::encode_query(&v)))
            .collect();
        if query.is_empty() {
            "/search".into()
        } else {
            format!("/search?{}", query.join("&"))
        }
    }

    /// The index request, without the filter of facet `except` (for that facet's counts).
    fn request(&self, except: Option<&str>, offset: usize, limit: usize) -> SearchRequest {
        let mut request = SearchRequest {
            term: self.query.clone(),
            offset,
            limit,
            ..SearchRequest::default()
        };
        for (param, values) in &self.selected {
            if Some(*param) == except || values.is_empty() {
                continue;
            }
            if *param == "type" {
                request.types = values.clone();
            } else {
                request.filters.insert((*param).to_owned(), values.clone());
            }
        }
        request
    }
}

#[derive(Serialize)]
struct FacetView {
    param: &'static str,
    heading: &'static str,
    values: Vec<FacetValueView>,
}

#[derive(Serialize)]
struct ResultView {
    title: String,
    /// Escaped HTML with `<mark>`s (from the index), when the title matched.
    title_html: Option<String>,
    snippet_html: Option<String>,
    text: String,
    href: String,
    type_label: &'static str,
    kind: String,
    owner: String,
    rank: usize,
}

fn type_label(result_type: &str) -> &'static str {
    match result_type {
        paved_search::TYPE_SOFTWARE_CATALOG => "Catalog",
        paved_search::TYPE_TEMPLATES => "Template",
        paved_search::TYPE_API_OPERATIONS => "API operation",
        paved_search::TYPE_TECHDOCS => "Documentation",
        _ => "Other",
    }
}

fn facet_label(param: &str, value: &str) -> String {
    match param {
        "type" => type_label(value).to_owned(),
        "kind" => view::kind_label(value),
        _ => value.to_owned(),
    }
}

fn text(document: &serde_json::Map<String, Value>, key: &str) -> String {
    document
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn facet_view(
    params: &SearchParams,
    param: &'static str,
    heading: &'static str,
    counts: &[FacetCount],
) -> FacetView {
    let selected = params.values(param);
    let mut values: Vec<FacetValueView> = counts
        .iter()
        .take(FACET_CAP)
        .map(|c| (c.value.clone(), c.count))
        .chain(
            // A selected value the results lack stays visible (count 0) so it can be unticked.
            selected
                .iter()
                .filter(|s| !counts.iter().any(|c| c.value.eq_ignore_ascii_case(s)))
                .map(|s| (s.clone(), 0)),
        )
        .map(|(value, count)| {
            let is_selected = selected.iter().any(|s| s.eq_ignore_ascii_case(&value));
            let mut next = params.clone();
            next.page = 1;
            if let Some((_, list)) = next.selected.iter_mut().find(|(p, _)| *p == param) {
                if is_selected {
                    list.retain(|v| !v.eq_ignore_ascii_case(&value));
                } else {
                    list.push(value.clone());
                }
            }
            FacetValueView {
                label: facet_label(param, &value),
                href: next.href(),
                selected: is_selected,
                value,
                count,
            }
        })
        .collect();
    values.sort_by(|a, b| b.selected.cmp(&a.selected).then(b.count.cmp(&a.count)));
    FacetView {
        param,
        heading,
        values,
    }
}

async fn run(
    search: &paved_search::SearchService,
    params: &SearchParams,
) -> Result<(SearchResults, Vec<FacetView>), SearchError> {
    let offset = (params.page - 1).saturating_mul(PAGE_SIZE);
    let results = search
        .search(params.request(None, offset, PAGE_SIZE))
        .await?;
    let mut facets = Vec::new();
    for (param, heading) in FACETS {
        let counts = if params.values(param).is_empty() {
            match param {
                "type" => results.facets.types.clone(),
                "kind" => results.facets.kinds.clone(),
                _ => results.facets.owners.clone(),
            }
        } else {
            let own = search.search(params.request(Some(param), 0, 1)).await?;
            match param {
                "type" => own.facets.types,
                "kind" => own.facets.kinds,
                _ => own.facets.owners,
            }
        };
        facets.push(facet_view(params, param, heading, &counts));
    }
    Ok((results, facets))
}

pub async fn page(State(state): State<AppState>, session: Session, query: QueryParams) -> Response {
    let params = SearchParams::from_query(&query);
    let title = if params.query.is_empty() {
        "Search".to_owned()
    } else {
        format!("Search: {}", params.query)
    };
    let Some(search) = state.search.clone() else {
        return unavailable(&state, &session, "Search is not enabled on this server.");
    };
    let (results, facets) = match run(&search, &params).await {
        Ok(found) => found,
        Err(SearchError::NotReady) => {
            return unavailable(
                &state,
                &session,
                "The search index is being built; this page will answer in a few seconds.",
            );
        }
        Err(SearchError::Invalid(message)) => {
            return render::page_with_status(
                &state,
                &session,
                Section::Search,
                "Bad request",
                "error.html",
                context! { heading => "Bad request", message },
                StatusCode::BAD_REQUEST,
            );
        }
        Err(SearchError::Catalog(error)) => return render::error_page(&state, &session, &error),
        Err(error) => {
            tracing::error!(%error, "search failed");
            return unavailable(
                &state,
                &session,
                "Search failed; the server log has the details.",
            );
        }
    };
    let rows: Vec<ResultView> = results
        .hits
        .into_iter()
        .map(|hit| ResultView {
            title: text(&hit.document, "title"),
            title_html: hit.highlight.get("title").cloned(),
            snippet_html: hit.highlight.get("text").cloned(),
            text: text(&hit.document, "text").chars().take(200).collect(),
            href: text(&hit.document, "location"),
            type_label: type_label(&hit.doc_type),
            kind: text(&hit.document, "kind"),
            owner: text(&hit.document, "owner"),
            rank: hit.rank,
        })
        .collect();
    let pages = results.total.div_ceil(PAGE_SIZE).max(1);
    let page_href = |page: usize| {
        let mut next = params.clone();
        next.page = page;
        next.href()
    };
    let prev_href = (params.page > 1).then(|| page_href(params.page - 1));
    let next_href = (params.page < pages).then(|| page_href(params.page + 1));
    let clear_href = SearchParams {
        query: params.query.clone(),
        selected: FACETS.iter().map(|(p, _)| (*p, Vec::new())).collect(),
        page: 1,
    }
    .href();
    let any_selected = params.selected.iter().any(|(_, v)| !v.is_empty());
    render::page(
        &state,
        &session,
        Section::Search,
        &title,
        "search.html",
        context! {
            query => params.query,
            total => results.total,
            rows => Serde(rows),
            facets => Serde(facets),
            page => params.page,
            pages,
            prev_href,
            next_href,
            clear_href,
            any_selected,
        },
    )
}

fn unavailable(state: &AppState, session: &Session, message: &str) -> Response {
    render::page_with_status(
        state,
        session,
        Section::Search,
        "Search unavailable",
        "error.html",
        context! { heading => "Search unavailable", message },
        StatusCode::SERVICE_UNAVAILABLE,
    )
}

#[derive(Serialize)]
struct SuggestionView {
    title: String,
    kind: String,
    type_label: &'static str,
    href: String,
}

/// The suggestions fragment for the header's search box (htmx swaps it in while typing).
/// Empty while the index is being built or when search is off: typing must never error.
pub async fn suggestions(State(state): State<AppState>, query: QueryParams) -> Response {
    let term = query.all("query").next().unwrap_or("").trim().to_owned();
    let mut items = Vec::new();
    if let Some(search) = state.search.clone()
        && !term.is_empty()
    {
        match search
            .suggest(term.clone(), crate::handlers::search::SUGGESTIONS)
            .await
        {
            Ok(found) => {
                items = found
                    .into_iter()
                    .map(|s| SuggestionView {
                        type_label: type_label(&s.doc_type),
                        title: s.title,
                        kind: s.kind,
                        href: s.location,
                    })
                    .collect();
            }
            Err(SearchError::NotReady) => {}
            Err(error) => tracing::warn!(%error, "search suggestions failed"),
        }
    }
    match state.portal.templates.render(
        "search_suggest.html",
        context! { items => Serde(items), query => term },
    ) {
        Ok(body) => render::html(StatusCode::OK, body),
        Err(error) => {
            tracing::error!(%error, "suggestions template failed");
            render::html(StatusCode::INTERNAL_SERVER_ERROR, String::new())
        }
    }
}
