//! View models: entities as JSON from the store, shaped into what the templates show
//! (display names, links, owner and system references, the links bar).

use paved_model::EntityRef;
use paved_model::entity_ref::RefDefaults;
use paved_model::filter::{EntityFilter, FilterCondition, FilterSet};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The label `tier` (`metadata.labels.tier`) marks how critical a component is.
pub const TIER_LABEL: &str = "tier";
pub const CRITICAL_TIER: &str = "critical";

/// A link to an entity page with what to show for it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RefLink {
    pub entity_ref: String,
    pub kind: String,
    pub label: String,
    pub href: String,
}

/// One entity as a row or a card: the fields every page shows.
#[derive(Clone, Debug, Serialize)]
pub struct EntitySummary {
    pub entity_ref: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub title: String,
    pub description: String,
    pub spec_type: Option<String>,
    pub lifecycle: Option<String>,
    pub owner: Option<RefLink>,
    pub system: Option<RefLink>,
    pub tier: Option<String>,
    pub critical: bool,
    pub tags: Vec<String>,
    pub href: String,
    pub orphan: bool,
}

fn str_at<'a>(object: &'a Map<String, Value>, path: &[&str]) -> Option<&'a str> {
    let (last, parents) = path.split_last()?;
    let mut current = object;
    for key in parents {
        current = current.get(*key)?.as_object()?;
    }
    current.get(*last)?.as_str()
}

/// A filter whose conditions must all hold; each condition matches any of its values.
/// No conditions = no filter. Keys and values are lower-cased, as the filter language does.
pub fn filter_all(conditions: Vec<(&str, Vec<String>)>) -> Option<EntityFilter> {
    let all_of: Vec<FilterCondition> = conditions
        .into_iter()
        .map(|(key, values)| FilterCondition {
            key: key.to_lowercase(),
            values: Some(values.iter().map(|v| v.to_lowercase()).collect()),
        })
        .collect();
    (!all_of.is_empty()).then(|| EntityFilter {
        any_of: vec![FilterSet { all_of }],
    })
}

/// Parses stored entity JSON, skipping anything unreadable (it was written by the store, so
/// that would be a bug, not input).
pub fn parse_raw(raw: &paved_store::RawEntity) -> Option<Value> {
    serde_json::from_str(&raw.json).ok()
}

/// `/catalog/<namespace>/<kind>/<name>`, each segment percent-encoded.
pub fn entity_href(entity: &EntityRef) -> String {
    entity.portal_path()
}

pub use paved_model::entity_ref::encode_path_segment as encode_segment;

/// A query-string component, form-encoded.
pub fn encode_query(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Display form of a kind: Backstage's capitalisation for the built-in kinds.
pub fn kind_label(kind: &str) -> String {
    match kind.to_ascii_lowercase().as_str() {
        "api" => "API".into(),
        "component" => "Component".into(),
        "resource" => "Resource".into(),
        "system" => "System".into(),
        "domain" => "Domain".into(),
        "group" => "Group".into(),
        "user" => "User".into(),
        "location" => "Location".into(),
        "template" => "Template".into(),
        other => {
            let mut chars = other.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
    }
}

/// A reference as people read it: the name alone in the default namespace and the expected
/// kind, `kind:name` or `namespace/name` otherwise.
pub fn short_ref(entity: &EntityRef, expected_kind: Option<&str>) -> String {
    let mut out = String::new();
    if expected_kind != Some(entity.kind()) {
        out.push_str(entity.kind());
        out.push(':');
    }
    if entity.namespace() != paved_model::entity_ref::DEFAULT_NAMESPACE {
        out.push_str(entity.namespace());
        out.push('/');
    }
    out.push_str(entity.name());
    out
}

/// Titles of entities already loaded, so references show `Checkout Service` rather than
/// `component:default/checkout-service` where the page has the target at hand.
pub type Titles = HashMap<String, String>;

pub fn ref_link(entity: &EntityRef, expected_kind: Option<&str>, titles: &Titles) -> RefLink {
    let key = entity.to_string();
    RefLink {
        label: titles
            .get(&key)
            .cloned()
            .unwrap_or_else(|| short_ref(entity, expected_kind)),
        kind: entity.kind().to_owned(),
        href: entity_href(entity),
        entity_ref: key,
    }
}

/// A reference written in an entity's spec (`owner: team-a`), resolved with Backstage's
/// defaults: the given kind and the referring entity's namespace.
pub fn spec_ref(value: &str, default_kind: &str, namespace: &str) -> Option<EntityRef> {
    EntityRef::parse(
        value,
        RefDefaults {
            kind: Some(default_kind),
            namespace,
        },
    )
    .ok()
}

impl EntitySummary {
    pub fn from_value(value: &Value, titles: &Titles) -> Option<EntitySummary> {
        let object = value.as_object()?;
        let kind = object.get("kind")?.as_str()?.to_owned();
        let name = str_at(object, &["metadata", "name"])?.to_owned();
        let namespace = str_at(object, &["metadata", "namespace"])
            .unwrap_or(paved_model::entity_ref::DEFAULT_NAMESPACE)
            .to_owned();
        let entity_ref = EntityRef::new(&kind, &namespace, &name);
        let title = str_at(object, &["metadata", "title"])
            .filter(|t| !t.trim().is_empty())
            .unwrap_or(&name)
            .to_owned();
        let lower_ns = entity_ref.namespace().to_owned();
        let owner = str_at(object, &["spec", "owner"])
            .and_then(|o| spec_ref(o, "group", &lower_ns))
            .map(|r| ref_link(&r, Some("group"), titles));
        let system = str_at(object, &["spec", "system"])
            .and_then(|s| spec_ref(s, "system", &lower_ns))
            .map(|r| ref_link(&r, Some("system"), titles));
        let tier = str_at(object, &["metadata", "labels", TIER_LABEL]).map(str::to_owned);
        let tags = object
            .get("metadata")
            .and_then(|m| m.get("tags"))
            .and_then(Value::as_array)
            .map(|tags| {
                tags.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let orphan = str_at(
            object,
            &[
                "metadata",
                "annotations",
                paved_model::entity::annotation::ORPHAN,
            ],
        ) == Some("true");
        Some(EntitySummary {
            href: entity_href(&entity_ref),
            entity_ref: entity_ref.to_string(),
            critical: tier.as_deref() == Some(CRITICAL_TIER),
            kind: kind_label(&kind),
            namespace,
            name,
            title,
            description: str_at(object, &["metadata", "description"])
                .unwrap_or_default()
                .to_owned(),
            spec_type: str_at(object, &["spec", "type"]).map(str::to_owned),
            lifecycle: str_at(object, &["spec", "lifecycle"]).map(str::to_owned),
            owner,
            system,
            tier,
            tags,
            orphan,
        })
    }
}

/// One item of the links bar. `url` None = not configured for this entity (shown disabled,
/// so a missing runbook is visible).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct QuickLink {
    pub label: &'static str,
    pub icon: &'static str,
    pub url: Option<String>,
    pub title: Option<String>,
}

/// Other links of `metadata.links` that no quick link took.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ExtraLink {
    pub title: String,
    pub url: String,
    pub icon: String,
}

/// Only web links are shown as links; `javascript:` and the like never reach an `href`.
fn safe_url(url: &str) -> Option<String> {
    let trimmed = url.trim();
    let lower = trimmed.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://") || trimmed.starts_with('/'))
        .then(|| trimmed.to_owned())
}

/// The links bar — Docs, API, Runbook, Alerts, Dashboards, Deploy, Source — from
/// `metadata.links` (by `type`, then `icon`, then title words) and the well-known annotations.
/// `docs_href`/`api_href` are the portal's own tabs when the entity has them.
pub fn quick_links(
    value: &Value,
    docs_href: Option<String>,
    api_href: Option<String>,
) -> (Vec<QuickLink>, Vec<ExtraLink>) {
    struct Slot {
        label: &'static str,
        icon: &'static str,
        words: &'static [&'static str],
        found: Option<(String, Option<String>)>,
    }
    let mut slots = [
        Slot {
            label: "Docs",
            icon: "docs",
            words: &["docs", "documentation", "techdocs"],
            found: docs_href.map(|h| (h, None)),
        },
        Slot {
            label: "API",
            icon: "api",
            words: &["api", "openapi", "swagger"],
            found: api_href.map(|h| (h, None)),
        },
        Slot {
            label: "Runbook",
            icon: "runbook",
            words: &["runbook", "playbook"],
            found: None,
        },
        Slot {
            label: "Alerts",
            icon: "alert",
            words: &["alerts", "alert", "alerting", "oncall", "pager"],
            found: None,
        },
        Slot {
            label: "Dashboards",
            icon: "dashboard",
            words: &["dashboard", "dashboards", "grafana", "metrics"],
            found: None,
        },
        Slot {
            label: "Deploy",
            icon: "deploy",
            words: &["deploy", "deployment", "deployments", "argocd", "release"],
            found: None,
        },
        Slot {
            label: "Source",
            icon: "source",
            words: &["source", "repository", "repo", "github", "gitlab", "code"],
            found: None,
        },
    ];
    let mut extra = Vec::new();
    let links = value
        .pointer("/metadata/links")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for link in &links {
        let Some(url) = link.get("url").and_then(Value::as_str).and_then(safe_url) else {
            continue;
        };
        let title = link.get("title").and_then(Value::as_str).map(str::to_owned);
        let link_type = link
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        let icon = link
            .get("icon")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        let title_words: Vec<String> = title
            .as_deref()
            .unwrap_or("")
            .to_ascii_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        let matches = |slot: &Slot| {
            slot.words.contains(&link_type.as_str())
                || slot.words.contains(&icon.as_str())
                || title_words.iter().any(|w| slot.words.contains(&w.as_str()))
        };
        match slots.iter_mut().find(|s| s.found.is_none() && matches(s)) {
            Some(slot) => slot.found = Some((url, title)),
            None => extra.push(ExtraLink {
                title: title.unwrap_or_else(|| url.clone()),
                url,
                icon,
            }),
        }
    }
    let annotation = |key: &str| {
        value
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let source = annotation("backstage.io/source-location")
        .map(|s| s.strip_prefix("url:").unwrap_or(&s).to_owned())
        .or_else(|| annotation("backstage.io/view-url"))
        .or_else(|| {
            annotation("github.com/project-slug").map(|slug| format!("https://github.com/{slug}"))
        })
        .or_else(|| {
            annotation("gitlab.com/project-slug").map(|slug| format!("https://gitlab.com/{slug}"))
        })
        .and_then(|u| safe_url(&u));
    let pagerduty = annotation("pagerduty.com/service-id").map(|id| {
        format!(
            "https://app.pagerduty.com/service-directory/{}",
            encode_segment(&id)
        )
    });
    for slot in &mut slots {
        if slot.found.is_some() {
            continue;
        }
        slot.found = match slot.label {
            "Source" => source.clone().map(|u| (u, None)),
            "Alerts" => pagerduty.clone().map(|u| (u, Some("PagerDuty".into()))),
            _ => None,
        };
    }
    let bar = slots
        .into_iter()
        .map(|slot| QuickLink {
            label: slot.label,
            icon: slot.icon,
            title: slot.found.as_ref().and_then(|(_, t)| t.clone()),
            url: slot.found.map(|(u, _)| u),
        })
        .collect();
    (bar, extra)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summary_resolves_owner_and_system_in_the_entity_namespace() {
        let value = json!({
            "apiVersion": "backstage.io/v1alpha1", "kind": "Component",
            "metadata": {"name": "Checkout", "namespace": "shop", "labels": {"tier": "critical"}, "tags": ["rust"]},
            "spec": {"type": "service", "lifecycle": "production", "owner": "team-a", "system": "default/payments"}
        });
        let mut titles = Titles::new();
        titles.insert("group:shop/team-a".into(), "Team A".into());
        let summary = EntitySummary::from_value(&value, &titles).unwrap();
        assert_eq!(summary.href, "/catalog/shop/component/checkout");
        assert_eq!(summary.title, "Checkout");
        assert!(summary.critical);
        let owner = summary.owner.unwrap();
        assert_eq!(owner.entity_ref, "group:shop/team-a");
        assert_eq!(owner.label, "Team A");
        assert_eq!(
            summary.system.unwrap().href,
            "/catalog/default/system/payments"
        );
    }

    #[test]
    fn quick_links_fill_slots_from_links_and_annotations() {
        let value = json!({
            "metadata": {
                "annotations": {
                    "backstage.io/source-location": "url:https://github.com/acme/checkout/",
                    "pagerduty.com/service-id": "P123"
                },
                "links": [
                    {"url": "https://runbooks.example.com/checkout", "title": "Runbook", "type": "runbook"},
                    {"url": "https://grafana.example.com/d/x", "title": "Grafana dashboard", "icon": "dashboard"},
                    {"url": "javascript:alert(1)", "title": "Docs"},
                    {"url": "https://status.example.com", "title": "Status page"}
                ]
            }
        });
        let (bar, extra) = quick_links(&value, None, Some("/catalog/default/api/x/api".into()));
        let by_label: HashMap<&str, Option<String>> =
            bar.iter().map(|l| (l.label, l.url.clone())).collect();
        assert_eq!(by_label["Docs"], None, "a javascript: link is never used");
        assert_eq!(
            by_label["API"].as_deref(),
            Some("/catalog/default/api/x/api")
        );
        assert_eq!(
            by_label["Runbook"].as_deref(),
            Some("https://runbooks.example.com/checkout")
        );
        assert_eq!(
            by_label["Dashboards"].as_deref(),
            Some("https://grafana.example.com/d/x")
        );
        assert_eq!(
            by_label["Source"].as_deref(),
            Some("https://github.com/acme/checkout/")
        );
        assert_eq!(
            by_label["Alerts"].as_deref(),
            Some("https://app.pagerduty.com/service-directory/P123")
        );
        assert_eq!(by_label["Deploy"], None);
        assert_eq!(extra.len(), 1);
        assert_eq!(extra[0].title, "Status page");
    }

    #[test]
    fn hrefs_escape_segments() {
        let entity = EntityRef::new("component", "default", "a b/c");
        assert_eq!(entity_href(&entity), "/catalog/default/component/a%20b%2Fc");
        assert_eq!(short_ref(&entity, Some("component")), "a b/c");
        assert_eq!(
            short_ref(&EntityRef::new("group", "ops", "sre"), Some("user")),
            "group:ops/sre"
        );
    }
}

/// One value of a facet on a filter panel (catalog, search): its count, whether it is chosen,
/// and the link that toggles it.
#[derive(Serialize)]
pub struct FacetValueView {
    pub value: String,
    pub label: String,
    pub count: u64,
    pub selected: bool,
    pub href: String,
}
