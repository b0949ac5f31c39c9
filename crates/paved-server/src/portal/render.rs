//! Rendering: the embedded minijinja templates, the context every page shares (who is signed
//! in, which section is open), and HTML responses with the portal's security headers.

use super::identity::Session;
use crate::AppState;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::{AutoEscape, Environment, Value, context};
use paved_catalog::CatalogError;
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "portal/templates"]
struct TemplateFiles;

/// The portal's templates, parsed once at start.
pub struct PortalTemplates {
    env: Environment<'static>,
}

/// A template's name as it should appear in the page's `<title>`.
const PRODUCT: &str = "paved";

impl PortalTemplates {
    pub fn load() -> Result<Self, String> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") || name.ends_with(".svg") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        env.add_filter("thousands", thousands);
        for name in TemplateFiles::iter() {
            let file = TemplateFiles::get(&name)
                .ok_or_else(|| format!("template {name} is listed but missing"))?;
            let text = String::from_utf8(file.data.into_owned())
                .map_err(|_| format!("template {name} is not UTF-8"))?;
            env.add_template_owned(name.to_string(), text)
                .map_err(|e| format!("template {name}: {e}"))?;
        }
        Ok(PortalTemplates { env })
    }

    pub fn render(&self, name: &str, ctx: Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(ctx)
    }
}

/// `12345` → `12,345`.
fn thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if value < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Headers every portal response carries: a strict content security policy (scripts, styles
/// and images only from the portal itself — htmx is served from `/assets`), no framing, no
/// sniffing, no referrer leaking entity names to external links.
pub fn security_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

/// Pages that draw Mermaid diagrams: the script (served from `/assets`) writes `<style>`
/// elements into the SVG it makes, so these pages allow inline styles; scripts stay as strict.
pub fn allow_inline_styles(response: &mut Response) {
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
             script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
             form-action 'self'",
        ),
    );
}

/// A rendered page (or htmx fragment) as a response.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    security_headers(&mut response);
    response
}

/// The section of the portal a page belongs to, for the navigation's `aria-current`.
#[derive(Clone, Copy)]
pub enum Section {
    Home,
    Catalog,
    Docs,
    Register,
    Create,
    Errors,
    Account,
    Search,
}

impl Section {
    fn as_str(self) -> &'static str {
        match self {
            Section::Home => "home",
            Section::Catalog => "catalog",
            Section::Docs => "docs",
            Section::Register => "register",
            Section::Create => "create",
            Section::Errors => "errors",
            Section::Account => "account",
            Section::Search => "search",
        }
    }
}

/// Renders a full page: `template` with the shared context (`session`, `section`, `title`)
/// merged with the page's own `ctx`.
pub fn page(
    state: &AppState,
    session: &Session,
    section: Section,
    title: &str,
    template: &str,
    ctx: Value,
) -> Response {
    page_with_status(
        state,
        session,
        section,
        title,
        template,
        ctx,
        StatusCode::OK,
    )
}

pub fn page_with_status(
    state: &AppState,
    session: &Session,
    section: Section,
    title: &str,
    template: &str,
    ctx: Value,
    status: StatusCode,
) -> Response {
    let full = context! {
        page_title => if title.is_empty() { PRODUCT.to_owned() } else { format!("{title} · {PRODUCT}") },
        section => section.as_str(),
        session => Value::from(minijinja::value::Serde(session.view())),
        ..ctx
    };
    match state.portal.templates.render(template, full) {
        Ok(body) => html(status, body),
        Err(error) => {
            tracing::error!(template, error = %error, detail = ?error, "portal template failed");
            render_failure()
        }
    }
}

fn render_failure() -> Response {
    html(
        StatusCode::INTERNAL_SERVER_ERROR,
        "<!doctype html><title>Error · paved</title><p>This page could not be rendered; \
         the server log has the details.</p>"
            .to_owned(),
    )
}

/// An error page in the portal's layout, for catalog errors met while building a page.
pub fn error_page(state: &AppState, session: &Session, error: &CatalogError) -> Response {
    let (status, heading, message) = match error {
        CatalogError::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m.clone()),
        CatalogError::Invalid(m) => (StatusCode::BAD_REQUEST, "Bad request", m.clone()),
        CatalogError::Conflict(m) => (StatusCode::CONFLICT, "Conflict", m.clone()),
        CatalogError::Forbidden(m) => (StatusCode::FORBIDDEN, "Not allowed", m.clone()),
        other => {
            tracing::error!(error = %other, "portal page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The catalog could not answer; the server log has the details.".to_owned(),
            )
        }
    };
    page_with_status(
        state,
        session,
        Section::Catalog,
        heading,
        "error.html",
        context! { heading, message },
        status,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        let templates = PortalTemplates::load().expect("templates load");
        assert!(templates.env.templates().count() >= 8);
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(-1234567), "-1,234,567");
    }
}
