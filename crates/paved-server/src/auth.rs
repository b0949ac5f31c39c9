//! Bearer-token authentication for `/api/*`. Tokens are configured as SHA-256 hashes; a
//! presented token is hashed and compared with every stored hash in constant time, so neither
//! the stored tokens nor the comparison's timing reveal anything.

use crate::ServerSettings;
use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::{Choice, ConstantTimeEq};

/// Who made the request, for handlers and logs that want to know. Present on every `/api`
/// request when tokens are configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatedClient {
    pub token_name: String,
}

/// Whether a path needs a token: the API does; health, readiness and metrics do not (probes
/// and scrapers carry no credentials).
fn requires_token(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

pub(crate) async fn require_token(
    State(settings): State<Arc<ServerSettings>>,
    mut request: Request,
    next: Next,
) -> Response {
    if settings.auth_tokens.is_empty() || !requires_token(request.uri().path()) {
        return next.run(request).await;
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    let Some(presented) = presented else {
        return ApiError::Unauthenticated("Missing bearer token".into()).into_response();
    };
    match match_token(&settings, presented) {
        Some(token_name) => {
            request
                .extensions_mut()
                .insert(AuthenticatedClient { token_name });
            next.run(request).await
        }
        None => ApiError::Unauthenticated("Invalid bearer token".into()).into_response(),
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The name of the configured token matching `presented`. Every stored hash is compared, with
/// no early exit, so the time taken does not depend on which one matched.
pub(crate) fn match_token(settings: &ServerSettings, presented: &str) -> Option<String> {
    let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
    let mut matched: Option<&str> = None;
    let mut any = Choice::from(0);
    for token in &settings.auth_tokens {
        let equal = token.sha256.ct_eq(&digest);
        if bool::from(equal & !any) {
            matched = Some(&token.name);
        }
        any |= equal;
    }
    matched.map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ApiToken;

    #[test]
    fn bearer_header_forms() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer   abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
    }

    #[test]
    fn tokens_match_by_hash() {
        let settings = ServerSettings {
            auth_tokens: vec![
                ApiToken::from_plaintext("ci", "s3cret"),
                ApiToken::from_plaintext("cli", "other"),
            ],
        };
        assert_eq!(match_token(&settings, "other").as_deref(), Some("cli"));
        assert_eq!(match_token(&settings, "s3cret").as_deref(), Some("ci"));
        assert_eq!(match_token(&settings, "nope"), None);
        assert!(requires_token("/api/catalog/entities"));
        assert!(!requires_token("/healthz"));
        assert!(!requires_token("/apix"));
    }
}
