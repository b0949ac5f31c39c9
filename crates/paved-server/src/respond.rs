//! Building JSON responses from stored entity text without parsing it: the catalog keeps each
//! entity's final JSON, and the fast paths (by-name, lists) only concatenate it.

use crate::error::ApiError;
use crate::params::Projection;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use paved_store::RawEntity;
use serde::Serialize;

const JSON: HeaderValue = HeaderValue::from_static("application/json; charset=utf-8");

/// A response whose body is JSON text already.
pub fn json_text(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, JSON);
    response
}

/// A response serialising `value`.
pub fn json_value<T: Serialize>(status: StatusCode, value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_string(value)
        .map_err(|e| ApiError::Internal(format!("response not serialisable: {e}")))?;
    Ok(json_text(status, body))
}

/// An empty response with just a status (204 on deletes, 200 on refresh).
pub fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// Appends one entity to `out`: its stored text as is, or its projection.
pub fn push_entity(
    out: &mut String,
    entity: &RawEntity,
    projection: Option<&Projection>,
) -> Result<(), ApiError> {
    match projection {
        None => out.push_str(&entity.json),
        Some(projection) => {
            let projected = projection.apply(&entity.json)?;
            out.push_str(&projected.to_string());
        }
    }
    Ok(())
}

/// `[e1,e2,…]` from stored entities.
pub fn push_entity_array<'a>(
    out: &mut String,
    entities: impl IntoIterator<Item = &'a RawEntity>,
    projection: Option<&Projection>,
) -> Result<(), ApiError> {
    out.push('[');
    for (index, entity) in entities.into_iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        push_entity(out, entity, projection)?;
    }
    out.push(']');
    Ok(())
}

/// A buffer sized for `items` entities of the size of the first one, so that a list response
/// is built with one or two allocations.
pub fn buffer_for(items: &[RawEntity]) -> String {
    let estimate = items.iter().map(|e| e.json.len() + 1).sum::<usize>() + 64;
    String::with_capacity(estimate)
}

/// `serde_json` string encoding of `text` (quotes included), for hand-built JSON.
pub fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}
