//! Facet counts cached per catalog version: counting a facet reads every index row of its
//! field (a second or more at a quarter of a million entities), while the counts change only
//! when the catalog does.

use crate::error::CatalogError;
use crate::service::CatalogService;
use paved_model::filter::EntityFilter;
use paved_store::FacetCount;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

type Counts = BTreeMap<String, Vec<FacetCount>>;

/// The counts of one set of facets, shared by every request that asks for them, with their
/// JSON made once: at a quarter of a million entities the owner and tag facets alone are
/// hundreds of kilobytes, and building that text for each of 64 concurrent clients was most of
/// an answer's time.
#[derive(Debug)]
pub struct FacetCounts {
    counts: Counts,
    json: OnceLock<Arc<str>>,
}

impl FacetCounts {
    fn new(counts: Counts) -> Arc<Self> {
        Arc::new(FacetCounts {
            counts,
            json: OnceLock::new(),
        })
    }

    /// `{"<facet>": [{"value": …, "count": …}, …], …}`, made at the first call.
    pub fn json(&self) -> Arc<str> {
        self.json
            .get_or_init(|| {
                serde_json::to_string(&self.counts)
                    .unwrap_or_else(|_| "{}".to_owned())
                    .into()
            })
            .clone()
    }
}

impl std::ops::Deref for FacetCounts {
    type Target = Counts;
    fn deref(&self) -> &Counts {
        &self.counts
    }
}

/// Counts are reused while the catalog's change sequence has not moved, and at most this long
/// even then (the sequence cannot see everything, such as a restore of the database).
const TTL: Duration = Duration::from_secs(60);
const ENTRIES: usize = 256;

/// Whether a caller may be answered with counts from before the latest change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Staleness {
    /// Only counts of the current catalog (the API: a client that just registered a
    /// location sees it counted).
    Current,
    /// Previous counts now, fresh ones computed in the background (the portal: a page never
    /// waits for a recount after the first).
    WhileRevalidating,
}

#[derive(Default)]
pub(crate) struct FacetCache {
    entries: Mutex<HashMap<String, Entry>>,
    refreshing: Mutex<HashSet<String>>,
    /// One computation per key at a time: concurrent misses (a burst of requests after a
    /// start or a change) wait for the first one's result instead of each counting again.
    computing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

struct Entry {
    version: i64,
    taken: Instant,
    counts: Arc<FacetCounts>,
}

impl FacetCache {
    fn get(&self, key: &str, version: i64) -> Option<(Arc<FacetCounts>, bool)> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(key)?;
        let current = entry.version == version && entry.taken.elapsed() < TTL;
        Some((entry.counts.clone(), current))
    }

    fn put(&self, key: String, version: i64, counts: Arc<FacetCounts>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= ENTRIES {
                entries.retain(|_, e| e.version == version);
                if entries.len() >= ENTRIES {
                    entries.clear();
                }
            }
            let taken = Instant::now();
            entries.insert(
                key,
                Entry {
                    version,
                    taken,
                    counts,
                },
            );
        }
    }

    fn computation_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut computing = self.computing.lock().unwrap_or_else(|e| e.into_inner());
        if computing.len() >= ENTRIES {
            computing.retain(|_, lock| Arc::strong_count(lock) > 1);
        }
        computing.entry(key.to_owned()).or_default().clone()
    }

    /// Marks `key` as being recomputed; false when that is already under way.
    fn start_refresh(&self, key: &str) -> bool {
        self.refreshing
            .lock()
            .map(|mut set| set.insert(key.to_owned()))
            .unwrap_or(false)
    }

    fn end_refresh(&self, key: &str) {
        if let Ok(mut set) = self.refreshing.lock() {
            set.remove(key);
        }
    }
}

impl CatalogService {
    /// [`CatalogService::facets`] through the cache.
    pub async fn facets_cached(
        self: &Arc<Self>,
        facets: &[String],
        filter: Option<&EntityFilter>,
        staleness: Staleness,
    ) -> Result<Arc<FacetCounts>, CatalogError> {
        let version = self.version().await?;
        let key = format!("{facets:?}|{filter:?}");
        match self.facet_cache.get(&key, version) {
            Some((counts, true)) => Ok(counts),
            Some((stale, false)) if staleness == Staleness::WhileRevalidating => {
                if self.facet_cache.start_refresh(&key) {
                    let service = self.clone();
                    let facets = facets.to_vec();
                    let filter = filter.cloned();
                    tokio::spawn(async move {
                        match service.facets(&facets, filter.as_ref()).await {
                            Ok(counts) => service.facet_cache.put(
                                key.clone(),
                                version,
                                FacetCounts::new(counts),
                            ),
                            Err(error) => {
                                tracing::warn!(%error, "recomputing facet counts failed")
                            }
                        }
                        service.facet_cache.end_refresh(&key);
                    });
                }
                Ok(stale)
            }
            _ => {
                let lock = self.facet_cache.computation_lock(&key);
                let _computing = lock.lock().await;
                // Whoever held the lock before may have just stored what we need.
                if let Some((counts, true)) = self.facet_cache.get(&key, version) {
                    return Ok(counts);
                }
                let counts = FacetCounts::new(self.facets(facets, filter).await?);
                self.facet_cache.put(key, version, counts.clone());
                Ok(counts)
            }
        }
    }
}
