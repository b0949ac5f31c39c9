//! Request extractors whose rejections are [`ApiError`]s, so a malformed body, path or query
//! is a 400 in Backstage's shape instead of axum's plain-text default.

use crate::error::ApiError;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// A JSON body. Wrong content type, bad syntax or a wrong shape → 400 `InputError`; a body over
/// the limit → 413.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection_to_error(rejection)),
        }
    }
}

fn json_rejection_to_error(rejection: JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge("Request body is larger than the limit".into());
    }
    let message = match &rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "Expected a request with 'Content-Type: application/json'".to_owned()
        }
        JsonRejection::JsonSyntaxError(e) => format!("Malformed JSON body: {}", e.body_text()),
        JsonRejection::JsonDataError(e) => format!("Invalid request body: {}", e.body_text()),
        other => format!("Invalid request body: {}", other.body_text()),
    };
    ApiError::Invalid(message)
}

/// Path parameters; a segment that does not decode → 400.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => Err(ApiError::Invalid(
                format!("Invalid path parameter: {}", e.body_text()),
            )),
            Err(other) => Err(ApiError::Internal(format!(
                "path extraction failed: {other}"
            ))),
        }
    }
}

/// The query string as its (key, value) pairs in order. Backstage's API repeats keys
/// (`filter=a&filter=b`, `facet=kind&facet=spec.type`), which serde's flat structs cannot hold.
#[derive(Debug, Default, Clone)]
pub struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    pub fn from_query(query: Option<&str>) -> Self {
        let pairs = query
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        QueryParams { pairs }
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Every value given for `key`, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value for `key`, each split at commas (`fields=kind,metadata.name`), blanks
    /// dropped.
    pub fn all_comma_separated(&self, key: &str) -> Vec<String> {
        self.all(key)
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// A parameter given at most once (Backstage: "Invalid X, not a string" when repeated).
    pub fn single<'a>(&'a self, key: &str) -> Result<Option<&'a str>, ApiError> {
        let mut values = self
            .pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(ApiError::Invalid(format!("Invalid {key}, not a string")));
        }
        Ok(first)
    }

    /// A non-negative integer parameter given at most once.
    pub fn integer(&self, key: &str) -> Result<Option<usize>, ApiError> {
        match self.single(key)? {
            None => Ok(None),
            Some(text) => text.trim().parse::<usize>().map(Some).map_err(|_| {
                ApiError::Invalid(format!(
                    "Invalid {key}, not a non-negative integer on string form"
                ))
            }),
        }
    }

    /// A boolean flag in the forms Backstage's `yn` accepts; absent = `false`.
    pub fn flag(&self, key: &str) -> Result<bool, ApiError> {
        match self.single(key)?.map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(false),
            Some(v) => match v.as_str() {
                "true" | "1" | "yes" | "y" | "on" => Ok(true),
                "false" | "0" | "no" | "n" | "off" | "" => Ok(false),
                _ => Err(ApiError::Invalid(format!("Invalid {key}, not a boolean"))),
            },
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(QueryParams::from_query(parts.uri.query()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_and_comma_separated_values() {
        let q = QueryParams::from_query(Some(
            "filter=kind%3Dcomponent&filter=a=b&fields=kind,metadata.name&fields=spec",
        ));
        assert_eq!(
            q.all("filter").collect::<Vec<_>>(),
            ["kind=component", "a=b"]
        );
        assert_eq!(
            q.all_comma_separated("fields"),
            ["kind", "metadata.name", "spec"]
        );
        assert!(q.single("filter").is_err());
        assert_eq!(q.single("nothing").unwrap(), None);
    }

    #[test]
    fn integers_and_flags() {
        let q = QueryParams::from_query(Some("limit=5&offset=-1&dryRun=true&x=maybe"));
        assert_eq!(q.integer("limit").unwrap(), Some(5));
        assert!(matches!(q.integer("offset"), Err(ApiError::Invalid(_))));
        assert!(q.flag("dryRun").unwrap());
        assert!(!q.flag("absent").unwrap());
        assert!(q.flag("x").is_err());
    }
}
