//! `catalog:register`, `catalog:write`, `catalog:fetch`: the catalog side of a new project.

use super::{Action, ActionContext, ActionError, io_error};
use crate::confine::resolve_inside;
use async_trait::async_trait;
use serde_json::{Value, json};

fn catalog(
    ctx: &ActionContext<'_>,
) -> Result<std::sync::Arc<dyn super::CatalogAccess>, ActionError> {
    ctx.services.catalog.clone().ok_or_else(|| {
        ActionError::Invalid(
            "this action needs a catalog: run the template on a paved server (--server)".into(),
        )
    })
}

/// `repoContentsUrl` + `catalogInfoPath` → a location target: forge URLs get the path
/// appended, plain remotes get `path=`.
pub fn catalog_info_target(repo_contents_url: &str, catalog_info_path: &str) -> String {
    let path = catalog_info_path.trim_start_matches('/');
    if repo_contents_url.contains("/blob/") || repo_contents_url.contains("/tree/") {
        format!("{}/{path}", repo_contents_url.trim_end_matches('/'))
    } else if repo_contents_url.contains('?') {
        format!("{repo_contents_url}&path={path}")
    } else {
        format!("{repo_contents_url}?path={path}")
    }
}

pub struct Register;

#[async_trait]
impl Action for Register {
    fn id(&self) -> &'static str {
        "catalog:register"
    }
    fn description(&self) -> &'static str {
        "Registers entities from a catalog descriptor file in the workspace into the software catalog."
    }
    fn input_schema(&self) -> Value {
        json!({
            "oneOf": [
                {
                    "type": "object",
                    "required": ["catalogInfoUrl"],
                    "properties": {
                        "catalogInfoUrl": { "title": "Catalog Info URL", "description": "An absolute URL (or git location) pointing to the catalog info file location", "type": "string" },
                        "optional": { "title": "Optional", "description": "Permit the registered location to optionally exist. Default: false", "type": "boolean" },
                    },
                },
                {
                    "type": "object",
                    "required": ["repoContentsUrl"],
                    "properties": {
                        "repoContentsUrl": { "title": "Repository Contents URL", "description": "An absolute URL pointing to the root of a repository directory tree", "type": "string" },
                        "catalogInfoPath": { "title": "Fetch URL", "description": "A relative path from the repo root pointing to the catalog info file, defaults to /catalog-info.yaml", "type": "string" },
                        "optional": { "title": "Optional", "type": "boolean" },
                    },
                },
            ],
        })
    }
    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["catalogInfoUrl"],
            "properties": {
                "entityRef": { "type": "string" },
                "catalogInfoUrl": { "type": "string" },
            },
        })
    }
    async fn run(&self, ctx: &mut ActionContext<'_>) -> Result<(), ActionError> {
        let catalog = catalog(ctx)?;
        let target = match (
            ctx.str_input("catalogInfoUrl"),
            ctx.str_input("repoContentsUrl"),
        ) {
            (Some(url), _) => url.to_string(),
            (None, Some(contents)) => catalog_info_target(
                contents,
                ctx.str_input("catalogInfoPath")
                    .unwrap_or("/catalog-info.yaml"),
            ),
            (None, None) => {
                return Err(ActionError::Invalid(
                    "catalogInfoUrl or repoContentsUrl is required".into(),
                ));
            }
        };
        ctx.info(format!("Registering {target} in the catalog"));
        match catalog.register_location(&target).await {
            Ok(refs) => {
                // Backstage prefers the first entity that is not a Location.
                let entity_ref = refs
                    .iter()
                    .find(|r| !r.starts_with("location:"))
                    .or(refs.first())
                    .cloned();
                if let Some(entity_ref) = entity_ref {
                    ctx.output("entityRef", json!(entity_ref));
                }
                ctx.output("catalogInfoUrl", json!(target));
                Ok(())
            }
            Err(e) if ctx.bool_input("optional") => {
                ctx.info(format!("Could not register {target} (optional): {e}"));
                ctx.output("catalogInfoUrl", json!(target));
                Ok(())
            }
            Err(e) => Err(ActionError::Failed(format!(
                "cannot register {target}: {e}"
            ))),
        }
    }
}

pub struct Write;

#[async_trait]
impl Action for Write {
    fn id(&self) -> &'static str {
        "catalog:write"
    }
    fn description(&self) -> &'static str {
        "Writes the catalog-info.yaml for your template"
    }
    fn supports_dry_run(&self) -> bool {
        true
    }
    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["entity"],
            "properties": {
                "filePath": { "title": "Catalog file path", "description": "Defaults to catalog-info.yaml", "type": "string" },
                "entity": { "title": "Entity info to write catalog-info.yaml", "description": "You can provide the same values used in the Entity schema.", "type": "object" },
            },
        })
    }
    async fn run(&self, ctx: &mut ActionContext<'_>) -> Result<(), ActionError> {
        let file = ctx
            .str_input("filePath")
            .unwrap_or("catalog-info.yaml")
            .to_string();
        let path = resolve_inside(ctx.workspace, &file)?;
        let entity = ctx.input.get("entity").cloned().unwrap_or(Value::Null);
        let yaml = serde_saphyr::to_string(&entity)
            .map_err(|e| ActionError::Failed(format!("cannot write the entity as YAML: {e}")))?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io_error("cannot create", parent, e))?;
        }
        std::fs::write(&path, yaml).map_err(|e| io_error("cannot write", &path, e))?;
        ctx.info(format!("Wrote {file}"));
        Ok(())
    }
}

pub struct Fetch;

#[async_trait]
impl Action for Fetch {
    fn id(&self) -> &'static str {
        "catalog:fetch"
    }
    fn description(&self) -> &'static str {
        "Returns entity or entities from the catalog by entity reference(s)"
    }
    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "entityRef": { "type": "string", "description": "Entity reference of the entity to get" },
                "entityRefs": { "type": "array", "items": { "type": "string" }, "description": "Entity references of the entities to get" },
                "optional": { "type": "boolean", "description": "Allow the entity or entities to optionally exist. Default: false" },
                "defaultKind": { "type": "string", "description": "The default kind" },
                "defaultNamespace": { "type": "string", "description": "The default namespace" },
            },
        })
    }
    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "entity": { "type": "object", "description": "Object containing same values used in the Entity schema. Only when used with `entityRef` parameter." },
                "entities": { "type": "array", "items": { "type": "object" }, "description": "Array containing objects with same values used in the Entity schema. Only when used with `entityRefs` parameter." },
            },
        })
    }
    async fn run(&self, ctx: &mut ActionContext<'_>) -> Result<(), ActionError> {
        let catalog = catalog(ctx)?;
        let optional = ctx.bool_input("optional");
        let default_kind = ctx.str_input("defaultKind").map(str::to_string);
        let default_namespace = ctx.str_input("defaultNamespace").map(str::to_string);
        let full_ref = |text: &str| -> Result<String, ActionError> {
            let (kind, namespace, name) = crate::filters::parse_entity_ref_parts(
                text,
                default_kind.as_deref(),
                default_namespace.as_deref(),
            )
            .map_err(ActionError::Invalid)?;
            Ok(format!("{kind}:{namespace}/{name}").to_ascii_lowercase())
        };
        if let Some(one) = ctx.str_input("entityRef").map(str::to_string) {
            let r = full_ref(&one)?;
            match catalog.entity(&r).await.map_err(ActionError::Failed)? {
                Some(entity) => ctx.output("entity", entity),
                None if optional => {}
                None => return Err(ActionError::Failed(format!("entity {r} not found"))),
            }
        }
        if let Some(many) = ctx
            .input
            .get("entityRefs")
            .and_then(Value::as_array)
            .cloned()
        {
            let mut entities = Vec::new();
            for item in many.iter().filter_map(Value::as_str) {
                let r = full_ref(item)?;
                match catalog.entity(&r).await.map_err(ActionError::Failed)? {
                    Some(entity) => entities.push(entity),
                    None if optional => entities.push(Value::Null),
                    None => return Err(ActionError::Failed(format!("entity {r} not found"))),
                }
            }
            ctx.output("entities", Value::Array(entities));
        }
        Ok(())
    }
}
