//! The errors page: every processing error, grouped by location and file, linked to the
//! entity it concerns.

use super::identity::Session;
use super::render::{self, Section};
use super::view;
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
struct ErrorView {
    message: String,
    line: Option<u32>,
    column: Option<u32>,
    field: Option<String>,
    warning: bool,
    entity: Option<view::RefLink>,
}

#[derive(Serialize)]
struct FileGroup {
    file: String,
    errors: Vec<ErrorView>,
}

/// A documentation site with build problems.
#[derive(Serialize)]
struct DocsGroup {
    entity: view::RefLink,
    docs_href: String,
    failed: bool,
    problems: Vec<paved_docs::Problem>,
}

#[derive(Serialize)]
struct LocationGroup {
    target: String,
    files: Vec<FileGroup>,
    count: usize,
}

pub async fn page(State(state): State<AppState>, session: Session) -> Response {
    let errors = match state.catalog.processing_errors().await {
        Ok(errors) => errors,
        Err(error) => return render::error_page(&state, &session, &error),
    };
    let total = errors.len();
    let warnings = errors.iter().filter(|e| !e.diagnostic.is_error()).count();
    let mut grouped: BTreeMap<String, BTreeMap<String, Vec<ErrorView>>> = BTreeMap::new();
    for error in errors {
        let d = error.diagnostic;
        let file = d
            .file
            .clone()
            .unwrap_or_else(|| "(the location itself)".to_owned());
        grouped
            .entry(error.location_target)
            .or_default()
            .entry(file)
            .or_default()
            .push(ErrorView {
                warning: !d.is_error(),
                message: d.message,
                line: d.line,
                column: d.column,
                field: d.field,
                entity: error
                    .entity_ref
                    .as_ref()
                    .map(|r| view::ref_link(r, None, &view::Titles::new())),
            });
    }
    let locations: Vec<LocationGroup> = grouped
        .into_iter()
        .map(|(target, files)| {
            let files: Vec<FileGroup> = files
                .into_iter()
                .map(|(file, mut errors)| {
                    errors.sort_by_key(|e| (e.line, e.column));
                    FileGroup { file, errors }
                })
                .collect();
            LocationGroup {
                count: files.iter().map(|f| f.errors.len()).sum(),
                target,
                files,
            }
        })
        .collect();
    // Documentation build problems (failed builds, broken links) are listed after them.
    let docs_problems = match &state.docs {
        Some(docs) => docs.problems().await.unwrap_or_else(|error| {
            tracing::warn!(%error, "cannot read documentation build problems");
            Vec::new()
        }),
        None => Vec::new(),
    };
    let docs: Vec<DocsGroup> = docs_problems
        .into_iter()
        .filter_map(|site| {
            let entity = paved_model::EntityRef::parse_full(&site.entity_ref).ok()?;
            Some(DocsGroup {
                docs_href: paved_docs::docs_base_url(&entity),
                entity: view::ref_link(&entity, None, &view::Titles::new()),
                failed: site.status == "failed",
                problems: site.problems,
            })
        })
        .collect();
    render::page(
        &state,
        &session,
        Section::Errors,
        "Processing errors",
        "errors.html",
        context! {
            locations => Serde(locations),
            total,
            warnings,
            problems => total - warnings,
            docs => Serde(docs),
        },
    )
}
