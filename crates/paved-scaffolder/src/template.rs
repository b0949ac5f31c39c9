//! Template entities (`scaffolder.backstage.io/v1beta3`, kind `Template`): what the engine reads
//! from them — parameter steps, action steps, output — and the lint that `paved validate` and
//! the catalog run over them (unknown actions, bad expressions, duplicate step ids).

use crate::render::{Renderer, expressions_in};
use paved_model::Diagnostic;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

pub const TEMPLATE_API_VERSION: &str = "scaffolder.backstage.io/v1beta3";

/// One page of the form: a JSON Schema object with `ui:*` hints.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParameterStep {
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub schema: Value,
}

/// One action step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepSpec {
    /// Position in `spec.steps`, for diagnostics.
    #[serde(skip)]
    pub index: usize,
    pub id: String,
    pub name: String,
    pub action: String,
    pub input: Value,
    #[serde(rename = "if", skip_serializing_if = "Option::is_none")]
    pub condition: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub each: Option<Value>,
}

/// What the engine needs of a Template entity.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    /// `template:<namespace>/<name>`.
    pub entity_ref: String,
    pub namespace: String,
    pub name: String,
    pub title: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub owner: Option<String>,
    pub spec_type: Option<String>,
    pub parameters: Vec<ParameterStep>,
    pub steps: Vec<StepSpec>,
    pub output: Value,
    pub presentation: Option<Value>,
    /// `backstage.io/managed-by-location` / `backstage.io/source-location` etc., as found.
    pub annotations: Map<String, Value>,
    /// The whole entity as given.
    pub entity: Value,
}

impl Template {
    /// Backstage's parameter-schema response body.
    pub fn parameter_schema(&self) -> Value {
        let mut body = json!({
            "title": self.title,
            "steps": self.parameters,
        });
        if let Some(d) = &self.description {
            body["description"] = json!(d);
        }
        if let Some(p) = &self.presentation {
            body["presentation"] = p.clone();
        }
        body
    }

    /// Every parameter property across the steps: (property name, its schema).
    pub fn parameter_properties(&self) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        for step in &self.parameters {
            collect_properties(&step.schema, &mut out);
        }
        out
    }

    /// Names of the parameters whose `ui:field` is `field` (e.g. `EntityNamePicker`).
    pub fn fields_with_widget(&self, field: &str) -> Vec<String> {
        self.parameter_properties()
            .into_iter()
            .filter(|(_, schema)| schema.get("ui:field").and_then(Value::as_str) == Some(field))
            .map(|(name, _)| name)
            .collect()
    }
}

fn collect_properties(schema: &Value, out: &mut Vec<(String, Value)>) {
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            if !out.iter().any(|(n, _)| n == name) {
                out.push((name.clone(), prop.clone()));
            }
        }
    }
    // Properties that only appear under `dependencies` (oneOf branches) are parameters too.
    if let Some(deps) = schema.get("dependencies").and_then(Value::as_object) {
        for dep in deps.values() {
            collect_properties(dep, out);
            for branch in dep
                .get("oneOf")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                collect_properties(branch, out);
            }
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        for branch in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            collect_properties(branch, out);
        }
    }
}

/// Reads a Template entity. Problems are diagnostics with field paths (the caller adds file and
/// line from the YAML source map); `None` when the entity cannot be used at all.
pub fn parse_template(entity: &Value) -> (Option<Template>, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let api_version = entity
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind = entity.get("kind").and_then(Value::as_str).unwrap_or("");
    if !kind.eq_ignore_ascii_case("Template") {
        diagnostics
            .push(Diagnostic::error(format!("kind '{kind}' is not Template")).with_field("kind"));
        return (None, diagnostics);
    }
    if api_version != TEMPLATE_API_VERSION {
        diagnostics.push(
            Diagnostic::error(format!(
                "apiVersion '{api_version}' is not supported; expected {TEMPLATE_API_VERSION}"
            ))
            .with_field("apiVersion"),
        );
        return (None, diagnostics);
    }
    let metadata = entity.get("metadata").cloned().unwrap_or(Value::Null);
    let Some(name) = metadata
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        diagnostics
            .push(Diagnostic::error("metadata.name is required").with_field("metadata.name"));
        return (None, diagnostics);
    };
    let namespace = metadata
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or("default")
        .to_string();
    let spec = entity.get("spec").cloned().unwrap_or(Value::Null);
    if !spec.is_object() {
        diagnostics.push(Diagnostic::error("spec must be an object").with_field("spec"));
        return (None, diagnostics);
    }

    let mut parameters = Vec::new();
    match spec.get("parameters") {
        None | Some(Value::Null) => {}
        Some(Value::Object(_)) => parameters.push(parameter_step(&spec["parameters"])),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                if item.is_object() {
                    parameters.push(parameter_step(item));
                } else {
                    diagnostics.push(
                        Diagnostic::error("each parameters step must be an object (a JSON Schema)")
                            .with_field(format!("spec.parameters[{i}]")),
                    );
                }
            }
        }
        Some(_) => diagnostics.push(
            Diagnostic::error("parameters must be an object or a list of objects")
                .with_field("spec.parameters"),
        ),
    }
    for (i, step) in parameters.iter().enumerate() {
        if let Some(t) = step.schema.get("type")
            && t != "object"
        {
            diagnostics.push(
                Diagnostic::warning("a parameters step should be `type: object`")
                    .with_field(format!("spec.parameters[{i}].type")),
            );
        }
    }

    let mut steps = Vec::new();
    let mut ids = BTreeSet::new();
    match spec.get("steps") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let field = format!("spec.steps[{i}]");
                let Some(obj) = item.as_object() else {
                    diagnostics
                        .push(Diagnostic::error("a step must be an object").with_field(field));
                    continue;
                };
                let Some(action) = obj.get("action").and_then(Value::as_str) else {
                    diagnostics.push(
                        Diagnostic::error("a step needs an `action`")
                            .with_field(format!("{field}.action")),
                    );
                    continue;
                };
                let id = obj
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("step-{}", i + 1));
                if !ids.insert(id.clone()) {
                    diagnostics.push(
                        Diagnostic::error(format!("duplicate step id '{id}'"))
                            .with_field(format!("{field}.id")),
                    );
                }
                let input = obj.get("input").cloned().unwrap_or_else(|| json!({}));
                if !input.is_object() {
                    diagnostics.push(
                        Diagnostic::error("a step's input must be an object")
                            .with_field(format!("{field}.input")),
                    );
                    continue;
                }
                steps.push(StepSpec {
                    index: i,
                    name: obj
                        .get("name")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_else(|| id.clone()),
                    id,
                    action: action.to_string(),
                    input,
                    condition: obj.get("if").cloned(),
                    each: obj.get("each").cloned(),
                });
            }
        }
        Some(_) => {
            diagnostics.push(Diagnostic::error("steps must be a list").with_field("spec.steps"))
        }
    }

    let tags = metadata
        .get("tags")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let template = Template {
        entity_ref: format!(
            "template:{}/{}",
            namespace.to_ascii_lowercase(),
            name.to_ascii_lowercase()
        ),
        title: metadata
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or(&name)
            .to_string(),
        description: metadata
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        tags,
        owner: spec
            .get("owner")
            .and_then(Value::as_str)
            .map(str::to_string),
        spec_type: spec.get("type").and_then(Value::as_str).map(str::to_string),
        parameters,
        steps,
        output: spec.get("output").cloned().unwrap_or_else(|| json!({})),
        presentation: spec.get("presentation").cloned(),
        annotations: metadata
            .get("annotations")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        namespace,
        name,
        entity: entity.clone(),
    };
    (Some(template), diagnostics)
}

fn parameter_step(schema: &Value) -> ParameterStep {
    ParameterStep {
        title: schema
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("Please enter the following information")
            .to_string(),
        description: schema
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        schema: schema.clone(),
    }
}

/// Lints a parsed template: actions that do not exist, expressions that do not parse, steps
/// referring to steps that have not run yet.
pub fn lint_template(template: &Template, known_actions: &[&str]) -> Vec<Diagnostic> {
    let renderer = Renderer::default();
    let mut diagnostics = Vec::new();
    let mut earlier: BTreeSet<&str> = BTreeSet::new();
    for step in &template.steps {
        let field = format!("spec.steps[{}]", step.index);
        if !known_actions.contains(&step.action.as_str()) {
            diagnostics.push(
                Diagnostic::error(format!(
                    "unknown action '{}'; known actions: {}",
                    step.action,
                    known_actions.join(", ")
                ))
                .with_field(format!("{field}.action")),
            );
        }
        let mut check = |value: &Value, path: String| {
            lint_expressions(&renderer, value, &path, &earlier, &mut diagnostics);
        };
        check(&step.input, format!("{field}.input"));
        if let Some(c) = &step.condition {
            check(c, format!("{field}.if"));
        }
        if let Some(e) = &step.each {
            check(e, format!("{field}.each"));
        }
        earlier.insert(step.id.as_str());
    }
    lint_expressions(
        &renderer,
        &template.output,
        "spec.output",
        &earlier,
        &mut diagnostics,
    );
    diagnostics
}

fn lint_expressions(
    renderer: &Renderer,
    value: &Value,
    path: &str,
    earlier_steps: &BTreeSet<&str>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    match value {
        Value::String(text) => {
            if let Err(e) = renderer.check_syntax(text) {
                diagnostics.push(
                    Diagnostic::error(format!("invalid template expression: {}", e.message))
                        .with_field(path),
                );
                return;
            }
            for expr in expressions_in(text) {
                for referenced in referenced_steps(expr) {
                    if !earlier_steps.contains(referenced) {
                        diagnostics.push(
                            Diagnostic::warning(format!(
                                "expression refers to step '{referenced}', which does not run before this point"
                            ))
                            .with_field(path),
                        );
                    }
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                lint_expressions(
                    renderer,
                    item,
                    &format!("{path}[{i}]"),
                    earlier_steps,
                    diagnostics,
                );
            }
        }
        Value::Object(entries) => {
            for (key, item) in entries {
                lint_expressions(
                    renderer,
                    item,
                    &format!("{path}.{key}"),
                    earlier_steps,
                    diagnostics,
                );
            }
        }
        _ => {}
    }
}

/// Step ids named as `steps.<id>` or `steps['<id>']` in an expression.
fn referenced_steps(expr: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("steps") {
        let before_ok = at == 0
            || !rest.as_bytes()[at - 1].is_ascii_alphanumeric()
                && rest.as_bytes()[at - 1] != b'_'
                && rest.as_bytes()[at - 1] != b'.';
        let after = &rest[at + 5..];
        if before_ok {
            if let Some(name) = after.strip_prefix('.') {
                let end = name
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(name.len());
                if end > 0 {
                    out.push(&name[..end]);
                }
            } else if let Some(name) = after
                .strip_prefix("['")
                .or_else(|| after.strip_prefix("[\""))
                && let Some(end) = name.find(['\'', '"'])
            {
                out.push(&name[..end]);
            }
        }
        rest = after;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template_yaml(spec: Value) -> Value {
        json!({
            "apiVersion": TEMPLATE_API_VERSION,
            "kind": "Template",
            "metadata": {"name": "rust-service", "title": "Rust service", "tags": ["rust"]},
            "spec": spec,
        })
    }

    #[test]
    fn parameters_as_object_or_steps() {
        let (one, d) = parse_template(&template_yaml(json!({
            "owner": "team-a", "type": "service",
            "parameters": {"title": "Fill in", "properties": {"name": {"type": "string"}}},
            "steps": [],
        })));
        assert!(d.is_empty(), "{d:?}");
        let one = one.unwrap();
        assert_eq!(one.parameters.len(), 1);
        assert_eq!(one.parameters[0].title, "Fill in");
        assert_eq!(one.entity_ref, "template:default/rust-service");

        let (many, _) = parse_template(&template_yaml(json!({
            "parameters": [
                {"properties": {"name": {"type": "string", "ui:field": "EntityNamePicker"}}},
                {"title": "Where", "properties": {"repoUrl": {"type": "string", "ui:field": "RepoUrlPicker"}}},
            ],
        })));
        let many = many.unwrap();
        assert_eq!(
            many.parameters[0].title,
            "Please enter the following information"
        );
        assert_eq!(many.fields_with_widget("EntityNamePicker"), vec!["name"]);
        let schema = many.parameter_schema();
        assert_eq!(schema["title"], "Rust service");
        assert_eq!(schema["steps"][1]["title"], "Where");
        assert_eq!(
            schema["steps"][1]["schema"]["properties"]["repoUrl"]["ui:field"],
            "RepoUrlPicker"
        );
    }

    #[test]
    fn steps_and_diagnostics() {
        let (t, d) = parse_template(&template_yaml(json!({
            "steps": [
                {"id": "fetch", "name": "Fetch", "action": "fetch:template", "input": {"url": "./skeleton"}},
                {"id": "fetch", "action": "debug:log", "if": "${{ parameters.x }}"},
                {"name": "no action"},
                {"id": "publish", "action": "publish:nowhere", "input": {"x": "${{ steps.later.output.x }} ${{ steps.fetch.output }}"}},
                {"id": "bad", "action": "debug:log", "input": {"message": "${{ parameters.name | }}"}},
            ],
            "output": {"links": [{"url": "${{ steps.publish.output.remoteUrl }}"}]},
        })));
        let t = t.unwrap();
        assert_eq!(t.steps.len(), 4);
        assert_eq!(t.steps[1].condition, Some(json!("${{ parameters.x }}")));
        let mut all = d;
        all.extend(lint_template(&t, &["fetch:template", "debug:log"]));
        let text: Vec<String> = all.iter().map(|d| d.to_string()).collect();
        expect_test::expect![[r#"
            [
                "error: duplicate step id 'fetch' (at spec.steps[1].id)",
                "error: a step needs an `action` (at spec.steps[2].action)",
                "error: unknown action 'publish:nowhere'; known actions: fetch:template, debug:log (at spec.steps[3].action)",
                "warning: expression refers to step 'later', which does not run before this point (at spec.steps[3].input.x)",
                "error: invalid template expression: syntax error: unexpected end of variable block, expected identifier (at spec.steps[4].input.message)",
            ]
        "#]]
        .assert_debug_eq(&text);
    }

    #[test]
    fn wrong_kind_or_version() {
        let (t, d) = parse_template(
            &json!({"apiVersion": "backstage.io/v1beta2", "kind": "Template", "metadata": {"name": "x"}}),
        );
        assert!(t.is_none());
        assert_eq!(d[0].field.as_deref(), Some("apiVersion"));
    }
}
