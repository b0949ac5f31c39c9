//! Ingestion: applying a location snapshot (upserts, conflicts, orphans, errors) and stitching
//! the entities whose final form may have changed. Everything runs on the caller's write
//! transaction, with multi-row statements so 100k entities cost a few hundred round trips.

use crate::graph::{RelationGraph, SealedGraph};
use crate::sql::IN_CHUNK;
use crate::sql::{
    Backend, EncodedRows, FieldIndexRow, Sql, build_insert_rows, get, insert_many, owned_chunks,
    run_statements,
};
use crate::sql::{Row, Writer};
use crate::store::now_millis;
use crate::*;
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use paved_model::entity::{Stitched, annotation, stitch_to_text};
use paved_model::search::keyed_search_rows;
use paved_model::{Diagnostic, Entity, Relation};
use std::sync::Arc;

/// Snapshot entities processed per round of statements: bounds the memory held for their
/// serialized forms.
const APPLY_CHUNK: usize = 1000;
/// Entities stitched per round: one query each for their rows, relations and errors.
const STITCH_CHUNK: usize = 500;

/// An entity row as the apply step needs it.
struct ExistingEntity {
    id: i64,
    location_id: String,
    orphan: bool,
    hash: String,
    spec_hash: String,
    generation: i64,
    uid: String,
}

const EXISTING_COLUMNS: &str =
    "id, entity_ref, location_id, orphan, hash, spec_hash, generation, uid";

fn existing_from_row(row: &Row) -> StoreResult<(String, ExistingEntity)> {
    Ok((
        get(row, 1)?,
        ExistingEntity {
            id: get(row, 0)?,
            location_id: get(row, 2)?,
            orphan: get::<i64>(row, 3)? != 0,
            hash: get(row, 4)?,
            spec_hash: get(row, 5)?,
            generation: get(row, 6)?,
            uid: get(row, 7)?,
        },
    ))
}

/// A snapshot entity ready to be written.
struct EntityRow {
    /// Its row's id: the row it replaces, or the next free one for a new row.
    id: i64,
    entity_ref: String,
    entity: EncodedEntity,
    /// The uid of the row it replaces; `None` for a new entity (a fresh one is made when the
    /// row is written).
    uid: Option<String>,
    generation: i64,
}

/// One location's reading being applied, part by part, on the caller's write transaction:
/// [`begin`](Self::begin), [`add_entities`](Self::add_entities) for each part in reading
/// order, [`finish`](Self::finish). It holds the refs seen so far and the refs to re-stitch,
/// never the entities themselves: stitching reads them back at the end, because relations
/// emitted by a later part may point at an entity of an earlier one.
pub(crate) struct SnapshotApply {
    location_id: String,
    outcome: ApplyOutcome,
    /// Conflict errors found on the way, stored with the reading's own errors at the end.
    errors: Vec<ProcessingError>,
    /// Every ref of the reading so far (conflicting ones too): the first one wins, and what
    /// is absent at the end becomes an orphan.
    seen: HashSet<String>,
    restitch: HashSet<String>,
    /// `kind:target` of other locations, for conflict messages.
    location_targets: HashMap<String, String>,
    backend: Backend,
    /// Entities in the store when the apply began, and entity rows written since.
    entities_before: usize,
    written: usize,
    /// Once the apply writes a large share of the catalog (SQLite only): the statements that
    /// create again the relation indexes dropped meanwhile (see [`defer_indexes`]).
    deferred_relation_indexes: Option<Vec<String>>,
    /// While every relation row whose source this apply stitches was written by the apply
    /// (it began on an empty catalog, so it replaces no row): those rows, so stitching need
    /// not read them back.
    graph: Option<RelationGraph>,
    /// The id the next new entity row gets: rows get their ids here rather than from the
    /// database, so a chunk's relation rows can be made before its entity rows are written.
    next_id: i64,
    /// The statements of the last chunk prepared, not yet run: they run while the next
    /// chunk is prepared (see [`SnapshotApply::add_chunk`]).
    pending: Vec<Sql>,
    started: std::time::Instant,
}

impl SnapshotApply {
    pub(crate) async fn begin(
        conn: &mut Writer,
        backend: Backend,
        location_id: &LocationId,
    ) -> StoreResult<SnapshotApply> {
        let mut sql = Sql::new("SELECT target FROM locations WHERE id = ");
        sql.bind(location_id.0.as_str());
        if sql.fetch_optional(conn).await?.is_none() {
            return Err(StoreError::NotFound(format!(
                "no location with id {location_id}"
            )));
        }
        let entities_before = entity_count(conn).await?;
        let row = Sql::new("SELECT COALESCE(MAX(id), 0) FROM entities")
            .fetch_optional(conn)
            .await?;
        let next_id = match row {
            Some(row) => get::<i64>(&row, 0)? + 1,
            None => 1,
        };
        Ok(SnapshotApply {
            location_id: location_id.0.clone(),
            outcome: ApplyOutcome::default(),
            errors: Vec::new(),
            seen: HashSet::new(),
            restitch: HashSet::new(),
            location_targets: HashMap::new(),
            backend,
            entities_before,
            written: 0,
            deferred_relation_indexes: None,
            graph: (entities_before == 0).then(RelationGraph::default),
            next_id,
            pending: Vec::new(),
            started: std::time::Instant::now(),
        })
    }

    /// Writes the entities of one part that are new or changed, with their relations.
    pub(crate) async fn add_entities(
        &mut self,
        conn: &mut Writer,
        entities: Vec<EncodedEntity>,
    ) -> StoreResult<()> {
        for chunk in owned_chunks(entities, APPLY_CHUNK) {
            self.add_chunk(conn, chunk).await?;
            if self.deferred_relation_indexes.is_none()
                && self.backend == Backend::Sqlite
                && is_bulk(self.written, self.entities_before)
            {
                // Relations written from here on (the chunk just prepared among them) are
                // appended without index maintenance; `finish` builds the index once.
                self.deferred_relation_indexes =
                    Some(defer_indexes(conn, "relations", &["relations_originator"]).await?);
            }
        }
        Ok(())
    }

    async fn add_chunk(
        &mut self,
        conn: &mut Writer,
        entities: Vec<EncodedEntity>,
    ) -> StoreResult<()> {
        let backend = self.backend;
        let location_id = self.location_id.clone();
        // The first of two entities with the same ref wins; the second is a conflict.
        let mut kept: Vec<(String, EncodedEntity)> = Vec::with_capacity(entities.len());
        for entity in entities {
            let entity_ref = entity.entity_ref.to_ref_string();
            if self.seen.insert(entity_ref.clone()) {
                kept.push((entity_ref, entity));
                continue;
            }
            let source = &entity.source;
            self.outcome.conflicts += 1;
            self.errors.push(ProcessingError {
                entity_ref: entity.parent.clone(),
                diagnostic: Diagnostic::error(format!(
                    "entity {entity_ref} is defined more than once in this location"
                ))
                .with_file(source.file.clone())
                .at(source.line, source.column),
            });
        }

        // What the database holds for these refs, from this location or another.
        let mut existing: HashMap<String, ExistingEntity> = HashMap::with_capacity(kept.len());
        // On a catalog that was empty the only rows are this apply's, each ref written once.
        let lookups: &[(String, EncodedEntity)] = if self.entities_before == 0 {
            &[]
        } else {
            &kept
        };
        for chunk in lookups.chunks(IN_CHUNK) {
            let mut sql = Sql::new(&format!(
                "SELECT {EXISTING_COLUMNS} FROM entities WHERE entity_ref IN "
            ));
            sql.bind_list(chunk.iter().map(|(r, _)| r.as_str()));
            for row in sql.fetch_all(conn).await? {
                let (entity_ref, row) = existing_from_row(&row)?;
                existing.insert(entity_ref, row);
            }
        }

        let mut rows: Vec<EntityRow> = Vec::with_capacity(kept.len());
        let mut replaced = Vec::new();
        for (entity_ref, entity) in kept {
            let previous = existing.get(&entity_ref);
            if let Some(previous) = previous
                && previous.location_id != location_id
                && !previous.orphan
            {
                let target = self.location_target(conn, &previous.location_id).await?;
                self.outcome.conflicts += 1;
                let source = &entity.source;
                self.errors.push(ProcessingError {
                    entity_ref: entity.parent.clone(),
                    diagnostic: Diagnostic::error(format!(
                        "entity {entity_ref} is already provided by location {target}"
                    ))
                    .with_file(source.file.clone())
                    .at(source.line, source.column),
                });
                continue;
            }
            let (id, uid, generation) = match previous {
                Some(previous)
                    if previous.location_id == location_id
                        && !previous.orphan
                        && previous.hash == entity.hash =>
                {
                    self.outcome.unchanged += 1;
                    continue;
                }
                Some(previous) => {
                    self.outcome.updated += 1;
                    let bump = i64::from(previous.spec_hash != entity.spec_hash);
                    replaced.push(previous.id);
                    (
                        previous.id,
                        Some(previous.uid.clone()),
                        previous.generation + bump,
                    )
                }
                None => {
                    self.outcome.added += 1;
                    let id = self.next_id;
                    self.next_id += 1;
                    (id, None, 1)
                }
            };
            self.restitch.insert(entity_ref.clone());
            rows.push(EntityRow {
                id,
                entity_ref,
                entity,
                uid,
                generation,
            });
        }
        self.written += rows.len();
        // The relations the replaced rows emitted go; their sources are stitched again.
        for chunk in replaced.chunks(IN_CHUNK) {
            let mut sql = Sql::new("DELETE FROM relations WHERE originating_entity_id IN ");
            sql.bind_list(chunk.iter().copied())
                .push(" RETURNING source_ref");
            for row in sql.fetch_all(conn).await? {
                self.restitch.insert(get(&row, 0)?);
            }
        }

        // The CPU work of writing this chunk (binding every value, the relation rows, the
        // held graph) is done while the database runs the first statement of the previous
        // chunk (its entity rows, the largest): polled first, that statement is on its way to
        // the database's thread before the preparation starts.
        let previous = std::mem::take(&mut self.pending);
        let restitch = &mut self.restitch;
        let graph = &mut self.graph;
        let (ran, prepared) = tokio::join!(run_statements(conn, previous), async {
            prepare_writes(backend, &location_id, rows, restitch, graph)
        });
        ran?;
        self.pending = prepared?;
        Ok(())
    }

    /// `kind:target` of a location, for conflict messages (its id if it is gone).
    async fn location_target(
        &mut self,
        conn: &mut Writer,
        location_id: &str,
    ) -> StoreResult<String> {
        if let Some(target) = self.location_targets.get(location_id) {
            return Ok(target.clone());
        }
        let mut sql = Sql::new("SELECT kind, target FROM locations WHERE id = ");
        sql.bind(location_id);
        let target = match sql.fetch_optional(conn).await? {
            Some(row) => format!("{}:{}", get::<String>(&row, 0)?, get::<String>(&row, 1)?),
            None => location_id.to_string(),
        };
        self.location_targets
            .insert(location_id.to_string(), target.clone());
        Ok(target)
    }

    /// Orphans what the location no longer provides, replaces its errors, and stitches
    /// every entity whose final form may have changed.
    pub(crate) async fn finish(
        mut self,
        conn: &mut Writer,
        end: SnapshotEnd,
    ) -> StoreResult<ApplyOutcome> {
        let backend = self.backend;
        run_statements(conn, std::mem::take(&mut self.pending)).await?;
        if backend == Backend::Postgres && self.outcome.added > 0 {
            // Rows get their ids from the apply; the identity column's sequence follows, so
            // a row inserted without an id would not take one already used.
            Sql::new(
                "SELECT setval(pg_get_serial_sequence('entities', 'id'), \
                 (SELECT MAX(id) FROM entities))",
            )
            .fetch_optional(conn)
            .await?;
        }
        let written_after = self.started.elapsed();
        if let Some(statements) = self.deferred_relation_indexes.take() {
            create_indexes(conn, statements).await?;
        }
        let now = now_millis();
        let location_id = self.location_id.as_str();
        // Entities this location no longer provides become orphans, unless the reading was
        // partial for them.
        if end.complete {
            let retained: HashSet<String> = end.retained.iter().map(ToString::to_string).collect();
            let failed: HashSet<&str> = end.failed_files.iter().map(String::as_str).collect();
            let mut sql = Sql::new(
                "SELECT id, entity_ref, source_file FROM entities WHERE orphan = 0 AND location_id = ",
            );
            sql.bind(location_id);
            if let Some(file) = &end.only_file {
                sql.push(" AND source_file = ").bind(file.as_str());
            }
            let mut orphaned = Vec::new();
            for row in sql.fetch_all(conn).await? {
                let entity_ref: String = get(&row, 1)?;
                let source_file: String = get(&row, 2)?;
                if self.seen.contains(&entity_ref)
                    || retained.contains(&entity_ref)
                    || failed.contains(source_file.as_str())
                {
                    continue;
                }
                orphaned.push(get::<i64>(&row, 0)?);
                self.restitch.insert(entity_ref);
            }
            for chunk in orphaned.chunks(IN_CHUNK) {
                let mut sql = Sql::new("UPDATE entities SET orphan = 1 WHERE id IN ");
                sql.bind_list(chunk.iter().copied());
                sql.execute(conn).await?;
            }
            self.outcome.orphaned = orphaned.len() as u64;
        }

        // This location's errors (about the file read, for a reading of one file) are
        // replaced; the entities they were and are pinned to change.
        match &end.only_file {
            None => {
                let mut sql = Sql::new("DELETE FROM processing_errors WHERE location_id = ");
                sql.bind(location_id).push(" RETURNING entity_ref");
                for row in sql.fetch_all(conn).await? {
                    if let Some(entity_ref) = get::<Option<String>>(&row, 0)? {
                        self.restitch.insert(entity_ref);
                    }
                }
            }
            Some(file) => {
                let mut sql = Sql::new(
                    "SELECT id, entity_ref, diagnostic FROM processing_errors WHERE location_id = ",
                );
                sql.bind(location_id);
                let mut about_file = Vec::new();
                for row in sql.fetch_all(conn).await? {
                    let diagnostic: String = get(&row, 2)?;
                    let Ok(diagnostic) = serde_json::from_str::<Diagnostic>(&diagnostic) else {
                        continue;
                    };
                    if diagnostic.file.as_deref() != Some(file.as_str()) {
                        continue;
                    }
                    about_file.push(get::<i64>(&row, 0)?);
                    if let Some(entity_ref) = get::<Option<String>>(&row, 1)? {
                        self.restitch.insert(entity_ref);
                    }
                }
                for chunk in about_file.chunks(IN_CHUNK) {
                    let mut sql = Sql::new("DELETE FROM processing_errors WHERE id IN ");
                    sql.bind_list(chunk.iter().copied());
                    sql.execute(conn).await?;
                }
            }
        }
        let error_rows: Vec<(Option<String>, String)> = self
            .errors
            .iter()
            .chain(&end.errors)
            .map(|e| {
                let diagnostic = serde_json::to_string(&e.diagnostic).unwrap_or_default();
                (e.entity_ref.as_ref().map(ToString::to_string), diagnostic)
            })
            .collect();
        for (entity_ref, _) in &error_rows {
            if let Some(entity_ref) = entity_ref {
                self.restitch.insert(entity_ref.clone());
            }
        }
        let statements = build_insert_rows(
            backend,
            "INSERT INTO processing_errors (location_id, entity_ref, diagnostic)",
            "",
            3,
            error_rows,
            |sql, (entity_ref, diagnostic)| {
                sql.bind(location_id)
                    .push(", ")
                    .bind(entity_ref)
                    .push(", ")
                    .bind(diagnostic);
            },
        );
        run_statements(conn, statements).await?;

        if end.only_file.is_none() {
            let mut sql = Sql::new("UPDATE locations SET refreshed_at = ");
            sql.bind(now).push(" WHERE id = ").bind(location_id);
            sql.execute(conn).await?;
        }

        let mut restitch: Vec<String> = self.restitch.into_iter().collect();
        restitch.sort_unstable();
        let ids = entity_ids(conn, &restitch).await?;
        drop(restitch);
        let bulk = is_bulk_now(conn, backend, ids.len()).await?;
        let relations = match self.graph.take() {
            Some(graph) => Relations::Held(Arc::new(graph.seal())),
            None => Relations::Read,
        };
        let stitching = std::time::Instant::now();
        self.outcome.stitched = if bulk {
            // Every stitched entity's field index rows are written again, appended to the
            // table without index maintenance; the indexes are built once at the end.
            for chunk in ids.chunks(IN_CHUNK) {
                let mut sql = Sql::new("DELETE FROM search WHERE entity_id IN ");
                sql.bind_list(chunk.iter().copied());
                sql.execute(conn).await?;
            }
            let statements = defer_indexes(conn, "search", &[]).await?;
            let stitched = stitch_ids(conn, backend, &ids, SearchRows::Rewrite, relations).await?;
            create_indexes(conn, statements).await?;
            stitched
        } else {
            stitch_ids(conn, backend, &ids, SearchRows::WhenChanged, relations).await?
        };
        let stitched_in = stitching.elapsed();
        if bulk {
            tracing::info!(
                location = %self.location_id,
                entities = self.written,
                written_ms = written_after.as_millis() as u64,
                stitched_ms = stitched_in.as_millis() as u64,
                total_ms = self.started.elapsed().as_millis() as u64,
                "bulk apply"
            );
        }
        Ok(self.outcome)
    }
}

/// Applies writing or stitching fewer entities than this maintain indexes row by row.
const BULK_MIN: usize = 5_000;

/// Whether writing `rows` entities, in a catalog that had `total` before, is large enough
/// to drop indexes and build them again afterwards: a first ingestion, or a location that
/// changed wholesale. Building a B-tree once from sorted rows costs a fraction of inserting
/// millions of rows one by one at random places of it.
fn is_bulk(rows: usize, total: usize) -> bool {
    rows >= BULK_MIN && rows.saturating_mul(3) >= total
}

/// [`is_bulk`] for a write of `rows` entities into the catalog as it is now, on SQLite
/// (never on PostgreSQL, see [`defer_indexes`]); the catalog is counted only when `rows`
/// could be bulk, so small writes (one entity deleted) cost no count.
pub(crate) async fn is_bulk_now(
    conn: &mut Writer,
    backend: Backend,
    rows: usize,
) -> StoreResult<bool> {
    Ok(backend == Backend::Sqlite && rows >= BULK_MIN && is_bulk(rows, entity_count(conn).await?))
}

async fn entity_count(conn: &mut Writer) -> StoreResult<usize> {
    let row = Sql::new("SELECT COUNT(*) FROM entities")
        .fetch_optional(conn)
        .await?;
    Ok(match row {
        Some(row) => usize::try_from(get::<i64>(&row, 0)?).unwrap_or(0),
        None => 0,
    })
}

/// Drops the indexes of `table` (SQLite only) except those named in `keep`, and returns the
/// statements that create them again, as the migrations defined them. Inside the write
/// transaction this is safe: readers keep seeing the committed indexes (WAL) until the
/// commit, and a rollback restores them. Never on PostgreSQL, where dropping an index locks
/// readers of the table out until the commit.
pub(crate) async fn defer_indexes(
    conn: &mut Writer,
    table: &str,
    keep: &[&str],
) -> StoreResult<Vec<String>> {
    let mut sql = Sql::new(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
         AND tbl_name = ",
    );
    sql.bind(table).push(" ORDER BY name");
    let mut statements = Vec::new();
    for row in sql.fetch_all(conn).await? {
        let name: String = get(&row, 0)?;
        if keep.contains(&name.as_str()) {
            continue;
        }
        statements.push(get::<String>(&row, 1)?);
        Sql::new(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))
            .execute(conn)
            .await?;
    }
    Ok(statements)
}

/// Creates indexes dropped by [`defer_indexes`]. SQLite sorts the rows of a new index in a
/// buffer as large as the page cache; a small cache meanwhile keeps that sort's memory
/// small (it spills to a temporary file) at no cost in time. The sort runs on as many
/// threads as there are cores (`PRAGMA threads`): nothing else writes meanwhile.
pub(crate) async fn create_indexes(conn: &mut Writer, statements: Vec<String>) -> StoreResult<()> {
    if statements.is_empty() {
        return Ok(());
    }
    let threads = cores();
    Sql::new(&format!("PRAGMA cache_size = -{INDEX_BUILD_CACHE_KIB}"))
        .execute(conn)
        .await?;
    Sql::new(&format!("PRAGMA threads = {threads}"))
        .execute(conn)
        .await?;
    for statement in statements {
        Sql::new(&statement).execute(conn).await?;
    }
    Sql::new("PRAGMA threads = 0").execute(conn).await?;
    Sql::new(&format!(
        "PRAGMA cache_size = -{}",
        crate::store::WRITER_CACHE_KIB
    ))
    .execute(conn)
    .await?;
    Ok(())
}

/// Cores to use for CPU work beside the database (at most 4), read once: the standard
/// library reads cgroup files each time it is asked.
pub(crate) fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(4)))
}

/// The writer's page cache while it builds indexes, in KiB. The sort's runs are as large as
/// the cache: at 100k entities 4 MiB built the field index in 2.3 s and 16 MiB in 2.5–2.9 s
/// (64 MiB: 3.7 s, and 190 MiB more at the peak), so the small runs are faster as well as
/// smaller (docs/PERFORMANCE.md).
const INDEX_BUILD_CACHE_KIB: u32 = 4 * 1024;

/// The ids of the entities named (names without an entity are left out), ascending: the
/// order rows were written in, so stitching reads and rewrites them front to back.
async fn entity_ids(conn: &mut Writer, refs: &[String]) -> StoreResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(refs.len());
    for chunk in refs.chunks(IN_CHUNK) {
        let mut sql = Sql::new("SELECT id FROM entities WHERE entity_ref IN ");
        sql.bind_list(chunk.iter().map(String::as_str));
        for row in sql.fetch_all(conn).await? {
            ids.push(get::<i64>(&row, 0)?);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// The columns of an entity row as the apply writes them, after `id`.
const ENTITY_COLUMNS: &str = "entity_ref, kind, uid, location_id, source_file, source_line, \
    parent_ref, processed, warnings, hash, spec_hash, generation, orphan";

/// The statements that write a chunk of entity rows (new ones with the ids given them,
/// replaced ones over their row) and the relations they emit, in that order. Adds the
/// sources of the relations to `restitch` and the relations to the held graph.
fn prepare_writes(
    backend: Backend,
    location_id: &str,
    mut rows: Vec<EntityRow>,
    restitch: &mut HashSet<String>,
    graph: &mut Option<RelationGraph>,
) -> StoreResult<Vec<Sql>> {
    let mut statements = Vec::new();
    if rows.is_empty() {
        return Ok(statements);
    }
    let (replacing, new): (Vec<&mut EntityRow>, Vec<&mut EntityRow>) =
        rows.iter_mut().partition(|r| r.uid.is_some());
    // The JSON is moved into its statement, not copied.
    let bind_row = |sql: &mut Sql, row: &mut EntityRow| {
        let warnings = if row.entity.warnings.is_empty() {
            None
        } else {
            serde_json::to_string(&row.entity.warnings).ok()
        };
        let uid = match &row.uid {
            Some(uid) => uid.clone(),
            None => uuid::Uuid::new_v4().to_string(),
        };
        sql.bind(row.entity_ref.as_str())
            .push(", ")
            .bind(row.entity.entity_ref.kind())
            .push(", ")
            .bind(uid)
            .push(", ")
            .bind(location_id)
            .push(", ")
            .bind(row.entity.source.file.as_str())
            .push(", ")
            .bind(i64::from(row.entity.source.line))
            .push(", ")
            .bind(row.entity.parent.as_ref().map(ToString::to_string))
            .push(", ")
            .bind(std::mem::take(&mut row.entity.json))
            .push(", ")
            .bind(warnings)
            .push(", ")
            .bind(row.entity.hash.as_str())
            .push(", ")
            .bind(row.entity.spec_hash.as_str())
            .push(", ")
            .bind(row.generation)
            .push(", 0");
    };
    let columns = ENTITY_COLUMNS.split(',').count();
    // New rows, inside the apply's transaction; their location key is checked at the
    // commit, so every constraint of theirs can fail the statement alone.
    let insert = backend.or_fail("INSERT");
    statements.extend(build_insert_rows(
        backend,
        &format!("{insert} INTO entities (id, {ENTITY_COLUMNS})"),
        "",
        columns + 1,
        new,
        |sql, row| {
            sql.bind(row.id).push(", ");
            bind_row(sql, row);
        },
    ));
    statements.extend(build_insert_rows(
        backend,
        &format!("INSERT INTO entities ({ENTITY_COLUMNS})"),
        " ON CONFLICT (entity_ref) DO UPDATE SET location_id = excluded.location_id, \
         source_file = excluded.source_file, source_line = excluded.source_line, \
         parent_ref = excluded.parent_ref, processed = excluded.processed, \
         warnings = excluded.warnings, hash = excluded.hash, spec_hash = excluded.spec_hash, \
         generation = excluded.generation, orphan = 0",
        columns,
        replacing,
        bind_row,
    ));

    // The encoded relations are sorted and without duplicates within one originator.
    let mut emitted: Vec<(&str, &str, &str)> =
        Vec::with_capacity(rows.iter().map(|row| row.entity.relations.len()).sum());
    for row in &rows {
        emitted.extend(
            row.entity
                .relations
                .iter()
                .map(|(s, t, r)| (s.as_str(), t.as_str(), r.as_str())),
        );
    }
    for (source, _, _) in &emitted {
        if !restitch.contains(*source) {
            restitch.insert(source.to_string());
        }
    }
    if let Some(held) = graph
        && !held.add(emitted)
    {
        *graph = None;
    }
    // The relations' strings move into their statement, not copied (2.7M at 100k).
    let relation_rows: Vec<(i64, String, String, String)> = rows
        .iter_mut()
        .flat_map(|row| {
            let id = row.id;
            std::mem::take(&mut row.entity.relations)
                .into_iter()
                .map(move |(source, relation_type, target)| (id, source, relation_type, target))
        })
        .collect();
    statements.extend(
        EncodedRows::encode(
            backend,
            "relations",
            &[
                ("originating_entity_id", "bigint"),
                ("source_ref", "text"),
                ("type", "text"),
                ("target_ref", "text"),
            ],
            relation_rows,
        )?
        .into_statements(),
    );
    Ok(statements)
}

/// What `entities.processed` holds once stitching has written the entity's final form:
/// stitching reads the processed form from `final_json` then, so a row does not carry its
/// JSON twice (a third of the entities table at 100k). Stitching a final form gives what
/// stitching its processed form gave: it replaces `relations`, `status` and `etag` (the last
/// keys of their maps, so removing them keeps the order of the rest), overwrites `uid` and
/// `generation` in place, and the default namespace it added stays. An orphan's final form
/// carries the orphan annotation, which stitching adds again for as long as it is one; the
/// location that takes it back writes its processed form again.
const PROCESSED_IS_FINAL: &str = "";

/// An entity row as stitching reads it.
struct StitchRow {
    id: i64,
    entity_ref: String,
    uid: String,
    generation: i64,
    orphan: bool,
    etag: Option<String>,
    processed: String,
    warnings: Option<String>,
}

/// Where stitching finds the relations whose source an entity is.
enum Relations {
    /// In the relations table.
    Read,
    /// All of them in memory (see [`SnapshotApply::graph`]).
    Held(Arc<SealedGraph>),
}

/// The relations whose source is an entity of a chunk.
enum ChunkRelations {
    /// By source ref: (type, target ref), read from the relations table.
    Read(HashMap<String, Vec<(String, String)>>),
    Held(Arc<SealedGraph>),
}

/// What stitching reads for a chunk of entities.
struct StitchInput {
    rows: Vec<StitchRow>,
    relations: ChunkRelations,
    /// By entity ref: the processing errors pinned to it, as stored (JSON).
    pinned: HashMap<String, Vec<String>>,
}

/// What stitching writes for a chunk of entities.
struct StitchOutput {
    /// (id, final JSON, etag) of the entities whose final form changed.
    finals: Vec<(i64, String, String)>,
    /// (entity ref, etag) of the same.
    changes: Vec<(String, String)>,
    /// Entities whose previous field index rows go.
    had_search: Vec<i64>,
    /// Their new field index rows.
    search: EncodedRows,
}

/// The field index's columns, with their PostgreSQL types.
const SEARCH_COLUMNS: &[(&str, &str)] = &[
    ("entity_id", "bigint"),
    ("key", "bigint"),
    ("seq", "integer"),
    ("value", "text"),
    ("original_value", "text"),
];

/// What stitching does with the field index rows of the entities it stitches.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SearchRows {
    /// Replaces them when the entity's final form changed.
    WhenChanged,
    /// Writes them for every entity: the caller removed them all beforehand.
    Rewrite,
}

/// Re-stitches the named entities (names without an entity are skipped). Returns how many
/// were rewritten.
pub(crate) async fn stitch_refs(
    conn: &mut Writer,
    backend: Backend,
    mut refs: Vec<String>,
) -> StoreResult<u64> {
    refs.sort_unstable();
    refs.dedup();
    let ids = entity_ids(conn, &refs).await?;
    stitch_ids(
        conn,
        backend,
        &ids,
        SearchRows::WhenChanged,
        Relations::Read,
    )
    .await
}

/// Re-stitches entities by id: processed entity + relations whose source it is + warnings
/// and pinned errors → final JSON, etag and search rows; a change event when the etag
/// changed. Returns how many final forms were rewritten.
///
/// Chunks go through three steps — read, compute, write — pipelined so that the CPU work
/// of one chunk (parsing, stitching, hashing, encoding) runs on another thread while the
/// database writes the previous chunk and reads the next. A chunk's reads do not depend on
/// another chunk's writes: stitching changes final forms and field index rows, never what
/// stitching reads.
async fn stitch_ids(
    conn: &mut Writer,
    backend: Backend,
    ids: &[i64],
    search_rows_of: SearchRows,
    relations: Relations,
) -> StoreResult<u64> {
    let now = now_millis();
    let mut stitched = 0;
    // Chunks computed at once: one per core, so the database never waits for the CPU work
    // when that is the slower side.
    let depth = cores();
    let mut computing: std::collections::VecDeque<
        tokio::task::JoinHandle<StoreResult<StitchOutput>>,
    > = std::collections::VecDeque::with_capacity(depth);
    for chunk in ids.chunks(STITCH_CHUNK) {
        let input = read_stitch_input(conn, chunk, &relations).await?;
        computing.push_back(tokio::task::spawn_blocking(move || {
            compute_stitch(backend, input, search_rows_of)
        }));
        if computing.len() > depth
            && let Some(oldest) = computing.pop_front()
        {
            stitched += write_stitch_output(conn, backend, joined(oldest).await?, now).await?;
        }
    }
    while let Some(oldest) = computing.pop_front() {
        stitched += write_stitch_output(conn, backend, joined(oldest).await?, now).await?;
    }
    Ok(stitched)
}

async fn joined<T>(handle: tokio::task::JoinHandle<StoreResult<T>>) -> StoreResult<T> {
    handle
        .await
        .map_err(|e| StoreError::Database(format!("stitching stopped: {e}")))?
}

async fn read_stitch_input(
    conn: &mut Writer,
    ids: &[i64],
    relations: &Relations,
) -> StoreResult<StitchInput> {
    let mut sql = Sql::new(&format!(
        "SELECT id, entity_ref, uid, generation, orphan, etag, \
         CASE WHEN processed = '{PROCESSED_IS_FINAL}' THEN final_json ELSE processed END, \
         warnings FROM entities WHERE id IN "
    ));
    sql.bind_list(ids.iter().copied());
    let mut rows = Vec::with_capacity(ids.len());
    for row in sql.fetch_all(conn).await? {
        rows.push(StitchRow {
            id: get(&row, 0)?,
            entity_ref: get(&row, 1)?,
            uid: get(&row, 2)?,
            generation: get(&row, 3)?,
            orphan: get::<i64>(&row, 4)? != 0,
            etag: get(&row, 5)?,
            processed: get(&row, 6)?,
            warnings: get(&row, 7)?,
        });
    }
    let mut input = StitchInput {
        rows,
        relations: match relations {
            Relations::Held(graph) => ChunkRelations::Held(graph.clone()),
            Relations::Read => ChunkRelations::Read(HashMap::new()),
        },
        pinned: HashMap::new(),
    };
    if input.rows.is_empty() {
        return Ok(input);
    }
    if let ChunkRelations::Read(by_source) = &mut input.relations {
        let mut sql =
            Sql::new("SELECT source_ref, type, target_ref FROM relations WHERE source_ref IN ");
        sql.bind_list(input.rows.iter().map(|r| r.entity_ref.as_str()));
        for row in sql.fetch_all(conn).await? {
            by_source
                .entry(get(&row, 0)?)
                .or_default()
                .push((get(&row, 1)?, get(&row, 2)?));
        }
    }
    let mut sql =
        Sql::new("SELECT entity_ref, diagnostic FROM processing_errors WHERE entity_ref IN ");
    sql.bind_list(input.rows.iter().map(|r| r.entity_ref.as_str()))
        .push(" ORDER BY id");
    for row in sql.fetch_all(conn).await? {
        input
            .pinned
            .entry(get(&row, 0)?)
            .or_default()
            .push(get(&row, 1)?);
    }
    Ok(input)
}

fn compute_stitch(
    backend: Backend,
    mut input: StitchInput,
    search_rows_of: SearchRows,
) -> StoreResult<StitchOutput> {
    let mut finals = Vec::new();
    let mut changes = Vec::new();
    let mut had_search = Vec::new();
    let mut search: Vec<FieldIndexRow> = Vec::new();
    for row in input.rows {
        let mut entity = serde_json::from_str::<serde_json::Value>(&row.processed)
            .ok()
            .and_then(Entity::from_value)
            .ok_or_else(|| {
                StoreError::Database(format!("stored entity {} is not an object", row.entity_ref))
            })?;
        let mut diagnostics = row
            .warnings
            .and_then(|w| serde_json::from_str::<Vec<Diagnostic>>(&w).ok())
            .unwrap_or_default();
        for error in input.pinned.remove(&row.entity_ref).unwrap_or_default() {
            if let Ok(diagnostic) = serde_json::from_str::<Diagnostic>(&error) {
                diagnostics.push(diagnostic);
            }
        }
        let relation = |relation_type: String, target: &str| {
            let target_ref = EntityRef::parse_full(target).ok()?;
            Some(Relation {
                relation_type,
                target_ref,
            })
        };
        let relations: Vec<Relation> = match &mut input.relations {
            ChunkRelations::Held(graph) => graph
                .relations_of(&row.entity_ref)
                .filter_map(|(relation_type, target)| relation(relation_type.to_string(), target))
                .collect(),
            ChunkRelations::Read(by_source) => by_source
                .remove(&row.entity_ref)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(relation_type, target)| relation(relation_type, &target))
                .collect(),
        };
        let generation = u64::try_from(row.generation).unwrap_or(1);
        if row.orphan {
            entity.set_annotation(annotation::ORPHAN, "true");
        }
        // Sized from the processed form, so the text is not grown step by step.
        let stitched = stitch_to_text(
            entity,
            &row.uid,
            generation,
            relations,
            &diagnostics,
            row.processed.len() * 2,
        )
        .map_err(|e| StoreError::Invalid(format!("entity {}: {e}", row.entity_ref)))?;
        let Stitched {
            entity: final_entity,
            text,
            etag,
        } = stitched;
        let changed = row.etag.as_deref() != Some(etag.as_str());
        match search_rows_of {
            SearchRows::WhenChanged if !changed => continue,
            SearchRows::WhenChanged if row.etag.is_some() => had_search.push(row.id),
            _ => {}
        }
        push_field_rows(row.id, &final_entity, &mut search);
        if changed {
            finals.push((row.id, text, etag.clone()));
            changes.push((row.entity_ref, etag));
        }
    }
    Ok(StitchOutput {
        finals,
        changes,
        had_search,
        search: EncodedRows::encode(backend, "search", SEARCH_COLUMNS, search)?,
    })
}

/// Appends the field index rows of a final entity: in key order, numbered within the
/// entity. On SQLite the rows are the clustered key (entity, key, seq), so an entity's rows
/// are appended in the B-tree's order.
fn push_field_rows(entity_id: i64, final_entity: &serde_json::Value, out: &mut Vec<FieldIndexRow>) {
    for (seq, row) in keyed_search_rows(final_entity).into_iter().enumerate() {
        out.push(FieldIndexRow {
            entity_id,
            key: row.key,
            seq: i64::try_from(seq).unwrap_or(i64::MAX),
            value: row.value,
            original_value: row.original_value,
        });
    }
}

/// Writes the field index again from the entities' final form when it is empty beside live
/// entities: after the migration that changed how keys are stored (every live entity has
/// rows, `metadata.name` at least). Returns how many entities were indexed.
pub(crate) async fn rebuild_field_index(conn: &mut Writer, backend: Backend) -> StoreResult<u64> {
    let row = Sql::new(
        "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM search LIMIT 1) AS s), \
         (SELECT COUNT(*) FROM (SELECT 1 FROM entities WHERE etag IS NOT NULL LIMIT 1) AS e)",
    )
    .fetch_optional(conn)
    .await?;
    let (indexed, live) = match row {
        Some(row) => (get::<i64>(&row, 0)?, get::<i64>(&row, 1)?),
        None => (0, 0),
    };
    if indexed > 0 || live == 0 {
        return Ok(0);
    }
    let statements = match backend {
        Backend::Sqlite => defer_indexes(conn, "search", &[]).await?,
        Backend::Postgres => Vec::new(),
    };
    let mut after = i64::MIN;
    let mut entities = 0;
    loop {
        let mut sql =
            Sql::new("SELECT id, final_json FROM entities WHERE etag IS NOT NULL AND id > ");
        sql.bind(after)
            .push(&format!(" ORDER BY id LIMIT {STITCH_CHUNK}"));
        let rows = sql.fetch_all(conn).await?;
        let Some(last) = rows.last() else { break };
        after = get(last, 0)?;
        let mut fields = Vec::new();
        for row in &rows {
            let final_json: Option<String> = get(row, 1)?;
            let Some(final_entity) =
                final_json.and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            else {
                continue;
            };
            push_field_rows(get(row, 0)?, &final_entity, &mut fields);
            entities += 1;
        }
        EncodedRows::encode(backend, "search", SEARCH_COLUMNS, fields)?
            .insert(conn)
            .await?;
    }
    create_indexes(conn, statements).await?;
    Ok(entities)
}

/// Writes a chunk's stitch; returns how many final forms changed.
async fn write_stitch_output(
    conn: &mut Writer,
    backend: Backend,
    output: StitchOutput,
    now: i64,
) -> StoreResult<u64> {
    let written = output.finals.len() as u64;
    // Stitching runs inside the caller's transaction (on SQLite the undo journal was a third
    // of this statement's time at 100k entities).
    let update = backend.or_fail("UPDATE");
    let statements = build_insert_rows(
        backend,
        &format!(
            "{update} entities SET final_json = v.column2, etag = v.column3, \
             processed = '{PROCESSED_IS_FINAL}' FROM ("
        ),
        ") AS v WHERE entities.id = v.column1",
        3,
        output.finals,
        |sql, (id, text, etag)| {
            sql.bind(id).push(", ").bind(text).push(", ").bind(etag);
        },
    );
    run_statements(conn, statements).await?;
    for chunk in output.had_search.chunks(IN_CHUNK) {
        let mut sql = Sql::new("DELETE FROM search WHERE entity_id IN ");
        sql.bind_list(chunk.iter().copied());
        sql.execute(conn).await?;
    }
    output.search.insert(conn).await?;
    let changes: Vec<(&str, Option<&str>)> = output
        .changes
        .iter()
        .map(|(r, e)| (r.as_str(), Some(e.as_str())))
        .collect();
    append_changes(conn, backend, &changes, now).await?;
    Ok(written)
}

/// Appends change events: `Some(etag)` for a written final form, `None` for a removal.
pub(crate) async fn append_changes(
    conn: &mut Writer,
    backend: Backend,
    changes: &[(&str, Option<&str>)],
    at: i64,
) -> StoreResult<()> {
    let rows: Vec<(&str, Option<&str>, i64)> = changes
        .iter()
        .map(|(entity_ref, etag)| (*entity_ref, *etag, at))
        .collect();
    insert_many(
        conn,
        backend,
        "changes",
        &[("entity_ref", "text"), ("etag", "text"), ("at", "bigint")],
        rows,
    )
    .await?;
    Ok(())
}
