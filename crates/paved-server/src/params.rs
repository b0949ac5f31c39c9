//! The catalog API's query parameters — filter, fields, order, paging, cursors — turned into the
//! store's `EntityQuery` and back into opaque cursors. Parsing the filter language itself is
//! `paved_model::filter`'s job; this module only reads the HTTP shapes around it.

use crate::error::ApiError;
use crate::extract::QueryParams;
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use paved_model::filter::{self as model_filter, EntityFilter};
use paved_store::{EntityQuery, FullTextFilter, Keyset, OrderField};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// by-query's page size when none is asked (Backstage's default).
pub const DEFAULT_QUERY_LIMIT: usize = 20;

/// Cursors are base64url without padding; decoding also takes padded input, as some clients
/// re-pad what they store.
const CURSOR_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Parses every `filter=` value. `None` when there is none.
pub fn filter(params: &QueryParams) -> Result<Option<EntityFilter>, ApiError> {
    let raw: Vec<String> = params.all("filter").map(str::to_owned).collect();
    filter_from_raw(&raw)
}

fn filter_from_raw(raw: &[String]) -> Result<Option<EntityFilter>, ApiError> {
    model_filter::parse_filter_params(raw).map_err(|e| ApiError::Invalid(e.to_string()))
}

/// A `fields=` projection: `None` = whole entities (served as stored, without re-parsing).
pub struct Projection(Vec<String>);

/// Reads the `fields=` values (comma-separated, repeatable) plus any given in a request body.
pub fn projection(params: &QueryParams, body_fields: Option<&[String]>) -> Option<Projection> {
    let mut raw: Vec<String> = params.all("fields").map(str::to_owned).collect();
    if let Some(extra) = body_fields {
        raw.extend(extra.iter().cloned());
    }
    let fields = model_filter::parse_fields_param(&raw);
    (!fields.is_empty()).then_some(Projection(fields))
}

impl Projection {
    /// Projects one stored entity's JSON text. The text was written by the store, so a parse
    /// failure is the store's fault (500), not the client's.
    pub fn apply(&self, raw_json: &str) -> Result<Value, ApiError> {
        let entity: Value = serde_json::from_str(raw_json)
            .map_err(|e| ApiError::Internal(format!("stored entity is not valid JSON: {e}")))?;
        Ok(model_filter::project_fields(&entity, &self.0))
    }
}

/// `/entities`' `order=asc:metadata.name` (repeatable; no prefix = ascending).
pub fn entities_order(params: &QueryParams) -> Result<Vec<OrderField>, ApiError> {
    params
        .all("order")
        .map(|value| {
            let (direction, field) = match value.split_once(':') {
                Some((direction, field)) => (direction.trim(), field.trim()),
                None => ("asc", value.trim()),
            };
            order_field(field, direction, "order")
        })
        .collect()
}

/// by-query's `orderField=metadata.name,asc` (repeatable; no direction = ascending).
pub fn query_order(params: &QueryParams) -> Result<Vec<OrderField>, ApiError> {
    params
        .all("orderField")
        .map(|value| {
            let (field, direction) = match value.split_once(',') {
                Some((field, direction)) => (field.trim(), direction.trim()),
                None => (value.trim(), "asc"),
            };
            order_field(field, direction, "orderField")
        })
        .collect()
}

fn order_field(field: &str, direction: &str, parameter: &str) -> Result<OrderField, ApiError> {
    if field.is_empty() {
        return Err(ApiError::Invalid(format!(
            "Invalid {parameter}, the field is empty"
        )));
    }
    let descending = match direction.to_ascii_lowercase().as_str() {
        "asc" => false,
        "desc" => true,
        other => {
            return Err(ApiError::Invalid(format!(
                "Invalid {parameter}, sort order '{other}' must be 'asc' or 'desc'"
            )));
        }
    };
    Ok(OrderField {
        field: field.to_owned(),
        descending,
    })
}

/// `limit` must be > 0 when given (Backstage: "Invalid limit, must be greater than zero").
pub fn limit(params: &QueryParams) -> Result<Option<usize>, ApiError> {
    match params.integer("limit")? {
        Some(0) => Err(ApiError::Invalid(
            "Invalid limit, must be greater than zero".into(),
        )),
        other => Ok(other),
    }
}

/// `/entities`' `after` cursor: where the next page starts. Opaque to clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AfterCursor {
    pub limit: Option<usize>,
    pub offset: usize,
}

/// The query behind a by-query page, carried by its cursors so that later pages need nothing
/// but the cursor. The filter travels as the client wrote it and is parsed again, which keeps
/// the cursor independent of the filter's in-memory form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryCursor {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filter: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order_fields: Vec<OrderField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_text_filter: Option<FullTextFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    pub keyset: Keyset,
}

pub fn encode_cursor<T: Serialize>(cursor: &T) -> Result<String, ApiError> {
    let json = serde_json::to_vec(cursor)
        .map_err(|e| ApiError::Internal(format!("cursor not serialisable: {e}")))?;
    Ok(CURSOR_ENGINE.encode(json))
}

pub fn decode_cursor<T: for<'de> Deserialize<'de>>(
    text: &str,
    parameter: &str,
) -> Result<T, ApiError> {
    let malformed = || ApiError::Invalid(format!("Malformed {parameter}"));
    let bytes = CURSOR_ENGINE.decode(text.trim()).map_err(|_| malformed())?;
    serde_json::from_slice(&bytes).map_err(|_| malformed())
}

/// What a by-query request asks for, from a cursor or from the first page's parameters.
pub struct ByQueryRequest {
    pub query: EntityQuery,
    /// The query's parameters, to carry in the cursors of the page returned.
    pub cursor_base: QueryCursor,
}

pub fn by_query_request(params: &QueryParams) -> Result<ByQueryRequest, ApiError> {
    let requested_limit = limit(params)?;
    if let Some(text) = params.single("cursor")? {
        let cursor: QueryCursor = decode_cursor(text, "cursor")?;
        let limit = requested_limit
            .or(cursor.limit)
            .unwrap_or(DEFAULT_QUERY_LIMIT);
        let query = EntityQuery {
            filter: filter_from_raw(&cursor.filter)?,
            order: cursor.order_fields.clone(),
            full_text: cursor.full_text_filter.clone(),
            refs: None,
            limit: Some(limit),
            offset: None,
            keyset: Some(cursor.keyset.clone()),
        };
        let cursor_base = QueryCursor {
            limit: Some(limit),
            ..cursor
        };
        return Ok(ByQueryRequest { query, cursor_base });
    }

    let raw_filter: Vec<String> = params.all("filter").map(str::to_owned).collect();
    let filter = filter_from_raw(&raw_filter)?;
    let order = query_order(params)?;
    let term = params
        .single("fullTextFilterTerm")?
        .map(str::trim)
        .unwrap_or("");
    let full_text = (!term.is_empty()).then(|| FullTextFilter {
        term: term.to_owned(),
        fields: params.all_comma_separated("fullTextFilterFields"),
    });
    let limit = requested_limit.unwrap_or(DEFAULT_QUERY_LIMIT);
    let offset = params.integer("offset")?;
    let query = EntityQuery {
        filter,
        order: order.clone(),
        full_text: full_text.clone(),
        refs: None,
        limit: Some(limit),
        offset,
        keyset: None,
    };
    let cursor_base = QueryCursor {
        filter: raw_filter,
        order_fields: order,
        full_text_filter: full_text,
        limit: Some(limit),
        // Replaced by each page's own keyset before encoding.
        keyset: Keyset {
            values: Vec::new(),
            id: 0,
            backward: false,
        },
    };
    Ok(ByQueryRequest { query, cursor_base })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &str) -> QueryParams {
        QueryParams::from_query(Some(q))
    }

    #[test]
    fn order_parameters_in_both_spellings() {
        let order = entities_order(&params("order=desc:metadata.name&order=kind")).unwrap();
        assert_eq!(
            order,
            [
                OrderField {
                    field: "metadata.name".into(),
                    descending: true
                },
                OrderField {
                    field: "kind".into(),
                    descending: false
                },
            ]
        );
        let order = query_order(&params("orderField=metadata.name,desc")).unwrap();
        assert!(order[0].descending);
        assert!(query_order(&params("orderField=metadata.name,sideways")).is_err());
        assert!(entities_order(&params("order=asc:")).is_err());
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = QueryCursor {
            filter: vec!["kind=component".into()],
            order_fields: vec![],
            full_text_filter: None,
            limit: Some(2),
            keyset: Keyset {
                values: vec![Some("a".into())],
                id: 7,
                backward: false,
            },
        };
        let text = encode_cursor(&cursor).unwrap();
        assert!(!text.contains('='));
        assert_eq!(
            decode_cursor::<QueryCursor>(&text, "cursor").unwrap(),
            cursor
        );
        assert!(matches!(
            decode_cursor::<QueryCursor>("not a cursor!", "cursor"),
            Err(ApiError::Invalid(_))
        ));
        let valid_base64_wrong_json = CURSOR_ENGINE.encode(b"{\"x\":1}");
        assert!(decode_cursor::<QueryCursor>(&valid_base64_wrong_json, "cursor").is_err());
    }

    #[test]
    fn zero_limit_is_refused() {
        assert!(limit(&params("limit=0")).is_err());
        assert_eq!(limit(&params("limit=3")).unwrap(), Some(3));
    }
}
