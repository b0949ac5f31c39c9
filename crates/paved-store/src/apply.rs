//! Ingestion: applying a location snapshot (upserts, conflicts, orphans, errors) and stitching
//! the entities whose final form may have changed. Everything runs on the caller's write
//! transaction, with multi-row statements so 100k entities cost a few hundred round trips.

use crate::sql::{Backend, Sql, get, insert_json, insert_rows};
use crate::store::{IN_CHUNK, now_millis};
use crate::*;
use paved_model::entity::{annotation, content_hash, stitch};
use paved_model::search::search_rows;
use paved_model::{Diagnostic, EmittedRelation, Entity, Relation};
use sqlx::AnyConnection;
use std::collections::{HashMap, HashSet};

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

fn existing_from_row(row: &sqlx::any::AnyRow) -> StoreResult<(String, ExistingEntity)> {
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
struct EntityRow<'a> {
    entity_ref: &'a str,
    kind: String,
    uid: String,
    source_file: &'a str,
    source_line: i64,
    parent_ref: Option<String>,
    processed: String,
    warnings: Option<String>,
    hash: String,
    spec_hash: String,
    generation: i64,
    /// Whether this replaces a row (its old relations must go).
    replaces: Option<i64>,
    relations: &'a [EmittedRelation],
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
}

impl SnapshotApply {
    pub(crate) async fn begin(
        conn: &mut AnyConnection,
        location_id: &LocationId,
    ) -> StoreResult<SnapshotApply> {
        let mut sql = Sql::new("SELECT target FROM locations WHERE id = ");
        sql.bind(location_id.0.as_str());
        if sql.fetch_optional(conn).await?.is_none() {
            return Err(StoreError::NotFound(format!(
                "no location with id {location_id}"
            )));
        }
        Ok(SnapshotApply {
            location_id: location_id.0.clone(),
            outcome: ApplyOutcome::default(),
            errors: Vec::new(),
            seen: HashSet::new(),
            restitch: HashSet::new(),
            location_targets: HashMap::new(),
        })
    }

    /// Writes the entities of one part that are new or changed, with their relations.
    pub(crate) async fn add_entities(
        &mut self,
        conn: &mut AnyConnection,
        backend: Backend,
        entities: &[SnapshotEntity],
    ) -> StoreResult<()> {
        for chunk in entities.chunks(APPLY_CHUNK) {
            self.add_chunk(conn, backend, chunk).await?;
        }
        Ok(())
    }

    async fn add_chunk(
        &mut self,
        conn: &mut AnyConnection,
        backend: Backend,
        entities: &[SnapshotEntity],
    ) -> StoreResult<()> {
        let location_id = self.location_id.clone();
        // The first of two entities with the same ref wins; the second is a conflict.
        let mut kept: Vec<(String, &SnapshotEntity)> = Vec::with_capacity(entities.len());
        for entity in entities {
            let entity_ref = entity.processed.entity_ref.to_string();
            if self.seen.insert(entity_ref.clone()) {
                kept.push((entity_ref, entity));
                continue;
            }
            let source = &entity.processed.source;
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
        for chunk in kept.chunks(IN_CHUNK) {
            let mut sql = Sql::new(&format!(
                "SELECT {EXISTING_COLUMNS} FROM entities WHERE entity_ref IN "
            ));
            sql.bind_list(chunk.iter().map(|(r, _)| r.as_str()));
            for row in sql.fetch_all(conn).await? {
                let (entity_ref, row) = existing_from_row(&row)?;
                existing.insert(entity_ref, row);
            }
        }

        let mut rows: Vec<EntityRow<'_>> = Vec::with_capacity(kept.len());
        for (entity_ref, snapshot_entity) in &kept {
            let entity_ref = entity_ref.as_str();
            let processed = &snapshot_entity.processed;
            let previous = existing.get(entity_ref);
            if let Some(previous) = previous
                && previous.location_id != location_id
                && !previous.orphan
            {
                let target = self.location_target(conn, &previous.location_id).await?;
                self.outcome.conflicts += 1;
                let source = &processed.source;
                self.errors.push(ProcessingError {
                    entity_ref: snapshot_entity.parent.clone(),
                    diagnostic: Diagnostic::error(format!(
                        "entity {entity_ref} is already provided by location {target}"
                    ))
                    .with_file(source.file.clone())
                    .at(source.line, source.column),
                });
                continue;
            }

            let processed_text = serde_json::to_string(&processed.entity)
                .map_err(|e| StoreError::Invalid(format!("entity {entity_ref}: {e}")))?;
            let warnings = if processed.warnings.is_empty() {
                None
            } else {
                serde_json::to_string(&processed.warnings).ok()
            };
            let parent_ref = snapshot_entity.parent.as_ref().map(ToString::to_string);
            let extra = serde_json::to_vec(&(
                &processed.relations,
                &processed.source,
                &parent_ref,
                &warnings,
            ))
            .map_err(|e| StoreError::Invalid(format!("entity {entity_ref}: {e}")))?;
            let mut hashed = processed_text.clone().into_bytes();
            hashed.extend_from_slice(&extra);
            let hash = content_hash(&hashed);
            let spec = processed.entity.as_object().get("spec");
            let spec_hash = content_hash(&serde_json::to_vec(&spec).unwrap_or_default());

            let (uid, generation, replaces) = match previous {
                Some(previous)
                    if previous.location_id == location_id
                        && !previous.orphan
                        && previous.hash == hash =>
                {
                    self.outcome.unchanged += 1;
                    continue;
                }
                Some(previous) => {
                    self.outcome.updated += 1;
                    let bump = i64::from(previous.spec_hash != spec_hash);
                    (
                        previous.uid.clone(),
                        previous.generation + bump,
                        Some(previous.id),
                    )
                }
                None => {
                    self.outcome.added += 1;
                    (uuid::Uuid::new_v4().to_string(), 1, None)
                }
            };
            self.restitch.insert(entity_ref.to_string());
            rows.push(EntityRow {
                entity_ref,
                kind: processed.entity_ref.kind().to_string(),
                uid,
                source_file: &processed.source.file,
                source_line: i64::from(processed.source.line),
                parent_ref,
                processed: processed_text,
                warnings,
                hash,
                spec_hash,
                generation,
                replaces,
                relations: &processed.relations,
            });
        }
        write_entities(conn, backend, &location_id, &rows, &mut self.restitch).await
    }

    /// `kind:target` of a location, for conflict messages (its id if it is gone).
    async fn location_target(
        &mut self,
        conn: &mut AnyConnection,
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
        conn: &mut AnyConnection,
        backend: Backend,
        end: SnapshotEnd,
    ) -> StoreResult<ApplyOutcome> {
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

        // This location's errors are replaced; the entities they were and are pinned to change.
        let mut sql = Sql::new("DELETE FROM processing_errors WHERE location_id = ");
        sql.bind(location_id).push(" RETURNING entity_ref");
        for row in sql.fetch_all(conn).await? {
            if let Some(entity_ref) = get::<Option<String>>(&row, 0)? {
                self.restitch.insert(entity_ref);
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
        insert_rows(
            conn,
            backend,
            "INSERT INTO processing_errors (location_id, entity_ref, diagnostic)",
            "",
            3,
            &error_rows,
            |sql, (entity_ref, diagnostic)| {
                sql.bind(location_id)
                    .push(", ")
                    .bind(entity_ref.as_deref())
                    .push(", ")
                    .bind(diagnostic.as_str());
            },
        )
        .await?;

        let mut sql = Sql::new("UPDATE locations SET refreshed_at = ");
        sql.bind(now).push(" WHERE id = ").bind(location_id);
        sql.execute(conn).await?;

        let mut restitch: Vec<String> = self.restitch.into_iter().collect();
        restitch.sort_unstable();
        self.outcome.stitched = stitch_refs(conn, backend, restitch).await?;
        Ok(self.outcome)
    }
}

/// Upserts a chunk of entity rows and replaces the relations they emit. Adds the sources of
/// removed and added relation rows to `restitch`.
async fn write_entities(
    conn: &mut AnyConnection,
    backend: Backend,
    location_id: &str,
    rows: &[EntityRow<'_>],
    restitch: &mut HashSet<String>,
) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let replaced: Vec<i64> = rows.iter().filter_map(|r| r.replaces).collect();
    for chunk in replaced.chunks(IN_CHUNK) {
        let mut sql = Sql::new("DELETE FROM relations WHERE originating_entity_id IN ");
        sql.bind_list(chunk.iter().copied())
            .push(" RETURNING source_ref");
        for row in sql.fetch_all(conn).await? {
            restitch.insert(get(&row, 0)?);
        }
    }
    let returned = insert_rows(
        conn,
        backend,
        "INSERT INTO entities (entity_ref, kind, uid, location_id, source_file, source_line, \
         parent_ref, processed, warnings, hash, spec_hash, generation, orphan)",
        " ON CONFLICT (entity_ref) DO UPDATE SET location_id = excluded.location_id, \
         source_file = excluded.source_file, source_line = excluded.source_line, \
         parent_ref = excluded.parent_ref, processed = excluded.processed, \
         warnings = excluded.warnings, hash = excluded.hash, spec_hash = excluded.spec_hash, \
         generation = excluded.generation, orphan = 0 RETURNING id, entity_ref",
        13,
        rows,
        |sql, row| {
            sql.bind(row.entity_ref)
                .push(", ")
                .bind(row.kind.as_str())
                .push(", ")
                .bind(row.uid.as_str())
                .push(", ")
                .bind(location_id)
                .push(", ")
                .bind(row.source_file)
                .push(", ")
                .bind(row.source_line)
                .push(", ")
                .bind(row.parent_ref.as_deref())
                .push(", ")
                .bind(row.processed.as_str())
                .push(", ")
                .bind(row.warnings.as_deref())
                .push(", ")
                .bind(row.hash.as_str())
                .push(", ")
                .bind(row.spec_hash.as_str())
                .push(", ")
                .bind(row.generation)
                .push(", 0");
        },
    )
    .await?;
    let mut ids: HashMap<String, i64> = HashMap::with_capacity(returned.len());
    for row in &returned {
        ids.insert(get(row, 1)?, get(row, 0)?);
    }

    let mut relation_rows: Vec<(i64, String, &str, String)> = Vec::new();
    for row in rows {
        let Some(&id) = ids.get(row.entity_ref) else {
            return Err(StoreError::Database(format!(
                "entity {} was not written",
                row.entity_ref
            )));
        };
        // The primary key forbids duplicates within one originator.
        let mut mine: Vec<(String, &str, String)> = row
            .relations
            .iter()
            .map(|r| {
                (
                    r.source.to_string(),
                    r.relation_type.as_str(),
                    r.target.to_string(),
                )
            })
            .collect();
        mine.sort_unstable();
        mine.dedup();
        relation_rows.extend(mine.into_iter().map(|(s, t, g)| (id, s, t, g)));
    }
    for (_, source, _, _) in &relation_rows {
        if !restitch.contains(source) {
            restitch.insert(source.clone());
        }
    }
    insert_json(
        conn,
        backend,
        "relations",
        &[
            ("originating_entity_id", "bigint"),
            ("source_ref", "text"),
            ("type", "text"),
            ("target_ref", "text"),
        ],
        "",
        &relation_rows,
    )
    .await?;
    Ok(())
}

/// An entity row as stitching needs it.
struct StitchRow {
    id: i64,
    entity_ref: String,
    uid: String,
    generation: i64,
    orphan: bool,
    etag: Option<String>,
}

/// Re-stitches the named entities (names without an entity are skipped): processed entity +
/// relations whose source it is + warnings and pinned errors → final JSON, etag and search
/// rows; a change event when the etag changed. Returns how many were rewritten.
pub(crate) async fn stitch_refs(
    conn: &mut AnyConnection,
    backend: Backend,
    refs: Vec<String>,
) -> StoreResult<u64> {
    let now = now_millis();
    let mut stitched = 0;
    for chunk in refs.chunks(STITCH_CHUNK) {
        let mut sql = Sql::new(
            "SELECT id, entity_ref, uid, generation, orphan, etag FROM entities WHERE entity_ref IN ",
        );
        sql.bind_list(chunk.iter().map(String::as_str));
        let mut rows = Vec::with_capacity(chunk.len());
        for row in sql.fetch_all(conn).await? {
            rows.push(StitchRow {
                id: get(&row, 0)?,
                entity_ref: get(&row, 1)?,
                uid: get(&row, 2)?,
                generation: get(&row, 3)?,
                orphan: get::<i64>(&row, 4)? != 0,
                etag: get(&row, 5)?,
            });
        }
        if rows.is_empty() {
            continue;
        }

        let mut loaded: HashMap<String, (Entity, Vec<Diagnostic>)> = HashMap::new();
        let mut sql =
            Sql::new("SELECT entity_ref, processed, warnings FROM entities WHERE entity_ref IN ");
        sql.bind_list(rows.iter().map(|r| r.entity_ref.as_str()));
        for row in sql.fetch_all(conn).await? {
            let entity_ref: String = get(&row, 0)?;
            let processed: String = get(&row, 1)?;
            let warnings: Option<String> = get(&row, 2)?;
            let entity = serde_json::from_str::<serde_json::Value>(&processed)
                .ok()
                .and_then(Entity::from_value)
                .ok_or_else(|| {
                    StoreError::Database(format!("stored entity {entity_ref} is not an object"))
                })?;
            let warnings = warnings
                .and_then(|w| serde_json::from_str::<Vec<Diagnostic>>(&w).ok())
                .unwrap_or_default();
            loaded.insert(entity_ref, (entity, warnings));
        }

        let present: Vec<&str> = rows.iter().map(|r| r.entity_ref.as_str()).collect();
        let mut relations: HashMap<String, Vec<Relation>> = HashMap::new();
        let mut sql =
            Sql::new("SELECT source_ref, type, target_ref FROM relations WHERE source_ref IN ");
        sql.bind_list(present.iter().copied());
        for row in sql.fetch_all(conn).await? {
            let target: String = get(&row, 2)?;
            let Ok(target_ref) = EntityRef::parse_full(&target) else {
                continue;
            };
            relations.entry(get(&row, 0)?).or_default().push(Relation {
                relation_type: get(&row, 1)?,
                target_ref,
            });
        }
        let mut pinned: HashMap<String, Vec<Diagnostic>> = HashMap::new();
        let mut sql =
            Sql::new("SELECT entity_ref, diagnostic FROM processing_errors WHERE entity_ref IN ");
        sql.bind_list(present.iter().copied()).push(" ORDER BY id");
        for row in sql.fetch_all(conn).await? {
            let diagnostic: String = get(&row, 1)?;
            let Ok(diagnostic) = serde_json::from_str::<Diagnostic>(&diagnostic) else {
                continue;
            };
            pinned.entry(get(&row, 0)?).or_default().push(diagnostic);
        }

        let mut finals: Vec<(i64, String, String)> = Vec::new();
        let mut changes: Vec<(&str, String)> = Vec::new();
        let mut search: Vec<(i64, String, Option<String>, Option<String>)> = Vec::new();
        let mut had_search: Vec<i64> = Vec::new();
        for row in &rows {
            let Some((entity, warnings)) = loaded.get(&row.entity_ref) else {
                continue;
            };
            let mut diagnostics: Vec<Diagnostic> = warnings.to_vec();
            if let Some(errors) = pinned.remove(&row.entity_ref) {
                diagnostics.extend(errors);
            }
            let relations = relations.remove(&row.entity_ref).unwrap_or_default();
            let generation = u64::try_from(row.generation).unwrap_or(1);
            let final_entity = if row.orphan {
                let mut orphan = entity.clone();
                orphan.set_annotation(annotation::ORPHAN, "true");
                stitch(&orphan, &row.uid, generation, relations, &diagnostics)
            } else {
                stitch(entity, &row.uid, generation, relations, &diagnostics)
            };
            let etag = final_entity["metadata"]["etag"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if row.etag.as_deref() == Some(etag.as_str()) {
                continue;
            }
            if row.etag.is_some() {
                had_search.push(row.id);
            }
            for search_row in search_rows(&final_entity) {
                let original = search_row
                    .original_value
                    .filter(|o| Some(o) != search_row.value.as_ref());
                search.push((row.id, search_row.key, search_row.value, original));
            }
            let text = serde_json::to_string(&final_entity)
                .map_err(|e| StoreError::Invalid(format!("entity {}: {e}", row.entity_ref)))?;
            finals.push((row.id, text, etag.clone()));
            changes.push((row.entity_ref.as_str(), etag));
        }
        if finals.is_empty() {
            continue;
        }
        stitched += finals.len() as u64;
        insert_rows(
            conn,
            backend,
            "UPDATE entities SET final_json = v.column2, etag = v.column3 FROM (",
            ") AS v WHERE entities.id = v.column1",
            3,
            &finals,
            |sql, (id, text, etag)| {
                sql.bind(*id)
                    .push(", ")
                    .bind(text.as_str())
                    .push(", ")
                    .bind(etag.as_str());
            },
        )
        .await?;
        for chunk in had_search.chunks(IN_CHUNK) {
            let mut sql = Sql::new("DELETE FROM search WHERE entity_id IN ");
            sql.bind_list(chunk.iter().copied());
            sql.execute(conn).await?;
        }
        insert_json(
            conn,
            backend,
            "search",
            &[
                ("entity_id", "bigint"),
                ("key", "text"),
                ("value", "text"),
                ("original_value", "text"),
            ],
            "",
            &search,
        )
        .await?;
        append_changes(
            conn,
            backend,
            &changes
                .iter()
                .map(|(r, e)| (*r, Some(e.as_str())))
                .collect::<Vec<_>>(),
            now,
        )
        .await?;
    }
    Ok(stitched)
}

/// Appends change events: `Some(etag)` for a written final form, `None` for a removal.
pub(crate) async fn append_changes(
    conn: &mut AnyConnection,
    backend: Backend,
    changes: &[(&str, Option<&str>)],
    at: i64,
) -> StoreResult<()> {
    let rows: Vec<(&str, Option<&str>, i64)> = changes
        .iter()
        .map(|(entity_ref, etag)| (*entity_ref, *etag, at))
        .collect();
    insert_json(
        conn,
        backend,
        "changes",
        &[("entity_ref", "text"), ("etag", "text"), ("at", "bigint")],
        "",
        &rows,
    )
    .await?;
    Ok(())
}
