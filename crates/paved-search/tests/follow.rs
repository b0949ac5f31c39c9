//! `SearchService` over a real catalog: built from the store, kept current from its change
//! events (SQLite always; two replicas on one PostgreSQL database when
//! `PAVED_TEST_DATABASE_URL` is set).

use paved_catalog::{CatalogService, CatalogSettings};
use paved_search::{SearchError, SearchRequest, SearchService, SearchSettings};
use paved_store::LocationId;
use sqlx::Executor;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

fn component(name: &str, description: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n  description: {description}\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"
    )
}

fn write_catalog(file: &Path, documents: &[String]) {
    std::fs::write(file, documents.join("---\n")).expect("write catalog");
}

/// A catalog on `url` reading one file from `root`.
async fn catalog_on(url: &str, root: &Path) -> Arc<CatalogService> {
    let store = paved_store::connect(url).await.expect("store");
    let mut settings = CatalogSettings::new(root.join("data"));
    settings.allowed_roots = vec![root.to_path_buf()];
    Arc::new(CatalogService::new(store, settings))
}

async fn register(catalog: &CatalogService, file: &Path) -> LocationId {
    catalog
        .add_location("file", &file.display().to_string(), false)
        .await
        .expect("register location")
        .location
        .id
}

async fn total(search: &SearchService, term: &str) -> usize {
    search
        .search(SearchRequest {
            term: term.into(),
            limit: 10,
            ..SearchRequest::default()
        })
        .await
        .expect("search")
        .total
}

struct Fixture {
    _dir: tempfile::TempDir,
    file: PathBuf,
    catalog: Arc<CatalogService>,
    location: LocationId,
}

async fn sqlite_fixture(documents: &[String]) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().canonicalize().expect("canonical");
    let file = root.join("catalog-info.yaml");
    write_catalog(&file, documents);
    let url = format!("sqlite://{}", root.join("paved.db").display());
    let catalog = catalog_on(&url, &root).await;
    let location = register(&catalog, &file).await;
    Fixture {
        _dir: dir,
        file,
        catalog,
        location,
    }
}

#[tokio::test]
async fn searches_wait_for_the_build_then_see_the_catalog() {
    let fixture = sqlite_fixture(&[component("alpha", "first"), component("beta", "second")]).await;
    let search =
        SearchService::new(fixture.catalog.clone(), SearchSettings::default()).expect("service");
    let before = search.search(SearchRequest::default()).await;
    assert!(matches!(before, Err(SearchError::NotReady)), "{before:?}");
    let report = search.build().await.expect("build");
    // Two components and the Location entity of the registered file.
    assert_eq!(report.entities, 3);
    assert!(report.sequence > 0);
    assert!(search.is_ready());
    assert_eq!(total(&search, "second").await, 1);
}

#[tokio::test]
async fn change_events_upsert_and_delete_documents() {
    let fixture = sqlite_fixture(&[component("alpha", "first"), component("beta", "second")]).await;
    let search =
        SearchService::new(fixture.catalog.clone(), SearchSettings::default()).expect("service");
    search.build().await.expect("build");
    assert_eq!(search.follow_once().await.expect("follow").entities, 0);

    // Edit alpha, remove beta, add gamma.
    write_catalog(
        &fixture.file,
        &[component("alpha", "rewritten"), component("gamma", "third")],
    );
    fixture
        .catalog
        .refresh_location(&fixture.location)
        .await
        .expect("refresh");
    // Nothing changes before the events are followed.
    assert_eq!(total(&search, "rewritten").await, 0);
    let report = search.follow_once().await.expect("follow");
    assert!(!report.rebuilt);
    assert!(report.entities >= 3, "{report:?}");
    assert_eq!(total(&search, "rewritten").await, 1);
    assert_eq!(total(&search, "first").await, 0);
    assert_eq!(total(&search, "gamma").await, 1);
    // beta is orphaned: still in the catalog (Backstage keeps orphans), marked so.
    let orphan = fixture
        .catalog
        .entity_by_ref(&paved_model::EntityRef::new("component", "default", "beta"))
        .await
        .expect("read");
    assert_eq!(total(&search, "beta").await, usize::from(orphan.is_some()));

    // Deleting it from the catalog removes its document.
    if let Some(raw) = orphan {
        let value: serde_json::Value = serde_json::from_str(&raw.json).expect("json");
        let uid = value["metadata"]["uid"].as_str().expect("uid");
        fixture
            .catalog
            .delete_entity_by_uid(uid)
            .await
            .expect("delete");
        search.follow_once().await.expect("follow");
        assert_eq!(total(&search, "beta").await, 0);
    }
    assert_eq!(
        search.sequence(),
        fixture.catalog.version().await.expect("version")
    );
}

#[tokio::test]
async fn a_follower_behind_pruned_events_rebuilds() {
    let fixture = sqlite_fixture(&[component("alpha", "first")]).await;
    let search =
        SearchService::new(fixture.catalog.clone(), SearchSettings::default()).expect("service");
    search.build().await.expect("build");
    for round in ["one", "two", "three"] {
        write_catalog(&fixture.file, &[component("alpha", round)]);
        fixture
            .catalog
            .refresh_location(&fixture.location)
            .await
            .expect("refresh");
    }
    // Every event but the newest goes.
    let pruned = fixture
        .catalog
        .prune_changes(Duration::ZERO)
        .await
        .expect("prune");
    assert!(pruned >= 2, "pruned {pruned}");
    let report = search.follow_once().await.expect("follow");
    assert!(report.rebuilt, "{report:?}");
    assert_eq!(total(&search, "three").await, 1);
    assert_eq!(total(&search, "first").await, 0);
}

#[tokio::test]
async fn the_spawned_follower_makes_an_edit_findable() {
    let fixture = sqlite_fixture(&[component("alpha", "first")]).await;
    let search = Arc::new(
        SearchService::new(
            fixture.catalog.clone(),
            SearchSettings {
                poll_interval: Duration::from_millis(20),
                ..SearchSettings::default()
            },
        )
        .expect("service"),
    );
    let task = search.clone().spawn();
    write_catalog(&fixture.file, &[component("alpha", "edited")]);
    fixture
        .catalog
        .refresh_location(&fixture.location)
        .await
        .expect("refresh");
    let version = fixture.catalog.version().await.expect("version");
    // Wait (without a time assertion) until the follower has applied the edit's event.
    while search.sequence() < version {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(total(&search, "edited").await, 1);
    task.abort();
}

#[tokio::test]
async fn two_replicas_on_one_postgres_database_both_see_an_edit() {
    let Ok(base) = std::env::var("PAVED_TEST_DATABASE_URL") else {
        eprintln!("PAVED_TEST_DATABASE_URL is not set: the PostgreSQL replica test did not run");
        return;
    };
    sqlx::any::install_default_drivers();
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::AnyPool::connect(&base).await.expect("postgres");
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .await
        .expect("schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options[search_path]={schema}");

    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().canonicalize().expect("canonical");
    let file = root.join("catalog-info.yaml");
    write_catalog(
        &file,
        &[component("alpha", "first"), component("beta", "second")],
    );
    // Two processes' worth: each its own connections, catalog service and index.
    let catalog_one = catalog_on(&url, &root).await;
    let catalog_two = catalog_on(&url, &root).await;
    let location = register(&catalog_one, &file).await;
    let replica_one =
        SearchService::new(catalog_one.clone(), SearchSettings::default()).expect("service");
    let replica_two =
        SearchService::new(catalog_two.clone(), SearchSettings::default()).expect("service");
    replica_one.build().await.expect("build one");
    replica_two.build().await.expect("build two");
    assert_eq!(total(&replica_two, "second").await, 1);

    // The edit is ingested by replica one's catalog…
    write_catalog(
        &file,
        &[
            component("alpha", "postgres-edit"),
            component("beta", "second"),
        ],
    );
    catalog_one
        .refresh_location(&location)
        .await
        .expect("refresh");
    // …and both indexes see it after following the shared change events.
    replica_one.follow_once().await.expect("follow one");
    replica_two.follow_once().await.expect("follow two");
    assert_eq!(total(&replica_one, "postgres-edit").await, 1);
    assert_eq!(total(&replica_two, "postgres-edit").await, 1);
    assert_eq!(total(&replica_two, "first").await, 0);

    catalog_one.close().await;
    catalog_two.close().await;
    admin
        .execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .await
        .expect("drop schema");
}

fn site(entity_ref: &str, built_at: i64) -> paved_store::DocSite {
    paved_store::DocSite {
        entity_ref: entity_ref.into(),
        site_name: "Orders".into(),
        site_description: None,
        owner: Some("team-a".into()),
        status: "built".into(),
        built_at,
        fingerprint: Some(format!("f{built_at}")),
        entity_etag: None,
        problems: serde_json::json!([]),
        nav: serde_json::json!([]),
        page_count: 0,
    }
}

fn page(path: &str, title: &str, text: &str) -> paved_store::DocPage {
    paved_store::DocPage {
        path: path.into(),
        title: title.into(),
        html: format!("<p>{text}</p>"),
        toc: serde_json::json!([]),
        headings: vec![title.into()],
        text: text.into(),
    }
}

#[tokio::test]
async fn documentation_pages_follow_the_docs_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().canonicalize().unwrap();
    let file = root.join("catalog-info.yaml");
    write_catalog(&file, &[component("orders", "Takes orders.")]);
    let url = format!("sqlite://{}", root.join("paved.db").display());
    let stores = paved_store::connect_stores(&url).await.expect("stores");
    let mut settings = CatalogSettings::new(root.join("data"));
    settings.allowed_roots = vec![root.clone()];
    let catalog = Arc::new(CatalogService::new(stores.catalog.clone(), settings));
    register(&catalog, &file).await;
    let search = SearchService::new(catalog, SearchSettings::default())
        .expect("index")
        .with_docs(stores.docs.clone());
    search.build().await.expect("build");
    let docs_only = |term: &str| SearchRequest {
        term: term.into(),
        types: vec!["techdocs".into()],
        limit: 10,
        ..SearchRequest::default()
    };

    stores
        .docs
        .save_doc_site(
            site("component:default/orders", 1),
            paved_store::DocContent::Replace {
                pages: vec![
                    page("index.md", "Orders", "How orders flow."),
                    page("runbook.md", "Runbook", "Restart the zanzibar worker."),
                ],
                files: vec![],
            },
        )
        .await
        .expect("save site");
    assert_eq!(search.sync_docs().await.expect("sync"), 1);
    let found = search.search(docs_only("zanzibar")).await.expect("search");
    assert_eq!(found.total, 1);
    assert_eq!(
        found.hits[0].document["location"],
        "/catalog/default/component/orders/docs/runbook"
    );
    // Nothing changed: nothing is read again.
    assert_eq!(search.sync_docs().await.expect("sync"), 0);

    // A rebuild with other pages replaces them all.
    stores
        .docs
        .save_doc_site(
            site("component:default/orders", 2),
            paved_store::DocContent::Replace {
                pages: vec![page("index.md", "Orders", "Now with kumquat batching.")],
                files: vec![],
            },
        )
        .await
        .expect("save site");
    assert_eq!(search.sync_docs().await.expect("sync"), 1);
    assert_eq!(total(&search, "zanzibar").await, 0);
    assert_eq!(search.search(docs_only("kumquat")).await.unwrap().total, 1);

    // A site removed from the store leaves the index too.
    stores
        .docs
        .delete_doc_site("component:default/orders")
        .await
        .expect("delete site");
    search.sync_docs().await.expect("sync");
    assert_eq!(total(&search, "kumquat").await, 0);
}
