//! Documentation over HTTP, in-process on a real SQLite store: Backstage's TechDocs paths, the
//! docs errors endpoint, the entity's Docs tab and the docs home.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use paved_catalog::{CatalogService, CatalogSettings};
use paved_docs::{DocsService, DocsSettings};
use paved_model::EntityRef;
use paved_server::{AppState, ServerSettings, router};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use tower::ServiceExt;

const CATALOG: &str = "apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop
  annotations:
    backstage.io/techdocs-ref: dir:.
spec:
  type: service
  lifecycle: production
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: pending
  annotations:
    backstage.io/techdocs-ref: dir:./pending
spec:
  type: service
  lifecycle: production
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: plain
spec:
  type: service
  lifecycle: production
  owner: team-a
";

fn write(root: &Path, path: &str, bytes: &[u8]) {
    let file = root.join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, bytes).unwrap();
}

struct Reply {
    status: StatusCode,
    content_type: String,
    csp: String,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The page with minijinja's escaped slashes (`&#x2f;`) read back as `/`.
    fn html(&self) -> String {
        self.text().replace("&#x2f;", "/")
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }
}

async fn get(app: &Router, uri: &str) -> Reply {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let (status, content_type, csp) = (
        response.status(),
        header("content-type"),
        header("content-security-policy"),
    );
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Reply {
        status,
        content_type,
        csp,
        body,
    }
}

const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 13, 10, 26, 10, 0, 0];

async fn app(dir: &Path) -> Router {
    write(dir, "catalog-info.yaml", CATALOG.as_bytes());
    write(
        dir,
        "mkdocs.yml",
        b"site_name: Shop handbook\nsite_description: How the shop runs\nnav:\n  - Home: index.md\n  - Guides:\n      - Setup: guide/setup.md\n",
    );
    write(
        dir,
        "docs/index.md",
        b"# Shop\n\n## Overview\n\n![logo](img/logo.png)\n\nRead the [setup](guide/setup.md#install) or [the gone page](gone.md).\n\n!!! note \"Heads up\"\n    Escaped <script>alert(1)</script> stays text.\n",
    );
    write(
        dir,
        "docs/guide/setup.md",
        b"# Setup\n\n## Install\n\nRun it.\n",
    );
    write(dir, "docs/img/logo.png", PNG);
    // A source the test never builds: the Docs tab says the site is on its way.
    write(dir, "pending/README.md", b"# Pending\n");

    let url = format!("sqlite://{}", dir.join("paved.db").display());
    let stores = paved_store::connect_stores(&url).await.unwrap();
    let mut settings = CatalogSettings::new(dir.join("data"));
    settings.allowed_roots = vec![dir.to_path_buf()];
    let catalog = Arc::new(CatalogService::new(stores.catalog.clone(), settings));
    catalog
        .add_location(
            "file",
            &dir.join("catalog-info.yaml").display().to_string(),
            false,
        )
        .await
        .unwrap();
    let docs = Arc::new(DocsService::new(
        catalog.clone(),
        stores.docs.clone(),
        DocsSettings::default(),
    ));
    docs.build(&EntityRef::new("component", "default", "shop"))
        .await
        .unwrap();
    let state = AppState::new(
        catalog,
        ServerSettings {
            auth_tokens: vec![],
        },
        None,
    )
    .unwrap()
    .with_docs(docs);
    router(state)
}

#[tokio::test]
async fn techdocs_paths_serve_pages_files_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let app = app(&root).await;

    let meta = get(
        &app,
        "/api/techdocs/metadata/techdocs/default/component/shop",
    )
    .await;
    assert_eq!(meta.status, StatusCode::OK, "{}", meta.text());
    let meta = meta.json();
    assert_eq!(meta["site_name"], "Shop handbook");
    assert_eq!(meta["site_description"], "How the shop runs");
    assert_eq!(meta["status"], "built");
    assert_eq!(
        meta["files"],
        serde_json::json!(["guide/setup/index.html", "index.html"])
    );
    assert!(meta["build_timestamp"].as_i64().unwrap() > 1_700_000_000);

    let index = get(
        &app,
        "/api/techdocs/static/docs/default/component/shop/index.html",
    )
    .await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(index.content_type.starts_with("text/html"));
    assert!(index.csp.contains("sandbox"), "{}", index.csp);
    let html = index.text();
    assert!(html.contains("<title>Shop</title>"), "{html}");
    assert!(html.contains("<h2 id=\"overview\">"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert!(!html.contains("<script>"), "{html}");

    let setup = get(
        &app,
        "/api/techdocs/static/docs/default/component/shop/guide/setup/index.html",
    )
    .await;
    assert_eq!(setup.status, StatusCode::OK);
    assert!(setup.text().contains("Run it."));

    let logo = get(
        &app,
        "/api/techdocs/static/docs/default/component/shop/img/logo.png",
    )
    .await;
    assert_eq!(logo.status, StatusCode::OK);
    assert_eq!(logo.content_type, "image/png");
    assert_eq!(logo.body, PNG);

    let missing = get(
        &app,
        "/api/techdocs/static/docs/default/component/shop/nope.html",
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["error"]["name"], "NotFoundError");
    let unbuilt = get(
        &app,
        "/api/techdocs/metadata/techdocs/default/component/plain",
    )
    .await;
    assert_eq!(unbuilt.status, StatusCode::NOT_FOUND);

    let entity = get(&app, "/api/techdocs/metadata/entity/default/component/shop").await;
    assert_eq!(entity.status, StatusCode::OK);
    assert_eq!(entity.json()["metadata"]["name"], "shop");

    let errors = get(&app, "/api/paved/docs/errors").await;
    assert_eq!(errors.status, StatusCode::OK);
    let items = errors.json()["items"].clone();
    assert_eq!(items.as_array().unwrap().len(), 1, "{items}");
    assert_eq!(items[0]["entityRef"], "component:default/shop");
    assert_eq!(items[0]["file"], "docs/index.md");
    assert_eq!(items[0]["line"], 7);
    assert_eq!(items[0]["link"], "gone.md");

    let openapi = get(&app, "/api/openapi.json").await.json();
    for path in [
        "/api/techdocs/static/docs/{namespace}/{kind}/{name}/{path}",
        "/api/techdocs/metadata/techdocs/{namespace}/{kind}/{name}",
        "/api/techdocs/metadata/entity/{namespace}/{kind}/{name}",
        "/api/paved/docs/errors",
    ] {
        assert!(openapi["paths"][path].is_object(), "{path} is documented");
    }
}

#[tokio::test]
async fn the_docs_tab_shows_nav_page_toc_and_problems() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let app = app(&root).await;

    let overview = get(&app, "/catalog/default/component/shop").await.html();
    assert!(
        overview.contains("href=\"/catalog/default/component/shop/docs\">Docs</a>"),
        "{overview}"
    );
    let plain = get(&app, "/catalog/default/component/plain").await.html();
    assert!(!plain.contains("/catalog/default/component/plain/docs"));

    let page = get(&app, "/catalog/default/component/shop/docs").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html());
    let html = page.html();
    assert!(html.contains("class=\"docs-nav\""), "{html}");
    assert!(
        html.contains(
            "<a href=\"/catalog/default/component/shop/docs\" aria-current=\"page\">Home</a>"
        ),
        "{html}"
    );
    assert!(
        html.contains("<span class=\"docs-nav-section\">Guides</span>"),
        "{html}"
    );
    assert!(html.contains("href=\"/catalog/default/component/shop/docs/guide/setup\">Setup</a>"));
    assert!(html.contains("<li class=\"toc-level-2\"><a href=\"#overview\">Overview</a></li>"));
    assert!(html.contains("src=\"/catalog/default/component/shop/docs/img/logo.png\""));
    assert!(html.contains("1 build problem"), "{html}");
    assert!(html.contains("docs/index.md:7"), "{html}");
    assert!(!html.contains("<script>alert"), "{html}");

    let setup = get(&app, "/catalog/default/component/shop/docs/guide/setup").await;
    assert_eq!(setup.status, StatusCode::OK);
    assert!(setup.html().contains(
        "<a href=\"/catalog/default/component/shop/docs/guide/setup\" aria-current=\"page\">Setup</a>"
    ));
    let logo = get(&app, "/catalog/default/component/shop/docs/img/logo.png").await;
    assert_eq!(
        (logo.status, logo.content_type.as_str()),
        (StatusCode::OK, "image/png")
    );
    let missing = get(&app, "/catalog/default/component/shop/docs/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let pending = get(&app, "/catalog/default/component/pending/docs").await;
    assert_eq!(pending.status, StatusCode::OK);
    assert!(pending.html().contains("Documentation not built yet"));
    // Without a source in the folder no build comes: the tab says why and names the folder.
    std::fs::remove_file(root.join("pending/README.md")).unwrap();
    let nothing = get(&app, "/catalog/default/component/pending/docs")
        .await
        .html();
    assert!(nothing.contains("No documentation to build"), "{nothing}");
    let folder = root.join("pending").display().to_string();
    assert!(nothing.contains(&folder), "{nothing}");
    let none = get(&app, "/catalog/default/component/plain/docs").await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);

    let errors = get(&app, "/errors").await.html();
    assert!(errors.contains("Documentation build problems"), "{errors}");
    assert!(errors.contains("docs/index.md:7"), "{errors}");
    assert!(
        errors.contains("the page &#x27;gone.md&#x27; does not exist"),
        "{errors}"
    );

    let home = get(&app, "/docs").await;
    assert_eq!(home.status, StatusCode::OK);
    let home = home.html();
    assert!(
        home.contains("<a href=\"/docs\" aria-current=\"page\">Docs</a>"),
        "{home}"
    );
    assert!(
        home.contains("<a href=\"/catalog/default/component/shop/docs\">Shop handbook</a>"),
        "{home}"
    );
    assert!(home.contains("team-a"), "{home}");
}
