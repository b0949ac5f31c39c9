//! `CatalogService`: the catalog's operations as the server and CLI see them.

use crate::error::CatalogError;
use crate::git::GitSettings;
use crate::ingest::Reader;
use crate::location::{AllowedRoots, LocationSpec};
use crate::rules::CatalogRules;
use paved_model::entity::annotation;
use paved_model::filter::EntityFilter;
use paved_model::yaml::YamlLimits;
use paved_model::{Diagnostic, EntityRef};
use paved_store::{
    Ancestry, ApplyOutcome, AuditEntry, CatalogStore, ChangeEvent, EntityPage, EntityQuery,
    FacetCount, LocationId, LocationOrigin, NewAuditEntry, NewLocation, RawEntity, SnapshotPart,
    StoredLocation, StoredProcessingError,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub type CatalogResult<T> = Result<T, CatalogError>;

/// Parts of a reading (about a thousand entities each) waiting for the store: lets reading
/// run ahead of writing a little, and bounds the memory it may use.
const PARTS_IN_FLIGHT: usize = 2;

/// How the catalog reads and refreshes locations.
#[derive(Clone, Debug)]
pub struct CatalogSettings {
    /// Where git checkouts and the demo are kept.
    pub data_dir: PathBuf,
    /// Folders `file` locations may read from. Empty = the folders of the configured file
    /// locations (and nothing else).
    pub allowed_roots: Vec<PathBuf>,
    /// How often every location is read again.
    pub refresh_interval: Duration,
    /// Time limit for one git clone or fetch.
    pub git_timeout: Duration,
    /// Size limit for one git checkout (bytes on disk).
    pub git_max_bytes: u64,
    /// Size limit of one catalog file.
    pub max_file_bytes: usize,
    /// Which kinds each location may provide (`catalog.rules`).
    pub rules: Arc<CatalogRules>,
}

impl CatalogSettings {
    pub fn new(data_dir: PathBuf) -> Self {
        CatalogSettings {
            data_dir,
            allowed_roots: Vec::new(),
            refresh_interval: Duration::from_secs(300),
            git_timeout: Duration::from_secs(120),
            git_max_bytes: 512 * 1024 * 1024,
            max_file_bytes: 2 * 1024 * 1024,
            rules: Arc::new(CatalogRules::allow_all()),
        }
    }
}

/// What `POST /locations` returns: the location and the entities read from it.
#[derive(Clone, Debug)]
pub struct AddLocationOutcome {
    pub location: StoredLocation,
    /// The entities the location provides (final form when stored; as processed on a dry run).
    pub entities: Vec<Value>,
    /// On a dry run: whether the location is registered already.
    pub exists: Option<bool>,
    /// Problems found while reading it.
    pub errors: Vec<Diagnostic>,
}

/// The outcome of `validate-entity`: empty `errors` = valid.
#[derive(Clone, Debug, Default)]
pub struct ValidationReport {
    pub errors: Vec<Diagnostic>,
}

/// The catalog: reads go to the store, writes go through ingestion.
pub struct CatalogService {
    store: Arc<dyn CatalogStore>,
    settings: CatalogSettings,
    roots: RwLock<AllowedRoots>,
    pub(crate) facet_cache: crate::facet_cache::FacetCache,
    /// Whether the refresh loop has caught up: `false` from its start until a round finds no
    /// location due (see [`CatalogService::settled`]).
    settled: tokio::sync::watch::Sender<bool>,
    /// The configured locations, once registered: every other location that came from the
    /// configuration goes, with its entities (see [`CatalogService::remove_unconfigured_locations`]).
    configured: std::sync::Mutex<Option<Vec<LocationId>>>,
}

impl CatalogService {
    pub fn new(store: Arc<dyn CatalogStore>, settings: CatalogSettings) -> Self {
        let roots = RwLock::new(AllowedRoots::new(settings.allowed_roots.clone()));
        CatalogService {
            facet_cache: Default::default(),
            store,
            settings,
            roots,
            settled: tokio::sync::watch::Sender::new(true),
            configured: std::sync::Mutex::new(None),
        }
    }

    fn reader(&self) -> Reader {
        Reader {
            roots: self.roots.read().expect("roots lock").clone(),
            git: GitSettings {
                cache_dir: self.settings.data_dir.join("git"),
                timeout: self.settings.git_timeout,
                max_bytes: self.settings.git_max_bytes,
            },
            limits: YamlLimits {
                max_bytes: self.settings.max_file_bytes,
                ..YamlLimits::default()
            },
            rules: self.settings.rules.clone(),
        }
    }

    /// The folders file locations may read from now.
    pub fn allowed_roots(&self) -> Vec<PathBuf> {
        self.roots.read().expect("roots lock").roots().to_vec()
    }

    /// Makes the configured locations (flags, `paved.yaml`) the config locations in the
    /// store: new ones are added and all are due for a refresh now; dropped ones are removed
    /// with their entities by [`CatalogService::remove_unconfigured_locations`] (the refresh
    /// loop's first step). When no allowed roots are configured, the folders of these file
    /// locations become the allowed roots.
    pub async fn register_config_locations(
        &self,
        locations: &[LocationSpec],
    ) -> CatalogResult<Vec<StoredLocation>> {
        if self.settings.allowed_roots.is_empty() {
            let mut roots = self.roots.write().expect("roots lock");
            for spec in locations.iter().filter(|l| l.kind == "file") {
                let path = std::path::Path::new(&spec.target);
                let folder = if path.is_dir() {
                    path
                } else {
                    path.parent().unwrap_or(path)
                };
                roots.add(folder);
            }
        }
        let mut stored = Vec::new();
        for spec in locations {
            spec.parse()?;
            let location = self
                .store
                .add_location(NewLocation {
                    kind: spec.kind.clone(),
                    target: spec.target.clone(),
                    origin: LocationOrigin::Config,
                })
                .await?;
            self.store
                .schedule_location_refresh(&location.id, Duration::ZERO)
                .await?;
            stored.push(location);
        }
        let keep: Vec<LocationId> = stored.iter().map(|l| l.id.clone()).collect();
        *self.configured.lock().expect("configured lock") = Some(keep);
        Ok(stored)
    }

    /// Removes, with their entities, the locations that came from the configuration but are
    /// no longer in it (as registered last by [`CatalogService::register_config_locations`]).
    /// The refresh loop does it before its first round, so that a start does not wait for it
    /// (47 s for a location of 100k entities). Returns how many locations went.
    pub async fn remove_unconfigured_locations(&self) -> CatalogResult<usize> {
        let Some(keep) = self.configured.lock().expect("configured lock").take() else {
            return Ok(0);
        };
        let started = std::time::Instant::now();
        let removed = self.store.retain_config_locations(&keep).await?;
        if removed > 0 {
            tracing::info!(
                removed,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "locations no longer in the configuration removed, with their entities"
            );
        }
        Ok(removed)
    }

    /// Runs until the process ends: first removes the locations dropped from the
    /// configuration, then every second claims the locations whose refresh is due (any
    /// replica may take any of them) and reads them again.
    pub fn spawn_refresh_loop(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        self.settled.send_replace(false);
        tokio::spawn(async move {
            if let Err(e) = self.remove_unconfigured_locations().await {
                tracing::warn!(error = %e, "cannot remove the locations no longer configured");
            }
            let lease = (self.settings.git_timeout * 2).max(Duration::from_secs(60));
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // After a round that refreshed locations the next claim follows at once (once, so
            // a location due again at once is still claimed once a second), and the loop
            // reports itself settled as soon as it has caught up.
            let mut claim_at_once = false;
            loop {
                let ticked = !std::mem::take(&mut claim_at_once);
                if ticked {
                    tick.tick().await;
                }
                let due = match self.store.claim_due_locations(lease, 4).await {
                    Ok(due) => due,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot claim due locations");
                        continue;
                    }
                };
                if due.is_empty() {
                    self.settled
                        .send_if_modified(|settled| !std::mem::replace(settled, true));
                }
                claim_at_once = ticked && !due.is_empty();
                for location in due {
                    match self.refresh_location(&location.id).await {
                        Ok(outcome) => tracing::info!(
                            location = %location.target,
                            added = outcome.added,
                            updated = outcome.updated,
                            orphaned = outcome.orphaned,
                            "location refreshed"
                        ),
                        Err(e) => {
                            tracing::warn!(location = %location.target, error = %e, "refresh failed")
                        }
                    }
                    if let Err(e) = self
                        .store
                        .schedule_location_refresh(&location.id, self.settings.refresh_interval)
                        .await
                    {
                        tracing::warn!(error = %e, "cannot schedule the next refresh");
                    }
                }
            }
        })
    }

    pub fn settings(&self) -> &CatalogSettings {
        &self.settings
    }

    /// Waits until the refresh loop has caught up with the locations due when it started (a
    /// round found none due), or at most `limit`; at once without a refresh loop. Work that
    /// reads the whole catalog at start (the search index build) waits for it, so that the
    /// two do not hold their memory at the same time and the work reads the catalog as
    /// its locations provide it.
    pub async fn settled(&self, limit: Duration) {
        let mut settled = self.settled.subscribe();
        let _ = tokio::time::timeout(limit, settled.wait_for(|settled| *settled)).await;
    }

    /// Ready = the store answers (migrations ran when it was opened).
    pub async fn ready(&self) -> CatalogResult<()> {
        Ok(self.store.ping().await?)
    }

    /// Closes the store at shutdown (after the server and the refresh loop stopped).
    pub async fn close(&self) {
        self.store.close().await;
    }

    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }

    // ---- reads ------------------------------------------------------------------------

    pub async fn entity_by_ref(&self, entity: &EntityRef) -> CatalogResult<Option<RawEntity>> {
        Ok(self.store.entity_by_ref(entity).await?)
    }

    pub async fn entity_by_uid(&self, uid: &str) -> CatalogResult<Option<RawEntity>> {
        Ok(self.store.entity_by_uid(uid).await?)
    }

    pub async fn entities_by_refs(
        &self,
        refs: &[EntityRef],
    ) -> CatalogResult<Vec<Option<RawEntity>>> {
        Ok(self.store.entities_by_refs(refs).await?)
    }

    pub async fn query_entities(&self, query: &EntityQuery) -> CatalogResult<EntityPage> {
        Ok(self.store.query_entities(query).await?)
    }

    pub async fn facets(
        &self,
        facets: &[String],
        filter: Option<&EntityFilter>,
    ) -> CatalogResult<BTreeMap<String, Vec<FacetCount>>> {
        Ok(self.store.facets(facets, filter).await?)
    }

    pub async fn ancestry(&self, entity: &EntityRef) -> CatalogResult<Ancestry> {
        self.store
            .ancestry(entity)
            .await?
            .ok_or_else(|| CatalogError::NotFound(format!("no entity named '{entity}'")))
    }

    pub async fn delete_entity_by_uid(&self, uid: &str) -> CatalogResult<()> {
        if self.store.delete_entity_by_uid(uid).await? {
            Ok(())
        } else {
            Err(CatalogError::NotFound(format!(
                "no entity with uid '{uid}'"
            )))
        }
    }

    pub async fn processing_errors(&self) -> CatalogResult<Vec<StoredProcessingError>> {
        Ok(self.store.processing_errors().await?)
    }

    pub async fn count_by_kind(&self) -> CatalogResult<BTreeMap<String, u64>> {
        Ok(self.store.count_by_kind().await?)
    }

    /// The latest change events, newest first.
    /// Deletes change events older than `older_than` (keeping the newest).
    pub async fn prune_changes(&self, older_than: Duration) -> CatalogResult<u64> {
        Ok(self.store.prune_changes(older_than).await?)
    }

    /// Deletes audit entries older than `older_than`.
    pub async fn prune_audit_log(&self, older_than: Duration) -> CatalogResult<u64> {
        Ok(self.store.prune_audit_log(older_than).await?)
    }

    pub async fn recent_changes(&self, limit: usize) -> CatalogResult<Vec<ChangeEvent>> {
        Ok(self.store.recent_changes(limit).await?)
    }

    /// Change events after `after_sequence`, oldest first, at most `limit`: what followers of
    /// the catalog (the search index, documentation builds) tail to stay current without
    /// reading everything again.
    pub async fn changes_since(
        &self,
        after_sequence: i64,
        limit: usize,
    ) -> CatalogResult<Vec<ChangeEvent>> {
        Ok(self.store.changes_since(after_sequence, limit).await?)
    }

    /// The sequence of the oldest change event still kept (None when there is none). A
    /// follower whose cursor is older than this by more than one event missed pruned
    /// events and must read everything again.
    pub async fn oldest_change_sequence(&self) -> CatalogResult<Option<i64>> {
        Ok(self
            .store
            .changes_since(0, 1)
            .await?
            .first()
            .map(|c| c.sequence))
    }

    /// Records a mutation in the audit log. The mutation has happened already, so a failure
    /// here is logged loudly rather than undoing it.
    pub async fn record_audit(&self, entry: NewAuditEntry) {
        let action = entry.action.clone();
        if let Err(error) = self.store.append_audit(entry).await {
            tracing::error!(%action, error = %error, "could not write the audit log entry");
        }
    }

    /// Audit entries, newest first.
    pub async fn audit_log(
        &self,
        limit: usize,
        before_id: Option<i64>,
    ) -> CatalogResult<Vec<AuditEntry>> {
        Ok(self.store.audit_log(limit, before_id).await?)
    }

    /// The catalog's version: the sequence of its latest change (0 for an empty catalog).
    /// Caches of derived data compare it to know whether they are stale.
    pub async fn version(&self) -> CatalogResult<i64> {
        Ok(self
            .store
            .recent_changes(1)
            .await?
            .first()
            .map_or(0, |c| c.sequence))
    }

    // ---- locations --------------------------------------------------------------------

    pub async fn locations(&self) -> CatalogResult<Vec<StoredLocation>> {
        Ok(self.store.list_locations().await?)
    }

    pub async fn location(&self, id: &LocationId) -> CatalogResult<StoredLocation> {
        self.store
            .get_location(id)
            .await?
            .ok_or_else(|| CatalogError::NotFound(format!("no location with id '{id}'")))
    }

    pub async fn location_by_entity(&self, entity: &EntityRef) -> CatalogResult<StoredLocation> {
        self.store
            .location_of_entity(entity)
            .await?
            .ok_or_else(|| CatalogError::NotFound(format!("no location provides '{entity}'")))
    }

    pub async fn delete_location(&self, id: &LocationId) -> CatalogResult<()> {
        if self.store.delete_location(id).await? {
            Ok(())
        } else {
            Err(CatalogError::NotFound(format!(
                "no location with id '{id}'"
            )))
        }
    }

    /// Registers a location (`kind` is `file` or `url`) and reads it at once. With `dry_run`
    /// nothing is stored: the entities it would provide are returned.
    pub async fn add_location(
        &self,
        kind: &str,
        target: &str,
        dry_run: bool,
    ) -> CatalogResult<AddLocationOutcome> {
        let spec = LocationSpec::new(kind, target);
        match spec.parse()? {
            crate::location::ParsedTarget::File(path) => self.check_file_target_allowed(&path)?,
            crate::location::ParsedTarget::Git(git) => {
                if let Some(repository) = git.local_repository() {
                    self.check_file_target_allowed(&repository)?;
                }
            }
        }
        let existing = self
            .store
            .list_locations()
            .await?
            .into_iter()
            .find(|l| l.kind == spec.kind && l.target == spec.target);
        if existing.is_some() && !dry_run {
            return Err(CatalogError::Conflict(format!(
                "location {} is already registered",
                spec.display()
            )));
        }
        let id = existing
            .as_ref()
            .map(|l| l.id.clone())
            .unwrap_or(LocationId(String::new()));
        let reading = self.reader().read_location(&spec).await;
        let errors: Vec<Diagnostic> = reading
            .end
            .errors
            .iter()
            .map(|e| e.diagnostic.clone())
            .collect();
        if !reading.end.complete {
            // Like Backstage, a location that cannot be read is not registered.
            let reason = errors
                .iter()
                .find(|d| d.is_error())
                .map(|d| d.message.clone())
                .unwrap_or_else(|| "it could not be read".into());
            return Err(CatalogError::NotFound(format!(
                "cannot register {}: {reason}",
                spec.display()
            )));
        }
        if dry_run {
            let location = existing.clone().unwrap_or(StoredLocation {
                id,
                kind: spec.kind.clone(),
                target: spec.target.clone(),
                origin: LocationOrigin::Api,
                created_at: 0,
                refreshed_at: None,
            });
            return Ok(AddLocationOutcome {
                location,
                entities: reading
                    .entities
                    .iter()
                    .filter_map(|e| serde_json::from_str(&e.json).ok())
                    .collect(),
                exists: Some(existing.is_some()),
                errors,
            });
        }
        let location = self
            .store
            .add_location(NewLocation {
                kind: spec.kind.clone(),
                target: spec.target.clone(),
                origin: LocationOrigin::Api,
            })
            .await?;
        let refs: Vec<EntityRef> = reading
            .entities
            .iter()
            .map(|e| e.entity_ref.clone())
            .collect();
        self.apply_parts(&location.id, reading.into_parts()).await?;
        self.store
            .schedule_location_refresh(&location.id, self.settings.refresh_interval)
            .await?;
        let entities = self
            .store
            .entities_by_refs(&refs)
            .await?
            .into_iter()
            .flatten()
            .filter_map(|raw| serde_json::from_str(&raw.json).ok())
            .collect();
        Ok(AddLocationOutcome {
            location,
            entities,
            exists: None,
            errors,
        })
    }

    /// A file location registered through the API must lie inside the allowed roots (the
    /// glob's fixed prefix, for a glob).
    fn check_file_target_allowed(&self, path: &std::path::Path) -> CatalogResult<()> {
        let roots = self.roots.read().expect("roots lock");
        roots.check(&crate::location::glob_base(path)).map(|_| ())
    }

    /// Reads one location again now, streaming the reading to the store as it goes: YAML
    /// processing overlaps the database writes, and memory holds a few parts, not the
    /// whole location.
    pub async fn refresh_location(&self, id: &LocationId) -> CatalogResult<ApplyOutcome> {
        let location = self.location(id).await?;
        let spec = LocationSpec::new(location.kind, location.target);
        let reader = self.reader();
        let (sender, parts) = tokio::sync::mpsc::channel(PARTS_IN_FLIGHT);
        let reading = reader.read_location_parts(&spec, sender);
        let applying = self.store.apply_location_parts(id, parts);
        let ((), outcome) = tokio::join!(reading, applying);
        Ok(outcome?)
    }

    /// `POST /refresh {entityRef}`: reads again the file that defines the entity when that
    /// is enough, else the whole location that provides it. As Backstage refreshes an entity
    /// and its ancestors, not its siblings, one edited file of a large location is visible
    /// in the time it takes to read that file.
    pub async fn refresh_entity(&self, entity: &EntityRef) -> CatalogResult<ApplyOutcome> {
        let location = self.location_by_entity(entity).await?;
        if let Some(outcome) = self.refresh_entity_file(&location, entity).await? {
            return Ok(outcome);
        }
        self.refresh_location(&location.id).await
    }

    /// Reads again only the file an entity came from. `None` (read the whole location) for
    /// `url` locations, Location entities and orphans, and when the file cannot stand alone
    /// (see [`Reader::read_one_file`]).
    async fn refresh_entity_file(
        &self,
        location: &StoredLocation,
        entity: &EntityRef,
    ) -> CatalogResult<Option<ApplyOutcome>> {
        if location.kind != "file" || entity.kind().eq_ignore_ascii_case("location") {
            return Ok(None);
        }
        let Some(raw) = self.store.entity_by_ref(entity).await? else {
            return Ok(None);
        };
        let Ok(stored) = serde_json::from_str::<Value>(&raw.json) else {
            return Ok(None);
        };
        let annotations = &stored["metadata"]["annotations"];
        if annotations[annotation::ORPHAN].as_str() == Some("true") {
            return Ok(None);
        }
        let Some(file) = annotations[annotation::MANAGED_BY_LOCATION]
            .as_str()
            .and_then(|m| m.strip_prefix("file:"))
        else {
            return Ok(None);
        };
        let Some(ancestry) = self.store.ancestry(entity).await? else {
            return Ok(None);
        };
        let Some(parent) = ancestry
            .items
            .first()
            .and_then(|item| item.parent_entity_refs.first())
        else {
            return Ok(None);
        };
        let spec = LocationSpec::new(location.kind.clone(), location.target.clone());
        let Some(parts) = self.reader().read_one_file(&spec, file, parent).await else {
            return Ok(None);
        };
        Ok(Some(self.apply_parts(&location.id, parts).await?))
    }

    /// Applies a reading held in memory.
    async fn apply_parts(
        &self,
        location_id: &LocationId,
        parts: Vec<SnapshotPart>,
    ) -> CatalogResult<ApplyOutcome> {
        let (sender, receiver) = tokio::sync::mpsc::channel(parts.len().max(1));
        for part in parts {
            // The receiver is right here and the channel has room for every part.
            let _ = sender.try_send(part);
        }
        drop(sender);
        Ok(self
            .store
            .apply_location_parts(location_id, receiver)
            .await?)
    }

    /// `POST /validate-entity`: validates an entity as if read from `location` (a
    /// `type:target` string), without storing it.
    pub fn validate_entity(&self, entity: &Value, location: &str) -> ValidationReport {
        let _ = location;
        let mut errors = paved_model::validation::validate_entity(entity);
        if errors.is_empty()
            && let Some(parsed) = paved_model::Entity::from_value(entity.clone())
        {
            errors.extend(paved_model::relations::emit_relations(&parsed).1);
        }
        errors.retain(Diagnostic::is_error);
        ValidationReport { errors }
    }
}
