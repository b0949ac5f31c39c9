//! `DocsService`: builds documentation sites as `docs.build` jobs and serves what they stored.
//!
//! A follower tails the catalog's change events and enqueues a build for every changed entity
//! with a techdocs-ref (one queued build per entity: the job's dedupe key); after each refresh
//! of a location it enqueues the sites of that location's entities too, since the docs may
//! have changed while the entity did not. A build whose inputs hash to the stored fingerprint
//! stores nothing. An entity whose `dir:` folder (next to a file location) has neither a
//! `mkdocs.yml` nor a README gets no build: every one would fail the same way (a catalog of
//! 60 000 such components would keep a worker busy for minutes). The Docs tab says why, and a
//! refresh that finds a source in the folder builds the site.

use crate::error::DocsError;
use crate::site::{BuiltSite, Limits, Problem, build_site, has_source, page_candidates};
use crate::source::{SourceAccess, local_source, resolve_source, techdocs_ref};
use async_trait::async_trait;
use paved_catalog::git::GitSettings;
use paved_catalog::{AllowedRoots, CatalogService};
use paved_jobs::{JobContext, JobHandler, JobQueue};
use paved_model::EntityRef;
use paved_store::{
    DocContent, DocFile, DocPage, DocSite, DocsStore, EntityQuery, Job, JobOutcome, NewJob,
};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub const BUILD_JOB: &str = "docs.build";

#[derive(Clone, Debug)]
pub struct DocsSettings {
    pub limits: Limits,
    /// How often the follower looks for catalog changes and location refreshes.
    pub poll_every: Duration,
}

impl Default for DocsSettings {
    fn default() -> Self {
        DocsSettings {
            limits: Limits::default(),
            poll_every: Duration::from_secs(2),
        }
    }
}

/// What one build did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildOutcome {
    /// New pages stored.
    Built { pages: usize, problems: usize },
    /// The inputs are those of the stored pages: nothing stored.
    Unchanged,
    /// The build failed; the problems are stored with the site.
    Failed(String),
    /// The entity is gone or has no techdocs-ref any more: its site was removed.
    Removed,
}

/// A site's problems, for `GET /api/paved/docs/errors`.
#[derive(Clone, Debug, PartialEq)]
pub struct SiteProblems {
    pub entity_ref: String,
    pub status: String,
    pub problems: Vec<Problem>,
}

pub struct DocsService {
    catalog: Arc<CatalogService>,
    store: Arc<dyn DocsStore>,
    settings: DocsSettings,
    queue: OnceLock<JobQueue>,
    /// Entities not built because their local folder has no source: folder → site keys.
    without_source: Mutex<HashMap<PathBuf, HashSet<String>>>,
}

/// The key a site is stored under: the entity ref in lower case.
pub fn site_key(entity: &EntityRef) -> String {
    entity.to_string().to_lowercase()
}

/// The portal URL of an entity's docs: `/catalog/<ns>/<kind>/<name>/docs` (lower case).
pub fn docs_base_url(entity: &EntityRef) -> String {
    format!(
        "/catalog/{}/{}/{}/docs",
        paved_model::entity_ref::encode_path_segment(&entity.namespace().to_lowercase()),
        paved_model::entity_ref::encode_path_segment(&entity.kind().to_lowercase()),
        paved_model::entity_ref::encode_path_segment(&entity.name().to_lowercase())
    )
}

fn failed_problem(entity: &Value, error: &DocsError) -> Problem {
    let file = match error {
        DocsError::Mkdocs { file, .. } => file.clone(),
        _ => entity["metadata"]["annotations"]["backstage.io/managed-by-location"]
            .as_str()
            .unwrap_or("backstage.io/techdocs-ref")
            .to_string(),
    };
    let message = match error {
        DocsError::Mkdocs { message, .. } => message.clone(),
        other => other.to_string(),
    };
    Problem {
        file,
        line: None,
        link: None,
        message,
    }
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl DocsService {
    pub fn new(
        catalog: Arc<CatalogService>,
        store: Arc<dyn DocsStore>,
        settings: DocsSettings,
    ) -> Self {
        DocsService {
            catalog,
            store,
            settings,
            queue: OnceLock::new(),
            without_source: Mutex::new(HashMap::new()),
        }
    }

    /// The entity's `dir:` folder when it has neither `mkdocs.yml` nor README.md: no site is
    /// built for it (the reason the Docs tab gives).
    pub fn folder_without_source(&self, entity: &Value) -> Option<PathBuf> {
        match local_source(entity, &AllowedRoots::new(self.catalog.allowed_roots()))? {
            Ok(folder) if !has_source(&folder) => Some(folder),
            _ => None,
        }
    }

    /// Whether a build of the entity could find a source. `false` only for a local folder
    /// with neither `mkdocs.yml` nor README.md; the entity is remembered so that a refresh
    /// that adds one builds it. `seen` caches each folder's answer for one round.
    fn has_buildable_source(
        &self,
        key: &str,
        entity: &Value,
        roots: &AllowedRoots,
        seen: &mut HashMap<PathBuf, bool>,
    ) -> bool {
        let Some(Ok(folder)) = local_source(entity, roots) else {
            return true;
        };
        let found = *seen
            .entry(folder.clone())
            .or_insert_with(|| has_source(&folder));
        let mut without = self
            .without_source
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if found {
            if let Some(keys) = without.get_mut(&folder) {
                keys.remove(key);
            }
        } else {
            without.entry(folder).or_default().insert(key.to_string());
        }
        found
    }

    /// The entities remembered without a source whose folder has one now (forgotten).
    fn sources_found(&self) -> Vec<String> {
        let mut without = self
            .without_source
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let found: Vec<PathBuf> = without
            .keys()
            .filter(|folder| has_source(folder))
            .cloned()
            .collect();
        found
            .into_iter()
            .flat_map(|folder| without.remove(&folder).unwrap_or_default())
            .collect()
    }

    /// Connects the service to the job queue (once the runner exists).
    pub fn set_queue(&self, queue: JobQueue) {
        let _ = self.queue.set(queue);
    }

    fn access(&self) -> SourceAccess {
        let settings = self.catalog.settings();
        SourceAccess {
            roots: AllowedRoots::new(self.catalog.allowed_roots()),
            git: GitSettings {
                // Apart from the catalog's checkouts: a build never fetches into a folder the
                // refresh loop is reading.
                cache_dir: settings.data_dir.join("docs-git"),
                timeout: settings.git_timeout,
                max_bytes: settings.git_max_bytes,
            },
        }
    }

    /// Enqueues a build of the entity's site (absorbed by one already queued).
    pub async fn enqueue_build(&self, entity: &EntityRef) -> Result<(), DocsError> {
        let queue = self
            .queue
            .get()
            .ok_or_else(|| DocsError::Internal("the job queue is not connected".into()))?;
        let key = site_key(entity);
        queue
            .enqueue(NewJob {
                kind: BUILD_JOB.into(),
                dedupe_key: Some(key.clone()),
                payload: json!({ "entityRef": key }),
                max_attempts: 3,
                delay: Duration::ZERO,
            })
            .await?;
        Ok(())
    }

    /// Builds the entity's site now and stores it (unless nothing changed).
    pub async fn build(&self, entity_ref: &EntityRef) -> Result<BuildOutcome, DocsError> {
        let key = site_key(entity_ref);
        let entity = match self.catalog.entity_by_ref(entity_ref).await? {
            Some(raw) => serde_json::from_str::<Value>(&raw.json)
                .map_err(|e| DocsError::Internal(format!("stored entity is not JSON: {e}")))?,
            None => {
                self.store.delete_doc_site(&key).await?;
                return Ok(BuildOutcome::Removed);
            }
        };
        if techdocs_ref(&entity).is_none() {
            self.store.delete_doc_site(&key).await?;
            return Ok(BuildOutcome::Removed);
        }
        let etag = entity["metadata"]["etag"].as_str().map(str::to_string);
        let owner = entity["spec"]["owner"].as_str().map(str::to_string);
        let default_name = entity["metadata"]["title"]
            .as_str()
            .or(entity["metadata"]["name"].as_str())
            .unwrap_or("Documentation")
            .to_string();
        let previous = self.store.doc_site(&key).await?;
        let built = async {
            let dir = resolve_source(&entity, &self.access()).await?;
            let base = docs_base_url(entity_ref);
            let limits = self.settings.limits.clone();
            tokio::task::spawn_blocking(move || build_site(&dir, &base, &default_name, &limits))
                .await
                .map_err(|e| DocsError::Internal(format!("the build panicked: {e}")))?
        }
        .await;
        let site = match built {
            Ok(site) => site,
            Err(error) => {
                let message = error.to_string();
                let problem = failed_problem(&entity, &error);
                let previous_name = previous.as_ref().map(|p| p.site_name.clone());
                let previous_nav = previous.as_ref().map(|p| p.nav.clone());
                self.store
                    .save_doc_site(
                        DocSite {
                            entity_ref: key,
                            site_name: previous_name.unwrap_or_else(|| {
                                entity["metadata"]["name"]
                                    .as_str()
                                    .unwrap_or("")
                                    .to_string()
                            }),
                            site_description: previous
                                .as_ref()
                                .and_then(|p| p.site_description.clone()),
                            owner,
                            status: "failed".into(),
                            built_at: now_millis(),
                            fingerprint: previous.as_ref().and_then(|p| p.fingerprint.clone()),
                            entity_etag: etag,
                            problems: serde_json::to_value(vec![problem]).unwrap_or(json!([])),
                            nav: previous_nav.unwrap_or(json!([])),
                            page_count: 0,
                        },
                        DocContent::Keep,
                    )
                    .await?;
                return Ok(BuildOutcome::Failed(message));
            }
        };
        if let Some(previous) = &previous
            && previous.status == "built"
            && previous.fingerprint.as_deref() == Some(site.fingerprint.as_str())
        {
            if previous.entity_etag != etag || previous.owner != owner {
                let mut updated = previous.clone();
                updated.entity_etag = etag;
                updated.owner = owner;
                self.store.save_doc_site(updated, DocContent::Keep).await?;
            }
            return Ok(BuildOutcome::Unchanged);
        }
        let outcome = BuildOutcome::Built {
            pages: site.pages.len(),
            problems: site.problems.len(),
        };
        let (record, content) = into_records(key, owner, etag, site);
        self.store.save_doc_site(record, content).await?;
        Ok(outcome)
    }

    pub async fn site(&self, entity: &EntityRef) -> Result<Option<DocSite>, DocsError> {
        Ok(self.store.doc_site(&site_key(entity)).await?)
    }

    pub async fn sites(&self) -> Result<Vec<DocSite>, DocsError> {
        Ok(self.store.doc_sites().await?)
    }

    /// The page a URL path names (`""` → `index.md`, else the first page; `a` → `a.md` or
    /// `a/index.md`).
    pub async fn page(
        &self,
        entity: &EntityRef,
        url_path: &str,
    ) -> Result<Option<DocPage>, DocsError> {
        let key = site_key(entity);
        for candidate in page_candidates(url_path) {
            if let Some(page) = self.store.doc_page(&key, &candidate).await? {
                return Ok(Some(page));
            }
        }
        // A site without index.md opens on its first page.
        if url_path.trim_matches('/').is_empty()
            && let Some((first, _)) = self.store.doc_page_titles(&key).await?.into_iter().next()
        {
            return Ok(self.store.doc_page(&key, &first).await?);
        }
        Ok(None)
    }

    /// A file of the site (an image).
    pub async fn file(&self, entity: &EntityRef, path: &str) -> Result<Option<DocFile>, DocsError> {
        Ok(self
            .store
            .doc_file(&site_key(entity), path.trim_matches('/'))
            .await?)
    }

    pub async fn page_titles(
        &self,
        entity: &EntityRef,
    ) -> Result<Vec<(String, String)>, DocsError> {
        Ok(self.store.doc_page_titles(&site_key(entity)).await?)
    }

    /// Every site with problems (failed builds, broken links, missing nav files).
    pub async fn problems(&self) -> Result<Vec<SiteProblems>, DocsError> {
        Ok(self
            .store
            .doc_sites()
            .await?
            .into_iter()
            .filter_map(|site| {
                let problems: Vec<Problem> =
                    serde_json::from_value(site.problems.clone()).unwrap_or_default();
                (!problems.is_empty()).then_some(SiteProblems {
                    entity_ref: site.entity_ref,
                    status: site.status,
                    problems,
                })
            })
            .collect())
    }

    /// The entities with a techdocs-ref, as (ref, etag, whether a build could find a source).
    async fn doc_entities(&self) -> Result<Vec<(EntityRef, Option<String>, bool)>, DocsError> {
        let roots = AllowedRoots::new(self.catalog.allowed_roots());
        let mut seen = HashMap::new();
        let filter = paved_model::filter::parse_filter_params(&[
            "metadata.annotations.backstage.io/techdocs-ref".to_string(),
        ])
        .map_err(|e| DocsError::Internal(e.to_string()))?;
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let page = self
                .catalog
                .query_entities(&EntityQuery {
                    filter: filter.clone(),
                    limit: Some(500),
                    offset: Some(offset),
                    ..Default::default()
                })
                .await?;
            let n = page.items.len();
            for raw in page.items {
                let Ok(value) = serde_json::from_str::<Value>(&raw.json) else {
                    continue;
                };
                if let Some(entity) = paved_model::Entity::from_value(value.clone()) {
                    let entity_ref = entity.entity_ref();
                    let buildable = self.has_buildable_source(
                        &site_key(&entity_ref),
                        &value,
                        &roots,
                        &mut seen,
                    );
                    out.push((
                        entity_ref,
                        value["metadata"]["etag"].as_str().map(str::to_string),
                        buildable,
                    ));
                }
            }
            offset += n;
            if n < 500 {
                break;
            }
        }
        Ok(out)
    }

    /// At start: enqueues the sites that are missing or whose entity changed since they were
    /// built, and removes sites whose entity is gone or whose folder has no source any more.
    /// Returns how many were enqueued.
    pub async fn enqueue_stale(&self) -> Result<usize, DocsError> {
        let sites: HashMap<String, DocSite> = self
            .store
            .doc_sites()
            .await?
            .into_iter()
            .map(|s| (s.entity_ref.clone(), s))
            .collect();
        let entities = self.doc_entities().await?;
        let mut live = HashSet::new();
        let mut enqueued = 0;
        for (entity, etag, buildable) in entities {
            if !buildable {
                continue;
            }
            let key = site_key(&entity);
            let stale = match sites.get(&key) {
                None => true,
                Some(site) => site.entity_etag != etag,
            };
            live.insert(key);
            if stale {
                self.enqueue_build(&entity).await?;
                enqueued += 1;
            }
        }
        for key in sites.keys().filter(|k| !live.contains(*k)) {
            self.store.delete_doc_site(key).await?;
        }
        Ok(enqueued)
    }

    /// One round of the follower: builds for changed entities with a techdocs-ref and for
    /// the sites of refreshed locations. Returns the new cursor.
    pub async fn follow_once(
        &self,
        cursor: i64,
        refreshed: &mut HashMap<String, i64>,
    ) -> Result<i64, DocsError> {
        let mut cursor = cursor;
        // Sites that exist, read once per round when something changed: most changed entities
        // have no docs, and removing nothing must not cost a write each.
        let mut existing: Option<HashSet<String>> = None;
        let roots = AllowedRoots::new(self.catalog.allowed_roots());
        let mut seen = HashMap::new();
        loop {
            let events = self.catalog.changes_since(cursor, 500).await?;
            let Some(last) = events.last() else {
                break;
            };
            if existing.is_none() {
                existing = Some(
                    self.store
                        .doc_sites()
                        .await?
                        .into_iter()
                        .map(|s| s.entity_ref)
                        .collect(),
                );
            }
            cursor = last.sequence;
            let refs: Vec<EntityRef> = events.iter().map(|e| e.entity_ref.clone()).collect();
            let entities = self.catalog.entities_by_refs(&refs).await?;
            for (entity_ref, raw) in refs.iter().zip(entities) {
                let key = site_key(entity_ref);
                let has_docs = raw
                    .and_then(|raw| serde_json::from_str::<Value>(&raw.json).ok())
                    .filter(|v| techdocs_ref(v).is_some())
                    .is_some_and(|v| self.has_buildable_source(&key, &v, &roots, &mut seen));
                if has_docs {
                    self.enqueue_build(entity_ref).await?;
                } else if existing.as_ref().is_some_and(|e| e.contains(&key)) {
                    // Gone, or no docs (or no source) any more: drop the site it had.
                    self.store.delete_doc_site(&key).await?;
                }
            }
            if events.len() < 500 {
                break;
            }
        }
        // Locations read again since the last round: their docs may have changed even where
        // their entities did not.
        let mut changed = HashSet::new();
        for location in self.catalog.locations().await? {
            let Some(at) = location.refreshed_at else {
                continue;
            };
            match refreshed.insert(location.id.0.clone(), at) {
                Some(before) if before != at => {
                    changed.insert(location.id.0.clone());
                }
                _ => {}
            }
        }
        if !changed.is_empty() {
            // Folders that had no source may have one now.
            for key in self.sources_found() {
                if let Ok(entity) = EntityRef::parse_full(&key) {
                    self.enqueue_build(&entity).await?;
                }
            }
            for site in self.store.doc_sites().await? {
                let Ok(entity) = EntityRef::parse_full(&site.entity_ref) else {
                    continue;
                };
                if let Ok(location) = self.catalog.location_by_entity(&entity).await
                    && changed.contains(&location.id.0)
                {
                    self.enqueue_build(&entity).await?;
                }
            }
        }
        Ok(cursor)
    }

    /// Runs until the process ends: enqueues stale sites, then follows the catalog.
    pub fn spawn_follower(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut cursor = match self.catalog.version().await {
                Ok(v) => v,
                Err(error) => {
                    tracing::warn!(%error, "docs: cannot read the catalog version");
                    0
                }
            };
            match self.enqueue_stale().await {
                Ok(n) => tracing::info!(enqueued = n, "docs: stale sites enqueued"),
                Err(error) => tracing::warn!(%error, "docs: cannot enqueue stale sites"),
            }
            let mut refreshed = HashMap::new();
            if let Ok(locations) = self.catalog.locations().await {
                for l in locations {
                    if let Some(at) = l.refreshed_at {
                        refreshed.insert(l.id.0, at);
                    }
                }
            }
            let mut tick = tokio::time::interval(self.settings.poll_every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match self.follow_once(cursor, &mut refreshed).await {
                    Ok(next) => cursor = next,
                    Err(error) => tracing::warn!(%error, "docs: following the catalog failed"),
                }
            }
        })
    }
}

fn into_records(
    key: String,
    owner: Option<String>,
    etag: Option<String>,
    site: BuiltSite,
) -> (DocSite, DocContent) {
    let record = DocSite {
        entity_ref: key,
        site_name: site.site_name,
        site_description: site.site_description,
        owner,
        status: "built".into(),
        built_at: now_millis(),
        fingerprint: Some(site.fingerprint),
        entity_etag: etag,
        problems: serde_json::to_value(&site.problems).unwrap_or(json!([])),
        nav: serde_json::to_value(&site.nav).unwrap_or(json!([])),
        page_count: i64::try_from(site.pages.len()).unwrap_or(i64::MAX),
    };
    let pages = site
        .pages
        .into_iter()
        .map(|p| DocPage {
            path: p.path,
            title: p.title,
            html: p.html,
            toc: serde_json::to_value(&p.toc).unwrap_or(json!([])),
            headings: p.headings,
            text: p.text,
        })
        .collect();
    let files = site
        .files
        .into_iter()
        .map(|f| DocFile {
            path: f.path,
            content_type: f.content_type.to_string(),
            bytes: f.bytes,
        })
        .collect();
    (record, DocContent::Replace { pages, files })
}

/// Runs `docs.build` jobs.
pub struct BuildJobHandler(pub Arc<DocsService>);

#[async_trait]
impl JobHandler for BuildJobHandler {
    fn kind(&self) -> &'static str {
        BUILD_JOB
    }

    async fn run(&self, job: Job, _ctx: JobContext) -> JobOutcome {
        let Some(entity) = job.payload["entityRef"]
            .as_str()
            .and_then(|r| EntityRef::parse_full(r).ok())
        else {
            return JobOutcome::Failed(format!("payload has no valid entityRef: {}", job.payload));
        };
        match self.0.build(&entity).await {
            Ok(outcome) => {
                tracing::info!(entity = %entity, ?outcome, "docs built");
                JobOutcome::Succeeded
            }
            Err(error @ DocsError::Store(_)) => JobOutcome::Retry {
                after: Duration::from_secs(10),
                error: error.to_string(),
            },
            Err(error) => JobOutcome::Failed(error.to_string()),
        }
    }
}
