//! What gets indexed: an entity (and its API operations) or a documentation page turned into
//! the documents of the index, with the Backstage-shaped document a result returns.

use paved_model::EntityRef;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Result type of catalog entities other than templates.
pub const TYPE_SOFTWARE_CATALOG: &str = "software-catalog";
/// Result type of Template entities.
pub const TYPE_TEMPLATES: &str = "templates";
/// Result type of the operations of OpenAPI definitions.
pub const TYPE_API_OPERATIONS: &str = "api-operations";
/// Result type of documentation pages.
pub const TYPE_TECHDOCS: &str = "techdocs";

/// Every result type, in the order facets list them.
pub const ALL_TYPES: [&str; 4] = [
    TYPE_SOFTWARE_CATALOG,
    TYPE_TEMPLATES,
    TYPE_API_OPERATIONS,
    TYPE_TECHDOCS,
];

/// One page of an entity's documentation, as the docs builder hands it to
/// [`SearchIndex::replace_doc_pages`](crate::SearchIndex::replace_doc_pages).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocPage {
    /// The entity whose documentation this page is.
    pub entity_ref: EntityRef,
    /// The page inside the documentation site (`index.html`, `guide/install/`), with an
    /// anchor when the page is a section (`guide/install/#linux`).
    pub path: String,
    /// Where a reader opens it (a portal URL).
    pub location: String,
    pub title: String,
    pub headings: Vec<String>,
    /// The page's text, markup removed.
    pub text: String,
}

/// Where a document came from: a whole group is replaced or deleted at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The entity itself and its API operations (replaced on every change of the entity).
    Entity(EntityRef),
    /// The entity's documentation pages (replaced when the docs are built).
    Docs(EntityRef),
}

impl Origin {
    /// The indexed key of the group.
    pub(crate) fn key(&self) -> String {
        match self {
            Origin::Entity(entity) => format!("entity:{entity}"),
            Origin::Docs(entity) => format!("docs:{entity}"),
        }
    }
}

/// One document of the index before it is written.
#[derive(Clone, Debug)]
pub(crate) struct IndexedDoc {
    pub id: String,
    pub origin: Origin,
    pub doc_type: &'static str,
    /// The kind as written (facet value); filters compare lower-cased.
    pub kind: String,
    /// The owner as written in `spec.owner` (facet value).
    pub owner: Option<String>,
    /// Lower-cased forms a filter may name the owner by: as written and fully qualified.
    pub owner_keys: Vec<String>,
    pub lifecycle: Option<String>,
    pub namespace: String,
    /// The lower-cased entity name, for the exact-name boost (entity documents only).
    pub name_exact: Option<String>,
    pub name: String,
    pub title: String,
    pub tags: Vec<String>,
    pub headings: Vec<String>,
    /// Everything else searchable: description, annotation values, page text.
    pub text: String,
    /// Name, title and description, for the catalog page's text filter (the entity's own
    /// document only).
    pub entity_text: Option<String>,
    /// What a result shows (Backstage's `document`).
    pub document: Map<String, Value>,
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// `/catalog/<namespace>/<kind>/<name>`, each segment percent-encoded, as the portal links.
pub fn entity_location(entity: &EntityRef) -> String {
    entity.portal_path()
}

/// The facts of an entity every document made from it carries.
#[derive(Clone, Debug)]
pub(crate) struct EntityFacts {
    pub entity_ref: EntityRef,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub title: String,
    pub owner: Option<String>,
    pub owner_keys: Vec<String>,
    pub lifecycle: Option<String>,
}

impl EntityFacts {
    pub(crate) fn from_entity(entity: &Value) -> Option<EntityFacts> {
        let kind = str_at(entity, "/kind")?.to_owned();
        let name = str_at(entity, "/metadata/name")?.to_owned();
        let namespace = str_at(entity, "/metadata/namespace")
            .unwrap_or(paved_model::entity_ref::DEFAULT_NAMESPACE)
            .to_owned();
        let entity_ref = EntityRef::new(&kind, &namespace, &name);
        let owner = str_at(entity, "/spec/owner").map(str::to_owned);
        let mut owner_keys = Vec::new();
        if let Some(owner) = &owner {
            owner_keys.push(owner.to_ascii_lowercase());
            let defaults = paved_model::entity_ref::RefDefaults {
                kind: Some("group"),
                namespace: &namespace,
            };
            if let Ok(full) = EntityRef::parse(owner, defaults) {
                let full = full.to_string();
                if !owner_keys.contains(&full) {
                    owner_keys.push(full);
                }
            }
        }
        Some(EntityFacts {
            title: str_at(entity, "/metadata/title")
                .map(str::to_owned)
                .unwrap_or_else(|| name.clone()),
            lifecycle: str_at(entity, "/spec/lifecycle").map(str::to_owned),
            entity_ref,
            kind,
            namespace,
            name,
            owner,
            owner_keys,
        })
    }

    /// The fields of Backstage's catalog document every result of this entity has.
    fn base_document(&self, title: &str, text: &str, location: &str) -> Map<String, Value> {
        let mut document = Map::new();
        document.insert("title".into(), json!(title));
        document.insert("text".into(), json!(text));
        document.insert("location".into(), json!(location));
        document.insert("kind".into(), json!(self.kind));
        document.insert("namespace".into(), json!(self.namespace));
        document.insert("name".into(), json!(self.name));
        document.insert(
            "owner".into(),
            json!(self.owner.clone().unwrap_or_default()),
        );
        document.insert(
            "lifecycle".into(),
            json!(self.lifecycle.clone().unwrap_or_default()),
        );
        document
    }
}

/// The documents of one entity: the entity itself and, for an API with an OpenAPI definition,
/// one per operation. `None` when the entity lacks a kind or a name.
pub(crate) fn entity_documents(entity: &Value) -> Option<Vec<IndexedDoc>> {
    let facts = EntityFacts::from_entity(entity)?;
    let origin = Origin::Entity(facts.entity_ref.clone());
    let description = str_at(entity, "/metadata/description").unwrap_or_default();
    let spec_type = str_at(entity, "/spec/type");
    let tags: Vec<String> = entity
        .pointer("/metadata/tags")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let mut text = description.to_owned();
    if let Some(annotations) = entity
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
    {
        for value in annotations.values().filter_map(Value::as_str) {
            text.push('\n');
            text.push_str(value);
        }
    }
    let location = entity_location(&facts.entity_ref);
    let mut document = facts.base_document(&facts.title, description, &location);
    document.insert("type".into(), json!(spec_type.unwrap_or_default()));
    document.insert("componentType".into(), json!(spec_type.unwrap_or_default()));
    document.insert("tags".into(), json!(tags));
    let doc_type = if facts.kind.eq_ignore_ascii_case("template") {
        TYPE_TEMPLATES
    } else {
        TYPE_SOFTWARE_CATALOG
    };
    let mut docs = vec![IndexedDoc {
        id: format!("entity:{}", facts.entity_ref),
        origin: origin.clone(),
        doc_type,
        kind: facts.kind.clone(),
        owner: facts.owner.clone(),
        owner_keys: facts.owner_keys.clone(),
        lifecycle: facts.lifecycle.clone(),
        namespace: facts.namespace.clone(),
        name_exact: Some(facts.name.to_ascii_lowercase()),
        name: facts.name.clone(),
        title: facts.title.clone(),
        tags,
        headings: Vec::new(),
        text,
        entity_text: Some(
            [
                facts.name.as_str(),
                str_at(entity, "/metadata/title").unwrap_or_default(),
                description,
            ]
            .join("\n"),
        ),
        document,
    }];
    if facts.kind.eq_ignore_ascii_case("api")
        && let Some(definition) = str_at(entity, "/spec/definition")
        && matches!(
            spec_type.map(str::to_ascii_lowercase).as_deref(),
            Some("openapi" | "swagger")
        )
    {
        docs.extend(operation_documents(&facts, &origin, definition));
    }
    Some(docs)
}

fn operation_documents(facts: &EntityFacts, origin: &Origin, definition: &str) -> Vec<IndexedDoc> {
    let definition_location = format!("{}/definition", entity_location(&facts.entity_ref));
    paved_render::apidef::openapi_operations(definition)
        .into_iter()
        .map(|operation| {
            let title = format!("{} {}", operation.method, operation.path);
            let mut text = operation.summary.clone().unwrap_or_default();
            if let Some(description) = &operation.description {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(description);
            }
            let location = format!("{definition_location}#{}", operation.anchor);
            let mut document = facts.base_document(&title, &text, &location);
            document.insert("method".into(), json!(operation.method));
            document.insert("path".into(), json!(operation.path));
            document.insert(
                "operationId".into(),
                json!(operation.operation_id.clone().unwrap_or_default()),
            );
            document.insert("api".into(), json!(facts.title));
            IndexedDoc {
                id: format!("op:{}#{}", facts.entity_ref, operation.anchor),
                origin: origin.clone(),
                doc_type: TYPE_API_OPERATIONS,
                kind: facts.kind.clone(),
                owner: facts.owner.clone(),
                owner_keys: facts.owner_keys.clone(),
                lifecycle: facts.lifecycle.clone(),
                namespace: facts.namespace.clone(),
                name_exact: None,
                name: operation.operation_id.unwrap_or_default(),
                title,
                tags: vec![facts.name.clone()],
                headings: Vec::new(),
                text,
                entity_text: None,
                document,
            }
        })
        .collect()
}

/// The documents of an entity's documentation pages. `facts` are the entity's when it is
/// indexed (owner, kind as written); otherwise what the reference says.
pub(crate) fn page_documents(
    entity_ref: &EntityRef,
    facts: Option<&EntityFacts>,
    pages: Vec<DocPage>,
) -> Vec<IndexedDoc> {
    let fallback;
    let facts = match facts {
        Some(facts) => facts,
        None => {
            fallback = EntityFacts {
                entity_ref: entity_ref.clone(),
                kind: entity_ref.kind().to_owned(),
                namespace: entity_ref.namespace().to_owned(),
                name: entity_ref.name().to_owned(),
                title: entity_ref.name().to_owned(),
                owner: None,
                owner_keys: Vec::new(),
                lifecycle: None,
            };
            &fallback
        }
    };
    let origin = Origin::Docs(entity_ref.clone());
    pages
        .into_iter()
        .map(|page| {
            let snippet_text: String = page.text.chars().take(400).collect();
            let mut document = facts.base_document(&page.title, &snippet_text, &page.location);
            document.insert("path".into(), json!(page.path));
            document.insert("entityTitle".into(), json!(facts.title));
            IndexedDoc {
                id: format!("page:{}#{}", entity_ref, page.path),
                origin: origin.clone(),
                doc_type: TYPE_TECHDOCS,
                kind: facts.kind.clone(),
                owner: facts.owner.clone(),
                owner_keys: facts.owner_keys.clone(),
                lifecycle: facts.lifecycle.clone(),
                namespace: facts.namespace.clone(),
                name_exact: None,
                name: String::new(),
                title: page.title,
                tags: Vec::new(),
                headings: page.headings,
                text: page.text,
                entity_text: None,
                document,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_openapi_entity_gives_one_document_per_operation() {
        let entity = json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "API",
            "metadata": {"name": "pets", "namespace": "shop", "tags": ["animals"]},
            "spec": {"type": "openapi", "owner": "team-a", "lifecycle": "production",
                "definition": "openapi: 3.0.0\ninfo: {title: Pets, version: '1'}\npaths:\n  /pets:\n    get:\n      operationId: listPets\n      summary: List all pets\n"}
        });
        let docs = entity_documents(&entity).expect("documents");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].doc_type, TYPE_SOFTWARE_CATALOG);
        assert_eq!(docs[0].owner_keys, vec!["team-a", "group:shop/team-a"]);
        assert_eq!(docs[1].doc_type, TYPE_API_OPERATIONS);
        assert_eq!(docs[1].title, "GET /pets");
        assert_eq!(
            docs[1].document["location"],
            "/catalog/shop/api/pets/definition#op-listPets"
        );
    }

    #[test]
    fn an_entity_without_a_name_gives_nothing() {
        assert!(entity_documents(&json!({"kind": "Component", "metadata": {}})).is_none());
    }
}
