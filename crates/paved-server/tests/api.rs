//! The HTTP API driven in-process over a real SQLite store, seeded by registering YAML files
//! through `CatalogService::add_location`.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use paved_catalog::{CatalogService, CatalogSettings};
use paved_server::{ApiToken, AppState, ServerSettings, install_metrics_recorder, router};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
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
  name: alpha
  tags: [java]
  annotations:
    backstage.io/techdocs-ref: dir:.
spec:
  type: service
  lifecycle: production
  owner: team-a
  system: shop
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: beta
  tags: [go]
spec:
  type: service
  lifecycle: production
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: gamma
spec:
  type: website
  lifecycle: experimental
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: delta
spec:
  type: service
  lifecycle: production
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: epsilon
spec:
  type: library
  lifecycle: production
  owner: team-a
"#;

/// A file with one valid and one invalid entity, for the errors endpoint.
const BROKEN: &str = r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: fine
spec:
  type: service
  lifecycle: production
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: "not a valid name!"
spec:
  type: service
  lifecycle: production
  owner: team-a
"#;

const EXTRA: &str = r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: zeta
spec:
  type: service
  lifecycle: production
  owner: team-a
"#;

struct TestApp {
    app: Router,
    catalog: Arc<CatalogService>,
    dir: tempfile::TempDir,
    catalog_file: PathBuf,
}

impl TestApp {
    async fn new(tokens: Vec<ApiToken>) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().canonicalize().expect("canonical temp dir");
        let catalog_file = root.join("catalog-info.yaml");
        std::fs::write(&catalog_file, CATALOG).expect("write catalog");
        std::fs::write(root.join("broken.yaml"), BROKEN).expect("write broken");
        std::fs::write(root.join("extra.yaml"), EXTRA).expect("write extra");

        let url = format!("sqlite://{}", root.join("paved.db").display());
        let store = paved_store::connect(&url).await.expect("sqlite store");
        let mut settings = CatalogSettings::new(root.join("data"));
        settings.allowed_roots = vec![root.clone()];
        let catalog = Arc::new(CatalogService::new(store, settings));
        catalog
            .add_location("file", &catalog_file.display().to_string(), false)
            .await
            .expect("seed catalog");
        let state = AppState::new(
            catalog.clone(),
            ServerSettings {
                auth_tokens: tokens,
            },
            Some(install_metrics_recorder()),
        )
        .expect("portal templates load");
        TestApp {
            app: router(state),
            catalog,
            dir,
            catalog_file,
        }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().canonicalize().expect("canonical temp dir")
    }

    async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("infallible service");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        Reply {
            status,
            headers,
            body: bytes.to_vec(),
        }
    }

    async fn get(&self, uri: &str) -> Reply {
        self.send(request(Method::GET, uri, None)).await
    }

    async fn post(&self, uri: &str, body: &str) -> Reply {
        self.send(request(Method::POST, uri, Some(body))).await
    }

    async fn delete(&self, uri: &str) -> Reply {
        self.send(request(Method::DELETE, uri, None)).await
    }
}

fn request(method: Method, uri: &str, body: Option<&str>) -> Request<Body> {
    let builder = Request::builder().method(method).uri(uri);
    match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned())),
        None => builder.body(Body::empty()),
    }
    .expect("request")
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts Backstage's error body and returns its message.
    fn assert_error(&self, status: StatusCode, name: &str, method: &str, url: &str) -> String {
        assert_eq!(self.status, status, "body: {}", self.text());
        let body = self.json();
        assert_eq!(body["error"]["name"], name, "body: {body}");
        assert_eq!(body["request"], json!({ "method": method, "url": url }));
        assert_eq!(body["response"], json!({ "statusCode": status.as_u16() }));
        assert_eq!(
            body.as_object().map(|o| o.len()),
            Some(3),
            "exactly error/request/response"
        );
        body["error"]["message"]
            .as_str()
            .expect("message")
            .to_owned()
    }
}

/// Registering a location also yields its own Location entity, as in Backstage.
fn without_locations(items: &Value) -> Value {
    let kept = items
        .as_array()
        .expect("array")
        .iter()
        .filter(|e| e["kind"] != "Location");
    Value::Array(kept.cloned().collect())
}

fn names(items: &Value) -> Vec<String> {
    items
        .as_array()
        .expect("array")
        .iter()
        .map(|e| e["metadata"]["name"].as_str().expect("name").to_owned())
        .collect()
}

#[tokio::test]
async fn health_readiness_metrics_and_openapi() {
    let app = TestApp::new(Vec::new()).await;
    let health = app.get("/healthz").await;
    assert_eq!(
        (health.status, health.text().as_str()),
        (StatusCode::OK, "ok")
    );
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);

    app.get("/api/catalog/entities/by-name/component/default/alpha")
        .await;
    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        metrics
            .header("content-type")
            .is_some_and(|v| v.starts_with("text/plain"))
    );
    let text = metrics.text();
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(
        text.contains("route=\"/api/catalog/entities/by-name/{kind}/{namespace}/{name}\""),
        "{text}"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );

    let doc = app.get("/api/openapi.json").await.json();
    let paths = doc["paths"].as_object().expect("paths");
    for path in [
        "/api/catalog/entities",
        "/api/catalog/entities/by-query",
        "/api/catalog/entities/by-name/{kind}/{namespace}/{name}",
        "/api/catalog/entities/by-name/{kind}/{namespace}/{name}/ancestry",
        "/api/catalog/entities/by-uid/{uid}",
        "/api/catalog/entities/by-refs",
        "/api/catalog/entity-facets",
        "/api/catalog/locations",
        "/api/catalog/locations/{id}",
        "/api/catalog/locations/by-entity/{kind}/{namespace}/{name}",
        "/api/catalog/refresh",
        "/api/catalog/validate-entity",
        "/api/paved/catalog/errors",
        "/api/paved/catalog/stats",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(paths.contains_key(path), "openapi.json lacks {path}");
    }
    assert!(
        paths["/api/catalog/entities/by-uid/{uid}"]
            .get("delete")
            .is_some()
    );
    assert!(
        doc["components"]["schemas"]
            .get("QueryEntitiesResponse")
            .is_some()
    );
}

#[tokio::test]
async fn by_name_serves_the_stored_entity_and_404s_in_backstage_shape() {
    let app = TestApp::new(Vec::new()).await;
    let reply = app
        .get("/api/catalog/entities/by-name/Component/default/Alpha")
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|v| v.starts_with("application/json"))
    );
    let entity = reply.json();
    assert_eq!(entity["metadata"]["name"], "alpha");
    assert_eq!(entity["spec"]["owner"], "team-a");
    assert!(entity["metadata"]["uid"].is_string());
    assert!(
        entity["relations"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    );

    let url = "/api/catalog/entities/by-name/component/default/nope";
    let message =
        app.get(url)
            .await
            .assert_error(StatusCode::NOT_FOUND, "NotFoundError", "GET", url);
    assert!(message.contains("nope"), "{message}");

    // Unknown routes and methods answer in the same shape.
    let url = "/api/catalog/nothing-here?x=1";
    app.get(url)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NotFoundError", "GET", url);
    let url = "/api/catalog/entity-facets";
    let reply = app.delete(url).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.json()["request"]["method"], "DELETE");
}

#[tokio::test]
async fn entities_list_filters_orders_projects_and_pages_with_link_header() {
    let app = TestApp::new(Vec::new()).await;
    let all = app.get("/api/catalog/entities").await;
    assert_eq!(all.status, StatusCode::OK);
    // The seven entities of the file and the Location entity that registering it created.
    let all = all.json();
    assert_eq!(all.as_array().map(Vec::len), Some(8));
    assert!(
        all.as_array()
            .is_some_and(|a| a.iter().any(|e| e["kind"] == "Location"))
    );

    let components = app
        .get("/api/catalog/entities?filter=kind=component&order=desc:metadata.name")
        .await
        .json();
    assert_eq!(
        names(&components),
        ["gamma", "epsilon", "delta", "beta", "alpha"]
    );

    let either = app
        .get("/api/catalog/entities?filter=kind=component,spec.type=website&filter=kind=system")
        .await
        .json();
    let mut either = names(&either);
    either.sort();
    assert_eq!(either, ["gamma", "shop"]);

    let projected = app
        .get("/api/catalog/entities?filter=kind=group&fields=kind,metadata.name")
        .await
        .json();
    assert_eq!(
        projected,
        json!([{ "kind": "Group", "metadata": { "name": "team-a" } }])
    );

    let first = app
        .get("/api/catalog/entities?filter=kind=component&order=asc:metadata.name&limit=2")
        .await;
    assert_eq!(names(&first.json()), ["alpha", "beta"]);
    let link = first.header("link").expect("link header").to_owned();
    assert!(link.ends_with(">; rel=\"next\""), "{link}");
    let next = link
        .trim_start_matches('<')
        .split('>')
        .next()
        .expect("link target");
    assert!(
        next.starts_with("/api/catalog/entities?") && next.contains("after="),
        "{next}"
    );
    let second = app.get(next).await;
    assert_eq!(names(&second.json()), ["delta", "epsilon"]);
    let next = second.header("link").expect("second link").to_owned();
    let next = next
        .trim_start_matches('<')
        .split('>')
        .next()
        .expect("link target")
        .to_owned();
    let third = app.get(&next).await;
    assert_eq!(names(&third.json()), ["gamma"]);
    assert!(third.header("link").is_none());
}

#[tokio::test]
async fn bad_parameters_are_input_errors() {
    let app = TestApp::new(Vec::new()).await;
    for url in [
        "/api/catalog/entities?filter==component",
        "/api/catalog/entities?limit=abc",
        "/api/catalog/entities?limit=0",
        "/api/catalog/entities?order=sideways:metadata.name",
        "/api/catalog/entities?after=%%%",
        "/api/catalog/entities/by-query?cursor=not-a-cursor",
        "/api/catalog/entities/by-query?cursor=eyJ4IjoxfQ",
        "/api/catalog/entities/by-query?orderField=metadata.name,up",
        "/api/catalog/entity-facets",
    ] {
        let reply = app.get(url).await;
        reply.assert_error(StatusCode::BAD_REQUEST, "InputError", "GET", url);
    }
}

#[tokio::test]
async fn by_query_pages_forward_and_back_with_cursors() {
    let app = TestApp::new(Vec::new()).await;
    let first = app
        .get("/api/catalog/entities/by-query?filter=kind=component&orderField=metadata.name,asc&limit=2")
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let first = first.json();
    assert_eq!(first["totalItems"], 5);
    assert_eq!(names(&first["items"]), ["alpha", "beta"]);
    assert!(first["pageInfo"].get("prevCursor").is_none());
    let next = first["pageInfo"]["nextCursor"]
        .as_str()
        .expect("nextCursor");

    // The cursor alone carries filter and order.
    let second = app
        .get(&format!("/api/catalog/entities/by-query?cursor={next}"))
        .await
        .json();
    assert_eq!(names(&second["items"]), ["delta", "epsilon"]);
    assert_eq!(second["totalItems"], 5);
    let next = second["pageInfo"]["nextCursor"]
        .as_str()
        .expect("nextCursor");
    let third = app
        .get(&format!("/api/catalog/entities/by-query?cursor={next}"))
        .await
        .json();
    assert_eq!(names(&third["items"]), ["gamma"]);
    assert!(third["pageInfo"].get("nextCursor").is_none());

    let prev = third["pageInfo"]["prevCursor"]
        .as_str()
        .expect("prevCursor");
    let back = app
        .get(&format!("/api/catalog/entities/by-query?cursor={prev}"))
        .await
        .json();
    assert_eq!(names(&back["items"]), ["delta", "epsilon"]);
    let prev = back["pageInfo"]["prevCursor"].as_str().expect("prevCursor");
    let back = app
        .get(&format!("/api/catalog/entities/by-query?cursor={prev}"))
        .await
        .json();
    assert_eq!(names(&back["items"]), ["alpha", "beta"]);

    // Descending order and a projection.
    let desc = app
        .get("/api/catalog/entities/by-query?filter=kind=component&orderField=metadata.name,desc&limit=3&fields=metadata.name")
        .await
        .json();
    assert_eq!(
        desc["items"],
        json!([
            { "metadata": { "name": "gamma" } },
            { "metadata": { "name": "epsilon" } },
            { "metadata": { "name": "delta" } },
        ])
    );

    // Full-text search.
    let found = app
        .get("/api/catalog/entities/by-query?fullTextFilterTerm=epsi&fullTextFilterFields=metadata.name")
        .await
        .json();
    assert_eq!(names(&found["items"]), ["epsilon"]);
}

#[tokio::test]
async fn facets_count_values_among_filtered_entities() {
    let app = TestApp::new(Vec::new()).await;
    let reply = app
        .get("/api/catalog/entity-facets?facet=kind&facet=spec.type&filter=kind=component")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let facets = reply.json();
    // Backstage answers values in their original case ("Component"); the store's case
    // handling is its own suite's concern, so this checks the HTTP shape without it.
    let kinds = facets["facets"]["kind"].as_array().expect("kind facet");
    assert_eq!(kinds.len(), 1, "{kinds:?}");
    assert!(
        kinds[0]["value"]
            .as_str()
            .is_some_and(|v| v.eq_ignore_ascii_case("component"))
    );
    assert_eq!(kinds[0]["count"], 5);
    let types = facets["facets"]["spec.type"].as_array().expect("spec.type");
    assert!(
        types.contains(&json!({ "value": "service", "count": 3 })),
        "{types:?}"
    );
    assert!(
        types.contains(&json!({ "value": "website", "count": 1 })),
        "{types:?}"
    );
}

#[tokio::test]
async fn by_refs_keeps_request_order_with_nulls() {
    let app = TestApp::new(Vec::new()).await;
    let reply = app
        .post(
            "/api/catalog/entities/by-refs",
            r#"{"entityRefs":["component:default/beta","component:default/missing","not a ref","group:default/team-a"]}"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let items = reply.json()["items"].clone();
    assert_eq!(items[0]["metadata"]["name"], "beta");
    assert_eq!(items[1], Value::Null);
    assert_eq!(items[2], Value::Null);
    assert_eq!(items[3]["metadata"]["name"], "team-a");

    let projected = app
        .post(
            "/api/catalog/entities/by-refs",
            r#"{"entityRefs":["component:default/alpha"],"fields":["metadata.name"]}"#,
        )
        .await
        .json();
    assert_eq!(
        projected,
        json!({ "items": [{ "metadata": { "name": "alpha" } }] })
    );

    let filtered = app
        .post(
            "/api/catalog/entities/by-refs?filter=spec.type=service",
            r#"{"entityRefs":["component:default/alpha","component:default/gamma"]}"#,
        )
        .await
        .json();
    assert_eq!(filtered["items"][0]["metadata"]["name"], "alpha");
    assert_eq!(filtered["items"][1], Value::Null, "gamma is a website");

    let url = "/api/catalog/entities/by-refs";
    let message = app.post(url, r#"{"entityRefs": ["#).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InputError",
        "POST",
        url,
    );
    assert!(message.contains("JSON"), "{message}");
    app.post(url, r#"{"refs": []}"#).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InputError",
        "POST",
        url,
    );
    let no_content_type = Request::builder()
        .method(Method::POST)
        .uri(url)
        .body(Body::from("{}"))
        .expect("request");
    app.send(no_content_type).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InputError",
        "POST",
        url,
    );
}

#[tokio::test]
async fn by_uid_reads_and_deletes() {
    let app = TestApp::new(Vec::new()).await;
    let entity = app
        .get("/api/catalog/entities/by-name/component/default/gamma")
        .await
        .json();
    let uid = entity["metadata"]["uid"].as_str().expect("uid");
    let url = format!("/api/catalog/entities/by-uid/{uid}");
    let by_uid = app.get(&url).await;
    assert_eq!(by_uid.json()["metadata"]["name"], "gamma");

    let deleted = app.delete(&url).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(deleted.body.is_empty());
    app.get(&url)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NotFoundError", "GET", &url);
    app.delete(&url)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NotFoundError", "DELETE", &url);
    let gone = app
        .get("/api/catalog/entities/by-name/component/default/gamma")
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn ancestry_names_the_root() {
    let app = TestApp::new(Vec::new()).await;
    let reply = app
        .get("/api/catalog/entities/by-name/component/default/alpha/ancestry")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let ancestry = reply.json();
    assert_eq!(ancestry["rootEntityRef"], "component:default/alpha");
    let items = ancestry["items"].as_array().expect("items");
    assert!(
        items
            .iter()
            .any(|i| i["entity"]["metadata"]["name"] == "alpha")
    );
    assert!(items.iter().all(|i| i["parentEntityRefs"].is_array()));
    let url = "/api/catalog/entities/by-name/component/default/nope/ancestry";
    app.get(url)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NotFoundError", "GET", url);
}

#[tokio::test]
async fn locations_crud_and_dry_run() {
    let app = TestApp::new(Vec::new()).await;
    let listed = app.get("/api/catalog/locations").await.json();
    let listed = listed.as_array().expect("array");
    assert_eq!(listed.len(), 1);
    let seeded = &listed[0]["data"];
    assert_eq!(seeded["type"], "file");
    assert_eq!(seeded["target"], app.catalog_file.display().to_string());
    let seeded_id = seeded["id"].as_str().expect("id").to_owned();

    let one = app
        .get(&format!("/api/catalog/locations/{seeded_id}"))
        .await
        .json();
    assert_eq!(one["id"], seeded_id.as_str());
    let by_entity = app
        .get("/api/catalog/locations/by-entity/component/default/alpha")
        .await
        .json();
    assert_eq!(by_entity["id"], seeded_id.as_str());

    let extra = app.root().join("extra.yaml").display().to_string();
    let body = json!({ "type": "file", "target": extra }).to_string();
    let dry = app.post("/api/catalog/locations?dryRun=true", &body).await;
    assert_eq!(dry.status, StatusCode::CREATED, "{}", dry.text());
    let dry = dry.json();
    assert_eq!(dry["location"]["target"], extra.as_str());
    assert_eq!(dry["exists"], false);
    assert_eq!(names(&without_locations(&dry["entities"])), ["zeta"]);
    let not_stored = app
        .get("/api/catalog/entities/by-name/component/default/zeta")
        .await;
    assert_eq!(not_stored.status, StatusCode::NOT_FOUND);

    let added = app.post("/api/catalog/locations", &body).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text());
    let added = added.json();
    let id = added["location"]["id"].as_str().expect("id").to_owned();
    assert_eq!(names(&without_locations(&added["entities"])), ["zeta"]);
    assert_eq!(
        app.get("/api/catalog/entities/by-name/component/default/zeta")
            .await
            .status,
        StatusCode::OK
    );

    let url = "/api/catalog/locations";
    app.post(url, &body)
        .await
        .assert_error(StatusCode::CONFLICT, "ConflictError", "POST", url);
    app.post(url, r#"{"type":"file"}"#).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InputError",
        "POST",
        url,
    );

    let url = format!("/api/catalog/locations/{id}");
    assert_eq!(app.delete(&url).await.status, StatusCode::NO_CONTENT);
    app.get(&url)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NotFoundError", "GET", &url);
    app.delete(&url)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NotFoundError", "DELETE", &url);
    assert_eq!(
        app.get("/api/catalog/entities/by-name/component/default/zeta")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn refresh_reads_the_location_again() {
    let app = TestApp::new(Vec::new()).await;
    let edited = CATALOG.replace("type: website", "type: documentation");
    std::fs::write(&app.catalog_file, edited).expect("edit catalog");
    let reply = app
        .post(
            "/api/catalog/refresh",
            r#"{"entityRef":"component:default/gamma"}"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let gamma = app
        .get("/api/catalog/entities/by-name/component/default/gamma")
        .await
        .json();
    assert_eq!(gamma["spec"]["type"], "documentation");

    let url = "/api/catalog/refresh";
    app.post(url, r#"{"entityRef":"component:default/nope"}"#)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NotFoundError", "POST", url);
    app.post(url, r#"{"entityRef":"::"}"#).await.assert_error(
        StatusCode::BAD_REQUEST,
        "InputError",
        "POST",
        url,
    );
}

#[tokio::test]
async fn validate_entity_answers_200_or_400_with_errors() {
    let app = TestApp::new(Vec::new()).await;
    let valid = json!({
        "location": "url:https://git.example/org/repo/catalog-info.yaml",
        "entity": {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": { "name": "ok" },
            "spec": { "type": "service", "lifecycle": "production", "owner": "team-a" }
        }
    });
    let reply = app
        .post("/api/catalog/validate-entity", &valid.to_string())
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());

    let mut invalid = valid.clone();
    invalid["entity"]["metadata"]["name"] = json!("not valid!");
    let reply = app
        .post("/api/catalog/validate-entity", &invalid.to_string())
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let errors = reply.json()["errors"].clone();
    let errors = errors.as_array().expect("errors");
    assert!(!errors.is_empty());
    assert!(
        errors
            .iter()
            .all(|e| e["name"].is_string() && e["message"].is_string())
    );

    let reply = app
        .post("/api/catalog/validate-entity", r#"{"location":"url:x"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.json()["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("entity"))
    );
}

#[tokio::test]
async fn paved_errors_and_stats() {
    let app = TestApp::new(Vec::new()).await;
    let broken = app.root().join("broken.yaml").display().to_string();
    app.catalog
        .add_location("file", &broken, false)
        .await
        .expect("register broken file");

    let errors = app.get("/api/paved/catalog/errors").await;
    assert_eq!(errors.status, StatusCode::OK);
    let errors = errors.json();
    let items = errors["items"].as_array().expect("items");
    let error = items
        .iter()
        .find(|e| e["locationTarget"] == broken.as_str())
        .unwrap_or_else(|| panic!("no error for the broken file: {errors}"));
    assert!(error["locationId"].is_string());
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(error["severity"], "error");
    assert!(error["line"].as_u64().is_some_and(|l| l >= 10), "{error}");

    let stats = app.get("/api/paved/catalog/stats").await.json();
    assert_eq!(stats["kinds"]["component"], 6);
    assert_eq!(stats["kinds"]["group"], 1);
    assert_eq!(
        stats["totalEntities"],
        stats["kinds"]
            .as_object()
            .map_or(0, |k| { k.values().filter_map(Value::as_u64).sum::<u64>() })
    );
}

#[tokio::test]
async fn tokens_guard_the_api_but_not_the_probes() {
    let app = TestApp::new(vec![ApiToken::from_plaintext("ci", "s3cret-token")]).await;
    let url = "/api/catalog/entities/by-name/component/default/alpha";
    let missing = app.get(url).await;
    missing.assert_error(StatusCode::UNAUTHORIZED, "AuthenticationError", "GET", url);
    assert_eq!(missing.header("www-authenticate"), Some("Bearer"));

    let with = |token: &str| {
        Request::builder()
            .uri(url)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request")
    };
    app.send(with("wrong")).await.assert_error(
        StatusCode::UNAUTHORIZED,
        "AuthenticationError",
        "GET",
        url,
    );
    let ok = app.send(with("s3cret-token")).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.json()["metadata"]["name"], "alpha");

    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
    assert_eq!(app.get("/metrics").await.status, StatusCode::OK);
    let doc = app.get("/api/openapi.json").await;
    assert_eq!(doc.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn oversized_bodies_are_refused_in_the_error_shape() {
    let app = TestApp::new(Vec::new()).await;
    let huge = format!(r#"{{"entityRefs":["{}"]}}"#, "x".repeat(5 * 1024 * 1024));
    let url = "/api/catalog/entities/by-refs";
    app.post(url, &huge).await.assert_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "PayloadTooLargeError",
        "POST",
        url,
    );
}

#[tokio::test]
async fn responses_are_gzipped_when_asked() {
    let app = TestApp::new(Vec::new()).await;
    let request = Request::builder()
        .uri("/api/catalog/entities")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .expect("request");
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-encoding"), Some("gzip"));
}

// ---- portal ---------------------------------------------------------------------------

fn form(method: Method, uri: &str, body: &str, extra: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (name, value) in extra {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::from(body.to_owned())).expect("request")
}

#[tokio::test]
async fn portal_pages_are_html_with_a_strict_security_policy() {
    let app = TestApp::new(Vec::new()).await;
    for path in [
        "/",
        "/catalog",
        "/catalog?kind=component&q=alp",
        "/errors",
        "/catalog-import",
        "/whoami",
    ] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text());
        assert!(
            reply
                .header("content-type")
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        let csp = reply.header("content-security-policy").unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
        assert!(
            reply.text().contains("<main id=\"main\""),
            "{path} has the layout"
        );
    }
    let catalog = app.get("/catalog?q=alp").await.text();
    // (minijinja escapes `/` in attributes as `&#x2f;`, which browsers read as `/`.)
    assert!(
        catalog.contains("component&#x2f;alpha\">alpha</a>"),
        "the text filter finds alpha"
    );
    assert!(!catalog.contains(">beta</a>"), "and only what matches");
    // Unknown portal paths are an HTML 404; unknown API paths keep Backstage's JSON body.
    let missing = app.get("/catalog/default/component/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text().contains("There is no Component named"));
    let api_missing = app.get("/api/nope").await;
    assert_eq!(api_missing.json()["error"]["name"], "NotFoundError");
    // A damaged cursor is a clear 400 page, not a crash.
    let damaged = app.get("/catalog?cursor=%21%21").await;
    assert_eq!(damaged.status, StatusCode::BAD_REQUEST);
    // Assets are served from the binary with a validator.
    let css = app.get("/assets/portal.css").await;
    assert_eq!(css.status, StatusCode::OK);
    let etag = css.header("etag").unwrap().to_owned();
    let again = app
        .send(
            Request::builder()
                .uri("/assets/portal.css")
                .header(header::IF_NONE_MATCH, &etag)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(
        app.get("/assets/../Cargo.toml").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn portal_escapes_entity_text() {
    let app = TestApp::new(Vec::new()).await;
    let root = app.root();
    let file = root.join("xss.yaml");
    std::fs::write(
        &file,
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: xss\n  title: '<script>alert(1)</script>'\n  description: '\"><img src=x onerror=alert(1)>'\n  links:\n    - url: 'javascript:alert(1)'\n      title: Runbook\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n",
    )
    .unwrap();
    app.catalog
        .add_location("file", &file.display().to_string(), false)
        .await
        .unwrap();
    for path in [
        "/catalog/default/component/xss",
        "/catalog?q=xss",
        "/catalog/default/component/xss/yaml",
    ] {
        let page = app.get(path).await.text();
        assert!(
            !page.contains("<script>alert(1)"),
            "{path} escapes the title"
        );
        assert!(
            !page.contains("<img src=x"),
            "{path} escapes the description"
        );
        assert!(
            !page.contains("href=\"javascript:"),
            "{path} never links javascript:"
        );
    }
}

#[tokio::test]
async fn portal_forms_refuse_other_sites_and_register_with_a_preview() {
    let app = TestApp::new(Vec::new()).await;
    let cross = app
        .send(form(
            Method::POST,
            "/catalog-import",
            "target=/etc&action=import",
            &[
                ("origin", "https://evil.example"),
                ("host", "127.0.0.1:7007"),
            ],
        ))
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);

    let root = app.root();
    let file = root.join("new.yaml");
    std::fs::write(&file, EXTRA.replace("zeta", "newcomer")).unwrap();
    let body = format!("target={}&action=preview", file.display());
    let preview = app
        .send(form(Method::POST, "/catalog-import", &body, &[]))
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text());
    // The location's own root entity and the component.
    assert!(
        preview.text().contains("Preview: 2 entities"),
        "{}",
        preview.text()
    );
    let newcomer_stored = || async {
        app.catalog
            .entity_by_ref(&paved_model::EntityRef::new(
                "component",
                "default",
                "newcomer",
            ))
            .await
            .unwrap()
            .is_some()
    };
    assert!(!newcomer_stored().await, "a preview stores nothing");
    let body = format!("target={}&action=import", file.display());
    let imported = app
        .send(form(Method::POST, "/catalog-import", &body, &[]))
        .await;
    assert!(
        imported.text().contains("Registered 2 entities"),
        "{}",
        imported.text()
    );
    assert!(newcomer_stored().await);

    // Outside the allowed roots: refused with the reason, nothing stored.
    let outside = app
        .send(form(
            Method::POST,
            "/catalog-import",
            "target=/etc/hostname&action=preview",
            &[],
        ))
        .await;
    assert_eq!(outside.status, StatusCode::FORBIDDEN, "{}", outside.text());
    assert!(outside.text().contains("field-error"));
}

#[tokio::test]
async fn with_tokens_the_portal_needs_a_session() {
    let app = TestApp::new(vec![ApiToken::from_plaintext("ci", "s3cret-token")]).await;
    let page = app.get("/catalog").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.header("location"), Some("/sign-in?next=%2Fcatalog"));
    assert_eq!(app.get("/assets/portal.css").await.status, StatusCode::OK);
    assert_eq!(app.get("/sign-in").await.status, StatusCode::OK);

    let wrong = app
        .send(form(
            Method::POST,
            "/sign-in",
            "token=nope&next=/catalog",
            &[],
        ))
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.header("set-cookie").is_none());

    let right = app
        .send(form(
            Method::POST,
            "/sign-in",
            "token=s3cret-token&next=/catalog",
            &[],
        ))
        .await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    assert_eq!(right.header("location"), Some("/catalog"));
    let cookie = right.header("set-cookie").unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    let session = cookie.split(';').next().unwrap().to_owned();
    let with_cookie = |uri: &str| {
        Request::builder()
            .uri(uri)
            .header(header::COOKIE, &session)
            .body(Body::empty())
            .unwrap()
    };
    let signed_in = app.send(with_cookie("/catalog")).await;
    assert_eq!(signed_in.status, StatusCode::OK);
    assert!(signed_in.text().contains("Sign out"));
    // The cookie is not an API credential: the API still wants the bearer token.
    let api = app.send(with_cookie("/api/catalog/entities")).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
}

/// The catalog page's kind facet count for components, as shown.
fn component_facet_count(page: &str) -> Option<u64> {
    let at = page
        .to_lowercase()
        .find("name=\"kind\" value=\"component\"")?;
    let rest = &page[at..];
    let count_at = rest.find("facet-count\">")? + "facet-count\">".len();
    rest[count_at..]
        .split('<')
        .next()?
        .replace(',', "")
        .parse()
        .ok()
}

#[tokio::test]
async fn catalog_facet_counts_follow_changes() {
    let app = TestApp::new(Vec::new()).await;
    let before = component_facet_count(&app.get("/catalog").await.text()).expect("component facet");
    let root = app.root();
    let file = root.join("later.yaml");
    std::fs::write(&file, EXTRA.replace("zeta", "later")).unwrap();
    app.catalog
        .add_location("file", &file.display().to_string(), false)
        .await
        .unwrap();
    // The first page after a change may show the previous counts while fresh ones are
    // computed in the background; they arrive without any further change.
    let mut after = 0;
    for _ in 0..100 {
        after = component_facet_count(&app.get("/catalog").await.text()).unwrap_or(0);
        if after == before + 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(after, before + 1);
}

#[tokio::test]
async fn every_mutation_is_in_the_audit_log() {
    let app = TestApp::new(Vec::new()).await;
    let root = app.root();
    let file = root.join("audited.yaml");
    std::fs::write(&file, EXTRA.replace("zeta", "audited")).unwrap();
    let added = app
        .post(
            "/api/catalog/locations",
            &serde_json::json!({"type": "file", "target": file.display().to_string()}).to_string(),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text());
    let location_id = added.json()["location"]["id"].as_str().unwrap().to_owned();
    let refreshed = app
        .post(
            "/api/catalog/refresh",
            r#"{"entityRef":"component:default/audited"}"#,
        )
        .await;
    assert_eq!(refreshed.status, StatusCode::OK);
    // A dry run changes nothing and is not audited.
    let dry = app
        .post(
            "/api/catalog/locations?dryRun=true",
            &serde_json::json!({"type": "file", "target": file.display().to_string()}).to_string(),
        )
        .await;
    assert_eq!(dry.status, StatusCode::CREATED);
    let deleted = app
        .delete(&format!("/api/catalog/locations/{location_id}"))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    // The portal's forms are audited too, under the portal session.
    let portal_refresh = app
        .send(form(
            Method::POST,
            "/catalog/default/component/alpha/actions/refresh",
            "",
            &[],
        ))
        .await;
    assert_eq!(portal_refresh.status, StatusCode::SEE_OTHER);

    let log = app.get("/api/paved/audit?limit=10").await.json();
    let entries = log["items"].as_array().unwrap();
    let summary: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("entity.refresh".to_owned(), "portal:guest".to_owned()),
            (
                "location.delete".to_owned(),
                "anonymous (loopback)".to_owned()
            ),
            (
                "entity.refresh".to_owned(),
                "anonymous (loopback)".to_owned()
            ),
            ("location.add".to_owned(), "anonymous (loopback)".to_owned()),
        ]
    );
    let target = format!("file:{}", file.display());
    assert_eq!(entries[1]["target"], target.as_str());
    assert_eq!(
        entries[1]["before"]["id"],
        location_id.as_str(),
        "the deleted location is kept"
    );
    assert_eq!(
        entries[3]["after"]["entities"], 2,
        "the root Location and the component"
    );
    assert!(entries[0]["at"].as_str().unwrap().ends_with('Z'));
    // Paging.
    let first = app.get("/api/paved/audit?limit=2").await.json();
    let before = first["nextBefore"].as_i64().unwrap();
    let rest = app
        .get(&format!("/api/paved/audit?before={before}"))
        .await
        .json();
    assert_eq!(rest["items"].as_array().unwrap().len(), 2);
    assert!(rest["nextBefore"].is_null());
}

#[tokio::test]
async fn audit_entries_name_the_token() {
    let app = TestApp::new(vec![ApiToken::from_plaintext("deploy-bot", "t0ken")]).await;
    let reply = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/api/catalog/refresh")
                .header(header::AUTHORIZATION, "Bearer t0ken")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"entityRef":"component:default/alpha"}"#))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let entries = app.catalog.audit_log(10, None).await.unwrap();
    assert_eq!(entries[0].actor, "token:deploy-bot");
    // The audit endpoint is under /api: it needs the token like everything else.
    assert_eq!(
        app.get("/api/paved/audit").await.status,
        StatusCode::UNAUTHORIZED
    );
}
