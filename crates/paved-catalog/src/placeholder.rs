//! Backstage's placeholders — `$text`, `$json`, `$yaml` — resolved relative to the file that
//! holds them, confined to that file's root.

use paved_model::Diagnostic;
use paved_model::yaml::{YamlLimits, parse_single};
use serde_json::Value;
use std::path::Path;

/// Where placeholder targets may be read from.
pub struct PlaceholderContext<'a> {
    /// Folder of the file being processed.
    pub base_dir: &'a Path,
    /// Folder nothing may escape (an allowed root, or a git checkout).
    pub root: &'a Path,
    /// Name used in diagnostics for the file being processed.
    pub file: &'a str,
    pub limits: &'a YamlLimits,
}

/// What resolving the placeholders of one document found.
#[derive(Debug, Default)]
pub struct PlaceholderOutcome {
    /// Errors for placeholders that cannot be resolved locally (missing file, escape, parse
    /// failure, unknown `$name`), and a warning for each remote URL, which paved does not fetch
    /// during ingestion (no outbound requests unless configured).
    pub diagnostics: Vec<Diagnostic>,
    /// Field paths still holding a placeholder (remote URLs), so validation can accept them.
    pub unresolved: Vec<String>,
}

/// Replaces every placeholder in `value` that names a file of its root.
pub fn resolve_placeholders(
    value: &mut Value,
    context: &PlaceholderContext<'_>,
) -> PlaceholderOutcome {
    let mut outcome = PlaceholderOutcome::default();
    let mut path = String::new();
    walk(value, &mut path, context, &mut outcome, 0);
    outcome
}

fn placeholder(value: &Value) -> Option<(&str, &Value)> {
    let map = value.as_object()?;
    if map.len() != 1 {
        return None;
    }
    let (key, inner) = map.iter().next()?;
    key.starts_with('$').then_some((key.as_str(), inner))
}

fn walk(
    value: &mut Value,
    path: &mut String,
    context: &PlaceholderContext<'_>,
    outcome: &mut PlaceholderOutcome,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    if let Some((name, target)) = placeholder(value) {
        let name = name.to_string();
        let target = target.clone();
        match resolve_one(&name, &target, path, context, &mut outcome.diagnostics) {
            Some(resolved) => *value = resolved,
            None => outcome.unresolved.push(path.clone()),
        }
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                walk(child, path, context, outcome, depth + 1);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(child, path, context, outcome, depth + 1);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn resolve_one(
    name: &str,
    target: &Value,
    path: &str,
    context: &PlaceholderContext<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Value> {
    let error = |message: String| Diagnostic::error(message).with_field(path.to_string());
    if !matches!(name, "$text" | "$json" | "$yaml") {
        diagnostics.push(error(format!(
            "placeholder {name} is not supported; use $text, $json or $yaml"
        )));
        return None;
    }
    let Some(target) = target.as_str() else {
        diagnostics.push(error(format!(
            "placeholder {name} must name a file or URL as a string"
        )));
        return None;
    };
    if target.starts_with("http://") || target.starts_with("https://") {
        diagnostics.push(
            Diagnostic::warning(format!(
                "{name} {target} was not fetched: paved reads placeholders from the location's own files; \
                 the field keeps the placeholder"
            ))
            .with_field(path.to_string()),
        );
        return None;
    }
    let candidate = context.base_dir.join(target);
    let file = match crate::location::AllowedRoots::check_within(context.root, &candidate) {
        Ok(file) => file,
        Err(e) => {
            diagnostics.push(error(format!("{name} {target}: {e}")));
            return None;
        }
    };
    let bytes = match std::fs::metadata(&file) {
        Ok(meta) if meta.len() as usize > context.limits.max_bytes => {
            diagnostics.push(error(format!(
                "{name} {target} is {} bytes, over the limit of {}",
                meta.len(),
                context.limits.max_bytes
            )));
            return None;
        }
        Ok(_) => match std::fs::read(&file) {
            Ok(bytes) => bytes,
            Err(e) => {
                diagnostics.push(error(format!("{name} {target}: cannot read: {e}")));
                return None;
            }
        },
        Err(e) => {
            diagnostics.push(error(format!("{name} {target}: cannot read: {e}")));
            return None;
        }
    };
    match name {
        "$text" => match String::from_utf8(bytes) {
            Ok(text) => Some(Value::String(text)),
            Err(_) => {
                diagnostics.push(error(format!("{name} {target} is not UTF-8 text")));
                None
            }
        },
        _ => match parse_single(&bytes, &file.display().to_string(), context.limits) {
            Ok(value) => Some(value),
            Err(d) => {
                diagnostics.push(error(format!("{name} {target}: {}", d.message)));
                None
            }
        },
    }
}
