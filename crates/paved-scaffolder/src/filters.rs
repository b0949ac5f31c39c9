//! The template filters: Backstage's scaffolder filters (`parseRepoUrl`, `parseEntityRef`,
//! `pick`, `projectSlug`) and the nunjucks built-ins minijinja does not have, plus the few
//! JavaScript methods on strings and arrays that templates written for nunjucks call.

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};
use std::collections::BTreeMap;

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("parseRepoUrl", parse_repo_url_filter);
    env.add_filter("parseEntityRef", parse_entity_ref_filter);
    env.add_filter("pick", pick);
    env.add_filter("projectSlug", project_slug);
    env.add_filter("dump", dump);
    env.add_filter("truncate", truncate);
    env.add_filter("wordcount", wordcount);
    env.add_filter("nl2br", nl2br);
    env.add_filter("striptags", striptags);
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

/// The parts of a RepoUrlPicker value `host?owner=o&repo=r` (also `organization`, `workspace`,
/// `project` for the forges that use them).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RepoUrl {
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub repo: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

/// Parses a RepoUrlPicker value. The host and `repo` are required; every part must be a plain
/// name (no `/` escapes, no `..`, nothing starting with `-`).
pub fn parse_repo_url(text: &str) -> Result<RepoUrl, String> {
    let text = text.trim();
    let text = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .unwrap_or(text);
    let (host, query) = text.split_once('?').unwrap_or((text, ""));
    if host.is_empty() || host.contains('/') || host.starts_with('-') {
        return Err(format!(
            "invalid repo URL passed to parser: '{text}', missing or bad host"
        ));
    }
    let mut parts: BTreeMap<String, String> = BTreeMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        parts.insert(key.to_string(), value);
    }
    for (key, value) in &parts {
        if !matches!(
            key.as_str(),
            "owner" | "repo" | "organization" | "workspace" | "project"
        ) {
            continue;
        }
        let bad = value.is_empty()
            || value.starts_with('-')
            || value.contains("..")
            || value
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '\\');
        // GitLab owners may be nested groups (`group/sub`).
        let bad = bad || (key != "owner" && value.contains('/'));
        if bad {
            return Err(format!(
                "invalid repo URL passed to parser: '{text}', bad {key} '{value}'"
            ));
        }
    }
    let repo = parts
        .remove("repo")
        .ok_or_else(|| format!("invalid repo URL passed to parser: '{text}', missing repo"))?;
    Ok(RepoUrl {
        host: host.to_string(),
        owner: parts.remove("owner"),
        repo,
        organization: parts.remove("organization"),
        workspace: parts.remove("workspace"),
        project: parts.remove("project"),
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_repo_url_filter(value: Value) -> Result<Value, Error> {
    let text = value
        .as_str()
        .ok_or_else(|| invalid("parseRepoUrl expects a string"))?;
    let parsed = parse_repo_url(text).map_err(invalid)?;
    Ok(Value::from(minijinja::value::Serde(&parsed)))
}

fn project_slug(value: Value) -> Result<Value, Error> {
    let text = value
        .as_str()
        .ok_or_else(|| invalid("projectSlug expects a string"))?;
    let parsed = parse_repo_url(text).map_err(invalid)?;
    let owner = parsed
        .owner
        .or(parsed.organization)
        .or(parsed.workspace)
        .unwrap_or_default();
    Ok(Value::from(format!("{owner}/{}", parsed.repo)))
}

/// `[kind:][namespace/]name` into its parts, case kept (Backstage's `parseEntityRef`).
pub fn parse_entity_ref_parts(
    text: &str,
    default_kind: Option<&str>,
    default_namespace: Option<&str>,
) -> Result<(String, String, String), String> {
    let text = text.trim();
    let (kind, rest) = match text.split_once(':') {
        Some((kind, rest)) => (Some(kind), rest),
        None => (None, text),
    };
    let (namespace, name) = match rest.split_once('/') {
        Some((namespace, name)) => (Some(namespace), name),
        None => (None, rest),
    };
    if name.is_empty() || name.contains([':', '/']) || kind == Some("") || namespace == Some("") {
        return Err(format!(
            "entity reference '{text}' is not in the format [<kind>:][<namespace>/]<name>"
        ));
    }
    let kind = kind
        .or(default_kind)
        .ok_or_else(|| format!("entity reference '{text}' had missing or empty kind (e.g. did not start with \"component:\" or similar)"))?;
    Ok((
        kind.to_string(),
        namespace
            .or(default_namespace)
            .unwrap_or("default")
            .to_string(),
        name.to_string(),
    ))
}

fn parse_entity_ref_filter(
    value: Value,
    options: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let text = value
        .as_str()
        .ok_or_else(|| invalid("parseEntityRef expects a string"))?;
    let option = |key: &str| -> Option<String> {
        if let Some(options) = &options
            && let Ok(v) = options.get_attr(key)
            && let Some(s) = v.as_str()
        {
            return Some(s.to_string());
        }
        kwargs.get::<Option<String>>(key).ok().flatten()
    };
    let default_kind = option("defaultKind");
    let default_namespace = option("defaultNamespace");
    let (kind, namespace, name) =
        parse_entity_ref_parts(text, default_kind.as_deref(), default_namespace.as_deref())
            .map_err(invalid)?;
    Ok(Value::from(minijinja::value::Serde(&serde_json::json!({
        "kind": kind,
        "namespace": namespace,
        "name": name,
    }))))
}

fn pick(value: Value, key: &str) -> Result<Value, Error> {
    let mut current = value;
    for part in key.split('.') {
        current = current.get_attr(part).unwrap_or(Value::UNDEFINED);
    }
    Ok(current)
}

/// `JSON.stringify(value, null, indent)`.
pub(crate) fn dump(value: Value, indent: Option<Value>) -> Result<Value, Error> {
    let json = serde_json::to_value(&value).map_err(|e| invalid(format!("dump: {e}")))?;
    let spaces = indent.and_then(|i| i64::try_from(i).ok()).unwrap_or(0);
    let text = if spaces > 0 {
        let indent = " ".repeat(spaces.min(10) as usize);
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
        let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
        serde::Serialize::serialize(&json, &mut serializer)
            .map_err(|e| invalid(format!("dump: {e}")))?;
        String::from_utf8(out).unwrap_or_default()
    } else {
        json.to_string()
    };
    Ok(Value::from(text))
}

fn truncate(
    value: String,
    length: Option<usize>,
    killwords: Option<bool>,
    end: Option<String>,
) -> String {
    let length = length.unwrap_or(255);
    let end = end.unwrap_or_else(|| "...".into());
    if value.chars().count() <= length {
        return value;
    }
    let mut cut: String = value.chars().take(length).collect();
    if !killwords.unwrap_or(false)
        && let Some(space) = cut.rfind(' ')
    {
        cut.truncate(space);
    }
    cut + &end
}

fn wordcount(value: String) -> usize {
    value.split_whitespace().count()
}

fn nl2br(value: String) -> String {
    value.replace("\r\n", "<br />\n").replace('\n', "<br />\n")
}

fn striptags(value: String) -> String {
    let mut out = String::with_capacity(value.len());
    let mut in_tag = false;
    for c in value.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// JavaScript methods nunjucks templates call on strings and arrays.
pub(crate) fn javascript_method(
    _state: &mut State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    let arg = |i: usize| args.get(i).and_then(|a| a.as_str()).unwrap_or("");
    if let Some(text) = value.as_str() {
        return Ok(match method {
            "toLowerCase" | "toLocaleLowerCase" => Value::from(text.to_lowercase()),
            "toUpperCase" | "toLocaleUpperCase" => Value::from(text.to_uppercase()),
            "trim" => Value::from(text.trim()),
            "trimStart" => Value::from(text.trim_start()),
            "trimEnd" => Value::from(text.trim_end()),
            "split" => Value::from(text.split(arg(0)).map(Value::from).collect::<Vec<_>>()),
            "replace" => Value::from(text.replacen(arg(0), arg(1), 1)),
            "replaceAll" => Value::from(text.replace(arg(0), arg(1))),
            "includes" => Value::from(text.contains(arg(0))),
            "startsWith" => Value::from(text.starts_with(arg(0))),
            "endsWith" => Value::from(text.ends_with(arg(0))),
            "toString" => Value::from(text),
            _ => return Err(crate::render::unknown_method()),
        });
    }
    if value.kind() == ValueKind::Seq {
        let items: Vec<Value> = value.try_iter()?.collect();
        return Ok(match method {
            "join" => Value::from(
                items
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(args.first().and_then(|a| a.as_str()).unwrap_or(",")),
            ),
            "includes" => Value::from(args.first().is_some_and(|a| items.contains(a))),
            _ => return Err(crate::render::unknown_method()),
        });
    }
    Err(crate::render::unknown_method())
}

/// Quotes the bare keys of JavaScript object literals inside template tags
/// (`parseEntityRef({ defaultKind: "group" })` → `{ "defaultKind": "group" }`), since Jinja
/// reads a bare key as a variable. Text outside `${{ }}`/`{% %}` is left alone.
pub fn quote_object_keys(source: &str) -> std::borrow::Cow<'_, str> {
    if !source.contains('{') || !source.contains(':') {
        return std::borrow::Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len() + 16);
    let mut rest = source;
    let mut changed = false;
    loop {
        let next = [rest.find("${{"), rest.find("{%")]
            .into_iter()
            .flatten()
            .min();
        let Some(start) = next else {
            out.push_str(rest);
            break;
        };
        let (open, close) = if rest[start..].starts_with("${{") {
            (3, "}}")
        } else {
            (2, "%}")
        };
        out.push_str(&rest[..start + open]);
        let body_start = start + open;
        let Some(end) = find_close(&rest[body_start..], close) else {
            out.push_str(&rest[body_start..]);
            break;
        };
        let body = &rest[body_start..body_start + end];
        let quoted = quote_keys_in_expression(body);
        changed |= quoted != body;
        out.push_str(&quoted);
        out.push_str(close);
        rest = &rest[body_start + end + close.len()..];
    }
    if changed {
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(source)
    }
}

/// Where `close` ends a tag body, skipping string literals.
fn find_close(body: &str, close: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(_) if b == b'\\' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if body[i..].starts_with(close) => return Some(i),
            None => {}
        }
        i += 1;
    }
    None
}

pub(crate) fn quote_keys_in_expression(body: &str) -> String {
    let chars: Vec<char> = body.chars().collect();
    let mut out = String::with_capacity(body.len() + 8);
    let mut stack: Vec<char> = Vec::new();
    let mut quote: Option<char> = None;
    let mut i = 0;
    let mut expect_key = false;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            out.push(c);
            if c == '\\' && i + 1 < chars.len() {
                out.push(chars[i + 1]);
                i += 2;
                continue;
            }
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if expect_key && (c.is_ascii_alphabetic() || c == '_' || c == '$') {
            let start = i;
            let mut j = i;
            while j < chars.len()
                && (chars[j].is_ascii_alphanumeric() || chars[j] == '_' || chars[j] == '$')
            {
                j += 1;
            }
            let mut k = j;
            while k < chars.len() && chars[k].is_whitespace() {
                k += 1;
            }
            let word: String = chars[start..j].iter().collect();
            if k < chars.len() && chars[k] == ':' {
                out.push('"');
                out.push_str(&word);
                out.push('"');
            } else {
                out.push_str(&word);
            }
            expect_key = false;
            i = j;
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '{' => {
                stack.push('{');
                expect_key = true;
                out.push(c);
                i += 1;
                continue;
            }
            '[' | '(' => stack.push(c),
            '}' | ']' | ')' => {
                stack.pop();
            }
            ',' if stack.last() == Some(&'{') => {
                expect_key = true;
                out.push(c);
                i += 1;
                continue;
            }
            c if c.is_whitespace() => {
                out.push(c);
                i += 1;
                continue;
            }
            _ => {}
        }
        expect_key = false;
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Renderer;
    use serde_json::json;

    #[test]
    fn parses_repo_urls() {
        let parsed = parse_repo_url("github.com?owner=acme&repo=payments").unwrap();
        assert_eq!(parsed.host, "github.com");
        assert_eq!(parsed.owner.as_deref(), Some("acme"));
        assert_eq!(parsed.repo, "payments");
        let gitlab = parse_repo_url("gitlab.example?owner=group%2Fsub&repo=x").unwrap();
        assert_eq!(gitlab.owner.as_deref(), Some("group/sub"));
        assert!(
            parse_repo_url("github.com?owner=acme")
                .unwrap_err()
                .contains("missing repo")
        );
        assert!(parse_repo_url("github.com?owner=acme&repo=../x").is_err());
        assert!(parse_repo_url("?repo=x").is_err());
        assert!(parse_repo_url("github.com?owner=a&repo=-x").is_err());
    }

    #[test]
    fn backstage_filters_in_templates() {
        let r = Renderer::default();
        let ctx = json!({"parameters": {
            "repoUrl": "github.com?owner=acme&repo=payments",
            "owner": "team-a",
            "full": "Component:prod/Checkout",
            "obj": {"a": {"b": 7}},
        }});
        let cases = [
            ("${{ (parameters.repoUrl | parseRepoUrl).owner }}", "acme"),
            (
                "${{ parameters.repoUrl | parseRepoUrl | pick('repo') }}",
                "payments",
            ),
            ("${{ parameters.repoUrl | projectSlug }}", "acme/payments"),
            (
                "${{ (parameters.owner | parseEntityRef({ defaultKind: 'group', defaultNamespace: 'ops' })).namespace }}",
                "ops",
            ),
            (
                "${{ parameters.owner | parseEntityRef({ defaultKind:\"group\" }) | pick('kind') }}",
                "group",
            ),
            (
                "${{ parameters.full | parseEntityRef | pick('name') }}",
                "Checkout",
            ),
            ("${{ parameters.obj | pick('a.b') }}", "7"),
            ("${{ parameters.obj | dump }}", "{\"a\":{\"b\":7}}"),
            ("${{ 'a b c d' | truncate(3, true, '…') }}", "a b…"),
            (
                "${{ 'hello world' | title }} ${{ 'x' | capitalize }}",
                "Hello World X",
            ),
        ];
        for (template, expected) in cases {
            let source = quote_object_keys(template);
            assert_eq!(r.render_str(&source, &ctx).unwrap(), expected, "{template}");
        }
        let err = r
            .render_str("${{ parameters.owner | parseEntityRef }}", &ctx)
            .unwrap_err();
        assert!(err.message.contains("missing or empty kind"), "{err}");
    }

    #[test]
    fn quotes_only_object_keys() {
        assert_eq!(
            quote_object_keys("a: ${{ x | f({ k: 'v: w', n: 1 }) }} b: {% if a[1:2] %}{% endif %}"),
            "a: ${{ x | f({ \"k\": 'v: w', \"n\": 1 }) }} b: {% if a[1:2] %}{% endif %}"
        );
        assert_eq!(quote_object_keys("key: value"), "key: value");
    }
}
