//! The catalog page: a table of entities with facets, a text filter, sortable columns, cursor
//! paging and starred entities. The whole state is in the URL so a view can be shared; htmx
//! swaps the results in place, and without JavaScript the form simply submits. The text
//! filter is answered by the search index when it is ready (see [`text_filter`]).

use super::identity::Session;
use super::render::{self, Section};
use super::view::FacetValueView;
use super::view::{self, EntitySummary, Titles};
use crate::AppState;
use crate::extract::QueryParams;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use minijinja::context;
use minijinja::value::Serde;
use paved_catalog::facet_cache::Staleness;
use paved_catalog::{CatalogError, CatalogResult};
use paved_model::EntityRef;
use paved_model::filter::{EntityFilter, FilterCondition, FilterSet};
use paved_search::{EntityTextMatches, SearchError};
use paved_store::{EntityQuery, FacetCount, FullTextFilter, Keyset, OrderField};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

pub const DEFAULT_PAGE_SIZE: usize = 25;
const MAX_PAGE_SIZE: usize = 100;
/// Facet values shown before "more"; the rest (up to the cap) fold into a `<details>`.
const FACET_VISIBLE: usize = 8;
const FACET_CAP: usize = 40;

/// The facets of the catalog page: URL parameter, the field it filters, its heading.
const FACETS: [(&str, &str, &str); 7] = [
    ("kind", "kind", "Kind"),
    ("type", "spec.type", "Type"),
    ("owner", "relations.ownedBy", "Owner"),
    ("lifecycle", "spec.lifecycle", "Lifecycle"),
    ("tier", "metadata.labels.tier", "Tier"),
    ("tag", "metadata.tags", "Tag"),
    ("namespace", "metadata.namespace", "Namespace"),
];

/// Sortable columns: URL value → field.
const SORTS: [(&str, &str); 6] = [
    ("name", "metadata.name"),
    ("kind", "kind"),
    ("type", "spec.type"),
    ("owner", "spec.owner"),
    ("lifecycle", "spec.lifecycle"),
    ("tier", "metadata.labels.tier"),
];

/// Fields the text filter looks in.
const TEXT_FIELDS: [&str; 3] = ["metadata.name", "metadata.title", "metadata.description"];
/// Most entities the search index hands the store for one text filter. A term matching more
/// is filtered in SQL instead: past a few thousand refs the list costs as much as the scan.
const TEXT_FILTER_MAX_REFS: usize = 5_000;

/// What the URL asks for.
#[derive(Clone, Debug, Default)]
struct CatalogParams {
    /// (facet parameter, selected values) in FACETS order.
    selected: Vec<(&'static str, Vec<String>)>,
    text: String,
    sort: &'static str,
    descending: bool,
    starred_only: bool,
    limit: usize,
    cursor: Option<String>,
}

impl CatalogParams {
    fn from_query(query: &QueryParams) -> CatalogParams {
        let selected = FACETS
            .iter()
            .map(|(param, _, _)| {
                let mut values: Vec<String> = query
                    .all(param)
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
                    .collect();
                values.dedup();
                (*param, values)
            })
            .collect();
        let sort_param = query.all("sort").next().unwrap_or("name");
        let sort = SORTS
            .iter()
            .map(|(name, _)| *name)
            .find(|name| *name == sort_param)
            .unwrap_or("name");
        CatalogParams {
            selected,
            text: query.all("q").next().unwrap_or("").trim().to_owned(),
            sort,
            descending: query.all("dir").next() == Some("desc"),
            starred_only: query.all("starred").next() == Some("1"),
            limit: query
                .all("limit")
                .next()
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(DEFAULT_PAGE_SIZE)
                .clamp(1, MAX_PAGE_SIZE),
            cursor: query.all("cursor").next().map(str::to_owned),
        }
    }

    fn values(&self, param: &str) -> &[String] {
        self.selected
            .iter()
            .find(|(p, _)| *p == param)
            .map_or(&[], |(_, v)| v.as_slice())
    }

    /// The URL of this view with changes applied (and no cursor: any change restarts paging).
    fn href_with(&self, change: impl FnOnce(&mut CatalogParams)) -> String {
        let mut next = self.clone();
        next.cursor = None;
        change(&mut next);
        next.href()
    }

    fn href(&self) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        for (param, values) in &self.selected {
            for value in values {
                pairs.push((param, value.clone()));
            }
        }
        if !self.text.is_empty() {
            pairs.push(("q", self.text.clone()));
        }
        if self.starred_only {
            pairs.push(("starred", "1".into()));
        }
        if self.sort != "name" {
            pairs.push(("sort", self.sort.into()));
        }
        if self.descending {
            pairs.push(("dir", "desc".into()));
        }
        if self.limit != DEFAULT_PAGE_SIZE {
            pairs.push(("limit", self.limit.to_string()));
        }
        if let Some(cursor) = &self.cursor {
            pairs.push(("cursor", cursor.clone()));
        }
        let query: Vec<String> = pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={}", view::encode_query(&v)))
            .collect();
        if query.is_empty() {
            "/catalog".into()
        } else {
            format!("/catalog?{}", query.join("&"))
        }
    }

    /// Conditions of the selected facets (all must hold; values of one facet are
    /// alternatives), except the facet named `except` (for that facet's own counts).
    fn conditions(&self, except: Option<&str>) -> Vec<FilterCondition> {
        FACETS
            .iter()
            .filter(|(param, _, _)| Some(*param) != except)
            .filter_map(|(param, field, _)| {
                let values = self.values(param);
                (!values.is_empty()).then(|| FilterCondition {
                    key: field.to_lowercase(),
                    values: Some(values.iter().map(|v| v.to_lowercase()).collect()),
                })
            })
            .collect()
    }
}

/// The conditions as a filter; starred-only adds one alternative per starred entity.
fn entity_filter(
    conditions: Vec<FilterCondition>,
    starred: Option<&[String]>,
) -> Option<EntityFilter> {
    match starred {
        Some(stars) => {
            let any_of = stars
                .iter()
                .filter_map(|r| EntityRef::parse_full(r).ok())
                .map(|r| {
                    let mut all_of = conditions.clone();
                    for (key, value) in [
                        ("kind", r.kind()),
                        ("metadata.namespace", r.namespace()),
                        ("metadata.name", r.name()),
                    ] {
                        all_of.push(FilterCondition {
                            key: key.into(),
                            values: Some(vec![value.to_owned()]),
                        });
                    }
                    FilterSet { all_of }
                })
                .collect::<Vec<_>>();
            // No stars: a condition nothing meets, so the table is empty rather than everything.
            Some(if any_of.is_empty() {
                EntityFilter {
                    any_of: vec![FilterSet {
                        all_of: vec![FilterCondition {
                            // uids are UUIDs: "-" is never one.
                            key: "metadata.uid".into(),
                            values: Some(vec!["-".into()]),
                        }],
                    }],
                }
            } else {
                EntityFilter { any_of }
            })
        }
        None => (!conditions.is_empty()).then(|| EntityFilter {
            any_of: vec![FilterSet { all_of: conditions }],
        }),
    }
}

fn encode_keyset(keyset: &Keyset) -> Option<String> {
    serde_json::to_vec(keyset)
        .ok()
        .map(|bytes| URL_SAFE_NO_PAD.encode(bytes))
}

fn decode_keyset(cursor: &str) -> CatalogResult<Keyset> {
    URL_SAFE_NO_PAD
        .decode(cursor.trim_end_matches('='))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| {
            CatalogError::Invalid(
                "This page link is damaged; start again from the first page.".into(),
            )
        })
}

#[derive(Serialize)]
struct FacetView {
    param: &'static str,
    heading: &'static str,
    visible: Vec<FacetValueView>,
    more: Vec<FacetValueView>,
}

#[derive(Serialize)]
struct SortView {
    key: &'static str,
    active: bool,
    descending: bool,
    href: String,
    aria_sort: &'static str,
}

pub async fn page(State(state): State<AppState>, session: Session, uri: Uri) -> Response {
    let query = QueryParams::from_query(uri.query());
    let params = CatalogParams::from_query(&query);
    match build(&state, &session, &params).await {
        Ok(ctx) => render::page(
            &state,
            &session,
            Section::Catalog,
            "Catalog",
            "catalog.html",
            ctx,
        ),
        Err(error) => render::error_page(&state, &session, &error),
    }
}

async fn build(
    state: &AppState,
    session: &Session,
    params: &CatalogParams,
) -> CatalogResult<minijinja::Value> {
    let starred = params.starred_only.then_some(session.stars.as_slice());
    let filter = entity_filter(params.conditions(None), starred);
    let sort_field = SORTS
        .iter()
        .find(|(name, _)| *name == params.sort)
        .map_or("metadata.name", |(_, field)| *field);
    // Name ascending is the store's own order (kind, namespace, name): it walks an index and
    // stops after one page, where ordering by a field must look at every match first.
    let mut order = if sort_field == "metadata.name" && !params.descending {
        Vec::new()
    } else {
        vec![OrderField {
            field: sort_field.into(),
            descending: params.descending,
        }]
    };
    if sort_field != "metadata.name" {
        order.push(OrderField {
            field: "metadata.name".into(),
            descending: false,
        });
    }
    let keyset = params.cursor.as_deref().map(decode_keyset).transpose()?;
    let (refs, full_text) = match text_filter(state, &params.text).await {
        TextFilter::None => (None, None),
        TextFilter::Refs(refs) => (Some(refs), None),
        TextFilter::Substring(full_text) => (None, Some(full_text)),
    };
    let entity_query = EntityQuery {
        filter,
        order,
        full_text,
        refs,
        limit: Some(params.limit),
        keyset,
        ..EntityQuery::default()
    };
    let page = state.catalog.query_entities(&entity_query).await?;
    let values: Vec<serde_json::Value> = page.items.iter().filter_map(view::parse_raw).collect();

    // Owners and systems of this page, to show their titles.
    let mut referenced: Vec<EntityRef> = Vec::new();
    let mut seen = HashSet::new();
    for summary in values
        .iter()
        .filter_map(|v| EntitySummary::from_value(v, &Titles::new()))
    {
        for link in summary.owner.iter().chain(summary.system.iter()) {
            if seen.insert(link.entity_ref.clone())
                && let Ok(r) = EntityRef::parse_full(&link.entity_ref)
            {
                referenced.push(r);
            }
        }
    }
    let titles = titles_of(state, &referenced).await?;
    let rows: Vec<serde_json::Value> = values
        .iter()
        .filter_map(|v| EntitySummary::from_value(v, &titles))
        .map(|summary| {
            let starred = session.is_starred(&summary.entity_ref);
            serde_json::json!({ "entity": summary, "starred": starred })
        })
        .collect();

    let facets = facet_views(state, params).await?;
    let sorts: Vec<SortView> = SORTS
        .iter()
        .map(|(key, _)| {
            let active = params.sort == *key;
            SortView {
                key,
                active,
                descending: active && params.descending,
                href: params.href_with(|p| {
                    p.descending = active && !p.descending;
                    p.sort = key;
                }),
                aria_sort: match (active, params.descending) {
                    (false, _) => "none",
                    (true, false) => "ascending",
                    (true, true) => "descending",
                },
            }
        })
        .collect();
    let next_href = page.next.as_ref().and_then(encode_keyset).map(|c| {
        let mut p = params.clone();
        p.cursor = Some(c);
        p.href()
    });
    let prev_href = page.prev.as_ref().and_then(encode_keyset).map(|c| {
        let mut p = params.clone();
        p.cursor = Some(c);
        p.href()
    });
    let kind = params.values("kind").first().cloned();
    let active_filters: Vec<serde_json::Value> = params
        .selected
        .iter()
        .flat_map(|(param, values)| {
            values.iter().map(move |value| {
                serde_json::json!({
                    "param": param,
                    "value": value,
                    "label": facet_label(param, value),
                    "remove_href": params.href_with(|p| {
                        if let Some((_, vs)) = p.selected.iter_mut().find(|(q, _)| q == param) {
                            vs.retain(|v| v != value);
                        }
                    }),
                })
            })
        })
        .collect();
    Ok(context! {
        rows => Serde(rows),
        facets => Serde(facets),
        sorts => Serde(sorts),
        total => page.total_items,
        text => params.text.clone(),
        kind,
        show_kind_column => params.values("kind").len() != 1,
        starred_only => params.starred_only,
        starred_toggle_href => params.href_with(|p| p.starred_only = !p.starred_only),
        clear_href => "/catalog",
        active_filters => Serde(active_filters),
        next_href,
        prev_href,
        first_href => params.cursor.as_ref().map(|_| params.href_with(|_| {})),
        sort => params.sort,
        dir => if params.descending { "desc" } else { "asc" },
        limit => params.limit,
        default_limit => DEFAULT_PAGE_SIZE,
        self_href => params.href(),
    })
}

/// How the text filter restricts the store's query.
enum TextFilter {
    /// Nothing typed.
    None,
    /// The entities the search index matched.
    Refs(Vec<EntityRef>),
    /// The store's own filter (a substring of the name, title or description): when search
    /// is disabled or its index still being built, and for text the index cannot answer
    /// (no word in it, or more than [`TEXT_FILTER_MAX_REFS`] matches).
    Substring(FullTextFilter),
}

async fn text_filter(state: &AppState, text: &str) -> TextFilter {
    if text.is_empty() {
        return TextFilter::None;
    }
    if let Some(search) = &state.search {
        match search
            .entities_matching_words(text.to_owned(), TEXT_FILTER_MAX_REFS)
            .await
        {
            Ok(EntityTextMatches::Found(refs)) => return TextFilter::Refs(refs),
            Ok(EntityTextMatches::TooMany | EntityTextMatches::NoWords)
            | Err(SearchError::NotReady) => {}
            Err(error) => {
                tracing::warn!(%error, "catalog text filter: the search index failed; filtering in the store");
            }
        }
    }
    TextFilter::Substring(FullTextFilter {
        term: text.to_owned(),
        fields: TEXT_FIELDS.iter().map(|f| (*f).to_owned()).collect(),
    })
}

/// `metadata.title` of each entity that exists, keyed by ref.
pub async fn titles_of(state: &AppState, refs: &[EntityRef]) -> CatalogResult<Titles> {
    let mut titles = Titles::new();
    if refs.is_empty() {
        return Ok(titles);
    }
    for (entity_ref, raw) in refs.iter().zip(state.catalog.entities_by_refs(refs).await?) {
        if let Some(title) = raw
            .as_ref()
            .and_then(view::parse_raw)
            .and_then(|v| {
                v.pointer("/metadata/title")
                    .and_then(|t| t.as_str())
                    .map(str::to_owned)
            })
            .filter(|t| !t.trim().is_empty())
        {
            titles.insert(entity_ref.to_string(), title);
        }
    }
    Ok(titles)
}

fn facet_label(param: &str, value: &str) -> String {
    match param {
        "kind" => view::kind_label(value),
        "owner" => EntityRef::parse_full(value)
            .map(|r| view::short_ref(&r, Some("group")))
            .unwrap_or_else(|_| value.to_owned()),
        _ => value.to_owned(),
    }
}

/// Counts for every facet. The kind facet counts the whole catalog (so other kinds stay
/// reachable); the others count within the selected kind. Cached per catalog version.
async fn facet_views(state: &AppState, params: &CatalogParams) -> CatalogResult<Vec<FacetView>> {
    let kind_values = params.values("kind");
    let mut counts: BTreeMap<String, Vec<FacetCount>> = BTreeMap::new();
    let all_kinds = cached_facets(state, &["kind"], &[]).await?;
    counts.extend(all_kinds);
    let other_fields: Vec<&str> = FACETS.iter().skip(1).map(|(_, field, _)| *field).collect();
    counts.extend(cached_facets(state, &other_fields, kind_values).await?);

    Ok(FACETS
        .iter()
        .map(|(param, field, heading)| {
            let selected = params.values(param);
            let mut values: Vec<FacetCount> = counts.get(*field).cloned().unwrap_or_default();
            values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            let mut views: Vec<FacetValueView> = Vec::new();
            // Selected values first, even when the counts no longer list them.
            for value in selected {
                let count = values
                    .iter()
                    .find(|v| v.value.eq_ignore_ascii_case(value))
                    .map_or(0, |v| v.count);
                views.push(facet_value_view(params, param, value, count, true));
            }
            for value in values
                .iter()
                .filter(|v| !selected.iter().any(|s| s.eq_ignore_ascii_case(&v.value)))
            {
                if views.len() >= FACET_CAP {
                    break;
                }
                views.push(facet_value_view(
                    params,
                    param,
                    &value.value,
                    value.count,
                    false,
                ));
            }
            let split = views.len().min(FACET_VISIBLE.max(selected.len()));
            let more = views.split_off(split);
            FacetView {
                param,
                heading,
                visible: views,
                more,
            }
        })
        .collect())
}

fn facet_value_view(
    params: &CatalogParams,
    param: &'static str,
    value: &str,
    count: u64,
    selected: bool,
) -> FacetValueView {
    let href = params.href_with(|p| {
        if let Some((_, values)) = p.selected.iter_mut().find(|(q, _)| *q == param) {
            if selected {
                values.retain(|v| !v.eq_ignore_ascii_case(value));
            } else if param == "kind" {
                // One kind at a time: the other facets count within it.
                *values = vec![value.to_owned()];
            } else {
                values.push(value.to_owned());
            }
        }
    });
    FacetValueView {
        label: facet_label(param, value),
        value: value.to_owned(),
        count,
        selected,
        href,
    }
}

async fn cached_facets(
    state: &AppState,
    fields: &[&str],
    kinds: &[String],
) -> CatalogResult<BTreeMap<String, Vec<FacetCount>>> {
    let filter = view::filter_all(if kinds.is_empty() {
        Vec::new()
    } else {
        vec![("kind", kinds.to_vec())]
    });
    let facets: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
    state
        .catalog
        .facets_cached(&facets, filter.as_ref(), Staleness::WhileRevalidating)
        .await
        .map(|counts| BTreeMap::clone(&counts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> CatalogParams {
        CatalogParams::from_query(&QueryParams::from_query(Some(query)))
    }

    #[test]
    fn the_url_round_trips_and_changes_reset_the_cursor() {
        let p = params(
            "kind=component&type=service&type=website&q=pay&sort=owner&dir=desc&cursor=abc&starred=1",
        );
        assert_eq!(
            p.href(),
            "/catalog?kind=component&type=service&type=website&q=pay&starred=1&sort=owner&dir=desc&cursor=abc"
        );
        assert_eq!(
            p.href_with(|p| p.text.clear()),
            "/catalog?kind=component&type=service&type=website&starred=1&sort=owner&dir=desc"
        );
        assert_eq!(params("sort=bogus&limit=100000").sort, "name");
        assert_eq!(params("limit=100000").limit, MAX_PAGE_SIZE);
    }

    #[test]
    fn facets_become_lower_cased_conditions() {
        let p = params("kind=Component&owner=group:default/Team-A&owner=group:default/b");
        let filter = entity_filter(p.conditions(None), None).unwrap();
        assert_eq!(filter.any_of.len(), 1);
        let keys: Vec<(&str, Vec<String>)> = filter.any_of[0]
            .all_of
            .iter()
            .map(|c| (c.key.as_str(), c.values.clone().unwrap()))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("kind", vec!["component".to_owned()]),
                (
                    "relations.ownedby",
                    vec![
                        "group:default/team-a".to_owned(),
                        "group:default/b".to_owned()
                    ]
                ),
            ]
        );
        let stars = vec!["api:default/x".to_owned()];
        let starred = entity_filter(p.conditions(None), Some(&stars)).unwrap();
        assert_eq!(starred.any_of[0].all_of.len(), 5);
        let none = entity_filter(Vec::new(), Some(&[])).unwrap();
        assert_eq!(none.any_of[0].all_of[0].values, Some(vec!["-".to_owned()]));
    }

    #[test]
    fn damaged_cursors_are_a_clear_error() {
        assert!(matches!(decode_keyset("!!"), Err(CatalogError::Invalid(_))));
        let keyset = Keyset {
            values: vec![Some("a".into())],
            id: 7,
            backward: false,
        };
        assert_eq!(
            decode_keyset(&encode_keyset(&keyset).unwrap()).unwrap(),
            keyset
        );
    }
}
