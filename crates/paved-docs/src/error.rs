//! Errors of building and serving documentation sites.

use paved_catalog::CatalogError;
use paved_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    /// The entity has no `backstage.io/techdocs-ref`.
    #[error("the entity has no backstage.io/techdocs-ref annotation")]
    NoTechDocsRef,
    #[error("backstage.io/techdocs-ref '{value}' is not understood: {why}")]
    InvalidRef { value: String, why: String },
    #[error("cannot find the documentation source: {0}")]
    Source(#[from] CatalogError),
    #[error("'{path}' leads outside the documentation source")]
    Escape { path: String },
    #[error("{file}: {message}")]
    Mkdocs { file: String, message: String },
    #[error("'{path}' has neither mkdocs.yml nor README.md")]
    NoSource { path: String },
    #[error(
        "'{path}' is {size} bytes, over the limit of {limit} (docs.max_site_bytes / docs.max_file_bytes)"
    )]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error("the site has more than {limit} pages")]
    TooManyPages { limit: usize },
    #[error("cannot read '{path}': {message}")]
    Io { path: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the build stopped: {0}")]
    Internal(String),
}
