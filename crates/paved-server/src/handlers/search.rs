//! Search: Backstage's `GET /api/search/query` and the portal's `GET /api/paved/search/suggest`.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::QueryParams;
use crate::respond;
use crate::types::{
    FacetValue, SearchFacets, SearchHighlight, SearchResponse, SearchResultItem,
    SearchSuggestResponse, SearchSuggestion,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use paved_search::{SearchRequest, SearchService};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Results per page when `pageLimit` is not given (Backstage's in-memory engine's default).
pub const DEFAULT_PAGE_LIMIT: usize = 25;
/// Suggestions returned while typing.
pub const SUGGESTIONS: usize = 8;

pub(crate) fn search_service(state: &AppState) -> Result<&Arc<SearchService>, ApiError> {
    state
        .search
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("search is not enabled on this server".into()))
}

/// A page cursor as Backstage's in-memory engine writes it: the page number, base64.
pub fn encode_cursor(page: usize) -> String {
    STANDARD.encode(page.to_string())
}

fn decode_cursor(cursor: &str) -> Result<usize, ApiError> {
    STANDARD
        .decode(cursor.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.parse::<usize>().ok())
        .ok_or_else(|| ApiError::Invalid(format!("Invalid pageCursor '{cursor}'")))
}

/// `types[0]=a&types[1]=b` (as Backstage's client writes it), `types[]=a` or `types=a,b`.
fn requested_types(query: &QueryParams) -> Vec<String> {
    query
        .pairs()
        .iter()
        .filter(|(key, _)| key == "types" || (key.starts_with("types[") && key.ends_with(']')))
        .flat_map(|(_, value)| value.split(','))
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `filters[kind]=Component`, `filters[kind][0]=API&filters[kind][1]=Component`.
fn requested_filters(query: &QueryParams) -> Result<BTreeMap<String, Vec<String>>, ApiError> {
    let mut filters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, value) in query.pairs() {
        let Some(rest) = key.strip_prefix("filters[") else {
            continue;
        };
        let Some(end) = rest.find(']') else {
            return Err(ApiError::Invalid(format!(
                "Invalid filter parameter '{key}'"
            )));
        };
        let name = &rest[..end];
        if name.is_empty() {
            return Err(ApiError::Invalid(format!(
                "Invalid filter parameter '{key}'"
            )));
        }
        filters
            .entry(name.to_owned())
            .or_default()
            .push(value.clone());
    }
    Ok(filters)
}

fn facet_values(counts: Vec<paved_search::FacetCount>) -> Vec<FacetValue> {
    counts
        .into_iter()
        .map(|c| FacetValue {
            value: c.value,
            count: c.count,
        })
        .collect()
}

/// Searches the catalog, templates, API operations and documentation pages.
#[utoipa::path(get, path = "/api/search/query", tag = "search",
    params(
        ("term" = Option<String>, Query, description = "What to search for; empty lists everything. The last word also matches as a prefix; words of four letters or more also match with one typo."),
        ("types[0]" = Option<String>, Query, description = "Result types to include (`types[0]`, `types[1]`, …): software-catalog, templates, api-operations, techdocs. None = all."),
        ("filters[kind]" = Option<String>, Query, description = "Only results of this kind (case-insensitive). Also `filters[owner]`, `filters[lifecycle]`, `filters[namespace]`, `filters[type]`; repeat a filter to accept several values."),
        ("pageCursor" = Option<String>, Query, description = "`nextPageCursor` or `previousPageCursor` of a previous answer"),
        ("pageLimit" = Option<usize>, Query, description = "Results per page, 1 to 100 (default 25)"),
    ),
    responses(
        (status = 200, description = "Ranked results with highlights and facet counts", body = SearchResponse),
        (status = 400, description = "Unknown type or filter, bad cursor or limit", body = crate::types::ErrorResponse),
        (status = 503, description = "The index is still being built at start, or search is off", body = crate::types::ErrorResponse),
    ))]
pub async fn query(
    State(state): State<AppState>,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let search = search_service(&state)?;
    let limit = query.integer("pageLimit")?.unwrap_or(DEFAULT_PAGE_LIMIT);
    if !(1..=paved_search::MAX_PAGE_LIMIT).contains(&limit) {
        return Err(ApiError::Invalid(format!(
            "Invalid pageLimit, must be between 1 and {}",
            paved_search::MAX_PAGE_LIMIT
        )));
    }
    let page = match query.single("pageCursor")? {
        Some(cursor) if !cursor.trim().is_empty() => decode_cursor(cursor)?,
        _ => 0,
    };
    let offset = page
        .checked_mul(limit)
        .ok_or_else(|| ApiError::Invalid("Invalid pageCursor, too far".into()))?;
    let request = SearchRequest {
        term: query.single("term")?.unwrap_or_default().to_owned(),
        types: requested_types(&query),
        filters: requested_filters(&query)?,
        offset,
        limit,
    };
    let results = search.search(request).await?;
    let next_page_cursor =
        (offset + results.hits.len() < results.total).then(|| encode_cursor(page + 1));
    let previous_page_cursor = (page > 0).then(|| encode_cursor(page - 1));
    let response = SearchResponse {
        number_of_results: results.total,
        next_page_cursor,
        previous_page_cursor,
        results: results
            .hits
            .into_iter()
            .map(|hit| SearchResultItem {
                result_type: hit.doc_type,
                document: hit.document,
                highlight: (!hit.highlight.is_empty()).then(|| SearchHighlight {
                    pre_tag: paved_search::PRE_TAG.to_owned(),
                    post_tag: paved_search::POST_TAG.to_owned(),
                    fields: hit.highlight,
                }),
                rank: hit.rank,
            })
            .collect(),
        facets: SearchFacets {
            types: facet_values(results.facets.types),
            kinds: facet_values(results.facets.kinds),
            owners: facet_values(results.facets.owners),
        },
    };
    respond::json_value(StatusCode::OK, &response)
}

/// The first results for what is being typed (the portal's search box).
#[utoipa::path(get, path = "/api/paved/search/suggest", tag = "search",
    params(("term" = String, Query, description = "What has been typed so far")),
    responses(
        (status = 200, description = "Up to eight suggestions", body = SearchSuggestResponse),
        (status = 503, description = "The index is still being built at start, or search is off", body = crate::types::ErrorResponse),
    ))]
pub async fn suggest(
    State(state): State<AppState>,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let search = search_service(&state)?;
    let term = query.single("term")?.unwrap_or_default().to_owned();
    let suggestions = search
        .suggest(term, SUGGESTIONS)
        .await?
        .into_iter()
        .map(|s| SearchSuggestion {
            title: s.title,
            kind: s.kind,
            result_type: s.doc_type,
            link: s.location,
        })
        .collect();
    respond::json_value(StatusCode::OK, &SearchSuggestResponse { suggestions })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_bad_ones_are_refused() {
        assert_eq!(encode_cursor(2), "Mg==");
        assert_eq!(decode_cursor("Mg=="), Ok(2));
        assert!(decode_cursor("not a cursor").is_err());
    }

    #[test]
    fn types_and_filters_in_backstages_forms() {
        let query = QueryParams::from_query(Some(
            "types%5B0%5D=software-catalog&types%5B1%5D=techdocs&filters%5Bkind%5D=Component&filters%5Bowner%5D%5B0%5D=a&filters%5Bowner%5D%5B1%5D=b",
        ));
        assert_eq!(requested_types(&query), ["software-catalog", "techdocs"]);
        let filters = requested_filters(&query).expect("filters");
        assert_eq!(filters["kind"], ["Component"]);
        assert_eq!(filters["owner"], ["a", "b"]);
    }
}
