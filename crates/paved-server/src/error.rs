//! `ApiError`: the one error type of the HTTP API, and the middleware that writes every error
//! response in Backstage's shape.
//!
//! Backstage's body names the request (`{"request":{"method","url"}}`), which an
//! `IntoResponse` cannot see; so an error response carries its name and message in an
//! extension, and [`shape_error_responses`] (which saw the request) writes the body.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use paved_catalog::CatalogError;
use serde_json::json;

/// What went wrong, as the API's client should see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// A bad request: query parameters, body, filter syntax, cursor (400 `InputError`).
    Invalid(String),
    /// No or wrong credentials (401 `AuthenticationError`).
    Unauthenticated(String),
    /// Not allowed (403 `NotAllowedError`).
    Forbidden(String),
    /// 404 `NotFoundError`.
    NotFound(String),
    /// 409 `ConflictError`.
    Conflict(String),
    /// 413 `PayloadTooLargeError`, as Express's body parser names it.
    PayloadTooLarge(String),
    /// 503 `ServiceUnavailableError`.
    Unavailable(String),
    /// 500: the detail is logged, the client sees a generic message.
    Internal(String),
}

/// The part of an error response that the middleware turns into Backstage's body.
#[derive(Debug, Clone)]
pub(crate) struct ErrorInfo {
    pub name: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Invalid(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Backstage's error names (`@backstage/errors`).
    pub fn name(&self) -> &'static str {
        match self {
            ApiError::Invalid(_) => "InputError",
            ApiError::Unauthenticated(_) => "AuthenticationError",
            ApiError::Forbidden(_) => "NotAllowedError",
            ApiError::NotFound(_) => "NotFoundError",
            ApiError::Conflict(_) => "ConflictError",
            ApiError::PayloadTooLarge(_) => "PayloadTooLargeError",
            ApiError::Unavailable(_) => "ServiceUnavailableError",
            ApiError::Internal(_) => "Error",
        }
    }

    /// The message a client sees. Internal details stay in the log.
    pub fn public_message(&self) -> &str {
        match self {
            ApiError::Internal(_) => "Internal server error",
            ApiError::Invalid(m)
            | ApiError::Unauthenticated(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m)
            | ApiError::PayloadTooLarge(m)
            | ApiError::Unavailable(m) => m,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Internal(detail) => write!(f, "{}: {detail}", self.name()),
            other => write!(f, "{}: {}", other.name(), other.public_message()),
        }
    }
}

impl std::error::Error for ApiError {}

impl From<CatalogError> for ApiError {
    fn from(error: CatalogError) -> Self {
        match error {
            CatalogError::Invalid(m) => ApiError::Invalid(m),
            CatalogError::NotFound(m) => ApiError::NotFound(m),
            CatalogError::Conflict(m) => ApiError::Conflict(m),
            CatalogError::Forbidden(m) => ApiError::Forbidden(m),
            CatalogError::Unavailable(m) => ApiError::Unavailable(m),
            CatalogError::Internal(m) => ApiError::Internal(m),
        }
    }
}

impl From<paved_search::SearchError> for ApiError {
    fn from(error: paved_search::SearchError) -> Self {
        use paved_search::SearchError;
        match error {
            SearchError::NotReady => ApiError::Unavailable(error.to_string()),
            SearchError::Invalid(m) => ApiError::Invalid(m),
            SearchError::Catalog(e) => e.into(),
            SearchError::Index(m) => ApiError::Internal(m),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let info = ErrorInfo {
            name: self.name(),
            message: self.public_message().to_owned(),
        };
        let mut response = status.into_response();
        response.extensions_mut().insert(info);
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Writes Backstage's error body on every error response: those carrying an [`ErrorInfo`],
/// and the few produced below the handlers (405, a body over the limit) that carry none, so a
/// client never sees a body in another shape. JSON bodies a handler chose (validate-entity's
/// `{errors}`) are left alone.
pub(crate) async fn shape_error_responses(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let mut response = next.run(request).await;
    let status = response.status();
    let info = match response.extensions_mut().remove::<ErrorInfo>() {
        Some(info) => info,
        None if (status.is_client_error() || status.is_server_error())
            && !is_json(&response)
            && !is_html(&response) =>
        {
            generic_error_info(status)
        }
        None => return response,
    };
    let url = uri
        .path_and_query()
        .map_or_else(|| uri.path(), |p| p.as_str());
    let body = json!({
        "error": { "name": info.name, "message": info.message },
        "request": { "method": method.as_str(), "url": url },
        "response": { "statusCode": status.as_u16() },
    });
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    Response::from_parts(parts, axum::body::Body::from(body.to_string()))
}

/// The portal's own error pages are HTML and stay so.
fn is_html(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

fn generic_error_info(status: StatusCode) -> ErrorInfo {
    let (name, message) = match status {
        StatusCode::BAD_REQUEST => ("InputError", "Bad request"),
        StatusCode::UNAUTHORIZED => ("AuthenticationError", "Unauthenticated"),
        StatusCode::FORBIDDEN => ("NotAllowedError", "Forbidden"),
        StatusCode::NOT_FOUND => ("NotFoundError", "Not found"),
        StatusCode::METHOD_NOT_ALLOWED => {
            ("MethodNotAllowedError", "Method not allowed on this path")
        }
        StatusCode::CONFLICT => ("ConflictError", "Conflict"),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "PayloadTooLargeError",
            "Request body is larger than the limit",
        ),
        StatusCode::SERVICE_UNAVAILABLE => ("ServiceUnavailableError", "Service unavailable"),
        s if s.is_client_error() => ("InputError", "Bad request"),
        _ => ("Error", "Internal server error"),
    };
    ErrorInfo {
        name,
        message: message.to_owned(),
    }
}

/// The router's fallback: unknown paths are a 404 in the same shape.
pub(crate) async fn not_found_fallback(request: Request) -> ApiError {
    ApiError::NotFound(format!(
        "No route for {} {}",
        request.method(),
        request.uri().path()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::{Body, to_bytes};
    use axum::routing::get;
    use tower::ServiceExt;

    #[test]
    fn catalog_errors_map_to_statuses_and_names() {
        let cases = [
            (CatalogError::Invalid("x".into()), 400, "InputError"),
            (CatalogError::NotFound("x".into()), 404, "NotFoundError"),
            (CatalogError::Conflict("x".into()), 409, "ConflictError"),
            (CatalogError::Forbidden("x".into()), 403, "NotAllowedError"),
            (
                CatalogError::Unavailable("x".into()),
                503,
                "ServiceUnavailableError",
            ),
            (CatalogError::Internal("x".into()), 500, "Error"),
        ];
        for (error, status, name) in cases {
            let error = ApiError::from(error);
            assert_eq!((error.status().as_u16(), error.name()), (status, name));
        }
        assert_eq!(
            ApiError::Unauthenticated("x".into()).status(),
            StatusCode::UNAUTHORIZED
        );
    }

    #[tokio::test]
    async fn internal_details_stay_out_of_the_body() {
        let app = Router::new()
            .route(
                "/boom",
                get(|| async { ApiError::Internal("db at /secret/path broke".into()) }),
            )
            .layer(axum::middleware::from_fn(shape_error_responses));
        let request = Request::builder()
            .uri("/boom?q=1")
            .body(Body::empty())
            .expect("request");
        let response = app.oneshot(request).await.expect("response");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = to_bytes(response.into_body(), 1 << 16).await.expect("body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(
            body,
            json!({
                "error": { "name": "Error", "message": "Internal server error" },
                "request": { "method": "GET", "url": "/boom?q=1" },
                "response": { "statusCode": 500 },
            })
        );
    }
}
