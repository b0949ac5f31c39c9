//! Search rows: the flattened, lower-cased `key = value` pairs of a stitched entity that the
//! catalog's `filter=` queries and facets run on, built as Backstage's `buildEntitySearch` does.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::cell::RefCell;

/// Keys longer than this are not indexed (Backstage: `MAX_KEY_LENGTH`).
pub const MAX_KEY_LENGTH: usize = 200;
/// Values longer than this are indexed as null (Backstage: `MAX_VALUE_LENGTH`), because
/// databases refuse to index very long values.
pub const MAX_VALUE_LENGTH: usize = 200;

/// One row of the search index: a lower-cased dotted key and its lower-cased value, or `None`
/// for null, missing or over-long values.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SearchRow {
    pub key: String,
    pub value: Option<String>,
    /// The value as the entity spells it, before lower-casing (Backstage's `original_value`):
    /// facets show it. `None` when `value` is, and when it is spelled as `value` (in lower
    /// case already), so the common case costs no second copy.
    pub original_value: Option<String>,
}

impl SearchRow {
    /// The value as the entity spells it (see [`SearchRow::original_value`]).
    pub fn spelled(&self) -> Option<&str> {
        self.original_value.as_deref().or(self.value.as_deref())
    }
}

/// The search rows of a stitched entity, sorted by key and value, without duplicates.
///
/// As Backstage: every leaf under its dotted path (array items under the array's key, and for
/// each string item also `<path>.<item> = "true"`, so that "has both tags" can be expressed as
/// two keys); `status`, `attachments` and the raw `relations` array are skipped;
/// `metadata.name`, `metadata.namespace` and `metadata.uid` are always present (null when
/// missing), a missing namespace also matches `default`; each relation becomes
/// `relations.<type> = <targetRef>`.
pub fn search_rows(final_entity: &Value) -> Vec<SearchRow> {
    sorted_rows(final_entity, str::to_string)
        .into_iter()
        .map(|(key, value, original_value)| SearchRow {
            key,
            value,
            original_value,
        })
        .collect()
}

/// A row of [`keyed_search_rows`]: a [`SearchRow`] with its key as the field index stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyedSearchRow {
    /// [`key_id`] of the row's key.
    pub key: i64,
    pub value: Option<String>,
    pub original_value: Option<String>,
}

impl KeyedSearchRow {
    /// The value as the entity spells it (see [`SearchRow::original_value`]).
    pub fn spelled(&self) -> Option<&str> {
        self.original_value.as_deref().or(self.value.as_deref())
    }
}

/// [`search_rows`] as the field index stores them: the same rows, each key as its number
/// ([`key_id`], looked up on the walk's own buffer, so no key is copied), ordered by that
/// number, then value and spelling.
pub fn keyed_search_rows(final_entity: &Value) -> Vec<KeyedSearchRow> {
    sorted_rows(final_entity, key_id)
        .into_iter()
        .map(|(key, value, original_value)| KeyedSearchRow {
            key,
            value,
            original_value,
        })
        .collect()
}

/// A row as (key, value, original value).
type RowParts<K> = (K, Option<String>, Option<String>);

/// The value as the entity spells it (see [`SearchRow::original_value`]).
fn spelled<K>((_, value, original): &RowParts<K>) -> Option<&str> {
    original.as_deref().or(value.as_deref())
}

/// The rows of [`for_each_row`], each key made by `key_of`, sorted by key, value and
/// spelling, one per key and value: of several spellings (`Java`, `java`) the first in that
/// order.
fn sorted_rows<K: Ord>(final_entity: &Value, key_of: impl Fn(&str) -> K) -> Vec<RowParts<K>> {
    let mut rows = Vec::with_capacity(64);
    for_each_row(final_entity, &mut |key, leaf| {
        let (value, original_value) = row_values(leaf);
        rows.push((key_of(key), value, original_value));
    });
    rows.sort_unstable_by(|a, b| (&a.0, &a.1, spelled(a)).cmp(&(&b.0, &b.1, spelled(b))));
    rows.dedup_by(|later, kept| later.0 == kept.0 && later.1 == kept.1);
    rows
}

/// Calls `emit(key, leaf)` for every row of the search index of a stitched entity, before
/// sorting and removing duplicates (see [`search_rows`]); keys too long to index are left out.
fn for_each_row(final_entity: &Value, emit: &mut impl FnMut(&str, Leaf<'_>)) {
    let mut emit = |key: &str, leaf: Leaf<'_>| {
        if key.len() <= MAX_KEY_LENGTH || utf16_len(key) <= MAX_KEY_LENGTH {
            emit(key, leaf);
        }
    };
    let mut path = String::with_capacity(64);
    visit(&mut path, final_entity, Depth::Root, &mut emit);

    let metadata = final_entity.get("metadata").and_then(Value::as_object);
    let metadata_field = |name: &str| {
        metadata
            .and_then(|m| m.get(name))
            .map_or(Leaf::Null, Leaf::of)
    };
    for name in ["metadata.name", "metadata.namespace", "metadata.uid"] {
        let field = &name["metadata.".len()..];
        emit(name, metadata_field(field));
    }
    let namespace = metadata.and_then(|m| m.get("namespace"));
    if namespace
        .is_none_or(|ns| matches!(ns, Value::Null | Value::Bool(false)) || ns.as_str() == Some(""))
    {
        emit(
            "metadata.namespace",
            Leaf::Str(crate::entity_ref::DEFAULT_NAMESPACE),
        );
    }

    if let Some(relations) = final_entity.get("relations").and_then(Value::as_array) {
        let mut key = String::with_capacity(32);
        for relation in relations {
            let Some(relation_type) = relation.get("type").and_then(Value::as_str) else {
                continue;
            };
            let target = relation.get("targetRef").map_or(Leaf::Null, Leaf::of);
            key.clear();
            key.push_str("relations.");
            push_lowercase(&mut key, relation_type);
            emit(&key, target);
        }
    }
}

/// How the field index stores a key: its first 63 bits of SHA-256, a non-negative integer.
///
/// A number instead of the text makes the index's rows a third smaller (keys such as
/// `metadata.annotations.backstage.io/managed-by-origin-location` repeat in every entity's
/// rows, in both of the index's B-trees) and binds without copying. Filters, facets and
/// ordering look a key up by the same number. Two keys would share a number only by a
/// 63-bit second preimage of SHA-256, so a key cannot be made to stand for another.
/// `key` is the lower-cased dotted key, as [`SearchRow::key`].
///
/// Keys repeat across entities (the 3.26M index rows of the synthetic 100k catalog have a few
/// dozen distinct keys), so each thread keeps the numbers it computed, up to [`KNOWN_KEYS`].
pub fn key_id(key: &str) -> i64 {
    thread_local! {
        static KNOWN: RefCell<foldhash::HashMap<Box<str>, i64>> = RefCell::default();
    }
    KNOWN.with(|known| {
        if let Some(&id) = known.borrow().get(key) {
            return id;
        }
        let id = hashed_key_id(key);
        let mut known = known.borrow_mut();
        if known.len() >= KNOWN_KEYS {
            // Keys never seen twice (annotations named per entity) do not grow the memory.
            known.clear();
        }
        known.insert(key.into(), id);
        id
    })
}

/// Most key numbers a thread keeps (see [`key_id`]).
const KNOWN_KEYS: usize = 4096;

fn hashed_key_id(key: &str) -> i64 {
    let digest = Sha256::digest(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::try_from(u64::from_be_bytes(first) >> 1).unwrap_or(i64::MAX)
}

/// The dotted keys of an entity that collide once lower-cased (`spec.owner` and `spec.Owner`),
/// sorted. Backstage refuses to index such an entity, so validation reports them.
///
/// Two paths can only collide where sibling keys differ only in case, siblings being the keys
/// of one map or of all the maps in one list (list items share their list's key). So the check
/// walks the tree level by level and compares distinct sibling spellings, which costs no
/// allocation for the usual entity. The `<list>.<item>` keys are left out: Backstage
/// de-duplicates them case-insensitively, so tags `[Java, java]` do not collide.
pub fn keys_differing_only_in_case(entity: &Value) -> Vec<String> {
    let mut conflicts = Vec::new();
    if let Some(root) = entity.as_object() {
        collect_case_conflicts(&[root], "", &mut conflicts);
    }
    conflicts.sort();
    conflicts.dedup();
    conflicts
}

fn collect_case_conflicts(maps: &[&Map<String, Value>], path: &str, out: &mut Vec<String>) {
    let mut spellings: Vec<&str> = Vec::new();
    for map in maps {
        for key in map.keys() {
            if path.is_empty() && matches!(key.as_str(), "attachments" | "relations" | "status") {
                continue;
            }
            if !spellings.contains(&key.as_str()) {
                spellings.push(key);
            }
        }
    }
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    for (i, a) in spellings.iter().enumerate() {
        for b in &spellings[i + 1..] {
            if same_ignoring_case(a, b) {
                out.push(join(a));
                out.push(join(b));
            }
        }
    }
    for key in spellings {
        let mut children = Vec::new();
        for map in maps {
            if let Some(child) = map.get(key) {
                push_maps(child, &mut children);
            }
        }
        if !children.is_empty() {
            collect_case_conflicts(&children, &join(key), out);
        }
    }
}

/// The maps in a value: itself, or the maps among its (nested) list items.
fn push_maps<'a>(value: &'a Value, out: &mut Vec<&'a Map<String, Value>>) {
    match value {
        Value::Object(map) => out.push(map),
        Value::Array(items) => items.iter().for_each(|item| push_maps(item, out)),
        _ => {}
    }
}

fn same_ignoring_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

/// A scalar leaf of the entity tree.
#[derive(Clone, Copy)]
enum Leaf<'a> {
    Null,
    Str(&'a str),
    Bool(bool),
    Number(&'a serde_json::Number),
    /// Objects and arrays where a scalar was expected (`metadata.name: {}`): indexed as null.
    Other,
    /// The `true` of a `<list>.<string item>` key.
    ArrayItemMarker,
}

impl<'a> Leaf<'a> {
    fn of(value: &'a Value) -> Self {
        match value {
            Value::Null => Leaf::Null,
            Value::String(s) => Leaf::Str(s),
            Value::Bool(b) => Leaf::Bool(*b),
            Value::Number(n) => Leaf::Number(n),
            Value::Array(_) | Value::Object(_) => Leaf::Other,
        }
    }
}

/// Where in the tree a map sits, for Backstage's special keys (matched on the exact spelling).
#[derive(Clone, Copy, PartialEq)]
enum Depth {
    Root,
    RootMetadata,
    Deeper,
}

/// Walks `value`, calling `emit(lower-cased dotted key, leaf)` for every leaf, as Backstage's
/// `traverse` (whose keys are lower-cased afterwards).
fn visit(path: &mut String, value: &Value, depth: Depth, emit: &mut impl FnMut(&str, Leaf<'_>)) {
    match value {
        Value::Object(map) => visit_map(path, map, depth, emit),
        Value::Array(items) => {
            for item in items {
                visit(path, item, Depth::Deeper, emit);
                if let Value::String(s) = item {
                    let len = path.len();
                    path.push('.');
                    push_lowercase(path, s);
                    emit(path, Leaf::ArrayItemMarker);
                    path.truncate(len);
                }
            }
        }
        scalar => emit(path, Leaf::of(scalar)),
    }
}

fn visit_map(
    path: &mut String,
    map: &Map<String, Value>,
    depth: Depth,
    emit: &mut impl FnMut(&str, Leaf<'_>),
) {
    for (key, child) in map {
        let child_depth = match depth {
            Depth::Root => {
                if matches!(key.as_str(), "attachments" | "relations" | "status") {
                    continue;
                }
                if key == "metadata" {
                    Depth::RootMetadata
                } else {
                    Depth::Deeper
                }
            }
            Depth::RootMetadata => {
                if matches!(key.as_str(), "name" | "namespace" | "uid" | "etag") {
                    continue;
                }
                Depth::Deeper
            }
            Depth::Deeper => Depth::Deeper,
        };
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        push_lowercase(path, key);
        visit(path, child, child_depth, emit);
        path.truncate(len);
    }
}

/// Appends `s` lower-cased: the search keys are built lower-case as the walk goes, so each row
/// costs one copy of its key.
fn push_lowercase(buffer: &mut String, s: &str) {
    if s.is_ascii() {
        let start = buffer.len();
        buffer.push_str(s);
        buffer[start..].make_ascii_lowercase();
    } else {
        buffer.push_str(&s.to_lowercase());
    }
}

/// A leaf's (value, original value) as a row stores them (see [`SearchRow`]).
fn row_values(leaf: Leaf<'_>) -> (Option<String>, Option<String>) {
    let value = match leaf {
        Leaf::Null | Leaf::Other => None,
        Leaf::Str(s) => Some(lower(s)),
        Leaf::Bool(b) => Some(if b { "true" } else { "false" }.to_string()),
        Leaf::ArrayItemMarker => Some("true".to_string()),
        Leaf::Number(n) => Some(js_number_string(n)),
    };
    let value = value.filter(|v| v.len() <= MAX_VALUE_LENGTH || utf16_len(v) <= MAX_VALUE_LENGTH);
    let original_value = match (leaf, &value) {
        (Leaf::Str(s), Some(v)) if s != v => Some(s.to_string()),
        _ => None,
    };
    (value, original_value)
}

fn lower(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    }
}

/// Backstage measures lengths in UTF-16 code units (JavaScript strings).
fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// A number as JavaScript's `String(n)` writes it for the common cases: integers without a
/// fraction (`1`, not `1.0`).
fn js_number_string(n: &serde_json::Number) -> String {
    if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
        if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e21 {
            return format!("{f:.0}");
        }
        return f.to_string();
    }
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};
    use serde_json::json;

    fn check(entity: Value, expected: Expect) {
        let rows = search_rows(&entity);
        let text: String = rows
            .iter()
            .map(|r| format!("{} = {}\n", r.key, r.value.as_deref().unwrap_or("<null>")))
            .collect();
        expected.assert_eq(&text);
    }

    #[test]
    fn key_ids_are_the_first_63_bits_of_sha256() {
        // `printf spec.owner | sha256sum` begins 310fd66ecf7bee8b.
        assert_eq!(
            key_id("spec.owner"),
            (0x310f_d66e_cf7b_ee8b_u64 >> 1) as i64
        );
        // The top bit goes, so every id is non-negative; distinct keys, distinct ids.
        let keys = ["kind", "spec.owner", "spec.Owner", "", "relations.ownedby"];
        let ids: std::collections::HashSet<i64> = keys.iter().map(|k| key_id(k)).collect();
        assert_eq!(ids.len(), keys.len());
        assert!(ids.iter().all(|id| *id >= 0));
    }

    #[test]
    fn a_remembered_key_id_is_the_computed_one_before_and_after_the_memory_fills() {
        let first = key_id("spec.owner");
        assert_eq!(key_id("spec.owner"), first);
        for i in 0..KNOWN_KEYS + 10 {
            let key = format!("metadata.annotations.example.com/k{i}");
            assert_eq!(key_id(&key), hashed_key_id(&key));
        }
        assert_eq!(key_id("spec.owner"), hashed_key_id("spec.owner"));
        assert_eq!(key_id("spec.owner"), first);
    }

    #[test]
    fn stitched_component() {
        check(
            json!({
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Component",
                "metadata": {
                    "name": "Artist-Web",
                    "namespace": "default",
                    "uid": "U-1",
                    "etag": "abc",
                    "generation": 1,
                    "tags": ["Java", "data", "java"],
                    "labels": {"example.com/Tier": "Gold"},
                    "annotations": {"backstage.io/techdocs-ref": "dir:."},
                    "links": [{"url": "https://A", "title": "Admin"}, {"url": "https://b"}]
                },
                "spec": {
                    "type": "website",
                    "owner": "team-a",
                    "weight": 1.5,
                    "replicas": 3.0,
                    "public": true,
                    "retired": null,
                    "ports": [80, [443]],
                    "empty": [],
                    "nested": {}
                },
                "relations": [
                    {"type": "ownedBy", "targetRef": "group:default/team-a"},
                    {"type": "partOf", "targetRef": "system:default/Artists"}
                ],
                "status": {"items": [{"type": "x"}]},
                "attachments": {"x": 1}
            }),
            expect![[r#"
                apiversion = backstage.io/v1alpha1
                kind = component
                metadata.annotations.backstage.io/techdocs-ref = dir:.
                metadata.generation = 1
                metadata.labels.example.com/tier = gold
                metadata.links.title = admin
                metadata.links.url = https://a
                metadata.links.url = https://b
                metadata.name = artist-web
                metadata.namespace = default
                metadata.tags = data
                metadata.tags = java
                metadata.tags.data = true
                metadata.tags.java = true
                metadata.uid = u-1
                relations.ownedby = group:default/team-a
                relations.partof = system:default/artists
                spec.owner = team-a
                spec.ports = 443
                spec.ports = 80
                spec.public = true
                spec.replicas = 3
                spec.retired = <null>
                spec.type = website
                spec.weight = 1.5
            "#]],
        );
    }

    #[test]
    fn missing_metadata_fields_and_default_namespace() {
        check(
            json!({"kind": "Thing", "metadata": {}}),
            expect![[r#"
                kind = thing
                metadata.name = <null>
                metadata.namespace = <null>
                metadata.namespace = default
                metadata.uid = <null>
            "#]],
        );
    }

    #[test]
    fn keyed_rows_are_the_rows_by_key_number() {
        let entities = [
            json!({
                "apiVersion": "backstage.io/v1alpha1", "kind": "Component",
                "metadata": {"name": "Web", "uid": "u-1", "tags": ["java", "Java", "Go"],
                    "annotations": {"A/B": "X", "c": 2.5}, "etag": "e"},
                "spec": {"type": "service", "owner": "Team-A", "public": true, "n": null,
                    "deep": {"list": [{"k": "v"}, 3]}},
                "relations": [
                    {"type": "ownedBy", "targetRef": "group:default/team-a"},
                    {"type": "dependsOn", "targetRef": "resource:default/DB"},
                    {"type": "dependsOn", "targetRef": "resource:default/cache"}
                ],
                "status": {"items": []}
            }),
            json!({"kind": "Thing", "metadata": {"namespace": ""}}),
        ];
        for entity in entities {
            let mut expected: Vec<KeyedSearchRow> = search_rows(&entity)
                .into_iter()
                .map(|row| KeyedSearchRow {
                    key: key_id(&row.key),
                    value: row.value,
                    original_value: row.original_value,
                })
                .collect();
            // The store's order: by key number, then as `search_rows` sorts within a key.
            expected.sort_by_key(|row| row.key);
            assert_eq!(keyed_search_rows(&entity), expected, "{entity}");
        }
    }

    #[test]
    fn original_case_is_kept_beside_the_lower_cased_value() {
        let rows = search_rows(&json!({
            "kind": "Component",
            "metadata": {"name": "Web", "tags": ["java", "Java"]},
            "spec": {"public": true}
        }));
        let find = |key: &str| rows.iter().filter(|r| r.key == key).collect::<Vec<_>>();
        assert_eq!(find("kind")[0].original_value.as_deref(), Some("Component"));
        assert_eq!(
            find("metadata.name")[0].original_value.as_deref(),
            Some("Web")
        );
        // Spelled as the value already: no second copy, the same spelling.
        assert_eq!(find("spec.public")[0].original_value, None);
        assert_eq!(find("spec.public")[0].spelled(), Some("true"));
        let tags = find("metadata.tags");
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0].original_value.as_deref(), Some("Java"));
        assert_eq!(find("metadata.uid")[0].original_value, None);
    }

    #[test]
    fn long_keys_are_skipped_and_long_values_nulled() {
        let long = "x".repeat(MAX_VALUE_LENGTH + 1);
        let fits = "y".repeat(MAX_VALUE_LENGTH);
        let entity = json!({
            "metadata": {"name": "a", "namespace": "ns", "uid": "u"},
            "spec": {"long": long, "fits": fits, long.clone(): "v"}
        });
        let rows = search_rows(&entity);
        assert!(rows.contains(&SearchRow {
            key: "spec.long".into(),
            value: None,
            original_value: None
        }));
        assert!(rows.contains(&SearchRow {
            key: "spec.fits".into(),
            value: Some(fits),
            original_value: None
        }));
        assert!(rows.iter().all(|r| !r.key.contains(&long)));
        assert_eq!(
            rows.iter()
                .filter(|r| r.key == "metadata.namespace")
                .count(),
            1
        );
    }

    #[test]
    fn case_collisions() {
        let entity = json!({
            "metadata": {"name": "a", "tags": ["Java", "java"]},
            "spec": {"owner": "a", "Owner": "b", "list": [{"X": 1}, {"x": 2}], "same": [{"y": 1}, {"y": 2}]}
        });
        assert_eq!(
            keys_differing_only_in_case(&entity),
            ["spec.Owner", "spec.list.X", "spec.list.x", "spec.owner"]
        );
        assert_eq!(
            keys_differing_only_in_case(&json!({"spec": {"a": 1, "b": [1, 2]}})),
            Vec::<String>::new()
        );
    }
}
