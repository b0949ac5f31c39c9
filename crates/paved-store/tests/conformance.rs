//! The conformance suite of `CatalogStore`: every test runs against SQLite (a temporary file)
//! and, when `PAVED_TEST_DATABASE_URL` is set, against PostgreSQL in a schema of its own.

use paved_model::filter::{EntityFilter, FilterCondition, FilterSet};
use paved_model::{
    Diagnostic, EmittedRelation, Entity, EntityRef, ProcessedEntity, SourcePosition,
};
use paved_store::*;
use serde_json::{Value, json};
use sqlx::Executor;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

type Store = Arc<dyn CatalogStore>;

/// Runs `test` on a fresh SQLite store, then on a fresh PostgreSQL schema when configured.
async fn on_each_backend<F, Fut>(test: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    on_each_backend_stores(|stores| test(stores.catalog)).await;
}

/// [`on_each_backend`] for tests that need every store on the database, not only the catalog.
async fn on_each_backend_stores<F, Fut>(test: F)
where
    F: Fn(Stores) -> Fut,
    Fut: Future<Output = ()>,
{
    on_each_backend_url(|url| {
        let test = &test;
        async move {
            let stores = connect_stores(&url).await.expect("store");
            let backend = if url.starts_with("sqlite:") {
                "sqlite"
            } else {
                "postgres"
            };
            assert_eq!(stores.catalog.backend(), backend);
            test(stores).await;
        }
    })
    .await;
}

/// Runs `test` with the URL of a fresh SQLite database, then of a fresh PostgreSQL schema
/// when configured: for tests that open the database more than once.
async fn on_each_backend_url<F, Fut>(test: F)
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    test(format!(
        "sqlite://{}",
        dir.path().join("catalog.db").display()
    ))
    .await;

    let Ok(base) = std::env::var("PAVED_TEST_DATABASE_URL") else {
        return;
    };
    sqlx::any::install_default_drivers();
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::AnyPool::connect(&base)
        .await
        .expect("postgres admin connection");
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .await
        .expect("schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    test(format!("{base}{separator}options[search_path]={schema}")).await;
    admin
        .execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .await
        .expect("drop schema");
}

fn eref(s: &str) -> EntityRef {
    EntityRef::parse_full(s).expect("valid ref")
}

fn rel(source: &str, relation_type: &str, target: &str) -> EmittedRelation {
    EmittedRelation {
        source: eref(source),
        relation_type: relation_type.into(),
        target: eref(target),
    }
}

/// A snapshot entity `kind:default/name` from `file`, with extra fields merged into it.
fn ent(
    kind: &str,
    name: &str,
    file: &str,
    extra: Value,
    relations: Vec<EmittedRelation>,
) -> SnapshotEntity {
    let mut value = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
    });
    if let (Some(target), Value::Object(extra)) = (value.as_object_mut(), extra) {
        for (k, v) in extra {
            if k == "metadata" {
                if let (Some(Value::Object(m)), Value::Object(more)) =
                    (target.get_mut("metadata"), v)
                {
                    m.extend(more);
                }
            } else {
                target.insert(k, v);
            }
        }
    }
    let entity = Entity::from_value(value).expect("object");
    SnapshotEntity {
        processed: ProcessedEntity {
            entity_ref: entity.entity_ref(),
            entity,
            relations,
            source: SourcePosition {
                file: file.into(),
                line: 1,
                column: 1,
            },
            warnings: vec![],
        },
        parent: None,
    }
}

fn snap(location: &StoredLocation, entities: Vec<SnapshotEntity>) -> LocationSnapshot {
    LocationSnapshot {
        location_id: location.id.clone(),
        complete: true,
        entities,
        failed_files: vec![],
        retained: vec![],
        errors: vec![],
    }
}

async fn location(store: &Store, target: &str) -> StoredLocation {
    store
        .add_location(NewLocation {
            kind: "file".into(),
            target: target.into(),
            origin: LocationOrigin::Api,
        })
        .await
        .expect("location added")
}

async fn get(store: &Store, r: &str) -> Option<Value> {
    let raw = store.entity_by_ref(&eref(r)).await.expect("read");
    raw.map(|raw| serde_json::from_str(&raw.json).expect("stored JSON parses"))
}

async fn must_get(store: &Store, r: &str) -> Value {
    get(store, r)
        .await
        .unwrap_or_else(|| panic!("{r} should exist"))
}

fn relations_of(entity: &Value) -> Vec<String> {
    entity["relations"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|r| {
                    format!(
                        "{} {}",
                        r["type"].as_str().unwrap_or(""),
                        r["targetRef"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn status_messages(entity: &Value) -> Vec<String> {
    entity["status"]["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| i["message"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Component `name` owned by group `owner`, emitting both directions of the relation.
fn component(name: &str, owner: &str, file: &str) -> SnapshotEntity {
    let me = format!("component:default/{name}");
    let group = format!("group:default/{owner}");
    ent(
        "Component",
        name,
        file,
        json!({"spec": {"type": "service", "lifecycle": "production", "owner": owner}}),
        vec![rel(&me, "ownedBy", &group), rel(&group, "ownerOf", &me)],
    )
}

fn group(name: &str, file: &str) -> SnapshotEntity {
    ent(
        "Group",
        name,
        file,
        json!({"spec": {"type": "team", "children": []}}),
        vec![],
    )
}

#[tokio::test]
async fn locations_add_list_delete_and_conflict() {
    on_each_backend(|store| async move {
        let a = location(&store, "/a.yaml").await;
        let b = location(&store, "/b.yaml").await;
        let mut listed: Vec<String> = store
            .list_locations()
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.target)
            .collect();
        listed.sort();
        assert_eq!(listed, ["/a.yaml", "/b.yaml"]);
        assert_eq!(store.get_location(&a.id).await.unwrap(), Some(a.clone()));
        assert!(a.refreshed_at.is_none());

        let duplicate = store
            .add_location(NewLocation {
                kind: "file".into(),
                target: "/a.yaml".into(),
                origin: LocationOrigin::Api,
            })
            .await;
        assert!(
            matches!(duplicate, Err(StoreError::Conflict(_))),
            "{duplicate:?}"
        );

        let config = NewLocation {
            kind: "url".into(),
            target: "https://x/c.yaml".into(),
            origin: LocationOrigin::Config,
        };
        let first = store.add_location(config.clone()).await.unwrap();
        let again = store.add_location(config).await.unwrap();
        assert_eq!(
            first, again,
            "a config location registered twice is the same location"
        );

        assert!(store.delete_location(&b.id).await.unwrap());
        assert!(!store.delete_location(&b.id).await.unwrap());
        assert_eq!(store.get_location(&b.id).await.unwrap(), None);
        assert_eq!(store.list_locations().await.unwrap().len(), 2);

        store.retain_config_locations(&[]).await.unwrap();
        let left = store.list_locations().await.unwrap();
        assert_eq!(left, vec![a]);
    })
    .await;
}

#[tokio::test]
async fn apply_stitches_relations_from_both_sides_and_keeps_dangling_ones() {
    on_each_backend(|store| async move {
        let loc = location(&store, "/catalog.yaml").await;
        let mut web = component("web", "team-a", "/catalog.yaml");
        web.processed.relations.push(rel(
            "component:default/web",
            "dependsOn",
            "component:default/missing",
        ));
        web.processed.relations.push(rel(
            "component:default/missing",
            "dependencyOf",
            "component:default/web",
        ));
        let outcome = store
            .apply_location_snapshot(snap(&loc, vec![web, group("team-a", "/catalog.yaml")]))
            .await
            .unwrap();
        assert_eq!(
            (outcome.added, outcome.updated, outcome.unchanged),
            (2, 0, 0)
        );
        assert_eq!(outcome.stitched, 2);

        let web = must_get(&store, "component:default/web").await;
        assert_eq!(
            relations_of(&web),
            [
                "dependsOn component:default/missing",
                "ownedBy group:default/team-a"
            ]
        );
        assert_eq!(web["metadata"]["generation"], 1);
        assert_eq!(web["metadata"]["namespace"], "default");
        let team = must_get(&store, "group:default/team-a").await;
        assert_eq!(relations_of(&team), ["ownerOf component:default/web"]);

        let uid = web["metadata"]["uid"].as_str().unwrap().to_string();
        let by_uid = store.entity_by_uid(&uid).await.unwrap().expect("by uid");
        assert_eq!(serde_json::from_str::<Value>(&by_uid.json).unwrap(), web);
        assert!(store.entity_by_uid("nope").await.unwrap().is_none());

        let refs = [
            eref("group:default/team-a"),
            eref("component:default/missing"),
            eref("component:default/web"),
        ];
        let many = store.entities_by_refs(&refs).await.unwrap();
        assert_eq!(many.len(), 3);
        assert!(many[0].as_ref().unwrap().json.contains("\"team-a\""));
        assert!(many[1].is_none());
        assert!(many[2].as_ref().unwrap().json.contains("\"web\""));

        let location = store
            .location_of_entity(&eref("component:default/web"))
            .await
            .unwrap();
        assert_eq!(location.map(|l| l.id), Some(loc.id.clone()));
        assert!(
            store
                .get_location(&loc.id)
                .await
                .unwrap()
                .unwrap()
                .refreshed_at
                .is_some()
        );

        let counts = store.count_by_kind().await.unwrap();
        assert_eq!(counts.get("component"), Some(&1));
        assert_eq!(counts.get("group"), Some(&1));
    })
    .await;
}

#[tokio::test]
async fn unchanged_reapply_keeps_etag_and_spec_change_bumps_generation() {
    on_each_backend(|store| async move {
        let loc = location(&store, "/c.yaml").await;
        store
            .apply_location_snapshot(snap(&loc, vec![component("web", "team-a", "/c.yaml")]))
            .await
            .unwrap();
        let before = must_get(&store, "component:default/web").await;

        let outcome = store
            .apply_location_snapshot(snap(&loc, vec![component("web", "team-a", "/c.yaml")]))
            .await
            .unwrap();
        assert_eq!(
            (
                outcome.added,
                outcome.updated,
                outcome.unchanged,
                outcome.stitched
            ),
            (0, 0, 1, 0)
        );
        assert_eq!(must_get(&store, "component:default/web").await, before);

        // Metadata only: new etag, same generation.
        let mut described = component("web", "team-a", "/c.yaml");
        described.processed.entity.as_object_mut()["metadata"]["description"] = json!("hello");
        let outcome = store
            .apply_location_snapshot(snap(&loc, vec![described]))
            .await
            .unwrap();
        assert_eq!(outcome.updated, 1);
        let after = must_get(&store, "component:default/web").await;
        assert_eq!(after["metadata"]["generation"], 1);
        assert_ne!(after["metadata"]["etag"], before["metadata"]["etag"]);
        assert_eq!(after["metadata"]["uid"], before["metadata"]["uid"]);

        // Spec: generation + 1, relations follow the new owner on both sides.
        store
            .apply_location_snapshot(snap(
                &loc,
                vec![
                    component("web", "team-b", "/c.yaml"),
                    group("team-a", "/c.yaml"),
                ],
            ))
            .await
            .unwrap();
        let after = must_get(&store, "component:default/web").await;
        assert_eq!(after["metadata"]["generation"], 2);
        assert_eq!(relations_of(&after), ["ownedBy group:default/team-b"]);
        assert_eq!(
            relations_of(&must_get(&store, "group:default/team-a").await),
            Vec::<String>::new()
        );
    })
    .await;
}

#[tokio::test]
async fn an_entity_provided_by_two_locations_stays_with_the_first() {
    on_each_backend(|store| async move {
        let first = location(&store, "/first.yaml").await;
        let second = location(&store, "/second.yaml").await;
        store
            .apply_location_snapshot(snap(
                &first,
                vec![component("web", "team-a", "/first.yaml")],
            ))
            .await
            .unwrap();
        let mut root = ent(
            "Location",
            "second",
            "/second.yaml",
            json!({"spec": {"targets": ["./web.yaml"]}}),
            vec![],
        );
        root.parent = None;
        let mut contender = component("web", "team-b", "/second/web.yaml");
        contender.parent = Some(eref("location:default/second"));
        let outcome = store
            .apply_location_snapshot(snap(&second, vec![root, contender]))
            .await
            .unwrap();
        assert_eq!(outcome.conflicts, 1);
        assert_eq!(outcome.added, 1);

        let web = must_get(&store, "component:default/web").await;
        assert_eq!(web["spec"]["owner"], "team-a");
        let errors = store.processing_errors().await.unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].location_id, second.id);
        assert_eq!(errors[0].location_target, "/second.yaml");
        assert!(
            errors[0]
                .diagnostic
                .message
                .contains("already provided by location"),
            "{:?}",
            errors[0]
        );
        // Shown on the Location entity that listed the file.
        let root = must_get(&store, "location:default/second").await;
        assert_eq!(status_messages(&root).len(), 1);

        // Twice in one snapshot: the first wins.
        let outcome = store
            .apply_location_snapshot(snap(
                &first,
                vec![
                    component("web", "team-a", "/first.yaml"),
                    component("web", "team-z", "/first.yaml"),
                ],
            ))
            .await
            .unwrap();
        assert_eq!(outcome.conflicts, 1);
        assert_eq!(
            must_get(&store, "component:default/web").await["spec"]["owner"],
            "team-a"
        );
    })
    .await;
}

#[tokio::test]
async fn vanished_entities_become_orphans_unless_the_reading_was_partial() {
    on_each_backend(|store| async move {
        let loc = location(&store, "/o.yaml").await;
        let all = || {
            vec![
                component("a", "t", "/one.yaml"),
                component("b", "t", "/two.yaml"),
                component("c", "t", "/two.yaml"),
                group("t", "/one.yaml"),
            ]
        };
        store
            .apply_location_snapshot(snap(&loc, all()))
            .await
            .unwrap();

        // Incomplete reading: nothing is orphaned.
        let mut partial = snap(&loc, vec![]);
        partial.complete = false;
        let outcome = store.apply_location_snapshot(partial).await.unwrap();
        assert_eq!(outcome.orphaned, 0);
        assert!(
            must_get(&store, "component:default/a").await["metadata"]["annotations"]
                .get("backstage.io/orphan")
                .is_none()
        );

        // /two.yaml failed to parse, c is retained: only a is orphaned.
        let mut failed = snap(&loc, vec![group("t", "/one.yaml")]);
        failed.failed_files = vec!["/two.yaml".into()];
        let outcome = store.apply_location_snapshot(failed).await.unwrap();
        assert_eq!(outcome.orphaned, 1);
        let a = must_get(&store, "component:default/a").await;
        assert_eq!(a["metadata"]["annotations"]["backstage.io/orphan"], "true");
        for name in ["b", "c"] {
            let e = must_get(&store, &format!("component:default/{name}")).await;
            assert!(
                e["metadata"]["annotations"]
                    .get("backstage.io/orphan")
                    .is_none(),
                "{name} kept as it was"
            );
        }
        // An orphan keeps its relations.
        assert_eq!(relations_of(&a), ["ownedBy group:default/t"]);

        // Reappearing clears the annotation.
        let outcome = store
            .apply_location_snapshot(snap(&loc, all()))
            .await
            .unwrap();
        assert_eq!(outcome.orphaned, 0);
        let a = must_get(&store, "component:default/a").await;
        assert!(
            a["metadata"]
                .get("annotations")
                .and_then(|x| x.get("backstage.io/orphan"))
                .is_none()
        );
    })
    .await;
}

/// Sends `parts` to the store one at a time, as a reading in progress does.
async fn apply_parts(
    store: &Store,
    location: &StoredLocation,
    parts: Vec<SnapshotPart>,
) -> StoreResult<ApplyOutcome> {
    let (sender, receiver) = tokio::sync::mpsc::channel(1);
    let sending = async move {
        for part in parts {
            if sender.send(part).await.is_err() {
                break;
            }
        }
    };
    let ((), outcome) = tokio::join!(sending, store.apply_location_parts(&location.id, receiver));
    outcome
}

/// A part of a streamed reading, encoded as the reader encodes it.
fn part(entities: Vec<SnapshotEntity>) -> SnapshotPart {
    SnapshotPart::Entities(
        entities
            .iter()
            .map(|e| EncodedEntity::encode(e).expect("entity encodes"))
            .collect(),
    )
}

fn complete_end() -> SnapshotPart {
    SnapshotPart::End(SnapshotEnd {
        complete: true,
        ..SnapshotEnd::default()
    })
}

/// Applies `entities` as a complete reading streamed in parts of 1000.
async fn apply_in_parts(
    store: &Store,
    location: &StoredLocation,
    entities: &[SnapshotEntity],
) -> StoreResult<ApplyOutcome> {
    let mut parts: Vec<SnapshotPart> = entities
        .chunks(1000)
        .map(|chunk| part(chunk.to_vec()))
        .collect();
    parts.push(complete_end());
    apply_parts(store, location, parts).await
}

#[tokio::test]
async fn a_reading_streamed_in_parts_is_applied_as_one_snapshot() {
    on_each_backend(|store| async move {
        let loc = location(&store, "/s.yaml").await;
        // The group comes in a later part than the components whose relations point at it,
        // and a second `a` in that part is a conflict.
        let outcome = apply_parts(
            &store,
            &loc,
            vec![
                part(vec![
                    component("a", "t", "/one.yaml"),
                    component("b", "t", "/one.yaml"),
                ]),
                part(vec![
                    group("t", "/two.yaml"),
                    component("a", "other", "/two.yaml"),
                ]),
                complete_end(),
            ],
        )
        .await
        .unwrap();
        assert_eq!(
            (outcome.added, outcome.conflicts, outcome.stitched),
            (3, 1, 3)
        );
        let a = must_get(&store, "component:default/a").await;
        assert_eq!(relations_of(&a), ["ownedBy group:default/t"]);
        let t = must_get(&store, "group:default/t").await;
        assert_eq!(
            relations_of(&t),
            ["ownerOf component:default/a", "ownerOf component:default/b"]
        );
        let errors: Vec<String> = store
            .processing_errors()
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.diagnostic.message)
            .collect();
        assert_eq!(
            errors,
            ["entity component:default/a is defined more than once in this location"]
        );
        let last = store.recent_changes(1).await.unwrap()[0].sequence;

        // The same reading again, in other parts: nothing changes, no event, same etags.
        let outcome = apply_parts(
            &store,
            &loc,
            vec![
                part(vec![component("a", "t", "/one.yaml")]),
                part(vec![component("b", "t", "/one.yaml")]),
                part(vec![group("t", "/two.yaml")]),
                complete_end(),
            ],
        )
        .await
        .unwrap();
        assert_eq!((outcome.unchanged, outcome.stitched), (3, 0));
        assert!(store.changes_since(last, 100).await.unwrap().is_empty());
        assert_eq!(must_get(&store, "component:default/a").await, a);

        // What is absent from every part becomes an orphan; the rest is untouched.
        let outcome = apply_parts(
            &store,
            &loc,
            vec![
                part(vec![]),
                part(vec![component("b", "t", "/one.yaml")]),
                part(vec![group("t", "/two.yaml")]),
                complete_end(),
            ],
        )
        .await
        .unwrap();
        assert_eq!((outcome.orphaned, outcome.unchanged), (1, 2));
        let orphaned = must_get(&store, "component:default/a").await;
        assert_eq!(
            orphaned["metadata"]["annotations"]["backstage.io/orphan"],
            "true"
        );
        let events = store.changes_since(last, 100).await.unwrap();
        let refs: Vec<String> = events.iter().map(|e| e.entity_ref.to_string()).collect();
        assert_eq!(refs, ["component:default/a"]);
        assert!(
            must_get(&store, "component:default/b").await["metadata"]
                .get("annotations")
                .and_then(|a| a.get("backstage.io/orphan"))
                .is_none()
        );
    })
    .await;
}

#[tokio::test]
async fn a_reading_of_one_file_touches_only_that_file() {
    on_each_backend(|store| async move {
        let loc = location(&store, "/files.yaml").await;
        let file_error = |file: &str, message: &str| ProcessingError {
            entity_ref: None,
            diagnostic: Diagnostic::error(message).with_file(file),
        };
        let mut all = snap(
            &loc,
            vec![
                component("a1", "t", "/a.yaml"),
                component("a2", "t", "/a.yaml"),
                component("b1", "t", "/b.yaml"),
            ],
        );
        all.errors = vec![file_error("/a.yaml", "old a"), file_error("/b.yaml", "b")];
        store.apply_location_snapshot(all).await.unwrap();
        let refreshed_at = store
            .get_location(&loc.id)
            .await
            .unwrap()
            .unwrap()
            .refreshed_at;

        // /a.yaml alone, without a2 and with a new error: a2 is orphaned, b1 is not though
        // it is absent, and only /a.yaml's error is replaced.
        let outcome = apply_parts(
            &store,
            &loc,
            vec![
                part(vec![component("a1", "t", "/a.yaml")]),
                SnapshotPart::End(SnapshotEnd {
                    complete: true,
                    errors: vec![file_error("/a.yaml", "new a")],
                    only_file: Some("/a.yaml".into()),
                    ..SnapshotEnd::default()
                }),
            ],
        )
        .await
        .unwrap();
        assert_eq!((outcome.orphaned, outcome.unchanged), (1, 1));
        let orphan = |entity: Value| {
            entity["metadata"]["annotations"]
                .get("backstage.io/orphan")
                .cloned()
        };
        assert_eq!(
            orphan(must_get(&store, "component:default/a2").await),
            Some(json!("true"))
        );
        assert_eq!(orphan(must_get(&store, "component:default/b1").await), None);
        let mut messages: Vec<String> = store
            .processing_errors()
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.diagnostic.message)
            .collect();
        messages.sort();
        assert_eq!(messages, ["b", "new a"]);
        assert_eq!(
            store
                .get_location(&loc.id)
                .await
                .unwrap()
                .unwrap()
                .refreshed_at,
            refreshed_at,
            "a reading of one file is not a refresh of the location"
        );
    })
    .await;
}

#[tokio::test]
async fn a_reading_that_stops_before_its_end_stores_nothing() {
    on_each_backend(|store| async move {
        let loc = location(&store, "/stop.yaml").await;
        let error = apply_parts(
            &store,
            &loc,
            vec![part(vec![component("x", "t", "/stop.yaml")])],
        )
        .await
        .unwrap_err();
        assert!(matches!(error, StoreError::Invalid(_)), "{error:?}");
        assert_eq!(get(&store, "component:default/x").await, None);
        assert!(store.changes_since(0, 10).await.unwrap().is_empty());
        assert_eq!(
            store
                .get_location(&loc.id)
                .await
                .unwrap()
                .unwrap()
                .refreshed_at,
            None
        );

        // Nothing was left open: the next reading is stored.
        let outcome = apply_parts(
            &store,
            &loc,
            vec![
                part(vec![component("x", "t", "/stop.yaml")]),
                complete_end(),
            ],
        )
        .await
        .unwrap();
        assert_eq!(outcome.added, 1);
        assert!(get(&store, "component:default/x").await.is_some());
    })
    .await;
}

/// Enough entities for the store's bulk path (indexes built once after the writes, on
/// SQLite): 6000 components owned by ten groups, each depending on the next; `described`
/// components (by index) carry a description.
fn large_catalog(described: impl Fn(usize) -> bool) -> Vec<SnapshotEntity> {
    const COMPONENTS: usize = 6000;
    let mut entities: Vec<SnapshotEntity> = (0..10)
        .map(|g| group(&format!("g{g}"), "/large.yaml"))
        .collect();
    for i in 0..COMPONENTS {
        let me = format!("component:default/c{i}");
        let owner = format!("group:default/g{}", i % 10);
        let next = format!("component:default/c{}", (i + 1) % COMPONENTS);
        let mut spec = json!({"type": "service", "lifecycle": "production",
            "owner": format!("g{}", i % 10), "dependsOn": [next.clone()]});
        let mut metadata = json!({});
        if described(i) {
            metadata = json!({"description": format!("component {i}")});
            spec["lifecycle"] = json!("experimental");
        }
        entities.push(ent(
            "Component",
            &format!("c{i}"),
            &format!("/large-{}.yaml", i / 1000),
            json!({"metadata": metadata, "spec": spec}),
            vec![
                rel(&me, "ownedBy", &owner),
                rel(&owner, "ownerOf", &me),
                rel(&me, "dependsOn", &next),
                rel(&next, "dependencyOf", &me),
            ],
        ));
    }
    entities
}

/// Applies `entities` in parts of 1000 and checks the whole catalog through the read API.
async fn apply_and_check_large(
    store: &Store,
    loc: &StoredLocation,
    entities: Vec<SnapshotEntity>,
    experimental: u64,
) -> ApplyOutcome {
    let outcome = apply_in_parts(store, loc, &entities).await.unwrap();

    let counts = store.count_by_kind().await.unwrap();
    assert_eq!(counts.get("component"), Some(&6000));
    assert_eq!(counts.get("group"), Some(&10));
    let page = store
        .query_entities(&EntityQuery {
            filter: Some(filter(&[&[
                ("kind", Some(&["component"])),
                ("spec.owner", Some(&["g3"])),
            ]])),
            limit: Some(5),
            ..EntityQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        page.total_items, 600,
        "one field index row per entity and key"
    );
    let facets = store
        .facets(&["spec.lifecycle".to_string()], None)
        .await
        .unwrap();
    let expected: Vec<FacetCount> = [
        ("experimental", experimental),
        ("production", 6000 - experimental),
    ]
    .into_iter()
    .filter(|(_, count)| *count > 0)
    .map(|(value, count)| FacetCount {
        value: value.into(),
        count,
    })
    .collect();
    assert_eq!(facets["spec.lifecycle"], expected);
    let g3 = must_get(store, "group:default/g3").await;
    assert_eq!(relations_of(&g3).len(), 600);
    let c42 = must_get(store, "component:default/c42").await;
    assert_eq!(
        relations_of(&c42),
        [
            "dependencyOf component:default/c41",
            "dependsOn component:default/c43",
            "ownedBy group:default/g2",
        ]
    );
    outcome
}

/// The relations of every entity, by ref.
async fn all_relations(store: &Store) -> BTreeMap<String, Vec<String>> {
    let page = store
        .query_entities(&EntityQuery {
            limit: Some(100_000),
            ..EntityQuery::default()
        })
        .await
        .unwrap();
    page.items
        .iter()
        .map(|raw| {
            let entity: Value = serde_json::from_str(&raw.json).unwrap();
            let entity_ref = format!(
                "{}:default/{}",
                entity["kind"].as_str().unwrap().to_lowercase(),
                entity["metadata"]["name"].as_str().unwrap()
            );
            (entity_ref, relations_of(&entity))
        })
        .collect()
}

#[tokio::test]
async fn large_applies_give_the_same_catalog_as_small_ones() {
    on_each_backend(|store| async move {
        let loc = location(&store, "/large.yaml").await;
        let outcome = apply_and_check_large(&store, &loc, large_catalog(|_| false), 0).await;
        assert_eq!((outcome.added, outcome.stitched), (6010, 6010));
        let last = store.recent_changes(1).await.unwrap()[0].sequence;
        // The first ingestion stitched from the relations it held in memory; the next one
        // reads them from the relations table: the same relations for every entity.
        let first = all_relations(&store).await;
        assert_eq!(first.len(), 6010);

        // Every component changes: their field index rows are replaced, not added to.
        let outcome = apply_and_check_large(&store, &loc, large_catalog(|_| true), 6000).await;
        assert_eq!((outcome.updated, outcome.unchanged), (6000, 10));
        assert_eq!(all_relations(&store).await, first);
        assert_eq!(store.changes_since(last, 10_000).await.unwrap().len(), 6000);
        let last = store.recent_changes(1).await.unwrap()[0].sequence;

        // A few change: the same result row by row.
        let outcome = apply_and_check_large(&store, &loc, large_catalog(|i| i >= 10), 5990).await;
        assert_eq!((outcome.updated, outcome.unchanged), (10, 6000));
        assert_eq!(store.changes_since(last, 10_000).await.unwrap().len(), 10);
    })
    .await;
}

#[tokio::test]
async fn an_ingestion_onto_a_catalog_stitches_the_relations_other_locations_emitted() {
    on_each_backend(|store| async move {
        // Another location's group claims c1 before the large location is read: c1's final
        // form must carry that relation, which the large ingestion itself never wrote.
        let extra = location(&store, "/extra.yaml").await;
        let outsider = ent(
            "Group",
            "outsider",
            "/extra.yaml",
            json!({"spec": {"type": "team", "children": []}}),
            vec![
                rel("group:default/outsider", "ownerOf", "component:default/c1"),
                rel("component:default/c1", "ownedBy", "group:default/outsider"),
            ],
        );
        store
            .apply_location_snapshot(snap(&extra, vec![outsider]))
            .await
            .unwrap();
        let loc = location(&store, "/large.yaml").await;
        apply_in_parts(&store, &loc, &large_catalog(|_| false))
            .await
            .unwrap();
        let c1 = must_get(&store, "component:default/c1").await;
        assert_eq!(
            relations_of(&c1),
            [
                "dependencyOf component:default/c0",
                "dependsOn component:default/c2",
                "ownedBy group:default/g1",
                "ownedBy group:default/outsider",
            ]
        );
        let outsider = must_get(&store, "group:default/outsider").await;
        assert_eq!(relations_of(&outsider), ["ownerOf component:default/c1"]);
    })
    .await;
}

#[tokio::test]
async fn a_new_sqlite_database_has_16_kib_pages() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("catalog.db").display());
    let store = connect(&url).await.expect("sqlite store");
    store.close().await;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.expect("sqlite");
    let (page_size,): (i64,) = sqlx::query_as("PRAGMA page_size")
        .fetch_one(&pool)
        .await
        .expect("page size");
    pool.close().await;
    assert_eq!(page_size, 16384);
}

#[tokio::test]
async fn sqlite_urls_paved_cannot_write_through_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("catalog.db");
    for (url, reason) in [
        ("sqlite::memory:".to_string(), "in-memory"),
        (format!("sqlite://{}?mode=ro", file.display()), "read-write"),
    ] {
        match connect(&url).await {
            Err(StoreError::Invalid(message)) => {
                assert!(message.contains(reason), "{url}: {message}")
            }
            Err(other) => panic!("{url}: unexpected {other:?}"),
            Ok(_) => panic!("{url}: accepted"),
        }
    }
    assert!(!file.exists(), "nothing was created");
}

/// The indexes of the field index and the relations in the SQLite database at `url`.
async fn search_and_relation_indexes(url: &str) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.expect("sqlite");
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'index' \
         AND tbl_name IN ('search', 'relations') AND sql IS NOT NULL ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .expect("indexes");
    pool.close().await;
    rows.into_iter().map(|(name,)| name).collect()
}

#[tokio::test]
async fn a_large_sqlite_apply_builds_the_indexes_it_dropped_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("catalog.db").display());
    let indexes = || search_and_relation_indexes(&url);
    let store = connect(&url).await.expect("sqlite store");
    let before = indexes().await;
    assert_eq!(
        before,
        [
            "relations_originator",
            "relations_source",
            "search_key_value_entity"
        ]
    );
    let loc = location(&store, "/large.yaml").await;
    apply_and_check_large(&store, &loc, large_catalog(|_| false), 0).await;
    assert_eq!(indexes().await, before);
}

#[tokio::test]
async fn a_retained_entity_keeps_its_previous_version_with_the_new_error() {
    on_each_backend(|store| async move {
        let loc = location(&store, "/r.yaml").await;
        store
            .apply_location_snapshot(snap(&loc, vec![component("web", "team-a", "/r.yaml")]))
            .await
            .unwrap();
        let before = must_get(&store, "component:default/web").await;
        assert!(status_messages(&before).is_empty());

        let mut next = snap(&loc, vec![]);
        next.retained = vec![eref("component:default/web")];
        next.errors = vec![ProcessingError {
            entity_ref: Some(eref("component:default/web")),
            diagnostic: Diagnostic::error("spec.owner is required")
                .with_file("/r.yaml")
                .at(4, 3),
        }];
        let outcome = store.apply_location_snapshot(next).await.unwrap();
        assert_eq!(outcome.orphaned, 0);
        let after = must_get(&store, "component:default/web").await;
        assert_eq!(after["spec"], before["spec"]);
        let messages = status_messages(&after);
        assert_eq!(messages.len(), 1);
        assert!(
            messages[0].contains("spec.owner is required"),
            "{messages:?}"
        );
        assert_eq!(
            after["status"]["items"][0]["type"],
            "backstage.io/catalog-processing"
        );

        // Fixed: the error goes away.
        store
            .apply_location_snapshot(snap(&loc, vec![component("web", "team-a", "/r.yaml")]))
            .await
            .unwrap();
        assert!(status_messages(&must_get(&store, "component:default/web").await).is_empty());
        assert!(store.processing_errors().await.unwrap().is_empty());
    })
    .await;
}

/// Group `team-a` from one location and two components it owns (`web`, `api`) from
/// another, which is returned.
async fn team_and_two_services(store: &Store) -> StoredLocation {
    let teams = location(store, "/teams.yaml").await;
    let services = location(store, "/services.yaml").await;
    store
        .apply_location_snapshot(snap(&teams, vec![group("team-a", "/teams.yaml")]))
        .await
        .unwrap();
    store
        .apply_location_snapshot(snap(
            &services,
            vec![
                component("web", "team-a", "/s.yaml"),
                component("api", "team-a", "/s.yaml"),
            ],
        ))
        .await
        .unwrap();
    services
}

#[tokio::test]
async fn deleting_a_location_removes_its_entities_and_restitches_neighbours() {
    on_each_backend(|store| async move {
        let services = team_and_two_services(&store).await;
        assert_eq!(
            relations_of(&must_get(&store, "group:default/team-a").await),
            [
                "ownerOf component:default/api",
                "ownerOf component:default/web"
            ]
        );

        // Delete one entity by uid: the group loses that inverse relation.
        let api = must_get(&store, "component:default/api").await;
        assert!(
            store
                .delete_entity_by_uid(api["metadata"]["uid"].as_str().unwrap())
                .await
                .unwrap()
        );
        assert!(!store.delete_entity_by_uid("no-such-uid").await.unwrap());
        assert!(get(&store, "component:default/api").await.is_none());
        assert_eq!(
            relations_of(&must_get(&store, "group:default/team-a").await),
            ["ownerOf component:default/web"]
        );

        assert!(store.delete_location(&services.id).await.unwrap());
        assert!(get(&store, "component:default/web").await.is_none());
        assert_eq!(
            relations_of(&must_get(&store, "group:default/team-a").await),
            Vec::<String>::new()
        );
        assert_eq!(store.count_by_kind().await.unwrap().get("component"), None);
    })
    .await;
}

/// Rows of the field index and of the relations, (search, relations); with `orphaned` only
/// those whose entity is gone.
async fn field_and_relation_rows(url: &str, orphaned: bool) -> (i64, i64) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.expect("database");
    let mut counts = [0; 2];
    for (count, (table, entity_column)) in counts.iter_mut().zip([
        ("search", "entity_id"),
        ("relations", "originating_entity_id"),
    ]) {
        let only_orphaned = if orphaned {
            format!(" WHERE {entity_column} NOT IN (SELECT id FROM entities)")
        } else {
            String::new()
        };
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {table}{only_orphaned}"
        )))
        .fetch_one(&pool)
        .await
        .expect("row count");
        *count = n;
    }
    pool.close().await;
    (counts[0], counts[1])
}

#[tokio::test]
async fn removed_entities_take_their_field_index_and_relation_rows_with_them() {
    on_each_backend_url(|url| async move {
        let store = connect(&url).await.expect("store");
        let services = team_and_two_services(&store).await;
        let (search, relations) = field_and_relation_rows(&url, false).await;
        assert!(search > 0 && relations > 0, "{search} {relations}");

        // One entity by uid, then a whole location: no row of theirs stays behind.
        let api = must_get(&store, "component:default/api").await;
        assert!(
            store
                .delete_entity_by_uid(api["metadata"]["uid"].as_str().unwrap())
                .await
                .unwrap()
        );
        assert_eq!(field_and_relation_rows(&url, true).await, (0, 0));
        let (after_one, _) = field_and_relation_rows(&url, false).await;
        assert!(after_one < search, "{after_one} of {search}");
        assert!(store.delete_location(&services.id).await.unwrap());
        assert_eq!(field_and_relation_rows(&url, true).await, (0, 0));
        // The group keeps its own rows; it emits no relation itself.
        let (search_left, relations_left) = field_and_relation_rows(&url, false).await;
        assert!(search_left > 0, "{search_left}");
        assert_eq!(relations_left, 0);
        store.close().await;
    })
    .await;
}

/// `(key, values)`; `None` = the key exists.
type Condition<'a> = (&'a str, Option<&'a [&'a str]>);

fn filter(sets: &[&[Condition<'_>]]) -> EntityFilter {
    EntityFilter {
        any_of: sets
            .iter()
            .map(|set| FilterSet {
                all_of: set
                    .iter()
                    .map(|(key, values)| FilterCondition {
                        key: key.to_string(),
                        values: values.map(|v| v.iter().map(|s| s.to_string()).collect()),
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn names(page: &EntityPage) -> Vec<String> {
    page.items
        .iter()
        .map(|raw| {
            let v: Value = serde_json::from_str(&raw.json).unwrap();
            v["metadata"]["name"].as_str().unwrap().to_string()
        })
        .collect()
}

/// Five components and two groups with owners, lifecycles and tags for query tests.
async fn query_fixture(store: &Store) {
    let loc = location(store, "/q.yaml").await;
    let c = |name: &str, owner: &str, lifecycle: &str, tags: Value| {
        let mut e = component(name, owner, "/q.yaml");
        let obj = e.processed.entity.as_object_mut();
        obj["spec"]["lifecycle"] = json!(lifecycle);
        obj["metadata"]["tags"] = tags;
        e
    };
    let entities = vec![
        c("alpha", "team-a", "production", json!(["Java", "web"])),
        c("bravo", "team-b", "experimental", json!(["go"])),
        c("charlie", "team-a", "production", json!([])),
        c("delta", "team-b", "production", json!(["Java"])),
        c("echo", "team-c", "deprecated", json!(["web"])),
        group("team-a", "/q.yaml"),
        group("team-b", "/q.yaml"),
    ];
    store
        .apply_location_snapshot(snap(&loc, entities))
        .await
        .unwrap();
}

#[tokio::test]
async fn filters_ordering_paging_and_full_text() {
    on_each_backend(|store| async move {
        query_fixture(&store).await;
        let query = |filter: Option<EntityFilter>| EntityQuery {
            filter,
            ..Default::default()
        };

        // Default order: by entity ref.
        let all = store.query_entities(&query(None)).await.unwrap();
        assert_eq!(
            names(&all),
            [
                "alpha", "bravo", "charlie", "delta", "echo", "team-a", "team-b"
            ]
        );
        assert_eq!(all.total_items, 7);

        let and = filter(&[&[
            ("kind", Some(&["component"])),
            ("spec.owner", Some(&["team-a"])),
        ]]);
        assert_eq!(
            names(&store.query_entities(&query(Some(and))).await.unwrap()),
            ["alpha", "charlie"]
        );
        let or = filter(&[
            &[("spec.owner", Some(&["team-c"]))],
            &[("kind", Some(&["group"]))],
        ]);
        assert_eq!(
            names(&store.query_entities(&query(Some(or))).await.unwrap()),
            ["echo", "team-a", "team-b"]
        );
        let multi = filter(&[&[("spec.lifecycle", Some(&["experimental", "deprecated"]))]]);
        assert_eq!(
            names(&store.query_entities(&query(Some(multi))).await.unwrap()),
            ["bravo", "echo"]
        );
        let exists = filter(&[&[("metadata.tags", None)]]);
        assert_eq!(
            names(&store.query_entities(&query(Some(exists))).await.unwrap()),
            ["alpha", "bravo", "delta", "echo"]
        );
        let relation = filter(&[&[("relations.ownerof", Some(&["component:default/alpha"]))]]);
        assert_eq!(
            names(&store.query_entities(&query(Some(relation))).await.unwrap()),
            ["team-a"]
        );
        let none = filter(&[&[("spec.owner", Some(&["nobody"]))]]);
        let empty = store.query_entities(&query(Some(none))).await.unwrap();
        assert!(empty.items.is_empty());
        assert_eq!(empty.total_items, 0);

        // Order by owner descending; groups have no owner and sort last; ties by id (insertion).
        let ordered = EntityQuery {
            order: vec![OrderField {
                field: "spec.owner".into(),
                descending: true,
            }],
            ..Default::default()
        };
        let page = store.query_entities(&ordered).await.unwrap();
        assert_eq!(
            names(&page),
            [
                "echo", "bravo", "delta", "alpha", "charlie", "team-a", "team-b"
            ]
        );

        // Keyset pages of 2, forward to the end, then backward to the start.
        let mut forward = Vec::new();
        let mut query = EntityQuery {
            limit: Some(2),
            ..ordered.clone()
        };
        let mut pages = 0;
        let last = loop {
            let page = store.query_entities(&query).await.unwrap();
            assert_eq!(page.total_items, 7);
            if pages == 0 {
                assert!(page.prev.is_none());
            } else {
                assert!(page.prev.is_some());
            }
            forward.extend(names(&page));
            pages += 1;
            match page.next.clone() {
                Some(next) => query.keyset = Some(next),
                None => break page,
            }
        };
        assert_eq!(pages, 4);
        assert_eq!(
            forward,
            names(&store.query_entities(&ordered).await.unwrap())
        );
        let mut backward = names(&last);
        let mut prev = last.prev.clone();
        while let Some(keyset) = prev {
            assert!(keyset.backward);
            let page = store
                .query_entities(&EntityQuery {
                    keyset: Some(keyset),
                    limit: Some(2),
                    ..ordered.clone()
                })
                .await
                .unwrap();
            assert!(page.next.is_some());
            let mut names = names(&page);
            names.extend(backward);
            backward = names;
            prev = page.prev.clone();
        }
        assert_eq!(backward, forward);

        // Offset paging.
        let offset = EntityQuery {
            limit: Some(3),
            offset: Some(2),
            ..Default::default()
        };
        let page = store.query_entities(&offset).await.unwrap();
        assert_eq!(names(&page), ["charlie", "delta", "echo"]);
        assert_eq!(page.total_items, 7);
        let tail = EntityQuery {
            offset: Some(5),
            ..Default::default()
        };
        assert_eq!(
            names(&store.query_entities(&tail).await.unwrap()),
            ["team-a", "team-b"]
        );

        // Full text, case-insensitive, on chosen fields or all.
        let text = |term: &str, fields: &[&str]| EntityQuery {
            full_text: Some(FullTextFilter {
                term: term.into(),
                fields: fields.iter().map(|f| f.to_string()).collect(),
            }),
            ..Default::default()
        };
        assert_eq!(
            names(
                &store
                    .query_entities(&text("HARL", &["metadata.name"]))
                    .await
                    .unwrap()
            ),
            ["charlie"]
        );
        // All fields: the group's `relations.ownerof` names charlie too.
        assert_eq!(
            names(&store.query_entities(&text("HARL", &[])).await.unwrap()),
            ["charlie", "team-a"]
        );
        // Relation fields alone, and beside another field.
        assert_eq!(
            names(
                &store
                    .query_entities(&text("HARL", &["relations.ownerOf"]))
                    .await
                    .unwrap()
            ),
            ["team-a"]
        );
        assert_eq!(
            names(
                &store
                    .query_entities(&text("team-c", &["relations.ownedby", "metadata.name"]))
                    .await
                    .unwrap()
            ),
            ["echo"]
        );
        assert_eq!(
            names(
                &store
                    .query_entities(&text("team-", &["relations.ownedby", "metadata.name"]))
                    .await
                    .unwrap()
            ),
            [
                "alpha", "bravo", "charlie", "delta", "echo", "team-a", "team-b"
            ]
        );

        // Ordered by a relation: by target, entities without one last, ties by insertion.
        let by_owner = EntityQuery {
            order: vec![OrderField {
                field: "relations.ownedBy".into(),
                descending: false,
            }],
            ..Default::default()
        };
        assert_eq!(
            names(&store.query_entities(&by_owner).await.unwrap()),
            [
                "alpha", "charlie", "bravo", "delta", "echo", "team-a", "team-b"
            ]
        );
        assert_eq!(
            names(
                &store
                    .query_entities(&text("experiment", &[]))
                    .await
                    .unwrap()
            ),
            ["bravo"]
        );
        assert_eq!(
            names(
                &store
                    .query_entities(&text("team-", &["metadata.name"]))
                    .await
                    .unwrap()
            ),
            ["team-a", "team-b"]
        );
        let page = store
            .query_entities(&text("java", &["metadata.tags"]))
            .await
            .unwrap();
        assert_eq!(names(&page), ["alpha", "delta"]);
        assert_eq!(page.total_items, 2);
        assert!(
            store
                .query_entities(&text("100%", &[]))
                .await
                .unwrap()
                .items
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn a_list_of_refs_restricts_filters_ordering_paging_and_the_count() {
    on_each_backend(|store| async move {
        query_fixture(&store).await;
        let listed = |refs: &[&str]| Some(refs.iter().map(|r| eref(r)).collect::<Vec<_>>());
        let refs = listed(&[
            "component:default/echo",
            "component:default/alpha",
            "group:default/team-b",
            "component:default/delta",
            // Not in the catalog: ignored.
            "component:default/nowhere",
        ]);

        let page = store
            .query_entities(&EntityQuery {
                refs: refs.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(names(&page), ["alpha", "delta", "echo", "team-b"]);
        assert_eq!(page.total_items, 4);

        // With a filter: both must hold, and the count says so.
        let components = filter(&[&[("kind", Some(&["component"]))]]);
        let page = store
            .query_entities(&EntityQuery {
                filter: Some(components.clone()),
                refs: refs.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(names(&page), ["alpha", "delta", "echo"]);
        assert_eq!(page.total_items, 3);

        // Ordered by a field and paged with keysets, one entity a page.
        let ordered = EntityQuery {
            filter: Some(components),
            refs: refs.clone(),
            order: vec![OrderField {
                field: "spec.owner".into(),
                descending: true,
            }],
            limit: Some(1),
            ..Default::default()
        };
        let mut query = ordered.clone();
        let mut seen = Vec::new();
        loop {
            let page = store.query_entities(&query).await.unwrap();
            assert_eq!(page.total_items, 3);
            seen.extend(names(&page));
            match page.next {
                Some(next) => query.keyset = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, ["echo", "delta", "alpha"]);

        // With the store's own text filter as well.
        let page = store
            .query_entities(&EntityQuery {
                refs: refs.clone(),
                full_text: Some(FullTextFilter {
                    term: "team-".into(),
                    fields: vec!["metadata.name".into()],
                }),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(names(&page), ["team-b"]);

        // An empty list matches nothing; no list restricts nothing.
        let page = store
            .query_entities(&EntityQuery {
                refs: listed(&[]),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(page.items.is_empty());
        assert_eq!(page.total_items, 0);
        let everything = store.query_entities(&EntityQuery::default()).await.unwrap();
        assert_eq!(everything.total_items, 7);

        // A long list (past any bind limit) is still one parameter.
        let mut many: Vec<EntityRef> = (0..20_000)
            .map(|i| eref(&format!("component:default/missing-{i}")))
            .collect();
        many.push(eref("component:default/bravo"));
        let page = store
            .query_entities(&EntityQuery {
                refs: Some(many),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(names(&page), ["bravo"]);
        assert_eq!(page.total_items, 1);
    })
    .await;
}

#[tokio::test]
async fn facets_count_values_in_their_original_case() {
    on_each_backend(|store| async move {
        query_fixture(&store).await;
        let keys = vec![
            "kind".to_string(),
            "metadata.tags".to_string(),
            "spec.owner".to_string(),
            "spec.nothing".to_string(),
        ];
        let facets = store.facets(&keys, None).await.unwrap();
        let pairs = |key: &str| {
            facets[key]
                .iter()
                .map(|f| (f.value.clone(), f.count))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            pairs("kind"),
            [("Component".to_string(), 5), ("Group".to_string(), 2)]
        );
        assert_eq!(
            pairs("metadata.tags"),
            [
                ("Java".to_string(), 2),
                ("web".to_string(), 2),
                ("go".to_string(), 1)
            ]
        );
        assert!(facets["spec.nothing"].is_empty());

        let only_a = filter(&[&[("spec.owner", Some(&["team-a"]))]]);
        let facets = store.facets(&keys, Some(&only_a)).await.unwrap();
        assert_eq!(
            facets["spec.owner"],
            vec![FacetCount {
                value: "team-a".into(),
                count: 2
            }]
        );
        assert_eq!(
            facets["kind"],
            vec![FacetCount {
                value: "Component".into(),
                count: 2
            }]
        );
    })
    .await;
}

/// One entity of the planner fixture, as the test's own model of what the store holds.
#[derive(Clone, Debug)]
struct Planned {
    kind: &'static str,
    name: String,
    owner: Option<&'static str>,
    lifecycle: Option<&'static str>,
    tags: Vec<&'static str>,
}

impl Planned {
    fn entity_ref(&self) -> String {
        format!("{}:default/{}", self.kind.to_lowercase(), self.name)
    }

    /// The lower-cased values of a filter key, as the field index has them.
    fn values(&self, key: &str) -> Vec<String> {
        match key {
            "kind" => vec![self.kind.to_lowercase()],
            "metadata.name" => vec![self.name.clone()],
            "spec.owner" => self.owner.iter().map(|o| o.to_string()).collect(),
            "spec.lifecycle" => self.lifecycle.iter().map(|l| l.to_string()).collect(),
            "metadata.tags" => self.tags.iter().map(|t| t.to_string()).collect(),
            "relations.ownedby" => self
                .owner
                .iter()
                .map(|o| format!("group:default/{o}"))
                .collect(),
            other => panic!("the planner fixture has no key {other}"),
        }
    }

    fn matches(&self, filter: &EntityFilter) -> bool {
        filter.any_of.iter().any(|set| {
            set.all_of.iter().all(|condition| {
                let values = self.values(&condition.key.to_lowercase());
                match &condition.values {
                    None => !values.is_empty(),
                    Some(wanted) => values
                        .iter()
                        .any(|v| wanted.iter().any(|w| w.to_lowercase() == *v)),
                }
            })
        })
    }
}

/// More entities than a condition may have to count as narrow in the store's query plan
/// (1000 index rows), so that both plans run: 1200 components, 300 APIs, three groups.
/// `team-rare` owns 12 components; `team-bulk` owns every other component and API. Each
/// owned entity emits its `ownedBy` relation, and `team-rare` emits the same relations of
/// its components once more: relation rows from two originators.
fn planner_fixture() -> Vec<Planned> {
    let mut model = Vec::new();
    for i in 0..1200 {
        let mut tags = Vec::new();
        if i % 2 == 0 {
            tags.push("even");
        }
        if i % 5 == 0 {
            tags.push("five");
        }
        model.push(Planned {
            kind: "Component",
            name: format!("c{i:04}"),
            owner: Some(if i % 100 == 7 {
                "team-rare"
            } else {
                "team-bulk"
            }),
            lifecycle: Some(if i % 3 == 0 {
                "experimental"
            } else {
                "production"
            }),
            tags,
        });
    }
    for i in 0..300 {
        model.push(Planned {
            kind: "API",
            name: format!("a{i:03}"),
            owner: Some("team-bulk"),
            lifecycle: Some("production"),
            tags: vec![],
        });
    }
    for name in ["team-rare", "team-bulk", "team-none"] {
        model.push(Planned {
            kind: "Group",
            name: name.into(),
            owner: None,
            lifecycle: None,
            tags: vec![],
        });
    }
    model
}

async fn store_planner_fixture(store: &Store, model: &[Planned]) {
    let loc = location(store, "/planner.yaml").await;
    let entities: Vec<SnapshotEntity> = model
        .iter()
        .map(|m| {
            let mut spec = serde_json::Map::new();
            if let Some(owner) = m.owner {
                spec.insert("owner".into(), json!(owner));
                spec.insert("type".into(), json!("service"));
            } else {
                spec.insert("type".into(), json!("team"));
            }
            if let Some(lifecycle) = m.lifecycle {
                spec.insert("lifecycle".into(), json!(lifecycle));
            }
            let owned_by = |m: &Planned| {
                m.owner.map(|owner| {
                    rel(
                        &m.entity_ref(),
                        "ownedBy",
                        &format!("group:default/{owner}"),
                    )
                })
            };
            let relations = match m.owner {
                Some(_) => owned_by(m).into_iter().collect(),
                None => model
                    .iter()
                    .filter(|owned| owned.owner == Some(m.name.as_str()) && m.name == "team-rare")
                    .filter_map(owned_by)
                    .collect(),
            };
            ent(
                m.kind,
                &m.name,
                "/planner.yaml",
                json!({"metadata": {"tags": m.tags}, "spec": spec}),
                relations,
            )
        })
        .collect();
    apply_in_parts(store, &loc, &entities).await.unwrap();
}

/// The names the model says match, in the store's default order (entity ref).
fn expected_names(model: &[Planned], filter: &EntityFilter) -> Vec<String> {
    let mut matching: Vec<&Planned> = model.iter().filter(|m| m.matches(filter)).collect();
    matching.sort_by_key(|m| m.entity_ref());
    matching.iter().map(|m| m.name.clone()).collect()
}

/// Reads every page of `query` forward with cursors, then backward from the last page, and
/// checks that both walks give `expected` and every page the total.
async fn check_keyset_paging(store: &Store, query: EntityQuery, expected: &[String]) {
    let mut forward = Vec::new();
    let mut query = query;
    let last = loop {
        let page = store.query_entities(&query).await.unwrap();
        assert_eq!(
            page.total_items,
            expected.len() as u64,
            "total of every page"
        );
        assert_eq!(page.prev.is_some(), query.keyset.is_some());
        forward.extend(names(&page));
        match page.next.clone() {
            Some(next) => query.keyset = Some(next),
            None => break page,
        }
        assert!(forward.len() <= expected.len(), "paging does not end");
    };
    assert_eq!(forward, expected, "forward pages");
    let mut backward = names(&last);
    let mut prev = last.prev.clone();
    while let Some(keyset) = prev {
        let page = store
            .query_entities(&EntityQuery {
                keyset: Some(keyset),
                ..query.clone()
            })
            .await
            .unwrap();
        assert_eq!(page.total_items, expected.len() as u64);
        assert!(page.next.is_some());
        let mut names = names(&page);
        names.extend(backward);
        backward = names;
        prev = page.prev.clone();
        assert!(backward.len() <= expected.len(), "paging does not end");
    }
    assert_eq!(backward, expected, "backward pages");
}

#[tokio::test]
async fn filters_plan_from_their_narrowest_condition_with_the_same_answers() {
    on_each_backend(|store| async move {
        let model = planner_fixture();
        store_planner_fixture(&store, &model).await;
        let cases: Vec<(&str, EntityFilter)> = vec![
            (
                "narrow condition last",
                filter(&[&[
                    ("kind", Some(&["component"])),
                    ("spec.owner", Some(&["team-rare"])),
                ]]),
            ),
            (
                "narrow condition first",
                filter(&[&[
                    ("spec.owner", Some(&["team-rare"])),
                    ("kind", Some(&["component"])),
                ]]),
            ),
            (
                "one broad condition",
                filter(&[&[("kind", Some(&["component"]))]]),
            ),
            (
                "broad owner, no kind",
                filter(&[&[("spec.owner", Some(&["team-bulk"]))]]),
            ),
            (
                "two broad conditions",
                filter(&[&[
                    ("kind", Some(&["component"])),
                    ("spec.lifecycle", Some(&["production"])),
                ]]),
            ),
            (
                "sets with different narrow drivers",
                filter(&[
                    &[("kind", Some(&["group"]))],
                    &[
                        ("spec.lifecycle", Some(&["experimental"])),
                        ("spec.owner", Some(&["team-rare"])),
                    ],
                    &[("metadata.name", Some(&["a005"])), ("kind", Some(&["api"]))],
                ]),
            ),
            (
                "a broad set or a narrow one",
                filter(&[
                    &[
                        ("kind", Some(&["component"])),
                        ("spec.lifecycle", Some(&["production"])),
                    ],
                    &[("spec.owner", Some(&["team-rare"]))],
                ]),
            ),
            (
                "a driver matching nothing",
                filter(&[&[
                    ("spec.owner", Some(&["nobody"])),
                    ("kind", Some(&["component"])),
                ]]),
            ),
            (
                "a broad key matching nothing beside a narrow condition",
                filter(&[&[
                    ("kind", Some(&["no-such-kind"])),
                    ("spec.owner", Some(&["team-rare"])),
                ]]),
            ),
            (
                "a broad key that is narrow beside a wide condition",
                filter(&[&[("metadata.tags", None), ("kind", Some(&["group"]))]]),
            ),
            (
                "an empty value list",
                filter(&[&[("kind", Some(&["component"])), ("spec.owner", Some(&[]))]]),
            ),
            (
                "an empty set or a narrow one",
                filter(&[
                    &[("spec.owner", Some(&["nobody"]))],
                    &[("spec.owner", Some(&["team-rare"]))],
                ]),
            ),
            (
                "existence with a broad condition",
                filter(&[&[("metadata.tags", None), ("kind", Some(&["component"]))]]),
            ),
            (
                "several values, one entity having two of them",
                filter(&[&[("metadata.tags", Some(&["even", "five"]))]]),
            ),
            (
                "several broad values",
                filter(&[&[("spec.lifecycle", Some(&["production", "experimental"]))]]),
            ),
            (
                "a narrow relation from two originators",
                filter(&[&[("relations.ownedBy", Some(&["Group:default/team-rare"]))]]),
            ),
            (
                "a narrow relation checked beside a narrower condition",
                filter(&[&[
                    ("relations.ownedby", Some(&["group:default/team-rare"])),
                    ("metadata.name", Some(&["c0107", "c0108"])),
                ]]),
            ),
            (
                "a broad relation with a broad condition",
                filter(&[&[
                    ("kind", Some(&["api"])),
                    ("relations.ownedby", Some(&["group:default/team-bulk"])),
                ]]),
            ),
            (
                "a relation's existence",
                filter(&[&[
                    ("relations.ownedby", None),
                    ("metadata.tags", Some(&["five"])),
                ]]),
            ),
            (
                "a relation or a field",
                filter(&[
                    &[("relations.ownedby", Some(&["group:default/team-rare"]))],
                    &[("kind", Some(&["group"]))],
                ]),
            ),
        ];
        // One set per entity, as the portal's starred-only view asks: more sets than one
        // statement may probe or unite.
        let many_sets = EntityFilter {
            any_of: (0..600)
                .map(|i| FilterSet {
                    all_of: vec![
                        FilterCondition {
                            key: "kind".into(),
                            values: Some(vec!["component".into()]),
                        },
                        FilterCondition {
                            key: "metadata.name".into(),
                            values: Some(vec![format!("c{:04}", i * 2)]),
                        },
                    ],
                })
                .collect(),
        };
        let mut cases = cases;
        cases.push(("six hundred sets", many_sets));
        for (case, filter) in &cases {
            let expected = expected_names(&model, filter);
            let page = store
                .query_entities(&EntityQuery {
                    filter: Some(filter.clone()),
                    ..EntityQuery::default()
                })
                .await
                .unwrap();
            assert_eq!(names(&page), expected, "{case}");
            assert_eq!(page.total_items, expected.len() as u64, "{case}: total");

            // A first page alone has the same total and the first names.
            let first = store
                .query_entities(&EntityQuery {
                    filter: Some(filter.clone()),
                    limit: Some(20),
                    ..EntityQuery::default()
                })
                .await
                .unwrap();
            let head: Vec<String> = expected.iter().take(20).cloned().collect();
            assert_eq!(names(&first), head, "{case}: first page");
            assert_eq!(
                first.total_items,
                expected.len() as u64,
                "{case}: first page total"
            );
            assert_eq!(
                first.next.is_some(),
                expected.len() > 20,
                "{case}: more pages"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn narrow_and_broad_filters_page_with_cursors_both_ways() {
    on_each_backend(|store| async move {
        let model = planner_fixture();
        store_planner_fixture(&store, &model).await;
        let narrow = filter(&[&[
            ("kind", Some(&["component"])),
            ("spec.owner", Some(&["team-rare"])),
        ]]);
        let expected = expected_names(&model, &narrow);
        assert_eq!(expected.len(), 12);
        let query = EntityQuery {
            filter: Some(narrow.clone()),
            limit: Some(5),
            ..EntityQuery::default()
        };
        check_keyset_paging(&store, query, &expected).await;

        let broad = filter(&[
            &[
                ("kind", Some(&["component"])),
                ("spec.lifecycle", Some(&["production"])),
            ],
            &[("spec.owner", Some(&["team-rare"]))],
        ]);
        let expected = expected_names(&model, &broad);
        assert_eq!(expected.len(), 804);
        let query = EntityQuery {
            filter: Some(broad.clone()),
            limit: Some(150),
            ..EntityQuery::default()
        };
        check_keyset_paging(&store, query, &expected).await;

        // Ordered by a field, descending: names from c1199 down.
        let mut by_name_desc = expected.clone();
        by_name_desc.sort_by(|a, b| b.cmp(a));
        let query = EntityQuery {
            filter: Some(broad.clone()),
            order: vec![OrderField {
                field: "metadata.name".into(),
                descending: true,
            }],
            limit: Some(200),
            ..EntityQuery::default()
        };
        check_keyset_paging(&store, query, &by_name_desc).await;
        let mut narrow_desc = expected_names(&model, &narrow);
        narrow_desc.reverse();
        let query = EntityQuery {
            filter: Some(narrow.clone()),
            order: vec![OrderField {
                field: "metadata.name".into(),
                descending: true,
            }],
            limit: Some(4),
            ..EntityQuery::default()
        };
        check_keyset_paging(&store, query, &narrow_desc).await;

        // Offsets, past the end too: the total stays.
        for (filter, offset) in [(&broad, 790), (&narrow, 10), (&narrow, 40)] {
            let expected = expected_names(&model, filter);
            let page = store
                .query_entities(&EntityQuery {
                    filter: Some(filter.clone()),
                    limit: Some(20),
                    offset: Some(offset),
                    ..EntityQuery::default()
                })
                .await
                .unwrap();
            let slice: Vec<String> = expected.iter().skip(offset).take(20).cloned().collect();
            assert_eq!(names(&page), slice, "offset {offset}");
            assert_eq!(page.total_items, expected.len() as u64, "offset {offset}");
        }

        // The full-text filter narrows both plans.
        for (filter, term, want) in [
            (&broad, "c00", 66),
            (&narrow, "c11", 1),
            (&filter(&[&[("kind", Some(&["component"]))]]), "c00", 100),
        ] {
            let page = store
                .query_entities(&EntityQuery {
                    filter: Some(filter.clone()),
                    full_text: Some(FullTextFilter {
                        term: term.into(),
                        fields: vec!["metadata.name".into()],
                    }),
                    limit: Some(10),
                    ..EntityQuery::default()
                })
                .await
                .unwrap();
            let expected: Vec<String> = expected_names(&model, filter)
                .into_iter()
                .filter(|n| n.contains(term))
                .collect();
            assert_eq!(expected.len(), want, "{term}");
            assert_eq!(page.total_items, want as u64, "{term}");
            let head: Vec<String> = expected.into_iter().take(10).collect();
            assert_eq!(names(&page), head, "{term}");
        }
    })
    .await;
}

#[tokio::test]
async fn facets_of_narrow_broad_and_empty_filters() {
    on_each_backend(|store| async move {
        let model = planner_fixture();
        store_planner_fixture(&store, &model).await;
        let keys = vec![
            "kind".to_string(),
            "spec.owner".to_string(),
            "relations.ownedBy".to_string(),
        ];
        let expected_facets = |filter: &EntityFilter, key: &str| {
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            for m in model.iter().filter(|m| m.matches(filter)) {
                let values = match key {
                    "kind" => vec![m.kind.to_string()],
                    "relations.ownedBy" => m.values("relations.ownedby"),
                    _ => m.owner.iter().map(|o| o.to_string()).collect(),
                };
                for value in values {
                    *counts.entry(value).or_default() += 1;
                }
            }
            let mut counts: Vec<FacetCount> = counts
                .into_iter()
                .map(|(value, count)| FacetCount { value, count })
                .collect();
            counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            counts
        };
        for filter in [
            filter(&[&[("spec.owner", Some(&["team-rare"]))]]),
            filter(&[&[
                ("kind", Some(&["component"])),
                ("spec.lifecycle", Some(&["production"])),
            ]]),
            filter(&[
                &[("metadata.tags", Some(&["five"]))],
                &[("kind", Some(&["api"]))],
            ]),
            filter(&[&[("spec.owner", Some(&["nobody"]))]]),
            filter(&[&[("spec.owner", Some(&[]))]]),
            filter(&[&[("relations.ownedby", Some(&["group:default/team-rare"]))]]),
            filter(&[&[("kind", Some(&["group", "component"]))]]),
        ] {
            let facets = store.facets(&keys, Some(&filter)).await.unwrap();
            for key in &keys {
                assert_eq!(
                    facets[key],
                    expected_facets(&filter, key),
                    "{key} of {filter:?}"
                );
            }
        }
    })
    .await;
}

#[tokio::test]
async fn ancestry_follows_parent_locations() {
    on_each_backend(|store| async move {
        let loc = location(&store, "/root.yaml").await;
        let root = ent(
            "Location",
            "root",
            "/root.yaml",
            json!({"spec": {"targets": ["./team.yaml"]}}),
            vec![],
        );
        let mut child = ent(
            "Location",
            "team",
            "/team.yaml",
            json!({"spec": {"targets": ["./web.yaml"]}}),
            vec![],
        );
        child.parent = Some(eref("location:default/root"));
        let mut web = component("web", "team-a", "/web.yaml");
        web.parent = Some(eref("location:default/team"));
        store
            .apply_location_snapshot(snap(&loc, vec![root, child, web]))
            .await
            .unwrap();

        let ancestry = store
            .ancestry(&eref("component:default/web"))
            .await
            .unwrap()
            .expect("ancestry");
        assert_eq!(ancestry.root_entity_ref, eref("component:default/web"));
        let chain: Vec<(String, Vec<String>)> = ancestry
            .items
            .iter()
            .map(|item| {
                let v: Value = serde_json::from_str(&item.entity.json).unwrap();
                (
                    v["metadata"]["name"].as_str().unwrap().to_string(),
                    item.parent_entity_refs
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            chain,
            [
                ("web".to_string(), vec!["location:default/team".to_string()]),
                (
                    "team".to_string(),
                    vec!["location:default/root".to_string()]
                ),
                ("root".to_string(), vec![]),
            ]
        );
        assert!(
            store
                .ancestry(&eref("component:default/nope"))
                .await
                .unwrap()
                .is_none()
        );
    })
    .await;
}

#[tokio::test]
async fn processing_errors_are_replaced_per_location() {
    on_each_backend(|store| async move {
        let loc = location(&store, "/e.yaml").await;
        let mut s = snap(&loc, vec![]);
        s.complete = false;
        s.errors = vec![
            ProcessingError {
                entity_ref: None,
                diagnostic: Diagnostic::error("cannot read /e.yaml").with_file("/e.yaml"),
            },
            ProcessingError {
                entity_ref: Some(eref("component:default/x")),
                diagnostic: Diagnostic::error("bad").at(2, 1),
            },
        ];
        store.apply_location_snapshot(s).await.unwrap();
        let errors = store.processing_errors().await.unwrap();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].entity_ref, None);
        assert_eq!(errors[0].diagnostic.file.as_deref(), Some("/e.yaml"));
        assert_eq!(errors[1].entity_ref, Some(eref("component:default/x")));
        assert_eq!(errors[1].diagnostic.line, Some(2));

        store
            .apply_location_snapshot(snap(&loc, vec![]))
            .await
            .unwrap();
        assert!(store.processing_errors().await.unwrap().is_empty());

        let missing = LocationSnapshot {
            location_id: LocationId("nope".into()),
            ..snap(&loc, vec![])
        };
        assert!(matches!(
            store.apply_location_snapshot(missing).await,
            Err(StoreError::NotFound(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn every_change_of_a_final_form_is_an_event() {
    on_each_backend(|store| async move {
        let loc = location(&store, "/ch.yaml").await;
        store
            .apply_location_snapshot(snap(
                &loc,
                vec![
                    component("web", "team-a", "/ch.yaml"),
                    group("team-a", "/ch.yaml"),
                ],
            ))
            .await
            .unwrap();
        let events = store.changes_since(0, 100).await.unwrap();
        let mut refs: Vec<String> = events.iter().map(|e| e.entity_ref.to_string()).collect();
        refs.sort();
        assert_eq!(refs, ["component:default/web", "group:default/team-a"]);
        assert!(events.windows(2).all(|w| w[0].sequence < w[1].sequence));
        let web_etag = must_get(&store, "component:default/web").await["metadata"]["etag"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            events
                .iter()
                .any(|e| e.etag.as_deref() == Some(web_etag.as_str()))
        );
        let last = events.last().unwrap().sequence;

        // Unchanged: no events.
        store
            .apply_location_snapshot(snap(
                &loc,
                vec![
                    component("web", "team-a", "/ch.yaml"),
                    group("team-a", "/ch.yaml"),
                ],
            ))
            .await
            .unwrap();
        assert!(store.changes_since(last, 100).await.unwrap().is_empty());

        // Removal: an event without etag; the group is re-stitched too.
        store
            .apply_location_snapshot(snap(&loc, vec![group("team-a", "/ch.yaml")]))
            .await
            .unwrap();
        let web = must_get(&store, "component:default/web").await;
        assert_eq!(
            web["metadata"]["annotations"]["backstage.io/orphan"],
            "true"
        );
        let orphaning = store.changes_since(last, 100).await.unwrap();
        assert_eq!(orphaning.len(), 1, "{orphaning:?}");
        let last = orphaning[0].sequence;
        store
            .delete_entity_by_uid(web["metadata"]["uid"].as_str().unwrap())
            .await
            .unwrap();
        let events = store.changes_since(last, 100).await.unwrap();
        let removal: Vec<_> = events.iter().filter(|e| e.etag.is_none()).collect();
        assert_eq!(removal.len(), 1);
        assert_eq!(removal[0].entity_ref, eref("component:default/web"));
        assert!(
            events
                .iter()
                .any(|e| e.entity_ref == eref("group:default/team-a") && e.etag.is_some())
        );
        assert_eq!(store.changes_since(0, 1).await.unwrap().len(), 1);
        let all = store.changes_since(0, 1000).await.unwrap();
        let recent = store.recent_changes(2).await.unwrap();
        let newest_two: Vec<_> = all.iter().rev().take(2).cloned().collect();
        assert_eq!(recent, newest_two, "newest first");
        assert_eq!(
            store.recent_changes(1).await.unwrap()[0].sequence,
            all.last().unwrap().sequence
        );
    })
    .await;
}

#[tokio::test]
async fn claimed_locations_are_leased_until_rescheduled_or_expired() {
    on_each_backend(|store| async move {
        let a = location(&store, "/la.yaml").await;
        let b = location(&store, "/lb.yaml").await;
        let lease = Duration::from_secs(60);
        let mut first = store.claim_due_locations(lease, 10).await.unwrap();
        first.sort_by(|x, y| x.target.cmp(&y.target));
        assert_eq!(
            first.iter().map(|l| l.id.clone()).collect::<Vec<_>>(),
            [a.id.clone(), b.id.clone()]
        );
        assert!(
            store
                .claim_due_locations(lease, 10)
                .await
                .unwrap()
                .is_empty(),
            "leased"
        );

        store
            .schedule_location_refresh(&a.id, Duration::ZERO)
            .await
            .unwrap();
        let again = store.claim_due_locations(lease, 10).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].id, a.id);

        store
            .schedule_location_refresh(&a.id, Duration::from_secs(3600))
            .await
            .unwrap();
        assert!(
            store
                .claim_due_locations(lease, 10)
                .await
                .unwrap()
                .is_empty(),
            "not due yet"
        );

        // A short lease expires and the location is claimable again.
        store
            .schedule_location_refresh(&b.id, Duration::ZERO)
            .await
            .unwrap();
        let short = store
            .claim_due_locations(Duration::from_millis(50), 1)
            .await
            .unwrap();
        assert_eq!(short.len(), 1);
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(store.claim_due_locations(lease, 10).await.unwrap().len(), 1);

        let missing = store
            .schedule_location_refresh(&LocationId("nope".into()), Duration::ZERO)
            .await;
        assert!(matches!(missing, Err(StoreError::NotFound(_))));
    })
    .await;
}

#[tokio::test]
async fn the_audit_log_keeps_entries_newest_first() {
    on_each_backend(|store| async move {
        for (i, action) in ["location.add", "entity.refresh", "location.delete"]
            .iter()
            .enumerate()
        {
            store
                .append_audit(NewAuditEntry {
                    actor: "ci".into(),
                    action: (*action).into(),
                    target: format!("/srv/catalog-{i}.yaml"),
                    before: (i > 0).then(|| serde_json::json!({"step": i - 1})),
                    after: Some(serde_json::json!({"step": i})),
                })
                .await
                .unwrap();
        }
        let entries = store.audit_log(10, None).await.unwrap();
        let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            ["location.delete", "entity.refresh", "location.add"]
        );
        assert_eq!(entries[0].before, Some(serde_json::json!({"step": 1})));
        assert_eq!(entries[2].before, None);
        assert!(entries[0].at > 0 && entries.iter().all(|e| e.actor == "ci"));
        let older = store.audit_log(10, Some(entries[0].id)).await.unwrap();
        assert_eq!(older.len(), 2);
        assert_eq!(store.audit_log(1, None).await.unwrap().len(), 1);

        assert_eq!(
            store
                .prune_audit_log(Duration::from_secs(3600))
                .await
                .unwrap(),
            0
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(store.prune_audit_log(Duration::ZERO).await.unwrap(), 3);
        assert!(store.audit_log(10, None).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn pruning_change_events_keeps_recent_ones_and_the_newest() {
    on_each_backend(|store| async move {
        let loc = location(&store, "/s.yaml").await;
        let parts = vec![
            part(vec![
                component("a", "t", "/one.yaml"),
                group("t", "/two.yaml"),
            ]),
            complete_end(),
        ];
        apply_parts(&store, &loc, parts).await.unwrap();
        let events = store.changes_since(0, 100).await.unwrap();
        assert!(events.len() >= 2, "{events:?}");
        let newest = store.recent_changes(1).await.unwrap()[0].sequence;

        assert_eq!(
            store
                .prune_changes(Duration::from_secs(3600))
                .await
                .unwrap(),
            0
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
        let pruned = store.prune_changes(Duration::ZERO).await.unwrap();
        assert_eq!(pruned as usize, events.len() - 1);
        let left = store.changes_since(0, 100).await.unwrap();
        assert_eq!(
            left.iter().map(|e| e.sequence).collect::<Vec<_>>(),
            vec![newest]
        );
        assert_eq!(
            store.recent_changes(1).await.unwrap()[0].sequence,
            newest,
            "the version stays"
        );
    })
    .await;
}

// ---- jobs -------------------------------------------------------------------------------

fn job_of(kind: &str, key: Option<&str>, max_attempts: u32) -> NewJob {
    NewJob {
        kind: kind.into(),
        dedupe_key: key.map(str::to_string),
        payload: json!({"entity": key}),
        max_attempts,
        delay: Duration::ZERO,
    }
}

#[tokio::test]
async fn jobs_are_claimed_once_in_order_and_finished() {
    on_each_backend_stores(|stores| async move {
        let jobs = stores.jobs;
        let first = jobs
            .enqueue_job(job_of("docs.build", Some("a"), 1))
            .await
            .unwrap();
        let second = jobs
            .enqueue_job(job_of("docs.build", Some("b"), 1))
            .await
            .unwrap();
        jobs.enqueue_job(job_of("other.kind", None, 1))
            .await
            .unwrap();
        assert_eq!(first.state, JobState::Queued);
        assert_eq!(first.payload, json!({"entity": "a"}));

        let lease = Duration::from_secs(60);
        let claimed = jobs
            .claim_job(&["docs.build"], "w1", lease)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (claimed.id, claimed.state, claimed.attempts),
            (first.id, JobState::Running, 1)
        );
        let next = jobs
            .claim_job(&["docs.build"], "w2", lease)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(next.id, second.id, "a leased job is not handed out twice");
        assert!(
            jobs.claim_job(&["docs.build"], "w3", lease)
                .await
                .unwrap()
                .is_none()
        );

        assert!(
            !jobs
                .finish_job(first.id, "w2", JobOutcome::Succeeded)
                .await
                .unwrap(),
            "only the lease holder may finish a job"
        );
        assert!(
            jobs.finish_job(first.id, "w1", JobOutcome::Succeeded)
                .await
                .unwrap()
        );
        assert!(
            jobs.finish_job(second.id, "w2", JobOutcome::Failed("boom".into()))
                .await
                .unwrap()
        );
        let done = jobs.job(first.id).await.unwrap().unwrap();
        assert_eq!(done.state, JobState::Succeeded);
        let failed = jobs.job(second.id).await.unwrap().unwrap();
        assert_eq!(
            (failed.state, failed.last_error.as_deref()),
            (JobState::Failed, Some("boom"))
        );

        let listed = jobs.list_jobs(Some("docs.build"), 10).await.unwrap();
        assert_eq!(
            listed.iter().map(|j| j.id).collect::<Vec<_>>(),
            vec![second.id, first.id]
        );
        assert_eq!(jobs.list_jobs(None, 10).await.unwrap().len(), 3);
        assert_eq!(
            jobs.prune_finished_jobs(Duration::from_secs(3600))
                .await
                .unwrap(),
            0
        );
        assert_eq!(jobs.prune_finished_jobs(Duration::ZERO).await.unwrap(), 2);
        assert_eq!(jobs.list_jobs(None, 10).await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_queued_job_absorbs_duplicates_until_it_runs() {
    on_each_backend_stores(|stores| async move {
        let jobs = stores.jobs;
        let first = jobs
            .enqueue_job(job_of("docs.build", Some("a"), 1))
            .await
            .unwrap();
        let again = jobs
            .enqueue_job(job_of("docs.build", Some("a"), 1))
            .await
            .unwrap();
        assert_eq!(first.id, again.id);
        let claimed = jobs
            .claim_job(&["docs.build"], "w", Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(claimed.map(|j| j.id), Some(first.id));
        let while_running = jobs
            .enqueue_job(job_of("docs.build", Some("a"), 1))
            .await
            .unwrap();
        assert_ne!(
            while_running.id, first.id,
            "a change during a run queues another run"
        );
        // Retrying the running one while the newer one is queued leaves the work to that one.
        let outcome = JobOutcome::Retry {
            after: Duration::ZERO,
            error: "busy".into(),
        };
        assert!(jobs.finish_job(first.id, "w", outcome).await.unwrap());
        let first = jobs.job(first.id).await.unwrap().unwrap();
        assert_eq!(first.state, JobState::Failed);
        assert!(first.last_error.unwrap().contains("superseded"));
    })
    .await;
}

#[tokio::test]
async fn a_lost_lease_is_retried_then_failed_as_interrupted() {
    on_each_backend_stores(|stores| async move {
        let jobs = stores.jobs;
        let job = jobs
            .enqueue_job(job_of("scaffolder.task", None, 2))
            .await
            .unwrap();
        let short = Duration::from_millis(1);
        let first = jobs
            .claim_job(&["scaffolder.task"], "crashed", short)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.attempts, 1);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            jobs.renew_job_lease(job.id, "other", Duration::from_secs(60))
                .await
                .unwrap(),
            LeaseStatus::Lost
        );
        let second = jobs
            .claim_job(&["scaffolder.task"], "w2", short)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((second.id, second.attempts), (job.id, 2));
        assert_eq!(
            jobs.renew_job_lease(job.id, "crashed", Duration::from_secs(60))
                .await
                .unwrap(),
            LeaseStatus::Lost,
            "the first worker lost its lease to the second"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            jobs.claim_job(&["scaffolder.task"], "w3", short)
                .await
                .unwrap()
                .is_none()
        );
        let failed = jobs.job(job.id).await.unwrap().unwrap();
        assert_eq!(failed.state, JobState::Failed);
        assert!(failed.last_error.unwrap().starts_with("interrupted"));
    })
    .await;
}

#[tokio::test]
async fn retries_wait_and_cancellation_reaches_the_worker() {
    on_each_backend_stores(|stores| async move {
        let jobs = stores.jobs;
        let lease = Duration::from_secs(60);
        let job = jobs.enqueue_job(job_of("k", None, 3)).await.unwrap();
        jobs.claim_job(&["k"], "w", lease).await.unwrap().unwrap();
        let retry = JobOutcome::Retry {
            after: Duration::from_secs(3600),
            error: "later".into(),
        };
        assert!(jobs.finish_job(job.id, "w", retry).await.unwrap());
        let queued = jobs.job(job.id).await.unwrap().unwrap();
        assert_eq!(
            (queued.state, queued.last_error.as_deref()),
            (JobState::Queued, Some("later"))
        );
        assert!(
            jobs.claim_job(&["k"], "w", lease).await.unwrap().is_none(),
            "not due yet"
        );

        let cancelled = jobs.cancel_job(job.id).await.unwrap().unwrap();
        assert_eq!(
            cancelled.state,
            JobState::Cancelled,
            "a queued job is cancelled at once"
        );

        let running = jobs.enqueue_job(job_of("k", None, 1)).await.unwrap();
        jobs.claim_job(&["k"], "w", lease).await.unwrap().unwrap();
        assert_eq!(
            jobs.renew_job_lease(running.id, "w", lease).await.unwrap(),
            LeaseStatus::Held
        );
        let asked = jobs.cancel_job(running.id).await.unwrap().unwrap();
        assert_eq!(
            (asked.state, asked.cancel_requested),
            (JobState::Running, true)
        );
        assert_eq!(
            jobs.renew_job_lease(running.id, "w", lease).await.unwrap(),
            LeaseStatus::CancelRequested
        );
        assert!(
            jobs.finish_job(running.id, "w", JobOutcome::Cancelled)
                .await
                .unwrap()
        );
        assert_eq!(
            jobs.job(running.id).await.unwrap().unwrap().state,
            JobState::Cancelled
        );
        assert!(jobs.cancel_job(JobId(999_999)).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn scaffolder_tasks_keep_status_output_and_events_in_order() {
    on_each_backend_stores(|stores| async move {
        let tasks = stores.tasks;
        let spec =
            json!({"apiVersion": "scaffolder.backstage.io/v1beta3", "parameters": {"name": "x"}});
        let a = tasks
            .create_task(NewTask {
                id: "task-a".into(),
                spec: spec.clone(),
                created_by: Some("user:default/ada".into()),
            })
            .await
            .unwrap();
        assert_eq!(
            (a.status, a.spec.clone(), a.job_id),
            (TaskStatus::Open, spec.clone(), None)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
        tasks
            .create_task(NewTask {
                id: "task-b".into(),
                spec: json!({}),
                created_by: None,
            })
            .await
            .unwrap();
        assert!(
            tasks
                .create_task(NewTask {
                    id: "task-a".into(),
                    spec: json!({}),
                    created_by: None
                })
                .await
                .is_err(),
            "ids are unique"
        );

        tasks.set_task_job("task-a", 17).await.unwrap();
        assert!(matches!(
            tasks.set_task_job("nope", 1).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(
            tasks
                .set_task_status("task-a", TaskStatus::Processing, None)
                .await
                .unwrap()
        );
        tasks.heartbeat_task("task-a").await.unwrap();
        let first = tasks
            .append_task_event(
                "task-a",
                "log",
                json!({"message": "one", "stepId": "fetch"}),
            )
            .await
            .unwrap();
        let second = tasks
            .append_task_event("task-a", "log", json!({"message": "two"}))
            .await
            .unwrap();
        tasks
            .append_task_event("task-b", "log", json!({"message": "other"}))
            .await
            .unwrap();
        assert!(second.id > first.id);
        assert!(
            tasks
                .append_task_event("nope", "log", json!({}))
                .await
                .is_err()
        );

        let all = tasks.task_events("task-a", None, 100).await.unwrap();
        assert_eq!(
            all.iter()
                .map(|e| e.body["message"].clone())
                .collect::<Vec<_>>(),
            vec![json!("one"), json!("two")]
        );
        let after = tasks
            .task_events("task-a", Some(first.id), 100)
            .await
            .unwrap();
        assert_eq!(after.len(), 1);
        assert_eq!(after[0].id, second.id);

        let output = json!({"links": [{"url": "file:///srv/git/a.git"}]});
        assert!(
            tasks
                .set_task_status("task-a", TaskStatus::Completed, Some(output.clone()))
                .await
                .unwrap()
        );
        assert!(
            !tasks
                .set_task_status("task-a", TaskStatus::Failed, None)
                .await
                .unwrap(),
            "a final status stays"
        );
        assert!(
            !tasks.reopen_task("task-a").await.unwrap(),
            "a completed task is not retried"
        );
        assert!(
            !tasks.reopen_task("task-b").await.unwrap(),
            "an open task is not reopened"
        );
        assert!(
            tasks
                .set_task_status("task-b", TaskStatus::Failed, None)
                .await
                .unwrap()
        );
        assert!(tasks.reopen_task("task-b").await.unwrap());
        assert_eq!(
            tasks.task("task-b").await.unwrap().unwrap().status,
            TaskStatus::Open
        );
        let done = tasks.task("task-a").await.unwrap().unwrap();
        assert_eq!(
            (done.status, done.output, done.job_id),
            (TaskStatus::Completed, Some(output), Some(17))
        );
        assert!(done.last_heartbeat_at.is_some());
        assert!(tasks.task("nope").await.unwrap().is_none());

        let (page, total) = tasks.list_tasks(None, 10, 0).await.unwrap();
        assert_eq!(total, 2);
        assert_eq!(
            page.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
            vec!["task-b", "task-a"]
        );
        let (mine, total) = tasks
            .list_tasks(Some("user:default/ada"), 10, 0)
            .await
            .unwrap();
        assert_eq!((mine.len(), total), (1, 1));
        let (second_page, _) = tasks.list_tasks(None, 1, 1).await.unwrap();
        assert_eq!(second_page[0].id, "task-a");
    })
    .await;
}

fn doc_site(entity_ref: &str, status: &str, fingerprint: &str) -> DocSite {
    DocSite {
        entity_ref: entity_ref.into(),
        site_name: "Checkout".into(),
        site_description: Some("From basket to order".into()),
        owner: Some("group:default/payments".into()),
        status: status.into(),
        built_at: 1_000,
        fingerprint: Some(fingerprint.into()),
        entity_etag: Some("etag-1".into()),
        problems: json!([]),
        nav: json!([{"title": "Overview", "page": "index.md"}]),
        page_count: 0,
    }
}

fn doc_page(path: &str, title: &str) -> DocPage {
    DocPage {
        path: path.into(),
        title: title.into(),
        html: format!("<h1 id=\"x\">{title}</h1>"),
        toc: json!([{"level": 2, "id": "setup", "text": "Setup"}]),
        headings: vec![title.into(), "Setup".into()],
        text: format!("{title} Setup plain text"),
    }
}

#[tokio::test]
async fn doc_sites_replace_pages_together_and_keep_them_on_failure() {
    on_each_backend_stores(|stores| async move {
        let docs = stores.docs;
        let site = "component:default/checkout";
        assert_eq!(docs.doc_site(site).await.unwrap(), None);
        docs.save_doc_site(
            doc_site(site, "built", "f1"),
            DocContent::Replace {
                pages: vec![
                    doc_page("index.md", "Overview"),
                    doc_page("guide/a.md", "A"),
                ],
                files: vec![DocFile {
                    path: "img/logo.png".into(),
                    content_type: "image/png".into(),
                    bytes: vec![0x89, b'P', b'N', b'G', 0, 255],
                }],
            },
        )
        .await
        .unwrap();
        let stored = docs.doc_site(site).await.unwrap().unwrap();
        assert_eq!(
            (
                stored.page_count,
                stored.status.as_str(),
                stored.fingerprint.as_deref()
            ),
            (2, "built", Some("f1"))
        );
        assert_eq!(
            stored.nav,
            json!([{"title": "Overview", "page": "index.md"}])
        );
        let page = docs.doc_page(site, "guide/a.md").await.unwrap().unwrap();
        assert_eq!(page, doc_page("guide/a.md", "A"));
        assert_eq!(
            docs.doc_page_titles(site).await.unwrap(),
            vec![
                ("guide/a.md".to_string(), "A".to_string()),
                ("index.md".to_string(), "Overview".to_string())
            ]
        );
        let file = docs.doc_file(site, "img/logo.png").await.unwrap().unwrap();
        assert_eq!(file.bytes, vec![0x89, b'P', b'N', b'G', 0, 255]);
        assert_eq!(docs.doc_file(site, "img/none.png").await.unwrap(), None);

        // A failed build keeps the pages of the last good one and says why.
        let mut failed = doc_site(site, "failed", "f1");
        failed.problems = json!([{"file": "mkdocs.yml", "line": 3, "message": "bad"}]);
        failed.built_at = 2_000;
        docs.save_doc_site(failed, DocContent::Keep).await.unwrap();
        let stored = docs.doc_site(site).await.unwrap().unwrap();
        assert_eq!(
            (stored.status.as_str(), stored.page_count, stored.built_at),
            ("failed", 2, 2_000)
        );
        assert_eq!(stored.problems[0]["line"], json!(3));
        assert_eq!(docs.doc_pages(site).await.unwrap().len(), 2);

        // New content replaces every page and file.
        docs.save_doc_site(
            doc_site(site, "built", "f2"),
            DocContent::Replace {
                pages: vec![doc_page("index.md", "Renamed")],
                files: vec![],
            },
        )
        .await
        .unwrap();
        let pages = docs.doc_pages(site).await.unwrap();
        assert_eq!(pages.len(), 1);
        assert_eq!(pages[0].title, "Renamed");
        assert_eq!(docs.doc_file(site, "img/logo.png").await.unwrap(), None);

        docs.save_doc_site(
            doc_site("component:default/other", "built", "o"),
            DocContent::Replace {
                pages: vec![doc_page("index.md", "Other")],
                files: vec![],
            },
        )
        .await
        .unwrap();
        let all: Vec<String> = docs
            .doc_sites()
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.entity_ref)
            .collect();
        assert_eq!(
            all,
            vec!["component:default/checkout", "component:default/other"]
        );

        assert!(docs.delete_doc_site(site).await.unwrap());
        assert!(!docs.delete_doc_site(site).await.unwrap());
        assert_eq!(docs.doc_page(site, "index.md").await.unwrap(), None);
        assert_eq!(docs.doc_sites().await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_field_index_emptied_by_a_migration_is_written_again_when_the_store_opens() {
    on_each_backend_url(|url| async move {
        let answers = |store: Store| async move {
            let owned = store
                .query_entities(&EntityQuery {
                    filter: Some(filter(&[&[
                        ("kind", Some(&["component"])),
                        ("spec.owner", Some(&["team-a"])),
                    ]])),
                    order: vec![OrderField {
                        field: "metadata.name".into(),
                        descending: true,
                    }],
                    ..EntityQuery::default()
                })
                .await
                .unwrap();
            let facets = store
                .facets(&["spec.lifecycle".to_string(), "Kind".to_string()], None)
                .await
                .unwrap();
            (names(&owned), facets)
        };
        let store = connect(&url).await.expect("store");
        query_fixture(&store).await;
        let before = answers(store.clone()).await;
        assert_eq!(before.0, ["charlie", "alpha"]);
        assert!(!before.1["Kind"].is_empty());
        store.close().await;

        // What the migration to numbered keys leaves: live entities, no field index rows.
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&url).await.expect("database");
        pool.execute("DELETE FROM search").await.expect("emptied");
        pool.close().await;

        let store = connect(&url).await.expect("store opened again");
        assert_eq!(answers(store.clone()).await, before);
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn stitching_again_from_the_stored_final_form_gives_back_the_same_entity() {
    on_each_backend(|store| async move {
        let a = location(&store, "/a.yaml").await;
        let b = location(&store, "/b.yaml").await;
        // What stitching replaces or adds, spelled in the source too: a uid, keys after
        // `spec`, no namespace, a warning (status).
        let mut c1 = ent(
            "Component",
            "c1",
            "/a.yaml",
            json!({
                "metadata": {"uid": "from-the-file", "tags": ["x"]},
                "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"},
                "x-extra": {"k": 1},
            }),
            vec![rel("component:default/c1", "ownedBy", "group:default/team-a")],
        );
        c1.processed.warnings = vec![Diagnostic::warning("spec.x is not a known field")];
        store
            .apply_location_snapshot(snap(&a, vec![c1]))
            .await
            .unwrap();
        let first = must_get(&store, "component:default/c1").await;
        assert_eq!(status_messages(&first).len(), 1);

        // Another location's component depends on c1, then no longer does: c1 is stitched
        // twice more, from its stored final form, and ends as it began.
        let c2 = |depends: bool| {
            let relations = if depends {
                vec![
                    rel("component:default/c2", "dependsOn", "component:default/c1"),
                    rel("component:default/c1", "dependencyOf", "component:default/c2"),
                ]
            } else {
                vec![]
            };
            let spec = json!({"spec": {"type": "service", "lifecycle": "production",
                "owner": "team-b", "dependsOn": if depends { json!(["component:c1"]) } else { json!([]) }}});
            ent("Component", "c2", "/b.yaml", spec, relations)
        };
        store
            .apply_location_snapshot(snap(&b, vec![c2(true)]))
            .await
            .unwrap();
        let depended_on = must_get(&store, "component:default/c1").await;
        assert_eq!(
            relations_of(&depended_on),
            [
                "dependencyOf component:default/c2",
                "ownedBy group:default/team-a"
            ]
        );
        assert_ne!(depended_on["metadata"]["etag"], first["metadata"]["etag"]);
        assert_eq!(
            depended_on["metadata"]["generation"],
            first["metadata"]["generation"]
        );
        store
            .apply_location_snapshot(snap(&b, vec![c2(false)]))
            .await
            .unwrap();
        let last = must_get(&store, "component:default/c1").await;
        assert_eq!(
            serde_json::to_string(&last).unwrap(),
            serde_json::to_string(&first).unwrap()
        );
    })
    .await;
}

#[tokio::test]
async fn a_large_sqlite_removal_builds_the_indexes_it_dropped_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("catalog.db").display());
    let indexes = || search_and_relation_indexes(&url);
    let store = connect(&url).await.expect("sqlite store");
    let before = indexes().await;
    let small = location(&store, "/small.yaml").await;
    let kept = ent(
        "Resource",
        "kept",
        "/small.yaml",
        json!({"spec": {"type": "database", "owner": "g3"}}),
        vec![rel("resource:default/kept", "ownedBy", "group:default/g3")],
    );
    store
        .apply_location_snapshot(snap(&small, vec![kept]))
        .await
        .unwrap();
    let large = location(&store, "/large.yaml").await;
    apply_and_check_large(&store, &large, large_catalog(|_| false), 0).await;

    // Nearly the whole catalog goes: the secondary indexes are dropped and built again.
    assert!(store.delete_location(&large.id).await.unwrap());
    assert_eq!(indexes().await, before);
    let owned = store
        .query_entities(&EntityQuery {
            filter: Some(filter(&[&[("spec.owner", Some(&["g3"]))]])),
            ..EntityQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(names(&owned), ["kept"]);
    let kept = must_get(&store, "resource:default/kept").await;
    assert_eq!(relations_of(&kept), ["ownedBy group:default/g3"]);
}
