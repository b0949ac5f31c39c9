//! Entity pages: the header and links bar, Overview cards per kind, the Dependencies graph,
//! the API definition, the YAML as stored, processing errors; and the refresh, unregister and
//! star actions.

use super::graph::{self, GraphDirection};
use super::identity::{self, Session};
use super::render::{self, Section};
use super::view::{self, EntitySummary, RefLink, Titles};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::Serde;
use paved_catalog::{CatalogError, CatalogResult};
use paved_model::EntityRef;
use paved_model::entity::PROCESSING_STATUS_TYPE;
use paved_store::LocationOrigin;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// Related entities listed per card before "and N more".
const CARD_LIMIT: usize = 200;

#[derive(Deserialize)]
pub struct EntityPath {
    namespace: String,
    kind: String,
    name: String,
}

#[derive(Deserialize)]
pub struct TabPath {
    namespace: String,
    kind: String,
    name: String,
    tab: String,
}

#[derive(Deserialize, Default)]
pub struct EntityQueryParams {
    notice: Option<String>,
    depth: Option<usize>,
    direction: Option<String>,
}

/// A card of related entities on the Overview tab.
#[derive(Serialize)]
struct Card {
    id: &'static str,
    title: &'static str,
    empty: &'static str,
    items: Vec<Related>,
    more: usize,
    more_href: Option<String>,
}

#[derive(Serialize)]
struct Related {
    link: RefLink,
    summary: Option<EntitySummary>,
}

#[derive(Serialize)]
struct ErrorItem {
    message: String,
    location: Option<String>,
    field: Option<String>,
    warning: bool,
}

#[derive(Serialize)]
struct Tab {
    key: &'static str,
    label: &'static str,
    href: String,
    active: bool,
}

/// Everything the entity's pages share.
pub(super) struct Loaded {
    pub(super) value: Value,
    pub(super) entity_ref: EntityRef,
    pub(super) summary: EntitySummary,
    relations: BTreeMap<String, Vec<EntityRef>>,
}

pub(super) async fn load(
    state: &AppState,
    namespace: &str,
    kind: &str,
    name: &str,
) -> CatalogResult<Loaded> {
    let entity_ref = EntityRef::new(kind, namespace, name);
    let raw = state
        .catalog
        .entity_by_ref(&entity_ref)
        .await?
        .ok_or_else(|| {
            CatalogError::NotFound(format!(
                "There is no {} named '{}' in namespace '{}'.",
                view::kind_label(kind),
                name,
                namespace
            ))
        })?;
    let value = view::parse_raw(&raw).unwrap_or(Value::Null);
    let mut relations: BTreeMap<String, Vec<EntityRef>> = BTreeMap::new();
    for relation in value
        .get("relations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(kind), Some(target)) = (
            relation.get("type").and_then(Value::as_str),
            relation.get("targetRef").and_then(Value::as_str),
        ) else {
            continue;
        };
        if let Ok(target) = EntityRef::parse_full(target) {
            relations.entry(kind.to_owned()).or_default().push(target);
        }
    }
    let owner_refs: Vec<EntityRef> = relations.get("ownedBy").cloned().unwrap_or_default();
    let mut titled: Vec<EntityRef> = owner_refs;
    titled.extend(relations.get("partOf").cloned().unwrap_or_default());
    let titles = super::catalog::titles_of(state, &titled).await?;
    let summary = EntitySummary::from_value(&value, &titles).ok_or_else(|| {
        CatalogError::Internal(format!("stored entity {entity_ref} has no kind or name"))
    })?;
    Ok(Loaded {
        value,
        entity_ref,
        summary,
        relations,
    })
}

fn tabs(loaded: &Loaded, active: &str) -> Vec<Tab> {
    let base = loaded.summary.href.clone();
    let mut tabs = vec![
        Tab {
            key: "overview",
            label: "Overview",
            href: base.clone(),
            active: active == "overview",
        },
        Tab {
            key: "dependencies",
            label: "Dependencies",
            href: format!("{base}/dependencies"),
            active: active == "dependencies",
        },
    ];
    if loaded.entity_ref.kind() == "api" {
        tabs.push(Tab {
            key: "definition",
            label: "Definition",
            href: format!("{base}/definition"),
            active: active == "definition",
        });
    }
    if paved_docs::source::techdocs_ref(&loaded.value).is_some() {
        tabs.push(Tab {
            key: "docs",
            label: "Docs",
            href: format!("{base}/docs"),
            active: active == "docs",
        });
    }
    tabs.push(Tab {
        key: "yaml",
        label: "YAML",
        href: format!("{base}/yaml"),
        active: active == "yaml",
    });
    tabs
}

fn processing_errors(value: &Value) -> Vec<ErrorItem> {
    value
        .pointer("/status/items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|item| item.get("type").and_then(Value::as_str) == Some(PROCESSING_STATUS_TYPE))
        .map(|item| {
            let error = item.get("error").unwrap_or(&Value::Null);
            let message = error
                .get("message")
                .or_else(|| item.get("message"))
                .and_then(Value::as_str)
                .unwrap_or("processing error")
                .to_owned();
            let file = error.get("file").and_then(Value::as_str);
            let line = error.get("line").and_then(Value::as_u64);
            let column = error.get("column").and_then(Value::as_u64);
            let location = file.map(|f| match (line, column) {
                (Some(l), Some(c)) => format!("{f}:{l}:{c}"),
                (Some(l), None) => format!("{f}:{l}"),
                _ => f.to_owned(),
            });
            ErrorItem {
                message,
                location,
                field: error
                    .get("field")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                warning: item.get("level").and_then(Value::as_str) == Some("warning"),
            }
        })
        .collect()
}

/// The context every tab of the entity page shares.
pub(super) fn base_context(
    loaded: &Loaded,
    session: &Session,
    active: &str,
    notice: Option<&str>,
) -> minijinja::Value {
    let api_href =
        (loaded.entity_ref.kind() == "api").then(|| format!("{}/definition", loaded.summary.href));
    let docs_href = paved_docs::source::techdocs_ref(&loaded.value)
        .is_some()
        .then(|| format!("{}/docs", loaded.summary.href));
    let (quick_links, extra_links) = view::quick_links(&loaded.value, docs_href, api_href);
    let notice = notice.and_then(|n| match n {
        "refreshed" => Some("The entity's location was read again."),
        "starred" => Some("Added to your starred entities."),
        "unstarred" => Some("Removed from your starred entities."),
        _ => None,
    });
    context! {
        entity => Serde(&loaded.summary),
        raw => Serde(&loaded.value),
        tabs => Serde(tabs(loaded, active)),
        tab => active,
        quick_links => Serde(quick_links),
        extra_links => Serde(extra_links),
        errors => Serde(processing_errors(&loaded.value)),
        starred => session.is_starred(&loaded.summary.entity_ref),
        notice,
    }
}

pub async fn overview(
    State(state): State<AppState>,
    session: Session,
    Path(path): Path<EntityPath>,
    Query(params): Query<EntityQueryParams>,
) -> Response {
    match overview_page(&state, &session, &path, &params).await {
        Ok(response) => response,
        Err(error) => render::error_page(&state, &session, &error),
    }
}

/// The Overview cards of each kind: (card id, heading, relation type, text when empty).
fn cards_for(kind: &str) -> &'static [(&'static str, &'static str, &'static str, &'static str)] {
    match kind {
        "component" => &[
            (
                "provides",
                "APIs provided",
                "providesApi",
                "Provides no APIs.",
            ),
            (
                "consumes",
                "APIs consumed",
                "consumesApi",
                "Consumes no APIs.",
            ),
            (
                "depends-on",
                "Depends on",
                "dependsOn",
                "Depends on nothing in the catalog.",
            ),
            (
                "depended-on-by",
                "Depended on by",
                "dependencyOf",
                "Nothing depends on it.",
            ),
            ("has-part", "Has part", "hasPart", "Has no subcomponents."),
        ],
        "api" => &[
            (
                "provided-by",
                "Provided by",
                "apiProvidedBy",
                "No component provides it.",
            ),
            (
                "consumed-by",
                "Consumed by",
                "apiConsumedBy",
                "No component consumes it.",
            ),
        ],
        "resource" => &[
            (
                "depended-on-by",
                "Depended on by",
                "dependencyOf",
                "Nothing depends on it.",
            ),
            (
                "depends-on",
                "Depends on",
                "dependsOn",
                "Depends on nothing in the catalog.",
            ),
        ],
        "system" | "domain" => &[("has-part", "Has part", "hasPart", "Has no parts yet.")],
        "group" => &[
            ("members", "Members", "hasMember", "Has no members."),
            (
                "children",
                "Child groups",
                "parentOf",
                "Has no child groups.",
            ),
            ("parent", "Parent group", "childOf", "Is a top-level group."),
            ("owns", "Owns", "ownerOf", "Owns nothing in the catalog."),
        ],
        "user" => &[
            ("member-of", "Member of", "memberOf", "Is in no group."),
            ("owns", "Owns", "ownerOf", "Owns nothing directly."),
        ],
        _ => &[],
    }
}

/// Relation types shown in the header or cards; any other goes to "Other relations".
const HEADER_RELATIONS: [&str; 2] = ["ownedBy", "partOf"];

async fn overview_page(
    state: &AppState,
    session: &Session,
    path: &EntityPath,
    params: &EntityQueryParams,
) -> CatalogResult<Response> {
    let loaded = load(state, &path.namespace, &path.kind, &path.name).await?;
    let kind = loaded.entity_ref.kind().to_owned();
    let card_specs = cards_for(&kind);

    // One read for every related entity the cards list.
    let mut wanted: Vec<EntityRef> = Vec::new();
    for (_, _, relation, _) in card_specs {
        wanted.extend(
            loaded
                .relations
                .get(*relation)
                .into_iter()
                .flatten()
                .take(CARD_LIMIT)
                .cloned(),
        );
    }
    let mut other: BTreeMap<String, Vec<EntityRef>> = BTreeMap::new();
    for (relation, targets) in &loaded.relations {
        if !HEADER_RELATIONS.contains(&relation.as_str())
            && !card_specs.iter().any(|(_, _, r, _)| r == relation)
        {
            other.insert(relation.clone(), targets.clone());
            wanted.extend(targets.iter().take(CARD_LIMIT).cloned());
        }
    }
    wanted.sort();
    wanted.dedup();
    let related: HashMap<String, Value> = wanted
        .iter()
        .zip(state.catalog.entities_by_refs(&wanted).await?)
        .filter_map(|(r, raw)| Some((r.to_string(), view::parse_raw(raw.as_ref()?)?)))
        .collect();
    let titles: Titles = related
        .iter()
        .filter_map(|(r, v)| {
            Some((
                r.clone(),
                v.pointer("/metadata/title")?.as_str()?.to_owned(),
            ))
        })
        .collect();
    let related_of = |targets: &[EntityRef], expected_kind: Option<&str>| -> Vec<Related> {
        let mut items: Vec<Related> = targets
            .iter()
            .take(CARD_LIMIT)
            .map(|target| {
                let summary = related
                    .get(&target.to_string())
                    .and_then(|v| EntitySummary::from_value(v, &titles));
                let mut link = view::ref_link(target, expected_kind, &titles);
                if let Some(summary) = &summary {
                    // An entity in the catalog is named by its title (or name), not its ref.
                    link.label = summary.title.clone();
                }
                Related { link, summary }
            })
            .collect();
        items.sort_by(|a, b| {
            a.link
                .label
                .to_lowercase()
                .cmp(&b.link.label.to_lowercase())
        });
        items
    };
    let cards: Vec<Card> = card_specs
        .iter()
        .map(|(id, title, relation, empty)| {
            let targets = loaded.relations.get(*relation).cloned().unwrap_or_default();
            Card {
                id,
                title,
                empty,
                items: related_of(&targets, None),
                more: targets.len().saturating_sub(CARD_LIMIT),
                more_href: (targets.len() > CARD_LIMIT).then(|| {
                    format!(
                        "/catalog?{}",
                        relation_filter_query(relation, &loaded.entity_ref)
                    )
                }),
            }
        })
        .collect();
    let other_relations: Vec<(String, Vec<Related>)> = other
        .iter()
        .map(|(relation, targets)| (relation.clone(), related_of(targets, None)))
        .collect();

    // Systems and domains show their parts as a diagram.
    let parts_svg = if matches!(kind.as_str(), "system" | "domain") {
        Some(graph::parts_diagram(state, &loaded.entity_ref, &loaded.value).await?)
    } else {
        None
    };
    let user_profile = (kind == "user").then(|| {
        let profile = loaded.value.pointer("/spec/profile");
        context! {
            display_name => profile.and_then(|p| p.get("displayName")).and_then(Value::as_str),
            email => profile.and_then(|p| p.get("email")).and_then(Value::as_str),
        }
    });
    let definition_summary = (kind == "api")
        .then(|| {
            loaded
                .value
                .pointer("/spec/definition")
                .and_then(Value::as_str)
        })
        .flatten()
        .map(|definition| {
            let api_type = loaded.summary.spec_type.clone().unwrap_or_default();
            paved_render::apidef::render_api_definition(&api_type, definition).summary
        });
    let ctx = context! {
        cards => Serde(cards),
        other_relations => Serde(other_relations),
        parts_svg => Serde(parts_svg),
        user_profile,
        definition_summary => Serde(definition_summary),
        spec => Serde(loaded.value.get("spec").unwrap_or(&Value::Null)),
        ..base_context(&loaded, session, "overview", params.notice.as_deref())
    };
    Ok(render::page(
        state,
        session,
        Section::Catalog,
        &loaded.summary.title,
        "entity_overview.html",
        ctx,
    ))
}

fn relation_filter_query(relation: &str, entity: &EntityRef) -> String {
    // The inverse relation points back at this entity from each target.
    let inverse = match relation {
        "ownerOf" => "relations.ownedBy",
        "hasMember" => "relations.memberOf",
        "hasPart" => "relations.partOf",
        "dependencyOf" => "relations.dependsOn",
        "apiConsumedBy" => "relations.consumesApi",
        "apiProvidedBy" => "relations.providesApi",
        "parentOf" => "relations.childOf",
        _ => "relations.ownedBy",
    };
    // The catalog page has no free-form filter parameter; owned entities use its owner facet.
    if inverse == "relations.ownedBy" {
        format!("owner={}", view::encode_query(&entity.to_string()))
    } else {
        format!("q={}", view::encode_query(entity.name()))
    }
}

pub async fn tab(
    State(state): State<AppState>,
    session: Session,
    Path(path): Path<TabPath>,
    Query(params): Query<EntityQueryParams>,
) -> Response {
    let result = match path.tab.as_str() {
        "dependencies" => dependencies_page(&state, &session, &path, &params).await,
        "definition" => definition_page(&state, &session, &path).await,
        "yaml" => yaml_page(&state, &session, &path).await,
        "docs" => {
            super::docs::entity_docs(
                &state,
                &session,
                &path.namespace,
                &path.kind,
                &path.name,
                "",
            )
            .await
        }
        "unregister" => unregister_confirm(&state, &session, &path).await,
        other => Err(CatalogError::NotFound(format!(
            "An entity page has no tab '{other}'."
        ))),
    };
    match result {
        Ok(response) => response,
        Err(error) => render::error_page(&state, &session, &error),
    }
}

pub const MAX_GRAPH_DEPTH: usize = 4;

async fn dependencies_page(
    state: &AppState,
    session: &Session,
    path: &TabPath,
    params: &EntityQueryParams,
) -> CatalogResult<Response> {
    let loaded = load(state, &path.namespace, &path.kind, &path.name).await?;
    let depth = params.depth.unwrap_or(2).clamp(1, MAX_GRAPH_DEPTH);
    let direction = match params.direction.as_deref() {
        Some("downstream") => GraphDirection::Downstream,
        Some("upstream") => GraphDirection::Upstream,
        _ => GraphDirection::Both,
    };
    let rendered =
        graph::dependency_graph(state, &loaded.entity_ref, &loaded.value, depth, direction).await?;
    let base = loaded.summary.href.clone();
    let depth_links: Vec<minijinja::Value> = (1..=MAX_GRAPH_DEPTH)
        .map(|d| {
            context! {
                depth => d,
                active => d == depth,
                href => format!("{base}/dependencies?depth={d}&direction={}", direction.as_str()),
            }
        })
        .collect();
    let direction_links: Vec<minijinja::Value> = [
        GraphDirection::Both,
        GraphDirection::Downstream,
        GraphDirection::Upstream,
    ]
    .into_iter()
    .map(|d| {
        context! {
            label => d.label(),
            active => d == direction,
            href => format!("{base}/dependencies?depth={depth}&direction={}", d.as_str()),
        }
    })
    .collect();
    let ctx = context! {
        graph => Serde(rendered),
        depth,
        depth_links,
        direction_links,
        direction => direction.as_str(),
        max_depth => MAX_GRAPH_DEPTH,
        ..base_context(&loaded, session, "dependencies", None)
    };
    Ok(render::page(
        state,
        session,
        Section::Catalog,
        &format!("Dependencies of {}", loaded.summary.title),
        "entity_dependencies.html",
        ctx,
    ))
}

async fn definition_page(
    state: &AppState,
    session: &Session,
    path: &TabPath,
) -> CatalogResult<Response> {
    let loaded = load(state, &path.namespace, &path.kind, &path.name).await?;
    if loaded.entity_ref.kind() != "api" {
        return Err(CatalogError::NotFound(
            "Only API entities have a definition.".into(),
        ));
    }
    let definition = loaded
        .value
        .pointer("/spec/definition")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let api_type = loaded.summary.spec_type.clone().unwrap_or_default();
    let rendered = paved_render::apidef::render_api_definition(&api_type, definition);
    let ctx = context! {
        definition_html => minijinja::Value::from_safe_string(rendered.html),
        raw_html => minijinja::Value::from_safe_string(rendered.raw_html),
        warnings => rendered.warnings,
        format_label => rendered.summary.format.label(),
        counts => Serde(rendered.summary.counts()),
        summary => Serde(&rendered.summary),
        api_type,
        ..base_context(&loaded, session, "definition", None)
    };
    Ok(render::page(
        state,
        session,
        Section::Catalog,
        &format!("{} definition", loaded.summary.title),
        "entity_definition.html",
        ctx,
    ))
}

async fn yaml_page(state: &AppState, session: &Session, path: &TabPath) -> CatalogResult<Response> {
    let loaded = load(state, &path.namespace, &path.kind, &path.name).await?;
    let yaml = serde_saphyr::to_string(&loaded.value)
        .unwrap_or_else(|_| serde_json::to_string_pretty(&loaded.value).unwrap_or_default());
    let highlighted =
        paved_render::highlight::highlight(paved_render::highlight::Language::Yaml, &yaml);
    let ctx = context! {
        yaml_html => minijinja::Value::from_safe_string(highlighted),
        ..base_context(&loaded, session, "yaml", None)
    };
    Ok(render::page(
        state,
        session,
        Section::Catalog,
        &format!("{} YAML", loaded.summary.title),
        "entity_yaml.html",
        ctx,
    ))
}

/// What unregistering would remove: the whole location that provides the entity (as
/// Backstage does), or only the entity when it is an orphan.
async fn unregister_confirm(
    state: &AppState,
    session: &Session,
    path: &TabPath,
) -> CatalogResult<Response> {
    let loaded = load(state, &path.namespace, &path.kind, &path.name).await?;
    let location = if loaded.summary.orphan {
        None
    } else {
        state
            .catalog
            .location_by_entity(&loaded.entity_ref)
            .await
            .ok()
    };
    let ctx = context! {
        location => location.as_ref().map(|l| context! {
            target => l.target.clone(),
            kind => l.kind.clone(),
            from_config => l.origin == LocationOrigin::Config,
        }),
        ..base_context(&loaded, session, "overview", None)
    };
    Ok(render::page(
        state,
        session,
        Section::Catalog,
        &format!("Unregister {}", loaded.summary.title),
        "entity_unregister.html",
        ctx,
    ))
}

pub async fn refresh(
    State(state): State<AppState>,
    session: Session,
    Path(path): Path<EntityPath>,
) -> Response {
    let entity_ref = EntityRef::new(&path.kind, &path.namespace, &path.name);
    match state.catalog.refresh_entity(&entity_ref).await {
        Ok(outcome) => {
            crate::audit::record(
                &state,
                &session.actor(),
                "entity.refresh",
                &entity_ref.to_string(),
                None,
                serde_json::to_value(&outcome).ok(),
            )
            .await;
            Redirect::to(&format!(
                "{}?notice=refreshed",
                view::entity_href(&entity_ref)
            ))
            .into_response()
        }
        Err(error) => render::error_page(&state, &session, &error),
    }
}

pub async fn unregister(
    State(state): State<AppState>,
    session: Session,
    Path(path): Path<EntityPath>,
) -> Response {
    let entity_ref = EntityRef::new(&path.kind, &path.namespace, &path.name);
    let result: CatalogResult<(&str, String, Value)> = async {
        let raw = state
            .catalog
            .entity_by_ref(&entity_ref)
            .await?
            .ok_or_else(|| CatalogError::NotFound(format!("no entity named '{entity_ref}'")))?;
        let value = view::parse_raw(&raw).unwrap_or(Value::Null);
        let orphan = value
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(paved_model::entity::annotation::ORPHAN))
            .and_then(Value::as_str)
            == Some("true");
        if orphan {
            let before = value.clone();
            let uid = value.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or_default();
            state.catalog.delete_entity_by_uid(uid).await?;
            return Ok(("entity.delete", entity_ref.to_string(), before));
        }
        let location = state.catalog.location_by_entity(&entity_ref).await?;
        if location.origin == LocationOrigin::Config {
            return Err(CatalogError::Forbidden(format!(
                "{} comes from paved's configuration; remove it there (catalog.locations or --location).",
                location.target
            )));
        }
        state.catalog.delete_location(&location.id).await?;
        Ok((
            "location.delete",
            format!("{}:{}", location.kind, location.target),
            serde_json::json!({"id": location.id.0, "kind": location.kind, "target": location.target}),
        ))
    }
    .await;
    match result {
        Ok((action, target, before)) => {
            crate::audit::record(
                &state,
                &session.actor(),
                action,
                &target,
                Some(before),
                None,
            )
            .await;
            Redirect::to("/catalog?notice=unregistered").into_response()
        }
        Err(error) => render::error_page(&state, &session, &error),
    }
}
pub async fn toggle_star(session: Session, Path(path): Path<EntityPath>) -> Response {
    let entity_ref = EntityRef::new(&path.kind, &path.namespace, &path.name).to_string();
    let mut stars = session.stars.clone();
    let notice = if let Some(position) = stars.iter().position(|s| *s == entity_ref) {
        stars.remove(position);
        "unstarred"
    } else {
        stars.insert(0, entity_ref.clone());
        stars.truncate(identity::MAX_STARS);
        "starred"
    };
    let href = EntityRef::parse_full(&entity_ref)
        .map(|r| view::entity_href(&r))
        .unwrap_or_else(|_| "/catalog".into());
    let mut response = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, format!("{href}?notice={notice}"))],
    )
        .into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, identity::stars_cookie(&stars));
    response
}
