//! "Register an existing component": paste a path or a git URL, preview the entities it holds
//! (with every validation error), then import it.

use super::identity::Session;
use super::render::{self, Section};
use super::view::{self, EntitySummary, Titles};
use crate::AppState;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use paved_catalog::{AddLocationOutcome, CatalogError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Default)]
pub struct RegisterForm {
    #[serde(default)]
    target: String,
    /// `preview` (dry run) or `import`.
    #[serde(default)]
    action: String,
}

#[derive(Serialize)]
struct DiagnosticView {
    message: String,
    location: Option<String>,
    field: Option<String>,
    warning: bool,
}

/// `url` for anything that names a remote (`https://…`, `ssh://…`, `git@host:…`), else `file`.
pub fn location_kind(target: &str) -> &'static str {
    let t = target.trim();
    if t.contains("://") || (t.starts_with("git@") && t.contains(':')) {
        "url"
    } else {
        "file"
    }
}

pub async fn form(State(state): State<AppState>, session: Session) -> Response {
    render::page(
        &state,
        &session,
        Section::Register,
        "Register an existing component",
        "register.html",
        context! { target => "", stage => "form" },
    )
}

pub async fn submit(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<RegisterForm>,
) -> Response {
    let target = form.target.trim().to_owned();
    if target.is_empty() {
        return page(
            &state,
            &session,
            &target,
            "form",
            None,
            Some("Enter the path of a catalog-info.yaml file, a folder, a glob, or a git URL."),
            StatusCode::BAD_REQUEST,
        );
    }
    let kind = location_kind(&target);
    let dry_run = form.action != "import";
    match state.catalog.add_location(kind, &target, dry_run).await {
        Ok(outcome) => {
            if !dry_run {
                crate::audit::record(
                    &state,
                    &session.actor(),
                    "location.add",
                    &format!("{kind}:{target}"),
                    None,
                    Some(serde_json::json!({
                        "location": outcome.location.id.0,
                        "entities": outcome.entities.len(),
                        "errors": outcome.errors.len(),
                    })),
                )
                .await;
            }
            page(
                &state,
                &session,
                &target,
                if dry_run { "preview" } else { "imported" },
                Some(outcome),
                None,
                StatusCode::OK,
            )
        }
        Err(error) => {
            let status = match &error {
                CatalogError::Invalid(_) => StatusCode::BAD_REQUEST,
                CatalogError::NotFound(_) => StatusCode::NOT_FOUND,
                CatalogError::Conflict(_) => StatusCode::CONFLICT,
                CatalogError::Forbidden(_) => StatusCode::FORBIDDEN,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            let message = match &error {
                CatalogError::Internal(_) | CatalogError::Unavailable(_) => {
                    tracing::error!(error = %error, "registering a location failed");
                    "The location could not be registered; the server log has the details."
                        .to_owned()
                }
                other => other.to_string(),
            };
            page(
                &state,
                &session,
                &target,
                "form",
                None,
                Some(&message),
                status,
            )
        }
    }
}

fn page(
    state: &AppState,
    session: &Session,
    target: &str,
    stage: &str,
    outcome: Option<AddLocationOutcome>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let (entities, diagnostics, exists) = match &outcome {
        Some(outcome) => {
            let entities: Vec<EntitySummary> = outcome
                .entities
                .iter()
                .filter_map(|v| EntitySummary::from_value(v, &Titles::new()))
                .collect();
            let diagnostics: Vec<DiagnosticView> = outcome
                .errors
                .iter()
                .map(|d| DiagnosticView {
                    message: d.message.clone(),
                    location: d.file.as_ref().map(|f| match (d.line, d.column) {
                        (Some(l), Some(c)) => format!("{f}:{l}:{c}"),
                        _ => f.clone(),
                    }),
                    field: d.field.clone(),
                    warning: !d.is_error(),
                })
                .collect();
            (entities, diagnostics, outcome.exists.unwrap_or(false))
        }
        None => (Vec::new(), Vec::new(), false),
    };
    let error_count = diagnostics.iter().filter(|d| !d.warning).count();
    render::page_with_status(
        state,
        session,
        Section::Register,
        "Register an existing component",
        "register.html",
        context! {
            target,
            kind => location_kind(target),
            stage,
            entities => minijinja::value::Serde(entities),
            diagnostics => minijinja::value::Serde(diagnostics),
            error_count,
            exists,
            error,
            catalog_href => format!("/catalog?q={}", view::encode_query("")),
        },
        status,
    )
}

#[cfg(test)]
mod tests {
    use super::location_kind;

    #[test]
    fn remote_targets_are_urls() {
        assert_eq!(
            location_kind("https://github.com/acme/x/blob/main/catalog-info.yaml"),
            "url"
        );
        assert_eq!(location_kind("git@github.com:acme/x.git"), "url");
        assert_eq!(location_kind("ssh://git@host/acme/x.git"), "url");
        assert_eq!(location_kind("/srv/repos/x/catalog-info.yaml"), "file");
        assert_eq!(location_kind("./services/**/catalog-info.yaml"), "file");
    }
}
