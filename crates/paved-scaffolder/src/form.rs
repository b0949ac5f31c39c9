//! Parameter steps as forms, the way Backstage's scaffolder form reads them: which fields a step
//! shows for the values given so far (`dependencies` with `oneOf` branches chosen by the value of
//! the field they depend on), which widget each field gets (`type`, `enum`, `ui:widget`,
//! `ui:field` pickers), how submitted text becomes typed values, and the errors of one step.
//!
//! No HTML here: the portal renders [`FormField`]s, and the same rules serve any other client.

use crate::service::FieldError;
use serde::Serialize;
use serde_json::{Map, Value};

/// How a field is shown and how its submitted text is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Widget {
    Text,
    Textarea,
    Password,
    Number,
    Checkbox,
    Select,
    Radio,
    /// A list of choices, several allowed (an array of `enum` items).
    Checkboxes,
    /// A list of strings, one per line.
    Lines,
    /// A list of tags separated by commas or spaces (`EntityTagsPicker`).
    Tags,
    /// An entity of the catalog (`EntityPicker`, `OwnerPicker`, `OwnedEntityPicker`): a text
    /// input with the matching entities as suggestions.
    Entity,
    /// `RepoUrlPicker`: host, owner and repository, combined into `host?owner=o&repo=r`.
    RepoUrl,
    /// A nested object: its own fields.
    Object,
    /// Anything else (arrays of objects, free objects): JSON text.
    Json,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// The parts of a RepoUrlPicker value.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RepoParts {
    pub host: String,
    pub owner: String,
    pub repo: String,
}

/// One field of a form step, ready to render.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FormField {
    /// The value's path: `name`, or `parent.child` inside an object.
    pub name: String,
    pub label: String,
    pub widget: Widget,
    /// The JSON type of the value (`string`, `integer`, `number`, `boolean`, `array`, `object`).
    pub value_type: String,
    pub description: Option<String>,
    pub help: Option<String>,
    pub placeholder: Option<String>,
    pub required: bool,
    pub autofocus: bool,
    pub pattern: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub options: Vec<Choice>,
    /// The value as text (the input's `value`).
    pub value: String,
    /// Chosen values of a `Checkboxes` field.
    pub selected: Vec<String>,
    /// `Checkbox`: whether it is ticked.
    pub checked: bool,
    /// Pickers: the kinds of entities offered (lower case; empty = any).
    pub entity_kinds: Vec<String>,
    /// Pickers: the `spec.type` values offered, if the template narrows them.
    pub entity_types: Vec<String>,
    /// The picker's default kind for a value written without one (`defaultKind`).
    pub default_kind: Option<String>,
    /// `RepoUrlPicker`: the hosts offered.
    pub allowed_hosts: Vec<String>,
    pub repo: Option<RepoParts>,
    /// Fields of a nested object.
    pub children: Vec<FormField>,
    /// A value that must not be shown again (passwords, `ui:field: Secret`).
    pub secret: bool,
    /// The `ui:field` as written, for pickers the portal fills from the catalog.
    pub ui_field: Option<String>,
    /// Other fields depend on this one's value (`dependencies`): the form is shown again when
    /// it changes.
    pub controls: bool,
}

fn text(schema: &Value, key: &str) -> Option<String> {
    schema.get(key).and_then(Value::as_str).map(str::to_string)
}

fn ui_option<'a>(schema: &'a Value, key: &str) -> Option<&'a Value> {
    schema.get("ui:options").and_then(|o| o.get(key))
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            })
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The value at a dotted path.
pub fn value_at<'a>(values: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(values, |v, key| v.get(key))
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The fields a step shows, given the values so far. `dependencies` add the fields of the
/// `oneOf` branch whose own copy of the depended-on field matches its current value (or the
/// dependency's plain `properties` once the field has a value).
pub fn fields_for_step(schema: &Value, values: &Value) -> Vec<FormField> {
    fields_of_object(schema, values, "")
}

fn fields_of_object(schema: &Value, values: &Value, prefix: &str) -> Vec<FormField> {
    let required: Vec<String> = strings(schema.get("required"));
    let mut fields = Vec::new();
    let add = |name: &str, prop: &Value, required: bool, fields: &mut Vec<FormField>| {
        if fields
            .iter()
            .any(|f: &FormField| f.name == format!("{prefix}{name}"))
        {
            return;
        }
        if prop.get("ui:widget").and_then(Value::as_str) == Some("hidden") {
            return;
        }
        fields.push(field(name, prop, required, values, prefix));
    };
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            add(name, prop, required.contains(name), &mut fields);
        }
    }
    if let Some(deps) = schema.get("dependencies").and_then(Value::as_object) {
        for field in fields.iter_mut() {
            if deps.contains_key(field.name.trim_start_matches(prefix)) {
                field.controls = true;
            }
        }
        for (on, dep) in deps {
            let current = value_at(values, &format!("{prefix}{on}"));
            if current.is_none_or(Value::is_null) {
                continue;
            }
            let mut branches: Vec<&Value> = Vec::new();
            if let Some(one_of) = dep.get("oneOf").and_then(Value::as_array) {
                if let Some(branch) = one_of
                    .iter()
                    .find(|b| branch_matches(b, on, current.unwrap_or(&Value::Null)))
                {
                    branches.push(branch);
                }
            } else if dep.get("properties").is_some() {
                branches.push(dep);
            }
            for branch in branches {
                let branch_required = strings(branch.get("required"));
                if let Some(props) = branch.get("properties").and_then(Value::as_object) {
                    for (name, prop) in props {
                        if name == on {
                            continue;
                        }
                        add(name, prop, branch_required.contains(name), &mut fields);
                    }
                }
            }
        }
    }
    fields
}

/// Whether a `oneOf` branch is the one for `value` of `on`: its copy of `on` lists the value in
/// `enum` or has it as `const`.
fn branch_matches(branch: &Value, on: &str, value: &Value) -> bool {
    let Some(prop) = branch.get("properties").and_then(|p| p.get(on)) else {
        return false;
    };
    if let Some(options) = prop.get("enum").and_then(Value::as_array) {
        return options.contains(value);
    }
    if let Some(constant) = prop.get("const") {
        return constant == value;
    }
    false
}

fn field(name: &str, prop: &Value, required: bool, values: &Value, prefix: &str) -> FormField {
    let path = format!("{prefix}{name}");
    let value_type = prop
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("string")
        .to_string();
    let ui_field = text(prop, "ui:field");
    let ui_widget = text(prop, "ui:widget");
    let current = value_at(values, &path).or_else(|| prop.get("default"));
    let enum_values: Vec<Value> = prop
        .get("enum")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let enum_names = strings(prop.get("enumNames"));
    let choices = |values: &[Value], names: &[String]| -> Vec<Choice> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Choice {
                value: scalar_text(v),
                label: names.get(i).cloned().unwrap_or_else(|| scalar_text(v)),
            })
            .collect()
    };
    let mut field = FormField {
        name: path.clone(),
        label: text(prop, "title").unwrap_or_else(|| name.to_string()),
        widget: Widget::Text,
        value_type: value_type.clone(),
        description: text(prop, "description"),
        help: text(prop, "ui:help"),
        placeholder: text(prop, "ui:placeholder"),
        required,
        autofocus: prop.get("ui:autofocus").and_then(Value::as_bool) == Some(true),
        pattern: text(prop, "pattern"),
        min: prop.get("minimum").and_then(Value::as_f64),
        max: prop.get("maximum").and_then(Value::as_f64),
        min_length: prop.get("minLength").and_then(Value::as_u64),
        max_length: prop.get("maxLength").and_then(Value::as_u64),
        options: Vec::new(),
        value: current.map(scalar_text).unwrap_or_default(),
        selected: Vec::new(),
        checked: false,
        entity_kinds: Vec::new(),
        entity_types: Vec::new(),
        default_kind: None,
        allowed_hosts: Vec::new(),
        repo: None,
        children: Vec::new(),
        secret: false,
        ui_field: ui_field.clone(),
        controls: false,
    };
    match ui_field.as_deref() {
        Some("EntityPicker" | "OwnerPicker" | "OwnedEntityPicker" | "MyGroupsPicker") => {
            field.widget = Widget::Entity;
            let mut kinds = strings(ui_option(prop, "allowedKinds"));
            let filter = ui_option(prop, "catalogFilter");
            // `catalogFilter` is one filter object or a list of them.
            for f in filter
                .map(|f| match f {
                    Value::Array(list) => list.clone(),
                    other => vec![other.clone()],
                })
                .unwrap_or_default()
            {
                kinds.extend(strings(f.get("kind")));
                field.entity_types.extend(strings(f.get("spec.type")));
            }
            if kinds.is_empty()
                && matches!(ui_field.as_deref(), Some("OwnerPicker" | "MyGroupsPicker"))
            {
                kinds = vec!["Group".into(), "User".into()];
            }
            field.entity_kinds = kinds.iter().map(|k| k.to_ascii_lowercase()).collect();
            field.default_kind = ui_option(prop, "defaultKind")
                .and_then(Value::as_str)
                .map(str::to_string);
            return field;
        }
        Some("EntityTagsPicker") => {
            field.widget = Widget::Tags;
            field.value = current
                .map(|v| strings(Some(v)).join(", "))
                .unwrap_or_default();
            return field;
        }
        Some("RepoUrlPicker") => {
            field.widget = Widget::RepoUrl;
            field.allowed_hosts = strings(ui_option(prop, "allowedHosts"));
            let parts = current
                .and_then(Value::as_str)
                .and_then(|s| crate::filters::parse_repo_url(s).ok())
                .map(|r| RepoParts {
                    host: r.host,
                    owner: r.owner.unwrap_or_default(),
                    repo: r.repo,
                })
                .unwrap_or_else(|| RepoParts {
                    host: field.allowed_hosts.first().cloned().unwrap_or_default(),
                    ..RepoParts::default()
                });
            field.repo = Some(parts);
            return field;
        }
        Some("Secret") => {
            field.widget = Widget::Password;
            field.secret = true;
            return field;
        }
        _ => {}
    }
    match value_type.as_str() {
        "boolean" => {
            field.widget = Widget::Checkbox;
            field.checked = current.and_then(Value::as_bool).unwrap_or(false);
        }
        "number" | "integer" if enum_values.is_empty() => field.widget = Widget::Number,
        "array" => {
            let items = prop.get("items").cloned().unwrap_or(Value::Null);
            let item_enum: Vec<Value> = items
                .get("enum")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if !item_enum.is_empty() {
                field.widget = Widget::Checkboxes;
                field.options = choices(&item_enum, &strings(items.get("enumNames")));
                field.selected = current.map(|v| strings(Some(v))).unwrap_or_default();
            } else if matches!(
                items.get("type").and_then(Value::as_str),
                Some("string") | None
            ) && !items.get("properties").is_some_and(Value::is_object)
            {
                field.widget = Widget::Lines;
                field.value = current
                    .map(|v| strings(Some(v)).join("\n"))
                    .unwrap_or_default();
            } else {
                field.widget = Widget::Json;
                field.value = current
                    .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
                    .unwrap_or_default();
            }
        }
        "object" => {
            if prop.get("properties").is_some_and(Value::is_object) {
                field.widget = Widget::Object;
                field.children = fields_of_object(prop, values, &format!("{path}."));
            } else {
                field.widget = Widget::Json;
                field.value = current
                    .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
                    .unwrap_or_default();
            }
        }
        _ => {
            if !enum_values.is_empty() {
                field.options = choices(&enum_values, &enum_names);
                field.widget = if ui_widget.as_deref() == Some("radio") {
                    Widget::Radio
                } else {
                    Widget::Select
                };
            } else {
                field.widget = match ui_widget.as_deref() {
                    Some("textarea") => Widget::Textarea,
                    Some("password") => {
                        field.secret = true;
                        Widget::Password
                    }
                    _ => Widget::Text,
                };
            }
        }
    }
    field
}

/// Fills in the `default` of every parameter (top level and inside objects) that `values` does
/// not have, as the form does by pre-filling it: for values that come from a file (the CLI).
pub fn apply_defaults(schema: &Value, values: &mut Map<String, Value>) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, prop) in props {
        if let Some(default) = prop.get("default")
            && !values.contains_key(name)
        {
            values.insert(name.clone(), default.clone());
        }
        if prop.get("properties").is_some()
            && let Some(Value::Object(inner)) = values.get_mut(name)
        {
            apply_defaults(prop, inner);
        }
    }
}

/// Reads a submitted step into `values`: each field's text becomes a value of its type. Text
/// that cannot be read as its type is kept as text, so that the schema reports the field;
/// JSON that does not parse is an error of its own. Empty inputs remove the value (so that
/// `required` speaks).
pub fn apply_submission(
    fields: &[FormField],
    submitted: &[(String, String)],
    values: &mut Map<String, Value>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for field in fields {
        apply_field(field, submitted, values, &mut errors);
    }
    errors
}

fn submitted_values<'a>(submitted: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    submitted
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn typed(text: &str, value_type: &str) -> Value {
    match value_type {
        "integer" => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(text.to_string())),
        "number" => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(text.to_string())),
        "boolean" => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            other => Value::String(other.to_string()),
        },
        _ => Value::String(text.to_string()),
    }
}

fn set_path(values: &mut Map<String, Value>, path: &str, value: Option<Value>) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else {
        return;
    };
    let mut map = values;
    for part in parts {
        let entry = map
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(inner) = entry else {
            return;
        };
        map = inner;
    }
    match value {
        Some(v) => {
            map.insert(last.to_string(), v);
        }
        None => {
            map.remove(last);
        }
    }
}

fn apply_field(
    field: &FormField,
    submitted: &[(String, String)],
    values: &mut Map<String, Value>,
    errors: &mut Vec<FieldError>,
) {
    let first = submitted_values(submitted, &field.name)
        .first()
        .map(|s| s.to_string());
    let non_empty = |s: Option<String>| s.filter(|t| !t.trim().is_empty());
    let value = match field.widget {
        Widget::Object => {
            for child in &field.children {
                apply_field(child, submitted, values, errors);
            }
            return;
        }
        Widget::Checkbox => Some(Value::Bool(
            submitted_values(submitted, &field.name).contains(&"true"),
        )),
        Widget::Checkboxes => {
            let item_type = if field.options.iter().all(|o| o.value.parse::<i64>().is_ok())
                && !field.options.is_empty()
                && field.value_type != "string"
            {
                "integer"
            } else {
                "string"
            };
            Some(Value::Array(
                submitted_values(submitted, &field.name)
                    .into_iter()
                    .map(|v| typed(v, item_type))
                    .collect(),
            ))
        }
        Widget::Lines => non_empty(first).map(|t| {
            Value::Array(
                t.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| Value::String(l.to_string()))
                    .collect(),
            )
        }),
        Widget::Tags => non_empty(first).map(|t| {
            Value::Array(
                t.split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|l| !l.is_empty())
                    .map(|l| Value::String(l.to_string()))
                    .collect(),
            )
        }),
        Widget::RepoUrl => {
            let part = |p: &str| {
                submitted_values(submitted, &format!("{}.{p}", field.name))
                    .first()
                    .map(|s| s.trim().to_string())
                    .unwrap_or_default()
            };
            let (host, owner, repo) = (part("host"), part("owner"), part("repo"));
            if repo.is_empty() {
                None
            } else {
                let mut url = format!("{host}?repo={}", encode(&repo));
                if !owner.is_empty() {
                    url = format!("{host}?owner={}&repo={}", encode(&owner), encode(&repo));
                }
                Some(Value::String(url))
            }
        }
        Widget::Json => match non_empty(first) {
            None => None,
            Some(t) => match serde_json::from_str::<Value>(&t) {
                Ok(v) => Some(v),
                Err(e) => {
                    errors.push(FieldError {
                        field: field.name.clone(),
                        message: format!("is not valid JSON: {e}"),
                    });
                    Some(Value::String(t))
                }
            },
        },
        Widget::Password if field.secret => match non_empty(first) {
            Some(t) => Some(Value::String(t)),
            // A secret is not sent back to the browser; an empty input keeps the one given.
            None => return,
        },
        _ => non_empty(first).map(|t| typed(&t, &field.value_type)),
    };
    set_path(values, &field.name, value);
}

/// Percent-encodes what a RepoUrlPicker value's query part cannot hold as is.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// The values of one step checked against the step's JSON Schema, each error named by the
/// field's dotted path. A value that fits no `oneOf` branch of a `dependencies` entry is
/// reported by the fields of the branch its depended-on value chose (`port is required`), not
/// as the validator's "not valid under any of the schemas listed in oneOf".
pub fn step_errors(schema: &Value, values: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut branch_errors = Vec::new();
    if let Some(deps) = schema.get("dependencies").and_then(Value::as_object) {
        for (on, dep) in deps {
            let Some(current) = values.get(on) else {
                continue;
            };
            if let Some(branch) = dep
                .get("oneOf")
                .and_then(Value::as_array)
                .and_then(|branches| branches.iter().find(|b| branch_matches(b, on, current)))
            {
                branch_errors.extend(validate(branch, values).into_iter().map(|(e, _)| e));
            }
        }
    }
    for (error, one_of) in validate(schema, values) {
        if one_of && !branch_errors.is_empty() {
            continue;
        }
        if !errors.contains(&error) {
            errors.push(error);
        }
    }
    for error in branch_errors {
        if !errors.contains(&error) {
            errors.push(error);
        }
    }
    errors
}

/// Errors of `values` against `schema`, each with whether it is a `oneOf` mismatch.
fn validate(schema: &Value, values: &Value) -> Vec<(FieldError, bool)> {
    let validator = match jsonschema::validator_for(schema) {
        Ok(v) => v,
        Err(e) => {
            return vec![(
                FieldError {
                    field: String::new(),
                    message: format!("the template's parameters schema is invalid: {e}"),
                },
                false,
            )];
        }
    };
    let mut errors: Vec<(FieldError, bool)> = Vec::new();
    for error in validator.iter_errors(values) {
        let mut field = error
            .instance_path()
            .to_string()
            .trim_start_matches('/')
            .replace('/', ".");
        let one_of = matches!(
            error.kind(),
            jsonschema::error::ValidationErrorKind::OneOfNotValid { .. }
        );
        // A missing required property is reported at its object; name the property.
        let required =
            if let jsonschema::error::ValidationErrorKind::Required { property } = error.kind() {
                let property = property.as_str().unwrap_or_default();
                field = if field.is_empty() {
                    property.to_string()
                } else {
                    format!("{field}.{property}")
                };
                true
            } else {
                false
            };
        let message = match error.kind() {
            _ if required => "is required".to_string(),
            jsonschema::error::ValidationErrorKind::Pattern { pattern } => {
                format!("must match the pattern {pattern}")
            }
            _ => error.to_string(),
        };
        let error = FieldError { field, message };
        if !errors.iter().any(|(e, _)| *e == error) {
            errors.push((error, one_of));
        }
    }
    errors
}

/// One line of the review step: a field's label and its value as text (secrets hidden).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReviewItem {
    pub name: String,
    pub label: String,
    pub value: String,
}

/// What the review step shows for a step's fields.
pub fn review_items(fields: &[FormField], values: &Value) -> Vec<ReviewItem> {
    let mut out = Vec::new();
    for field in fields {
        if field.widget == Widget::Object {
            out.extend(review_items(&field.children, values));
            continue;
        }
        let value = match value_at(values, &field.name) {
            None | Some(Value::Null) => String::new(),
            Some(_) if field.secret => "••••••".to_string(),
            Some(Value::Array(items)) => {
                items.iter().map(scalar_text).collect::<Vec<_>>().join(", ")
            }
            Some(Value::Bool(b)) => if *b { "yes" } else { "no" }.to_string(),
            Some(v @ Value::Object(_)) => v.to_string(),
            Some(v) => {
                let text = scalar_text(v);
                field
                    .options
                    .iter()
                    .find(|o| o.value == text)
                    .map(|o| o.label.clone())
                    .unwrap_or(text)
            }
        };
        out.push(ReviewItem {
            name: field.name.clone(),
            label: field.label.clone(),
            value,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn step() -> Value {
        json!({
            "title": "About",
            "required": ["name", "kind"],
            "properties": {
                "name": { "type": "string", "title": "Name", "pattern": "^[a-z-]+$", "ui:autofocus": true, "ui:help": "lower case" },
                "replicas": { "type": "integer", "minimum": 1, "maximum": 5, "default": 2 },
                "public": { "type": "boolean", "title": "Public" },
                "notes": { "type": "string", "ui:widget": "textarea" },
                "token": { "type": "string", "ui:widget": "password" },
                "size": { "type": "string", "enum": ["s", "m"], "enumNames": ["Small", "Medium"], "ui:widget": "radio" },
                "regions": { "type": "array", "items": { "type": "string", "enum": ["eu", "us"] }, "uniqueItems": true },
                "aliases": { "type": "array", "items": { "type": "string" } },
                "tags": { "type": "array", "items": { "type": "string" }, "ui:field": "EntityTagsPicker" },
                "owner": { "type": "string", "ui:field": "OwnerPicker", "ui:options": { "allowedKinds": ["Group"] } },
                "system": { "type": "string", "ui:field": "EntityPicker", "ui:options": { "catalogFilter": { "kind": "System" }, "defaultKind": "System" } },
                "repoUrl": { "type": "string", "ui:field": "RepoUrlPicker", "ui:options": { "allowedHosts": ["github.com", "git.local"] } },
                "db": { "type": "object", "title": "Database", "required": ["engine"], "properties": { "engine": { "type": "string", "enum": ["pg", "mysql"] }, "size": { "type": "integer" } } },
                "kind": { "type": "string", "enum": ["service", "job"] }
            },
            "dependencies": {
                "kind": { "oneOf": [
                    { "properties": { "kind": { "enum": ["service"] }, "port": { "type": "integer", "title": "Port" } }, "required": ["port"] },
                    { "properties": { "kind": { "enum": ["job"] }, "schedule": { "type": "string" } } }
                ] }
            }
        })
    }

    #[test]
    fn widgets_follow_type_enum_and_ui_hints() {
        let fields = fields_for_step(&step(), &json!({}));
        let widget = |name: &str| fields.iter().find(|f| f.name == name).map(|f| f.widget);
        assert_eq!(widget("name"), Some(Widget::Text));
        assert_eq!(widget("replicas"), Some(Widget::Number));
        assert_eq!(widget("public"), Some(Widget::Checkbox));
        assert_eq!(widget("notes"), Some(Widget::Textarea));
        assert_eq!(widget("token"), Some(Widget::Password));
        assert_eq!(widget("size"), Some(Widget::Radio));
        assert_eq!(widget("regions"), Some(Widget::Checkboxes));
        assert_eq!(widget("aliases"), Some(Widget::Lines));
        assert_eq!(widget("tags"), Some(Widget::Tags));
        assert_eq!(widget("owner"), Some(Widget::Entity));
        assert_eq!(widget("repoUrl"), Some(Widget::RepoUrl));
        assert_eq!(widget("db"), Some(Widget::Object));
        assert_eq!(widget("kind"), Some(Widget::Select));
        let name = &fields[0];
        assert!(name.required && name.autofocus);
        assert_eq!(name.help.as_deref(), Some("lower case"));
        assert_eq!(name.pattern.as_deref(), Some("^[a-z-]+$"));
        let replicas = fields.iter().find(|f| f.name == "replicas").unwrap();
        assert_eq!(
            (replicas.min, replicas.max, replicas.value.as_str()),
            (Some(1.0), Some(5.0), "2")
        );
        let owner = fields.iter().find(|f| f.name == "owner").unwrap();
        assert_eq!(owner.entity_kinds, vec!["group"]);
        let system = fields.iter().find(|f| f.name == "system").unwrap();
        assert_eq!(
            (system.entity_kinds.clone(), system.default_kind.as_deref()),
            (vec!["system".to_string()], Some("System"))
        );
        let size = fields.iter().find(|f| f.name == "size").unwrap();
        assert_eq!(
            size.options[1],
            Choice {
                value: "m".into(),
                label: "Medium".into()
            }
        );
        let db = fields.iter().find(|f| f.name == "db").unwrap();
        assert_eq!(
            db.children
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["db.engine", "db.size"]
        );
        assert!(db.children[0].required);
        // No dependency branch until `kind` has a value.
        assert!(widget("port").is_none() && widget("schedule").is_none());
    }

    #[test]
    fn dependencies_show_the_branch_of_the_chosen_value() {
        let service = fields_for_step(&step(), &json!({ "kind": "service" }));
        let port = service
            .iter()
            .find(|f| f.name == "port")
            .expect("port shown");
        assert!(port.required);
        assert!(!service.iter().any(|f| f.name == "schedule"));
        let kind = service.iter().find(|f| f.name == "kind").unwrap();
        assert!(kind.controls && !port.controls);
        let job = fields_for_step(&step(), &json!({ "kind": "job" }));
        assert!(job.iter().any(|f| f.name == "schedule"));
        assert!(!job.iter().any(|f| f.name == "port"));
    }

    #[test]
    fn submitted_text_becomes_typed_values() {
        let fields = fields_for_step(&step(), &json!({ "kind": "service" }));
        let form: Vec<(String, String)> = [
            ("name", "orders"),
            ("replicas", "3"),
            ("public", "true"),
            ("notes", ""),
            ("token", "s3cret"),
            ("size", "m"),
            ("regions", "eu"),
            ("regions", "us"),
            ("aliases", "a\n\n b \n"),
            ("tags", "rust, web  api"),
            ("owner", "group:default/team-a"),
            ("system", "orders"),
            ("repoUrl.host", "git.local"),
            ("repoUrl.owner", "acme"),
            ("repoUrl.repo", "orders"),
            ("db.engine", "pg"),
            ("db.size", "ten"),
            ("kind", "service"),
            ("port", "8080"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut values = Map::new();
        values.insert("notes".into(), json!("old"));
        let errors = apply_submission(&fields, &form, &mut values);
        assert!(errors.is_empty(), "{errors:?}");
        let values = Value::Object(values);
        assert_eq!(
            values,
            json!({
                "name": "orders", "replicas": 3, "public": true, "token": "s3cret", "size": "m",
                "regions": ["eu", "us"], "aliases": ["a", "b"], "tags": ["rust", "web", "api"],
                "owner": "group:default/team-a", "system": "orders",
                "repoUrl": "git.local?owner=acme&repo=orders",
                "db": { "engine": "pg", "size": "ten" }, "kind": "service", "port": 8080
            })
        );
        // "ten" stays text, so the schema names the nested field.
        let errors = step_errors(&step(), &values);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "db.size");
        // The RepoUrlPicker value reads back into its parts.
        let again = fields_for_step(&step(), &values);
        let repo = again.iter().find(|f| f.name == "repoUrl").unwrap();
        assert_eq!(
            repo.repo,
            Some(RepoParts {
                host: "git.local".into(),
                owner: "acme".into(),
                repo: "orders".into()
            })
        );
    }

    #[test]
    fn step_errors_name_missing_and_invalid_fields() {
        let errors = step_errors(&step(), &json!({ "name": "Bad Name", "kind": "service" }));
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"name"), "{errors:?}");
        assert!(fields.contains(&"port"), "{errors:?}");
        let missing = step_errors(&step(), &json!({}));
        assert!(
            missing
                .iter()
                .any(|e| e.field == "name" && e.message == "is required")
        );
        let nested = step_errors(&step(), &json!({ "name": "a", "kind": "job", "db": {} }));
        assert!(
            nested
                .iter()
                .any(|e| e.field == "db.engine" && e.message == "is required"),
            "{nested:?}"
        );
    }

    #[test]
    fn defaults_fill_only_what_is_missing() {
        let schema = json!({ "properties": {
            "size": { "type": "string", "default": "m" },
            "replicas": { "type": "integer", "default": 2 },
            "db": { "type": "object", "properties": { "engine": { "type": "string", "default": "pg" } } }
        } });
        let mut values = Map::new();
        values.insert("replicas".into(), json!(5));
        values.insert("db".into(), json!({}));
        apply_defaults(&schema, &mut values);
        assert_eq!(
            Value::Object(values),
            json!({ "size": "m", "replicas": 5, "db": { "engine": "pg" } })
        );
    }

    #[test]
    fn bad_json_is_an_error_of_its_field_and_secrets_are_kept_and_hidden() {
        let schema = json!({ "properties": { "extra": { "type": "object" }, "pw": { "type": "string", "ui:field": "Secret" } } });
        let fields = fields_for_step(&schema, &json!({}));
        let mut values = Map::new();
        values.insert("pw".into(), json!("kept"));
        let errors = apply_submission(
            &fields,
            &[("extra".into(), "{nope".into()), ("pw".into(), "".into())],
            &mut values,
        );
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "extra");
        assert_eq!(values["pw"], "kept");
        let review = review_items(&fields, &Value::Object(values));
        assert_eq!(
            review.iter().find(|r| r.name == "pw").unwrap().value,
            "••••••"
        );
    }
}
