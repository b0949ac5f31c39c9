//! `fetch:template`, `fetch:template:file`, `fetch:plain`, `fetch:plain:file`: bring a skeleton
//! (relative to the template's folder, or from a git URL) into the workspace, rendered or as is.

use super::{Action, ActionContext, ActionError, io_error};
use crate::confine::{relative_display, resolve_inside};
use crate::render::{Renderer, Syntax};
use async_trait::async_trait;
use globset::{GlobSet, GlobSetBuilder};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Largest single file read from a skeleton.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

fn url_schema() -> Value {
    json!({
        "title": "Fetch URL",
        "description": "Relative path (to the template's folder) or git URL of the directory or file to fetch",
        "type": "string",
    })
}

fn target_schema(required: bool) -> Value {
    json!({
        "title": "Target Path",
        "description": if required { "Target path within the working directory to write the file to" }
            else { "Target path within the working directory to download the contents to. Defaults to the working directory root." },
        "type": "string",
    })
}

/// A source to read: its root (the template folder or the checkout), and the path inside it.
struct Source {
    root: PathBuf,
    path: PathBuf,
}

/// A git URL (`https://…`, `ssh://…`, `git@host:…`, `file://…`, forge `/blob/<ref>/<path>`
/// URLs, with `?ref=&path=`) or a path relative to the template's folder.
async fn resolve_source(ctx: &ActionContext<'_>, url: &str) -> Result<Source, ActionError> {
    let looks_git = ["https://", "http://", "ssh://", "git://", "file://"]
        .iter()
        .any(|p| url.starts_with(p))
        || (url.contains('@') && url.contains(':') && !url.starts_with('.'));
    if looks_git {
        let settings = ctx.services.fetch_git.as_ref().ok_or_else(|| {
            ActionError::Invalid(format!(
                "fetching from git ('{url}') is not configured here"
            ))
        })?;
        let mut target = paved_catalog::location::GitTarget::parse(url)
            .map_err(|e| ActionError::Invalid(e.to_string()))?;
        // A repository on this machine is local files: it must be inside the folders local
        // remotes may be in, as for publishing.
        if target.local_repository().is_some() {
            super::publish::local_remote_path(&ctx.services.git, &target.remote)?;
        }
        // Without an explicit path a git URL means the whole repository.
        if !url.contains("path=") && !url.contains("/blob/") && !url.contains("/tree/") {
            target.path = String::new();
        }
        ctx.info(format!("Fetching {url}"));
        let checkout = paved_catalog::git::checkout(settings, &target)
            .await
            .map_err(|e| ActionError::Failed(e.to_string()))?;
        let path = resolve_inside(&checkout, &target.path)?;
        return Ok(Source {
            root: checkout,
            path,
        });
    }
    let template_dir = ctx.template_dir.ok_or_else(|| {
        ActionError::Invalid(format!(
            "'{url}' is relative, but this template has no folder of its own to read it from"
        ))
    })?;
    let path = resolve_inside(template_dir, url)?;
    Ok(Source {
        root: template_dir.to_path_buf(),
        path,
    })
}

fn read_file_limited(path: &Path) -> Result<Vec<u8>, ActionError> {
    let meta = std::fs::metadata(path).map_err(|e| io_error("cannot read", path, e))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(ActionError::Invalid(format!(
            "{} is {} bytes, over the limit of {MAX_FILE_BYTES}",
            path.display(),
            meta.len()
        )));
    }
    std::fs::read(path).map_err(|e| io_error("cannot read", path, e))
}

/// Text to render, or `None` for binary content (copied as is).
fn as_text(bytes: &[u8]) -> Option<&str> {
    if bytes[..bytes.len().min(8000)].contains(&0) {
        return None;
    }
    std::str::from_utf8(bytes).ok()
}

fn write_file(path: &Path, contents: &[u8], mode_from: Option<&Path>) -> Result<(), ActionError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io_error("cannot create", parent, e))?;
    }
    // Never write through a link someone placed in the workspace.
    if path
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
    {
        std::fs::remove_file(path).map_err(|e| io_error("cannot replace", path, e))?;
    }
    std::fs::write(path, contents).map_err(|e| io_error("cannot write", path, e))?;
    if let Some(from) = mode_from
        && let Ok(meta) = std::fs::metadata(from)
    {
        let _ = std::fs::set_permissions(path, meta.permissions());
    }
    Ok(())
}

/// Copies a symbolic link of a skeleton when it points inside the skeleton (as a relative link).
fn copy_link(source_root: &Path, link: &Path, to: &Path) -> Result<(), ActionError> {
    let target = std::fs::read_link(link).map_err(|e| io_error("cannot read link", link, e))?;
    let resolved = link.parent().unwrap_or(source_root).join(&target);
    let inside = !target.is_absolute()
        && crate::confine::check_no_link_escape(source_root, &resolved).is_ok()
        && crate::confine::lexically_inside(source_root, &resolved);
    if !inside {
        return Err(ActionError::Invalid(format!(
            "{} is a symbolic link that points outside of the template ({})",
            link.display(),
            target.display()
        )));
    }
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io_error("cannot create", parent, e))?;
    }
    let _ = std::fs::remove_file(to);
    std::os::unix::fs::symlink(&target, to).map_err(|e| io_error("cannot create link", to, e))
}

fn globset(patterns: &[String]) -> Result<GlobSet, ActionError> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let pattern = pattern.trim_start_matches("./");
        let glob = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| ActionError::Invalid(format!("invalid glob '{pattern}': {e}")))?;
        builder.add(glob);
    }
    builder
        .build()
        .map_err(|e| ActionError::Invalid(format!("invalid globs: {e}")))
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// A rendered output path that Backstage skips: empty, absolute, or with an empty segment
/// (a file named `${{ 'x' if cond }}` renders to nothing when `cond` is false).
fn is_skipped_path(path: &str) -> bool {
    path.is_empty() || path.starts_with('/') || path.contains("//") || path.ends_with('/')
}

pub struct FetchTemplate;

#[async_trait]
impl Action for FetchTemplate {
    fn id(&self) -> &'static str {
        "fetch:template"
    }
    fn description(&self) -> &'static str {
        "Downloads a skeleton, templates variables into file and directory names and content, and places the result in the workspace, or optionally in a subdirectory specified by the `targetPath` input option."
    }
    fn supports_dry_run(&self) -> bool {
        true
    }
    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": url_schema(),
                "targetPath": target_schema(false),
                "values": { "title": "Template Values", "description": "Values to pass on to the templating engine", "type": "object" },
                "copyWithoutRender": { "title": "[Deprecated] Copy Without Render", "description": "An array of glob patterns. Any files or directories which match are copied without being processed as templates (their names are not rendered either).", "type": "array", "items": { "type": "string" } },
                "copyWithoutTemplating": { "title": "Copy Without Templating", "description": "An array of glob patterns. Contents of matched files or directories are copied without being processed, but paths are subject to rendering.", "type": "array", "items": { "type": "string" } },
                "cookiecutterCompat": { "title": "Cookiecutter compatibility mode", "description": "Enable features to maximise compatibility with templates built for fetch:cookiecutter", "type": "boolean" },
                "templateFileExtension": { "title": "Template File Extension", "description": "If set, only files with the given extension will be templated. If set to `true`, the default extension `.njk` is used.", "type": ["string", "boolean"] },
                "replace": { "title": "Replace files", "description": "If set, replace files in targetPath instead of skipping existing ones.", "type": "boolean" },
                "trimBlocks": { "type": "boolean", "description": "Remove the first newline after a block." },
                "lstripBlocks": { "type": "boolean", "description": "Strip leading spaces and tabs before a block tag." },
            },
        })
    }
    fn examples(&self) -> Vec<Value> {
        vec![json!({
            "description": "Downloads a skeleton directory that lives alongside the template file and fills it out with values.",
            "example": "steps:\n  - id: fetch\n    action: fetch:template\n    input:\n      url: ./skeleton\n      values:\n        name: ${{ parameters.name }}\n",
        })]
    }
    async fn run(&self, ctx: &mut ActionContext<'_>) -> Result<(), ActionError> {
        let url = ctx.str_input("url").unwrap_or_default().to_string();
        let source = resolve_source(ctx, &url).await?;
        let target = ctx.target_path()?;
        let cookiecutter = ctx.bool_input("cookiecutterCompat");
        let extension = match ctx.input.get("templateFileExtension") {
            Some(Value::Bool(true)) => Some(".njk".to_string()),
            Some(Value::String(e)) if !e.is_empty() => Some(if e.starts_with('.') {
                e.clone()
            } else {
                format!(".{e}")
            }),
            _ => None,
        };
        let copy_without_render = string_list(ctx.input.get("copyWithoutRender"));
        let copy_without_templating = string_list(ctx.input.get("copyWithoutTemplating"));
        if !copy_without_render.is_empty() && !copy_without_templating.is_empty() {
            return Err(ActionError::Invalid(
                "copyWithoutRender and copyWithoutTemplating cannot both be set".into(),
            ));
        }
        if extension.is_some()
            && (!copy_without_render.is_empty() || !copy_without_templating.is_empty())
        {
            return Err(ActionError::Invalid(
                "templateFileExtension cannot be combined with copyWithoutRender or copyWithoutTemplating".into(),
            ));
        }
        let render_names = copy_without_render.is_empty();
        let verbatim = globset(if render_names {
            &copy_without_templating
        } else {
            &copy_without_render
        })?;
        let values = ctx
            .input
            .get("values")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let context = if cookiecutter {
            json!({ "cookiecutter": values })
        } else {
            json!({ "values": values })
        };
        let renderer = Renderer::new(if cookiecutter {
            Syntax::Cookiecutter
        } else {
            Syntax::Backstage
        });
        // File names are always rendered with `${{ }}`, as Backstage does.
        let name_renderer = Renderer::new(Syntax::Backstage);
        let name_context =
            json!({ "values": context.get("values").or(context.get("cookiecutter")) });
        if !source.path.is_dir() {
            return Err(ActionError::Invalid(format!(
                "'{url}' is not a folder of the template"
            )));
        }
        let written = render_tree(
            ctx,
            &source,
            &target,
            &TreeOptions {
                renderer: &renderer,
                name_renderer: &name_renderer,
                context: &context,
                name_context: &name_context,
                extension: extension.as_deref(),
                verbatim: &verbatim,
                render_names,
                replace: ctx.bool_input("replace"),
            },
        )?;
        ctx.info(format!(
            "Template result written to {} ({written} files)",
            display_target(ctx.workspace, &target)
        ));
        Ok(())
    }
}

fn display_target(workspace: &Path, target: &Path) -> String {
    let rel = relative_display(workspace, target);
    if rel.is_empty() { "./".into() } else { rel }
}

struct TreeOptions<'a> {
    renderer: &'a Renderer,
    name_renderer: &'a Renderer,
    context: &'a Value,
    name_context: &'a Value,
    extension: Option<&'a str>,
    verbatim: &'a GlobSet,
    render_names: bool,
    replace: bool,
}

fn render_tree(
    ctx: &ActionContext<'_>,
    source: &Source,
    target: &Path,
    options: &TreeOptions<'_>,
) -> Result<usize, ActionError> {
    let mut written = 0;
    let entries = walkdir::WalkDir::new(&source.path)
        .follow_links(false)
        .sort_by_file_name()
        .min_depth(1);
    for entry in entries {
        let entry =
            entry.map_err(|e| ActionError::Failed(format!("cannot list the skeleton: {e}")))?;
        let location = relative_display(&source.path, entry.path());
        let is_dir = entry.file_type().is_dir();
        let matches_verbatim = options.verbatim.is_match(&location)
            || (is_dir && options.verbatim.is_match(format!("{location}/")));
        let render_contents;
        let mut output = location.clone();
        if let Some(extension) = options.extension {
            render_contents = !is_dir && output.ends_with(extension);
            if render_contents {
                output.truncate(output.len() - extension.len());
            }
            output = render_name(options, &output, &location)?;
        } else {
            render_contents = !matches_verbatim;
            if options.render_names || !matches_verbatim {
                output = render_name(options, &output, &location)?;
            }
        }
        if is_skipped_path(&output) {
            continue;
        }
        let out_path = resolve_inside(target, &output)?;
        crate::confine::check_no_link_escape(ctx.workspace, &out_path)?;
        if is_dir {
            std::fs::create_dir_all(&out_path)
                .map_err(|e| io_error("cannot create", &out_path, e))?;
            continue;
        }
        if out_path.exists() && !options.replace {
            ctx.info(format!(
                "Skipping {output}: it exists already (set `replace` to overwrite)"
            ));
            continue;
        }
        if !render_contents && options.extension.is_none() {
            ctx.info(format!("Copying file {location} without processing."));
        }
        if entry.file_type().is_symlink() {
            copy_link(&source.root, entry.path(), &out_path)?;
            written += 1;
            continue;
        }
        let bytes = read_file_limited(entry.path())?;
        match (render_contents, as_text(&bytes)) {
            (true, Some(text)) => {
                let rendered = options
                    .renderer
                    .render_str(text, options.context)
                    .map_err(|e| {
                        ActionError::Invalid(format!(
                            "cannot render {location}{}: {}",
                            e.line.map(|l| format!(":{l}")).unwrap_or_default(),
                            e.message
                        ))
                    })?;
                write_file(&out_path, rendered.as_bytes(), Some(entry.path()))?;
            }
            _ => write_file(&out_path, &bytes, Some(entry.path()))?,
        }
        written += 1;
    }
    Ok(written)
}

fn render_name(
    options: &TreeOptions<'_>,
    name: &str,
    location: &str,
) -> Result<String, ActionError> {
    options
        .name_renderer
        .render_str(name, options.name_context)
        .map_err(|e| {
            ActionError::Invalid(format!(
                "cannot render the file name {location}: {}",
                e.message
            ))
        })
}

pub struct FetchTemplateFile;

#[async_trait]
impl Action for FetchTemplateFile {
    fn id(&self) -> &'static str {
        "fetch:template:file"
    }
    fn description(&self) -> &'static str {
        "Downloads a single file and templates variables into it, placing the result in the workspace at `targetPath`."
    }
    fn supports_dry_run(&self) -> bool {
        true
    }
    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["url", "targetPath"],
            "properties": {
                "url": url_schema(),
                "targetPath": target_schema(true),
                "values": { "title": "Template Values", "type": "object" },
                "cookiecutterCompat": { "type": "boolean" },
                "replace": { "type": "boolean" },
                "trimBlocks": { "type": "boolean" },
                "lstripBlocks": { "type": "boolean" },
            },
        })
    }
    async fn run(&self, ctx: &mut ActionContext<'_>) -> Result<(), ActionError> {
        let url = ctx.str_input("url").unwrap_or_default().to_string();
        let source = resolve_source(ctx, &url).await?;
        let target = ctx.target_path()?;
        if target.exists() && !ctx.bool_input("replace") {
            ctx.info(format!(
                "Skipping {}: it exists already",
                display_target(ctx.workspace, &target)
            ));
            return Ok(());
        }
        let cookiecutter = ctx.bool_input("cookiecutterCompat");
        let values = ctx
            .input
            .get("values")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let context = if cookiecutter {
            json!({ "cookiecutter": values })
        } else {
            json!({ "values": values })
        };
        let bytes = read_file_limited(&source.path)?;
        let text = as_text(&bytes)
            .ok_or_else(|| ActionError::Invalid(format!("'{url}' is not a text file")))?;
        let renderer = Renderer::new(if cookiecutter {
            Syntax::Cookiecutter
        } else {
            Syntax::Backstage
        });
        let rendered = renderer
            .render_str(text, &context)
            .map_err(|e| ActionError::Invalid(format!("cannot render {url}: {}", e.message)))?;
        write_file(&target, rendered.as_bytes(), Some(&source.path))?;
        ctx.info(format!("Wrote {}", display_target(ctx.workspace, &target)));
        Ok(())
    }
}

pub struct FetchPlain;

#[async_trait]
impl Action for FetchPlain {
    fn id(&self) -> &'static str {
        "fetch:plain"
    }
    fn description(&self) -> &'static str {
        "Downloads content and places it in the workspace, or optionally in a subdirectory specified by the `targetPath` input option."
    }
    fn supports_dry_run(&self) -> bool {
        true
    }
    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["url"],
            "properties": { "url": url_schema(), "targetPath": target_schema(false) },
        })
    }
    async fn run(&self, ctx: &mut ActionContext<'_>) -> Result<(), ActionError> {
        let url = ctx.str_input("url").unwrap_or_default().to_string();
        let source = resolve_source(ctx, &url).await?;
        let target = ctx.target_path()?;
        let mut copied = 0;
        if source.path.is_file() {
            let name = source
                .path
                .file_name()
                .map(PathBuf::from)
                .unwrap_or_default();
            write_file(
                &target.join(name),
                &read_file_limited(&source.path)?,
                Some(&source.path),
            )?;
            copied += 1;
        } else {
            for entry in walkdir::WalkDir::new(&source.path)
                .follow_links(false)
                .sort_by_file_name()
                .min_depth(1)
            {
                let entry =
                    entry.map_err(|e| ActionError::Failed(format!("cannot list {url}: {e}")))?;
                let rel = relative_display(&source.path, entry.path());
                if rel == ".git" || rel.starts_with(".git/") {
                    continue;
                }
                let out = resolve_inside(&target, &rel)?;
                if entry.file_type().is_dir() {
                    std::fs::create_dir_all(&out)
                        .map_err(|e| io_error("cannot create", &out, e))?;
                } else if entry.file_type().is_symlink() {
                    copy_link(&source.root, entry.path(), &out)?;
                } else {
                    write_file(&out, &read_file_limited(entry.path())?, Some(entry.path()))?;
                    copied += 1;
                }
            }
        }
        ctx.info(format!(
            "Fetched {copied} files into {}",
            display_target(ctx.workspace, &target)
        ));
        Ok(())
    }
}

pub struct FetchPlainFile;

#[async_trait]
impl Action for FetchPlainFile {
    fn id(&self) -> &'static str {
        "fetch:plain:file"
    }
    fn description(&self) -> &'static str {
        "Downloads a single file and places it in the workspace."
    }
    fn supports_dry_run(&self) -> bool {
        true
    }
    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["url", "targetPath"],
            "properties": { "url": url_schema(), "targetPath": target_schema(true) },
        })
    }
    async fn run(&self, ctx: &mut ActionContext<'_>) -> Result<(), ActionError> {
        let url = ctx.str_input("url").unwrap_or_default().to_string();
        let source = resolve_source(ctx, &url).await?;
        if !source.path.is_file() {
            return Err(ActionError::Invalid(format!("'{url}' is not a file")));
        }
        let target = ctx.target_path()?;
        write_file(
            &target,
            &read_file_limited(&source.path)?,
            Some(&source.path),
        )?;
        ctx.info(format!(
            "Fetched {url} to {}",
            display_target(ctx.workspace, &target)
        ));
        Ok(())
    }
}
