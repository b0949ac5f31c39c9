//! Location targets: what a `file` or `url` location names, and the confinement of file reads
//! to allowed roots.

use crate::error::CatalogError;
use std::path::{Component, Path, PathBuf};

/// A location as Backstage writes it: `type` (`file` or `url`) and `target`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LocationSpec {
    pub kind: String,
    pub target: String,
}

impl LocationSpec {
    pub fn new(kind: impl Into<String>, target: impl Into<String>) -> Self {
        LocationSpec {
            kind: kind.into(),
            target: target.into(),
        }
    }

    /// `file:/abs/path` or `url:https://…`, the form of `backstage.io/managed-by-location`.
    pub fn display(&self) -> String {
        format!("{}:{}", self.kind, self.target)
    }

    pub fn parse(&self) -> Result<ParsedTarget, CatalogError> {
        match self.kind.as_str() {
            "file" => {
                let path = PathBuf::from(&self.target);
                if !path.is_absolute() {
                    return Err(CatalogError::Invalid(format!(
                        "file location target '{}' must be an absolute path",
                        self.target
                    )));
                }
                Ok(ParsedTarget::File(normalize(&path)))
            }
            "url" => GitTarget::parse(&self.target).map(ParsedTarget::Git),
            other => Err(CatalogError::Invalid(format!(
                "unsupported location type '{other}'; use 'file' or 'url'"
            ))),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParsedTarget {
    /// A file, a directory (scanned for `catalog-info.yaml`) or a glob.
    File(PathBuf),
    Git(GitTarget),
}

/// A path inside a git repository at a branch, tag or commit.
///
/// Accepted forms:
/// - forge URLs: `https://host/org/repo/blob/<ref>/<path>`, `…/tree/<ref>/<path>`,
///   `https://host/group/repo/-/blob/<ref>/<path>` (GitLab);
/// - any git remote (`https://…`, `ssh://…`, `git@host:org/repo.git`, `file:///…`, or an absolute
///   path to a repository) with optional `?ref=<ref>&path=<path>`.
///
/// Without a path, `catalog-info.yaml` at the repository root is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitTarget {
    pub remote: String,
    pub reference: Option<String>,
    pub path: String,
    /// Forge-style URL prefix (`https://host/org/repo/blob/<ref>/`) used to name nested files
    /// the way the user wrote the location; `None` for plain remotes.
    forge_prefix: Option<String>,
}

impl GitTarget {
    /// The folder of a repository on this machine (`/srv/repos/web.git`,
    /// `file:///srv/repos/web.git`): reading it is reading local files, so it must lie inside
    /// the allowed roots like a file location. `None` for a remote over the network.
    pub fn local_repository(&self) -> Option<PathBuf> {
        local_repository_path(&self.remote)
    }

    pub fn parse(target: &str) -> Result<Self, CatalogError> {
        let invalid = |why: &str| {
            CatalogError::Invalid(format!(
                "url location target '{target}' is not valid: {why}"
            ))
        };
        if target.trim().is_empty() {
            return Err(invalid("it is empty"));
        }
        if target.starts_with('-') {
            return Err(invalid("it must not start with '-'"));
        }
        if target.chars().any(|c| c.is_control() || c == ' ') {
            return Err(invalid("it contains spaces or control characters"));
        }
        for marker in ["/-/blob/", "/-/tree/", "/blob/", "/tree/"] {
            if let Some((repo, rest)) = target.split_once(marker)
                && (repo.starts_with("https://") || repo.starts_with("http://"))
            {
                let (reference, path) = rest.split_once('/').unwrap_or((rest, ""));
                if reference.is_empty() {
                    return Err(invalid("the branch or tag after /blob/ is empty"));
                }
                let path = clean_repo_path(path)
                    .ok_or_else(|| invalid("the path escapes the repository"))?;
                return Ok(GitTarget {
                    remote: format!("{}.git", repo.trim_end_matches(".git")),
                    reference: Some(reference.to_string()),
                    path: if path.is_empty() {
                        "catalog-info.yaml".into()
                    } else {
                        path
                    },
                    forge_prefix: Some(format!("{repo}{marker}{reference}/")),
                });
            }
        }
        let (remote, query) = match target.split_once('?') {
            Some((remote, query)) => (remote, Some(query)),
            None => (target, None),
        };
        let mut reference = None;
        let mut path = String::new();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("ref", value)) if !value.is_empty() => reference = Some(value.to_string()),
                Some(("path", value)) => {
                    path = clean_repo_path(value)
                        .ok_or_else(|| invalid("the path escapes the repository"))?
                }
                _ => return Err(invalid("only '?ref=…&path=…' parameters are understood")),
            }
        }
        let looks_remote = remote.starts_with("https://")
            || remote.starts_with("http://")
            || remote.starts_with("ssh://")
            || remote.starts_with("file://")
            || remote.starts_with("git://")
            || (remote.contains('@') && remote.contains(':'))
            || remote.starts_with('/');
        if !looks_remote {
            return Err(invalid(
                "expected a git remote (https://, ssh://, git@host:repo, file://, or an absolute path)",
            ));
        }
        if let Some(r) = &reference
            && (r.starts_with('-') || r.contains(".."))
        {
            return Err(invalid("the ref is not a valid branch, tag or commit name"));
        }
        Ok(GitTarget {
            remote: remote.to_string(),
            reference,
            path: if path.is_empty() {
                "catalog-info.yaml".into()
            } else {
                path
            },
            forge_prefix: None,
        })
    }

    /// The location string naming another file of the same repository and ref.
    pub fn target_for(&self, repo_path: &str) -> String {
        match &self.forge_prefix {
            Some(prefix) => format!("{prefix}{repo_path}"),
            None => {
                let mut s = format!("{}?", self.remote);
                if let Some(r) = &self.reference {
                    s.push_str(&format!("ref={r}&"));
                }
                s.push_str(&format!("path={repo_path}"));
                s
            }
        }
    }
}

/// A repository-relative path without `..` escapes, `/`-separated, no leading slash.
/// `None` when it would leave the repository.
pub fn clean_repo_path(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// The folder a git remote names on this machine (`/srv/repos/web.git`,
/// `file:///srv/repos/web.git`); `None` for any other remote.
pub fn local_repository_path(remote: &str) -> Option<PathBuf> {
    if remote.starts_with('/') {
        Some(PathBuf::from(remote))
    } else {
        remote.strip_prefix("file://").map(PathBuf::from)
    }
}

/// Whether a location written as a path names a git repository on this machine rather than
/// files: a bare repository (`/srv/repos/web.git`, with or without `?ref=…&path=…`), or any
/// repository folder followed by a `?ref=` or `?path=` query. A working tree named without a
/// query stays a folder of files (uncommitted changes included).
pub fn is_local_git_target(target: &str) -> bool {
    if target.contains("://") {
        return false;
    }
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (Path::new(path), Some(query)),
        None => (Path::new(target), None),
    };
    let bare = path.join("HEAD").is_file() && path.join("objects").is_dir();
    let with_query = query.is_some_and(|q| q.starts_with("ref=") || q.starts_with("path="));
    bare || (with_query && path.join(".git").exists())
}

/// Whether a location target is a glob pattern rather than a path.
pub fn is_glob(target: &str) -> bool {
    target.contains(['*', '?', '[', '{'])
}

/// The folder a glob searches: its components before the first one with a pattern.
pub fn glob_base(pattern: &Path) -> PathBuf {
    pattern
        .components()
        .take_while(|c| !is_glob(&c.as_os_str().to_string_lossy()))
        .collect()
}

/// Lexically normalizes a path (`a/./b/../c` → `a/c`) without touching the filesystem.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The folders file reads are confined to. Checks resolve symlinks, so neither `..` nor a
/// symlink leads outside.
#[derive(Clone, Debug, Default)]
pub struct AllowedRoots {
    roots: Vec<PathBuf>,
}

impl AllowedRoots {
    pub fn new(roots: impl IntoIterator<Item = PathBuf>) -> Self {
        let roots = roots
            .into_iter()
            .map(|r| std::fs::canonicalize(&r).unwrap_or_else(|_| normalize(&r)))
            .collect();
        AllowedRoots { roots }
    }

    pub fn add(&mut self, root: &Path) {
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| normalize(root));
        if !self.roots.contains(&root) {
            self.roots.push(root);
        }
    }

    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// The canonical form of `path` if it exists and lies inside an allowed root.
    pub fn check(&self, path: &Path) -> Result<PathBuf, CatalogError> {
        let canonical = std::fs::canonicalize(path).map_err(|e| {
            CatalogError::NotFound(format!("cannot read '{}': {e}", path.display()))
        })?;
        if self.roots.iter().any(|root| canonical.starts_with(root)) {
            Ok(canonical)
        } else {
            Err(CatalogError::Forbidden(format!(
                "'{}' is outside the allowed roots ({}); add its folder to catalog.allowed_roots",
                path.display(),
                self.roots
                    .iter()
                    .map(|r| r.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }

    /// Like `check`, for a path that must stay inside one given root (a git checkout).
    pub fn check_within(root: &Path, path: &Path) -> Result<PathBuf, CatalogError> {
        AllowedRoots::new([root.to_path_buf()]).check(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forge_urls_become_remote_ref_and_path() {
        let t =
            GitTarget::parse("https://github.com/acme/web/blob/main/catalog-info.yaml").unwrap();
        assert_eq!(t.remote, "https://github.com/acme/web.git");
        assert_eq!(t.reference.as_deref(), Some("main"));
        assert_eq!(t.path, "catalog-info.yaml");
        assert_eq!(
            t.target_for("docs/x.yaml"),
            "https://github.com/acme/web/blob/main/docs/x.yaml"
        );
        let g = GitTarget::parse("https://gitlab.example/g/r/-/tree/v1.2/services").unwrap();
        assert_eq!(g.remote, "https://gitlab.example/g/r.git");
        assert_eq!(
            (g.reference.as_deref(), g.path.as_str()),
            (Some("v1.2"), "services")
        );
    }

    #[test]
    fn plain_remotes_with_query() {
        let t = GitTarget::parse("/srv/repos/web.git?ref=v2&path=svc/catalog-info.yaml").unwrap();
        assert_eq!(t.remote, "/srv/repos/web.git");
        assert_eq!(t.reference.as_deref(), Some("v2"));
        assert_eq!(t.path, "svc/catalog-info.yaml");
        assert_eq!(
            t.target_for("a.yaml"),
            "/srv/repos/web.git?ref=v2&path=a.yaml"
        );
        let d = GitTarget::parse("git@git.example:org/repo.git").unwrap();
        assert_eq!(d.path, "catalog-info.yaml");
    }

    #[test]
    fn rejects_escapes_and_option_injection() {
        assert!(GitTarget::parse("--upload-pack=evil").is_err());
        assert!(GitTarget::parse("/r.git?path=../../etc/passwd").is_err());
        assert!(GitTarget::parse("/r.git?ref=--orphan").is_err());
        assert!(GitTarget::parse("relative/repo").is_err());
        assert!(LocationSpec::new("file", "relative.yaml").parse().is_err());
        assert!(LocationSpec::new("ftp", "/x").parse().is_err());
    }

    #[test]
    fn roots_refuse_dotdot_and_symlink_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("ok.yaml"), "a: 1").unwrap();
        std::fs::write(dir.path().join("secret.yaml"), "a: 1").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.yaml"), root.join("link.yaml")).unwrap();
        let roots = AllowedRoots::new([root.clone()]);
        assert!(roots.check(&root.join("ok.yaml")).is_ok());
        assert!(matches!(
            roots.check(&root.join("../secret.yaml")),
            Err(CatalogError::Forbidden(_))
        ));
        assert!(matches!(
            roots.check(&root.join("link.yaml")),
            Err(CatalogError::Forbidden(_))
        ));
    }
}
