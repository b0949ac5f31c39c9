//! The home page: search, "my services" (what the user's groups own), starred and recently
//! changed entities, counts per kind and the processing-error badge.

use super::identity::Session;
use super::render::{self, Section};
use super::view::{self, EntitySummary, Titles};
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;
use paved_catalog::CatalogResult;
use paved_model::EntityRef;
use paved_store::{EntityQuery, OrderField};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashSet;

const RECENT: usize = 10;
const MY_SERVICES: usize = 24;

#[derive(Serialize)]
struct KindCount {
    kind: String,
    label: String,
    count: u64,
    href: String,
}

#[derive(Serialize)]
struct RecentChange {
    entity: Option<EntitySummary>,
    entity_ref: String,
    removed: bool,
    /// Unix milliseconds; the page shows it in the reader's locale via `<time>`.
    at: i64,
    at_iso: String,
}

pub async fn page(State(state): State<AppState>, session: Session) -> Response {
    match build(&state, &session).await {
        Ok(ctx) => render::page(&state, &session, Section::Home, "", "home.html", ctx),
        Err(error) => render::error_page(&state, &session, &error),
    }
}

async fn build(state: &AppState, session: &Session) -> CatalogResult<minijinja::Value> {
    let catalog = &state.catalog;
    let counts: Vec<KindCount> = catalog
        .count_by_kind()
        .await?
        .into_iter()
        .map(|(kind, count)| KindCount {
            label: view::kind_label(&kind),
            href: format!("/catalog?kind={}", view::encode_query(&kind)),
            kind,
            count,
        })
        .collect();
    let total: u64 = counts.iter().map(|c| c.count).sum();
    let error_count = catalog.processing_errors().await?.len();

    let mut recent = Vec::new();
    let mut seen = HashSet::new();
    for change in catalog.recent_changes(RECENT * 5).await? {
        if recent.len() == RECENT {
            break;
        }
        if seen.insert(change.entity_ref.clone()) {
            recent.push(change);
        }
    }
    let recent_refs: Vec<EntityRef> = recent.iter().map(|c| c.entity_ref.clone()).collect();
    let recent_entities = catalog.entities_by_refs(&recent_refs).await?;
    let recent: Vec<RecentChange> = recent
        .into_iter()
        .zip(recent_entities)
        .map(|(change, raw)| RecentChange {
            entity: raw
                .as_ref()
                .and_then(view::parse_raw)
                .and_then(|v| EntitySummary::from_value(&v, &Titles::new())),
            entity_ref: change.entity_ref.to_string(),
            removed: change.etag.is_none(),
            at: change.at,
            at_iso: iso_time(change.at),
        })
        .collect();

    let starred_refs: Vec<EntityRef> = session
        .stars
        .iter()
        .filter_map(|r| EntityRef::parse_full(r).ok())
        .collect();
    let starred: Vec<EntitySummary> = catalog
        .entities_by_refs(&starred_refs)
        .await?
        .iter()
        .flatten()
        .filter_map(view::parse_raw)
        .filter_map(|v| EntitySummary::from_value(&v, &Titles::new()))
        .collect();

    let (my_groups, my_services) = match &session.identity {
        Some(user) => my_services(state, user).await?,
        None => (Vec::new(), Vec::new()),
    };

    Ok(context! {
        counts => Serde(counts),
        total,
        error_count,
        recent => Serde(recent),
        starred => Serde(starred),
        my_groups => Serde(my_groups),
        my_services => Serde(my_services),
    })
}

/// The groups `user` is a member of, and what the user or those groups own (components,
/// APIs, resources, systems first by name).
async fn my_services(
    state: &AppState,
    user: &EntityRef,
) -> CatalogResult<(Vec<view::RefLink>, Vec<EntitySummary>)> {
    let Some(raw) = state.catalog.entity_by_ref(user).await? else {
        return Ok((Vec::new(), Vec::new()));
    };
    let user_value: Value = view::parse_raw(&raw).unwrap_or(Value::Null);
    let groups: Vec<EntityRef> = user_value
        .get("relations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| r.get("type").and_then(Value::as_str) == Some("memberOf"))
        .filter_map(|r| r.get("targetRef").and_then(Value::as_str))
        .filter_map(|r| EntityRef::parse_full(r).ok())
        .collect();
    let mut owners: Vec<String> = groups.iter().map(ToString::to_string).collect();
    owners.push(user.to_string());
    let query = EntityQuery {
        filter: view::filter_all(vec![
            ("relations.ownedBy", owners),
            (
                "kind",
                vec![
                    "component".into(),
                    "api".into(),
                    "resource".into(),
                    "system".into(),
                ],
            ),
        ]),
        order: vec![OrderField {
            field: "metadata.name".into(),
            descending: false,
        }],
        limit: Some(MY_SERVICES),
        ..EntityQuery::default()
    };
    let owned: Vec<EntitySummary> = state
        .catalog
        .query_entities(&query)
        .await?
        .items
        .iter()
        .filter_map(view::parse_raw)
        .filter_map(|v| EntitySummary::from_value(&v, &Titles::new()))
        .collect();
    let groups = groups
        .iter()
        .map(|g| view::ref_link(g, Some("group"), &Titles::new()))
        .collect();
    Ok((groups, owned))
}

/// Unix milliseconds as an RFC 3339 UTC timestamp (for `<time datetime>`).
pub fn iso_time(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_time_formats_utc() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_time(1_795_000_000_000), "2026-11-18T11:06:40Z");
        assert_eq!(iso_time(951_782_400_000), "2000-02-29T00:00:00Z");
    }
}
