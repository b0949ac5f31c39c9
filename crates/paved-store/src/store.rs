//! `SqlStore`: the one `CatalogStore` implementation, for SQLite and PostgreSQL: sqlx pools on
//! PostgreSQL; on SQLite sqlx read connections, rusqlite lookups (`points`) and one rusqlite
//! writer (`lite`). Connection set-up, locations, reads and deletes live here; ingestion and
//! stitching in `apply`, filtered queries and facets in `query`.

use crate::apply;
use crate::lite::LiteWriter;
use crate::points::PointReaders;
use crate::query;
use crate::readers::{ReadConnection, Readers, SqliteReaders};
use crate::sql::Row;
use crate::sql::{Backend, Sql, Writer, db_error, get};
use crate::*;
use paved_model::Diagnostic;
use sqlx::AnyConnection;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, AssertSqlSafe, Connection, Executor};
use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub(crate) use crate::sql::IN_CHUNK;

/// The SQLite writer's page cache, in KiB.
pub(crate) const WRITER_CACHE_KIB: u32 = 24 * 1024;

/// Each SQLite read connection's page cache, in KiB.
pub(crate) const READER_CACHE_KIB: u32 = 4096;

/// How long a SQLite connection waits for a lock before it fails.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// SQLite read connections at most: two per core, four to eight. Each one is a worker
/// thread; on two cores eight of them served lookups by name no faster than four, with a
/// p99 two to three times longer (docs/PERFORMANCE.md).
fn sqlite_readers() -> usize {
    (2 * apply::cores()).max(4)
}

/// Where writes go. On SQLite a single connection (see `lite`): SQLite has one writer at a
/// time anyway, and queueing for it is cheaper than retrying on `SQLITE_BUSY`.
enum Writes {
    Postgres(AnyPool),
    Sqlite(LiteWriter),
}

pub(crate) struct SqlStore {
    pub(crate) backend: Backend,
    /// Reads. On PostgreSQL the pool that also writes.
    pub(crate) reader: Readers,
    /// Writes.
    writes: Writes,
    /// SQLite: lookups of single entities on the calling thread.
    points: Option<PointReaders>,
    /// The checkpoint running after a large apply (SQLite), awaited at close.
    checkpoint: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// An apply that stitched more entities than this is checkpointed in the background.
const LARGE_APPLY: u64 = 1000;

pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 4)
}

impl SqlStore {
    pub(crate) async fn connect(url: &str) -> StoreResult<SqlStore> {
        sqlx::any::install_default_drivers();
        let store = if url.starts_with("sqlite:") {
            Self::connect_sqlite(url).await?
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            POSTGRES_MIGRATIONS
                .run(&pool)
                .await
                .map_err(|e| StoreError::Unavailable(format!("applying migrations: {e}")))?;
            SqlStore {
                backend: Backend::Postgres,
                reader: Readers::Pool(pool.clone()),
                writes: Writes::Postgres(pool),
                points: None,
                checkpoint: std::sync::Mutex::new(None),
            }
        } else {
            return Err(StoreError::Invalid(format!(
                "unsupported database URL {url:?}: expected sqlite://… or postgres://…"
            )));
        };
        let mut tx = store.begin_write().await?;
        let reindexed = apply::rebuild_field_index(&mut tx, store.backend).await?;
        tx.commit().await?;
        if reindexed > 0 {
            tracing::info!(
                entities = reindexed,
                "field index written again in its new form"
            );
        }
        Ok(store)
    }

    async fn connect_sqlite(url: &str) -> StoreResult<SqlStore> {
        // Create the file when missing unless the URL says otherwise.
        let url = if url.contains("mode=") {
            url.to_string()
        } else if url.contains('?') {
            format!("{url}&mode=rwc")
        } else {
            format!("{url}?mode=rwc")
        };
        let file = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
            .map_err(|e| StoreError::Invalid(format!("database URL {url:?}: {e}")))?
            .get_filename()
            .to_path_buf();
        // Every connection opens the file by name: an in-memory database would be a
        // different one for each.
        if file.as_os_str() == ":memory:" || url.contains(":memory:") {
            return Err(StoreError::Invalid(format!(
                "database URL {url:?}: an in-memory SQLite database is not supported; name a file"
            )));
        }
        if url.contains("mode=ro") {
            return Err(StoreError::Invalid(format!(
                "database URL {url:?}: paved writes to its database; open it read-write"
            )));
        }
        // The writer first: it creates the file with its page size before any table.
        let writer = LiteWriter::open(&file)?;
        let mut migrations = sqlx::AnyConnection::connect(&url)
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        SQLITE_MIGRATIONS
            .run(&mut migrations)
            .await
            .map_err(|e| StoreError::Unavailable(format!("applying migrations: {e}")))?;
        migrations.close().await.map_err(db_error)?;
        let reader = SqliteReaders::open(&url, sqlite_readers()).await?;
        let points = Some(PointReaders::open(&file)?);
        Ok(SqlStore {
            backend: Backend::Sqlite,
            reader: Readers::Sqlite(std::sync::Arc::new(reader)),
            writes: Writes::Sqlite(writer),
            points,
            checkpoint: std::sync::Mutex::new(None),
        })
    }

    /// Starts a write transaction. PostgreSQL writers from every replica take one advisory
    /// lock, so writes are serialized as on SQLite: change sequences commit in order and two
    /// replicas cannot both take the same entity.
    pub(crate) async fn begin_write(&self) -> StoreResult<Writer> {
        let mut tx = self.begin_write_unordered().await?;
        if let Writer::Tx(tx) = &mut tx {
            tx.execute("SELECT count(*) FROM (SELECT pg_advisory_xact_lock(70070001)) AS l")
                .await
                .map_err(db_error)?;
        }
        Ok(tx)
    }

    /// Starts a write transaction that other replicas' writes need not wait for (on
    /// PostgreSQL; on SQLite writes are one at a time all the same): for leases and the job
    /// queue, whose rows are claimed with `SKIP LOCKED`.
    pub(crate) async fn begin_write_unordered(&self) -> StoreResult<Writer> {
        match &self.writes {
            Writes::Postgres(pool) => Ok(Writer::Tx(pool.begin().await.map_err(db_error)?)),
            Writes::Sqlite(writer) => {
                let mut session = writer.session().await?;
                session.begin().await?;
                Ok(Writer::Lite(session))
            }
        }
    }

    /// A connection for a single-statement write that needs no transaction.
    pub(crate) async fn writer_connection(&self) -> StoreResult<Writer> {
        match &self.writes {
            Writes::Postgres(pool) => Ok(Writer::Pooled(pool.acquire().await.map_err(db_error)?)),
            Writes::Sqlite(writer) => Ok(Writer::Lite(writer.session().await?)),
        }
    }

    pub(crate) async fn read(&self) -> StoreResult<ReadConnection> {
        self.reader.acquire().await
    }

    /// One live entity's final JSON and parent ref, by `column` (`entity_ref` or `uid`). On
    /// SQLite on the calling thread (see `points`); otherwise through `conn`, a read
    /// connection taken on first use and kept for the caller's next lookup.
    async fn lookup(
        &self,
        conn: &mut Option<ReadConnection>,
        column: &'static str,
        value: &str,
    ) -> StoreResult<Option<(String, Option<String>)>> {
        let select =
            "SELECT final_json, parent_ref FROM entities WHERE final_json IS NOT NULL AND ";
        if let Some(points) = &self.points {
            return points.row(&format!("{select}{column} = ?1"), [value], |row| {
                Ok((row.get(0)?, row.get(1)?))
            });
        }
        let conn = match conn {
            Some(conn) => conn,
            None => conn.insert(self.read().await?),
        };
        let mut sql = Sql::new(select);
        sql.push(column).push(" = ").bind(value);
        match sql.fetch_optional(conn).await? {
            Some(row) => Ok(Some((get(&row, 0)?, get(&row, 1)?))),
            None => Ok(None),
        }
    }
}

/// The pragmas of a SQLite read connection (the writer's are in `lite`).
pub(crate) async fn sqlite_reader_pragmas(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    // WAL lets readers run beside the writer; NORMAL sync is durable across application
    // crashes (a power cut may lose the last transactions, never corrupt the file).
    conn.execute("PRAGMA journal_mode = WAL").await?;
    conn.execute("PRAGMA synchronous = NORMAL").await?;
    conn.execute("PRAGMA foreign_keys = ON").await?;
    conn.execute(AssertSqlSafe(format!(
        "PRAGMA busy_timeout = {}",
        BUSY_TIMEOUT.as_millis()
    )))
    .await?;
    conn.execute("PRAGMA temp_store = MEMORY").await?;
    conn.execute(AssertSqlSafe(format!(
        "PRAGMA cache_size = -{READER_CACHE_KIB}"
    )))
    .await?;
    Ok(())
}

const LOCATION_COLUMNS: &str = "id, kind, target, origin, created_at, refreshed_at";

fn location_from_row(row: &Row) -> StoreResult<StoredLocation> {
    let origin: String = get(row, 3)?;
    Ok(StoredLocation {
        id: LocationId(get(row, 0)?),
        kind: get(row, 1)?,
        target: get(row, 2)?,
        origin: if origin == "config" {
            LocationOrigin::Config
        } else {
            LocationOrigin::Api
        },
        created_at: get(row, 4)?,
        refreshed_at: get(row, 5)?,
    })
}

fn raw(json: String) -> RawEntity {
    RawEntity { json }
}

/// Removes entities by id with their relations and search rows, appends their removal
/// events, and returns the refs of surviving entities whose relations came from them (to be
/// re-stitched).
pub(crate) async fn remove_entities(
    conn: &mut Writer,
    backend: Backend,
    ids: &[i64],
) -> StoreResult<Vec<String>> {
    let now = now_millis();
    let mut neighbours = HashSet::new();
    let mut removed = HashSet::new();
    // Removing a large share of the catalog (a location of 100k entities: 55 s) deletes
    // millions of field index and relation rows at random places of their secondary
    // indexes; as a large ingestion does, those indexes go meanwhile and are built again
    // from what remains. The rows are found through the indexes kept: the field index's
    // clustered key and `relations_originator`.
    let started = std::time::Instant::now();
    let deferred = if apply::is_bulk_now(conn, backend, ids.len()).await? {
        // Long enough (tens of seconds at 100k) that whoever asked should see it is under way.
        tracing::info!(
            entities = ids.len(),
            "bulk removal: indexes dropped, to be built again at the end"
        );
        let mut statements = apply::defer_indexes(conn, "search", &[]).await?;
        statements
            .extend(apply::defer_indexes(conn, "relations", &["relations_originator"]).await?);
        Some(statements)
    } else {
        None
    };
    for chunk in ids.chunks(IN_CHUNK) {
        // The entities' relation and field index rows go first: those tables have no foreign
        // key to cascade (see the migration that dropped them).
        let mut sql = Sql::new("DELETE FROM relations WHERE originating_entity_id IN ");
        sql.bind_list(chunk.iter().copied())
            .push(" RETURNING source_ref");
        for row in sql.fetch_all(conn).await? {
            neighbours.insert(get::<String>(&row, 0)?);
        }
        let mut sql = Sql::new("DELETE FROM search WHERE entity_id IN ");
        sql.bind_list(chunk.iter().copied());
        sql.execute(conn).await?;
        let mut sql = Sql::new("DELETE FROM entities WHERE id IN ");
        sql.bind_list(chunk.iter().copied())
            .push(" RETURNING entity_ref");
        let mut refs = Vec::new();
        for row in sql.fetch_all(conn).await? {
            refs.push(get::<String>(&row, 0)?);
        }
        let changes: Vec<(&str, Option<&str>)> = refs.iter().map(|r| (r.as_str(), None)).collect();
        apply::append_changes(conn, backend, &changes, now).await?;
        removed.extend(refs);
    }
    if let Some(statements) = deferred {
        apply::create_indexes(conn, statements).await?;
        tracing::info!(
            entities = ids.len(),
            total_ms = started.elapsed().as_millis() as u64,
            "bulk removal"
        );
    }
    Ok(neighbours
        .into_iter()
        .filter(|r| !removed.contains(r))
        .collect())
}

impl SqlStore {
    /// Deletes locations (and everything they provided) inside an open transaction.
    async fn delete_locations_in(
        &self,
        conn: &mut Writer,
        location_ids: &[String],
    ) -> StoreResult<u64> {
        let mut restitch = Vec::new();
        let mut deleted = 0;
        for location_id in location_ids {
            let mut sql = Sql::new("SELECT id FROM entities WHERE location_id = ");
            sql.bind(location_id.as_str());
            let ids = sql
                .fetch_all(conn)
                .await?
                .iter()
                .map(|row| get::<i64>(row, 0))
                .collect::<StoreResult<Vec<i64>>>()?;
            let mut sql = Sql::new(
                "SELECT DISTINCT entity_ref FROM processing_errors WHERE entity_ref IS NOT NULL AND location_id = ",
            );
            sql.bind(location_id.as_str());
            for row in sql.fetch_all(conn).await? {
                restitch.push(get::<String>(&row, 0)?);
            }
            restitch.extend(remove_entities(conn, self.backend, &ids).await?);
            let mut sql = Sql::new("DELETE FROM locations WHERE id = ");
            sql.bind(location_id.as_str());
            deleted += sql.execute(conn).await?;
        }
        apply::stitch_refs(conn, self.backend, restitch).await?;
        Ok(deleted)
    }
}

#[async_trait]
impl CatalogStore for SqlStore {
    fn backend(&self) -> &'static str {
        self.backend.name()
    }

    async fn ping(&self) -> StoreResult<()> {
        let mut conn = self.read().await?;
        Sql::new("SELECT 1").fetch_optional(&mut conn).await?;
        Ok(())
    }

    async fn add_location(&self, new: NewLocation) -> StoreResult<StoredLocation> {
        let mut tx = self.begin_write().await?;
        let mut sql = Sql::new(&format!(
            "SELECT {LOCATION_COLUMNS} FROM locations WHERE kind = "
        ));
        sql.bind(new.kind.as_str())
            .push(" AND target = ")
            .bind(new.target.as_str());
        if let Some(row) = sql.fetch_optional(&mut tx).await? {
            let existing = location_from_row(&row)?;
            if new.origin == LocationOrigin::Config && existing.origin == LocationOrigin::Config {
                return Ok(existing);
            }
            return Err(StoreError::Conflict(format!(
                "Location {}:{} already exists",
                new.kind, new.target
            )));
        }
        let location = StoredLocation {
            id: LocationId(uuid::Uuid::new_v4().to_string()),
            kind: new.kind,
            target: new.target,
            origin: new.origin,
            created_at: now_millis(),
            refreshed_at: None,
        };
        let mut sql = Sql::new(
            "INSERT INTO locations (id, kind, target, origin, created_at, next_refresh_at) VALUES (",
        );
        sql.bind(location.id.0.as_str())
            .push(", ")
            .bind(location.kind.as_str())
            .push(", ")
            .bind(location.target.as_str())
            .push(", ")
            .bind(location.origin.as_str())
            .push(", ")
            .bind(location.created_at)
            .push(", ")
            .bind(location.created_at)
            .push(")");
        sql.execute(&mut tx).await?;
        tx.commit().await?;
        Ok(location)
    }

    async fn list_locations(&self) -> StoreResult<Vec<StoredLocation>> {
        let mut conn = self.read().await?;
        let sql = Sql::new(&format!(
            "SELECT {LOCATION_COLUMNS} FROM locations ORDER BY created_at, id"
        ));
        sql.fetch_all(&mut conn)
            .await?
            .iter()
            .map(location_from_row)
            .collect()
    }

    async fn get_location(&self, id: &LocationId) -> StoreResult<Option<StoredLocation>> {
        let mut conn = self.read().await?;
        let mut sql = Sql::new(&format!(
            "SELECT {LOCATION_COLUMNS} FROM locations WHERE id = "
        ));
        sql.bind(id.0.as_str());
        sql.fetch_optional(&mut conn)
            .await?
            .as_ref()
            .map(location_from_row)
            .transpose()
    }

    async fn delete_location(&self, id: &LocationId) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let deleted = self
            .delete_locations_in(&mut tx, std::slice::from_ref(&id.0))
            .await?;
        tx.commit().await?;
        Ok(deleted > 0)
    }

    async fn retain_config_locations(&self, keep: &[LocationId]) -> StoreResult<usize> {
        let mut tx = self.begin_write().await?;
        let keep: HashSet<&str> = keep.iter().map(|id| id.0.as_str()).collect();
        let rows = Sql::new("SELECT id FROM locations WHERE origin = 'config'")
            .fetch_all(&mut tx)
            .await?;
        let mut dropped = Vec::new();
        for row in rows {
            let id: String = get(&row, 0)?;
            if !keep.contains(id.as_str()) {
                dropped.push(id);
            }
        }
        self.delete_locations_in(&mut tx, &dropped).await?;
        tx.commit().await?;
        Ok(dropped.len())
    }

    async fn location_of_entity(&self, entity: &EntityRef) -> StoreResult<Option<StoredLocation>> {
        let mut conn = self.read().await?;
        let mut sql = Sql::new(
            "SELECT l.id, l.kind, l.target, l.origin, l.created_at, l.refreshed_at \
             FROM entities e JOIN locations l ON l.id = e.location_id WHERE e.entity_ref = ",
        );
        sql.bind(entity.to_string());
        sql.fetch_optional(&mut conn)
            .await?
            .as_ref()
            .map(location_from_row)
            .transpose()
    }

    async fn claim_due_locations(
        &self,
        lease: Duration,
        limit: usize,
    ) -> StoreResult<Vec<StoredLocation>> {
        let now = now_millis();
        let mut tx = self.begin_write_unordered().await?;
        let mut sql = Sql::new("UPDATE locations SET lease_until = ");
        sql.bind(now.saturating_add(millis(lease)))
            .push(" WHERE id IN (SELECT id FROM locations WHERE next_refresh_at <= ")
            .bind(now)
            .push(" AND (lease_until IS NULL OR lease_until <= ")
            .bind(now)
            .push(") ORDER BY next_refresh_at, id LIMIT ")
            .bind(i64::try_from(limit).unwrap_or(i64::MAX));
        if self.backend == Backend::Postgres {
            // Another replica's claim in flight is skipped rather than waited for.
            sql.push(" FOR UPDATE SKIP LOCKED");
        }
        sql.push(&format!(") RETURNING {LOCATION_COLUMNS}"));
        let rows = sql.fetch_all(&mut tx).await?;
        tx.commit().await?;
        let mut claimed = rows
            .iter()
            .map(location_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        claimed.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(claimed)
    }

    async fn schedule_location_refresh(&self, id: &LocationId, after: Duration) -> StoreResult<()> {
        let mut tx = self.begin_write_unordered().await?;
        let mut sql = Sql::new("UPDATE locations SET lease_until = NULL, next_refresh_at = ");
        sql.bind(now_millis().saturating_add(millis(after)))
            .push(" WHERE id = ")
            .bind(id.0.as_str());
        let updated = sql.execute(&mut tx).await?;
        tx.commit().await?;
        if updated == 0 {
            return Err(StoreError::NotFound(format!("no location with id {id}")));
        }
        Ok(())
    }

    async fn close(&self) {
        let checkpoint = self
            .checkpoint
            .lock()
            .map(|mut slot| slot.take())
            .unwrap_or(None);
        if let Some(checkpoint) = checkpoint {
            let _ = checkpoint.await;
        }
        if let Some(points) = &self.points {
            points.close();
        }
        match &self.writes {
            Writes::Postgres(pool) => pool.close().await,
            // Folds the log into the database.
            Writes::Sqlite(writer) => writer.close().await,
        }
        self.reader.close().await;
    }

    async fn apply_location_snapshot(
        &self,
        snapshot: LocationSnapshot,
    ) -> StoreResult<ApplyOutcome> {
        let entities = snapshot
            .entities
            .iter()
            .map(EncodedEntity::encode)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Invalid(format!("encoding an entity: {e}")))?;
        let mut tx = self.begin_write().await?;
        let mut apply =
            apply::SnapshotApply::begin(&mut tx, self.backend, &snapshot.location_id).await?;
        apply.add_entities(&mut tx, entities).await?;
        let end = SnapshotEnd {
            complete: snapshot.complete,
            failed_files: snapshot.failed_files,
            retained: snapshot.retained,
            errors: snapshot.errors,
            only_file: None,
        };
        let outcome = apply.finish(&mut tx, end).await?;
        self.commit_apply(tx, &outcome).await?;
        Ok(outcome)
    }

    async fn apply_location_parts(
        &self,
        location_id: &LocationId,
        mut parts: tokio::sync::mpsc::Receiver<SnapshotPart>,
    ) -> StoreResult<ApplyOutcome> {
        let ended_early = || {
            StoreError::Invalid(format!(
                "the reading of location {location_id} ended before its end; nothing was stored"
            ))
        };
        // The write transaction starts with the first part, so a slow start of the reading
        // (a git clone) does not hold the writer.
        let mut part = parts.recv().await.ok_or_else(ended_early)?;
        let mut tx = self.begin_write().await?;
        let mut apply = apply::SnapshotApply::begin(&mut tx, self.backend, location_id).await?;
        let outcome = loop {
            match part {
                SnapshotPart::Entities(entities) => {
                    apply.add_entities(&mut tx, entities).await?;
                }
                SnapshotPart::End(end) => break apply.finish(&mut tx, end).await?,
            }
            part = parts.recv().await.ok_or_else(ended_early)?;
        };
        self.commit_apply(tx, &outcome).await?;
        Ok(outcome)
    }

    async fn entity_by_ref(&self, entity: &EntityRef) -> StoreResult<Option<RawEntity>> {
        let found = self
            .lookup(&mut None, "entity_ref", &entity.to_string())
            .await?;
        Ok(found.map(|(json, _)| raw(json)))
    }

    async fn entity_by_uid(&self, uid: &str) -> StoreResult<Option<RawEntity>> {
        let found = self.lookup(&mut None, "uid", uid).await?;
        Ok(found.map(|(json, _)| raw(json)))
    }

    async fn entities_by_refs(&self, refs: &[EntityRef]) -> StoreResult<Vec<Option<RawEntity>>> {
        let mut conn = self.read().await?;
        let wanted: Vec<String> = refs.iter().map(ToString::to_string).collect();
        let mut found = std::collections::HashMap::new();
        for chunk in wanted.chunks(IN_CHUNK) {
            let mut sql = Sql::new(
                "SELECT entity_ref, final_json FROM entities WHERE final_json IS NOT NULL AND entity_ref IN ",
            );
            sql.bind_list(chunk.iter().map(String::as_str));
            for row in sql.fetch_all(&mut conn).await? {
                found.insert(get::<String>(&row, 0)?, get::<String>(&row, 1)?);
            }
        }
        Ok(wanted
            .iter()
            .map(|r| found.get(r).cloned().map(raw))
            .collect())
    }

    async fn query_entities(&self, query: &EntityQuery) -> StoreResult<EntityPage> {
        let mut conn = self.read().await?;
        query::query_entities(&mut conn, self.backend, query).await
    }

    async fn facets(
        &self,
        facets: &[String],
        filter: Option<&EntityFilter>,
    ) -> StoreResult<BTreeMap<String, Vec<FacetCount>>> {
        let mut conn = self.read().await?;
        query::facets(&mut conn, self.backend, facets, filter).await
    }

    async fn ancestry(&self, entity: &EntityRef) -> StoreResult<Option<Ancestry>> {
        let mut conn = None;
        let mut items = Vec::new();
        let mut seen = HashSet::new();
        let mut next = Some(entity.to_string());
        while let Some(current) = next.take() {
            if !seen.insert(current.clone()) {
                break; // a cycle of parents: stop rather than loop
            }
            let found = self.lookup(&mut conn, "entity_ref", &current).await?;
            let Some((json, parent)) = found else {
                break;
            };
            let parent = parent.and_then(|p| EntityRef::parse_full(&p).ok());
            next = parent.as_ref().map(ToString::to_string);
            items.push(AncestryItem {
                entity: raw(json),
                parent_entity_refs: parent.into_iter().collect(),
            });
        }
        if items.is_empty() {
            return Ok(None);
        }
        Ok(Some(Ancestry {
            root_entity_ref: entity.clone(),
            items,
        }))
    }

    async fn delete_entity_by_uid(&self, uid: &str) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let mut sql = Sql::new("SELECT id FROM entities WHERE uid = ");
        sql.bind(uid);
        let Some(row) = sql.fetch_optional(&mut tx).await? else {
            return Ok(false);
        };
        let id: i64 = get(&row, 0)?;
        let neighbours = remove_entities(&mut tx, self.backend, &[id]).await?;
        apply::stitch_refs(&mut tx, self.backend, neighbours).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn processing_errors(&self) -> StoreResult<Vec<StoredProcessingError>> {
        let mut conn = self.read().await?;
        let rows = Sql::new(
            "SELECT p.location_id, l.target, p.entity_ref, p.diagnostic FROM processing_errors p \
             JOIN locations l ON l.id = p.location_id ORDER BY p.id",
        )
        .fetch_all(&mut conn)
        .await?;
        let mut errors = Vec::with_capacity(rows.len());
        for row in rows {
            let entity_ref: Option<String> = get(&row, 2)?;
            let diagnostic: String = get(&row, 3)?;
            errors.push(StoredProcessingError {
                location_id: LocationId(get(&row, 0)?),
                location_target: get(&row, 1)?,
                entity_ref: entity_ref.and_then(|r| EntityRef::parse_full(&r).ok()),
                diagnostic: serde_json::from_str::<Diagnostic>(&diagnostic)
                    .unwrap_or_else(|_| Diagnostic::error(diagnostic)),
            });
        }
        Ok(errors)
    }

    async fn count_by_kind(&self) -> StoreResult<BTreeMap<String, u64>> {
        let mut conn = self.read().await?;
        let rows =
            Sql::new("SELECT kind, COUNT(*) FROM entities WHERE etag IS NOT NULL GROUP BY kind")
                .fetch_all(&mut conn)
                .await?;
        let mut counts = BTreeMap::new();
        for row in rows {
            counts.insert(get::<String>(&row, 0)?, get::<i64>(&row, 1)?.max(0) as u64);
        }
        Ok(counts)
    }

    async fn changes_since(
        &self,
        after_sequence: i64,
        limit: usize,
    ) -> StoreResult<Vec<ChangeEvent>> {
        let mut sql =
            Sql::new("SELECT sequence, entity_ref, etag, at FROM changes WHERE sequence > ");
        sql.bind(after_sequence)
            .push(" ORDER BY sequence LIMIT ")
            .bind(i64::try_from(limit).unwrap_or(i64::MAX));
        self.change_events(sql).await
    }

    async fn append_audit(&self, entry: NewAuditEntry) -> StoreResult<()> {
        self.insert_audit_entry(entry).await
    }

    async fn audit_log(
        &self,
        limit: usize,
        before_id: Option<i64>,
    ) -> StoreResult<Vec<AuditEntry>> {
        self.select_audit_entries(limit, before_id).await
    }

    async fn prune_changes(&self, older_than: Duration) -> StoreResult<u64> {
        let mut conn = self.writer_connection().await?;
        let mut sql = Sql::new("DELETE FROM changes WHERE at < ");
        sql.bind(now_millis().saturating_sub(millis(older_than)))
            .push(" AND sequence < (SELECT MAX(sequence) FROM changes)");
        sql.execute(&mut conn).await
    }

    async fn prune_audit_log(&self, older_than: Duration) -> StoreResult<u64> {
        let mut conn = self.writer_connection().await?;
        let mut sql = Sql::new("DELETE FROM audit_log WHERE at < ");
        sql.bind(now_millis().saturating_sub(millis(older_than)));
        sql.execute(&mut conn).await
    }

    async fn recent_changes(&self, limit: usize) -> StoreResult<Vec<ChangeEvent>> {
        let mut sql = Sql::new(
            "SELECT sequence, entity_ref, etag, at FROM changes ORDER BY sequence DESC LIMIT ",
        );
        sql.bind(i64::try_from(limit).unwrap_or(i64::MAX));
        self.change_events(sql).await
    }
}

async fn restore_autocheckpoint(writer: &LiteWriter) {
    let restored = async {
        let mut session = writer.session().await?;
        Sql::new("PRAGMA wal_autocheckpoint = 1000")
            .execute(&mut session)
            .await
    };
    if let Err(e) = restored.await {
        tracing::warn!(error = %e, "cannot restore automatic checkpoints");
    }
}

/// Checkpoints the write-ahead log from a reader connection (PASSIVE: never blocks the
/// writer or readers) until every frame is in the database, retrying while readers hold old
/// snapshots, for at most ten minutes.
async fn checkpoint_whole_log(reader: &Readers) {
    let deadline = std::time::Instant::now() + Duration::from_secs(600);
    loop {
        let checkpoint = match reader.acquire().await {
            Ok(mut conn) => {
                Sql::new("PRAGMA wal_checkpoint(PASSIVE)")
                    .fetch_optional(&mut conn)
                    .await
            }
            Err(e) => {
                tracing::debug!(error = %e, "checkpoint after a large apply failed");
                return;
            }
        };
        match checkpoint {
            Ok(row) => {
                let (log, done) = match row {
                    Some(row) => (get(&row, 1).unwrap_or(-1), get(&row, 2).unwrap_or(-1)),
                    None => (-1, -1),
                };
                if log < 0 || done >= log {
                    return;
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "checkpoint after a large apply failed");
                return;
            }
        }
        if std::time::Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

impl SqlStore {
    /// Commits an apply. A large one on SQLite leaves the whole ingestion in the write-ahead
    /// log: instead of folding it into the database inside the commit (SQLite's automatic
    /// checkpoint, seconds for 100k entities, holding the only writer), a reader connection
    /// does it in the background, so the next write and the next start need not wait or
    /// replay it.
    async fn commit_apply(&self, mut tx: Writer, outcome: &ApplyOutcome) -> StoreResult<()> {
        let writer = match &self.writes {
            Writes::Sqlite(writer) if outcome.stitched > LARGE_APPLY => writer.clone(),
            _ => return tx.commit().await,
        };
        Sql::new("PRAGMA wal_autocheckpoint = 0")
            .execute(&mut tx)
            .await?;
        if let Err(e) = tx.commit().await {
            restore_autocheckpoint(&writer).await;
            return Err(e);
        }
        // Automatic checkpoints stay off until the background one has folded the whole log
        // in: otherwise the next small commit would do the rest of it, holding the writer for
        // seconds (the first refresh after a large ingestion waited 3 s).
        let reader = self.reader.clone();
        let handle = tokio::spawn(async move {
            checkpoint_whole_log(&reader).await;
            restore_autocheckpoint(&writer).await;
        });
        // An earlier one still running finishes on its own; close awaits the last.
        if let Ok(mut slot) = self.checkpoint.lock() {
            *slot = Some(handle);
        }
        Ok(())
    }

    async fn change_events(&self, sql: Sql) -> StoreResult<Vec<ChangeEvent>> {
        let mut conn = self.read().await?;
        let mut events = Vec::new();
        for row in sql.fetch_all(&mut conn).await? {
            let entity_ref: String = get(&row, 1)?;
            let Ok(entity_ref) = EntityRef::parse_full(&entity_ref) else {
                continue;
            };
            events.push(ChangeEvent {
                sequence: get(&row, 0)?,
                entity_ref,
                etag: get(&row, 2)?,
                at: get(&row, 3)?,
            });
        }
        Ok(events)
    }
}
