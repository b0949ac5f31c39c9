//! Applies one location snapshot of N synthetic entities (groups, systems and components with
//! ~10 relation rows and ~25 search rows each) to a fresh SQLite store and prints the time.
//!
//! `cargo run --release -p paved-store --example bulk_apply -- 100000`

use paved_model::{EmittedRelation, Entity, EntityRef, ProcessedEntity, SourcePosition};
use paved_store::{LocationOrigin, LocationSnapshot, NewLocation, SnapshotEntity};
use serde_json::json;
use std::time::Instant;

fn relation(source: &EntityRef, relation_type: &str, target: &EntityRef) -> EmittedRelation {
    EmittedRelation {
        source: source.clone(),
        relation_type: relation_type.to_string(),
        target: target.clone(),
    }
}

fn synthetic(i: usize, n: usize) -> SnapshotEntity {
    let groups = 100;
    let systems = 500;
    let source = SourcePosition {
        file: format!("catalog/{}.yaml", i / 100),
        line: 1,
        column: 1,
    };
    let (value, relations) = if i < groups {
        let value = json!({
            "apiVersion": "backstage.io/v1alpha1", "kind": "Group",
            "metadata": {"name": format!("team-{i}"), "description": "A team"},
            "spec": {"type": "team", "children": []}
        });
        (value, vec![])
    } else if i < groups + systems {
        let me = EntityRef::new("system", "default", &format!("sys-{i}"));
        let owner = EntityRef::new("group", "default", &format!("team-{}", i % groups));
        let value = json!({
            "apiVersion": "backstage.io/v1alpha1", "kind": "System",
            "metadata": {"name": format!("sys-{i}"), "description": "A system"},
            "spec": {"owner": format!("team-{}", i % groups)}
        });
        (
            value,
            vec![
                relation(&me, "ownedBy", &owner),
                relation(&owner, "ownerOf", &me),
            ],
        )
    } else {
        let name = format!("service-{i}");
        let me = EntityRef::new("component", "default", &name);
        let owner = EntityRef::new("group", "default", &format!("team-{}", i % groups));
        let system = EntityRef::new(
            "system",
            "default",
            &format!("sys-{}", groups + i % systems),
        );
        let dep1 = EntityRef::new("component", "default", &format!("service-{}", (i + 1) % n));
        let dep2 = EntityRef::new("component", "default", &format!("service-{}", (i + 7) % n));
        let api = EntityRef::new("api", "default", &format!("api-{i}"));
        let value = json!({
            "apiVersion": "backstage.io/v1alpha1", "kind": "Component",
            "metadata": {
                "name": name, "description": format!("Service number {i}"),
                "annotations": {"backstage.io/managed-by-location": "file:/catalog/x.yaml",
                                "github.com/project-slug": format!("org/service-{i}")},
                "tags": ["rust", if i.is_multiple_of(2) { "Java" } else { "go" }],
            },
            "spec": {
                "type": "service", "lifecycle": "production",
                "owner": owner.name(), "system": system.name(),
                "dependsOn": [dep1.to_string(), dep2.to_string()],
                "providesApis": [api.name()],
            }
        });
        let relations = vec![
            relation(&me, "ownedBy", &owner),
            relation(&owner, "ownerOf", &me),
            relation(&me, "partOf", &system),
            relation(&system, "hasPart", &me),
            relation(&me, "dependsOn", &dep1),
            relation(&dep1, "dependencyOf", &me),
            relation(&me, "dependsOn", &dep2),
            relation(&dep2, "dependencyOf", &me),
            relation(&me, "providesApi", &api),
            relation(&api, "apiProvidedBy", &me),
        ];
        (value, relations)
    };
    let entity = Entity::from_value(value).expect("an object");
    SnapshotEntity {
        processed: ProcessedEntity {
            entity_ref: entity.entity_ref(),
            entity,
            relations,
            source,
            warnings: vec![],
        },
        parent: None,
    }
}

fn rss(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .map(|l| l.trim_start_matches(field).trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map_or(Ok(100_000), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    // PAVED_BULK_DB=path keeps the database for inspection.
    let path = std::env::var("PAVED_BULK_DB")
        .map_or_else(|_| dir.path().join("catalog.db"), std::path::PathBuf::from);
    let url = format!("sqlite://{}", path.display());
    let store = paved_store::connect(&url).await?;
    let location = store
        .add_location(NewLocation {
            kind: "file".into(),
            target: "/catalog/all.yaml".into(),
            origin: LocationOrigin::Config,
        })
        .await?;

    let started = Instant::now();
    let entities: Vec<SnapshotEntity> = (0..n).map(|i| synthetic(i, n)).collect();
    let built = started.elapsed();
    println!("after building: {}", rss("VmRSS:"));
    let snapshot = LocationSnapshot {
        location_id: location.id.clone(),
        complete: true,
        entities,
        failed_files: vec![],
        retained: vec![],
        errors: vec![],
    };
    let started = Instant::now();
    let outcome = store.apply_location_snapshot(snapshot).await?;
    let first = started.elapsed();
    println!("built {n} entities in {built:.2?}");
    println!("first apply: {first:.2?} ({outcome:?})");

    // A second, identical reading: everything is skipped by content hash.
    let snapshot = LocationSnapshot {
        location_id: location.id.clone(),
        complete: true,
        entities: (0..n).map(|i| synthetic(i, n)).collect(),
        failed_files: vec![],
        retained: vec![],
        errors: vec![],
    };
    let started = Instant::now();
    let outcome = store.apply_location_snapshot(snapshot).await?;
    println!(
        "unchanged re-apply: {:.2?} ({outcome:?})",
        started.elapsed()
    );
    println!("peak RSS: {}", rss("VmHWM:"));
    Ok(())
}
