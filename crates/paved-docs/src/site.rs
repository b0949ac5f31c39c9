//! Building one documentation site from its source folder: `mkdocs.yml` (`site_name`,
//! `site_description`, `docs_dir`, nested `nav`), the Markdown pages under the docs folder
//! (or the folder's README.md alone), the files pages link to (images), and the problems
//! found on the way (missing nav files, broken links), each with file and line.
//!
//! Every read stays inside the source folder: symlinks and `..` that lead out are refused, and
//! the site's size is bounded.

use crate::error::DocsError;
use crate::markdown::{LinkTarget, TocEntry, render_page};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// Bumped when rendering changes, so unchanged sources are built again once.
const RENDERER_VERSION: &str = "1";

/// Bounds of one site.
#[derive(Clone, Debug)]
pub struct Limits {
    /// All files of the docs folder together.
    pub max_site_bytes: u64,
    /// One page or file.
    pub max_file_bytes: u64,
    pub max_pages: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_site_bytes: 64 * 1024 * 1024,
            max_file_bytes: 4 * 1024 * 1024,
            max_pages: 5_000,
        }
    }
}

/// One entry of the site's navigation: a page, an external link, or a section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NavNode {
    pub title: String,
    /// The page (relative to the docs folder) for a page entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// An external link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<NavNode>,
}

/// A problem of a site's build, shown like a processing error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Relative to the source folder, e.g. `docs/guide.md` or `mkdocs.yml`.
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BuiltPage {
    /// Relative to the docs folder: `index.md`, `guide/setup.md`.
    pub path: String,
    pub title: String,
    pub html: String,
    pub toc: Vec<TocEntry>,
    pub headings: Vec<String>,
    pub text: String,
}

/// A file a page links to (an image), served as it is.
#[derive(Clone, Debug, PartialEq)]
pub struct BuiltFile {
    pub path: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BuiltSite {
    pub site_name: String,
    pub site_description: Option<String>,
    pub nav: Vec<NavNode>,
    pub pages: Vec<BuiltPage>,
    pub files: Vec<BuiltFile>,
    pub problems: Vec<Problem>,
    /// Hash of every input read (and the renderer's version): equal = nothing to store.
    pub fingerprint: String,
}

#[derive(Debug, Default, Deserialize)]
struct MkDocs {
    #[serde(default)]
    site_name: Option<String>,
    #[serde(default)]
    site_description: Option<String>,
    #[serde(default)]
    docs_dir: Option<String>,
    #[serde(default)]
    nav: Option<serde_json::Value>,
}

/// Content types of the files a site may serve besides pages. SVG is left out: it can carry
/// script.
fn content_type(path: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        "pdf" => "application/pdf",
        _ => return None,
    })
}

/// The files a source folder is built from: `mkdocs.yml` (with its docs folder), else the
/// README alone.
const MKDOCS_FILES: [&str; 2] = ["mkdocs.yml", "mkdocs.yaml"];
const README_FILES: [&str; 3] = ["README.md", "readme.md", "Readme.md"];

/// Whether `dir` has something to build a site from (a `mkdocs.yml` or a README): a folder
/// without either fails every build the same way, so no build is run for it.
pub fn has_source(dir: &Path) -> bool {
    MKDOCS_FILES
        .iter()
        .chain(README_FILES.iter())
        .any(|name| dir.join(name).is_file())
}

/// Builds the site whose source folder is `dir` (already confined by the caller), for pages
/// served under `base_url`. `default_name` names a site without `site_name` (the entity's
/// title or name).
pub fn build_site(
    dir: &Path,
    base_url: &str,
    default_name: &str,
    limits: &Limits,
) -> Result<BuiltSite, DocsError> {
    let root = std::fs::canonicalize(dir).map_err(|e| DocsError::Io {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    let mut hasher = Sha256::new();
    hasher.update(RENDERER_VERSION.as_bytes());
    hasher.update([0]);
    hasher.update(base_url.as_bytes());
    hasher.update([0]);
    let mut problems = Vec::new();

    let mkdocs_path = MKDOCS_FILES
        .iter()
        .map(|name| root.join(name))
        .find(|p| p.is_file());
    let Some(mkdocs_path) = mkdocs_path else {
        return build_from_readme(&root, base_url, default_name, limits, hasher);
    };
    let mkdocs_name = mkdocs_path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let mkdocs_text = read_confined(&root, &mkdocs_path, limits.max_file_bytes)?;
    let mkdocs_text = String::from_utf8(mkdocs_text).map_err(|_| DocsError::Mkdocs {
        file: mkdocs_name.clone(),
        message: "is not UTF-8".into(),
    })?;
    hasher.update(mkdocs_text.as_bytes());
    hasher.update([0]);
    let config: MkDocs = if mkdocs_text.trim().is_empty() {
        MkDocs::default()
    } else {
        serde_saphyr::from_str(&mkdocs_text).map_err(|e| DocsError::Mkdocs {
            file: mkdocs_name.clone(),
            message: e.to_string(),
        })?
    };
    let docs_dir_name = config.docs_dir.clone().unwrap_or_else(|| "docs".into());
    let docs_dir = root.join(&docs_dir_name);
    let docs_root = std::fs::canonicalize(&docs_dir).map_err(|e| DocsError::Mkdocs {
        file: mkdocs_name.clone(),
        message: format!("docs_dir '{docs_dir_name}' cannot be read: {e}"),
    })?;
    if !docs_root.starts_with(&root) {
        return Err(DocsError::Escape {
            path: docs_dir_name,
        });
    }
    let prefix = docs_root
        .strip_prefix(&root)
        .map(|p| p.to_string_lossy().to_string())
        .unwrap_or_default();
    let shown = |path: &str| {
        if prefix.is_empty() {
            path.to_string()
        } else {
            format!("{prefix}/{path}")
        }
    };

    let (markdown, files) = read_tree(&docs_root, limits, &mut problems, &shown)?;
    for (path, bytes) in markdown.iter().chain(files.iter()) {
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update(bytes);
        hasher.update([0]);
    }

    let site_name = config
        .site_name
        .clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| default_name.to_string());
    let mut site = render_pages(
        site_name,
        config.site_description.clone(),
        &markdown,
        files,
        base_url,
        &shown,
        problems,
    );
    site.nav = match &config.nav {
        Some(nav) => {
            let mut nav_problems = Vec::new();
            let nodes = parse_nav(nav, &site, &mkdocs_name, &mkdocs_text, &mut nav_problems);
            site.problems.extend(nav_problems);
            nodes
        }
        None => default_nav(&site.pages),
    };
    site.fingerprint = hex::encode(hasher.finalize());
    Ok(site)
}

fn build_from_readme(
    root: &Path,
    base_url: &str,
    default_name: &str,
    limits: &Limits,
    mut hasher: Sha256,
) -> Result<BuiltSite, DocsError> {
    let readme = README_FILES
        .iter()
        .map(|name| root.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| DocsError::NoSource {
            path: root.display().to_string(),
        })?;
    let name = readme
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let bytes = read_confined(root, &readme, limits.max_file_bytes)?;
    hasher.update(name.as_bytes());
    hasher.update([0]);
    hasher.update(&bytes);
    let mut markdown = BTreeMap::new();
    markdown.insert("index.md".to_string(), bytes);
    let shown = |path: &str| {
        if path == "index.md" {
            name.clone()
        } else {
            path.to_string()
        }
    };
    let mut site = render_pages(
        default_name.to_string(),
        None,
        &markdown,
        BTreeMap::new(),
        base_url,
        &shown,
        Vec::new(),
    );
    site.nav = default_nav(&site.pages);
    site.fingerprint = hex::encode(hasher.finalize());
    Ok(site)
}

/// Reads a file that must resolve inside `root`, at most `max` bytes.
fn read_confined(root: &Path, path: &Path, max: u64) -> Result<Vec<u8>, DocsError> {
    let io = |e: std::io::Error| DocsError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let canonical = std::fs::canonicalize(path).map_err(io)?;
    if !canonical.starts_with(root) {
        return Err(DocsError::Escape {
            path: path.display().to_string(),
        });
    }
    let size = std::fs::metadata(&canonical).map_err(io)?.len();
    if size > max {
        return Err(DocsError::TooLarge {
            path: path.display().to_string(),
            size,
            limit: max,
        });
    }
    std::fs::read(&canonical).map_err(io)
}

type Tree = (BTreeMap<String, Vec<u8>>, BTreeMap<String, Vec<u8>>);

/// The Markdown pages and servable files under the docs folder, by path relative to it.
fn read_tree(
    docs_root: &Path,
    limits: &Limits,
    problems: &mut Vec<Problem>,
    shown: &dyn Fn(&str) -> String,
) -> Result<Tree, DocsError> {
    let mut markdown = BTreeMap::new();
    let mut files = BTreeMap::new();
    let mut total: u64 = 0;
    let walker = walkdir::WalkDir::new(docs_root)
        .follow_links(false)
        .sort_by_file_name()
        .max_depth(16);
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                problems.push(Problem {
                    file: shown(""),
                    line: None,
                    link: None,
                    message: format!("cannot read the docs folder: {e}"),
                });
                continue;
            }
        };
        let Ok(relative) = entry.path().strip_prefix(docs_root) else {
            continue;
        };
        let relative = relative.to_string_lossy().replace('\\', "/");
        if relative.is_empty() || relative.split('/').any(|p| p.starts_with('.')) {
            continue;
        }
        let file_type = entry.file_type();
        let is_markdown = relative.ends_with(".md");
        if !is_markdown && content_type(&relative).is_none() {
            continue;
        }
        if file_type.is_symlink() {
            // A symlink is followed only when it stays inside the docs folder.
            match std::fs::canonicalize(entry.path()) {
                Ok(target) if target.starts_with(docs_root) && target.is_file() => {}
                _ => {
                    problems.push(Problem {
                        file: shown(&relative),
                        line: None,
                        link: None,
                        message: "is a symlink that leads outside the docs folder; skipped".into(),
                    });
                    continue;
                }
            }
        } else if !file_type.is_file() {
            continue;
        }
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        if size > limits.max_file_bytes {
            problems.push(Problem {
                file: shown(&relative),
                line: None,
                link: None,
                message: format!(
                    "is {size} bytes, over the limit of {} (docs.max_file_bytes); skipped",
                    limits.max_file_bytes
                ),
            });
            continue;
        }
        total += size;
        if total > limits.max_site_bytes {
            return Err(DocsError::TooLarge {
                path: docs_root.display().to_string(),
                size: total,
                limit: limits.max_site_bytes,
            });
        }
        let bytes = std::fs::read(entry.path()).map_err(|e| DocsError::Io {
            path: entry.path().display().to_string(),
            message: e.to_string(),
        })?;
        if is_markdown {
            if markdown.len() >= limits.max_pages {
                return Err(DocsError::TooManyPages {
                    limit: limits.max_pages,
                });
            }
            markdown.insert(relative, bytes);
        } else {
            files.insert(relative, bytes);
        }
    }
    Ok((markdown, files))
}

fn title_from_path(path: &str) -> String {
    let stem = path.strip_suffix(".md").unwrap_or(path);
    let stem = stem.rsplit('/').next().unwrap_or(stem);
    let words = stem.replace(['-', '_'], " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => "Page".into(),
    }
}

fn render_pages(
    site_name: String,
    site_description: Option<String>,
    markdown: &BTreeMap<String, Vec<u8>>,
    files: BTreeMap<String, Vec<u8>>,
    base_url: &str,
    shown: &dyn Fn(&str) -> String,
    mut problems: Vec<Problem>,
) -> BuiltSite {
    let mut pages = Vec::with_capacity(markdown.len());
    let mut anchors: BTreeMap<&str, HashSet<String>> = BTreeMap::new();
    let mut links = Vec::new();
    for (path, bytes) in markdown {
        let source = String::from_utf8_lossy(bytes);
        let rendered = render_page(&source, path, base_url);
        anchors.insert(path.as_str(), rendered.anchors.iter().cloned().collect());
        links.push((path.clone(), rendered.links));
        let title = rendered.title.unwrap_or_else(|| {
            if path == "index.md" {
                site_name.clone()
            } else {
                title_from_path(path)
            }
        });
        pages.push(BuiltPage {
            path: path.clone(),
            title,
            html: rendered.html,
            toc: rendered.toc,
            headings: rendered.headings,
            text: rendered.text,
        });
    }
    for (page, page_links) in links {
        for link in page_links {
            let message = match &link.target {
                LinkTarget::Outside => Some("the link leaves the documentation folder".to_string()),
                LinkTarget::Page { path, anchor } => match anchors.get(path.as_str()) {
                    None => Some(format!("the page '{path}' does not exist")),
                    Some(ids) => match anchor {
                        Some(a) if !ids.contains(a) => {
                            Some(format!("the page '{path}' has no heading '#{a}'"))
                        }
                        _ => None,
                    },
                },
                LinkTarget::File { path } => {
                    (!files.contains_key(path)).then(|| format!("the file '{path}' does not exist"))
                }
            };
            if let Some(message) = message {
                problems.push(Problem {
                    file: shown(&page),
                    line: Some(link.line),
                    link: Some(link.link),
                    message,
                });
            }
        }
    }
    let files = files
        .into_iter()
        .filter_map(|(path, bytes)| {
            content_type(&path).map(|content_type| BuiltFile {
                path,
                content_type,
                bytes,
            })
        })
        .collect();
    BuiltSite {
        site_name,
        site_description,
        nav: Vec::new(),
        pages,
        files,
        problems,
        fingerprint: String::new(),
    }
}

/// Without `nav`: every page, `index.md` first, then by path.
fn default_nav(pages: &[BuiltPage]) -> Vec<NavNode> {
    let mut nodes: Vec<NavNode> = pages
        .iter()
        .map(|p| NavNode {
            title: p.title.clone(),
            page: Some(p.path.clone()),
            url: None,
            children: Vec::new(),
        })
        .collect();
    nodes.sort_by_key(|n| (n.page.as_deref() != Some("index.md"), n.page.clone()));
    nodes
}

/// The line of `mkdocs.yml` that first mentions `needle`.
fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

fn parse_nav(
    nav: &serde_json::Value,
    site: &BuiltSite,
    file: &str,
    text: &str,
    problems: &mut Vec<Problem>,
) -> Vec<NavNode> {
    let Some(items) = nav.as_array() else {
        problems.push(Problem {
            file: file.to_string(),
            line: line_of(text, "nav:"),
            link: None,
            message: "nav must be a list".into(),
        });
        return Vec::new();
    };
    let mut nodes = Vec::new();
    for item in items {
        match item {
            serde_json::Value::String(page) => {
                if let Some(node) = nav_leaf(None, page, site, file, text, problems) {
                    nodes.push(node);
                }
            }
            serde_json::Value::Object(map) => {
                for (title, value) in map {
                    match value {
                        serde_json::Value::String(page) => {
                            if let Some(node) =
                                nav_leaf(Some(title), page, site, file, text, problems)
                            {
                                nodes.push(node);
                            }
                        }
                        serde_json::Value::Array(_) => nodes.push(NavNode {
                            title: title.clone(),
                            page: None,
                            url: None,
                            children: parse_nav(value, site, file, text, problems),
                        }),
                        _ => problems.push(Problem {
                            file: file.to_string(),
                            line: line_of(text, title),
                            link: None,
                            message: format!(
                                "nav entry '{title}' must name a page or a list of entries"
                            ),
                        }),
                    }
                }
            }
            _ => problems.push(Problem {
                file: file.to_string(),
                line: line_of(text, "nav:"),
                link: None,
                message: "a nav entry must be a page or `Title: page`".into(),
            }),
        }
    }
    nodes
}

fn nav_leaf(
    title: Option<&String>,
    target: &str,
    site: &BuiltSite,
    file: &str,
    text: &str,
    problems: &mut Vec<Problem>,
) -> Option<NavNode> {
    if target.starts_with("http://") || target.starts_with("https://") {
        return Some(NavNode {
            title: title.cloned().unwrap_or_else(|| target.to_string()),
            page: None,
            url: Some(target.to_string()),
            children: Vec::new(),
        });
    }
    let path = crate::markdown::resolve_relative("", target);
    let page = path.and_then(|p| site.pages.iter().find(|page| page.path == p));
    match page {
        Some(page) => Some(NavNode {
            title: title.cloned().unwrap_or_else(|| page.title.clone()),
            page: Some(page.path.clone()),
            url: None,
            children: Vec::new(),
        }),
        None => {
            problems.push(Problem {
                file: file.to_string(),
                line: line_of(text, target),
                link: Some(target.to_string()),
                message: format!("nav names '{target}', which is not a page of the docs folder"),
            });
            None
        }
    }
}

/// Whether a path (from a URL) is a page of the site: `""` → `index.md`, `a` → `a.md` or
/// `a/index.md`. Returns the candidates in order.
pub fn page_candidates(url_path: &str) -> Vec<String> {
    let p = url_path.trim_matches('/');
    if p.is_empty() || p == "index.html" || p == "index.md" {
        return vec!["index.md".into()];
    }
    if p.ends_with(".md") {
        return vec![p.to_string()];
    }
    let p = p.strip_suffix("/index.html").unwrap_or(p);
    let p = p.strip_suffix(".html").unwrap_or(p);
    vec![format!("{p}.md"), format!("{p}/index.md")]
}
