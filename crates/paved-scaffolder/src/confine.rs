//! Confinement of the scaffolder's file access: every path a template or an action names is
//! relative to a root (the template's folder, the task's workspace) and must stay inside it —
//! no absolute paths, no `..` that climbs out, no symbolic link that leads out.

use std::path::{Component, Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PathEscape(pub String);

/// `root/relative`, refused when `relative` is absolute, climbs above `root`, or passes through
/// a symbolic link (existing or not yet created parts are both checked) that resolves outside.
pub fn resolve_inside(root: &Path, relative: &str) -> Result<PathBuf, PathEscape> {
    let refuse = |why: &str| PathEscape(format!("path '{relative}' {why}"));
    if relative.contains('\0') {
        return Err(refuse("contains a NUL byte"));
    }
    let rel = Path::new(relative);
    let mut clean = PathBuf::new();
    for component in rel.components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !clean.pop() {
                    return Err(refuse(
                        "is outside of the allowed folder (it climbs above it with '..')",
                    ));
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(refuse("must be relative, not absolute"));
            }
        }
    }
    let joined = root.join(&clean);
    check_no_link_escape(root, &joined)
        .map_err(|_| refuse("leads outside of the allowed folder through a symbolic link"))?;
    Ok(joined)
}

/// Refuses `path` (inside `root` lexically) when one of its existing ancestors (or itself)
/// resolves outside `root`.
pub fn check_no_link_escape(root: &Path, path: &Path) -> Result<(), PathEscape> {
    if root.symlink_metadata().is_err() {
        // Nothing exists below a root that does not exist yet; the root itself is checked
        // against its own parent root by the caller.
        return Ok(());
    }
    let canonical_root = root
        .canonicalize()
        .map_err(|e| PathEscape(format!("cannot resolve {}: {e}", root.display())))?;
    let mut probe = path.to_path_buf();
    loop {
        if probe.symlink_metadata().is_ok() {
            let resolved = probe
                .canonicalize()
                // A dangling link: where it points is unknown, so it is refused.
                .map_err(|_| PathEscape(format!("{} is a dangling link", probe.display())))?;
            if !resolved.starts_with(&canonical_root) {
                return Err(PathEscape(format!(
                    "{} resolves outside of {}",
                    path.display(),
                    root.display()
                )));
            }
            return Ok(());
        }
        if !probe.pop() || !probe.starts_with(root) {
            return Ok(());
        }
    }
}

/// Whether `path`, with `.` and `..` applied (no file system access), stays inside `root`.
pub fn lexically_inside(root: &Path, path: &Path) -> bool {
    let mut clean = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                if !clean.pop() {
                    return false;
                }
            }
            Component::CurDir => {}
            other => clean.push(other.as_os_str()),
        }
    }
    clean.starts_with(root)
}

/// A path relative to `root`, `/`-separated (for logs and dry-run listings).
pub fn relative_display(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("a")).unwrap();
        assert_eq!(
            resolve_inside(&root, "a/../b/c.txt").unwrap(),
            root.join("b/c.txt")
        );
        assert_eq!(resolve_inside(&root, "./").unwrap(), root);
        assert!(
            resolve_inside(&root, "../x")
                .unwrap_err()
                .0
                .contains("climbs")
        );
        assert!(resolve_inside(&root, "a/../../x").is_err());
        assert!(
            resolve_inside(&root, "/etc/passwd")
                .unwrap_err()
                .0
                .contains("absolute")
        );
        std::os::unix::fs::symlink("/etc", root.join("out")).unwrap();
        assert!(
            resolve_inside(&root, "out/passwd")
                .unwrap_err()
                .0
                .contains("symbolic link")
        );
        assert!(resolve_inside(&root, "out/new/file").is_err());
        std::os::unix::fs::symlink(root.join("a"), root.join("in")).unwrap();
        assert!(resolve_inside(&root, "in/file").is_ok());
    }
}
