//! Software templates over HTTP, end to end in process: a real SQLite store, the catalog reading
//! a template from files, the job runner running tasks, git publishing into a local bare
//! repository. Drives Backstage's scaffolder API and the portal's Create pages.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use paved_catalog::{CatalogService, CatalogSettings};
use paved_scaffolder::actions::{GitHost, GitPublishSettings};
use paved_scaffolder::{ScaffolderService, ScaffolderSettings, TaskJobHandler};
use paved_server::{AppState, ServerSettings, router};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const CATALOG: &str = r#"apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: shop
spec:
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: taken
spec:
  type: service
  lifecycle: production
  owner: team-a
"#;

const TEMPLATE: &str = r#"apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: hello-service
  title: Hello service
  description: A small service, published to git and registered.
  tags: [rust, recommended]
spec:
  owner: team-a
  type: service
  parameters:
    - title: About
      required: [name, owner]
      properties:
        name:
          title: Name
          type: string
          ui:field: EntityNamePicker
          ui:autofocus: true
        owner:
          title: Owner
          type: string
          ui:field: OwnerPicker
          ui:options:
            allowedKinds: [Group]
        system:
          title: System
          type: string
          ui:field: EntityPicker
          ui:options:
            catalogFilter:
              kind: System
        replicas:
          title: Replicas
          type: integer
          minimum: 1
          maximum: 5
          default: 2
    - title: Repository
      required: [repoUrl]
      properties:
        repoUrl:
          title: Repository location
          type: string
          ui:field: RepoUrlPicker
          ui:options:
            allowedHosts: [git.test]
  steps:
    - id: fetch
      name: Render the skeleton
      action: fetch:template
      input:
        url: ./skeleton
        values:
          name: ${{ parameters.name }}
          owner: ${{ parameters.owner }}
          replicas: ${{ parameters.replicas }}
    - id: publish
      name: Publish
      action: publish:git
      input:
        repoUrl: ${{ parameters.repoUrl }}
        defaultBranch: main
    - id: register
      name: Register
      action: catalog:register
      input:
        repoContentsUrl: ${{ steps['publish'].output.repoContentsUrl }}
        catalogInfoPath: /catalog-info.yaml
  output:
    links:
      - title: Repository
        url: ${{ steps['publish'].output.remoteUrl }}
      - title: Open in catalog
        icon: catalog
        entityRef: ${{ steps['register'].output.entityRef }}
"#;

const SKELETON_CATALOG: &str = r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ${{ values.name }}
  description: Runs ${{ values.replicas }} replicas.
spec:
  type: service
  lifecycle: experimental
  owner: ${{ values.owner }}
"#;

struct App {
    app: Router,
    catalog: Arc<CatalogService>,
    root: PathBuf,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::watch::Sender<bool>,
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

impl App {
    async fn new() -> App {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().canonicalize().expect("canonical temp dir");
        write(&root.join("catalog/catalog-info.yaml"), CATALOG);
        write(&root.join("templates/hello/template.yaml"), TEMPLATE);
        write(
            &root.join("templates/hello/skeleton/catalog-info.yaml"),
            SKELETON_CATALOG,
        );
        write(
            &root.join("templates/hello/skeleton/README.md"),
            "# ${{ values.name }}\n",
        );
        let url = format!("sqlite://{}", root.join("paved.db").display());
        let stores = paved_store::connect_stores(&url).await.expect("stores");
        let mut settings = CatalogSettings::new(root.join("data"));
        settings.allowed_roots = vec![root.clone()];
        let catalog = Arc::new(CatalogService::new(stores.catalog.clone(), settings));
        for file in ["catalog/catalog-info.yaml", "templates/hello/template.yaml"] {
            catalog
                .add_location("file", &root.join(file).display().to_string(), false)
                .await
                .expect("seed catalog");
        }
        let git_root = root.join("git");
        std::fs::create_dir_all(&git_root).expect("git root");
        let mut scaffolder_settings = ScaffolderSettings::new(root.join("work"));
        scaffolder_settings.git = GitPublishSettings {
            hosts: vec![GitHost {
                host: "git.test".into(),
                remote: format!("file://{}/{{owner}}/{{repo}}.git", git_root.display()),
                ..GitHost::default()
            }],
            local_roots: vec![git_root],
            ..GitPublishSettings::default()
        };
        let scaffolder = Arc::new(ScaffolderService::new(
            catalog.clone(),
            stores.tasks.clone(),
            scaffolder_settings,
        ));
        let runner = paved_jobs::JobRunner::new(stores.jobs.clone(), "test-worker")
            .register(Arc::new(TaskJobHandler(scaffolder.clone())))
            .poll_every(Duration::from_millis(50));
        scaffolder.set_queue(runner.queue());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let _ = runner.spawn(stopped);
        let state = AppState::new(catalog.clone(), ServerSettings::default(), None)
            .expect("portal templates load")
            .with_scaffolder(scaffolder);
        App {
            app: router(state),
            catalog,
            root,
            _dir: dir,
            _stop: stop,
        }
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Vec<(String, String)>, String) {
        let response = self.app.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    /// GET; HTML entities the portal's escaping writes for `/` and quotes are read back as a
    /// browser would.
    async fn get(&self, uri: &str) -> (StatusCode, String) {
        let (status, _, body) = self
            .send(Request::get(uri).body(Body::empty()).expect("request"))
            .await;
        (status, unescape(&body))
    }

    async fn post_json(&self, uri: &str, body: Value) -> (StatusCode, Value) {
        let (status, _, text) = self
            .send(
                Request::builder()
                    .method(Method::POST)
                    .uri(uri)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body.to_string()))
                    .expect("request"),
            )
            .await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A portal form post, from the portal's own origin.
    async fn post_form(
        &self,
        uri: &str,
        pairs: &[(&str, &str)],
    ) -> (StatusCode, Vec<(String, String)>, String) {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let (status, headers, body) = self
            .send(
                Request::builder()
                    .method(Method::POST)
                    .uri(uri)
                    .header(header::HOST, "127.0.0.1:7007")
                    .header(header::ORIGIN, "http://127.0.0.1:7007")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(body))
                    .expect("request"),
            )
            .await;
        (status, headers, unescape(&body))
    }

    /// Polls a task until it is final.
    async fn finished_task(&self, id: &str) -> Value {
        for _ in 0..400 {
            let (status, body) = self.get(&format!("/api/scaffolder/v2/tasks/{id}")).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let task: Value = serde_json::from_str(&body).expect("task JSON");
            match task["status"].as_str() {
                Some("completed" | "cancelled") => return task,
                Some("failed") => {
                    let (_, events) = self
                        .get(&format!("/api/scaffolder/v2/tasks/{id}/events"))
                        .await;
                    panic!("task {id} failed: {events}");
                }
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("task {id} did not finish");
    }
}

fn values(name: &str) -> Value {
    json!({
        "name": name,
        "owner": "group:default/team-a",
        "system": "system:default/shop",
        "replicas": 3,
        "repoUrl": format!("git.test?owner=acme&repo={name}"),
    })
}

#[tokio::test]
async fn a_task_renders_publishes_registers_and_streams_its_log() {
    let app = App::new().await;
    let (status, body) = app
        .get("/api/scaffolder/v2/templates/default/template/hello-service/parameter-schema")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let schema: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(schema["title"], "Hello service");
    assert_eq!(schema["steps"][1]["title"], "Repository");

    let (status, created) = app
        .post_json(
            "/api/scaffolder/v2/tasks",
            json!({ "templateRef": "template:default/hello-service", "values": values("orders") }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("task id").to_string();
    let task = app.finished_task(&id).await;
    assert_eq!(task["status"], "completed", "{task}");
    let remote = format!("file://{}/git/acme/orders.git", app.root.display());
    assert_eq!(task["output"]["links"][0]["url"], json!(remote));
    assert_eq!(
        task["output"]["links"][1]["entityRef"],
        "component:default/orders"
    );

    // The new component is in the catalog, read from the published repository.
    let (status, body) = app
        .get("/api/catalog/entities/by-name/component/default/orders")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let entity: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(entity["metadata"]["description"], "Runs 3 replicas.");

    // The event stream replays the whole log and ends with the completion.
    let (status, headers, stream) = app
        .send(
            Request::get(format!("/api/scaffolder/v2/tasks/{id}/eventstream"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "content-type" && v == "text/event-stream")
    );
    assert!(stream.contains("event: log\n"), "{stream}");
    assert!(stream.trim_end().ends_with('}'), "{stream}");
    let last = stream
        .split("\n\n")
        .filter(|c| !c.trim().is_empty())
        .last()
        .unwrap();
    assert!(last.starts_with("event: completion\n"), "{last}");

    // Events after an id only.
    let (_, body) = app
        .get(&format!("/api/scaffolder/v2/tasks/{id}/events"))
        .await;
    let events: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert!(events.len() > 3);
    let middle = events[events.len() - 2]["id"].as_i64().unwrap();
    let (_, body) = app
        .get(&format!(
            "/api/scaffolder/v2/tasks/{id}/events?after={middle}"
        ))
        .await;
    let tail: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(tail.len(), 1);
    assert_eq!(tail[0]["type"], "completion");

    // A finished task cannot be cancelled; it is listed.
    let (status, _) = app
        .post_json(&format!("/api/scaffolder/v2/tasks/{id}/cancel"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, body) = app.get("/api/scaffolder/v2/tasks").await;
    let list: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["totalTasks"], 1);
}

#[tokio::test]
async fn guardrails_refuse_bad_values_and_create_nothing() {
    let app = App::new().await;
    let mut bad = values("Bad_Name");
    bad["owner"] = json!("group:default/nobody");
    let (status, body) = app
        .post_json(
            "/api/scaffolder/v2/tasks",
            json!({ "templateRef": "template:default/hello-service", "values": bad }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["path"][0].as_str())
        .collect();
    assert!(
        fields.contains(&"name") && fields.contains(&"owner"),
        "{body}"
    );

    let (status, body) = app
        .post_json(
            "/api/scaffolder/v2/tasks",
            json!({ "templateRef": "template:default/hello-service", "values": values("taken") }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already taken by component:default/taken"),
        "{body}"
    );
    let (_, body) = app.get("/api/scaffolder/v2/tasks").await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["totalTasks"],
        0
    );
    assert!(!app.root.join("git/acme").exists(), "nothing was published");
}

#[tokio::test]
async fn dry_run_returns_files_and_log_without_publishing() {
    let app = App::new().await;
    let template: Value = serde_saphyr::from_str(TEMPLATE).unwrap();
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let (status, body) = app
        .post_json(
            "/api/scaffolder/v2/dry-run",
            json!({
                "template": template,
                "values": values("preview"),
                "directoryContents": [
                    { "path": "skeleton/catalog-info.yaml", "base64Content": b64(SKELETON_CATALOG) },
                    { "path": "skeleton/README.md", "base64Content": b64("# ${{ values.name }}\n") },
                ],
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let files: Vec<&str> = body["directoryContents"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert_eq!(files, ["README.md", "catalog-info.yaml"]);
    let readme = &body["directoryContents"][0]["base64Content"];
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(readme.as_str().unwrap())
            .unwrap(),
        b"# preview\n"
    );
    assert!(
        !app.root.join("git/acme").exists(),
        "a dry run publishes nothing"
    );
    let (_, body) = app.get("/api/scaffolder/v2/tasks").await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["totalTasks"],
        0
    );
}

fn unescape(text: &str) -> String {
    text.replace("&#x2f;", "/").replace("&#x27;", "'")
}

fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("{name} in {page}"))
        + marker.len();
    let end = start + page[start..].find('"').expect("closing quote");
    page[start..end]
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn the_portal_gallery_form_review_and_task_page() {
    let app = App::new().await;
    let (status, page) = app.get("/create").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Hello service"), "{page}");
    assert!(page.contains("/create/templates/default/hello-service"));
    let (_, page) = app.get("/create?q=nothing-matches").await;
    assert!(page.contains("No template matches"));
    let (_, page) = app.get("/create?tag=recommended").await;
    assert!(page.contains("Hello service"));

    // Step 1: the fields with their widgets and the catalog's suggestions.
    let (status, page) = app.get("/create/templates/default/hello-service").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"id="f-name""#) && page.contains("autofocus"));
    assert!(page.contains("group:default/team-a"), "owner suggestions");
    assert!(page.contains("system:default/shop"), "system suggestions");
    assert!(page.contains(r#"type="number""#) && page.contains(r#"value="2""#));

    // An invalid step comes back with the error next to its field.
    let uri = "/create/templates/default/hello-service";
    let (status, _, page) = app
        .post_form(
            uri,
            &[
                ("_values", "{}"),
                ("_step", "0"),
                ("_go", "next"),
                ("name", "orders"),
                ("owner", ""),
                ("replicas", "9"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains(r#"id="owner-error""#), "{page}");
    assert!(page.contains(r#"id="replicas-error""#), "{page}");
    assert!(page.contains(r#"aria-invalid="true""#));

    // Step 1 valid → step 2 (the repository), then the review.
    let (status, _, page) = app
        .post_form(
            uri,
            &[
                ("_values", "{}"),
                ("_step", "0"),
                ("_go", "next"),
                ("name", "web-shop"),
                ("owner", "group:default/team-a"),
                ("system", "system:default/shop"),
                ("replicas", "4"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(r#"name="repoUrl.repo""#), "{page}");
    let carried = hidden(&page, "_values");
    let (status, _, page) = app
        .post_form(
            uri,
            &[
                ("_values", &carried),
                ("_step", "1"),
                ("_go", "next"),
                ("repoUrl.host", "git.test"),
                ("repoUrl.owner", "acme"),
                ("repoUrl.repo", "web-shop"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("Review") && page.contains("web-shop"),
        "{page}"
    );
    let carried = hidden(&page, "_values");
    let stored: Value = serde_json::from_str(&carried).unwrap();
    assert_eq!(stored["replicas"], 4);
    assert_eq!(stored["repoUrl"], "git.test?owner=acme&repo=web-shop");

    // Create → the task page, which shows the output once the task is done.
    let (status, headers, _) = app
        .post_form(
            uri,
            &[("_values", &carried), ("_step", "2"), ("_go", "create")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers
        .iter()
        .find(|(k, _)| k == "location")
        .map(|(_, v)| v.clone())
        .expect("redirect");
    let id = location.trim_start_matches("/create/tasks/").to_string();
    let task = app.finished_task(&id).await;
    assert_eq!(task["status"], "completed", "{task}");
    let (status, page) = app.get(&location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("completed"), "{page}");
    assert!(
        page.contains(r#"href="/catalog/default/component/web-shop""#),
        "{page}"
    );
    assert!(
        !page.contains("data-task-stream"),
        "a finished task is not followed"
    );
    let (_, page) = app.get("/create/tasks").await;
    assert!(page.contains(&location));
    assert!(
        app.catalog
            .entity_by_ref(&paved_model::EntityRef::new(
                "component",
                "default",
                "web-shop"
            ))
            .await
            .unwrap()
            .is_some()
    );

    // The guardrails run again at creation: the name is now taken, so the first step comes back.
    let (status, _, page) = app
        .post_form(
            uri,
            &[("_values", &carried), ("_step", "2"), ("_go", "create")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("already taken"), "{page}");
    assert!(
        page.contains(r#"id="f-name""#),
        "back on the step with the name"
    );
}
