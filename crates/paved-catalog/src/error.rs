//! The catalog's error kinds, mapped to HTTP statuses by the server.

use paved_store::StoreError;

/// A closed set of kinds: the server maps them to 400/404/409/503/500.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for CatalogError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => CatalogError::NotFound(m),
            StoreError::Conflict(m) => CatalogError::Conflict(m),
            StoreError::Invalid(m) => CatalogError::Invalid(m),
            StoreError::Unavailable(m) => CatalogError::Unavailable(m),
            StoreError::Database(m) => CatalogError::Internal(m),
        }
    }
}
