//! Who made a request, for the audit log, and the helper every mutating handler calls after
//! it succeeded. The API's actor is its token's name (or `anonymous (loopback)` when no tokens
//! are configured); the portal's is its session's.

use crate::AppState;
use crate::auth::AuthenticatedClient;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use paved_store::NewAuditEntry;
use serde_json::Value;

/// Actor of requests made without credentials, which the binary allows on loopback only.
pub const ANONYMOUS: &str = "anonymous (loopback)";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Actor(
            parts
                .extensions
                .get::<AuthenticatedClient>()
                .map(|client| format!("token:{}", client.token_name))
                .unwrap_or_else(|| ANONYMOUS.to_owned()),
        ))
    }
}

/// Appends one audit entry (after the mutation succeeded).
pub async fn record(
    state: &AppState,
    actor: &str,
    action: &str,
    target: &str,
    before: Option<Value>,
    after: Option<Value>,
) {
    state
        .catalog
        .record_audit(NewAuditEntry {
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            before,
            after,
        })
        .await;
}
