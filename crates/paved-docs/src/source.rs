//! Where an entity's documentation lives: `backstage.io/techdocs-ref` (`dir:<path>` relative to
//! the file that defines the entity, or `url:<git location>`), resolved with the catalog's own
//! confinement: file reads stay inside the allowed roots, git reads inside the checkout.

use crate::error::DocsError;
use paved_catalog::git::{GitSettings, checkout};
use paved_catalog::location::{GitTarget, clean_repo_path};
use paved_catalog::{AllowedRoots, CatalogError};
use paved_model::entity::annotation;
use serde_json::Value;
use std::path::{Path, PathBuf};

pub const TECHDOCS_REF: &str = "backstage.io/techdocs-ref";

/// An entity's `backstage.io/techdocs-ref`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TechDocsRef {
    /// `dir:<path>`, relative to the entity's own file.
    Dir(String),
    /// `url:<git location>`.
    Url(String),
}

/// The entity's techdocs-ref, `None` when it has none.
pub fn techdocs_ref(entity: &Value) -> Option<Result<TechDocsRef, DocsError>> {
    let value = entity["metadata"]["annotations"][TECHDOCS_REF].as_str()?;
    let value = value.trim();
    Some(if let Some(dir) = value.strip_prefix("dir:") {
        Ok(TechDocsRef::Dir(dir.trim().to_string()))
    } else if let Some(url) = value.strip_prefix("url:") {
        Ok(TechDocsRef::Url(url.trim().to_string()))
    } else {
        Err(DocsError::InvalidRef {
            value: value.to_string(),
            why: "expected dir:<path> or url:<git location>".into(),
        })
    })
}

/// Where reads may go.
#[derive(Clone, Debug)]
pub struct SourceAccess {
    pub roots: AllowedRoots,
    pub git: GitSettings,
}

/// The folder holding the entity's `mkdocs.yml` (or README.md), confined. `url` locations and
/// refs are checked out first.
pub async fn resolve_source(entity: &Value, access: &SourceAccess) -> Result<PathBuf, DocsError> {
    let reference = techdocs_ref(entity).ok_or(DocsError::NoTechDocsRef)??;
    match reference {
        TechDocsRef::Dir(dir) => {
            let managed = entity["metadata"]["annotations"][annotation::MANAGED_BY_LOCATION]
                .as_str()
                .ok_or_else(|| DocsError::InvalidRef {
                    value: format!("dir:{dir}"),
                    why: "the entity has no backstage.io/managed-by-location to be relative to"
                        .into(),
                })?;
            if let Some(file) = managed.strip_prefix("file:") {
                local_folder(file, &dir, &access.roots)
            } else if let Some(url) = managed.strip_prefix("url:") {
                let target = GitTarget::parse(url)?;
                let repo = checkout(&access.git, &target).await?;
                let file_dir = match target.path.rsplit_once('/') {
                    Some((folder, _)) => folder.to_string(),
                    None => String::new(),
                };
                let relative = clean_repo_path(&format!("{file_dir}/{dir}")).ok_or_else(|| {
                    DocsError::Escape {
                        path: format!("dir:{dir}"),
                    }
                })?;
                within_checkout(&repo, &relative)
            } else {
                Err(DocsError::InvalidRef {
                    value: format!("dir:{dir}"),
                    why: format!("the entity's location '{managed}' is neither file: nor url:"),
                })
            }
        }
        TechDocsRef::Url(url) => {
            let target = GitTarget::parse(&url)?;
            // The annotation is written by whoever writes the entity: a repository on this
            // machine must be inside the allowed roots, like a file location.
            if let Some(repository) = target.local_repository() {
                access.roots.check(&repository)?;
            }
            let repo = checkout(&access.git, &target).await?;
            // Without a path the target names catalog-info.yaml; docs want the folder.
            let path = target.path.as_str();
            let relative = if path.ends_with(".yaml") || path.ends_with(".yml") {
                path.rsplit_once('/').map_or("", |(folder, _)| folder)
            } else {
                path
            };
            within_checkout(&repo, relative)
        }
    }
}

/// The folder `dir:<dir>` names next to the file location `file`, confined to the roots.
fn local_folder(file: &str, dir: &str, roots: &AllowedRoots) -> Result<PathBuf, DocsError> {
    let file = Path::new(file);
    let folder = file.parent().unwrap_or(file);
    let wanted = paved_catalog::location::normalize(&folder.join(dir));
    let canonical = roots.check(&wanted)?;
    if !canonical.is_dir() {
        return Err(DocsError::NoSource {
            path: wanted.display().to_string(),
        });
    }
    Ok(canonical)
}

/// The source folder of an entity whose techdocs-ref is `dir:` next to a file location: the
/// one case a folder can be looked at without fetching anything. `None` for every other
/// entity (git sources, no or invalid techdocs-ref): only a build can tell.
pub fn local_source(entity: &Value, roots: &AllowedRoots) -> Option<Result<PathBuf, DocsError>> {
    let Ok(TechDocsRef::Dir(dir)) = techdocs_ref(entity)? else {
        return None;
    };
    let file = entity["metadata"]["annotations"][annotation::MANAGED_BY_LOCATION]
        .as_str()?
        .strip_prefix("file:")?;
    Some(local_folder(file, &dir, roots))
}

fn within_checkout(repo: &Path, relative: &str) -> Result<PathBuf, DocsError> {
    let wanted = repo.join(relative);
    let canonical = AllowedRoots::check_within(repo, &wanted).map_err(|e| match e {
        CatalogError::Forbidden(_) => DocsError::Escape {
            path: relative.to_string(),
        },
        other => DocsError::Source(other),
    })?;
    if !canonical.is_dir() {
        return Err(DocsError::NoSource {
            path: relative.to_string(),
        });
    }
    Ok(canonical)
}
