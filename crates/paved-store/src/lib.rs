//! paved's storage layer: the `CatalogStore` trait, the types that cross it, and its SQLite and
//! PostgreSQL implementations.
//!
//! Invariants: no SQL outside this crate; nothing above this crate knows which database it
//! talks to (only the binary picks, through [`connect`]). Every write of a location's entities
//! is one transaction, so a reader never sees half of an ingestion.
#![forbid(unsafe_code)]

mod apply;
mod audit;
mod docs;
mod graph;
mod jobs;
mod lite;
mod points;
mod query;
mod readers;
mod sql;
mod store;
mod tasks;
mod types;
pub use audit::{AuditEntry, NewAuditEntry};
pub use docs::{DocContent, DocFile, DocPage, DocSite, DocsStore};
pub use jobs::{Job, JobId, JobOutcome, JobState, JobStore, LeaseStatus, NewJob};
pub use tasks::{NewTask, StoredTask, TaskEvent, TaskStatus, TaskStore};
pub use types::*;

use async_trait::async_trait;
use paved_model::EntityRef;
use paved_model::filter::EntityFilter;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Errors of the store. `Conflict` and `NotFound` are for the caller to report; `Database`
/// wraps what the driver said and is logged, not shown.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything the catalog keeps. Implemented by the SQLite and PostgreSQL stores; one
/// conformance suite (`tests/conformance.rs`) runs against both.
#[async_trait]
pub trait CatalogStore: Send + Sync + 'static {
    /// Which backend this is: `"sqlite"` or `"postgres"` (for `/readyz` and logs).
    fn backend(&self) -> &'static str;

    /// Checks the database answers (for `/readyz`).
    async fn ping(&self) -> StoreResult<()>;

    /// Finishes outstanding work and closes the connections (at shutdown). On SQLite this
    /// folds the write-ahead log into the database, so the next start has nothing to replay.
    async fn close(&self);

    // ---- locations -------------------------------------------------------------------

    /// Registers a location. Registering the same `(kind, target)` twice is a `Conflict`
    /// unless `origin` is `Config`, in which case the existing one is returned.
    async fn add_location(&self, new: NewLocation) -> StoreResult<StoredLocation>;
    async fn list_locations(&self) -> StoreResult<Vec<StoredLocation>>;
    async fn get_location(&self, id: &LocationId) -> StoreResult<Option<StoredLocation>>;
    /// Removes a location, every entity it provided and its errors, and re-stitches the
    /// entities that had relations to them. `Ok(false)` when there was no such location.
    async fn delete_location(&self, id: &LocationId) -> StoreResult<bool>;
    /// Removes the `Config` locations whose ids are not in `keep` (a location dropped from the
    /// configuration), with their entities. Returns how many locations went.
    async fn retain_config_locations(&self, keep: &[LocationId]) -> StoreResult<usize>;
    /// The location that provided an entity.
    async fn location_of_entity(&self, entity: &EntityRef) -> StoreResult<Option<StoredLocation>>;
    /// Claims up to `limit` locations whose refresh is due (`next_refresh_at <= now`), leasing
    /// each for `lease` so no other replica takes it meanwhile (`FOR UPDATE SKIP LOCKED` on
    /// PostgreSQL). A crashed replica's lease simply expires.
    async fn claim_due_locations(
        &self,
        lease: Duration,
        limit: usize,
    ) -> StoreResult<Vec<StoredLocation>>;
    /// Sets when a location is next due and releases its lease. `Duration::ZERO` = now.
    async fn schedule_location_refresh(&self, id: &LocationId, after: Duration) -> StoreResult<()>;

    // ---- ingestion --------------------------------------------------------------------

    /// Replaces what one location provides with a fresh reading of it, in one transaction,
    /// then stitches every entity whose final form may have changed (the snapshot's entities,
    /// the ones orphaned, and the targets of their old and new relations). See
    /// [`LocationSnapshot`] for the rules on conflicts, orphans and failed files.
    async fn apply_location_snapshot(
        &self,
        snapshot: LocationSnapshot,
    ) -> StoreResult<ApplyOutcome>;

    /// The same as [`apply_location_snapshot`](Self::apply_location_snapshot) for a reading
    /// that arrives in parts while it is being read, so memory holds only a few parts and
    /// reading overlaps writing. Still one transaction, begun when the first part arrives
    /// and committed after [`SnapshotPart::End`]; if `parts` closes before the end, nothing
    /// is stored and the result is `Invalid`.
    async fn apply_location_parts(
        &self,
        location_id: &LocationId,
        parts: tokio::sync::mpsc::Receiver<SnapshotPart>,
    ) -> StoreResult<ApplyOutcome>;

    // ---- reads ------------------------------------------------------------------------

    /// The final (stitched) entity as JSON text.
    async fn entity_by_ref(&self, entity: &EntityRef) -> StoreResult<Option<RawEntity>>;
    async fn entity_by_uid(&self, uid: &str) -> StoreResult<Option<RawEntity>>;
    /// One slot per requested ref, `None` where there is no such entity, in request order.
    async fn entities_by_refs(&self, refs: &[EntityRef]) -> StoreResult<Vec<Option<RawEntity>>>;
    /// Filtered, ordered, paginated entities (offset or keyset), with the total count.
    async fn query_entities(&self, query: &EntityQuery) -> StoreResult<EntityPage>;
    /// For each facet key (a dotted field path such as `kind`, `spec.owner`,
    /// `metadata.tags`), the distinct values among the entities matching `filter`, with the
    /// number of entities having each, values in their original case.
    async fn facets(
        &self,
        facets: &[String],
        filter: Option<&EntityFilter>,
    ) -> StoreResult<BTreeMap<String, Vec<FacetCount>>>;
    /// The entity and the chain of entities that led to it (Location entities): the entity
    /// first, then its parent, up to the root, as Backstage's ancestry endpoint returns it.
    async fn ancestry(&self, entity: &EntityRef) -> StoreResult<Option<Ancestry>>;
    /// Deletes one entity (Backstage allows this; a non-orphan comes back at the next
    /// refresh of its location) and re-stitches its neighbours. `Ok(false)` if absent.
    async fn delete_entity_by_uid(&self, uid: &str) -> StoreResult<bool>;
    /// Every stored processing error, grouped by nothing: callers group.
    async fn processing_errors(&self) -> StoreResult<Vec<StoredProcessingError>>;
    /// Counts of entities per kind (lower-case kind → count).
    async fn count_by_kind(&self) -> StoreResult<BTreeMap<String, u64>>;
    /// Change events after `after_sequence`, oldest first, at most `limit`.
    async fn changes_since(
        &self,
        after_sequence: i64,
        limit: usize,
    ) -> StoreResult<Vec<ChangeEvent>>;
    /// The latest change events, newest first, at most `limit` (the portal's "recently
    /// changed"; `limit` 1 gives the catalog's current version for caches).
    async fn recent_changes(&self, limit: usize) -> StoreResult<Vec<ChangeEvent>>;
    /// Appends one entry to the audit log.
    async fn append_audit(&self, entry: NewAuditEntry) -> StoreResult<()>;
    /// Audit entries newest first, at most `limit`, older than `before_id` when given.
    async fn audit_log(&self, limit: usize, before_id: Option<i64>)
    -> StoreResult<Vec<AuditEntry>>;

    // ---- retention ---------------------------------------------------------------------

    /// Deletes change events older than `older_than`, always keeping the newest one (the
    /// catalog's version). Returns how many went. Readers tailing the events notice a gap
    /// by their cursor being older than the oldest event left.
    async fn prune_changes(&self, older_than: Duration) -> StoreResult<u64>;
    /// Deletes audit entries older than `older_than`; returns how many.
    async fn prune_audit_log(&self, older_than: Duration) -> StoreResult<u64>;
}

/// Opens the store named by a URL — `sqlite://path/to/file.db` (created if missing) or
/// `postgres://user@host:port/db` — and applies its migrations.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn CatalogStore>> {
    Ok(Arc::new(store::SqlStore::connect(url).await?))
}

/// Every store of paved, on one database (one connection pool each way).
#[derive(Clone)]
pub struct Stores {
    pub catalog: Arc<dyn CatalogStore>,
    pub jobs: Arc<dyn JobStore>,
    pub tasks: Arc<dyn TaskStore>,
    pub docs: Arc<dyn DocsStore>,
}

/// Connects to `url` like [`connect`] and hands out every store on that database.
pub async fn connect_stores(url: &str) -> StoreResult<Stores> {
    let store = Arc::new(store::SqlStore::connect(url).await?);
    Ok(Stores {
        catalog: store.clone(),
        jobs: store.clone(),
        tasks: store.clone(),
        docs: store,
    })
}
