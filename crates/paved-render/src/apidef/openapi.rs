//! OpenAPI 3.0/3.1 and Swagger 2.0 documents as a browsable list of operations grouped by tag,
//! each a `<details>` block with parameters, request body and responses, then the named
//! schemas.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::schema::{Schemas, facts, follow, named_schemas, ref_name, schema_links, tree_budget};
use super::{
    DefinitionFormat, DefinitionSummary, Html, Ids, Server, Warnings, describe_json_type,
    document_header, scalar_text,
};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
/// Levels a schema tree shows inside an operation.
const OPERATION_SCHEMA_DEPTH: usize = 8;
/// Levels a schema shows in the schemas section, where nested references are links.
const SECTION_SCHEMA_DEPTH: usize = 4;
/// Schema trees of a typical operation: a request body and a response or two.
const TREES_PER_OPERATION: usize = 3;

struct Operation<'a> {
    method: &'a str,
    /// The path, or the webhook's name.
    path: &'a str,
    op: &'a Map<String, Value>,
    path_item: &'a Map<String, Value>,
    id: String,
}

struct Context<'a, 'w> {
    doc: &'a Value,
    swagger: bool,
    /// Levels the schema trees of operations show (0 for very large definitions).
    depth: usize,
    schemas: Schemas<'a>,
    warnings: &'w mut Warnings,
}

pub(super) fn render(
    doc: &'_ Value,
    out: &mut Html,
    summary: &mut DefinitionSummary,
    warnings: &mut Warnings,
) {
    let swagger_version = doc.get("swagger").and_then(scalar_text);
    let openapi_version = doc.get("openapi").and_then(scalar_text);
    let swagger = swagger_version.is_some() && openapi_version.is_none();
    summary.format = if swagger {
        DefinitionFormat::Swagger
    } else {
        DefinitionFormat::OpenApi
    };
    summary.spec_version = openapi_version.or(swagger_version);
    if summary.spec_version.is_none() {
        warnings.push(
            "The document has no openapi or swagger field; it is read as OpenAPI 3.".to_owned(),
        );
    }
    let info = doc.get("info").and_then(Value::as_object);
    if info.is_none() {
        warnings.push("The document has no info section.".to_owned());
    }
    summary.title = info.and_then(|i| i.get("title")).and_then(scalar_text);
    summary.version = info.and_then(|i| i.get("version")).and_then(scalar_text);

    let mut ids = Ids::default();
    let named = if swagger {
        named_schemas(doc.get("definitions"), "#/definitions/", &mut ids, warnings)
    } else {
        named_schemas(
            doc.pointer("/components/schemas"),
            "#/components/schemas/",
            &mut ids,
            warnings,
        )
    };
    summary.schemas = named.len();

    let operations = collect_operations(doc, "paths", "op", &mut ids, warnings);
    let webhooks = collect_operations(doc, "webhooks", "webhook", &mut ids, warnings);
    summary.operations = operations.len();
    summary.webhooks = webhooks.len();

    let mut schemas = Schemas::new(doc, schema_links(&named));
    let units = operations.len() + webhooks.len();
    let (entries, depth) = tree_budget(units, TREES_PER_OPERATION, OPERATION_SCHEMA_DEPTH);
    schemas.nodes_per_tree = entries;
    let mut cx = Context {
        doc,
        swagger,
        depth,
        schemas,
        warnings,
    };

    let description = info
        .and_then(|i| i.get("description"))
        .and_then(Value::as_str);
    document_header(out, summary, description, &servers(doc, swagger));
    if operations.is_empty() && webhooks.is_empty() {
        out.note("This definition declares no operations.");
    }
    render_groups(&mut cx, out, doc, &operations);
    if !webhooks.is_empty() {
        out.raw("<section class=\"apidef-group apidef-webhooks\"><h3 class=\"apidef-group-title\">Webhooks</h3>");
        render_operations(&mut cx, out, webhooks.iter(), webhooks.len());
        out.raw("</section>");
    }
    cx.schemas
        .section(out, &named, SECTION_SCHEMA_DEPTH, cx.warnings);
    cx.schemas.report_cuts(
        cx.warnings,
        &format!("{OPERATION_SCHEMA_DEPTH} levels in operations, {SECTION_SCHEMA_DEPTH} in the schemas section"),
        (depth == 0).then_some((units, "operations")),
    );
}

fn servers(doc: &Value, swagger: bool) -> Vec<Server> {
    let mut servers = Vec::new();
    if swagger {
        if let Some(host) = doc.get("host").and_then(Value::as_str) {
            let base = doc.get("basePath").and_then(Value::as_str).unwrap_or("");
            let schemes: Vec<&str> = match doc.get("schemes") {
                Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if schemes.is_empty() {
                schemes_server(&mut servers, format!("//{host}{base}"));
            }
            for scheme in schemes {
                schemes_server(&mut servers, format!("{scheme}://{host}{base}"));
            }
        }
    } else if let Some(Value::Array(list)) = doc.get("servers") {
        for server in list {
            if let Some(url) = server.get("url").and_then(Value::as_str) {
                servers.push(Server {
                    url: url.to_owned(),
                    protocol: None,
                    description: server
                        .get("description")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                });
            }
        }
    }
    servers
}

fn schemes_server(servers: &mut Vec<Server>, url: String) {
    servers.push(Server {
        url,
        protocol: None,
        description: None,
    });
}

/// The operations of a parsed document (paths, then webhooks) with the anchors [`render`]
/// gives them on the page, for indexes that link into the definition view.
pub(super) fn operation_entries(doc: &Value) -> Vec<super::OperationEntry> {
    let swagger = doc.get("swagger").is_some() && doc.get("openapi").is_none();
    let mut warnings = Warnings::default();
    // Named schemas take their ids first on the page; taking them here keeps the anchors equal.
    let mut ids = Ids::default();
    if swagger {
        named_schemas(
            doc.get("definitions"),
            "#/definitions/",
            &mut ids,
            &mut warnings,
        );
    } else {
        named_schemas(
            doc.pointer("/components/schemas"),
            "#/components/schemas/",
            &mut ids,
            &mut warnings,
        );
    }
    let mut operations = collect_operations(doc, "paths", "op", &mut ids, &mut warnings);
    operations.extend(collect_operations(
        doc,
        "webhooks",
        "webhook",
        &mut ids,
        &mut warnings,
    ));
    operations
        .into_iter()
        .map(|operation| {
            let text = |key: &str| {
                operation
                    .op
                    .get(key)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            super::OperationEntry {
                method: operation.method.to_ascii_uppercase(),
                path: operation.path.to_owned(),
                summary: text("summary"),
                description: text("description"),
                operation_id: text("operationId"),
                anchor: operation.id,
            }
        })
        .collect()
}

fn collect_operations<'a>(
    doc: &'a Value,
    key: &str,
    id_prefix: &str,
    ids: &mut Ids,
    warnings: &mut Warnings,
) -> Vec<Operation<'a>> {
    let mut operations = Vec::new();
    let paths = match doc.get(key) {
        None => return operations,
        Some(Value::Object(paths)) => paths,
        Some(other) => {
            warnings.push(format!(
                "{key} is {}, not a mapping; no operations are shown.",
                describe_json_type(other)
            ));
            return operations;
        }
    };
    for (path, item) in paths {
        let resolved = follow(doc, item, &|_| false);
        if let Some(problem) = resolved.problem {
            warnings.push(format!("{key} {path}: {}", problem.describe()));
            continue;
        }
        let Some(path_item) = resolved.value.as_object() else {
            warnings.push(format!(
                "{key} {path} is {}, not a mapping.",
                describe_json_type(resolved.value)
            ));
            continue;
        };
        for (method, op) in path_item {
            let method = method.as_str();
            if !METHODS.contains(&method) {
                continue;
            }
            let Some(op) = op.as_object() else {
                warnings.push(format!(
                    "{} {path} is {}, not a mapping.",
                    method.to_ascii_uppercase(),
                    describe_json_type(op)
                ));
                continue;
            };
            let id = match op.get("operationId").and_then(Value::as_str) {
                Some(operation_id) if !operation_id.trim().is_empty() => {
                    ids.unique(id_prefix, operation_id)
                }
                _ => ids.unique(id_prefix, &format!("{method}-{path}")),
            };
            operations.push(Operation {
                method,
                path,
                op,
                path_item,
                id,
            });
        }
    }
    operations
}

fn first_tag<'a>(op: &Operation<'a>) -> Option<&'a str> {
    match op.op.get("tags") {
        Some(Value::Array(tags)) => tags.iter().filter_map(Value::as_str).next(),
        _ => None,
    }
}

/// Groups by each operation's first tag: declared tags in their declared order, then tags
/// only operations use, in order of first use; untagged operations last.
fn render_groups<'a>(
    cx: &mut Context<'a, '_>,
    out: &mut Html,
    doc: &'a Value,
    operations: &[Operation<'a>],
) {
    if operations.is_empty() {
        return;
    }
    // Operation indices per first tag, in order of first use; one pass, so a definition with
    // thousands of tags stays linear.
    let mut by_tag: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut used_order: Vec<&str> = Vec::new();
    for (index, op) in operations.iter().enumerate() {
        if let Some(tag) = first_tag(op) {
            let entry = by_tag.entry(tag).or_default();
            if entry.is_empty() {
                used_order.push(tag);
            }
            entry.push(index);
        }
    }
    let mut order: Vec<(&str, Option<&str>)> = Vec::new();
    let mut placed: HashSet<&str> = HashSet::new();
    if let Some(Value::Array(tags)) = doc.get("tags") {
        for tag in tags {
            if let Some(name) = tag.get("name").and_then(Value::as_str)
                && by_tag.contains_key(name)
                && placed.insert(name)
            {
                order.push((name, tag.get("description").and_then(Value::as_str)));
            }
        }
    }
    for tag in used_order {
        if placed.insert(tag) {
            order.push((tag, None));
        }
    }
    let total = operations.len();
    let mut ids = Ids::default();
    for (tag, description) in &order {
        out.raw("<section class=\"apidef-group\" id=\"");
        out.text(&ids.unique("tag", tag));
        out.raw("\">");
        out.element("h3", "apidef-group-title", tag);
        if let Some(description) = description {
            out.description("apidef-group-description", description);
        }
        let indices = by_tag.get(tag).map_or(&[][..], Vec::as_slice);
        render_operations(cx, out, indices.iter().map(|&i| &operations[i]), total);
        out.raw("</section>");
    }
    let untagged: Vec<&Operation> = operations
        .iter()
        .filter(|op| first_tag(op).is_none())
        .collect();
    if !untagged.is_empty() {
        let title = if order.is_empty() {
            "Operations"
        } else {
            "Other operations"
        };
        out.raw("<section class=\"apidef-group apidef-group-untagged\">");
        out.element("h3", "apidef-group-title", title);
        render_operations(cx, out, untagged.into_iter(), total);
        out.raw("</section>");
    }
}

fn render_operations<'a, 'o>(
    cx: &mut Context<'a, '_>,
    out: &mut Html,
    operations: impl Iterator<Item = &'o Operation<'a>>,
    total: usize,
) where
    'a: 'o,
{
    for op in operations {
        if out.full() {
            cx.warnings.push(format!(
                "The structured view shows only some of the {total} operations (size limit); the raw view has them all."
            ));
            return;
        }
        render_operation(cx, out, op);
    }
}

fn render_operation<'a>(cx: &mut Context<'a, '_>, out: &mut Html, operation: &Operation<'a>) {
    let op = operation.op;
    let method = operation.method;
    out.raw("<details class=\"operation\" id=\"");
    out.text(&operation.id);
    out.raw("\"><summary><span class=\"method method-");
    out.raw(method);
    out.raw("\">");
    out.text(&method.to_ascii_uppercase());
    out.raw("</span> ");
    path_code(out, operation.path);
    if let Some(summary) = op.get("summary").and_then(Value::as_str) {
        out.raw(" ");
        out.element("span", "operation-summary", summary);
    }
    if op.get("deprecated").and_then(Value::as_bool) == Some(true) {
        out.raw(" <span class=\"deprecated\">deprecated</span>");
    }
    out.raw("</summary><div class=\"operation-body\">");
    meta_line(cx, out, op);
    if let Some(description) = op.get("description").and_then(Value::as_str) {
        out.description("operation-description", description);
    }
    let where_ = format!("{} {}", method.to_ascii_uppercase(), operation.path);
    let parameters = merged_parameters(cx, operation, &where_);
    let (body, others): (Vec<_>, Vec<_>) = parameters
        .into_iter()
        .partition(|p| p.get("in").and_then(Value::as_str) == Some("body"));
    if !others.is_empty() {
        parameters_table(cx, out, &others);
    }
    if let Some(body) = body.first() {
        swagger_body(cx, out, op, body);
    }
    if let Some(request_body) = op.get("requestBody") {
        request_body_section(cx, out, request_body, &where_);
    }
    match op.get("responses") {
        Some(Value::Object(responses)) => responses_section(cx, out, op, responses, &where_),
        Some(other) => cx.warnings.push(format!(
            "{where_}: responses are {}, not a mapping.",
            describe_json_type(other)
        )),
        None => {}
    }
    out.raw("</div></details>");
}

/// The path with its `{parameters}` marked.
fn path_code(out: &mut Html, path: &str) {
    out.raw("<code class=\"operation-path\">");
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        out.text(&rest[..open]);
        out.element("span", "path-param", &rest[open..=close]);
        rest = &rest[close + 1..];
    }
    out.text(rest);
    out.raw("</code>");
}

/// operationId, further tags and the security requirements, on one line.
fn meta_line(cx: &Context, out: &mut Html, op: &Map<String, Value>) {
    let operation_id = op.get("operationId").and_then(Value::as_str);
    let extra_tags: Vec<&str> = match op.get("tags") {
        Some(Value::Array(tags)) => tags.iter().filter_map(Value::as_str).skip(1).collect(),
        _ => Vec::new(),
    };
    let security = op.get("security").or_else(|| cx.doc.get("security"));
    if operation_id.is_none() && extra_tags.is_empty() && security.is_none() {
        return;
    }
    out.raw("<p class=\"operation-meta\">");
    let mut separator = "";
    if let Some(operation_id) = operation_id {
        out.raw("<span class=\"operation-id\">operationId ");
        out.element("code", "", operation_id);
        out.raw("</span>");
        separator = " ";
    }
    if !extra_tags.is_empty() {
        out.raw(separator);
        out.raw("<span class=\"operation-tags\">also in ");
        out.text(&extra_tags.join(", "));
        out.raw("</span>");
        separator = " ";
    }
    if let Some(Value::Array(requirements)) = security {
        out.raw(separator);
        out.raw("<span class=\"operation-security\">security: ");
        if requirements.is_empty() {
            out.text("none");
        }
        for (i, requirement) in requirements.iter().enumerate() {
            if i > 0 {
                out.text(" or ");
            }
            let Some(schemes) = requirement.as_object() else {
                continue;
            };
            if schemes.is_empty() {
                out.text("none");
            }
            for (j, (scheme, scopes)) in schemes.iter().enumerate() {
                if j > 0 {
                    out.text(" and ");
                }
                out.element("code", "", scheme);
                let scopes: Vec<&str> = match scopes {
                    Value::Array(scopes) => scopes.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                };
                if !scopes.is_empty() {
                    out.text(" (");
                    out.text(&scopes.join(", "));
                    out.text(")");
                }
            }
        }
        out.raw("</span>");
    }
    out.raw("</p>");
}

/// Path-level parameters followed by the operation's, an operation parameter replacing a
/// path-level one with the same name and location.
fn merged_parameters<'a>(
    cx: &mut Context<'a, '_>,
    operation: &Operation<'a>,
    where_: &str,
) -> Vec<&'a Value> {
    let mut merged: Vec<&'a Value> = Vec::new();
    // (name, in) → position in `merged`.
    let mut positions: HashMap<(Option<&'a str>, Option<&'a str>), usize> = HashMap::new();
    for source in [
        operation.path_item.get("parameters"),
        operation.op.get("parameters"),
    ] {
        let items = match source {
            None => continue,
            Some(Value::Array(items)) => items,
            Some(other) => {
                cx.warnings.push(format!(
                    "{where_}: parameters are {}, not a list.",
                    describe_json_type(other)
                ));
                continue;
            }
        };
        for item in items {
            let resolved = follow(cx.doc, item, &|_| false);
            if let Some(problem) = resolved.problem {
                cx.warnings
                    .push(format!("{where_}: a parameter's {}", problem.describe()));
                continue;
            }
            let parameter = resolved.value;
            if !parameter.is_object() {
                cx.warnings.push(format!(
                    "{where_}: a parameter is {}, not a mapping.",
                    describe_json_type(parameter)
                ));
                continue;
            }
            let key = (
                parameter.get("name").and_then(Value::as_str),
                parameter.get("in").and_then(Value::as_str),
            );
            match positions.get(&key) {
                Some(&position) => merged[position] = parameter,
                None => {
                    positions.insert(key, merged.len());
                    merged.push(parameter);
                }
            }
        }
    }
    merged
}

/// The schema describing a parameter or header: `schema` (OpenAPI 3), the first media type's
/// schema for `content` parameters, or the object itself (Swagger 2 puts `type` inline).
fn parameter_schema(parameter: &Value) -> Option<&Value> {
    if let Some(schema) = parameter.get("schema") {
        return Some(schema);
    }
    if let Some(Value::Object(content)) = parameter.get("content")
        && let Some((_, media)) = content.iter().next()
    {
        return media.get("schema");
    }
    if parameter.get("type").is_some() {
        return Some(parameter);
    }
    None
}

fn parameters_table<'a>(cx: &mut Context<'a, '_>, out: &mut Html, parameters: &[&'a Value]) {
    out.raw("<h4 class=\"operation-section\">Parameters</h4><table class=\"params\"><thead><tr><th>Name</th><th>In</th><th>Type</th><th>Required</th><th>Description</th></tr></thead><tbody>");
    for parameter in parameters {
        let name = parameter
            .get("name")
            .and_then(scalar_text)
            .unwrap_or_default();
        out.raw("<tr><td>");
        out.element("code", "param-name", &name);
        if parameter.get("deprecated").and_then(Value::as_bool) == Some(true) {
            out.raw(" <span class=\"deprecated\">deprecated</span>");
        }
        out.raw("</td><td class=\"param-in\">");
        out.text(parameter.get("in").and_then(Value::as_str).unwrap_or(""));
        out.raw("</td><td>");
        let schema = parameter_schema(parameter);
        if let Some(schema) = schema {
            cx.schemas.label(out, schema);
            let target = follow(cx.doc, schema, &|_| false).value;
            if let Some(format) = target.get("format").and_then(Value::as_str) {
                out.raw(" ");
                out.element("span", "schema-format", format);
            }
        }
        out.raw("</td><td>");
        if parameter.get("required").and_then(Value::as_bool) == Some(true) {
            out.raw("<span class=\"schema-required\">required</span>");
        }
        out.raw("</td><td>");
        if let Some(description) = parameter.get("description").and_then(Value::as_str) {
            out.description("param-description", description);
        }
        if let Some(schema) = schema {
            facts(out, follow(cx.doc, schema, &|_| false).value);
        }
        out.raw("</td></tr>");
    }
    out.raw("</tbody></table>");
}

fn swagger_body<'a>(
    cx: &mut Context<'a, '_>,
    out: &mut Html,
    op: &'a Map<String, Value>,
    body: &'a Value,
) {
    out.raw("<section class=\"request-body\"><h4 class=\"operation-section\">Request body");
    if body.get("required").and_then(Value::as_bool) == Some(true) {
        out.raw(" <span class=\"schema-required\">required</span>");
    }
    out.raw("</h4>");
    if let Some(description) = body.get("description").and_then(Value::as_str) {
        out.description("request-body-description", description);
    }
    let media = media_list(op.get("consumes").or_else(|| cx.doc.get("consumes")));
    out.raw("<div class=\"media-type\">");
    media_heading(out, &media);
    match body.get("schema") {
        Some(schema) => cx.schemas.tree(out, schema, cx.depth),
        None => out.note("No schema."),
    }
    out.raw("</div></section>");
}

fn media_list(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn media_heading(out: &mut Html, media: &[&str]) {
    if media.is_empty() {
        return;
    }
    out.raw("<h5 class=\"media-type-name\">");
    for (i, name) in media.iter().enumerate() {
        if i > 0 {
            out.raw(", ");
        }
        out.element("code", "", name);
    }
    out.raw("</h5>");
}

fn request_body_section<'a>(
    cx: &mut Context<'a, '_>,
    out: &mut Html,
    request_body: &'a Value,
    where_: &str,
) {
    let resolved = follow(cx.doc, request_body, &|_| false);
    if let Some(problem) = resolved.problem {
        cx.warnings.push(format!(
            "{where_}: the request body's {}",
            problem.describe()
        ));
        return;
    }
    let Some(body) = resolved.value.as_object() else {
        cx.warnings.push(format!(
            "{where_}: the request body is {}, not a mapping.",
            describe_json_type(resolved.value)
        ));
        return;
    };
    out.raw("<section class=\"request-body\"><h4 class=\"operation-section\">Request body");
    if body.get("required").and_then(Value::as_bool) == Some(true) {
        out.raw(" <span class=\"schema-required\">required</span>");
    }
    out.raw("</h4>");
    if let Some(description) = body.get("description").and_then(Value::as_str) {
        out.description("request-body-description", description);
    }
    content_section(cx, out, body.get("content"), where_);
    out.raw("</section>");
}

/// An OpenAPI 3 `content` map: one block per media type with its schema.
fn content_section<'a>(
    cx: &mut Context<'a, '_>,
    out: &mut Html,
    content: Option<&'a Value>,
    where_: &str,
) {
    match content {
        None => {}
        Some(Value::Object(content)) => {
            for (media_type, media) in content {
                if out.full() {
                    return;
                }
                out.raw("<div class=\"media-type\">");
                media_heading(out, &[media_type.as_str()]);
                match media.get("schema") {
                    Some(schema) => cx.schemas.tree(out, schema, cx.depth),
                    None => out.note("No schema."),
                }
                out.raw("</div>");
            }
        }
        Some(other) => cx.warnings.push(format!(
            "{where_}: content is {}, not a mapping.",
            describe_json_type(other)
        )),
    }
}

fn status_class(status: &str) -> &'static str {
    match status.as_bytes().first() {
        Some(b'1') => "status status-1xx",
        Some(b'2') => "status status-2xx",
        Some(b'3') => "status status-3xx",
        Some(b'4') => "status status-4xx",
        Some(b'5') => "status status-5xx",
        _ if status == "default" => "status status-default",
        _ => "status status-other",
    }
}

fn responses_section<'a>(
    cx: &mut Context<'a, '_>,
    out: &mut Html,
    op: &'a Map<String, Value>,
    responses: &'a Map<String, Value>,
    where_: &str,
) {
    if responses.is_empty() {
        return;
    }
    out.raw("<section class=\"responses\"><h4 class=\"operation-section\">Responses</h4>");
    for (status, response) in responses {
        if out.full() {
            break;
        }
        let resolved = follow(cx.doc, response, &|_| false);
        if let Some(problem) = resolved.problem {
            cx.warnings.push(format!(
                "{where_} response {status}: {}",
                problem.describe()
            ));
            continue;
        }
        let Some(response) = resolved.value.as_object() else {
            cx.warnings.push(format!(
                "{where_} response {status} is {}, not a mapping.",
                describe_json_type(resolved.value)
            ));
            continue;
        };
        out.raw("<div class=\"response\"><h5 class=\"response-status\">");
        out.element("span", status_class(status), status);
        if let Some(reference) = resolved.refs.last() {
            out.raw(" ");
            out.element("span", "response-ref", &ref_name(reference));
        }
        out.raw("</h5>");
        if let Some(description) = response.get("description").and_then(Value::as_str) {
            out.description("response-description", description);
        }
        if let Some(Value::Object(headers)) = response.get("headers")
            && !headers.is_empty()
        {
            out.raw("<table class=\"params response-headers\"><thead><tr><th>Header</th><th>Type</th><th>Description</th></tr></thead><tbody>");
            for (name, header) in headers {
                let header = follow(cx.doc, header, &|_| false).value;
                out.raw("<tr><td>");
                out.element("code", "param-name", name);
                out.raw("</td><td>");
                let schema = header
                    .get("schema")
                    .or_else(|| header.get("type").map(|_| header));
                if let Some(schema) = schema {
                    cx.schemas.label(out, schema);
                }
                out.raw("</td><td>");
                if let Some(description) = header.get("description").and_then(Value::as_str) {
                    out.description("param-description", description);
                }
                out.raw("</td></tr>");
            }
            out.raw("</tbody></table>");
        }
        if cx.swagger {
            if let Some(schema) = response.get("schema") {
                out.raw("<div class=\"media-type\">");
                let media = media_list(op.get("produces").or_else(|| cx.doc.get("produces")));
                media_heading(out, &media);
                cx.schemas.tree(out, schema, cx.depth);
                out.raw("</div>");
            }
        } else {
            content_section(cx, out, response.get("content"), where_);
        }
        out.raw("</div>");
    }
    out.raw("</section>");
}
