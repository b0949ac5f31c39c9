//! The edit-and-refresh measurement: one generated file gets a new description for one
//! component, `POST /api/catalog/refresh` names that component, and the harness polls until
//! the new description is served. The file is put back as it was afterwards (the catalog is
//! cached between runs), whatever happens.

use crate::catalog::Catalog;
use crate::http::{Connection, encode_component};
use crate::report::EditRefreshFigures;
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Puts a file's original text back when dropped.
pub(crate) struct Restore {
    pub(crate) path: PathBuf,
    pub(crate) original: String,
}

impl Drop for Restore {
    fn drop(&mut self) {
        if let Err(error) = std::fs::write(&self.path, &self.original) {
            eprintln!(
                "error: could not restore {} after editing it: {error}",
                self.path.display()
            );
        }
    }
}

/// The generated file holding component `name`, and its text.
pub(crate) fn file_of(catalog: &Catalog, name: &str) -> Result<(PathBuf, String)> {
    let needle = format!("\n  name: {name}\n");
    for file in &catalog.expectations.files {
        let path = catalog.dir.join(file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        if text.contains(&needle) {
            return Ok((path, text));
        }
    }
    bail!("no generated file defines component {name}")
}

/// `text` with the description of the document naming `name` replaced by (or given)
/// `description`. gen-catalog writes `name:` then `description:` under `metadata:`.
pub(crate) fn with_description(text: &str, name: &str, description: &str) -> Option<String> {
    let name_line = format!("\n  name: {name}\n");
    let start = text.find(&name_line)? + name_line.len();
    let document_end = text[start..]
        .find("\n---")
        .map_or(text.len(), |i| start + i);
    let line = format!("  description: {description}\n");
    match text[start..document_end].find("  description: ") {
        Some(offset) if offset == 0 || text[..start + offset].ends_with('\n') => {
            let from = start + offset;
            let to = text[from..].find('\n').map_or(text.len(), |i| from + i + 1);
            Some(format!("{}{line}{}", &text[..from], &text[to..]))
        }
        _ => Some(format!("{}{line}{}", &text[..start], &text[start..])),
    }
}

/// Edits one component's description in its file, asks paved to refresh that entity and
/// waits until the new description is served.
pub async fn measure(
    address: SocketAddr,
    catalog: &Catalog,
    timeout: Duration,
) -> Result<EditRefreshFigures> {
    let Some(name) = catalog.expectations.components.first() else {
        bail!("expectations.json names no component to edit");
    };
    let (path, original) = file_of(catalog, name)?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let description = format!("edited by paved-bench {nanos}");
    let Some(edited) = with_description(&original, name, &description) else {
        bail!("component {name} not found in {}", path.display());
    };
    let restore = Restore {
        path: path.clone(),
        original,
    };
    std::fs::write(&path, edited).with_context(|| format!("writing {}", path.display()))?;

    let entity_ref = format!("component:default/{name}");
    let by_name = format!(
        "/api/catalog/entities/by-name/component/default/{}",
        encode_component(name)
    );
    let mut connection = Connection::new(address, timeout);
    let started = Instant::now();
    let (status, body) = connection
        .post_json(
            "/api/catalog/refresh",
            serde_json::json!({ "entityRef": entity_ref }).to_string(),
        )
        .await?;
    let seconds_to_refresh_answer = started.elapsed().as_secs_f64();
    if !status.is_success() {
        bail!(
            "POST /api/catalog/refresh answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let seconds_to_visible = loop {
        let (status, body) = connection.get(&by_name).await?;
        if status.is_success() {
            let entity: Value = serde_json::from_slice(&body)
                .with_context(|| format!("parsing the answer to GET {by_name}"))?;
            if entity["metadata"]["description"].as_str() == Some(description.as_str()) {
                break started.elapsed().as_secs_f64();
            }
        }
        if started.elapsed() > timeout {
            bail!("the edited description of {entity_ref} was not served within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    drop(restore);
    Ok(EditRefreshFigures {
        entity_ref,
        file: display_name(&path),
        seconds_to_refresh_answer,
        seconds_to_visible,
    })
}

fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::with_description;

    const FILE: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: a\n  description: The a service\nspec:\n  type: service\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: b\nspec:\n  type: service\n";

    #[test]
    fn replaces_the_description_of_the_named_document_only() {
        let edited = with_description(FILE, "a", "new").unwrap();
        assert!(edited.contains("  name: a\n  description: new\nspec:"));
        assert!(!edited.contains("The a service"));
        assert!(edited.ends_with("  name: b\nspec:\n  type: service\n"));
    }

    #[test]
    fn adds_a_description_where_there_is_none() {
        let edited = with_description(FILE, "b", "new").unwrap();
        assert!(edited.contains("  name: b\n  description: new\nspec:"));
        assert!(edited.contains("  description: The a service\n"));
        assert_eq!(with_description(FILE, "c", "new"), None);
    }
}
