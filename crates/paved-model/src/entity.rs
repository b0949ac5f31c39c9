//! The entity envelope, relations, and the stitched ("final") form the catalog serves.

use crate::diagnostic::Diagnostic;
use crate::entity_ref::{DEFAULT_NAMESPACE, EntityRef};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// Annotations paved sets on every ingested entity, as Backstage does.
pub mod annotation {
    pub const MANAGED_BY_LOCATION: &str = "backstage.io/managed-by-location";
    pub const MANAGED_BY_ORIGIN_LOCATION: &str = "backstage.io/managed-by-origin-location";
    pub const ORPHAN: &str = "backstage.io/orphan";
    pub const SOURCE_LOCATION: &str = "backstage.io/source-location";
}

/// The `status.items[].type` Backstage uses for processing errors.
pub const PROCESSING_STATUS_TYPE: &str = "backstage.io/catalog-processing";

/// An entity: Backstage's envelope (`apiVersion`, `kind`, `metadata`, `spec`, …) kept as a JSON
/// object so that fields paved does not know round-trip unchanged. Build one from a validated
/// value; the accessors then never fail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Entity(Map<String, Value>);

impl Entity {
    /// Wraps a JSON object. Callers validate first (`validation::validate_entity`); the accessors
    /// return empty strings for missing fields rather than panicking.
    pub fn from_object(object: Map<String, Value>) -> Self {
        Entity(object)
    }

    pub fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Object(map) => Some(Entity(map)),
            _ => None,
        }
    }

    pub fn as_object(&self) -> &Map<String, Value> {
        &self.0
    }

    pub fn as_object_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.0
    }

    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }

    pub fn api_version(&self) -> &str {
        self.0
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn kind(&self) -> &str {
        self.0.get("kind").and_then(Value::as_str).unwrap_or("")
    }

    pub fn metadata(&self) -> Option<&Map<String, Value>> {
        self.0.get("metadata").and_then(Value::as_object)
    }

    pub fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        let metadata = self
            .0
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if !metadata.is_object() {
            *metadata = Value::Object(Map::new());
        }
        metadata
            .as_object_mut()
            .expect("metadata was just made an object")
    }

    pub fn name(&self) -> &str {
        self.metadata_str("name").unwrap_or("")
    }

    /// The namespace, `default` when the entity leaves it out.
    pub fn namespace(&self) -> &str {
        self.metadata_str("namespace").unwrap_or(DEFAULT_NAMESPACE)
    }

    pub fn metadata_str(&self, key: &str) -> Option<&str> {
        self.metadata()?.get(key)?.as_str()
    }

    pub fn spec(&self) -> Option<&Map<String, Value>> {
        self.0.get("spec").and_then(Value::as_object)
    }

    pub fn spec_str(&self, key: &str) -> Option<&str> {
        self.spec()?.get(key)?.as_str()
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata()?
            .get("annotations")?
            .as_object()?
            .get(key)?
            .as_str()
    }

    pub fn set_annotation(&mut self, key: &str, value: &str) {
        let metadata = self.metadata_mut();
        let annotations = metadata
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = annotations {
            map.insert(key.to_string(), Value::String(value.to_string()));
        }
    }

    pub fn remove_annotation(&mut self, key: &str) {
        if let Some(Value::Object(map)) = self.metadata_mut().get_mut("annotations") {
            map.remove(key);
        }
    }

    pub fn entity_ref(&self) -> EntityRef {
        EntityRef::new(self.kind(), self.namespace(), self.name())
    }
}

/// A relation as it appears in a stitched entity: `{"type": "ownedBy", "targetRef": "group:default/a"}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Relation {
    #[serde(rename = "type")]
    pub relation_type: String,
    pub target_ref: EntityRef,
}

/// A relation emitted while processing one entity. Processing emits both directions
/// (`A ownedBy G` and `G ownerOf A`), so stitching an entity only needs the rows whose
/// `source` is that entity.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmittedRelation {
    pub source: EntityRef,
    #[serde(rename = "type")]
    pub relation_type: String,
    pub target: EntityRef,
}

/// Where a document starts in its file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcePosition {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

/// An entity that passed validation, ready to be stored: the entity with defaults applied, the
/// relations it emits, and the warnings found on the way.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessedEntity {
    pub entity_ref: EntityRef,
    pub entity: Entity,
    pub relations: Vec<EmittedRelation>,
    pub source: SourcePosition,
    pub warnings: Vec<Diagnostic>,
}

/// Builds the entity the catalog serves: the processed entity plus its relations (sorted and
/// de-duplicated), `metadata.uid`, `metadata.generation`, `metadata.etag` (a hash of everything
/// else) and the processing errors as `status.items`.
pub fn stitch(
    processed: Entity,
    uid: &str,
    generation: u64,
    relations: Vec<Relation>,
    errors: &[Diagnostic],
) -> Value {
    let mut object = stitched_without_etag(processed, uid, generation, relations, errors);
    let etag = etag_of(&object);
    if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
        metadata.insert("etag".into(), Value::String(etag));
    }
    Value::Object(object)
}

/// A stitched entity as [`stitch`] makes it, with its JSON text (`serde_json::to_string` of
/// it, byte for byte) and its etag (empty when there is no `metadata` map to hold one): the
/// entity is serialized once, for the etag's hash and the text together, and the etag is
/// written into the text where `metadata` ends.
pub struct Stitched {
    pub entity: Value,
    pub text: String,
    pub etag: String,
}

/// [`stitch`], serializing the entity once (see [`Stitched`]).
pub fn stitch_to_text(
    processed: Entity,
    uid: &str,
    generation: u64,
    relations: Vec<Relation>,
    errors: &[Diagnostic],
    size_hint: usize,
) -> Result<Stitched, serde_json::Error> {
    let mut object = stitched_without_etag(processed, uid, generation, relations, errors);
    let mut text = Vec::with_capacity(size_hint);
    let metadata = write_json_noting(&mut text, &object, "metadata")?;
    // Before the closing brace of a `metadata` map; a comma first unless it is empty.
    let metadata_end = match (metadata, object.get("metadata")) {
        (Some(range), Some(Value::Object(metadata))) => Some((range.end - 1, !metadata.is_empty())),
        _ => None,
    };
    let mut etag = String::new();
    if let Some((end, comma)) = metadata_end {
        etag = content_hash(&text);
        let mut field = Vec::with_capacity(etag.len() + 10);
        if comma {
            field.push(b',');
        }
        field.extend_from_slice(b"\"etag\":");
        serde_json::to_writer(&mut field, &etag)?;
        text.splice(end..end, field);
    }
    if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
        metadata.insert("etag".into(), Value::String(etag.clone()));
    }
    let text = json_text(text)?;
    Ok(Stitched {
        entity: Value::Object(object),
        text,
        etag,
    })
}

/// Writes `object` as `serde_json` writes a map in compact form, byte for byte, and returns
/// where the value under `key` lies in `out`, if there is one: the parts of a serialized
/// entity (its `spec`, the end of its `metadata`) without serializing them again.
pub fn write_json_noting(
    out: &mut Vec<u8>,
    object: &Map<String, Value>,
    key: &str,
) -> Result<Option<std::ops::Range<usize>>, serde_json::Error> {
    let mut noted = None;
    out.push(b'{');
    for (i, (name, value)) in object.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, name)?;
        out.push(b':');
        let start = out.len();
        serde_json::to_writer(&mut *out, value)?;
        if name == key {
            noted = Some(start..out.len());
        }
    }
    out.push(b'}');
    Ok(noted)
}

/// Bytes [`write_json_noting`] (or `serde_json`) wrote, as text.
pub fn json_text(bytes: Vec<u8>) -> Result<String, serde_json::Error> {
    String::from_utf8(bytes)
        .map_err(|e| serde::ser::Error::custom(format!("serialized JSON is not UTF-8: {e}")))
}

/// Everything [`stitch`] writes but the etag, which hashes the rest.
fn stitched_without_etag(
    processed: Entity,
    uid: &str,
    generation: u64,
    mut relations: Vec<Relation>,
    errors: &[Diagnostic],
) -> Map<String, Value> {
    relations.sort();
    relations.dedup();
    let mut object = processed.0;
    object.remove("relations");
    object.remove("status");
    {
        let metadata = object
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut();
        if let Some(metadata) = metadata {
            metadata.remove("etag");
            if !metadata.contains_key("namespace") {
                metadata.insert("namespace".into(), Value::String(DEFAULT_NAMESPACE.into()));
            }
            metadata.insert("uid".into(), Value::String(uid.to_string()));
            metadata.insert("generation".into(), Value::from(generation));
        }
    }
    object.insert(
        "relations".into(),
        serde_json::to_value(&relations).expect("relations serialize"),
    );
    if !errors.is_empty() {
        object.insert("status".into(), json!({ "items": status_items(errors) }));
    }
    object
}

/// Backstage's `status.items` for processing errors, with paved's location detail added to
/// the serialized error.
pub fn status_items(errors: &[Diagnostic]) -> Vec<Value> {
    errors
        .iter()
        .map(|d| {
            let level = if d.is_error() { "error" } else { "warning" };
            json!({
                "type": PROCESSING_STATUS_TYPE,
                "level": level,
                "message": format!("InputError: {}", d),
                "error": {
                    "name": "InputError",
                    "message": d.to_string(),
                    "file": d.file,
                    "line": d.line,
                    "column": d.column,
                    "field": d.field,
                },
            })
        })
        .collect()
}

/// A short content hash used as `metadata.etag` and to skip writes of unchanged entities:
/// [`content_hash`] of the object's JSON text, serialized straight into the hash.
pub fn etag_of(object: &Map<String, Value>) -> String {
    let mut hash = ContentHash::new();
    hash.add_json(object).expect("a JSON value serializes");
    hash.finish()
}

pub fn content_hash(bytes: &[u8]) -> String {
    let mut hash = ContentHash::new();
    hash.add(bytes);
    hash.finish()
}

/// [`content_hash`] of text given in parts, JSON serialized into it as it is written: the
/// same hash as of the parts joined, without the joined text. Small writes (a serializer's
/// quotes and commas) are gathered before they reach SHA-256.
pub struct ContentHash {
    sha: Sha256,
    pending: [u8; HASH_BUFFER],
    len: usize,
}

const HASH_BUFFER: usize = 1024;

impl Default for ContentHash {
    fn default() -> Self {
        ContentHash {
            sha: Sha256::new(),
            pending: [0; HASH_BUFFER],
            len: 0,
        }
    }
}

impl ContentHash {
    pub fn new() -> Self {
        ContentHash::default()
    }

    pub fn add(&mut self, bytes: &[u8]) {
        if self.len + bytes.len() <= HASH_BUFFER {
            self.pending[self.len..self.len + bytes.len()].copy_from_slice(bytes);
            self.len += bytes.len();
            return;
        }
        self.sha.update(&self.pending[..self.len]);
        self.len = 0;
        if bytes.len() >= HASH_BUFFER {
            self.sha.update(bytes);
        } else {
            self.pending[..bytes.len()].copy_from_slice(bytes);
            self.len = bytes.len();
        }
    }

    /// Adds the compact JSON text of `value`.
    pub fn add_json<T: Serialize + ?Sized>(&mut self, value: &T) -> serde_json::Result<()> {
        serde_json::to_writer(self, value)
    }

    pub fn finish(mut self) -> String {
        self.sha.update(&self.pending[..self.len]);
        hex::encode(&self.sha.finalize()[..12])
    }
}

impl std::io::Write for ContentHash {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.add(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_fed_in_parts_is_the_hash_of_the_joined_text() {
        let value = json!({"a": [1, "two", null], "b": {"c": "d\"e"}});
        let text = serde_json::to_vec(&value).unwrap();
        let mut joined = text.clone();
        joined.extend_from_slice(b"tail");
        let mut hash = ContentHash::new();
        hash.add_json(&value).unwrap();
        hash.add(b"tail");
        assert_eq!(hash.finish(), content_hash(&joined));
        let object = value.as_object().unwrap();
        assert_eq!(etag_of(object), content_hash(&text));
        assert_eq!(content_hash(b"").len(), 24);
        // Parts around and beyond the size of the hash's buffer.
        let long: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let mut hash = ContentHash::new();
        for part in [
            &long[..1000],
            &long[1000..1030],
            &long[1030..4000],
            &long[4000..],
        ] {
            hash.add(part);
        }
        assert_eq!(hash.finish(), content_hash(&long));
    }

    #[test]
    fn stitch_adds_identity_relations_and_status() {
        let entity = Entity::from_value(json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": "web"},
            "spec": {"type": "service", "owner": "team-a", "lifecycle": "production"}
        }))
        .unwrap();
        let owner = EntityRef::parse_full("group:default/team-a").unwrap();
        let rel = Relation {
            relation_type: "ownedBy".into(),
            target_ref: owner,
        };
        let out = stitch(
            entity.clone(),
            "u-1",
            1,
            vec![rel.clone(), rel],
            &[Diagnostic::error("x")],
        );
        assert_eq!(out["metadata"]["namespace"], "default");
        assert_eq!(out["metadata"]["uid"], "u-1");
        assert_eq!(
            out["relations"],
            json!([{"type": "ownedBy", "targetRef": "group:default/team-a"}])
        );
        assert_eq!(out["status"]["items"][0]["type"], PROCESSING_STATUS_TYPE);
        let etag = out["metadata"]["etag"].as_str().unwrap().to_string();
        let again = stitch(entity, "u-1", 1, vec![], &[]);
        assert_ne!(again["metadata"]["etag"].as_str().unwrap(), etag);
    }

    #[test]
    fn stitching_to_text_gives_the_stitched_entity_serialized() {
        let owner = Relation {
            relation_type: "ownedBy".into(),
            target_ref: EntityRef::parse_full("group:default/team-a").unwrap(),
        };
        let cases = [
            // The usual shape, with relations and an error.
            (
                json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
                    "metadata": {"name": "web", "annotations": {"a/b": "x \"quoted\" é ✓"}},
                    "spec": {"type": "service", "owner": "team-a"}}),
                vec![owner.clone()],
                vec![Diagnostic::warning("spec.x is not a known field")],
            ),
            // Keys after `metadata`, a stored final form (etag and relations in place).
            (
                json!({"metadata": {"name": "a", "etag": "old", "namespace": "ns"},
                    "kind": "Group", "spec": {}, "relations": [], "x-extra": [1, 2.5, null]}),
                vec![owner],
                vec![],
            ),
            // No metadata at all, and metadata that is not a map (no uid, no etag).
            (json!({"kind": "Thing"}), vec![], vec![]),
            (json!({"kind": "Thing", "metadata": "odd"}), vec![], vec![]),
        ];
        for (value, relations, errors) in cases {
            let entity = Entity::from_value(value.clone()).unwrap();
            let expected = stitch(entity.clone(), "u-1", 3, relations.clone(), &errors);
            let stitched = stitch_to_text(entity, "u-1", 3, relations, &errors, 0).unwrap();
            assert_eq!(
                stitched.text,
                serde_json::to_string(&expected).unwrap(),
                "{value}"
            );
            assert_eq!(stitched.entity, expected, "{value}");
            let etag = expected["metadata"]["etag"].as_str().unwrap_or_default();
            assert_eq!(stitched.etag, etag, "{value}");
        }
    }
}
