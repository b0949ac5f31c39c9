//! "Create": the template gallery, each template's form (one page per parameters step, then a
//! review), and the task page with its live log. Paths follow Backstage's portal: `/create`,
//! `/create/templates/:namespace/:name`, `/create/tasks/:id`.
//!
//! The form works without JavaScript: the values of the steps already filled travel in a
//! hidden JSON field, each step is checked on the server (its JSON Schema) before the next is
//! shown, and the guardrails run once more before the task is created. The form rules (widgets,
//! `dependencies`, reading submitted text) are `paved_scaffolder::form`'s.

use super::identity::Session;
use super::render::{self, Section};
use super::view;
use crate::AppState;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::Serde;
use paved_model::EntityRef;
use paved_scaffolder::form::{self, FormField, ReviewItem, Widget};
use paved_scaffolder::{FieldError, ScaffolderError, ScaffolderService, Template};
use paved_store::EntityQuery;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Entities offered by one picker, at most.
const PICKER_OPTIONS: usize = 500;

fn service(state: &AppState) -> Option<Arc<ScaffolderService>> {
    state.scaffolder.clone()
}

fn unavailable(state: &AppState, session: &Session) -> Response {
    render::page_with_status(
        state,
        session,
        Section::Create,
        "Templates are not available",
        "error.html",
        context! { heading => "Templates are not available", message => "The scaffolder is not enabled on this server." },
        StatusCode::SERVICE_UNAVAILABLE,
    )
}

fn scaffolder_error_page(state: &AppState, session: &Session, error: &ScaffolderError) -> Response {
    let (status, heading, message) = match error {
        ScaffolderError::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m.clone()),
        ScaffolderError::Invalid(m) => (StatusCode::BAD_REQUEST, "Bad request", m.clone()),
        ScaffolderError::Conflict(m) => (StatusCode::CONFLICT, "Conflict", m.clone()),
        ScaffolderError::Fields(errors) => (
            StatusCode::BAD_REQUEST,
            "Bad request",
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => {
            tracing::error!(error = %other, "create page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The scaffolder could not answer; the server log has the details.".to_owned(),
            )
        }
    };
    render::page_with_status(
        state,
        session,
        Section::Create,
        heading,
        "error.html",
        context! { heading, message },
        status,
    )
}

#[derive(Deserialize, Default)]
pub struct GalleryQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    tag: String,
}

#[derive(Serialize)]
struct TemplateCard {
    title: String,
    name: String,
    description: Option<String>,
    tags: Vec<String>,
    spec_type: Option<String>,
    owner: Option<view::RefLink>,
    href: String,
    entity_href: String,
}

#[derive(Serialize)]
struct TagCount {
    tag: String,
    count: usize,
    active: bool,
    href: String,
}

fn form_href(t: &Template) -> String {
    format!(
        "/create/templates/{}/{}",
        view::encode_segment(&t.namespace),
        view::encode_segment(&t.name)
    )
}

/// `GET /create`: every template, searchable by words and filterable by tag.
pub async fn gallery(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<GalleryQuery>,
) -> Response {
    let Some(service) = service(&state) else {
        return unavailable(&state, &session);
    };
    let templates = match service.templates().await {
        Ok(t) => t,
        Err(e) => return scaffolder_error_page(&state, &session, &e),
    };
    let words: Vec<String> = query.q.split_whitespace().map(str::to_lowercase).collect();
    let tag = query.tag.trim().to_lowercase();
    let matches_words = |t: &Template| {
        let haystack = format!(
            "{} {} {} {} {}",
            t.name,
            t.title,
            t.description.as_deref().unwrap_or(""),
            t.tags.join(" "),
            t.spec_type.as_deref().unwrap_or("")
        )
        .to_lowercase();
        words.iter().all(|w| haystack.contains(w.as_str()))
    };
    let mut tag_counts: BTreeMap<String, usize> = BTreeMap::new();
    for t in templates.iter().filter(|t| matches_words(t)) {
        for tag in &t.tags {
            *tag_counts.entry(tag.to_lowercase()).or_default() += 1;
        }
    }
    let mut cards: Vec<TemplateCard> = templates
        .iter()
        .filter(|t| matches_words(t))
        .filter(|t| tag.is_empty() || t.tags.iter().any(|x| x.eq_ignore_ascii_case(&tag)))
        .map(|t| TemplateCard {
            title: t.title.clone(),
            name: t.name.clone(),
            description: t.description.clone(),
            tags: t.tags.clone(),
            spec_type: t.spec_type.clone(),
            owner: t
                .owner
                .as_deref()
                .and_then(|o| view::spec_ref(o, "group", &t.namespace))
                .map(|r| view::ref_link(&r, Some("group"), &view::Titles::new())),
            href: form_href(t),
            entity_href: view::entity_href(&EntityRef::new("template", &t.namespace, &t.name)),
        })
        .collect();
    cards.sort_by_key(|c| c.title.to_lowercase());
    let tags: Vec<TagCount> = tag_counts
        .into_iter()
        .map(|(t, count)| TagCount {
            active: t == tag,
            href: if t == tag {
                format!("/create?q={}", view::encode_query(&query.q))
            } else {
                format!(
                    "/create?q={}&tag={}",
                    view::encode_query(&query.q),
                    view::encode_query(&t)
                )
            },
            tag: t,
            count,
        })
        .collect();
    render::page(
        &state,
        &session,
        Section::Create,
        "Create something new",
        "create.html",
        context! {
            cards => Serde(cards),
            tags => Serde(tags),
            q => query.q,
            tag,
            total => templates.len(),
        },
    )
}

/// The form's state between requests.
struct FormState {
    step: usize,
    values: Map<String, Value>,
}

/// `GET /create/templates/:namespace/:name`: the first step.
pub async fn form_page(
    State(state): State<AppState>,
    session: Session,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    let Some(service) = service(&state) else {
        return unavailable(&state, &session);
    };
    let template = match service.load_template(&namespace, "template", &name).await {
        Ok(loaded) => loaded.template,
        Err(e) => return scaffolder_error_page(&state, &session, &e),
    };
    let form = FormState {
        step: 0,
        values: Map::new(),
    };
    FormPage {
        state: &state,
        session: &session,
        template: &template,
    }
    .show(&form, &[], None)
    .await
}

/// `POST /create/templates/:namespace/:name`: reads the step shown, then shows the next one,
/// the same one with its errors, the review, or creates the task.
pub async fn form_submit(
    State(state): State<AppState>,
    session: Session,
    Path((namespace, name)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let Some(service) = service(&state) else {
        return unavailable(&state, &session);
    };
    let template = match service.load_template(&namespace, "template", &name).await {
        Ok(loaded) => loaded.template,
        Err(e) => return scaffolder_error_page(&state, &session, &e),
    };
    let field = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let values: Map<String, Value> = serde_json::from_str(field("_values")).unwrap_or_default();
    let steps = template.parameters.len();
    let step = field("_step").parse::<usize>().unwrap_or(0).min(steps);
    let go = field("_go");
    let mut form = FormState { step, values };
    let page = FormPage {
        state: &state,
        session: &session,
        template: &template,
    };

    if step < steps {
        let schema = &template.parameters[step].schema;
        let fields = form::fields_for_step(schema, &Value::Object(form.values.clone()));
        let mut errors = form::apply_submission(&fields, &pairs, &mut form.values);
        if go == "refresh" {
            // A field others depend on changed: the same step again, with the fields its new
            // value brings, and no errors yet.
            return page.show(&form, &[], None).await;
        }
        if go == "back" {
            form.step = step.saturating_sub(1);
            return page.show(&form, &[], None).await;
        }
        let current = Value::Object(form.values.clone());
        for error in form::step_errors(schema, &current) {
            if !errors.contains(&error) {
                errors.push(error);
            }
        }
        if !errors.is_empty() {
            return page.show(&form, &errors, None).await;
        }
        form.step = step + 1;
        return page.show(&form, &[], None).await;
    }

    // The review step.
    if let Some(to) = go.strip_prefix("edit-") {
        form.step = to
            .parse::<usize>()
            .unwrap_or(0)
            .min(steps.saturating_sub(1));
        return page.show(&form, &[], None).await;
    }
    if go == "back" {
        form.step = steps.saturating_sub(1);
        return page.show(&form, &[], None).await;
    }
    if go != "create" {
        return page.show(&form, &[], None).await;
    }
    // `ui:field: Secret` values go to the task's secrets, never into its stored parameters.
    let mut secrets = Map::new();
    for (name, schema) in template.parameter_properties() {
        if schema.get("ui:field").and_then(Value::as_str) == Some("Secret")
            && let Some(value) = form.values.remove(&name)
        {
            secrets.insert(name, value);
        }
    }
    let created_by = session.identity.as_ref().map(ToString::to_string);
    let values = Value::Object(form.values.clone());
    match service
        .create_task(
            &template.entity_ref,
            values.clone(),
            secrets.clone(),
            created_by,
        )
        .await
    {
        Ok(id) => {
            crate::audit::record(
                &state,
                &session.actor(),
                "task.create",
                &id,
                None,
                Some(serde_json::json!({ "templateRef": template.entity_ref, "values": values })),
            )
            .await;
            Redirect::to(&format!("/create/tasks/{}", view::encode_segment(&id))).into_response()
        }
        Err(ScaffolderError::Fields(errors)) => {
            // Back to the first step holding a field with an error, errors next to the fields.
            form.values.extend(secrets);
            form.step = first_step_with_error(&template, &form.values, &errors).unwrap_or(steps);
            page.show(&form, &errors, None).await
        }
        Err(e) => {
            form.values.extend(secrets);
            let message = match &e {
                ScaffolderError::Internal(_) | ScaffolderError::Unavailable(_) => {
                    tracing::error!(error = %e, "creating a task failed");
                    "The task could not be created; the server log has the details.".to_owned()
                }
                other => other.to_string(),
            };
            page.show(&form, &[], Some(&message)).await
        }
    }
}

/// What every answer of one template's form shares.
struct FormPage<'a> {
    state: &'a AppState,
    session: &'a Session,
    template: &'a Template,
}

impl FormPage<'_> {
    /// The form at `form.step` (the review after the last step); 400 when it comes back with
    /// errors or a message.
    async fn show(
        &self,
        form: &FormState,
        errors: &[FieldError],
        message: Option<&str>,
    ) -> Response {
        let status = if errors.is_empty() && message.is_none() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        render_form(
            self.state,
            self.session,
            self.template,
            form,
            errors,
            message,
            status,
        )
        .await
    }
}

fn first_step_with_error(
    template: &Template,
    values: &Map<String, Value>,
    errors: &[FieldError],
) -> Option<usize> {
    let values = Value::Object(values.clone());
    template.parameters.iter().position(|step| {
        let fields = form::fields_for_step(&step.schema, &values);
        let mut names = Vec::new();
        collect_names(&fields, &mut names);
        errors.iter().any(|e| names.contains(&e.field))
    })
}

fn collect_names(fields: &[FormField], out: &mut Vec<String>) {
    for f in fields {
        out.push(f.name.clone());
        collect_names(&f.children, out);
    }
}

#[derive(Serialize)]
struct StepLink {
    index: usize,
    title: String,
    state: &'static str,
}

#[derive(Serialize)]
struct ReviewSection {
    index: usize,
    title: String,
    items: Vec<ReviewItem>,
}

/// A picker's suggestions: entity refs with titles.
#[derive(Serialize)]
struct PickerOption {
    value: String,
    label: String,
}

async fn render_form(
    state: &AppState,
    session: &Session,
    template: &Template,
    form: &FormState,
    errors: &[FieldError],
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let steps = template.parameters.len();
    let values = Value::Object(form.values.clone());
    let step_links: Vec<StepLink> = template
        .parameters
        .iter()
        .enumerate()
        .map(|(i, s)| StepLink {
            index: i,
            title: s.title.clone(),
            state: match i.cmp(&form.step) {
                std::cmp::Ordering::Less => "done",
                std::cmp::Ordering::Equal => "current",
                std::cmp::Ordering::Greater => "todo",
            },
        })
        .collect();
    let mut ctx_fields: Vec<FormField> = Vec::new();
    let mut pickers: BTreeMap<String, Vec<PickerOption>> = BTreeMap::new();
    let mut review: Vec<ReviewSection> = Vec::new();
    let (title, description) = if form.step < steps {
        let step = &template.parameters[form.step];
        ctx_fields = form::fields_for_step(&step.schema, &values);
        picker_options(state, &ctx_fields, &mut pickers).await;
        (step.title.clone(), step.description.clone())
    } else {
        for (i, step) in template.parameters.iter().enumerate() {
            let fields = form::fields_for_step(&step.schema, &values);
            review.push(ReviewSection {
                index: i,
                title: step.title.clone(),
                items: form::review_items(&fields, &values),
            });
        }
        ("Review".to_owned(), None)
    };
    let field_errors: BTreeMap<String, String> = errors
        .iter()
        .filter(|e| !e.field.is_empty())
        .fold(BTreeMap::new(), |mut map, e| {
            map.entry(e.field.clone())
                .and_modify(|m: &mut String| {
                    m.push_str("; ");
                    m.push_str(&e.message);
                })
                .or_insert_with(|| e.message.clone());
            map
        });
    // Errors for fields not on this page (or for the form as a whole) are listed at the top.
    let mut shown = Vec::new();
    collect_names(&ctx_fields, &mut shown);
    let other_errors: Vec<String> = errors
        .iter()
        .filter(|e| !shown.contains(&e.field))
        .map(|e| {
            if e.field.is_empty() {
                e.message.clone()
            } else {
                format!("{}: {}", e.field, e.message)
            }
        })
        .collect();
    // The values of every step travel in one hidden field (same origin, POST only); password
    // inputs are never filled back in.
    let carried = serde_json::to_string(&form.values).unwrap_or_else(|_| "{}".into());
    render::page_with_status(
        state,
        session,
        Section::Create,
        &template.title,
        "create_form.html",
        context! {
            template => context! {
                title => template.title.clone(),
                description => template.description.clone(),
                href => form_href(template),
                entity_href => view::entity_href(&EntityRef::new("template", &template.namespace, &template.name)),
            },
            steps => Serde(step_links),
            step => form.step,
            step_count => steps,
            is_review => form.step >= steps,
            step_title => title,
            step_description => description,
            fields => Serde(ctx_fields),
            pickers => Serde(pickers),
            review => Serde(review),
            errors => Serde(field_errors),
            other_errors => Serde(other_errors),
            message,
            carried,
        },
        status,
    )
}

/// Suggestions for each picker on the page, from the catalog.
async fn picker_options(
    state: &AppState,
    fields: &[FormField],
    out: &mut BTreeMap<String, Vec<PickerOption>>,
) {
    for field in fields {
        if field.widget == Widget::Object {
            Box::pin(picker_options(state, &field.children, out)).await;
            continue;
        }
        if field.widget != Widget::Entity {
            continue;
        }
        let mut conditions = Vec::new();
        if !field.entity_kinds.is_empty() {
            conditions.push(("kind", field.entity_kinds.clone()));
        }
        if !field.entity_types.is_empty() {
            conditions.push(("spec.type", field.entity_types.clone()));
        }
        let query = EntityQuery {
            filter: view::filter_all(conditions),
            limit: Some(PICKER_OPTIONS),
            ..EntityQuery::default()
        };
        let Ok(page) = state.catalog.query_entities(&query).await else {
            continue;
        };
        let options = page
            .items
            .iter()
            .filter_map(view::parse_raw)
            .filter_map(|e| {
                let kind = e.get("kind")?.as_str()?.to_ascii_lowercase();
                let namespace = e
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("default");
                let name = e.pointer("/metadata/name")?.as_str()?;
                let title = e
                    .pointer("/metadata/title")
                    .or_else(|| e.pointer("/spec/profile/displayName"))
                    .and_then(Value::as_str)
                    .unwrap_or(name);
                Some(PickerOption {
                    value: format!("{kind}:{namespace}/{name}"),
                    label: format!("{title} ({kind})"),
                })
            })
            .collect();
        out.insert(field.name.clone(), options);
    }
}

#[derive(Serialize)]
struct StepView {
    id: String,
    name: String,
    status: String,
}

#[derive(Serialize)]
struct LogLineView {
    id: i64,
    step: Option<String>,
    message: String,
    at: String,
}

#[derive(Serialize)]
struct OutputLink {
    title: String,
    href: String,
    external: bool,
}

/// `GET /create/tasks/:id`: the task's steps, log and outputs; live while it runs.
pub async fn task_page(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let Some(service) = service(&state) else {
        return unavailable(&state, &session);
    };
    let task = match service.task(&id).await {
        Ok(t) => t,
        Err(e) => return scaffolder_error_page(&state, &session, &e),
    };
    let events = service.events(&id, None).await.unwrap_or_default();
    let status = task
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("open")
        .to_owned();
    let finished = matches!(status.as_str(), "completed" | "failed" | "cancelled");
    let mut step_status: BTreeMap<String, String> = BTreeMap::new();
    let mut log = Vec::new();
    let mut error = None;
    let mut last_id = 0;
    for event in &events {
        let event_id = event.get("id").and_then(Value::as_i64).unwrap_or(0);
        last_id = last_id.max(event_id);
        let body = event.get("body").cloned().unwrap_or(Value::Null);
        let step = body
            .get("stepId")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let (Some(step), Some(s)) = (&step, body.get("status").and_then(Value::as_str)) {
            step_status.insert(step.clone(), s.to_owned());
        }
        if let Some(message) = body.pointer("/error/message").and_then(Value::as_str) {
            error = Some(message.to_owned());
        }
        if let Some(message) = body.get("message").and_then(Value::as_str) {
            log.push(LogLineView {
                id: event_id,
                step,
                message: message.to_owned(),
                at: event
                    .get("createdAt")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            });
        }
    }
    let steps: Vec<StepView> = task
        .pointer("/spec/steps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| {
            let id = s.get("id").and_then(Value::as_str).unwrap_or("").to_owned();
            StepView {
                name: s
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or(&id)
                    .to_owned(),
                status: step_status
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| "open".into()),
                id,
            }
        })
        .collect();
    let links = output_links(task.get("output").unwrap_or(&Value::Null));
    let texts: Vec<String> = task
        .pointer("/output/text")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("content").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let template_ref = task
        .pointer("/spec/templateInfo/entityRef")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let template_title = task
        .pointer("/spec/templateInfo/entity/metadata/title")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| template_ref.clone());
    let template_href = EntityRef::parse_full(&template_ref).ok().map(|r| {
        format!(
            "/create/templates/{}/{}",
            view::encode_segment(r.namespace()),
            view::encode_segment(r.name())
        )
    });
    let stream_href = format!(
        "/create/tasks/{}/stream?after={last_id}",
        view::encode_segment(&id)
    );
    render::page(
        &state,
        &session,
        Section::Create,
        &format!("Task · {template_title}"),
        "create_task.html",
        context! {
            id,
            status,
            finished,
            created_at => task.get("createdAt").and_then(Value::as_str).unwrap_or(""),
            created_by => task.get("createdBy").and_then(Value::as_str),
            template_title,
            template_href,
            steps => Serde(steps),
            log => Serde(log),
            last_id,
            links => Serde(links),
            texts,
            error,
            stream_href,
        },
    )
}

/// The output's links: URLs as they are, `entityRef`s to their portal page.
fn output_links(output: &Value) -> Vec<OutputLink> {
    output
        .get("links")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|link| {
            let title = link
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or("Link")
                .to_owned();
            if let Some(r) = link.get("entityRef").and_then(Value::as_str) {
                let parsed = EntityRef::parse(
                    r,
                    paved_model::RefDefaults {
                        kind: Some("component"),
                        namespace: "default",
                    },
                )
                .ok()?;
                return Some(OutputLink {
                    title,
                    href: view::entity_href(&parsed),
                    external: false,
                });
            }
            let url = link.get("url").and_then(Value::as_str)?;
            // Only links a browser can follow safely.
            let safe = url.starts_with("https://")
                || url.starts_with("http://")
                || url.starts_with("file://")
                || url.starts_with('/');
            safe.then(|| OutputLink {
                title,
                href: url.to_owned(),
                external: !url.starts_with('/'),
            })
        })
        .collect()
}

#[derive(Deserialize)]
pub struct StreamQuery {
    after: Option<i64>,
}

/// `GET /create/tasks/:id/stream`: the live log as server-sent events (the task page's script
/// appends the lines and reloads the page on completion).
pub async fn task_stream(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<StreamQuery>,
) -> Response {
    let Some(service) = service(&state) else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    match crate::handlers::scaffolder::event_stream(service, id, query.after).await {
        Ok(response) => response,
        Err(ScaffolderError::NotFound(_)) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "task stream failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `POST /create/tasks/:id/cancel`.
pub async fn task_cancel(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let Some(service) = service(&state) else {
        return unavailable(&state, &session);
    };
    match service.cancel(&id).await {
        Ok(_) => {
            crate::audit::record(&state, &session.actor(), "task.cancel", &id, None, None).await;
            see_task(&id)
        }
        Err(ScaffolderError::Conflict(_)) => see_task(&id),
        Err(e) => scaffolder_error_page(&state, &session, &e),
    }
}

/// `POST /create/tasks/:id/retry`.
pub async fn task_retry(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let Some(service) = service(&state) else {
        return unavailable(&state, &session);
    };
    match service.retry(&id).await {
        Ok(()) => {
            crate::audit::record(&state, &session.actor(), "task.retry", &id, None, None).await;
            see_task(&id)
        }
        Err(e) => scaffolder_error_page(&state, &session, &e),
    }
}

fn see_task(id: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(
            header::LOCATION,
            format!("/create/tasks/{}", view::encode_segment(id)),
        )],
    )
        .into_response()
}

#[derive(Serialize)]
struct TaskRow {
    href: String,
    template: String,
    status: String,
    created_at: String,
    created_by: Option<String>,
}

/// `GET /create/tasks`: recent tasks, newest first.
pub async fn task_list(State(state): State<AppState>, session: Session) -> Response {
    let Some(service) = service(&state) else {
        return unavailable(&state, &session);
    };
    let body = match service.list_tasks(None, 100, 0).await {
        Ok(b) => b,
        Err(e) => return scaffolder_error_page(&state, &session, &e),
    };
    let rows: Vec<TaskRow> = body
        .get("tasks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|t| TaskRow {
            href: format!(
                "/create/tasks/{}",
                view::encode_segment(t.get("id").and_then(Value::as_str).unwrap_or(""))
            ),
            template: t
                .pointer("/spec/templateInfo/entity/metadata/title")
                .or_else(|| t.pointer("/spec/templateInfo/entityRef"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            status: t
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            created_at: t
                .get("createdAt")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            created_by: t
                .get("createdBy")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
        .collect();
    render::page(
        &state,
        &session,
        Section::Create,
        "Tasks",
        "create_tasks.html",
        context! { rows => Serde(rows) },
    )
}
