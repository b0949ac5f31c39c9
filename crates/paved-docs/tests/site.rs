//! Building whole sites from real folders: mkdocs.yml, nav, README fallback, problems,
//! confinement, and the source resolution from the entity (file and git locations).

use paved_catalog::AllowedRoots;
use paved_catalog::git::GitSettings;
use paved_docs::source::{SourceAccess, resolve_source};
use paved_docs::{DocsError, Limits, NavNode, build_site};
use serde_json::json;
use std::path::Path;
use std::time::Duration;

const BASE: &str = "/catalog/default/component/shop/docs";

fn write(root: &Path, path: &str, text: &str) {
    let file = root.join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, text).unwrap();
}

fn page(title: &str, path: &str) -> NavNode {
    NavNode {
        title: title.into(),
        page: Some(path.into()),
        url: None,
        children: vec![],
    }
}

#[test]
fn mkdocs_nav_is_nested_and_missing_files_are_problems() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "mkdocs.yml",
        "site_name: Shop\nsite_description: Sells things\nnav:\n  - Home: index.md\n  - Guides:\n      - guide/setup.md\n      - Missing: guide/nope.md\n  - Source: https://example.com/src\n",
    );
    write(
        root,
        "docs/index.md",
        "# Welcome\n\nSee [setup](guide/setup.md#install).\n",
    );
    write(
        root,
        "docs/guide/setup.md",
        "# Setup\n\n## Install\n\nBack [home](../index.md).\n",
    );
    let site = build_site(root, BASE, "shop", &Limits::default()).unwrap();
    assert_eq!(site.site_name, "Shop");
    assert_eq!(site.site_description.as_deref(), Some("Sells things"));
    assert_eq!(
        site.nav,
        vec![
            page("Home", "index.md"),
            NavNode {
                title: "Guides".into(),
                page: None,
                url: None,
                children: vec![page("Setup", "guide/setup.md")],
            },
            NavNode {
                title: "Source".into(),
                page: None,
                url: Some("https://example.com/src".into()),
                children: vec![],
            },
        ]
    );
    assert_eq!(site.problems.len(), 1, "{:?}", site.problems);
    let problem = &site.problems[0];
    assert_eq!(problem.file, "mkdocs.yml");
    assert_eq!(problem.line, Some(7));
    assert_eq!(problem.link.as_deref(), Some("guide/nope.md"));
    let index = site.pages.iter().find(|p| p.path == "index.md").unwrap();
    assert!(
        index
            .html
            .contains(&format!("href=\"{BASE}/guide/setup#install\""))
    );
    assert_eq!(index.title, "Welcome");
}

#[test]
fn broken_links_and_anchors_are_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "mkdocs.yml", "site_name: Shop\n");
    write(
        root,
        "docs/index.md",
        "# Home\n\n[ok](other.md#there)\n[no page](missing.md)\n[no anchor](other.md#nowhere)\n[self](#home)\n[bad self](#nope)\n![img](img/none.png)\n![fine](img/logo.png)\n",
    );
    write(root, "docs/other.md", "# Other\n\n## There\n");
    write(root, "docs/img/logo.png", "png");
    let site = build_site(root, BASE, "shop", &Limits::default()).unwrap();
    let found: Vec<(String, Option<usize>, Option<String>)> = site
        .problems
        .iter()
        .map(|p| (p.file.clone(), p.line, p.link.clone()))
        .collect();
    assert_eq!(
        found,
        vec![
            ("docs/index.md".into(), Some(4), Some("missing.md".into())),
            (
                "docs/index.md".into(),
                Some(5),
                Some("other.md#nowhere".into())
            ),
            ("docs/index.md".into(), Some(7), Some("#nope".into())),
            ("docs/index.md".into(), Some(8), Some("img/none.png".into())),
        ]
    );
    // Without nav: every page, index first.
    assert_eq!(
        site.nav,
        vec![page("Home", "index.md"), page("Other", "other.md")]
    );
    assert_eq!(site.files.len(), 1);
    assert_eq!(site.files[0].content_type, "image/png");
}

#[test]
fn without_mkdocs_the_readme_is_the_single_page() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "README.md", "# Shop\n\nHello.\n");
    write(dir.path(), "docs/ignored.md", "# Not read\n");
    let site = build_site(dir.path(), BASE, "shop-service", &Limits::default()).unwrap();
    assert_eq!(site.site_name, "shop-service");
    assert_eq!(site.pages.len(), 1);
    assert_eq!(site.pages[0].path, "index.md");
    assert_eq!(site.pages[0].title, "Shop");
    assert_eq!(site.nav, vec![page("Shop", "index.md")]);

    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        build_site(empty.path(), BASE, "x", &Limits::default()),
        Err(DocsError::NoSource { .. })
    ));
}

#[test]
fn escapes_from_the_source_folder_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("site");
    write(dir.path(), "outside/secret.md", "# Secret\n");
    write(&root, "mkdocs.yml", "site_name: X\ndocs_dir: ../outside\n");
    assert!(matches!(
        build_site(&root, BASE, "x", &Limits::default()),
        Err(DocsError::Escape { .. })
    ));

    write(&root, "mkdocs.yml", "site_name: X\n");
    write(&root, "docs/index.md", "# In\n");
    std::os::unix::fs::symlink(
        dir.path().join("outside/secret.md"),
        root.join("docs/leak.md"),
    )
    .unwrap();
    let site = build_site(&root, BASE, "x", &Limits::default()).unwrap();
    assert_eq!(site.pages.len(), 1, "the symlink is not followed");
    assert!(site.problems[0].message.contains("symlink"));
    assert!(!site.pages.iter().any(|p| p.html.contains("Secret")));
}

#[test]
fn size_limits_stop_oversized_sites() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "mkdocs.yml", "site_name: X\n");
    write(dir.path(), "docs/index.md", &"word ".repeat(400));
    write(dir.path(), "docs/b.md", &"word ".repeat(400));
    let limits = Limits {
        max_site_bytes: 3_000,
        max_file_bytes: 10_000,
        max_pages: 10,
    };
    assert!(matches!(
        build_site(dir.path(), BASE, "x", &limits),
        Err(DocsError::TooLarge { .. })
    ));
    let limits = Limits {
        max_site_bytes: 10_000,
        max_file_bytes: 1_000,
        max_pages: 10,
    };
    write(dir.path(), "docs/index.md", "# Small\n");
    write(dir.path(), "docs/b.md", "# Small too\n");
    write(dir.path(), "docs/big.md", &"word ".repeat(400));
    let site = build_site(dir.path(), BASE, "x", &limits).unwrap();
    assert_eq!(site.pages.len(), 2);
    assert_eq!(site.problems.len(), 1);
    assert_eq!(site.problems[0].file, "docs/big.md");
    assert!(site.problems[0].message.contains("docs.max_file_bytes"));
    let limits = Limits {
        max_pages: 2,
        ..Limits::default()
    };
    assert!(matches!(
        build_site(dir.path(), BASE, "x", &limits),
        Err(DocsError::TooManyPages { limit: 2 })
    ));
}

#[test]
fn the_fingerprint_changes_with_the_sources_only() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "mkdocs.yml", "site_name: X\n");
    write(dir.path(), "docs/index.md", "# One\n");
    let a = build_site(dir.path(), BASE, "x", &Limits::default()).unwrap();
    let b = build_site(dir.path(), BASE, "x", &Limits::default()).unwrap();
    assert_eq!(a.fingerprint, b.fingerprint);
    write(dir.path(), "docs/index.md", "# Two\n");
    let c = build_site(dir.path(), BASE, "x", &Limits::default()).unwrap();
    assert_ne!(a.fingerprint, c.fingerprint);
}

fn access(roots: &[&Path], cache: &Path) -> SourceAccess {
    SourceAccess {
        roots: AllowedRoots::new(roots.iter().map(|p| p.to_path_buf())),
        git: GitSettings {
            cache_dir: cache.to_path_buf(),
            timeout: Duration::from_secs(60),
            max_bytes: 50 * 1024 * 1024,
        },
    }
}

fn entity(location: &str, techdocs: &str) -> serde_json::Value {
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": "shop",
            "annotations": {
                "backstage.io/managed-by-location": location,
                "backstage.io/techdocs-ref": techdocs,
            }
        },
        "spec": {"type": "service", "owner": "team", "lifecycle": "production"}
    })
}

#[tokio::test]
async fn dir_refs_resolve_next_to_the_entity_file_inside_the_allowed_roots() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("catalog");
    write(&root, "shop/catalog-info.yaml", "x");
    write(&root, "shop/mkdocs.yml", "site_name: Shop\n");
    write(dir.path(), "elsewhere/mkdocs.yml", "site_name: No\n");
    let file = format!("file:{}", root.join("shop/catalog-info.yaml").display());
    let cache = dir.path().join("cache");
    let access = access(&[&root], &cache);
    let found = resolve_source(&entity(&file, "dir:."), &access)
        .await
        .unwrap();
    assert_eq!(found, std::fs::canonicalize(root.join("shop")).unwrap());
    let escape = resolve_source(&entity(&file, "dir:../../elsewhere"), &access).await;
    assert!(matches!(escape, Err(DocsError::Source(_))), "{escape:?}");
    let bad = resolve_source(&entity(&file, "docs"), &access).await;
    assert!(matches!(bad, Err(DocsError::InvalidRef { .. })));
}

fn git(dir: &Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

#[tokio::test]
async fn git_locations_are_checked_out_and_built() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    write(&repo, "svc/catalog-info.yaml", "x");
    write(
        &repo,
        "svc/mkdocs.yml",
        "site_name: From git\nnav:\n  - index.md\n",
    );
    write(
        &repo,
        "svc/docs/index.md",
        "# Git docs\n\n!!! note\n    From a repository.\n",
    );
    git(&repo, &["init", "--quiet", "-b", "main"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "--quiet", "-m", "docs"]);
    let cache = dir.path().join("cache");
    let access = access(&[&repo], &cache);
    let location = format!("url:{}?ref=main&path=svc/catalog-info.yaml", repo.display());
    let source = resolve_source(&entity(&location, "dir:."), &access)
        .await
        .unwrap();
    assert!(source.starts_with(std::fs::canonicalize(&cache).unwrap()));
    let site = build_site(&source, BASE, "shop", &Limits::default()).unwrap();
    assert_eq!(site.site_name, "From git");
    assert!(site.pages[0].html.contains("admonition note"));

    // url: refs name the repository folder directly; escapes are refused.
    let by_url = format!("url:{}?ref=main&path=svc", repo.display());
    let source = resolve_source(&entity(&location, &by_url), &access)
        .await
        .unwrap();
    assert!(source.join("mkdocs.yml").is_file());
    let escape = resolve_source(
        &entity(&location, &format!("url:{}?path=../..", repo.display())),
        &access,
    )
    .await;
    assert!(escape.is_err());
    let escape = resolve_source(&entity(&location, "dir:../../.."), &access).await;
    assert!(
        matches!(escape, Err(DocsError::Escape { .. })),
        "{escape:?}"
    );
}

#[test]
fn mkdocs_files_with_python_tags_and_plugins_still_build() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "mkdocs.yml",
        "site_name: Tagged\ntheme:\n  name: material\nplugins:\n  - techdocs-core\nmarkdown_extensions:\n  - admonition\n  - pymdownx.emoji:\n      emoji_index: !!python/name:material.extensions.emoji.twemoji\n      emoji_generator: !!python/name:material.extensions.emoji.to_svg\n  - toc:\n      permalink: true\n",
    );
    write(dir.path(), "docs/index.md", "# Tagged\n");
    let site = build_site(dir.path(), BASE, "x", &Limits::default()).unwrap();
    assert_eq!(site.site_name, "Tagged");
    assert_eq!(site.pages.len(), 1);
}
