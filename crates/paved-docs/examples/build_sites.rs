//! Times documentation builds: every site of the demo, then a generated site of 1,000 pages
//! (headings, a table, code, an admonition and links to other pages on each; a nested nav).
//!
//! ```sh
//! cargo run -p paved-docs --example build_sites \
//!     --config 'profile.dev.package.paved-docs.opt-level=3' \
//!     --config 'profile.dev.package.paved-render.opt-level=3'
//! ```
//!
//! Prints the median of five builds of each site (reading, rendering, checking links and
//! hashing), then one whole `DocsService::build` of the generated site into a SQLite store
//! (storing 1,000 pages), and one more with nothing changed (the fingerprint matches).

use paved_docs::{Limits, build_site};
use std::path::Path;
use std::time::{Duration, Instant};

fn median_build(dir: &Path, runs: usize) -> (Duration, usize, usize, usize) {
    let mut times = Vec::new();
    let mut shape = (0, 0, 0);
    for _ in 0..runs {
        let start = Instant::now();
        let site = build_site(
            dir,
            "/catalog/default/component/x/docs",
            "x",
            &Limits::default(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        times.push(start.elapsed());
        let html: usize = site.pages.iter().map(|p| p.html.len()).sum();
        shape = (site.pages.len(), site.problems.len(), html);
    }
    times.sort();
    (times[runs / 2], shape.0, shape.1, shape.2)
}

fn page_text(i: usize, pages: usize) -> String {
    let next = (i + 1) % pages;
    let prev = (i + pages - 1) % pages;
    format!(
        "# Page {i}\n\nThis page describes part {i} of the system. It links to the [next page](../section-{}/page-{next}.md#details) and the [previous one](../section-{}/page-{prev}.md).\n\n## Details\n\n| key | value | notes |\n|---|---|---|\n| id | {i} | generated |\n| owner | team-{} | on call |\n| tier | {} | see runbook |\n\n!!! note \"Generated\"\n    Page {i} was generated for the benchmark; its body is indented four spaces.\n\n```yaml\nservice:\n  name: page-{i}\n  replicas: 3\n  ports: [8080, 9090]\n```\n\n### Operations\n\n- [x] deployed\n- [ ] load tested\n\nRestart with `kubectl rollout restart deploy/page-{i}` and watch the dashboards.[^1]\n\n[^1]: Dashboards live in Grafana.\n\n## Troubleshooting\n\n{}\n",
        next / 100,
        prev / 100,
        i % 7,
        i % 4,
        "Symptoms, causes and fixes are listed here in prose. ".repeat(12)
    )
}

async fn store_build(site_dir: &Path) {
    let work = tempfile::tempdir().expect("temp dir");
    let root = work.path().canonicalize().expect("canonical temp dir");
    let catalog_file = site_dir.join("catalog-info.yaml");
    std::fs::write(
        &catalog_file,
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: generated\n  annotations:\n    backstage.io/techdocs-ref: dir:.\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n",
    )
    .expect("catalog-info.yaml");
    let url = format!("sqlite://{}", root.join("paved.db").display());
    let stores = paved_store::connect_stores(&url).await.expect("store");
    let mut settings = paved_catalog::CatalogSettings::new(root.join("data"));
    settings.allowed_roots = vec![site_dir.to_path_buf()];
    let catalog = std::sync::Arc::new(paved_catalog::CatalogService::new(
        stores.catalog.clone(),
        settings,
    ));
    catalog
        .add_location("file", &catalog_file.display().to_string(), false)
        .await
        .expect("location");
    let docs = paved_docs::DocsService::new(catalog, stores.docs, Default::default());
    let entity = paved_model::EntityRef::new("component", "default", "generated");
    for label in ["build and store", "build, unchanged"] {
        let start = Instant::now();
        let outcome = docs.build(&entity).await.expect("build");
        println!(
            "generated, {label}: {:?} in {:.1} ms",
            outcome,
            start.elapsed().as_secs_f64() * 1000.0
        );
    }
}

fn main() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../paved/demo/components");
    let mut demo_dirs: Vec<_> = std::fs::read_dir(&demo)
        .expect("the demo's components folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("mkdocs.yml").is_file())
        .collect();
    demo_dirs.sort();
    let start = Instant::now();
    let mut pages = 0;
    for dir in &demo_dirs {
        let (time, n, problems, html) = median_build(dir, 5);
        pages += n;
        println!(
            "demo {:<28} {n:>2} pages {problems} problems {html:>7} bytes of HTML  {:>8.2} ms",
            dir.file_name().unwrap_or_default().to_string_lossy(),
            time.as_secs_f64() * 1000.0
        );
    }
    println!(
        "demo: {} sites, {pages} pages, all five runs each in {:.1} ms",
        demo_dirs.len(),
        start.elapsed().as_secs_f64() * 1000.0
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let total = 1000;
    let mut nav = String::from("site_name: Generated\nnav:\n  - Home: index.md\n");
    std::fs::create_dir_all(dir.path().join("docs")).expect("docs folder");
    std::fs::write(
        dir.path().join("docs/index.md"),
        "# Generated\n\nA thousand pages.\n",
    )
    .expect("index");
    for section in 0..total / 100 {
        nav.push_str(&format!("  - Section {section}:\n"));
        let folder = dir.path().join(format!("docs/section-{section}"));
        std::fs::create_dir_all(&folder).expect("section folder");
        for i in section * 100..(section + 1) * 100 {
            std::fs::write(folder.join(format!("page-{i}.md")), page_text(i, total)).expect("page");
            nav.push_str(&format!("      - section-{section}/page-{i}.md\n"));
        }
    }
    std::fs::write(dir.path().join("mkdocs.yml"), nav).expect("mkdocs.yml");
    let (time, n, problems, html) = median_build(dir.path(), 5);
    println!(
        "generated: {n} pages, {problems} problems, {html} bytes of HTML, median {:.1} ms ({:.1} µs per page)",
        time.as_secs_f64() * 1000.0,
        time.as_secs_f64() * 1e6 / n as f64
    );
    let site_dir = dir.path().canonicalize().expect("canonical site folder");
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(store_build(&site_dir));
}
