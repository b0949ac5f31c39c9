//! The values that cross the store boundary.

use paved_model::entity::{ContentHash, json_text, write_json_noting};
use paved_model::filter::EntityFilter;
use paved_model::{Diagnostic, EntityRef, ProcessedEntity, SourcePosition};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A location's id: a UUID string, as Backstage's `locations.id`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LocationId(pub String);

impl fmt::Display for LocationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a location came from: the configuration (flags, `paved.yaml`) or the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LocationOrigin {
    Config,
    Api,
}

impl LocationOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            LocationOrigin::Config => "config",
            LocationOrigin::Api => "api",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLocation {
    /// `file` or `url`, as Backstage's location types.
    pub kind: String,
    pub target: String,
    pub origin: LocationOrigin,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLocation {
    pub id: LocationId,
    pub kind: String,
    pub target: String,
    pub origin: LocationOrigin,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds of the last completed refresh, if any.
    pub refreshed_at: Option<i64>,
}

/// An entity found while reading a location, with the Location entity that listed its file
/// (for ancestry) — `None` for the location's own root entity.
#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotEntity {
    pub processed: ProcessedEntity,
    pub parent: Option<EntityRef>,
}

/// A processing error, pinned to the entity whose `status.items` should show it: the invalid
/// entity itself when its ref is known, else the Location entity that listed the bad file.
/// `None` = the location as a whole (e.g. its root could not be read).
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessingError {
    pub entity_ref: Option<EntityRef>,
    pub diagnostic: Diagnostic,
}

/// A [`SnapshotEntity`] encoded where it was read (on the reading's threads, in parallel):
/// its JSON, the hashes that tell the store whether it changed, and its relation rows. It
/// takes a fraction of the memory of the entity tree, and the store has nothing left to do
/// for it but compare and write.
#[derive(Clone, Debug, PartialEq)]
pub struct EncodedEntity {
    pub entity_ref: EntityRef,
    /// The processed entity as JSON text.
    pub json: String,
    /// Hash of everything stored for it (entity, relations, source, parent, warnings): an
    /// entity with the stored hash is not written again.
    pub hash: String,
    /// Hash of its `spec`: a change bumps `metadata.generation`.
    pub spec_hash: String,
    /// `(source, type, target)` of the relations it emits, sorted, without duplicates.
    pub relations: Vec<(String, String, String)>,
    pub source: SourcePosition,
    pub warnings: Vec<Diagnostic>,
    pub parent: Option<EntityRef>,
}

/// An emitted relation with its refs written out: serialized as
/// [`EmittedRelation`](paved_model::EmittedRelation) is.
#[derive(Serialize)]
struct RelationText<'a> {
    source: &'a str,
    #[serde(rename = "type")]
    relation_type: &'a str,
    target: &'a str,
}

impl EncodedEntity {
    pub fn encode(entity: &SnapshotEntity) -> Result<EncodedEntity, serde_json::Error> {
        let processed = &entity.processed;
        // The JSON text, noting where `spec` lies in it for the spec's own hash.
        let mut json = Vec::new();
        let spec = write_json_noting(&mut json, processed.entity.as_object(), "spec")?;
        let json = json_text(json)?;
        let warnings = if processed.warnings.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&processed.warnings)?)
        };
        let parent_ref = entity.parent.as_ref().map(EntityRef::to_ref_string);
        // Each relation's refs are written out once, for the hash and for the rows.
        let mut relations: Vec<(String, String, String)> = processed
            .relations
            .iter()
            .map(|r| {
                (
                    r.source.to_ref_string(),
                    r.relation_type.clone(),
                    r.target.to_ref_string(),
                )
            })
            .collect();
        // The hash of the JSON text followed by the rest, each serialized into the hash; the
        // relations as `EmittedRelation` serializes, in the order emitted.
        let mut hash = ContentHash::new();
        hash.add(json.as_bytes());
        let emitted: Vec<RelationText<'_>> = relations
            .iter()
            .map(|(source, relation_type, target)| RelationText {
                source,
                relation_type,
                target,
            })
            .collect();
        hash.add_json(&(&emitted, &processed.source, &parent_ref, &warnings))?;
        let mut spec_hash = ContentHash::new();
        match spec {
            Some(range) => spec_hash.add(&json.as_bytes()[range]),
            None => spec_hash.add(b"null"),
        }
        relations.sort_unstable();
        relations.dedup();
        Ok(EncodedEntity {
            entity_ref: processed.entity_ref.clone(),
            json,
            hash: hash.finish(),
            spec_hash: spec_hash.finish(),
            relations,
            source: processed.source.clone(),
            warnings: processed.warnings.clone(),
            parent: entity.parent.clone(),
        })
    }
}

/// A complete, fresh reading of one location. Applying it:
/// - upserts `entities` (unchanged ones — same content hash — are not rewritten and keep
///   their generation; changed ones get generation + 1 when their `spec` changed, and a new
///   etag);
/// - an entity already provided by ANOTHER location (not orphaned) is not taken: a
///   `ProcessingError` "entity X is already provided by location Y" is stored for this
///   location and counted in `ApplyOutcome::conflicts`; the first one keeps it. The same ref
///   twice within one snapshot: the first wins, the second is a conflict error too;
/// - entities this location provided before that are absent now become orphans (annotation
///   `backstage.io/orphan: "true"`, kept, as Backstage does) — EXCEPT when `complete` is false
///   (the location could not be read at all), when their source file is in `failed_files`
///   (the file could not be read or parsed), or when their ref is in `retained` (the entity
///   is still there but invalid now): then the previous version stays as it was;
/// - an orphan that reappears in a snapshot loses the orphan annotation;
/// - `errors` replace this location's previous errors; each is also shown in `status.items`
///   of the entity it is pinned to;
/// - every change to an entity's final form appends a [`ChangeEvent`].
#[derive(Clone, Debug, PartialEq)]
pub struct LocationSnapshot {
    pub location_id: LocationId,
    pub complete: bool,
    pub entities: Vec<SnapshotEntity>,
    pub failed_files: Vec<String>,
    pub retained: Vec<EntityRef>,
    pub errors: Vec<ProcessingError>,
}

/// One part of a location's reading as it streams to
/// [`CatalogStore::apply_location_parts`](crate::CatalogStore::apply_location_parts): entities
/// in reading order, then the end. The rules are those of [`LocationSnapshot`]; a reading
/// streamed in parts never has to be held in memory whole.
#[derive(Clone, Debug, PartialEq)]
pub enum SnapshotPart {
    Entities(Vec<EncodedEntity>),
    /// The last part. A stream that stops without it is abandoned: nothing is stored.
    End(SnapshotEnd),
}

/// What is known only once a location has been read to the end (see [`LocationSnapshot`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SnapshotEnd {
    pub complete: bool,
    pub failed_files: Vec<String>,
    pub retained: Vec<EntityRef>,
    pub errors: Vec<ProcessingError>,
    /// `Some(file)` when the reading covered only this one file of the location (a refresh of
    /// the entities it defines): then only entities of this location read from that file can
    /// become orphans, only the location's errors about that file are replaced, and the
    /// location's last refresh time stays as it was.
    pub only_file: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyOutcome {
    pub added: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub orphaned: u64,
    pub conflicts: u64,
    pub stitched: u64,
}

/// A stitched entity as stored: its JSON text, served as is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawEntity {
    pub json: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderField {
    /// Dotted field path, e.g. `metadata.name`.
    pub field: String,
    pub descending: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FullTextFilter {
    pub term: String,
    /// Dotted field paths to search; empty = Backstage's default (all fields).
    pub fields: Vec<String>,
}

/// Where a keyset page starts: the order-field values and the internal id of the boundary
/// entity. `backward` = the page before it (for `prevCursor`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyset {
    pub values: Vec<Option<String>>,
    pub id: i64,
    pub backward: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct EntityQuery {
    pub filter: Option<EntityFilter>,
    /// Empty = by entity ref (kind, namespace, name) ascending. Entities without a value for
    /// an order field sort last. Ties are broken by the internal id, so paging is stable.
    pub order: Vec<OrderField>,
    pub full_text: Option<FullTextFilter>,
    /// Only these entities (refs not in the catalog are ignored; an empty list matches
    /// nothing). `None` = no such restriction.
    pub refs: Option<Vec<EntityRef>>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
    pub keyset: Option<Keyset>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EntityPage {
    pub items: Vec<RawEntity>,
    /// Number of entities matching filter and full-text filter, ignoring paging.
    pub total_items: u64,
    /// Keyset of the page after this one (None on the last page).
    pub next: Option<Keyset>,
    /// Keyset of the page before this one (None on the first page).
    pub prev: Option<Keyset>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AncestryItem {
    pub entity: RawEntity,
    pub parent_entity_refs: Vec<EntityRef>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ancestry {
    pub root_entity_ref: EntityRef,
    pub items: Vec<AncestryItem>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StoredProcessingError {
    pub location_id: LocationId,
    pub location_target: String,
    pub entity_ref: Option<EntityRef>,
    pub diagnostic: Diagnostic,
}

/// One change to the catalog: an entity's final form was written (`etag` Some) or removed
/// (`etag` None). Consumers (search, scorecards, live views) follow `sequence`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEvent {
    pub sequence: i64,
    pub entity_ref: EntityRef,
    pub etag: Option<String>,
    /// Unix milliseconds.
    pub at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use paved_model::{EmittedRelation, Entity};
    use serde_json::json;

    fn snapshot_entity(value: serde_json::Value, warnings: Vec<Diagnostic>) -> SnapshotEntity {
        let entity = Entity::from_value(value).expect("an object");
        let me = entity.entity_ref();
        let team = EntityRef::parse_full("group:default/Team-É").expect("ref");
        SnapshotEntity {
            processed: ProcessedEntity {
                entity_ref: me.clone(),
                relations: vec![
                    EmittedRelation {
                        source: me.clone(),
                        relation_type: "ownedBy".into(),
                        target: team.clone(),
                    },
                    EmittedRelation {
                        source: team,
                        relation_type: "ownerOf".into(),
                        target: me,
                    },
                ],
                entity,
                source: SourcePosition {
                    file: "/c/\"quoted\".yaml".into(),
                    line: 3,
                    column: 1,
                },
                warnings,
            },
            parent: Some(EntityRef::parse_full("location:default/root").expect("ref")),
        }
    }

    /// Stored hashes must not change from one version to the next (an unchanged entity
    /// would be written again): the hashes as they were first defined, spelled out here.
    #[test]
    fn content_and_spec_hashes_keep_their_definition() {
        let with_spec = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
            "metadata": {"name": "web", "annotations": {"a": "é ✓ \"q\" \\ \n"}},
            "spec": {"type": "service", "owner": "Team-É", "x": [1, 2.5, null, {"y": true}]},
            "after": "spec"});
        let without_spec = json!({"apiVersion": "v1", "kind": "Thing", "metadata": {"name": "t"}});
        for (value, warnings) in [
            (
                with_spec,
                vec![Diagnostic::warning("spec.x is not a known field")],
            ),
            (without_spec, vec![]),
        ] {
            let entity = snapshot_entity(value, warnings);
            let encoded = EncodedEntity::encode(&entity).expect("encodes");
            let processed = &entity.processed;
            let json = serde_json::to_string(&processed.entity).unwrap();
            assert_eq!(encoded.json, json);
            let warnings = (!processed.warnings.is_empty())
                .then(|| serde_json::to_string(&processed.warnings).unwrap());
            let parent = entity.parent.as_ref().map(ToString::to_string);
            let mut hash = ContentHash::new();
            hash.add(json.as_bytes());
            hash.add_json(&(&processed.relations, &processed.source, &parent, &warnings))
                .unwrap();
            assert_eq!(encoded.hash, hash.finish(), "{json}");
            let mut spec_hash = ContentHash::new();
            spec_hash
                .add_json(&processed.entity.as_object().get("spec"))
                .unwrap();
            assert_eq!(encoded.spec_hash, spec_hash.finish(), "{json}");
        }
    }
}
