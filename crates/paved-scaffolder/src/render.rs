//! Rendering Backstage's `${{ … }}` templates with minijinja, the way Backstage's scaffolder
//! renders them with nunjucks: step inputs (a string that is exactly one expression keeps the
//! value's type), skeleton file contents and file names.
//!
//! Safety: the environment has no loader, so `{% include %}`, `{% import %}` and `{% extends %}`
//! cannot read anything; every render runs on a fuel budget so a template cannot loop forever;
//! output is never HTML-escaped (the scaffolder writes source files, not pages).
//!
//! nunjucks compatibility: undefined values print as the empty string and looking up a member of
//! an undefined value gives undefined again (nunjucks' `memberLookup`); a trailing newline is
//! kept; the filters nunjucks has and minijinja lacks (`dump`, `truncate`, `wordcount`, …) are
//! added, as are Backstage's own (`parseRepoUrl`, `parseEntityRef`, `pick`, `projectSlug`); a
//! few JavaScript string methods templates call (`.toLowerCase()`, `.split(',')`, …) work.

use crate::filters;
use minijinja::value::{Serde, Value as JinjaValue, ValueKind};
use minijinja::{AutoEscape, Environment, Error as JinjaError, ErrorKind, UndefinedBehavior};
use serde_json::{Map, Value};

/// How much work one render may do (minijinja instructions). Far above any real template.
const FUEL: u64 = 5_000_000;

/// Why a template could not be rendered. `message` is what the user sees.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RenderError {
    pub message: String,
    /// 1-based line inside the rendered text, when minijinja knows it.
    pub line: Option<usize>,
}

impl RenderError {
    fn from_jinja(error: JinjaError) -> Self {
        let mut message = match error.detail() {
            Some(detail) => format!("{}: {detail}", kind_text(error.kind())),
            None => kind_text(error.kind()).to_string(),
        };
        if error.kind() == ErrorKind::OutOfFuel {
            message = "template takes too long to render (fuel exhausted)".into();
        }
        RenderError {
            message,
            line: error.line(),
        }
    }
}

fn kind_text(kind: ErrorKind) -> String {
    // minijinja's kind descriptions ("syntax error", "unknown filter") read well on their own.
    let text = kind.to_string();
    text.trim_end_matches('.').to_string()
}

/// Which delimiters a template uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// `${{ expr }}` and `{% block %}`: Backstage's template.yaml and fetch:template.
    Backstage,
    /// `{{ expr }}` and `{% block %}`: fetch:template with `cookiecutterCompat`.
    Cookiecutter,
}

/// A renderer for one syntax. Cheap to share: build once, render many times.
pub struct Renderer {
    env: Environment<'static>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Renderer")
    }
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new(Syntax::Backstage)
    }
}

impl Renderer {
    pub fn new(syntax: Syntax) -> Self {
        let mut env = Environment::new();
        let mut builder = minijinja::syntax::SyntaxConfig::builder();
        if syntax == Syntax::Backstage {
            builder.variable_delimiters("${{", "}}");
        }
        builder.keep_trailing_newline(true);
        env.set_syntax(builder.build().expect("the delimiters are valid"));
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(100);
        filters::register(&mut env);
        if syntax == Syntax::Cookiecutter {
            // cookiecutter's `jsonify`.
            env.add_filter("jsonify", filters::dump);
        }
        env.set_unknown_method_callback(filters::javascript_method);
        Renderer { env }
    }

    /// Renders a template text (file contents, a file name, an input string).
    pub fn render_str(&self, source: &str, context: &Value) -> Result<String, RenderError> {
        let source = filters::quote_object_keys(source);
        self.env
            .render_str(&source, JinjaValue::from(Serde(context)))
            .map_err(RenderError::from_jinja)
    }

    /// Checks a template text without rendering it (`paved validate`).
    pub fn check_syntax(&self, source: &str) -> Result<(), RenderError> {
        let source = filters::quote_object_keys(source);
        self.env
            .template_from_str(&source)
            .map(|_| ())
            .map_err(RenderError::from_jinja)
    }

    /// Evaluates one expression (the inside of `${{ … }}`) to a JSON value. Undefined is `None`.
    pub fn eval_expression(
        &self,
        expr: &str,
        context: &Value,
    ) -> Result<Option<Value>, RenderError> {
        let compiled = self
            .env
            .compile_expression_owned(filters::quote_keys_in_expression(expr))
            .map_err(RenderError::from_jinja)?;
        let value = compiled
            .eval(JinjaValue::from(Serde(context)))
            .map_err(RenderError::from_jinja)?;
        Ok(to_json(&value))
    }

    /// Renders a step input (or `output`, `if`, `each`) the way Backstage does: objects and
    /// arrays are walked; a string that is exactly one `${{ expr }}` becomes the expression's
    /// value with its type (a number stays a number, an object an object); other strings are
    /// rendered as text. Keys whose value renders to undefined are left out.
    pub fn render_value(&self, value: &Value, context: &Value) -> Result<Value, RenderError> {
        Ok(self
            .render_value_inner(value, context)?
            .unwrap_or(Value::Null))
    }

    fn render_value_inner(
        &self,
        value: &Value,
        context: &Value,
    ) -> Result<Option<Value>, RenderError> {
        match value {
            Value::String(text) => {
                if let Some(expr) = single_expression(text) {
                    return self.eval_expression(expr, context);
                }
                if !text.contains("${{") && !text.contains("{%") {
                    return Ok(Some(value.clone()));
                }
                self.render_str(text, context)
                    .map(|s| Some(Value::String(s)))
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(
                        self.render_value_inner(item, context)?
                            .unwrap_or(Value::Null),
                    );
                }
                Ok(Some(Value::Array(out)))
            }
            Value::Object(entries) => {
                let mut out = Map::new();
                for (key, item) in entries {
                    if let Some(rendered) = self.render_value_inner(item, context)? {
                        out.insert(key.clone(), rendered);
                    }
                }
                Ok(Some(Value::Object(out)))
            }
            other => Ok(Some(other.clone())),
        }
    }
}

/// The expression of a string that is exactly one `${{ expr }}` (surrounding blanks allowed),
/// as Backstage's "single template string" test: nothing but that one expression.
pub fn single_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("${{")?.strip_suffix("}}")?;
    if inner.contains("${{") || inner.contains("}}") || inner.contains("{%") {
        return None;
    }
    Some(inner.trim())
}

/// minijinja → JSON. Undefined becomes `None`; values JSON cannot hold become strings.
pub fn to_json(value: &JinjaValue) -> Option<Value> {
    if value.is_undefined() {
        return None;
    }
    match value.kind() {
        ValueKind::Undefined => None,
        _ => Some(serde_json::to_value(value).unwrap_or_else(|_| Value::String(value.to_string()))),
    }
}

/// JavaScript truthiness of a rendered `if`: `false`, `null`, `0`, `""` and undefined are false.
pub fn is_truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

/// Every `${{ … }}` expression inside a text, for linting.
pub fn expressions_in(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        let after = &rest[start + 3..];
        match after.find("}}") {
            Some(end) => {
                found.push(after[..end].trim());
                rest = &after[end + 2..];
            }
            None => {
                found.push(after);
                break;
            }
        }
    }
    found
}

/// `Err` of a JavaScript method call that is not one of those supported.
pub(crate) fn unknown_method() -> JinjaError {
    JinjaError::from(ErrorKind::UnknownMethod)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> Value {
        json!({
            "parameters": {
                "name": "Payments API",
                "port": 8080,
                "enabled": false,
                "tags": ["rust", "api"],
                "owner": "group:default/team-a",
                "repoUrl": "github.com?owner=acme&repo=payments",
            },
            "steps": { "fetch": { "output": { "count": 3 } } },
            "user": { "ref": "user:default/ada" },
        })
    }

    #[test]
    fn single_expressions_keep_their_type() {
        let r = Renderer::default();
        let input = json!({
            "port": "${{ parameters.port }}",
            "enabled": "${{ parameters.enabled }}",
            "tags": "  ${{ parameters.tags }} ",
            "count": "${{ steps.fetch.output.count + 1 }}",
            "text": "port ${{ parameters.port }}",
            "missing": "${{ parameters.nothing }}",
            "nested": ["${{ parameters.tags[0] }}", { "deep": "${{ user.ref }}" }],
        });
        let out = r.render_value(&input, &context()).unwrap();
        assert_eq!(
            out,
            json!({
                "port": 8080,
                "enabled": false,
                "tags": ["rust", "api"],
                "count": 4,
                "text": "port 8080",
                "nested": ["rust", { "deep": "user:default/ada" }],
            })
        );
    }

    #[test]
    fn undefined_members_chain_like_nunjucks() {
        let r = Renderer::default();
        assert_eq!(
            r.render_str("[${{ parameters.a.b.c }}]", &context())
                .unwrap(),
            "[]"
        );
        assert_eq!(r.render_str("a\n", &context()).unwrap(), "a\n");
    }

    #[test]
    fn conditionals_loops_and_filters() {
        let r = Renderer::default();
        let text = "{% if parameters.enabled %}on{% else %}off{% endif %} \
            {% for t in parameters.tags %}${{ t | upper }},{% endfor %} \
            ${{ parameters.name | lower | replace(' ', '-') }} ${{ parameters.tags | join('/') }} \
            ${{ parameters.tags | length }} ${{ parameters.name | dump }}";
        assert_eq!(
            r.render_str(text, &context()).unwrap(),
            "off RUST,API, payments-api rust/api 2 \"Payments API\""
        );
    }

    #[test]
    fn javascript_string_methods() {
        let r = Renderer::default();
        assert_eq!(
            r.render_str(
                "${{ parameters.name.toLowerCase() }}|${{ parameters.name.split(' ')[1] }}",
                &context()
            )
            .unwrap(),
            "payments api|API"
        );
    }

    #[test]
    fn includes_cannot_read_files() {
        let r = Renderer::default();
        let err = r
            .render_str("{% include '/etc/passwd' %}", &context())
            .unwrap_err();
        assert!(
            err.message.contains("not found") || err.message.contains("template"),
            "{err}"
        );
    }

    #[test]
    fn endless_loops_run_out_of_fuel() {
        let r = Renderer::default();
        let err = r
            .render_str(
                "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
                &context(),
            )
            .unwrap_err();
        assert!(err.message.contains("fuel"), "{err}");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let r = Renderer::default();
        let err = r
            .check_syntax("line one\n${{ parameters.name | }}")
            .unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("syntax error"), "{err}");
    }

    #[test]
    fn cookiecutter_syntax() {
        let r = Renderer::new(Syntax::Cookiecutter);
        let out = r
            .render_str(
                "{{ cookiecutter.name }} ${x}",
                &json!({"cookiecutter": {"name": "svc"}}),
            )
            .unwrap();
        assert_eq!(out, "svc ${x}");
    }

    #[test]
    fn truthiness_is_javascript_s() {
        assert!(!is_truthy(None));
        assert!(!is_truthy(Some(&json!(""))));
        assert!(!is_truthy(Some(&json!(0))));
        assert!(is_truthy(Some(&json!("false"))));
        assert!(is_truthy(Some(&json!([]))));
    }

    #[test]
    fn finds_expressions() {
        assert_eq!(expressions_in("a ${{ x }} b ${{y|z}}"), vec!["x", "y|z"]);
        assert_eq!(single_expression(" ${{ a.b }} "), Some("a.b"));
        assert_eq!(single_expression("${{ a }}-${{ b }}"), None);
    }
}
