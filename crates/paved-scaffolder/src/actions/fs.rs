//! `fs:rename` and `fs:delete`: move and remove files inside the workspace.

use super::{Action, ActionContext, ActionError, io_error};
use crate::confine::resolve_inside;
use async_trait::async_trait;
use serde_json::{Value, json};

pub struct Rename;

#[async_trait]
impl Action for Rename {
    fn id(&self) -> &'static str {
        "fs:rename"
    }
    fn description(&self) -> &'static str {
        "Renames files and directories within the workspace"
    }
    fn supports_dry_run(&self) -> bool {
        true
    }
    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["files"],
            "properties": {
                "files": {
                    "title": "Files",
                    "description": "A list of file and directory names that will be renamed",
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["from", "to"],
                        "properties": {
                            "from": { "type": "string", "title": "The source location of the file to be renamed" },
                            "to": { "type": "string", "title": "The destination of the new file" },
                            "overwrite": { "type": "boolean", "title": "Overwrite existing file or directory, default is false" },
                        },
                    },
                },
            },
        })
    }
    async fn run(&self, ctx: &mut ActionContext<'_>) -> Result<(), ActionError> {
        let files = ctx
            .input
            .get("files")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for file in files {
            let from = file.get("from").and_then(Value::as_str).unwrap_or_default();
            let to = file.get("to").and_then(Value::as_str).unwrap_or_default();
            let overwrite = file
                .get("overwrite")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let from_path = resolve_inside(ctx.workspace, from)?;
            let to_path = resolve_inside(ctx.workspace, to)?;
            if from_path == ctx.workspace || to_path == ctx.workspace {
                return Err(ActionError::Invalid(
                    "the workspace itself cannot be renamed".into(),
                ));
            }
            if from_path.symlink_metadata().is_err() {
                return Err(ActionError::Invalid(format!(
                    "cannot rename '{from}': it does not exist"
                )));
            }
            if to_path.symlink_metadata().is_ok() {
                if !overwrite {
                    return Err(ActionError::Invalid(format!(
                        "cannot rename '{from}' to '{to}': the destination exists (set overwrite)"
                    )));
                }
                remove(&to_path)?;
            }
            if let Some(parent) = to_path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| io_error("cannot create", parent, e))?;
            }
            std::fs::rename(&from_path, &to_path)
                .map_err(|e| io_error("cannot rename", &from_path, e))?;
            ctx.info(format!("Renamed {from} to {to}"));
        }
        Ok(())
    }
}

fn remove(path: &std::path::Path) -> Result<(), ActionError> {
    let meta = path
        .symlink_metadata()
        .map_err(|e| io_error("cannot read", path, e))?;
    if meta.is_dir() {
        std::fs::remove_dir_all(path).map_err(|e| io_error("cannot delete", path, e))
    } else {
        std::fs::remove_file(path).map_err(|e| io_error("cannot delete", path, e))
    }
}

pub struct Delete;

#[async_trait]
impl Action for Delete {
    fn id(&self) -> &'static str {
        "fs:delete"
    }
    fn description(&self) -> &'static str {
        "Deletes files and directories from the workspace"
    }
    fn supports_dry_run(&self) -> bool {
        true
    }
    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["files"],
            "properties": {
                "files": {
                    "title": "Files",
                    "description": "A list of files and directories that will be deleted (glob patterns allowed)",
                    "type": "array",
                    "items": { "type": "string" },
                },
            },
        })
    }
    async fn run(&self, ctx: &mut ActionContext<'_>) -> Result<(), ActionError> {
        let files: Vec<String> = ctx
            .input
            .get("files")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        for pattern in files {
            if pattern.contains(['*', '?', '[', '{']) {
                let glob = globset::GlobBuilder::new(pattern.trim_start_matches("./"))
                    .literal_separator(true)
                    .build()
                    .map_err(|e| ActionError::Invalid(format!("invalid glob '{pattern}': {e}")))?
                    .compile_matcher();
                let mut matched = Vec::new();
                for entry in walkdir::WalkDir::new(ctx.workspace)
                    .follow_links(false)
                    .min_depth(1)
                {
                    let entry = entry.map_err(|e| ActionError::Failed(e.to_string()))?;
                    let rel = crate::confine::relative_display(ctx.workspace, entry.path());
                    if glob.is_match(&rel) {
                        matched.push(entry.path().to_path_buf());
                    }
                }
                for path in matched {
                    if path.symlink_metadata().is_ok() {
                        remove(&path)?;
                    }
                }
                ctx.info(format!("Deleted files matching {pattern}"));
            } else {
                let path = resolve_inside(ctx.workspace, &pattern)?;
                if path == ctx.workspace {
                    return Err(ActionError::Invalid(
                        "the workspace itself cannot be deleted".into(),
                    ));
                }
                if path.symlink_metadata().is_ok() {
                    remove(&path)?;
                    ctx.info(format!("Deleted {pattern}"));
                }
            }
        }
        Ok(())
    }
}
