//! Relations the built-in kinds emit from their spec references, in both directions, as
//! Backstage's `BuiltinKindsEntityProcessor` (and the scaffolder's processor for Template
//! owners) does.

use crate::diagnostic::Diagnostic;
use crate::entity::{EmittedRelation, Entity};
use crate::entity_ref::{EntityRef, RefDefaults, RefError};
use serde_json::Value;

pub const OWNED_BY: &str = "ownedBy";
pub const OWNER_OF: &str = "ownerOf";
pub const DEPENDS_ON: &str = "dependsOn";
pub const DEPENDENCY_OF: &str = "dependencyOf";
pub const PROVIDES_API: &str = "providesApi";
pub const API_PROVIDED_BY: &str = "apiProvidedBy";
pub const CONSUMES_API: &str = "consumesApi";
pub const API_CONSUMED_BY: &str = "apiConsumedBy";
pub const PART_OF: &str = "partOf";
pub const HAS_PART: &str = "hasPart";
pub const MEMBER_OF: &str = "memberOf";
pub const HAS_MEMBER: &str = "hasMember";
pub const CHILD_OF: &str = "childOf";
pub const PARENT_OF: &str = "parentOf";

/// One spec field that holds references: the kind assumed when a reference leaves it out, the
/// relation from the entity to the target, and the one back.
struct RefField {
    field: &'static str,
    default_kind: Option<&'static str>,
    outgoing: &'static str,
    incoming: &'static str,
}

const fn field(
    field: &'static str,
    default_kind: Option<&'static str>,
    outgoing: &'static str,
    incoming: &'static str,
) -> RefField {
    RefField {
        field,
        default_kind,
        outgoing,
        incoming,
    }
}

const OWNER: RefField = field("owner", Some("Group"), OWNED_BY, OWNER_OF);
const SYSTEM: RefField = field("system", Some("System"), PART_OF, HAS_PART);
const DEPENDS: RefField = field("dependsOn", None, DEPENDS_ON, DEPENDENCY_OF);
const DEPENDENCY: RefField = field("dependencyOf", None, DEPENDENCY_OF, DEPENDS_ON);

const COMPONENT: &[RefField] = &[
    OWNER,
    field("subcomponentOf", Some("Component"), PART_OF, HAS_PART),
    field("providesApis", Some("API"), PROVIDES_API, API_PROVIDED_BY),
    field("consumesApis", Some("API"), CONSUMES_API, API_CONSUMED_BY),
    DEPENDS,
    DEPENDENCY,
    SYSTEM,
];
const API: &[RefField] = &[OWNER, SYSTEM];
const RESOURCE: &[RefField] = &[OWNER, DEPENDS, DEPENDENCY, SYSTEM];
const SYSTEM_KIND: &[RefField] = &[OWNER, field("domain", Some("Domain"), PART_OF, HAS_PART)];
const DOMAIN: &[RefField] = &[
    OWNER,
    field("subdomainOf", Some("Domain"), PART_OF, HAS_PART),
];
const USER: &[RefField] = &[field("memberOf", Some("Group"), MEMBER_OF, HAS_MEMBER)];
const GROUP: &[RefField] = &[
    field("parent", Some("Group"), CHILD_OF, PARENT_OF),
    field("children", Some("Group"), PARENT_OF, CHILD_OF),
    field("members", Some("User"), HAS_MEMBER, MEMBER_OF),
];
const TEMPLATE: &[RefField] = &[OWNER];

/// The reference fields of a kind. Backstage matches the kind exactly and ignores the
/// apiVersion, except for Template, which only the scaffolder's apiVersion gives an owner.
fn reference_fields(entity: &Entity) -> &'static [RefField] {
    match entity.kind() {
        "Component" => COMPONENT,
        "API" => API,
        "Resource" => RESOURCE,
        "System" => SYSTEM_KIND,
        "Domain" => DOMAIN,
        "User" => USER,
        "Group" => GROUP,
        "Template" if entity.api_version().starts_with("scaffolder.backstage.io/") => TEMPLATE,
        _ => &[],
    }
}

/// The relations an entity's spec references produce, both directions for each reference
/// (`A ownedBy G` and `G ownerOf A`), and a diagnostic for each reference that cannot be
/// parsed. A reference without a kind takes the field's default kind, and without a namespace
/// the entity's own namespace.
pub fn emit_relations(entity: &Entity) -> (Vec<EmittedRelation>, Vec<Diagnostic>) {
    let mut relations = Vec::new();
    let mut diagnostics = Vec::new();
    let Some(spec) = entity.spec() else {
        return (relations, diagnostics);
    };
    let fields = reference_fields(entity);
    if fields.is_empty() {
        return (relations, diagnostics);
    }
    let self_ref = entity.entity_ref();
    let namespace = entity.namespace();

    for ref_field in fields {
        let Some(value) = spec.get(ref_field.field) else {
            continue;
        };
        let path = format!("spec.{}", ref_field.field);
        let targets: Vec<(String, &Value)> = match value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| (format!("{path}[{i}]"), item))
                .collect(),
            // Backstage skips empty values (`if (!targets) return`).
            Value::Null => continue,
            Value::String(s) if s.is_empty() => continue,
            single => vec![(path.clone(), single)],
        };
        for (item_path, target) in targets {
            let Some(text) = target.as_str() else {
                diagnostics.push(
                    Diagnostic::error(format!(
                        "{item_path} must be an entity reference string such as \"group:default/team-a\""
                    ))
                    .with_field(item_path),
                );
                continue;
            };
            let defaults = RefDefaults {
                kind: ref_field.default_kind,
                namespace,
            };
            match EntityRef::parse(text, defaults) {
                Ok(target_ref) => {
                    relations.push(EmittedRelation {
                        source: self_ref.clone(),
                        relation_type: ref_field.outgoing.to_string(),
                        target: target_ref.clone(),
                    });
                    relations.push(EmittedRelation {
                        source: target_ref,
                        relation_type: ref_field.incoming.to_string(),
                        target: self_ref.clone(),
                    });
                }
                Err(error) => {
                    diagnostics.push(
                        Diagnostic::error(reference_message(&item_path, text, &error))
                            .with_field(item_path),
                    );
                }
            }
        }
    }
    (relations, diagnostics)
}

fn reference_message(path: &str, text: &str, error: &RefError) -> String {
    match error {
        RefError::MissingKind(_) => {
            let field = path
                .split('[')
                .next()
                .unwrap_or(path)
                .trim_start_matches("spec.");
            format!(
                "{path} {} needs a kind, because {field} has no default kind; write it as kind:name, e.g. \"component:{}\" or \"resource:{}\"",
                quoted(text),
                text.trim(),
                text.trim()
            )
        }
        RefError::Empty => format!("{path} is an empty entity reference"),
        RefError::Malformed(_, why) => {
            format!(
                "{path} {} is not a valid entity reference ([kind:][namespace/]name): {why}",
                quoted(text)
            )
        }
    }
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};
    use serde_json::json;

    fn check(value: Value, expected: Expect) {
        let entity = Entity::from_value(value).expect("an object");
        let (relations, diagnostics) = emit_relations(&entity);
        let mut text = String::new();
        for r in relations {
            text.push_str(&format!("{} {} {}\n", r.source, r.relation_type, r.target));
        }
        for d in diagnostics {
            text.push_str(&format!("{d}\n"));
        }
        expected.assert_eq(&text);
    }

    #[test]
    fn component() {
        check(
            json!({
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Component",
                "metadata": {"name": "Web", "namespace": "shop"},
                "spec": {
                    "type": "website", "lifecycle": "production",
                    "owner": "team-a",
                    "subcomponentOf": "portal",
                    "providesApis": ["web-api", "default/public-api"],
                    "consumesApis": ["component:artist-lookup"],
                    "dependsOn": ["resource:db", "Component:ops/auth"],
                    "dependencyOf": ["system:checkout"],
                    "system": "storefront"
                }
            }),
            expect![[r#"
                component:shop/web ownedBy group:shop/team-a
                group:shop/team-a ownerOf component:shop/web
                component:shop/web partOf component:shop/portal
                component:shop/portal hasPart component:shop/web
                component:shop/web providesApi api:shop/web-api
                api:shop/web-api apiProvidedBy component:shop/web
                component:shop/web providesApi api:default/public-api
                api:default/public-api apiProvidedBy component:shop/web
                component:shop/web consumesApi component:shop/artist-lookup
                component:shop/artist-lookup apiConsumedBy component:shop/web
                component:shop/web dependsOn resource:shop/db
                resource:shop/db dependencyOf component:shop/web
                component:shop/web dependsOn component:ops/auth
                component:ops/auth dependencyOf component:shop/web
                component:shop/web dependencyOf system:shop/checkout
                system:shop/checkout dependsOn component:shop/web
                component:shop/web partOf system:shop/storefront
                system:shop/storefront hasPart component:shop/web
            "#]],
        );
    }

    #[test]
    fn group_with_parent_children_and_members() {
        check(
            json!({
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Group",
                "metadata": {"name": "team-a"},
                "spec": {
                    "type": "team",
                    "parent": "backstage",
                    "children": ["team-a1", "other/team-a2"],
                    "members": ["breanna.davison", "user:ops/frank"]
                }
            }),
            expect![[r#"
                group:default/team-a childOf group:default/backstage
                group:default/backstage parentOf group:default/team-a
                group:default/team-a parentOf group:default/team-a1
                group:default/team-a1 childOf group:default/team-a
                group:default/team-a parentOf group:other/team-a2
                group:other/team-a2 childOf group:default/team-a
                group:default/team-a hasMember user:default/breanna.davison
                user:default/breanna.davison memberOf group:default/team-a
                group:default/team-a hasMember user:ops/frank
                user:ops/frank memberOf group:default/team-a
            "#]],
        );
    }

    #[test]
    fn user_in_another_namespace() {
        check(
            json!({
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "User",
                "metadata": {"name": "guest", "namespace": "development"},
                "spec": {"memberOf": ["default/team-a", "devs"]}
            }),
            expect![[r#"
                user:development/guest memberOf group:default/team-a
                group:default/team-a hasMember user:development/guest
                user:development/guest memberOf group:development/devs
                group:development/devs hasMember user:development/guest
            "#]],
        );
    }

    #[test]
    fn resource_with_dependency_of() {
        check(
            json!({
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Resource",
                "metadata": {"name": "artists-db"},
                "spec": {"type": "database", "owner": "user:guest", "dependencyOf": ["component:artist-lookup"], "system": "artist-engagement-portal"}
            }),
            expect![[r#"
                resource:default/artists-db ownedBy user:default/guest
                user:default/guest ownerOf resource:default/artists-db
                resource:default/artists-db dependencyOf component:default/artist-lookup
                component:default/artist-lookup dependsOn resource:default/artists-db
                resource:default/artists-db partOf system:default/artist-engagement-portal
                system:default/artist-engagement-portal hasPart resource:default/artists-db
            "#]],
        );
    }

    #[test]
    fn other_kinds() {
        check(
            json!({
                "apiVersion": "backstage.io/v1alpha1", "kind": "System", "metadata": {"name": "s"},
                "spec": {"owner": "o", "domain": "d"}
            }),
            expect![[r#"
                system:default/s ownedBy group:default/o
                group:default/o ownerOf system:default/s
                system:default/s partOf domain:default/d
                domain:default/d hasPart system:default/s
            "#]],
        );
        check(
            json!({
                "apiVersion": "backstage.io/v1alpha1", "kind": "Domain", "metadata": {"name": "audio"},
                "spec": {"owner": "o", "subdomainOf": "media"}
            }),
            expect![[r#"
                domain:default/audio ownedBy group:default/o
                group:default/o ownerOf domain:default/audio
                domain:default/audio partOf domain:default/media
                domain:default/media hasPart domain:default/audio
            "#]],
        );
        check(
            json!({
                "apiVersion": "backstage.io/v1alpha1", "kind": "API", "metadata": {"name": "a"},
                "spec": {"owner": "o", "system": "s", "definition": "x"}
            }),
            expect![[r#"
                api:default/a ownedBy group:default/o
                group:default/o ownerOf api:default/a
                api:default/a partOf system:default/s
                system:default/s hasPart api:default/a
            "#]],
        );
        check(
            json!({
                "apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template", "metadata": {"name": "t"},
                "spec": {"owner": "platform", "type": "service", "steps": []}
            }),
            expect![[r#"
                template:default/t ownedBy group:default/platform
                group:default/platform ownerOf template:default/t
            "#]],
        );
        // Custom kinds and Locations emit nothing here.
        check(
            json!({"apiVersion": "example.com/v1", "kind": "Blueprint", "metadata": {"name": "b"}, "spec": {"owner": "x"}}),
            expect![[""]],
        );
        check(
            json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Location", "metadata": {"name": "l"}, "spec": {"targets": ["./a.yaml"]}}),
            expect![[""]],
        );
    }

    #[test]
    fn bad_references_are_diagnostics_with_field_paths() {
        check(
            json!({
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Component",
                "metadata": {"name": "web"},
                "spec": {
                    "owner": "",
                    "system": "a:b/c/d",
                    "dependsOn": ["db", 3, "resource:cache"],
                    "providesApis": ["  "]
                }
            }),
            expect![[r#"
                component:default/web dependsOn resource:default/cache
                resource:default/cache dependencyOf component:default/web
                error: spec.providesApis[0] is an empty entity reference (at spec.providesApis[0])
                error: spec.dependsOn[0] "db" needs a kind, because dependsOn has no default kind; write it as kind:name, e.g. "component:db" or "resource:db" (at spec.dependsOn[0])
                error: spec.dependsOn[1] must be an entity reference string such as "group:default/team-a" (at spec.dependsOn[1])
                error: spec.system "a:b/c/d" is not a valid entity reference ([kind:][namespace/]name): too many ':' or '/' separators (at spec.system)
            "#]],
        );
    }
}
