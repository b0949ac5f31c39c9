//! Processing one YAML document into a validated entity with its relations — or into
//! diagnostics that name the file, line, column and field.

use crate::placeholder::{PlaceholderContext, resolve_placeholders};
use paved_model::entity::annotation;
use paved_model::relations::emit_relations;
use paved_model::validation::{is_valid_entity_name, validate_entity};
use paved_model::yaml::{YamlDocument, YamlLimits};
use paved_model::{Diagnostic, Entity, EntityRef, ProcessedEntity, SourcePosition};
use serde_json::Value;
use std::path::Path;

/// What processing needs to know about the file a document came from.
pub struct FileContext<'a> {
    /// The file's name in diagnostics and as the entity's source (a path or a URL).
    pub display: &'a str,
    /// `backstage.io/managed-by-location` for entities of this file (`file:/…`, `url:…`).
    pub managed_by: &'a str,
    /// `backstage.io/managed-by-origin-location`: the registered location it came through.
    pub origin: &'a str,
    pub base_dir: &'a Path,
    pub root: &'a Path,
    pub limits: &'a YamlLimits,
}

/// A Location entity's targets, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildTargets {
    pub location: EntityRef,
    pub kind: Option<String>,
    pub targets: Vec<String>,
    pub line: u32,
}

/// The outcome of one document.
#[derive(Debug)]
pub enum DocumentOutcome {
    Accepted {
        processed: Box<ProcessedEntity>,
        children: Option<ChildTargets>,
    },
    /// Invalid. `entity_ref` is set when the document names a valid entity, so its previous
    /// version can be kept and the errors shown on it.
    Rejected {
        entity_ref: Option<EntityRef>,
        errors: Vec<Diagnostic>,
    },
}

pub fn process_document(document: YamlDocument, context: &FileContext<'_>) -> DocumentOutcome {
    let YamlDocument {
        mut value,
        line,
        column,
        spans,
    } = document;
    let locate = |d: Diagnostic| -> Diagnostic {
        let (l, c) = d
            .field
            .as_deref()
            .and_then(|f| spans.position(f))
            .unwrap_or((line, column));
        d.with_file(context.display.to_string()).at(l, c)
    };
    let Value::Object(_) = value else {
        return DocumentOutcome::Rejected {
            entity_ref: None,
            errors: vec![locate(Diagnostic::error(
                "document is not a mapping; expected an entity with apiVersion, kind, metadata",
            ))],
        };
    };
    let placeholder_context = PlaceholderContext {
        base_dir: context.base_dir,
        root: context.root,
        file: context.display,
        limits: context.limits,
    };
    let placeholders = resolve_placeholders(&mut value, &placeholder_context);
    let (mut diagnostics, unresolved) = (placeholders.diagnostics, placeholders.unresolved);
    diagnostics.extend(validate_entity(&value).into_iter().filter(|d| {
        // A field holding an unfetched remote placeholder is reported once, as a warning.
        !d.field.as_deref().is_some_and(|f| {
            unresolved
                .iter()
                .any(|p| f == p || f.starts_with(&format!("{p}.")))
        })
    }));
    let named_ref = entity_ref_of(&value);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return DocumentOutcome::Rejected {
            entity_ref: named_ref,
            errors: diagnostics.into_iter().map(locate).collect(),
        };
    }
    let Value::Object(object) = value else {
        // A document that is one placeholder (`$text: ./x`) resolves to a non-object.
        return DocumentOutcome::Rejected {
            entity_ref: None,
            errors: vec![locate(Diagnostic::error(
                "document is a placeholder, not an entity; expected apiVersion, kind, metadata",
            ))],
        };
    };
    let mut entity = Entity::from_object(object);
    entity.set_annotation(annotation::MANAGED_BY_LOCATION, context.managed_by);
    entity.set_annotation(annotation::MANAGED_BY_ORIGIN_LOCATION, context.origin);
    entity.remove_annotation(annotation::ORPHAN);
    let (relations, relation_errors) = emit_relations(&entity);
    diagnostics.extend(relation_errors);
    let entity_ref = entity.entity_ref();
    if diagnostics.iter().any(Diagnostic::is_error) {
        return DocumentOutcome::Rejected {
            entity_ref: Some(entity_ref),
            errors: diagnostics.into_iter().map(locate).collect(),
        };
    }
    let children = location_targets(&entity, &entity_ref, line);
    DocumentOutcome::Accepted {
        processed: Box::new(ProcessedEntity {
            entity_ref,
            entity,
            relations,
            source: SourcePosition {
                file: context.display.to_string(),
                line,
                column,
            },
            warnings: diagnostics.into_iter().map(locate).collect(),
        }),
        children,
    }
}

/// The ref a document names, when its kind and name are well-formed.
fn entity_ref_of(value: &Value) -> Option<EntityRef> {
    let kind = value.get("kind")?.as_str()?;
    let metadata = value.get("metadata")?;
    let name = metadata.get("name")?.as_str()?;
    let namespace = match metadata.get("namespace") {
        None => paved_model::entity_ref::DEFAULT_NAMESPACE,
        Some(v) => v.as_str()?,
    };
    (!kind.is_empty() && is_valid_entity_name(name)).then(|| EntityRef::new(kind, namespace, name))
}

fn location_targets(entity: &Entity, entity_ref: &EntityRef, line: u32) -> Option<ChildTargets> {
    if !entity.kind().eq_ignore_ascii_case("location") {
        return None;
    }
    let spec = entity.spec()?;
    let mut targets = Vec::new();
    if let Some(t) = spec.get("target").and_then(Value::as_str) {
        targets.push(t.to_string());
    }
    if let Some(list) = spec.get("targets").and_then(Value::as_array) {
        targets.extend(list.iter().filter_map(Value::as_str).map(str::to_string));
    }
    Some(ChildTargets {
        location: entity_ref.clone(),
        kind: spec.get("type").and_then(Value::as_str).map(str::to_string),
        targets,
        line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use paved_model::yaml::parse_documents;

    #[test]
    fn a_document_that_is_one_placeholder_is_rejected_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.txt"), "hello").unwrap();
        let limits = YamlLimits::default();
        let (documents, _) = parse_documents(b"$text: ./x.txt\n", "doc.yaml", &limits);
        let context = FileContext {
            display: "doc.yaml",
            managed_by: "file:/doc.yaml",
            origin: "file:/doc.yaml",
            base_dir: dir.path(),
            root: dir.path(),
            limits: &limits,
        };
        let outcome = process_document(documents.into_iter().next().unwrap(), &context);
        let DocumentOutcome::Rejected { entity_ref, errors } = outcome else {
            panic!("accepted a string as an entity");
        };
        assert_eq!(entity_ref, None);
        assert!(
            errors
                .iter()
                .any(|d| d.is_error() && d.file.as_deref() == Some("doc.yaml"))
        );
    }
}
