//! Ingestion end to end: real files, real git repositories, a real SQLite store.

use paved_catalog::{CatalogService, CatalogSettings, LocationSpec};
use paved_model::EntityRef;
use paved_store::{EntityQuery, LocationId};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const COMPAT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/compat/backstage-examples"
);

async fn service(dir: &Path, roots: Vec<PathBuf>) -> Arc<CatalogService> {
    let url = format!("sqlite://{}", dir.join("paved.db").display());
    let store = paved_store::connect(&url).await.expect("store opens");
    let mut settings = CatalogSettings::new(dir.to_path_buf());
    settings.allowed_roots = roots;
    Arc::new(CatalogService::new(store, settings))
}

async fn entity(catalog: &CatalogService, r: &str) -> Option<Value> {
    let r = EntityRef::parse_full(r).expect("valid ref");
    catalog
        .entity_by_ref(&r)
        .await
        .expect("read")
        .map(|raw| serde_json::from_str(&raw.json).expect("stored json"))
}

async fn all_entities(catalog: &CatalogService) -> Vec<Value> {
    let page = catalog
        .query_entities(&EntityQuery::default())
        .await
        .expect("query");
    page.items
        .iter()
        .map(|raw| serde_json::from_str(&raw.json).expect("json"))
        .collect()
}

async fn counts(catalog: &CatalogService) -> BTreeMap<String, u64> {
    catalog.count_by_kind().await.expect("counts")
}

fn relations(entity: &Value) -> Vec<(String, String)> {
    entity["relations"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    (
                        r["type"].as_str().unwrap().to_string(),
                        r["targetRef"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn has_relation(entity: &Value, kind: &str, target: &str) -> bool {
    relations(entity).contains(&(kind.to_string(), target.to_string()))
}

async fn register(catalog: &CatalogService, kind: &str, target: &str) -> LocationId {
    let outcome = catalog
        .add_location(kind, target, false)
        .await
        .expect("location registers");
    outcome.location.id
}

fn compat() -> PathBuf {
    std::fs::canonicalize(COMPAT).expect("shared/compat is beside the repository")
}

#[tokio::test]
async fn backstage_examples_all_yaml_counts_and_relations() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = service(dir.path(), vec![compat()]).await;
    register(
        &catalog,
        "file",
        &compat().join("all.yaml").display().to_string(),
    )
    .await;
    let counts = counts(&catalog).await;
    // EXPECTED.md: 33 documents; paved adds the generated Location of the registration itself.
    let expected: BTreeMap<String, u64> = [
        ("api", 7),
        ("component", 13),
        ("domain", 3),
        ("location", 6 + 1),
        ("resource", 1),
        ("system", 3),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(counts, expected);

    for api in [
        "inpixonmappingsdk",
        "wokplaceanalytics",
        "awareproducerservice",
        "awarecoreinsight",
        "analytics",
        "mapanalytics",
        "odpanalytics",
    ] {
        let e = entity(&catalog, &format!("api:default/{api}"))
            .await
            .unwrap_or_else(|| panic!("{api} stored"));
        assert!(
            has_relation(&e, "ownedBy", "group:default/inpixon"),
            "{api}: {:?}",
            relations(&e)
        );
    }
    let order = entity(&catalog, "component:default/playback-order")
        .await
        .unwrap();
    assert!(has_relation(&order, "ownedBy", "group:default/guest"));
    let petstore = entity(&catalog, "component:default/petstore")
        .await
        .unwrap();
    for api in ["petstore", "streetlights", "hello-world"] {
        assert!(has_relation(
            &petstore,
            "providesApi",
            &format!("api:default/{api}")
        ));
    }
    let search = entity(&catalog, "component:default/wayback-search")
        .await
        .unwrap();
    assert!(has_relation(
        &search,
        "providesApi",
        "api:default/wayback-search"
    ));
    assert!(has_relation(
        &search,
        "consumesApi",
        "api:default/wayback-archive"
    ));
    // Both sides of a relation between two stored entities.
    // Both sides of relations between stored entities: component ↔ system ↔ domain.
    let podcast = entity(&catalog, "system:default/podcast").await.unwrap();
    assert!(has_relation(
        &podcast,
        "hasPart",
        "component:default/podcast-api"
    ));
    assert!(has_relation(
        &podcast,
        "hasPart",
        "component:default/queue-proxy"
    ));
    assert!(has_relation(&podcast, "partOf", "domain:default/playback"));
    assert!(has_relation(&podcast, "ownedBy", "group:default/team-b"));
    let playback = entity(&catalog, "domain:default/playback").await.unwrap();
    assert!(has_relation(&playback, "hasPart", "system:default/podcast"));
    let podcast_api = entity(&catalog, "component:default/podcast-api")
        .await
        .unwrap();
    assert!(has_relation(
        &podcast_api,
        "partOf",
        "system:default/podcast"
    ));
    let domains = all_entities(&catalog).await;
    assert!(
        domains
            .iter()
            .all(|e| e["metadata"]["uid"].is_string() && e["metadata"]["etag"].is_string())
    );
}

#[tokio::test]
async fn invalid_example_is_reported_and_does_not_stop_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = service(dir.path(), vec![compat()]).await;
    let glob = compat().join("components").join("*.yaml");
    register(&catalog, "file", &glob.display().to_string()).await;
    let counts = counts(&catalog).await;
    // 24 component files: one is invalid on purpose; different-namespace is in 'alternative'.
    assert_eq!(counts.get("component"), Some(&23));
    assert!(
        entity(&catalog, "component:alternative/different-namespace")
            .await
            .is_some()
    );
    let errors = catalog.processing_errors().await.unwrap();
    let invalid: Vec<_> = errors
        .iter()
        .filter(|e| {
            e.diagnostic
                .file
                .as_deref()
                .is_some_and(|f| f.ends_with("invalid-component.yaml"))
        })
        .collect();
    let name = invalid
        .iter()
        .find(|e| e.diagnostic.field.as_deref() == Some("metadata.name"))
        .expect("the bad name is reported");
    assert_eq!(name.diagnostic.line, Some(4));
    assert!(
        invalid
            .iter()
            .any(|e| e.diagnostic.field.as_deref() == Some("metadata.tags[1]"))
    );
}

#[tokio::test]
async fn acme_org_groups_users_and_cross_namespace_membership() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = service(dir.path(), vec![compat()]).await;
    register(
        &catalog,
        "file",
        &compat().join("acme/org.yaml").display().to_string(),
    )
    .await;
    let counts = counts(&catalog).await;
    assert_eq!(counts.get("group"), Some(&9));
    assert_eq!(counts.get("user"), Some(&17));
    let team_a = entity(&catalog, "group:default/team-a").await.unwrap();
    assert!(
        has_relation(&team_a, "hasMember", "user:development/guest"),
        "{:?}",
        relations(&team_a)
    );
    assert!(has_relation(&team_a, "hasMember", "user:default/guest"));
    let guest_dev = entity(&catalog, "user:development/guest").await.unwrap();
    assert!(has_relation(&guest_dev, "memberOf", "group:default/team-a"));
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn component(name: &str, owner: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n"
    )
}

#[tokio::test]
async fn broken_file_keeps_what_an_earlier_version_stored() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    write(
        &repo.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: root\nspec:\n  targets: [./a.yaml, ./b.yaml]\n",
    );
    write(&repo.join("a.yaml"), &component("alpha", "team-a"));
    write(
        &repo.join("b.yaml"),
        &format!(
            "{}---\n{}",
            component("beta", "team-b"),
            component("gamma", "team-b")
        ),
    );
    let catalog = service(dir.path(), vec![repo.clone()]).await;
    let id = register(
        &catalog,
        "file",
        &repo.join("catalog-info.yaml").display().to_string(),
    )
    .await;
    assert!(entity(&catalog, "component:default/beta").await.is_some());

    // b.yaml breaks: a syntax error. beta and gamma stay as they were; the error names the line.
    write(
        &repo.join("b.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: [unclosed\n",
    );
    // a.yaml's entity becomes invalid: the previous version stays, with the error on its status.
    write(
        &repo.join("a.yaml"),
        &component("alpha", "").replace("owner: \n", "owner: 42\n"),
    );
    catalog.refresh_location(&id).await.unwrap();
    assert!(entity(&catalog, "component:default/beta").await.is_some());
    assert!(entity(&catalog, "component:default/gamma").await.is_some());
    let alpha = entity(&catalog, "component:default/alpha")
        .await
        .expect("alpha kept");
    assert_eq!(alpha["spec"]["owner"], "team-a");
    let items = alpha["status"]["items"]
        .as_array()
        .expect("status items on alpha");
    assert_eq!(items[0]["type"], "backstage.io/catalog-processing");
    assert_eq!(items[0]["error"]["field"], "spec.owner");
    let errors = catalog.processing_errors().await.unwrap();
    let syntax = errors
        .iter()
        .find(|e| {
            e.diagnostic
                .file
                .as_deref()
                .is_some_and(|f| f.ends_with("b.yaml"))
        })
        .expect("b.yaml's error is stored");
    assert!(syntax.diagnostic.line.is_some());

    // b.yaml disappears from the Location: beta and gamma become orphans, not deleted.
    write(
        &repo.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: root\nspec:\n  targets: [./a.yaml]\n",
    );
    write(&repo.join("a.yaml"), &component("alpha", "team-a"));
    catalog.refresh_location(&id).await.unwrap();
    let beta = entity(&catalog, "component:default/beta")
        .await
        .expect("orphans are kept");
    assert_eq!(
        beta["metadata"]["annotations"]["backstage.io/orphan"],
        "true"
    );
    let alpha = entity(&catalog, "component:default/alpha").await.unwrap();
    assert!(
        alpha.get("status").is_none(),
        "errors cleared once fixed: {alpha}"
    );
}

#[tokio::test]
async fn refreshing_an_entity_reads_only_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    write(
        &repo.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: root\nspec:\n  targets: [./a.yaml, ./b.yaml]\n",
    );
    write(
        &repo.join("a.yaml"),
        &format!(
            "{}---\n{}",
            component("alpha", "team-a"),
            component("delta", "team-a")
        ),
    );
    // b.yaml's second document is invalid: its error must outlive refreshes of a.yaml.
    write(
        &repo.join("b.yaml"),
        &format!(
            "{}---\n{}",
            component("beta", "team-b"),
            component("broken", "team-b").replace("owner: team-b", "owner: 42")
        ),
    );
    let catalog = service(dir.path(), vec![repo.clone()]).await;
    register(
        &catalog,
        "file",
        &repo.join("catalog-info.yaml").display().to_string(),
    )
    .await;
    let errors_about = |errors: &[paved_store::StoredProcessingError], file: &str| {
        errors
            .iter()
            .filter(|e| {
                e.diagnostic
                    .file
                    .as_deref()
                    .is_some_and(|f| f.ends_with(file))
            })
            .count()
    };
    assert_eq!(
        errors_about(&catalog.processing_errors().await.unwrap(), "b.yaml"),
        1
    );

    write(
        &repo.join("a.yaml"),
        &format!(
            "{}---\n{}",
            component("alpha", "team-z"),
            component("epsilon", "team-a")
        ),
    );
    write(&repo.join("b.yaml"), &component("beta", "team-y"));
    let alpha = EntityRef::parse_full("component:default/alpha").unwrap();
    let outcome = catalog.refresh_entity(&alpha).await.unwrap();
    assert_eq!(
        (outcome.updated, outcome.added, outcome.orphaned),
        (1, 1, 1),
        "{outcome:?}"
    );
    let stored = entity(&catalog, "component:default/alpha").await.unwrap();
    assert_eq!(stored["spec"]["owner"], "team-z");
    assert!(has_relation(&stored, "ownedBy", "group:default/team-z"));
    assert!(
        entity(&catalog, "component:default/epsilon")
            .await
            .is_some()
    );
    let delta = entity(&catalog, "component:default/delta").await.unwrap();
    assert_eq!(
        delta["metadata"]["annotations"]["backstage.io/orphan"],
        "true"
    );
    // The sibling file was not read.
    let beta = entity(&catalog, "component:default/beta").await.unwrap();
    assert_eq!(beta["spec"]["owner"], "team-b");
    assert_eq!(
        errors_about(&catalog.processing_errors().await.unwrap(), "b.yaml"),
        1
    );

    // A broken file keeps its entities; its error comes and goes with it, the other stays.
    write(&repo.join("a.yaml"), "kind: [unclosed\n");
    catalog.refresh_entity(&alpha).await.unwrap();
    let errors = catalog.processing_errors().await.unwrap();
    assert_eq!(errors_about(&errors, "a.yaml"), 1);
    assert_eq!(errors_about(&errors, "b.yaml"), 1);
    assert_eq!(
        entity(&catalog, "component:default/alpha").await.unwrap()["spec"]["owner"],
        "team-z"
    );
    write(&repo.join("a.yaml"), &component("alpha", "team-z"));
    catalog.refresh_entity(&alpha).await.unwrap();
    let errors = catalog.processing_errors().await.unwrap();
    assert_eq!(errors_about(&errors, "a.yaml"), 0);
    assert_eq!(errors_about(&errors, "b.yaml"), 1);

    // A Location entity's refresh reads the whole location.
    let root = EntityRef::parse_full("location:default/root").unwrap();
    catalog.refresh_entity(&root).await.unwrap();
    let beta = entity(&catalog, "component:default/beta").await.unwrap();
    assert_eq!(beta["spec"]["owner"], "team-y");
    assert_eq!(
        errors_about(&catalog.processing_errors().await.unwrap(), "b.yaml"),
        0
    );
}

#[tokio::test]
async fn second_location_claiming_an_entity_gets_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("c");
    write(
        &root.join("one/catalog-info.yaml"),
        &component("shared", "team-a"),
    );
    write(
        &root.join("two/catalog-info.yaml"),
        &component("shared", "team-b"),
    );
    let catalog = service(dir.path(), vec![root.clone()]).await;
    register(
        &catalog,
        "file",
        &root.join("one/catalog-info.yaml").display().to_string(),
    )
    .await;
    register(
        &catalog,
        "file",
        &root.join("two/catalog-info.yaml").display().to_string(),
    )
    .await;
    let shared = entity(&catalog, "component:default/shared").await.unwrap();
    assert_eq!(
        shared["spec"]["owner"], "team-a",
        "the first location keeps it"
    );
    let errors = catalog.processing_errors().await.unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e.diagnostic.message.contains("already provided")),
        "{errors:?}"
    );
}

#[tokio::test]
async fn escapes_bombs_and_binaries_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    write(
        &dir.path().join("outside.yaml"),
        &component("outside", "team-a"),
    );
    write(
        &root.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: root\nspec:\n  targets: [../outside.yaml, ./link.yaml, ./bomb.yaml, ./binary.yaml, ./ok.yaml]\n",
    );
    std::os::unix::fs::symlink(dir.path().join("outside.yaml"), root.join("link.yaml")).unwrap();
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (i, prev) in ["b", "c", "d", "e", "f", "g", "h", "i"]
        .iter()
        .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
    {
        bomb.push_str(&format!(
            "{i}: &{i} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
    }
    write(&root.join("bomb.yaml"), &bomb);
    std::fs::write(root.join("binary.yaml"), [0u8, 159, 146, 150, 0, 1, 2]).unwrap();
    write(
        &root.join("ok.yaml"),
        &format!("{}  description: uses $text\n", component("fine", "team-a")),
    );
    let catalog = service(dir.path(), vec![root.clone()]).await;
    register(
        &catalog,
        "file",
        &root.join("catalog-info.yaml").display().to_string(),
    )
    .await;
    assert!(entity(&catalog, "component:default/fine").await.is_some());
    assert!(
        entity(&catalog, "component:default/outside")
            .await
            .is_none()
    );
    let errors = catalog.processing_errors().await.unwrap();
    let messages: Vec<String> = errors.iter().map(|e| e.diagnostic.to_string()).collect();
    assert!(
        messages
            .iter()
            .filter(|m| m.contains("outside the allowed roots"))
            .count()
            >= 2,
        "{messages:#?}"
    );
    // A refused target is placed where the Location lists it.
    let listing = root.join("catalog-info.yaml").display().to_string();
    for error in errors
        .iter()
        .filter(|e| e.diagnostic.message.contains("outside the allowed roots"))
    {
        let d = &error.diagnostic;
        assert_eq!(
            (d.file.as_deref(), d.line, d.field.as_deref()),
            (Some(listing.as_str()), Some(1), Some("spec.targets")),
            "{d}"
        );
    }
    assert!(
        messages.iter().any(|m| m.contains("bomb.yaml")),
        "{messages:#?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("binary.yaml")),
        "{messages:#?}"
    );
}

#[tokio::test]
async fn placeholders_resolve_relative_to_their_file_and_stay_inside() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    write(
        &root.join("specs/api.yaml"),
        "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths: {}\n",
    );
    write(&dir.path().join("secret.txt"), "secret");
    write(
        &root.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: good\nspec:\n  type: openapi\n  lifecycle: production\n  owner: team-a\n  definition:\n    $text: ./specs/api.yaml\n---\napiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: sneaky\nspec:\n  type: openapi\n  lifecycle: production\n  owner: team-a\n  definition:\n    $text: ../secret.txt\n",
    );
    let catalog = service(dir.path(), vec![root.clone()]).await;
    register(
        &catalog,
        "file",
        &root.join("catalog-info.yaml").display().to_string(),
    )
    .await;
    let good = entity(&catalog, "api:default/good").await.unwrap();
    assert!(
        good["spec"]["definition"]
            .as_str()
            .unwrap()
            .starts_with("openapi: 3.0.0")
    );
    assert!(entity(&catalog, "api:default/sneaky").await.is_none());
    let errors = catalog.processing_errors().await.unwrap();
    let sneaky = errors
        .iter()
        .find(|e| e.diagnostic.message.contains("secret.txt"))
        .expect("reported");
    assert_eq!(sneaky.diagnostic.field.as_deref(), Some("spec.definition"));
    assert_eq!(sneaky.diagnostic.line, Some(20));
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=paved",
            "-c",
            "user.email=paved@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

#[tokio::test]
async fn git_repository_at_a_branch_and_a_tag_refreshes_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let bare = dir.path().join("remote.git");
    std::fs::create_dir_all(&work).unwrap();
    git(
        dir.path(),
        &["init", "--quiet", "--bare", bare.to_str().unwrap()],
    );
    git(&work, &["init", "--quiet"]);
    write(
        &work.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: repo\nspec:\n  targets: [./services/web.yaml]\n",
    );
    write(&work.join("services/web.yaml"), &component("web", "team-a"));
    git(&work, &["add", "."]);
    git(&work, &["commit", "--quiet", "-m", "first"]);
    git(&work, &["tag", "v1"]);
    git(
        &work,
        &[
            "push",
            "--quiet",
            bare.to_str().unwrap(),
            "HEAD:refs/heads/main",
            "v1",
        ],
    );

    let target = format!("{}?ref=main", bare.display());
    // A repository on this machine is local files: outside the allowed roots it is refused,
    // in either spelling, and nothing is registered.
    {
        let data = dir.path().join("confined");
        std::fs::create_dir_all(&data).unwrap();
        let confined = service(&data, vec![work.clone()]).await;
        for refused in [target.clone(), format!("file://{target}")] {
            let error = confined
                .add_location("url", &refused, false)
                .await
                .expect_err("outside the allowed roots");
            assert!(
                matches!(&error, paved_catalog::CatalogError::Forbidden(m) if m.contains("outside the allowed roots")),
                "{error:?}"
            );
        }
        assert!(confined.locations().await.unwrap().is_empty());
    }
    let catalog = service(dir.path(), vec![bare.clone()]).await;
    let id = register(&catalog, "url", &target).await;
    let web = entity(&catalog, "component:default/web")
        .await
        .expect("read through git");
    assert_eq!(
        web["metadata"]["annotations"]["backstage.io/managed-by-location"],
        format!("url:{}?ref=main&path=services/web.yaml", bare.display())
    );
    register(
        &catalog,
        "url",
        &format!("{}?ref=v1&path=services/web.yaml", bare.display()),
    )
    .await;

    write(&work.join("services/web.yaml"), &component("web", "team-b"));
    git(&work, &["commit", "--quiet", "-am", "new owner"]);
    git(
        &work,
        &[
            "push",
            "--quiet",
            bare.to_str().unwrap(),
            "HEAD:refs/heads/main",
        ],
    );
    catalog.refresh_location(&id).await.unwrap();
    let web = entity(&catalog, "component:default/web").await.unwrap();
    assert_eq!(web["spec"]["owner"], "team-b");
    assert!(has_relation(&web, "ownedBy", "group:default/team-b"));

    let missing = catalog
        .add_location("url", &format!("{}?ref=nope", bare.display()), false)
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("nope"), "{missing}");
}

#[tokio::test]
async fn config_locations_and_allowed_roots() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("svc");
    write(&root.join("catalog-info.yaml"), &component("svc", "team-a"));
    write(
        &dir.path().join("elsewhere/catalog-info.yaml"),
        &component("elsewhere", "team-a"),
    );
    let catalog = service(dir.path(), vec![]).await;
    let spec = LocationSpec::new("file", root.join("catalog-info.yaml").display().to_string());
    let stored = catalog
        .register_config_locations(std::slice::from_ref(&spec))
        .await
        .unwrap();
    catalog.refresh_location(&stored[0].id).await.unwrap();
    assert!(entity(&catalog, "component:default/svc").await.is_some());
    // An API registration outside the configured folders is refused.
    let outside = dir
        .path()
        .join("elsewhere/catalog-info.yaml")
        .display()
        .to_string();
    let refused = catalog
        .add_location("file", &outside, false)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, paved_catalog::CatalogError::Forbidden(_)),
        "{refused:?}"
    );
    assert!(
        catalog
            .locations()
            .await
            .unwrap()
            .iter()
            .all(|l| l.target != outside)
    );
    // Registering the same config again keeps one location; dropping it removes its entities.
    let again = catalog.register_config_locations(&[spec]).await.unwrap();
    assert_eq!(again[0].id, stored[0].id);
    catalog.register_config_locations(&[]).await.unwrap();
    // The removal waits for the refresh loop (or this call), so a start does not wait for it.
    assert!(entity(&catalog, "component:default/svc").await.is_some());
    assert_eq!(catalog.remove_unconfigured_locations().await.unwrap(), 1);
    assert!(entity(&catalog, "component:default/svc").await.is_none());
    assert_eq!(catalog.remove_unconfigured_locations().await.unwrap(), 0);
}

#[tokio::test]
async fn catalog_rules_keep_out_the_kinds_a_location_may_not_provide() {
    use paved_catalog::{CatalogRule, CatalogRules};
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap().join("org");
    let people = root.join("people.yaml");
    write(
        &root.join("catalog-info.yaml"),
        &format!(
            "{}---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: sneaky\nspec:\n  type: team\n  children: []\n",
            component("allowed", "team-a")
        ),
    );
    write(
        &people,
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec:\n  type: team\n  children: []\n",
    );
    let people_spec = LocationSpec::new("file", people.display().to_string());
    let url = format!("sqlite://{}", dir.path().join("paved.db").display());
    let store = paved_store::connect(&url).await.unwrap();
    let mut settings = CatalogSettings::new(dir.path().to_path_buf());
    settings.allowed_roots = vec![root.clone()];
    settings.rules = Arc::new(
        CatalogRules::global(vec![CatalogRule::allow(["Component", "Location"])])
            .with_location_rules(&people_spec, vec![CatalogRule::allow(["Group"])]),
    );
    let catalog = Arc::new(CatalogService::new(store, settings));
    register(
        &catalog,
        "file",
        &root.join("catalog-info.yaml").display().to_string(),
    )
    .await;
    register(&catalog, "file", &people.display().to_string()).await;

    assert!(
        entity(&catalog, "component:default/allowed")
            .await
            .is_some()
    );
    assert!(
        entity(&catalog, "group:default/sneaky").await.is_none(),
        "not allowed from there"
    );
    assert!(
        entity(&catalog, "group:default/team-a").await.is_some(),
        "the people location's own rules allow groups"
    );
    let errors = catalog.processing_errors().await.unwrap();
    let refused = errors
        .iter()
        .find(|e| e.diagnostic.message.contains("group:default/sneaky"))
        .expect("the refused entity is reported");
    assert_eq!(refused.diagnostic.field.as_deref(), Some("kind"));
    assert_eq!(
        refused.diagnostic.line,
        Some(10),
        "{:?}",
        refused.diagnostic
    );
    assert!(
        refused
            .diagnostic
            .file
            .as_deref()
            .is_some_and(|f| f.ends_with("org/catalog-info.yaml")),
        "{:?}",
        refused.diagnostic
    );
}

#[tokio::test]
async fn cached_facets_follow_the_catalog_version() {
    use paved_catalog::facet_cache::Staleness;
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    write(&root.join("a/catalog-info.yaml"), &component("a", "team-a"));
    write(&root.join("b/catalog-info.yaml"), &component("b", "team-b"));
    let catalog = service(dir.path(), vec![root.clone()]).await;
    let owners = |counts: &BTreeMap<String, Vec<paved_store::FacetCount>>| {
        let mut values: Vec<(String, u64)> = counts["spec.owner"]
            .iter()
            .map(|c| (c.value.clone(), c.count))
            .collect();
        values.sort();
        values
    };
    let facets = vec!["spec.owner".to_string()];
    register(
        &catalog,
        "file",
        &root.join("a/catalog-info.yaml").display().to_string(),
    )
    .await;
    let first = catalog
        .facets_cached(&facets, None, Staleness::Current)
        .await
        .unwrap();
    assert_eq!(owners(&first), [("team-a".to_string(), 1)]);

    register(
        &catalog,
        "file",
        &root.join("b/catalog-info.yaml").display().to_string(),
    )
    .await;
    let expected = [("team-a".to_string(), 1), ("team-b".to_string(), 1)];
    // The portal's kind: previous counts at once, the new ones computed behind it.
    let stale = catalog
        .facets_cached(&facets, None, Staleness::WhileRevalidating)
        .await
        .unwrap();
    assert_eq!(owners(&stale), [("team-a".to_string(), 1)]);
    // The API's kind: a change is counted at once.
    let current = catalog
        .facets_cached(&facets, None, Staleness::Current)
        .await
        .unwrap();
    assert_eq!(owners(&current), expected);
    let cached = catalog
        .facets_cached(&facets, None, Staleness::WhileRevalidating)
        .await
        .unwrap();
    assert_eq!(owners(&cached), expected);
}
