//! Who is using the portal. On loopback without tokens anyone may use it as a guest and pick
//! which user they are (it only personalises "my services"); when API tokens are configured
//! every page needs a session, opened by signing in with a token. Also: starred entities
//! (a cookie), and the same-origin check that keeps other sites from posting the portal's
//! forms.

use super::render::{self, Section};
use super::view::{self, EntitySummary, Titles};
use crate::AppState;
use crate::ServerSettings;
use crate::auth::match_token;
use axum::Form;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use paved_model::EntityRef;
use paved_store::{EntityQuery, OrderField};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

const SESSION_COOKIE: &str = "paved_session";
const IDENTITY_COOKIE: &str = "paved_identity";
const STARS_COOKIE: &str = "paved_stars";
/// Stars live in a cookie; this keeps it well under the 4 KB browsers allow.
pub const MAX_STARS: usize = 40;

/// The request's cookies, values percent-decoded.
pub fn cookies(headers: &HeaderMap) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=') {
                let decoded: String = form_urlencoded::parse(format!("v={value}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                out.insert(name.trim().to_owned(), decoded);
            }
        }
    }
    out
}

fn set_cookie(name: &str, value: &str, max_age_seconds: u64) -> HeaderValue {
    let encoded: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
    HeaderValue::from_str(&format!(
        "{name}={encoded}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("paved_invalid=; Max-Age=0"))
}

/// The portal user of one request.
#[derive(Clone, Debug, Default)]
pub struct Session {
    /// The user entity they are (chosen as a guest, or named by their token).
    pub identity: Option<EntityRef>,
    /// The token that opened the session; None = guest mode.
    pub token_name: Option<String>,
    pub stars: Vec<String>,
}

#[derive(Serialize)]
pub struct SessionView {
    pub guest: bool,
    pub signed_in_as: Option<String>,
    pub identity_ref: Option<String>,
    pub identity_href: Option<String>,
    pub token_name: Option<String>,
}

impl Session {
    pub fn view(&self) -> SessionView {
        SessionView {
            guest: self.token_name.is_none(),
            signed_in_as: self.identity.as_ref().map(|r| r.name().to_owned()),
            identity_ref: self.identity.as_ref().map(ToString::to_string),
            identity_href: self.identity.as_ref().map(view::entity_href),
            token_name: self.token_name.clone(),
        }
    }

    /// Who this is, for the audit log: the session's token, or a guest on loopback (with the
    /// user they said they are, which is a preference, not a proof).
    pub fn actor(&self) -> String {
        match (&self.token_name, &self.identity) {
            (Some(token), _) => format!("portal:token:{token}"),
            (None, Some(user)) => format!("portal:guest (says {user})"),
            (None, None) => "portal:guest".to_owned(),
        }
    }

    pub fn is_starred(&self, entity_ref: &str) -> bool {
        self.stars.iter().any(|s| s == entity_ref)
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let jar = cookies(&parts.headers);
        let token_name = jar
            .get(SESSION_COOKIE)
            .and_then(|token| match_token(&state.settings, token));
        let identity = jar
            .get(IDENTITY_COOKIE)
            .and_then(|r| EntityRef::parse_full(r).ok())
            .filter(|r| r.kind() == "user")
            .or_else(|| {
                // A token named like a user ref (`user:default/jane`) says who holds it.
                token_name
                    .as_deref()
                    .and_then(|n| EntityRef::parse_full(n).ok())
                    .filter(|r| r.kind() == "user")
            });
        let stars = jar
            .get(STARS_COOKIE)
            .map(|s| {
                s.split(' ')
                    .filter_map(|r| EntityRef::parse_full(r).ok())
                    .map(|r| r.to_string())
                    .take(MAX_STARS)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Session {
            identity,
            token_name,
            stars,
        })
    }
}

/// The `Set-Cookie` value holding `stars`.
pub fn stars_cookie(stars: &[String]) -> HeaderValue {
    set_cookie(STARS_COOKIE, &stars.join(" "), 365 * 24 * 3600)
}

/// Whether a state-changing request comes from the portal's own pages. Browsers send
/// `Sec-Fetch-Site` and `Origin` on form posts; a post from another site (CSRF, including a
/// web page attacking a loopback portal) is refused. Clients that send neither (curl, tests)
/// are not browsers and carry no ambient credentials to abuse.
pub fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    match (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        (Some(origin), Some(host)) => {
            let origin_host = origin
                .split_once("://")
                .map(|(_, rest)| rest)
                .unwrap_or(origin);
            origin_host.eq_ignore_ascii_case(host)
        }
        (Some(_), None) => false,
        (None, _) => true,
    }
}

/// Paths of the portal that need no session even when tokens are configured.
fn open_path(path: &str) -> bool {
    path == "/sign-in"
        || path == "/favicon.ico"
        || path.starts_with("/assets/")
        || path == "/healthz"
        || path == "/readyz"
        || path == "/metrics"
        || path == "/api"
        || path.starts_with("/api/")
}

/// Middleware for every non-API path: cross-site posts are refused; with tokens configured a
/// page without a valid session cookie redirects to the sign-in page.
pub(crate) async fn require_portal_session(
    State(settings): State<Arc<ServerSettings>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    if path == "/api" || path.starts_with("/api/") {
        return next.run(request).await;
    }
    let mutating = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if mutating && !same_origin(request.headers()) {
        return render::html(
            StatusCode::FORBIDDEN,
            "<!doctype html><title>Forbidden · paved</title><p>This form was posted from \
             another site and was refused.</p>"
                .to_owned(),
        );
    }
    if settings.auth_tokens.is_empty() || open_path(&path) {
        return next.run(request).await;
    }
    let jar = cookies(request.headers());
    if jar
        .get(SESSION_COOKIE)
        .and_then(|token| match_token(&settings, token))
        .is_some()
    {
        return next.run(request).await;
    }
    if mutating {
        return render::html(
            StatusCode::UNAUTHORIZED,
            "<!doctype html><title>Sign in · paved</title><p><a href=\"/sign-in\">Sign in</a> \
             first.</p>"
                .to_owned(),
        );
    }
    let next_path = request
        .uri()
        .path_and_query()
        .map_or_else(|| path.clone(), |p| p.as_str().to_owned());
    Redirect::to(&format!("/sign-in?next={}", view::encode_query(&next_path))).into_response()
}

/// Only local paths are followed after a form, so `next` cannot send anyone elsewhere.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

#[derive(Deserialize, Default)]
pub struct NextParam {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct SignInForm {
    token: String,
    next: Option<String>,
}

pub async fn sign_in_form(
    State(state): State<AppState>,
    session: Session,
    Query(params): Query<NextParam>,
) -> Response {
    if state.settings.auth_tokens.is_empty() {
        return Redirect::to("/whoami").into_response();
    }
    render::page(
        &state,
        &session,
        Section::Account,
        "Sign in",
        "sign_in.html",
        context! { next => local_path(params.next.as_deref()), failed => false },
    )
}

pub async fn sign_in(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<SignInForm>,
) -> Response {
    let next = local_path(form.next.as_deref());
    let matched = match_token(&state.settings, form.token.trim());
    crate::audit::record(
        &state,
        &matched.as_ref().map_or_else(
            || "portal:unknown".to_owned(),
            |t| format!("portal:token:{t}"),
        ),
        if matched.is_some() {
            "session.sign-in"
        } else {
            "session.sign-in-refused"
        },
        "portal",
        None,
        None,
    )
    .await;
    if matched.is_none() {
        return render::page_with_status(
            &state,
            &session,
            Section::Account,
            "Sign in",
            "sign_in.html",
            context! { next, failed => true },
            StatusCode::UNAUTHORIZED,
        );
    }
    let mut response = Redirect::to(&next).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, form.token.trim(), 12 * 3600),
    );
    response
}

pub async fn sign_out() -> Response {
    let mut response = Redirect::to("/").into_response();
    for name in [SESSION_COOKIE, IDENTITY_COOKIE] {
        response
            .headers_mut()
            .append(header::SET_COOKIE, set_cookie(name, "", 0));
    }
    response
}

/// "Who are you?": the users of the catalog, to pick one. Only personalisation depends on it.
pub async fn whoami(
    State(state): State<AppState>,
    session: Session,
    Query(params): Query<NextParam>,
) -> Response {
    let query = EntityQuery {
        filter: view::filter_all(vec![("kind", vec!["user".into()])]),
        order: vec![OrderField {
            field: "metadata.name".into(),
            descending: false,
        }],
        limit: Some(2000),
        ..EntityQuery::default()
    };
    let users: Vec<EntitySummary> = match state.catalog.query_entities(&query).await {
        Ok(page) => page
            .items
            .iter()
            .filter_map(view::parse_raw)
            .filter_map(|value| EntitySummary::from_value(&value, &Titles::new()))
            .collect(),
        Err(error) => return render::error_page(&state, &session, &error),
    };
    render::page(
        &state,
        &session,
        Section::Account,
        "Who are you?",
        "whoami.html",
        context! { users => minijinja::value::Serde(users), next => local_path(params.next.as_deref()) },
    )
}

#[derive(Deserialize)]
pub struct ChooseForm {
    user: Option<String>,
    next: Option<String>,
}

pub async fn choose(Form(form): Form<ChooseForm>) -> Response {
    let next = local_path(form.next.as_deref());
    let mut response = Redirect::to(&next).into_response();
    let value = form
        .user
        .as_deref()
        .and_then(|u| EntityRef::parse_full(u).ok())
        .filter(|r| r.kind() == "user");
    let cookie = match value {
        Some(user) => set_cookie(IDENTITY_COOKIE, &user.to_string(), 365 * 24 * 3600),
        None => set_cookie(IDENTITY_COOKIE, "", 0),
    };
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn cross_site_posts_are_refused() {
        assert!(same_origin(&headers(&[])));
        assert!(same_origin(&headers(&[
            ("sec-fetch-site", "same-origin"),
            ("origin", "http://127.0.0.1:7007"),
            ("host", "127.0.0.1:7007"),
        ])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&headers(&[
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:7007"),
        ])));
    }

    #[test]
    fn cookies_are_decoded_and_next_stays_local() {
        let jar = cookies(&headers(&[(
            "cookie",
            "a=1; paved_stars=component%3Adefault%2Fx+api%3Adefault%2Fy",
        )]));
        assert_eq!(jar["a"], "1");
        assert_eq!(jar["paved_stars"], "component:default/x api:default/y");
        assert_eq!(local_path(Some("/catalog?kind=api")), "/catalog?kind=api");
        assert_eq!(local_path(Some("//evil.example")), "/");
        assert_eq!(local_path(Some("https://evil.example")), "/");
        assert_eq!(local_path(None), "/");
    }
}
