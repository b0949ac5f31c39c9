//! `/api/catalog/entities…` and `/api/catalog/entity-facets`: reads and deletes of entities.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, QueryParams};
use crate::params::{self, AfterCursor};
use crate::respond::{self, buffer_for, json_string, push_entity, push_entity_array};
use crate::types::{
    AncestryResponse, EntitiesByRefsRequest, EntitiesByRefsResponse, Entity, ErrorResponse,
    FacetsResponse, PageInfo, QueryEntitiesResponse,
};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use paved_catalog::facet_cache::Staleness;
use paved_model::EntityRef;
use paved_model::filter::EntityFilter;
use paved_model::search::search_rows;
use paved_store::{EntityQuery, Keyset, RawEntity};

/// Lists entities (Backstage's original list endpoint; by-query is the paged one).
#[utoipa::path(get, path = "/api/catalog/entities", tag = "catalog",
    params(
        ("filter" = Option<Vec<String>>, Query, description = "`key=value` conditions joined by commas (all must hold); repeat the parameter for alternatives"),
        ("fields" = Option<Vec<String>>, Query, description = "Dotted field paths to return, comma-separated"),
        ("order" = Option<Vec<String>>, Query, description = "`asc:field` or `desc:field`, repeatable"),
        ("offset" = Option<usize>, Query, description = "Entities to skip"),
        ("limit" = Option<usize>, Query, description = "At most this many entities"),
        ("after" = Option<String>, Query, description = "Cursor from a previous response's `link` header"),
    ),
    responses(
        (status = 200, description = "The entities; a `link: <…>; rel=\"next\"` header when `limit` cut the list", body = Vec<Entity>),
        (status = 400, description = "Bad parameter or filter", body = ErrorResponse),
    ))]
pub async fn list_entities(
    State(state): State<AppState>,
    uri: Uri,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let filter = params::filter(&query)?;
    let projection = params::projection(&query, None);
    let order = params::entities_order(&query)?;
    let mut limit = params::limit(&query)?;
    let mut offset = query.integer("offset")?;
    if let Some(after) = query.single("after")? {
        let cursor: AfterCursor = params::decode_cursor(after, "after")?;
        offset = Some(cursor.offset);
        limit = limit.or(cursor.limit);
    }
    let entity_query = EntityQuery {
        filter,
        order,
        limit,
        offset,
        ..EntityQuery::default()
    };
    let page = state.catalog.query_entities(&entity_query).await?;

    let mut body = buffer_for(&page.items);
    push_entity_array(&mut body, &page.items, projection.as_ref())?;
    let mut response = respond::json_text(StatusCode::OK, body);

    let end = offset.unwrap_or(0) + page.items.len();
    if limit.is_some() && (end as u64) < page.total_items {
        let after = params::encode_cursor(&AfterCursor { limit, offset: end })?;
        let link = next_page_link(&uri, &query, &after);
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

/// The request's own URL with `offset` dropped and `after` set, as Backstage builds it.
fn next_page_link(uri: &Uri, query: &QueryParams, after: &str) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in query.pairs() {
        if key != "offset" && key != "after" {
            serializer.append_pair(key, value);
        }
    }
    serializer.append_pair("after", after);
    format!("<{}?{}>; rel=\"next\"", uri.path(), serializer.finish())
}

/// Pages through entities with filters, ordering and full-text search.
#[utoipa::path(get, path = "/api/catalog/entities/by-query", tag = "catalog",
    params(
        ("filter" = Option<Vec<String>>, Query, description = "As for /entities"),
        ("fields" = Option<Vec<String>>, Query, description = "Dotted field paths to return"),
        ("orderField" = Option<Vec<String>>, Query, description = "`field,asc` or `field,desc`, repeatable"),
        ("fullTextFilterTerm" = Option<String>, Query, description = "Text the entities must contain"),
        ("fullTextFilterFields" = Option<Vec<String>>, Query, description = "Fields the term is searched in"),
        ("limit" = Option<usize>, Query, description = "Page size (default 20)"),
        ("offset" = Option<usize>, Query, description = "Entities to skip on the first page"),
        ("cursor" = Option<String>, Query, description = "`nextCursor` or `prevCursor` of a previous page; carries the filter, order and search"),
    ),
    responses(
        (status = 200, description = "One page", body = QueryEntitiesResponse),
        (status = 400, description = "Bad parameter, filter or cursor", body = ErrorResponse),
    ))]
pub async fn query_entities(
    State(state): State<AppState>,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let projection = params::projection(&query, None);
    let request = params::by_query_request(&query)?;
    let page = state.catalog.query_entities(&request.query).await?;

    let cursor_for = |keyset: &Keyset| {
        params::encode_cursor(&params::QueryCursor {
            keyset: keyset.clone(),
            ..request.cursor_base.clone()
        })
    };
    let page_info = PageInfo {
        next_cursor: page.next.as_ref().map(cursor_for).transpose()?,
        prev_cursor: page.prev.as_ref().map(cursor_for).transpose()?,
    };
    let page_info = serde_json::to_string(&page_info)
        .map_err(|e| ApiError::Internal(format!("page info not serialisable: {e}")))?;

    let mut body = buffer_for(&page.items);
    body.push_str("{\"items\":");
    push_entity_array(&mut body, &page.items, projection.as_ref())?;
    body.push_str(",\"totalItems\":");
    body.push_str(&page.total_items.to_string());
    body.push_str(",\"pageInfo\":");
    body.push_str(&page_info);
    body.push('}');
    Ok(respond::json_text(StatusCode::OK, body))
}

/// One entity by kind, namespace and name (case-insensitive).
#[utoipa::path(get, path = "/api/catalog/entities/by-name/{kind}/{namespace}/{name}", tag = "catalog",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses(
        (status = 200, description = "The entity", body = Entity),
        (status = 404, description = "No such entity", body = ErrorResponse),
    ))]
pub async fn entity_by_name(
    State(state): State<AppState>,
    ApiPath((kind, namespace, name)): ApiPath<(String, String, String)>,
) -> Result<Response, ApiError> {
    let entity_ref = EntityRef::new(&kind, &namespace, &name);
    match state.catalog.entity_by_ref(&entity_ref).await? {
        // The hot path: the stored text goes out untouched.
        Some(entity) => Ok(respond::json_text(StatusCode::OK, entity.json)),
        None => Err(ApiError::NotFound(format!(
            "No entity named '{name}' found, with kind '{kind}' in namespace '{namespace}'"
        ))),
    }
}

/// The entity and the chain of Location entities that led to it.
#[utoipa::path(get, path = "/api/catalog/entities/by-name/{kind}/{namespace}/{name}/ancestry", tag = "catalog",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses(
        (status = 200, description = "The ancestry", body = AncestryResponse),
        (status = 404, description = "No such entity", body = ErrorResponse),
    ))]
pub async fn entity_ancestry(
    State(state): State<AppState>,
    ApiPath((kind, namespace, name)): ApiPath<(String, String, String)>,
) -> Result<Response, ApiError> {
    let entity_ref = EntityRef::new(&kind, &namespace, &name);
    let ancestry = state.catalog.ancestry(&entity_ref).await?;
    let mut body = String::with_capacity(
        ancestry
            .items
            .iter()
            .map(|i| i.entity.json.len() + 64)
            .sum::<usize>()
            + 64,
    );
    body.push_str("{\"rootEntityRef\":");
    body.push_str(&json_string(&ancestry.root_entity_ref.to_string()));
    body.push_str(",\"items\":[");
    for (index, item) in ancestry.items.iter().enumerate() {
        if index > 0 {
            body.push(',');
        }
        body.push_str("{\"entity\":");
        push_entity(&mut body, &item.entity, None)?;
        body.push_str(",\"parentEntityRefs\":");
        let parents: Vec<String> = item
            .parent_entity_refs
            .iter()
            .map(|r| r.to_string())
            .collect();
        body.push_str(&serde_json::Value::from(parents).to_string());
        body.push('}');
    }
    body.push_str("]}");
    Ok(respond::json_text(StatusCode::OK, body))
}

#[utoipa::path(get, path = "/api/catalog/entities/by-uid/{uid}", tag = "catalog",
    params(("uid" = String, Path)),
    responses(
        (status = 200, description = "The entity", body = Entity),
        (status = 404, description = "No such entity", body = ErrorResponse),
    ))]
pub async fn entity_by_uid(
    State(state): State<AppState>,
    ApiPath(uid): ApiPath<String>,
) -> Result<Response, ApiError> {
    match state.catalog.entity_by_uid(&uid).await? {
        Some(entity) => Ok(respond::json_text(StatusCode::OK, entity.json)),
        None => Err(ApiError::NotFound(format!("No entity with uid {uid}"))),
    }
}

/// Deletes an entity; one that a location still provides comes back at its next refresh.
#[utoipa::path(delete, path = "/api/catalog/entities/by-uid/{uid}", tag = "catalog",
    params(("uid" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such entity", body = ErrorResponse),
    ))]
pub async fn delete_entity_by_uid(
    State(state): State<AppState>,
    actor: crate::audit::Actor,
    ApiPath(uid): ApiPath<String>,
) -> Result<Response, ApiError> {
    let before = state
        .catalog
        .entity_by_uid(&uid)
        .await?
        .and_then(|raw| serde_json::from_str::<serde_json::Value>(&raw.json).ok());
    state.catalog.delete_entity_by_uid(&uid).await?;
    let target = before
        .as_ref()
        .and_then(|value| paved_model::Entity::from_value(value.clone()))
        .map(|entity| entity.entity_ref().to_string())
        .unwrap_or_else(|| format!("uid:{uid}"));
    crate::audit::record(&state, &actor.0, "entity.delete", &target, before, None).await;
    Ok(respond::empty(StatusCode::NO_CONTENT))
}

/// Many entities by ref, in request order, `null` for those that do not exist.
#[utoipa::path(post, path = "/api/catalog/entities/by-refs", tag = "catalog",
    params(
        ("fields" = Option<Vec<String>>, Query, description = "Dotted field paths to return"),
        ("filter" = Option<Vec<String>>, Query, description = "Entities not matching it are answered as null"),
    ),
    request_body = EntitiesByRefsRequest,
    responses(
        (status = 200, description = "One item per requested ref", body = EntitiesByRefsResponse),
        (status = 400, description = "Malformed body", body = ErrorResponse),
    ))]
pub async fn entities_by_refs(
    State(state): State<AppState>,
    query: QueryParams,
    ApiJson(request): ApiJson<EntitiesByRefsRequest>,
) -> Result<Response, ApiError> {
    let projection = params::projection(&query, request.fields.as_deref());
    let filter = params::filter(&query)?;
    // A ref that does not parse names no entity: Backstage answers `null` for it, not an error.
    let parsed: Vec<Option<EntityRef>> = request
        .entity_refs
        .iter()
        .map(|r| EntityRef::parse_full(r).ok())
        .collect();
    let valid: Vec<EntityRef> = parsed.iter().flatten().cloned().collect();
    let mut found = state.catalog.entities_by_refs(&valid).await?.into_iter();

    let mut body = String::with_capacity(64 + valid.len() * 1024);
    body.push_str("{\"items\":[");
    for (index, slot) in parsed.iter().enumerate() {
        if index > 0 {
            body.push(',');
        }
        let entity = match slot {
            Some(_) => found.next().flatten(),
            None => None,
        };
        let entity = match (entity, filter.as_ref()) {
            (Some(entity), Some(filter)) => matches_filter(&entity, filter)?.then_some(entity),
            (entity, _) => entity,
        };
        match entity {
            Some(entity) => push_entity(&mut body, &entity, projection.as_ref())?,
            None => body.push_str("null"),
        }
    }
    body.push_str("]}");
    Ok(respond::json_text(StatusCode::OK, body))
}

/// Whether a stored entity passes a `filter=` (by-refs answers `null` for those that do not,
/// as Backstage does). Only by-refs needs this: the other reads filter in the store.
fn matches_filter(entity: &RawEntity, filter: &EntityFilter) -> Result<bool, ApiError> {
    let value: serde_json::Value = serde_json::from_str(&entity.json)
        .map_err(|e| ApiError::Internal(format!("stored entity is not valid JSON: {e}")))?;
    Ok(filter.matches(&search_rows(&value)))
}

/// Distinct values of fields among the (filtered) entities, with counts.
#[utoipa::path(get, path = "/api/catalog/entity-facets", tag = "catalog",
    params(
        ("facet" = Vec<String>, Query, description = "Dotted field path; repeatable"),
        ("filter" = Option<Vec<String>>, Query, description = "As for /entities"),
    ),
    responses(
        (status = 200, description = "Values and counts per facet", body = FacetsResponse),
        (status = 400, description = "No facet, or a bad filter", body = ErrorResponse),
    ))]
pub async fn entity_facets(
    State(state): State<AppState>,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let facets: Vec<String> = query
        .all("facet")
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    if facets.is_empty() {
        return Err(ApiError::Invalid("Missing facet parameter".into()));
    }
    let filter = params::filter(&query)?;
    let counted = state
        .catalog
        .facets_cached(&facets, filter.as_ref(), Staleness::Current)
        .await?;
    // `FacetsResponse` is `{"facets": <counts>}`; the counts' JSON is made once per catalog
    // version and shared by every request.
    let counts = counted.json();
    let mut body = String::with_capacity(counts.len() + 12);
    body.push_str("{\"facets\":");
    body.push_str(&counts);
    body.push('}');
    Ok(respond::json_text(StatusCode::OK, body))
}
