//! `SearchService`: this process's index built from the catalog at start, then kept current
//! by following the catalog's change events; searches answer `NotReady` until it is built.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use paved_catalog::CatalogService;
use paved_model::EntityRef;
use paved_store::{DocsStore, EntityQuery};

use crate::{
    DocPage, EntityTextMatches, SearchError, SearchIndex, SearchRequest, SearchResults, Suggestion,
};

/// The longest the build waits at start for the catalog to catch up with its locations (a
/// restart re-reads every location; both at once peaked 100 MB higher on 100k entities).
const SETTLE_WAIT: Duration = Duration::from_secs(120);

/// How the index follows the catalog.
#[derive(Clone, Debug)]
pub struct SearchSettings {
    /// How often the change events are read.
    pub poll_interval: Duration,
    /// Change events read at once.
    pub batch_size: usize,
    /// Entities read per page while building.
    pub build_page_size: usize,
}

impl Default for SearchSettings {
    fn default() -> Self {
        SearchSettings {
            poll_interval: Duration::from_millis(250),
            batch_size: 1000,
            build_page_size: 1000,
        }
    }
}

/// What one full build did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildReport {
    pub entities: usize,
    pub documents: usize,
    /// The change sequence the index is current with.
    pub sequence: i64,
}

/// What one pass over new change events did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FollowReport {
    /// Change events read.
    pub events: usize,
    /// Entities re-read (upserted or deleted).
    pub entities: usize,
    /// The cursor was older than the oldest kept event: everything was read again.
    pub rebuilt: bool,
}

/// The search index of this process and the task that keeps it current.
pub struct SearchService {
    index: Arc<SearchIndex>,
    catalog: Arc<CatalogService>,
    settings: SearchSettings,
    ready: AtomicBool,
    /// The sequence of the last change event searches see (committed).
    sequence: AtomicI64,
    /// The sequence of the last change event applied to the writer (committed or not).
    applied: AtomicI64,
    /// One writer of catalog changes at a time (build and follow).
    follow_lock: tokio::sync::Mutex<()>,
    /// Where documentation pages come from, if sites are built.
    docs: Option<Arc<dyn DocsStore>>,
    /// The build time of each site whose pages are in the index.
    docs_seen: Mutex<HashMap<String, i64>>,
}

/// While changes keep coming, the index commits at most this often.
const COMMIT_EVERY: Duration = Duration::from_secs(2);

/// How many follow ticks pass between two looks at the documentation sites.
const DOCS_EVERY_TICKS: u32 = 8;

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, SearchError> + Send + 'static,
) -> Result<T, SearchError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| SearchError::Index(format!("search task failed: {e}")))?
}

impl SearchService {
    pub fn new(
        catalog: Arc<CatalogService>,
        settings: SearchSettings,
    ) -> Result<SearchService, SearchError> {
        Ok(SearchService {
            index: Arc::new(SearchIndex::in_memory()?),
            catalog,
            settings,
            ready: AtomicBool::new(false),
            sequence: AtomicI64::new(0),
            applied: AtomicI64::new(0),
            follow_lock: tokio::sync::Mutex::new(()),
            docs: None,
            docs_seen: Mutex::new(HashMap::new()),
        })
    }

    /// Documentation pages are read from `docs`: at start, then whenever a site's build time
    /// moves (every replica looks at the store itself, so each index gets every site).
    pub fn with_docs(mut self, docs: Arc<dyn DocsStore>) -> Self {
        self.docs = Some(docs);
        self
    }

    /// Brings the index's documentation pages up to the store: the pages of sites built since
    /// the last look are replaced, those of sites gone are removed. Returns the sites read.
    pub async fn sync_docs(&self) -> Result<usize, SearchError> {
        let Some(docs) = &self.docs else {
            return Ok(0);
        };
        let store_error = |e: paved_store::StoreError| SearchError::Index(e.to_string());
        let sites = docs.doc_sites().await.map_err(store_error)?;
        let (changed, removed) = {
            let seen = self
                .docs_seen
                .lock()
                .map_err(|_| SearchError::Index("docs lock".into()))?;
            let changed: Vec<(String, i64)> = sites
                .iter()
                .filter(|s| seen.get(&s.entity_ref) != Some(&s.built_at))
                .map(|s| (s.entity_ref.clone(), s.built_at))
                .collect();
            let removed: Vec<String> = seen
                .keys()
                .filter(|r| !sites.iter().any(|s| &s.entity_ref == *r))
                .cloned()
                .collect();
            (changed, removed)
        };
        let count = changed.len();
        for (entity_ref, built_at) in changed {
            let Ok(entity) = EntityRef::parse_full(&entity_ref) else {
                continue;
            };
            let base = paved_docs::docs_base_url(&entity);
            let pages = docs
                .doc_pages(&entity_ref)
                .await
                .map_err(store_error)?
                .into_iter()
                .map(|p| DocPage {
                    entity_ref: entity.clone(),
                    location: paved_docs::markdown::page_url(&base, &p.path),
                    path: p.path,
                    title: p.title,
                    headings: p.headings,
                    text: p.text,
                })
                .collect();
            self.replace_doc_pages(entity, pages).await?;
            if let Ok(mut seen) = self.docs_seen.lock() {
                seen.insert(entity_ref, built_at);
            }
        }
        for entity_ref in removed {
            if let Ok(entity) = EntityRef::parse_full(&entity_ref) {
                self.replace_doc_pages(entity, Vec::new()).await?;
            }
            if let Ok(mut seen) = self.docs_seen.lock() {
                seen.remove(&entity_ref);
            }
        }
        Ok(count)
    }

    /// The index itself (for tests and benchmarks).
    pub fn index(&self) -> &Arc<SearchIndex> {
        &self.index
    }

    /// True once the first build finished.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// The change sequence the index is current with.
    pub fn sequence(&self) -> i64 {
        self.sequence.load(Ordering::Acquire)
    }

    /// Reads every entity from the catalog into the index (replacing the entity documents it
    /// had; documentation pages stay), then marks the index ready.
    pub async fn build(&self) -> Result<BuildReport, SearchError> {
        let _guard = self.follow_lock.lock().await;
        self.build_locked().await
    }

    async fn build_locked(&self) -> Result<BuildReport, SearchError> {
        // The version is read first: changes made while reading are applied again after,
        // which is harmless (upserts), rather than lost.
        let sequence = self.catalog.version().await?;
        let index = self.index.clone();
        blocking(move || index.delete_all_entities()).await?;
        let mut query = EntityQuery {
            limit: Some(self.settings.build_page_size),
            ..EntityQuery::default()
        };
        let (mut entities, mut documents) = (0, 0);
        loop {
            let page = self.catalog.query_entities(&query).await?;
            let index = self.index.clone();
            let next = page.next.clone();
            let (read, written) = blocking(move || {
                let mut written = 0;
                for item in &page.items {
                    let entity: serde_json::Value = serde_json::from_str(&item.json)
                        .map_err(|e| SearchError::Index(format!("stored entity: {e}")))?;
                    written += index.add_entity(&entity)?;
                }
                Ok((page.items.len(), written))
            })
            .await?;
            entities += read;
            documents += written;
            match next {
                Some(keyset) if read > 0 => query.keyset = Some(keyset),
                _ => break,
            }
        }
        let index = self.index.clone();
        blocking(move || index.commit()).await?;
        self.applied.store(sequence, Ordering::Release);
        self.sequence.store(sequence, Ordering::Release);
        self.ready.store(true, Ordering::Release);
        Ok(BuildReport {
            entities,
            documents,
            sequence,
        })
    }

    /// Applies the change events after the cursor: re-reads each changed entity and
    /// replaces (or deletes) its documents, then commits. Rebuilds when events were pruned
    /// before they were seen.
    pub async fn follow_once(&self) -> Result<FollowReport, SearchError> {
        self.follow(true).await
    }

    /// Makes what was applied visible to searches.
    async fn commit(&self) -> Result<(), SearchError> {
        let _guard = self.follow_lock.lock().await;
        let applied = self.applied.load(Ordering::Acquire);
        let index = self.index.clone();
        blocking(move || index.commit()).await?;
        self.sequence.store(applied, Ordering::Release);
        Ok(())
    }

    /// One batch of change events, committed or (inside a backlog) left for a later commit.
    async fn follow(&self, commit: bool) -> Result<FollowReport, SearchError> {
        let _guard = self.follow_lock.lock().await;
        let cursor = self.applied.load(Ordering::Acquire);
        let events = self
            .catalog
            .changes_since(cursor, self.settings.batch_size)
            .await?;
        let Some(first) = events.first() else {
            return Ok(FollowReport::default());
        };
        if first.sequence > cursor + 1
            && let Some(oldest) = self.catalog.oldest_change_sequence().await?
            && oldest > cursor + 1
        {
            tracing::info!(
                cursor,
                oldest,
                "search index: change events were pruned before they were read; rebuilding"
            );
            let report = self.build_locked().await?;
            return Ok(FollowReport {
                events: events.len(),
                entities: report.entities,
                rebuilt: true,
            });
        }
        let last = events.last().map_or(cursor, |e| e.sequence);
        let event_count = events.len();
        let refs: Vec<EntityRef> = events
            .into_iter()
            .map(|e| e.entity_ref)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let entities = self.catalog.entities_by_refs(&refs).await?;
        let index = self.index.clone();
        let count = refs.len();
        blocking(move || {
            for (entity_ref, entity) in refs.iter().zip(entities) {
                match entity {
                    Some(raw) => {
                        let value: serde_json::Value = serde_json::from_str(&raw.json)
                            .map_err(|e| SearchError::Index(format!("stored entity: {e}")))?;
                        index.upsert_entity(&value)?;
                    }
                    None => index.delete_entity(entity_ref),
                }
            }
            if commit { index.commit() } else { Ok(()) }
        })
        .await?;
        self.applied.store(last, Ordering::Release);
        if commit {
            self.sequence.store(last, Ordering::Release);
        }
        Ok(FollowReport {
            events: event_count,
            entities: count,
            rebuilt: false,
        })
    }

    /// Once the catalog has caught up with its locations (see [`SETTLE_WAIT`]), builds the
    /// index unless it is built already (retrying while the catalog is unavailable), then
    /// follows the change events every `poll_interval` until the task is
    /// aborted.
    pub fn spawn(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            self.catalog.settled(SETTLE_WAIT).await;
            while !self.is_ready() {
                let started = Instant::now();
                match self.build().await {
                    Ok(report) => {
                        let usage = self.index.space_usage().unwrap_or_default();
                        tracing::info!(
                            entities = report.entities,
                            documents = report.documents,
                            elapsed_ms = started.elapsed().as_millis() as u64,
                            bytes = usage.get("total").copied().unwrap_or(0),
                            "search index built"
                        );
                        tracing::debug!(?usage, "search index space by part and field");
                    }
                    Err(error) => {
                        tracing::warn!(%error, "search index build failed; retrying");
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    }
                }
            }
            let mut ticker = tokio::time::interval(self.settings.poll_interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut ticks: u32 = 0;
            let mut uncommitted = false;
            let mut last_commit: Option<Instant> = None;
            loop {
                ticker.tick().await;
                if ticks.is_multiple_of(DOCS_EVERY_TICKS)
                    && let Err(error) = self.sync_docs().await
                {
                    tracing::warn!(%error, "search index could not read the documentation sites");
                }
                ticks = ticks.wrapping_add(1);
                // A full batch means more are waiting: read on without waiting for the tick.
                // Commits come at most every COMMIT_EVERY while changes keep coming (each
                // writes a segment that is merged later: a 100k ingestion committed ~200
                // times), and at once when the catalog is quiet or was quiet before.
                loop {
                    let (events, full) = match self.follow(false).await {
                        Ok(report) => (report.events, report.events >= self.settings.batch_size),
                        Err(error) => {
                            tracing::warn!(%error, "search index could not follow the catalog");
                            (0, false)
                        }
                    };
                    uncommitted |= events > 0;
                    let due = last_commit.is_none_or(|at| at.elapsed() >= COMMIT_EVERY);
                    if uncommitted && (due || events == 0) {
                        if let Err(error) = self.commit().await {
                            tracing::warn!(%error, "search index could not commit");
                        }
                        uncommitted = false;
                        last_commit = Some(Instant::now());
                    }
                    if !full {
                        break;
                    }
                }
            }
        })
    }

    fn check_ready(&self) -> Result<(), SearchError> {
        if self.is_ready() {
            Ok(())
        } else {
            Err(SearchError::NotReady)
        }
    }

    pub async fn search(&self, request: SearchRequest) -> Result<SearchResults, SearchError> {
        self.check_ready()?;
        let index = self.index.clone();
        blocking(move || index.search(&request)).await
    }

    pub async fn suggest(
        &self,
        term: String,
        limit: usize,
    ) -> Result<Vec<Suggestion>, SearchError> {
        self.check_ready()?;
        let index = self.index.clone();
        blocking(move || index.suggest(&term, limit)).await
    }

    /// The catalog entities matching every word of `text` (see
    /// [`SearchIndex::entities_matching_words`]), as of the last change followed.
    pub async fn entities_matching_words(
        &self,
        text: String,
        cap: usize,
    ) -> Result<EntityTextMatches, SearchError> {
        self.check_ready()?;
        let index = self.index.clone();
        blocking(move || index.entities_matching_words(&text, cap)).await
    }

    /// Replaces an entity's documentation pages (what the docs builder calls after a build).
    pub async fn replace_doc_pages(
        &self,
        entity: EntityRef,
        pages: Vec<DocPage>,
    ) -> Result<usize, SearchError> {
        let index = self.index.clone();
        blocking(move || index.replace_doc_pages(&entity, pages)).await
    }
}
