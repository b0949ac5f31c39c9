//! Builds as jobs on a real store: the runner builds a site enqueued at start, a change of
//! the docs (seen after the location's refresh) rebuilds it, a change of the entity (a change
//! event) rebuilds it, an unchanged source stores nothing, and dropping the annotation removes
//! the site.

use paved_catalog::{CatalogService, CatalogSettings};
use paved_docs::{BuildJobHandler, BuildOutcome, DocsService, DocsSettings};
use paved_model::EntityRef;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn entity_yaml(description: &str, techdocs: bool) -> String {
    let annotation = if techdocs {
        "  annotations:\n    backstage.io/techdocs-ref: dir:.\n"
    } else {
        ""
    };
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: shop\n  description: {description}\n{annotation}spec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"
    )
}

fn write(root: &Path, path: &str, text: &str) {
    let file = root.join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, text).unwrap();
}

/// Waits (polling the store) until `check` holds; the job runs in the background.
async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..600 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never happened: {what}");
}

/// A temporary folder with `shop/catalog-info.yaml` (the entity with a techdocs-ref) and the
/// given files, a catalog on a real SQLite store with that file as its location, the docs
/// service and a job runner building its jobs in the background.
struct Fixture {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    stores: paved_store::Stores,
    catalog: Arc<CatalogService>,
    docs: Arc<DocsService>,
    location: paved_store::LocationId,
    stop: tokio::sync::watch::Sender<bool>,
    running: tokio::task::JoinHandle<()>,
}

impl Fixture {
    async fn start(files: &[(&str, &str)]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        write(&root, "shop/catalog-info.yaml", &entity_yaml("First", true));
        for (path, text) in files {
            write(&root, path, text);
        }
        let url = format!("sqlite://{}", root.join("paved.db").display());
        let stores = paved_store::connect_stores(&url).await.unwrap();
        let mut settings = CatalogSettings::new(root.join("data"));
        settings.allowed_roots = vec![root.clone()];
        let catalog = Arc::new(CatalogService::new(stores.catalog.clone(), settings));
        let file = root.join("shop/catalog-info.yaml").display().to_string();
        let location = catalog
            .add_location("file", &file, false)
            .await
            .unwrap()
            .location
            .id;
        let docs = Arc::new(DocsService::new(
            catalog.clone(),
            stores.docs.clone(),
            DocsSettings::default(),
        ));
        let runner = paved_jobs::JobRunner::new(stores.jobs.clone(), "test-worker")
            .poll_every(Duration::from_millis(50))
            .register(Arc::new(BuildJobHandler(docs.clone())));
        docs.set_queue(runner.queue());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let (_queue, running) = runner.spawn(stopped);
        Fixture {
            _dir: dir,
            root,
            stores,
            catalog,
            docs,
            location,
            stop,
            running,
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        self.running.await.unwrap();
    }
}

#[tokio::test]
async fn jobs_build_sites_and_rebuild_them_on_change() {
    let fixture = Fixture::start(&[
        (
            "shop/mkdocs.yml",
            "site_name: Shop docs\nnav:\n  - Home: index.md\n",
        ),
        ("shop/docs/index.md", "# Shop\n\nVersion one.\n"),
    ])
    .await;
    let root = &fixture.root;
    let (catalog, docs, location) = (&fixture.catalog, &fixture.docs, &fixture.location);
    let shop = EntityRef::new("component", "default", "shop");
    let mut cursor = catalog.version().await.unwrap();
    let mut refreshed = HashMap::new();
    // The first round only learns when each location was last read.
    cursor = docs.follow_once(cursor, &mut refreshed).await.unwrap();

    // At start the missing site is enqueued, and the runner builds it.
    assert_eq!(docs.enqueue_stale().await.unwrap(), 1);
    eventually("the first build", || async {
        docs.site(&shop).await.unwrap().is_some()
    })
    .await;
    let site = docs.site(&shop).await.unwrap().unwrap();
    assert_eq!(
        (site.site_name.as_str(), site.status.as_str()),
        ("Shop docs", "built")
    );
    assert_eq!(site.owner.as_deref(), Some("team-a"));
    let page = docs.page(&shop, "").await.unwrap().unwrap();
    assert!(page.html.contains("Version one."));
    assert_eq!(page.text, "Shop Version one.");
    assert_eq!(
        docs.enqueue_stale().await.unwrap(),
        0,
        "nothing is stale now"
    );

    // The same sources again: nothing is stored.
    assert_eq!(docs.build(&shop).await.unwrap(), BuildOutcome::Unchanged);

    // The docs change, the entity does not: the location's refresh triggers the rebuild.
    write(root, "shop/docs/index.md", "# Shop\n\nVersion two.\n");
    catalog.refresh_location(location).await.unwrap();
    cursor = docs.follow_once(cursor, &mut refreshed).await.unwrap();
    eventually("the rebuild after the docs changed", || async {
        docs.page(&shop, "")
            .await
            .unwrap()
            .is_some_and(|p| p.html.contains("Version two."))
    })
    .await;

    // The entity changes: its change event triggers a build that records the new etag.
    let etag_before = docs.site(&shop).await.unwrap().unwrap().entity_etag;
    write(root, "shop/catalog-info.yaml", &entity_yaml("Second", true));
    catalog.refresh_location(location).await.unwrap();
    cursor = docs.follow_once(cursor, &mut refreshed).await.unwrap();
    eventually("the site to follow the entity's etag", || async {
        docs.site(&shop).await.unwrap().unwrap().entity_etag != etag_before
    })
    .await;

    // Without the annotation the site goes.
    write(root, "shop/catalog-info.yaml", &entity_yaml("Third", false));
    catalog.refresh_location(location).await.unwrap();
    docs.follow_once(cursor, &mut refreshed).await.unwrap();
    // A build queued before the change may still run; it finds no annotation and removes too.
    eventually("the site to go", || async {
        docs.site(&shop).await.unwrap().is_none()
    })
    .await;

    fixture.stop().await;
}

#[tokio::test]
async fn a_failed_build_keeps_the_last_good_pages_and_says_why() {
    // Builds run directly here; the fixture's runner has nothing to do.
    let fixture = Fixture::start(&[
        ("shop/mkdocs.yml", "site_name: Shop docs\n"),
        ("shop/docs/index.md", "# Shop\n\n[broken](nowhere.md)\n"),
    ])
    .await;
    let root = &fixture.root;
    let docs = &fixture.docs;
    let shop = EntityRef::new("component", "default", "shop");

    assert_eq!(
        docs.build(&shop).await.unwrap(),
        BuildOutcome::Built {
            pages: 1,
            problems: 1
        }
    );
    let problems = docs.problems().await.unwrap();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].problems[0].file, "docs/index.md");
    assert_eq!(problems[0].problems[0].line, Some(3));

    // Without index.md the site opens on its first page.
    std::fs::rename(
        root.join("shop/docs/index.md"),
        root.join("shop/docs/start.md"),
    )
    .unwrap();
    assert_eq!(
        docs.build(&shop).await.unwrap(),
        BuildOutcome::Built {
            pages: 1,
            problems: 1
        }
    );
    assert_eq!(
        docs.page(&shop, "").await.unwrap().unwrap().path,
        "start.md"
    );
    assert_eq!(
        docs.page(&shop, "start").await.unwrap().unwrap().path,
        "start.md"
    );

    write(root, "shop/mkdocs.yml", "site_name: [unclosed\n");
    let outcome = docs.build(&shop).await.unwrap();
    assert!(matches!(outcome, BuildOutcome::Failed(_)), "{outcome:?}");
    let site = docs.site(&shop).await.unwrap().unwrap();
    assert_eq!((site.status.as_str(), site.page_count), ("failed", 1));
    assert_eq!(site.problems[0]["file"], "mkdocs.yml");
    assert!(
        docs.page(&shop, "").await.unwrap().is_some(),
        "the last good pages stay"
    );
    fixture.stop().await;
}

#[tokio::test]
async fn a_folder_without_docs_gets_no_build_until_a_source_appears() {
    let fixture = Fixture::start(&[]).await;
    let root = &fixture.root;
    let (stores, catalog, docs, location) = (
        &fixture.stores,
        &fixture.catalog,
        &fixture.docs,
        &fixture.location,
    );
    let shop = EntityRef::new("component", "default", "shop");
    let builds = || async {
        stores
            .jobs
            .list_jobs(Some(paved_docs::service::BUILD_JOB), 100)
            .await
            .unwrap()
            .len()
    };
    let stored = |entity: EntityRef| {
        let catalog = catalog.clone();
        async move {
            let raw = catalog.entity_by_ref(&entity).await.unwrap().unwrap();
            serde_json::from_str::<serde_json::Value>(&raw.json).unwrap()
        }
    };

    // Neither mkdocs.yml nor README.md next to the entity: nothing to build, and the reason
    // is known without a build.
    let mut cursor = catalog.version().await.unwrap();
    let mut refreshed = HashMap::new();
    cursor = docs.follow_once(cursor, &mut refreshed).await.unwrap();
    assert_eq!(docs.enqueue_stale().await.unwrap(), 0);
    assert_eq!(
        docs.folder_without_source(&stored(shop.clone()).await),
        Some(root.join("shop"))
    );
    // An edit of the entity is a change event; the folder is still empty: no build either.
    write(root, "shop/catalog-info.yaml", &entity_yaml("Second", true));
    catalog.refresh_location(location).await.unwrap();
    cursor = docs.follow_once(cursor, &mut refreshed).await.unwrap();
    assert_eq!(builds().await, 0, "no build job for a folder without docs");
    assert!(docs.site(&shop).await.unwrap().is_none());

    // A README appears; the entity does not change. The location's refresh builds the site.
    write(root, "shop/README.md", "# Shop\n\nRead me.\n");
    catalog.refresh_location(location).await.unwrap();
    cursor = docs.follow_once(cursor, &mut refreshed).await.unwrap();
    eventually("the site built from the new README", || async {
        docs.site(&shop)
            .await
            .unwrap()
            .is_some_and(|s| s.status == "built")
    })
    .await;
    assert_eq!(
        docs.folder_without_source(&stored(shop.clone()).await),
        None
    );

    // The README goes and the entity changes: the site goes with its source.
    std::fs::remove_file(root.join("shop/README.md")).unwrap();
    write(root, "shop/catalog-info.yaml", &entity_yaml("Third", true));
    catalog.refresh_location(location).await.unwrap();
    docs.follow_once(cursor, &mut refreshed).await.unwrap();
    eventually("the site to go with its source", || async {
        docs.site(&shop).await.unwrap().is_none()
    })
    .await;

    fixture.stop().await;
}
