//! Every error leaves the service as `{"error": {"code", "message", "details"?}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, Serialize, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: &str) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug)]
pub enum ApiError {
    BadRequest(String),
    Validation(Vec<FieldError>),
    NotFound(String),
    NotReady,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message, details) = match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m, None),
            ApiError::Validation(d) => (
                StatusCode::BAD_REQUEST,
                "validation_failed",
                "the request breaks one or more rules".to_string(),
                Some(d),
            ),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m, None),
            ApiError::NotReady => (
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "the service is not ready".to_string(),
                None,
            ),
        };
        let mut error = serde_json::json!({ "code": code, "message": message });
        if let Some(details) = details {
            error["details"] = serde_json::json!(details);
        }
        (status, Json(serde_json::json!({ "error": error }))).into_response()
    }
}
