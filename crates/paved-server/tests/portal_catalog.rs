//! The portal catalog page's text filter (`/catalog?q=…`) on a real SQLite catalog: answered
//! by the search index when there is one, by the store's substring filter otherwise.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use paved_catalog::CatalogService;
use paved_search::{SearchService, SearchSettings};
use paved_server::{AppState, ServerSettings, router};
use std::path::PathBuf;
use std::sync::Arc;
use tower::ServiceExt;

const CATALOG: &str = r#"apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
  description: Pays the bills
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments-api
  description: Moves money between accounts
spec:
  type: service
  lifecycle: production
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments-worker
  title: Payment Settlement
  description: Settles at night
spec:
  type: service
  lifecycle: production
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payroll
  description: Salaries
spec:
  type: service
  lifecycle: experimental
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout
  description: Takes the money and ships the order
  tags: [payments]
spec:
  type: website
  lifecycle: production
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: payments
  description: Payments over HTTP
spec:
  type: grpc
  lifecycle: production
  owner: team-a
  definition: "service Payments {}"
"#;

const LATER: &str = r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: pay-later
spec:
  type: service
  lifecycle: production
  owner: team-a
"#;

#[derive(PartialEq, Clone, Copy, Debug)]
enum Search {
    /// `search.enabled: false`: no index at all.
    Disabled,
    /// An index whose first build has not finished.
    Building,
    Built,
}

struct App {
    app: Router,
    catalog: Arc<CatalogService>,
    search: Option<Arc<SearchService>>,
    root: PathBuf,
    _dir: tempfile::TempDir,
}

async fn app(search: Search) -> App {
    let common::SeededCatalog { catalog, root, dir } = common::seeded_catalog(CATALOG).await;
    let mut state =
        AppState::new(catalog.clone(), ServerSettings::default(), None).expect("portal templates");
    let mut service = None;
    if search != Search::Disabled {
        let index = Arc::new(
            SearchService::new(catalog.clone(), SearchSettings::default()).expect("search"),
        );
        if search == Search::Built {
            index.build().await.expect("build");
        }
        state = state.with_search(index.clone());
        service = Some(index);
    }
    App {
        app: router(state),
        catalog,
        search: service,
        root,
        _dir: dir,
    }
}

/// What the page shows: entity names of the rows in order, the total, the next page's URL.
#[derive(Debug)]
struct Page {
    names: Vec<String>,
    total: u64,
    next: Option<String>,
}

fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&amp;", "&")
        .replace("&#x3d;", "=")
}

impl App {
    async fn page(&self, uri: &str) -> Page {
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
        let html = String::from_utf8_lossy(&body).into_owned();
        assert_eq!(status, StatusCode::OK, "{uri}: {html}");
        let names = html
            .split("<td class=\"col-name\"><a href=\"")
            .skip(1)
            .map(|row| {
                let href = unescape(&row[..row.find('"').expect("end of href")]);
                href.rsplit('/').next().expect("name").to_owned()
            })
            .collect();
        let total = html
            .split("<p class=\"result-count\"")
            .nth(1)
            .and_then(|rest| rest.split("<strong>").nth(1))
            .and_then(|rest| rest.split("</strong>").next())
            .map(|count| count.replace([',', ' '], ""))
            .and_then(|count| count.parse().ok())
            .unwrap_or_else(|| panic!("{uri}: no count in {html}"));
        let next = html.find("\" rel=\"next\"").and_then(|end| {
            let start = html[..end].rfind("href=\"")? + 6;
            Some(unescape(&html[start..end]))
        });
        Page { names, total, next }
    }

    async fn names(&self, uri: &str) -> Vec<String> {
        self.page(uri).await.names
    }
}

#[tokio::test]
async fn the_text_filter_finds_the_start_of_a_name_word() {
    let app = app(Search::Built).await;
    let page = app.page("/catalog?q=pay").await;
    // Names split on `-`; the description "Pays the bills" counts too; tags do not.
    assert_eq!(
        page.names,
        [
            "payments",
            "payments-api",
            "payments-worker",
            "payroll",
            "team-a"
        ]
    );
    assert_eq!(page.total, 5);
    assert_eq!(
        app.names("/catalog?q=PAYMENTS-W").await,
        ["payments-worker"]
    );
    assert_eq!(
        app.names("/catalog?q=payments%20api").await,
        ["payments-api"]
    );
    // The title is searched as well.
    assert_eq!(
        app.names("/catalog?q=settlement").await,
        ["payments-worker"]
    );
    // The index matches the start of words, not the middle.
    let none = app.page("/catalog?q=ments").await;
    assert!(none.names.is_empty());
    assert_eq!(none.total, 0);
}

#[tokio::test]
async fn the_text_filter_finds_a_word_of_the_description() {
    let app = app(Search::Built).await;
    assert_eq!(
        app.names("/catalog?q=money").await,
        ["checkout", "payments-api"]
    );
    assert_eq!(app.names("/catalog?q=night").await, ["payments-worker"]);
    assert_eq!(app.names("/catalog?q=money%20ships").await, ["checkout"]);
}

#[tokio::test]
async fn the_text_filter_combines_with_the_kind_facet_and_sorting() {
    let app = app(Search::Built).await;
    let page = app.page("/catalog?kind=component&q=pay").await;
    assert_eq!(page.names, ["payments-api", "payments-worker", "payroll"]);
    assert_eq!(page.total, 3);
    assert_eq!(app.names("/catalog?kind=api&q=pay").await, ["payments"]);
    assert_eq!(
        app.names("/catalog?kind=component&q=pay&type=service&lifecycle=experimental")
            .await,
        ["payroll"]
    );
    assert_eq!(
        app.names("/catalog?kind=component&q=pay&sort=lifecycle&dir=desc")
            .await,
        ["payments-api", "payments-worker", "payroll"]
    );
    assert_eq!(
        app.names("/catalog?kind=component&q=pay&sort=name&dir=desc")
            .await,
        ["payroll", "payments-worker", "payments-api"]
    );
}

async fn every_page(app: &App, first: &str) -> (Vec<String>, usize) {
    let mut names = Vec::new();
    let mut pages = 0;
    let mut uri = Some(first.to_owned());
    while let Some(current) = uri {
        let page = app.page(&current).await;
        assert_eq!(page.total, 5, "{current}: the total counts every page");
        assert!(page.names.len() <= 2, "{current}");
        names.extend(page.names);
        pages += 1;
        assert!(pages <= 5, "paging ends");
        uri = page.next;
    }
    (names, pages)
}

#[tokio::test]
async fn the_text_filter_pages_with_a_cursor() {
    let app = app(Search::Built).await;
    let (names, pages) = every_page(&app, "/catalog?q=pay&limit=2").await;
    assert_eq!(
        names,
        [
            "payments",
            "payments-api",
            "payments-worker",
            "payroll",
            "team-a"
        ]
    );
    assert_eq!(pages, 3);
    let (names, _) = every_page(&app, "/catalog?q=pay&limit=2&sort=type").await;
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "payments",
            "payments-api",
            "payments-worker",
            "payroll",
            "team-a"
        ],
        "every match once"
    );
}

#[tokio::test]
async fn without_a_search_index_the_text_filter_matches_substrings_in_the_store() {
    for search in [Search::Disabled, Search::Building] {
        let app = app(search).await;
        let page = app.page("/catalog?q=pay").await;
        assert_eq!(
            page.names,
            [
                "payments",
                "payments-api",
                "payments-worker",
                "payroll",
                "team-a"
            ],
            "{search:?}"
        );
        assert_eq!(page.total, 5, "{search:?}");
        // A substring, not only the start of a word.
        assert_eq!(
            app.names("/catalog?q=ments-w").await,
            ["payments-worker"],
            "{search:?}"
        );
        assert_eq!(
            app.names("/catalog?kind=component&q=money").await,
            ["checkout", "payments-api"],
            "{search:?}"
        );
        let (names, pages) = every_page(&app, "/catalog?q=pay&limit=2").await;
        assert_eq!(names.len(), 5, "{search:?}");
        assert_eq!(pages, 3, "{search:?}");
    }
}

#[tokio::test]
async fn text_without_a_word_is_filtered_in_the_store() {
    let app = app(Search::Built).await;
    // Only punctuation: nothing the index can look up, so it is matched as a substring.
    assert_eq!(
        app.names("/catalog?kind=component&q=-").await,
        ["payments-api", "payments-worker"]
    );
    assert_eq!(app.page("/catalog?kind=component&q=-").await.total, 2);
}

#[tokio::test]
async fn the_index_finds_new_entities_once_it_has_followed_the_change() {
    let app = app(Search::Built).await;
    let file = app.root.join("later.yaml");
    std::fs::write(&file, LATER).expect("write");
    app.catalog
        .add_location("file", &file.display().to_string(), false)
        .await
        .expect("register");
    // Stored, but not yet in the index (the server follows every `search.poll_interval`).
    assert!(
        !app.names("/catalog?q=later")
            .await
            .contains(&"pay-later".to_owned())
    );
    let search = app.search.as_ref().expect("search");
    search.follow_once().await.expect("follow");
    assert_eq!(app.names("/catalog?q=later").await, ["pay-later"]);
}
