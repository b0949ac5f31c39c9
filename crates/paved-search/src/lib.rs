//! paved's search: one full-text index over catalog entities (`software-catalog`), templates
//! (`templates`), the operations of OpenAPI definitions (`api-operations`) and documentation
//! pages (`techdocs`).
//!
//! Each process keeps its own index in memory ([`SearchIndex`]): [`SearchService`] builds it
//! from the catalog at start, then follows the catalog's change events (every 250 ms by
//! default) and re-reads only the entities that changed. Replicas on one PostgreSQL database
//! each follow the same events, so an edit becomes findable on all of them.
//!
//! Ranking: an exact name match first, then matches in the name, title, tags, headings and
//! text, in that order of weight. The last term also matches as a prefix (search as you
//! type) and terms of four characters or more also match with one typo.
#![forbid(unsafe_code)]

mod document;
mod highlight;
mod index;
mod service;

pub use document::{
    ALL_TYPES, DocPage, TYPE_API_OPERATIONS, TYPE_SOFTWARE_CATALOG, TYPE_TECHDOCS, TYPE_TEMPLATES,
    entity_location,
};
pub use highlight::{POST_TAG, PRE_TAG};
pub use index::{
    EntityTextMatches, FILTER_KEYS, FUZZY_MIN_CHARS, FacetCount, MAX_PAGE_LIMIT, PREFIX_MIN_CHARS,
    SearchFacets, SearchHit, SearchIndex, SearchRequest, SearchResults, Suggestion,
};
pub use service::{BuildReport, FollowReport, SearchService, SearchSettings};

use paved_catalog::CatalogError;

/// What can go wrong while searching or indexing.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The index is still being built at start.
    #[error("the search index is being built; try again in a few seconds")]
    NotReady,
    /// A request the index cannot answer (unknown type or filter).
    #[error("{0}")]
    Invalid(String),
    /// Reading the catalog failed.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The index itself failed.
    #[error("search index: {0}")]
    Index(String),
}
