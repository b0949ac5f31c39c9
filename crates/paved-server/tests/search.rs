//! Search over HTTP: Backstage's `/api/search/query`, the suggestions endpoint, and the
//! portal's `/search` page and suggestion fragment, on a real SQLite catalog and index.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use paved_search::{SearchService, SearchSettings};
use paved_server::{AppState, ServerSettings, router};
use serde_json::Value;
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
kind: Component
metadata:
  name: checkout
  title: Checkout
  description: Takes the <money> & ships the order
  tags: [payments]
spec:
  type: service
  lifecycle: production
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout-ui
  description: The pages of the checkout
spec:
  type: website
  lifecycle: production
  owner: team-b
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: cart
  description: Holds what will go through checkout
spec:
  type: service
  lifecycle: experimental
  owner: team-b
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: checkout-api
  description: Checkout over HTTP
spec:
  type: openapi
  lifecycle: production
  owner: team-a
  definition: |
    openapi: 3.0.0
    info: {title: Checkout, version: '1'}
    paths:
      /orders:
        post:
          operationId: placeOrder
          summary: Places an order for the checkout basket
"#;

struct App {
    app: Router,
    _dir: tempfile::TempDir,
}

async fn app(search: SearchState) -> App {
    let common::SeededCatalog { catalog, dir, .. } = common::seeded_catalog(CATALOG).await;
    let mut state =
        AppState::new(catalog.clone(), ServerSettings::default(), None).expect("portal templates");
    if search != SearchState::Off {
        let service =
            Arc::new(SearchService::new(catalog, SearchSettings::default()).expect("search"));
        if search == SearchState::Built {
            service.build().await.expect("build");
        }
        state = state.with_search(service);
    }
    App {
        app: router(state),
        _dir: dir,
    }
}

#[derive(PartialEq, Clone, Copy)]
enum SearchState {
    Off,
    Building,
    Built,
}

impl App {
    async fn get(&self, uri: &str) -> (StatusCode, String) {
        let response = self
            .app
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    async fn json(&self, uri: &str) -> Value {
        let (status, body) = self.get(uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        serde_json::from_str(&body).expect("JSON")
    }
}

#[tokio::test]
async fn query_answers_in_backstages_shape_with_the_exact_name_first() {
    let app = app(SearchState::Built).await;
    let body = app.json("/api/search/query?term=checkout").await;
    let results = body["results"].as_array().expect("results");
    assert_eq!(results[0]["type"], "software-catalog");
    assert_eq!(results[0]["rank"], 1);
    let document = &results[0]["document"];
    assert_eq!(document["name"], "checkout");
    assert_eq!(document["kind"], "Component");
    assert_eq!(document["namespace"], "default");
    assert_eq!(document["owner"], "team-a");
    assert_eq!(document["lifecycle"], "production");
    assert_eq!(document["location"], "/catalog/default/component/checkout");
    assert_eq!(document["text"], "Takes the <money> & ships the order");
    let highlight = &results[0]["highlight"];
    assert_eq!(highlight["preTag"], "<mark>");
    assert_eq!(highlight["postTag"], "</mark>");
    assert_eq!(highlight["fields"]["title"], "<mark>Checkout</mark>");
    // checkout, checkout-ui, cart (description), checkout-api and its operation.
    assert_eq!(body["numberOfResults"], 5);
    assert!(body.get("nextPageCursor").is_none());
    assert!(body.get("previousPageCursor").is_none());
    let types: Vec<String> = body["facets"]["types"]
        .as_array()
        .expect("types")
        .iter()
        .map(|f| format!("{}={}", f["value"].as_str().unwrap_or(""), f["count"]))
        .collect();
    assert_eq!(types, ["software-catalog=4", "api-operations=1"]);
}

#[tokio::test]
async fn cursors_page_through_the_results() {
    let app = app(SearchState::Built).await;
    let first = app
        .json("/api/search/query?term=checkout&pageLimit=2")
        .await;
    assert_eq!(first["results"].as_array().map(Vec::len), Some(2));
    let next = first["nextPageCursor"].as_str().expect("next cursor");
    let second = app
        .json(&format!(
            "/api/search/query?term=checkout&pageLimit=2&pageCursor={next}"
        ))
        .await;
    assert_eq!(second["results"][0]["rank"], 3);
    assert!(second["previousPageCursor"].is_string());
    let third_cursor = second["nextPageCursor"].as_str().expect("next cursor");
    let third = app
        .json(&format!(
            "/api/search/query?term=checkout&pageLimit=2&pageCursor={third_cursor}"
        ))
        .await;
    assert_eq!(third["results"].as_array().map(Vec::len), Some(1));
    assert!(third.get("nextPageCursor").is_none());
}

#[tokio::test]
async fn types_and_filters_narrow_the_results() {
    let app = app(SearchState::Built).await;
    let operations = app
        .json("/api/search/query?term=order&types%5B0%5D=api-operations")
        .await;
    assert_eq!(operations["numberOfResults"], 1);
    let operation = &operations["results"][0];
    assert_eq!(operation["type"], "api-operations");
    assert_eq!(operation["document"]["title"], "POST /orders");
    assert_eq!(
        operation["document"]["location"],
        "/catalog/default/api/checkout-api/definition#op-placeOrder"
    );
    let filtered = app
        .json(
            "/api/search/query?term=checkout&filters%5Bkind%5D=component&filters%5Bowner%5D=team-b",
        )
        .await;
    let names: Vec<&str> = filtered["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["document"]["name"].as_str())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"checkout-ui") && names.contains(&"cart"));
    // Typo and prefix.
    let typo = app.json("/api/search/query?term=chekout&pageLimit=1").await;
    assert_eq!(typo["results"][0]["document"]["name"], "checkout");
    let prefix = app.json("/api/search/query?term=car").await;
    assert_eq!(prefix["results"][0]["document"]["name"], "cart");
}

#[tokio::test]
async fn bad_requests_are_400_and_an_unbuilt_or_absent_index_is_503() {
    let app_built = app(SearchState::Built).await;
    for uri in [
        "/api/search/query?term=x&filters%5Bcolour%5D=red",
        "/api/search/query?term=x&types%5B0%5D=pages",
        "/api/search/query?term=x&pageLimit=0",
        "/api/search/query?term=x&pageLimit=101",
        "/api/search/query?term=x&pageCursor=%21%21",
    ] {
        let (status, body) = app_built.get(uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert!(body.contains("InputError"), "{body}");
    }
    let building = app(SearchState::Building).await;
    let (status, body) = building.get("/api/search/query?term=checkout").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("being built"), "{body}");
    let (status, body) = building.get("/search?query=checkout").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("being built"), "{body}");
    let off = app(SearchState::Off).await;
    let (status, body) = off.get("/api/paved/search/suggest?term=ch").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("not enabled"), "{body}");
    // Typing never errors in the portal: the fragment is just empty.
    let (status, body) = off.get("/search/suggest?query=ch").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.trim().is_empty(), "{body}");
}

#[tokio::test]
async fn suggestions_list_prefix_matches_with_kind_and_link() {
    let app = app(SearchState::Built).await;
    let body = app.json("/api/paved/search/suggest?term=checko").await;
    let suggestions = body["suggestions"].as_array().expect("suggestions");
    assert!(suggestions.len() >= 3 && suggestions.len() <= 8);
    assert_eq!(suggestions[0]["title"], "Checkout");
    assert_eq!(suggestions[0]["kind"], "Component");
    assert_eq!(
        suggestions[0]["link"],
        "/catalog/default/component/checkout"
    );

    let (status, html) = app.get("/search/suggest?query=checko").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(
            r#"<a href="&#x2f;catalog&#x2f;default&#x2f;component&#x2f;checkout" class="suggestion">"#
        ),
        "minijinja escapes / in attributes: {html}"
    );
    assert!(html.contains(r#"href="/search?query=checko""#), "{html}");
}

#[tokio::test]
async fn the_search_page_shows_highlights_facets_and_pages() {
    let app = app(SearchState::Built).await;
    let (status, html) = app.get("/search?query=checkout").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<strong>5</strong> results"), "{html}");
    // Highlights are marked; the description's markup is escaped.
    assert!(html.contains("<mark>Checkout</mark>"), "{html}");
    assert!(html.contains("&lt;money&gt; &amp; ships"), "{html}");
    assert!(!html.contains("<money>"));
    // Facets with counts, as checkboxes of a GET form.
    assert!(html.contains(r#"name="kind" value="Component""#), "{html}");
    assert!(
        html.contains(r#"<span class="facet-count">3</span>"#),
        "{html}"
    );
    let (_, filtered) = app.get("/search?query=checkout&kind=API").await;
    assert!(
        filtered.contains("<strong>2</strong> results"),
        "{filtered}"
    );
    // The kind facet still offers Component (disjunctive counts), now unticked.
    assert!(
        filtered.contains(r#"name="kind" value="Component""#),
        "{filtered}"
    );
    assert!(filtered.contains(r#"value="API" checked"#), "{filtered}");
    // The header's search box goes to /search and asks for suggestions while typing.
    assert!(html.contains(r#"action="/search""#));
    assert!(html.contains(r#"hx-get="/search/suggest""#));
    assert!(html.contains(r#"data-shortcut="/""#));
    let (_, empty) = app.get("/search?query=nothingmatchesthis").await;
    assert!(empty.contains("Nothing matches"), "{empty}");
}

#[tokio::test]
async fn the_openapi_document_declares_search() {
    let app = app(SearchState::Off).await;
    let doc = app.json("/api/openapi.json").await;
    for path in ["/api/search/query", "/api/paved/search/suggest"] {
        assert!(
            doc["paths"].get(path).is_some(),
            "openapi.json lacks {path}"
        );
    }
    assert!(doc["components"]["schemas"].get("SearchResponse").is_some());
}
