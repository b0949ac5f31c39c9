//! The catalog API's `filter=` and `fields=` query parameters, as Backstage parses them
//! (`parseEntityFilterParams`, `parseEntityTransformParams`), and filter matching on search rows.

use crate::search::SearchRow;
use serde_json::{Map, Value};

/// `filter` parameters: an entity matches when any of the sets matches (the parameters are
/// OR-ed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityFilter {
    pub any_of: Vec<FilterSet>,
}

/// One `filter` parameter, `kind=component,spec.owner=team-a`: all conditions must hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterSet {
    pub all_of: Vec<FilterCondition>,
}

/// One key of a filter, lower-cased. `values: None` asks only that the key exists;
/// `Some(values)` that it has any of these (lower-cased) values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterCondition {
    pub key: String,
    pub values: Option<Vec<String>>,
}

/// Why a `filter` parameter was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error(
        "invalid filter: {statement:?} is not a valid statement; expected key=value, key= or key (e.g. kind=component,spec.owner=team-a)"
    )]
    InvalidStatement { statement: String },
}

/// Parses the `filter` query parameters. Each parameter is a comma-separated list of `key=value`
/// (the key has that value), `key=` (the key has an empty value) or `key` (the key exists). A
/// key repeated in one parameter matches any of its values. No parameters, or only empty
/// ones, give `None`: no filtering.
pub fn parse_filter_params(params: &[String]) -> Result<Option<EntityFilter>, FilterError> {
    let mut any_of = Vec::new();
    for param in params {
        if let Some(set) = parse_filter_string(param)? {
            any_of.push(set);
        }
    }
    Ok(if any_of.is_empty() {
        None
    } else {
        Some(EntityFilter { any_of })
    })
}

fn parse_filter_string(param: &str) -> Result<Option<FilterSet>, FilterError> {
    // Keyed by the key as written, in first-seen order: Backstage merges repeats of the same
    // spelling only, so `Kind=a,kind=b` is two conditions that must both hold.
    let mut conditions: Vec<(String, FilterCondition)> = Vec::new();
    for statement in param.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (key, value) = match statement.split_once('=') {
            Some((key, value)) => (key.trim(), Some(value.trim())),
            None => (statement, None),
        };
        if key.is_empty() {
            return Err(FilterError::InvalidStatement {
                statement: statement.to_string(),
            });
        }
        let index = match conditions.iter().position(|(raw, _)| raw == key) {
            Some(index) => index,
            None => {
                let condition = FilterCondition {
                    key: key.to_lowercase(),
                    values: None,
                };
                conditions.push((key.to_string(), condition));
                conditions.len() - 1
            }
        };
        if let Some(value) = value {
            conditions[index]
                .1
                .values
                .get_or_insert_with(Vec::new)
                .push(value.to_lowercase());
        }
    }
    if conditions.is_empty() {
        return Ok(None);
    }
    Ok(Some(FilterSet {
        all_of: conditions.into_iter().map(|(_, c)| c).collect(),
    }))
}

impl EntityFilter {
    /// Whether an entity with these search rows matches.
    pub fn matches(&self, rows: &[SearchRow]) -> bool {
        self.any_of.iter().any(|set| set.matches(rows))
    }
}

impl FilterSet {
    pub fn matches(&self, rows: &[SearchRow]) -> bool {
        self.all_of.iter().all(|condition| condition.matches(rows))
    }
}

impl FilterCondition {
    /// A key exists when it has any row, even a null one (as in Backstage's search table).
    pub fn matches(&self, rows: &[SearchRow]) -> bool {
        let mut with_key = rows.iter().filter(|row| row.key == self.key);
        match &self.values {
            None => with_key.next().is_some(),
            Some(values) => {
                with_key.any(|row| row.value.as_ref().is_some_and(|v| values.contains(v)))
            }
        }
    }
}

/// Parses the `fields` query parameters: comma-separated dotted paths, trimmed, empty ones
/// dropped.
pub fn parse_fields_param(params: &[String]) -> Vec<String> {
    params
        .iter()
        .flat_map(|param| param.split(','))
        .map(str::trim)
        .filter(|field| !field.is_empty())
        .map(str::to_string)
        .collect()
}

/// Keeps only the given dotted paths of an entity (`fields=kind,metadata.name,spec.owner`); no
/// fields keeps everything. A path segment may itself contain dots, as annotation keys do
/// (`metadata.annotations.backstage.io/techdocs-ref`); the shortest key that exists wins, as in
/// Backstage. Paths that do not exist, or that lead into a list, select nothing.
pub fn project_fields(entity: &Value, fields: &[String]) -> Value {
    if fields.is_empty() {
        return entity.clone();
    }
    let mut output = Map::new();
    for field in fields {
        if let Some((path, value)) = resolve(entity, field) {
            insert_at(&mut output, &path, value.clone());
        }
    }
    Value::Object(output)
}

/// Finds the value at a dotted path, returning the keys it went through.
fn resolve<'a>(entity: &'a Value, field: &str) -> Option<(Vec<String>, &'a Value)> {
    let mut current = entity;
    let mut path = Vec::new();
    let mut pending = String::new();
    for segment in field.split('.') {
        if !pending.is_empty() {
            pending.push('.');
        }
        pending.push_str(segment);
        let map = current.as_object()?;
        if let Some(next) = map.get(&pending) {
            current = next;
            path.push(std::mem::take(&mut pending));
        }
    }
    if !pending.is_empty() || path.is_empty() {
        return None;
    }
    Some((path, current))
}

fn insert_at(output: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut map = output;
    for key in parents {
        let slot = map
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        let Value::Object(next) = slot else { return };
        map = next;
    }
    map.insert(last.clone(), value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::search_rows;
    use serde_json::json;

    fn params(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn condition(key: &str, values: Option<&[&str]>) -> FilterCondition {
        FilterCondition {
            key: key.into(),
            values: values.map(|v| v.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn parses_sets_conditions_and_values() {
        let parsed = parse_filter_params(&params(&[
            "kind=Component, spec.owner=Team-A,spec.owner=team-b",
            " metadata.annotations.backstage.io/techdocs-ref ,spec.type=",
            "spec.lifecycle=a=b",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            parsed.any_of,
            vec![
                FilterSet {
                    all_of: vec![
                        condition("kind", Some(&["component"])),
                        condition("spec.owner", Some(&["team-a", "team-b"])),
                    ]
                },
                FilterSet {
                    all_of: vec![
                        condition("metadata.annotations.backstage.io/techdocs-ref", None),
                        condition("spec.type", Some(&[""])),
                    ]
                },
                FilterSet {
                    all_of: vec![condition("spec.lifecycle", Some(&["a=b"]))]
                },
            ]
        );
    }

    #[test]
    fn repeated_key_merges_existence_and_values() {
        let parsed = parse_filter_params(&params(&["spec.owner,spec.owner=x", "Kind=a,kind=b"]))
            .unwrap()
            .unwrap();
        assert_eq!(
            parsed.any_of[0].all_of,
            vec![condition("spec.owner", Some(&["x"]))]
        );
        assert_eq!(
            parsed.any_of[1].all_of,
            vec![
                condition("kind", Some(&["a"])),
                condition("kind", Some(&["b"]))
            ]
        );
    }

    #[test]
    fn empty_params_mean_no_filter() {
        assert_eq!(parse_filter_params(&[]), Ok(None));
        assert_eq!(parse_filter_params(&params(&["", " , ,"])), Ok(None));
    }

    #[test]
    fn statements_without_a_key_are_errors() {
        for bad in ["=value", "kind=a, =b", " = "] {
            let error = parse_filter_params(&params(&[bad])).unwrap_err();
            assert!(
                matches!(error, FilterError::InvalidStatement { .. }),
                "{bad}"
            );
        }
        assert_eq!(
            parse_filter_params(&params(&["=value"]))
                .unwrap_err()
                .to_string(),
            "invalid filter: \"=value\" is not a valid statement; expected key=value, key= or key (e.g. kind=component,spec.owner=team-a)"
        );
    }

    #[test]
    fn matching_on_search_rows() {
        let rows = search_rows(&json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": "web", "tags": ["java", "data"], "annotations": {"x.io/y": ""}},
            "spec": {"owner": "team-a", "retired": null},
            "relations": [{"type": "ownedBy", "targetRef": "group:default/team-a"}]
        }));
        let matches = |filters: &[&str]| {
            parse_filter_params(&params(filters))
                .unwrap()
                .unwrap()
                .matches(&rows)
        };
        assert!(matches(&["kind=component"]));
        assert!(matches(&[
            "KIND=Component,spec.owner=team-b,spec.owner=TEAM-A"
        ]));
        assert!(!matches(&["kind=component,spec.owner=team-b"]));
        assert!(matches(&["kind=api", "spec.owner=team-a"]));
        assert!(matches(&["metadata.namespace=default"]));
        assert!(matches(&["metadata.tags.java,metadata.tags.data"]));
        assert!(!matches(&["metadata.tags.go"]));
        assert!(matches(&["metadata.tags=go,metadata.tags=java"]));
        assert!(matches(&["relations.ownedby=group:default/team-a"]));
        assert!(matches(&["spec.retired"]));
        assert!(!matches(&["spec.retired="]));
        assert!(matches(&["metadata.annotations.x.io/y="]));
        assert!(!matches(&["spec.missing"]));
    }

    #[test]
    fn fields_param() {
        assert_eq!(
            parse_fields_param(&params(&["kind, metadata.name,,", "spec.owner"])),
            ["kind", "metadata.name", "spec.owner"]
        );
        assert!(parse_fields_param(&params(&["", " , "])).is_empty());
    }

    #[test]
    fn projection() {
        let entity = json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {
                "name": "web",
                "annotations": {"backstage.io/techdocs-ref": "dir:.", "other": "x"},
                "tags": ["a"]
            },
            "spec": {"owner": "team-a", "type": "service"}
        });
        let fields = |list: &[&str]| params(list);
        assert_eq!(
            project_fields(
                &entity,
                &fields(&[
                    "kind",
                    "metadata.name",
                    "spec.owner",
                    "spec.missing",
                    "metadata.tags.0"
                ])
            ),
            json!({"kind": "Component", "metadata": {"name": "web"}, "spec": {"owner": "team-a"}})
        );
        assert_eq!(
            project_fields(
                &entity,
                &fields(&["metadata.annotations.backstage.io/techdocs-ref"])
            ),
            json!({"metadata": {"annotations": {"backstage.io/techdocs-ref": "dir:."}}})
        );
        assert_eq!(
            project_fields(&entity, &fields(&["metadata", "metadata.name"])),
            json!({"metadata": entity["metadata"].clone()})
        );
        assert_eq!(project_fields(&entity, &[]), entity);
    }
}
